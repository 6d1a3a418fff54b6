/* terraform's words put in the user's terms (see wording.h). */
#include "executor/wording.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "executor/sandboxpaths.h"
#include "executor/varfiles.h"

/* terraform's "Value for undeclared variable" advice, from this sentence to
 * the end of its paragraph. */
#define TF_VAR_ADVICE "To silence these warnings, use TF_VAR_"
#define TF_VAR_INSTEAD                                                                                       \
	"tfjail passes no environment variables to terraform: declare the variable in the configuration, "   \
	"or "                                                                                                \
	"remove the value."

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

/* What the user calls the runner file NAME. */
static void user_name(const struct job_request *req, const char *name, size_t n, struct tj_buf *out)
{
	unsigned idx;
	int used = 0;

	if (n == strlen(VARFILES_VARS) && memcmp(name, VARFILES_VARS, n) == 0)
		tj_buf_printf(out, "--var");
	else if (n == strlen(VARFILES_VARIABLES) && memcmp(name, VARFILES_VARIABLES, n) == 0)
		tj_buf_printf(out, "the request's variables");
	else if (sscanf(name, "vars-%u.tfvars%n", &idx, &used) == 1 && used > 0 && idx < req->n_var_files)
		tj_buf_printf(out, "--var-file %s", req->var_files[idx]);
	else if (n == strlen("terraformrc") && memcmp(name, "terraformrc", n) == 0)
		tj_buf_printf(out, "tfjail's terraform CLI configuration");
	else
		tj_buf_printf(out, "tfjail's %.*s", (int)n, name);
}

char *wording_for_user(const struct job_request *req, const char *text)
{
	struct tj_buf out = {0};
	const char *p = text;
	static const char runner[] = SB_RUNNER "/";

	if (tj_buf_append(&out, "", 0) < 0)
		return NULL;
	while (*p) {
		const char *r = strstr(p, runner), *a = strstr(p, TF_VAR_ADVICE);

		if (a && (!r || a < r)) {
			const char *end = strstr(a, "\n\n");
			tj_buf_append(&out, p, (size_t)(a - p));
			tj_buf_printf(&out, "%s", TF_VAR_INSTEAD);
			p = end ? end : a + strlen(a);
		} else if (r) {
			const char *name = r + strlen(runner);
			size_t n = 0;
			while (name_char(name[n]))
				n++;
			tj_buf_append(&out, p, (size_t)(r - p));
			user_name(req, name, n, &out);
			p = name + n;
		} else {
			tj_buf_append(&out, p, strlen(p));
			break;
		}
	}
	return out.data;
}
