/* policy/default.json, embedded at build time (mk/policy.mk generates
 * default_json.inc: the file's bytes as a C initialiser, NUL-terminated). */
#include "policy/policy.h"

static const char default_text[] = {
#include "default_json.inc"
};

const char *tj_policy_default_text(void)
{
	return default_text;
}
