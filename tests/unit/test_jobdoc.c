/* The job document of GET /api/v1/jobs/{id}, from stored jobs. */
#include <check.h>
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "api/jobdoc.h"

static const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

START_TEST(jobdoc_times)
{
	char buf[40];

	api_jobdoc_time(1796000000123ull, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-30T00:53:20.123Z");
	api_jobdoc_time(5, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.005Z");
}
END_TEST

START_TEST(jobdoc_queued_and_running)
{
	struct api_store_job j = {.id = "job-1", .state = API_STORE_QUEUED, .queued_ms = 1796000000000ull};
	cJSON *o = api_jobdoc_build(&j);

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str(o, "job_id"), "job-1");
	ck_assert_str_eq(str(o, "status"), "QUEUED");
	ck_assert_str_eq(str(o, "queued_at"), "2026-11-30T00:53:20.000Z");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "started_at")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "finished_at")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "host")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "cancel_requested")));
	cJSON_Delete(o);

	j.state = API_STORE_RUNNING;
	j.started_ms = 1796000001500ull;
	j.host = "h1:8001";
	j.attempts = 2;
	j.cancel_requested = true;
	o = api_jobdoc_build(&j);
	ck_assert_str_eq(str(o, "status"), "RUNNING");
	ck_assert_str_eq(str(o, "started_at"), "2026-11-30T00:53:21.500Z");
	ck_assert_str_eq(str(o, "host"), "h1:8001");
	ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "attempts")), 2);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "cancel_requested")));
	cJSON_Delete(o);
}
END_TEST

START_TEST(jobdoc_final)
{
	struct api_store_job j = {
	    .id = "job-2",
	    .state = API_STORE_DONE,
	    .queued_ms = 1000,
	    .started_ms = 2000,
	    .finished_ms = 3000,
	    .host = "h2",
	    .attempts = 1,
	    .result = "{\"job_id\":\"job-2\",\"status\":\"TIMEOUT\",\"host\":\"x\",\"steps\":[]}"};
	cJSON *o = api_jobdoc_build(&j);

	/* the ExecutionResponse, its status kept, with the job's times and host */
	ck_assert_str_eq(str(o, "status"), "TIMEOUT");
	ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "steps")));
	ck_assert_str_eq(str(o, "finished_at"), "1970-01-01T00:00:03.000Z");
	ck_assert_str_eq(str(o, "host"), "h2");
	cJSON_Delete(o);

	j.state = API_STORE_CANCELLED;
	j.result = NULL;
	o = api_jobdoc_build(&j);
	ck_assert_str_eq(str(o, "status"), "CANCELLED");
	ck_assert_str_eq(str(o, "job_id"), "job-2");
	cJSON_Delete(o);

	j.state = API_STORE_DONE;
	j.result = "not json";
	ck_assert_ptr_null(api_jobdoc_build(&j));
}
END_TEST

Suite *jobdoc_suite(void)
{
	Suite *s = suite_create("jobdoc");
	TCase *tc = tcase_create("jobdoc");

	tcase_add_test(tc, jobdoc_times);
	tcase_add_test(tc, jobdoc_queued_and_running);
	tcase_add_test(tc, jobdoc_final);
	suite_add_tcase(s, tc);
	return s;
}
