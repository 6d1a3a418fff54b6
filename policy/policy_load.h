/* Private to policy/: how the loader reports a mistake in a policy file.
 * Every mistake names the file, the JSON path and why; tj_policy_load stops
 * at the first, `tfjail policy check` collects every one (issues != NULL). */
#ifndef TFJAIL_POLICY_POLICY_LOAD_H
#define TFJAIL_POLICY_POLICY_LOAD_H

#include <stdbool.h>

#include <cJSON.h>

#include "common/error.h"
#include "policy/policy.h"

struct policy_errors {
	const char *label;               /* the file, or "built-in default" */
	struct tj_error *err;            /* the first error */
	struct tj_policy_issues *issues; /* NULL: stop at the first error */
	bool failed;                     /* an error was recorded */
	bool fatal;                      /* out of memory: nothing more is checked */
};

/* Records an error at path ("limits.memory", "plan_rules.actions[0]") and returns -1. */
int policy_bad(struct policy_errors *pe, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a warning (a likely mistake; the policy stays valid). */
void policy_warn(struct policy_errors *pe, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records that memory ran out and returns -1. */
int policy_oom(struct policy_errors *pe);
/* After an error: whether to go on with the next key (collecting every error). */
bool policy_go_on(const struct policy_errors *pe);

/* "a string", "an array", ... for messages. */
const char *policy_json_type(const cJSON *v);
/* Non-empty, at most 4096 bytes, no control characters. */
bool policy_printable(const char *s);

#endif
