#include "api/jobdoc.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

void api_jobdoc_time(uint64_t unix_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;
	char day[32];

	gmtime_r(&secs, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", day, (unsigned)(unix_ms % 1000));
}

/* Replaces o[key] (the ExecutionResponse may not carry it). */
static void put(cJSON *o, const char *key, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, key))
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
	else
		cJSON_AddItemToObject(o, key, v);
}

static void put_time(cJSON *o, const char *key, uint64_t ms)
{
	char buf[40];

	if (!ms) {
		put(o, key, cJSON_CreateNull());
		return;
	}
	api_jobdoc_time(ms, buf, sizeof(buf));
	put(o, key, cJSON_CreateString(buf));
}

cJSON *api_jobdoc_build(const struct api_store_job *j)
{
	cJSON *o;

	if (j->state == API_STORE_DONE && j->result) {
		o = cJSON_Parse(j->result);
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			return NULL;
		}
	} else {
		/* a DONE job always has a result; without one it is reported FAILED */
		o = cJSON_CreateObject();
		if (!o)
			return NULL;
		cJSON_AddStringToObject(o, "job_id", j->id);
		cJSON_AddStringToObject(
		    o, "status", j->state == API_STORE_DONE ? "FAILED" : api_store_state_name(j->state));
	}
	put_time(o, "queued_at", j->queued_ms);
	put_time(o, "started_at", j->started_ms);
	put_time(o, "finished_at", j->finished_ms);
	put(o, "host", j->host ? cJSON_CreateString(j->host) : cJSON_CreateNull());
	put(o, "attempts", cJSON_CreateNumber(j->attempts));
	put(o, "cancel_requested", cJSON_CreateBool(j->cancel_requested));
	return o;
}
