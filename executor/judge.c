/* The plan rules on the job's plan (see judge.h). */
#include "executor/judge.h"

#include <string.h>

#include "policy/plancheck.h"
#include "policy/scan.h"

void job_judge_plan(struct job *j, const char *plan, size_t len)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(j->resp, "violations");
	const struct tj_scan_result *scan = j->scan;
	const struct tj_violation *v0 = NULL;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	size_t errors = 0;

	if (!tj_plan_rules_present(j->policy))
		return;
	if (tj_plan_check(j->policy, plan, len, scan ? scan->locs : NULL, scan ? scan->n_locs : 0,
	                  j->req->workdir ? j->req->workdir : "", &res, &err) < 0) {
		job_outcome(j, "FAILED", "InternalError", "plan rules: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		cJSON_AddItemToArray(list, tj_violation_to_json(&res->v[i]));
		if (strcmp(res->v[i].severity, "error") == 0 && !errors++)
			v0 = &res->v[i];
	}
	if (v0)
		job_outcome(j, "FAILED", "PolicyViolation", "%s:%d: %s [%s]%s", v0->file, v0->line,
		            v0->message, v0->rule, errors > 1 ? " (and more violations, see the list)" : "");
	tj_scan_result_free(res);
}
