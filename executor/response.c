/* The ExecutionResponse and a job's outcome in it. */
#include "executor/response.h"

#include <stdarg.h>
#include <stdio.h>

#include "executor/jobstate.h"

cJSON *job_response_new(const char *job_id, const struct tj_policy *p)
{
	cJSON *r = cJSON_CreateObject(), *pol;

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "job_id", job_id);
	cJSON_AddStringToObject(r, "status", "FAILED");
	cJSON_AddNullToObject(r, "error_type");
	cJSON_AddNullToObject(r, "error_message");
	cJSON_AddArrayToObject(r, "violations");
	cJSON_AddNullToObject(r, "plan_json");
	cJSON_AddNullToObject(r, "plan_sha256");
	cJSON_AddNullToObject(r, "summary");
	cJSON_AddArrayToObject(r, "steps");
	cJSON_AddArrayToObject(r, "diagnostics");
	cJSON_AddNumberToObject(r, "execution_time_seconds", 0);
	pol = cJSON_AddObjectToObject(r, "policy");
	if (pol) {
		cJSON_AddStringToObject(pol, "name", p->name ? p->name : "");
		cJSON_AddStringToObject(pol, "sha256", p->sha256);
	}
	return r;
}

void job_response_set_outcome(cJSON *r, const char *status, const char *error_type, const char *message)
{
	cJSON_ReplaceItemInObjectCaseSensitive(r, "status", cJSON_CreateString(status));
	cJSON_ReplaceItemInObjectCaseSensitive(
	    r, "error_type", error_type ? cJSON_CreateString(error_type) : cJSON_CreateNull());
	if (message)
		cJSON_ReplaceItemInObjectCaseSensitive(r, "error_message", cJSON_CreateString(message));
}

void job_response_set_seconds(cJSON *r, double seconds)
{
	cJSON_ReplaceItemInObjectCaseSensitive(r, "execution_time_seconds", cJSON_CreateNumber(seconds));
}

void job_outcome(struct job *j, const char *status, const char *error_type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (j->done)
		return;
	j->done = true;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	job_response_set_outcome(j->resp, status, error_type, fmt ? msg : NULL);
}
