/* tfjail serve for real: the binary started on a free port of 127.0.0.1
 * with a temporary uploads directory and config, real sandboxes and real
 * terraform (root and terraform needed: the tests fail without them, they
 * never skip).  A small HTTP/1.1 client over raw sockets talks to it.
 *
 * Only the fast fixtures (no aws provider) are used: tfdata-only,
 * needs-var, local-exec, syntax-error; exfil-fileset holds a job open (it
 * walks the file system until it is killed). */
#include <arpa/inet.h>
#include <check.h>
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/integration/apiserver.h"
#include "tests/testutil.h"

#define TOKEN    "s3cret-token-for-tests"
#define MAX_BODY 4096

static struct server plain, authed;

/* ------------------------------------------------------------ fixtures */

static void plain_start(void)
{
	char cfg[128];

	snprintf(cfg, sizeof(cfg), "\"max_body_bytes\": %d, \"max_concurrent_jobs\": 2, \"queue_size\": 8",
	         MAX_BODY);
	server_start(&plain, cfg, NULL);
	copy_fixture(&plain, "tfdata-only", "tfdata");
	copy_fixture(&plain, "needs-var", "needs-var");
	copy_fixture(&plain, "local-exec", "local-exec");
	tj_test_write(plain.uploads, "a-file", "not a directory\n");
	{
		char link[PATH_MAX];
		snprintf(link, sizeof(link), "%s/a-link", plain.uploads);
		ck_assert_int_eq(symlink("tfdata", link), 0);
	}
}

static void plain_stop(void)
{
	server_cleanup(&plain);
}

static void authed_start(void)
{
	server_start(&authed, "\"token\": \"" TOKEN "\"", NULL);
	copy_fixture(&authed, "syntax-error", "syntax-error");
}

static void authed_stop(void)
{
	server_cleanup(&authed);
}

/* ------------------------------------------------------------ GET routes */

START_TEST(health_reports_terraform_version)
{
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	http(plain.port, "GET", "/health", "", NULL, &r);
	ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
	ck_assert_str_eq(str(r.json, "status"), "healthy");
	ck_assert_str_eq(str(r.json, "terraform_version"), "1.11.4");
	ck_assert_ptr_nonnull(strcasestr(r.head, "Content-Type: application/json"));
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(r.json, "policy"), "name"), "tfjail-default");
	ck_assert_uint_eq(strlen(str(cJSON_GetObjectItemCaseSensitive(r.json, "policy"), "sha256")), 64);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.json, "running_jobs")));
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r.json, "cgroup_mode")));
	reply_free(&r);
}
END_TEST

START_TEST(index_links_the_endpoints)
{
	struct http_reply r;
	const cJSON *links;

	http(plain.port, "GET", "/", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(str(r.json, "service"), "tfjail");
	ck_assert(str(r.json, "version") && *str(r.json, "version"));
	links = cJSON_GetObjectItemCaseSensitive(r.json, "links");
	ck_assert_str_eq(str(links, "execute"), "/api/v1/execute");
	ck_assert_str_eq(str(links, "health"), "/health");
	ck_assert_str_eq(str(links, "openapi"), "/openapi.json");
	ck_assert_str_eq(str(links, "metrics"), "/metrics");
	reply_free(&r);
}
END_TEST

START_TEST(openapi_describes_the_paths)
{
	struct http_reply r;
	const cJSON *paths, *schemas;
	const char *want[] = {"/api/v1/execute", "/health", "/", "/openapi.json", "/metrics"};

	http(plain.port, "GET", "/openapi.json", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_msg(r.json, "not JSON");
	ck_assert_str_eq(str(r.json, "openapi"), "3.0.3");
	paths = cJSON_GetObjectItemCaseSensitive(r.json, "paths");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(paths, want[i]), "no path %s", want[i]);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/execute"),
	                                     "post"),
	    "requestBody"));
	schemas = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "components"),
	                                           "schemas");
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(schemas, "ExecutionRequest"));
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(schemas, "ExecutionResponse"));
	reply_free(&r);
}
END_TEST

START_TEST(unknown_endpoint_and_wrong_method)
{
	struct http_reply r;

	http(plain.port, "GET", "/nope", "", NULL, &r);
	assert_error(&r, 404);
	reply_free(&r);
	http(plain.port, "GET", "/api/v1/execute", "", NULL, &r);
	assert_error(&r, 405);
	ck_assert_ptr_nonnull(strcasestr(r.head, "Allow: POST"));
	reply_free(&r);
	http(plain.port, "POST", "/health", "", "{}", &r);
	assert_error(&r, 405);
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ jobs */

START_TEST(job_succeeds)
{
	struct http_reply r;

	execute(&plain, "", "{\"job_id\": \"job-ok.1\", \"upload_id\": \"tfdata\"}", &r);
	assert_job(&r, "job-ok.1", "SUCCESS", NULL);
	ck_assert_uint_eq(strlen(str(r.json, "plan_sha256")), 64);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r.json, "plan_json")));
	ck_assert_int_eq((int)num(cJSON_GetObjectItemCaseSensitive(r.json, "summary"), "create"), 1);
	ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "steps")), 3);
	ck_assert_ptr_nonnull(strcasestr(r.head, "Content-Type: application/json"));
	reply_free(&r);
}
END_TEST

START_TEST(variables_reach_the_plan)
{
	struct http_reply r;

	execute(&plain, "",
	        "{\"job_id\": \"job-var\", \"upload_id\": \"needs-var\", \"variables\": {\"environment\": "
	        "\"staging\"}}",
	        &r);
	assert_job(&r, "job-var", "SUCCESS", NULL);
	ck_assert_str_eq(plan_output(r.json, "environment"), "staging");
	reply_free(&r);

	/* without it terraform refuses the configuration: still a job that ran */
	execute(&plain, "", "{\"job_id\": \"job-novar\", \"upload_id\": \"needs-var\"}", &r);
	assert_job(&r, "job-novar", "FAILED", "ValidationError");
	reply_free(&r);
}
END_TEST

START_TEST(policy_violation_is_a_job_that_ran)
{
	struct http_reply r;
	const cJSON *v;
	bool found = false;

	execute(&plain, "", "{\"job_id\": \"job-pv\", \"upload_id\": \"local-exec\", \"variables\": null}",
	        &r);
	assert_job(&r, "job-pv", "FAILED", "PolicyViolation");
	cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive(r.json, "violations"))
		found = found || strcmp(str(v, "rule"), "provisioner-blocked") == 0;
	ck_assert_msg(found, "no provisioner-blocked violation: %s", r.body);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "plan_json")));
	reply_free(&r);
}
END_TEST

START_TEST(unknown_upload_is_404)
{
	const char *ids[] = {"no-such-upload", "a-file", "a-link"};

	for (size_t i = 0; i < 3; i++) {
		struct http_reply r;
		char body[256];
		snprintf(body, sizeof(body), "{\"job_id\": \"j\", \"upload_id\": \"%s\"}", ids[i]);
		execute(&plain, "", body, &r);
		assert_error(&r, 404);
		reply_free(&r);
	}
}
END_TEST

START_TEST(malformed_requests_are_400)
{
	char long_id[200];
	const char *fixed[] = {
	    "",
	    "{",
	    "[]",
	    "\"job\"",
	    "{\"upload_id\": \"tfdata\"}",
	    "{\"job_id\": \"j\"}",
	    "{\"job_id\": \"j\", \"upload_id\": \"..\"}",
	    "{\"job_id\": \".\", \"upload_id\": \"tfdata\"}",
	    "{\"job_id\": \"a/b\", \"upload_id\": \"tfdata\"}",
	    "{\"job_id\": \"j\", \"upload_id\": \"../tfdata\"}",
	    "{\"job_id\": \"a b\", \"upload_id\": \"tfdata\"}",
	    "{\"job_id\": 5, \"upload_id\": \"tfdata\"}",
	    "{\"job_id\": \"j\", \"upload_id\": [\"tfdata\"]}",
	    "{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"variables\": \"x=1\"}",
	    "{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"variables\": [1]}",
	    "{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"extra\": 1}",
	};
	size_t n = sizeof(fixed) / sizeof(fixed[0]);

	memset(long_id, 'a', 129);
	long_id[129] = '\0';
	for (size_t i = 0; i <= n; i++) {
		struct http_reply r;
		char body[400];
		if (i == n)
			snprintf(body, sizeof(body), "{\"job_id\": \"%s\", \"upload_id\": \"tfdata\"}",
			         long_id);
		else
			snprintf(body, sizeof(body), "%s", fixed[i]);
		execute(&plain, "", body, &r);
		ck_assert_msg(r.code == 400, "body '%s': HTTP %d: %s", body, r.code, r.body);
		assert_error(&r, 400);
		reply_free(&r);
	}
	/* 128 characters is still an ID: the upload is then unknown */
	{
		struct http_reply r;
		char body[400];
		long_id[128] = '\0';
		snprintf(body, sizeof(body), "{\"job_id\": \"j\", \"upload_id\": \"%s\"}", long_id);
		execute(&plain, "", body, &r);
		assert_error(&r, 404);
		reply_free(&r);
	}
}
END_TEST

START_TEST(oversized_body_is_413)
{
	struct http_reply r;
	char *body = malloc(MAX_BODY * 2);

	memset(body, ' ', MAX_BODY * 2 - 1);
	memcpy(body, "{\"job_id\": \"j\", \"upload_id\": \"tfdata\"}", 38);
	body[MAX_BODY * 2 - 1] = '\0';
	execute(&plain, "", body, &r);
	assert_error(&r, 413);
	reply_free(&r);
	free(body);
}
END_TEST

/* After the jobs above (same test case, run in order). */
START_TEST(metrics_count_the_jobs)
{
	struct http_reply r;
	const char *want[] = {
	    "tfjail_jobs_total{status=\"SUCCESS\",error_type=\"none\"} 2\n",
	    "tfjail_jobs_total{status=\"FAILED\",error_type=\"PolicyViolation\"} 1\n",
	    "tfjail_jobs_total{status=\"FAILED\",error_type=\"ValidationError\"} 1\n",
	    "tfjail_job_duration_seconds_count 4\n",
	    "tfjail_jobs_running 0\n",
	    "tfjail_jobs_queued 0\n",
	    "tfjail_http_requests_total{code=\"413\"} 1\n",
	    "tfjail_http_requests_total{code=\"404\"} ",
	    "tfjail_http_requests_total{code=\"400\"} 17\n",
	    "# TYPE tfjail_job_duration_seconds histogram\n",
	};

	http(plain.port, "GET", "/metrics", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_ptr_nonnull(strcasestr(r.head, "Content-Type: text/plain"));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(r.body, want[i]), "metrics lack '%s':\n%s", want[i], r.body);
	reply_free(&r);
}
END_TEST

START_TEST(log_has_no_secrets)
{
	char *log = read_log(&plain);

	ck_assert_ptr_nonnull(
	    strstr(log, "method=\"POST\" path=\"/api/v1/execute\" status=200 job_id=\"job-var\""));
	ck_assert_msg(!strstr(log, "staging"), "a variable value was logged:\n%s", log);
	ck_assert_msg(!strstr(log, "planned_values"), "plan JSON was logged");
	free(log);
}
END_TEST

/* ------------------------------------------------------------ token */

START_TEST(token_is_required)
{
	const char *bad[] = {"",
	                     "Authorization: Bearer wrong\r\n",
	                     "Authorization: Bearer " TOKEN "x\r\n",
	                     "Authorization: Bearer s3cret\r\n",
	                     "Authorization: " TOKEN "\r\n",
	                     "Authorization: Basic " TOKEN "\r\n"};
	const char *body = "{\"job_id\": \"job-auth\", \"upload_id\": \"syntax-error\"}";
	struct http_reply r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		execute(&authed, bad[i], body, &r);
		assert_error(&r, 401);
		ck_assert_ptr_nonnull(strcasestr(r.head, "WWW-Authenticate: Bearer"));
		reply_free(&r);
	}
	execute(&authed, "Authorization: Bearer " TOKEN "\r\n", body, &r);
	assert_job(&r, "job-auth", "FAILED", "ValidationError");
	reply_free(&r);
	/* health stays open for probes */
	http(authed.port, "GET", "/health", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	reply_free(&r);
}
END_TEST

/* The asynchronous job endpoints need the token like execute: a refused
 * request neither queues, reads nor cancels a job. */
START_TEST(token_guards_the_job_endpoints)
{
	const char *bad[] = {"", "Authorization: Bearer wrong\r\n", "Authorization: Bearer " TOKEN "x\r\n",
	                     "Authorization: Basic " TOKEN "\r\n"};
	const char *good = "Authorization: Bearer " TOKEN "\r\n";
	const char *body = "{\"job_id\": \"job-async-auth\", \"upload_id\": \"syntax-error\"}";
	const char *path = "/api/v1/jobs/job-async-auth";
	struct http_reply r;

	for (int known = 0; known < 2; known++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (!known) {
				http(authed.port, "POST", "/api/v1/jobs", bad[i], body, &r);
				assert_error(&r, 401);
				ck_assert_ptr_nonnull(strcasestr(r.head, "WWW-Authenticate: Bearer"));
				reply_free(&r);
			}
			http(authed.port, "GET", path, bad[i], NULL, &r);
			assert_error(&r, 401);
			ck_assert_ptr_nonnull(strcasestr(r.head, "WWW-Authenticate: Bearer"));
			reply_free(&r);
			http(authed.port, "DELETE", path, bad[i], NULL, &r);
			assert_error(&r, 401);
			ck_assert_ptr_nonnull(strcasestr(r.head, "WWW-Authenticate: Bearer"));
			reply_free(&r);
		}
		if (known)
			break;
		/* the refused POSTs queued nothing */
		http(authed.port, "GET", path, good, NULL, &r);
		assert_error(&r, 404);
		reply_free(&r);
		http(authed.port, "POST", "/api/v1/jobs", good, body, &r);
		ck_assert_msg(r.code == 202, "HTTP %d: %s", r.code, r.body);
		ck_assert_str_eq(str(r.json, "job_id"), "job-async-auth");
		ck_assert_ptr_nonnull(strcasestr(r.head, "Location: /api/v1/jobs/job-async-auth"));
		reply_free(&r);
	}
	/* the refused DELETEs cancelled nothing; the right token reads and cancels */
	http(authed.port, "GET", path, good, NULL, &r);
	ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
	ck_assert_str_eq(str(r.json, "job_id"), "job-async-auth");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "cancel_requested")));
	reply_free(&r);
	http(authed.port, "DELETE", path, good, NULL, &r);
	ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
	ck_assert_str_eq(str(r.json, "job_id"), "job-async-auth");
	/* cancelled, or it had already ended (a syntax error is found fast) */
	ck_assert_msg(strcmp(str(r.json, "status"), "CANCELLED") == 0 ||
	                  strcmp(str(r.json, "status"), "RUNNING") == 0 ||
	                  strcmp(str(r.json, "status"), "FAILED") == 0,
	              "%s", r.body);
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ queue, crash, shutdown */

/* One job at a time and no queue; exfil-fileset runs until it is killed. */
START_TEST(queue_full_crash_and_shutdown)
{
	struct server s;
	struct background slow;
	struct http_reply r;
	pid_t procs[256], spawner = 0, launcher = 0, worker = 0;
	size_t n;
	int st;
	char *log, *p;

	ck_assert_msg(tj_test_is_root(), "needs root");
	server_start(&s, "\"max_concurrent_jobs\": 1, \"queue_size\": 0, \"shutdown_grace\": 1", NULL);
	copy_fixture(&s, "exfil-fileset", "slow");
	copy_fixture(&s, "tfdata-only", "tfdata");

	/* a second job while one runs: 429 */
	background_execute(&s, "{\"job_id\": \"slow-1\", \"upload_id\": \"slow\"}", &slow);
	wait_running(&s, 1);
	execute(&s, "", "{\"job_id\": \"job-2\", \"upload_id\": \"tfdata\"}", &r);
	assert_error(&r, 429);
	reply_free(&r);

	/* the job's process dies: an InternalError job, the server lives on */
	server_procs(&s, &spawner, &launcher, &worker);
	ck_assert_int_gt(worker, 0);
	kill(worker, SIGKILL);
	background_finish(&slow, &r);
	assert_job(&r, "slow-1", "FAILED", "InternalError");
	reply_free(&r);
	wait_running(&s, 0);
	execute(&s, "", "{\"job_id\": \"job-3\", \"upload_id\": \"tfdata\"}", &r);
	assert_job(&r, "job-3", "SUCCESS", NULL);
	reply_free(&r);
	http(s.port, "GET", "/metrics", "", NULL, &r);
	ck_assert_ptr_nonnull(
	    strstr(r.body, "tfjail_jobs_total{status=\"FAILED\",error_type=\"InternalError\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_jobs_rejected_total{reason=\"queue_full\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_http_requests_total{code=\"429\"} 1\n"));
	reply_free(&r);

	/* SIGTERM with a job running: new requests 503, the job is killed
	 * after the grace period, exit 0, nothing left */
	background_execute(&s, "{\"job_id\": \"slow-2\", \"upload_id\": \"slow\"}", &slow);
	wait_running(&s, 1);
	/* the check below would see the job's cgroup */
	worker = wait_job_sandbox(&s);
	n = descendants(s.pid, procs, 256);
	ck_assert_int_ge(n, 5); /* server, spawner, launcher, worker, sandbox ... */
	kill(s.pid, SIGTERM);
	usleep(200000);
	execute(&s, "", "{\"job_id\": \"job-4\", \"upload_id\": \"tfdata\"}", &r);
	assert_error(&r, 503);
	reply_free(&r);
	http(s.port, "GET", "/health", "", NULL, &r);
	ck_assert_int_eq(r.code, 503);
	ck_assert_str_eq(str(r.json, "status"), "unhealthy");
	reply_free(&r);
	background_finish(&slow, &r);
	assert_error(&r, 503);
	reply_free(&r);
	{
		uint64_t deadline = tj_now_ms() + 15000;
		while (waitpid(s.pid, &st, WNOHANG) == 0) {
			ck_assert_msg(tj_now_ms() < deadline, "tfjail serve did not exit after SIGTERM");
			usleep(10000);
		}
	}
	log = read_log(&s);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d:\n%s", st, log);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(kill(procs[i], 0) < 0 && errno == ESRCH,
		              "process %d (%zu of %zu; parent %d) is left", (int)procs[i], i, n,
		              (int)ppid_of(procs[i]));
	/* every worker named in the log, the killed ones included */
	for (p = strstr(log, "worker="); p; p = strstr(p + 1, "worker=")) {
		pid_t w = (pid_t)atoi(p + 7);
		ck_assert_msg(job_cgroups_of(w) == 0, "job cgroup of worker %d is left", (int)w);
	}
	ck_assert_ptr_nonnull(strstr(log, "stopped"));
	free(log);
	s.pid = 0;
	server_cleanup(&s);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *main_tc = tcase_create("server");
	TCase *auth = tcase_create("token");
	TCase *life = tcase_create("lifecycle");

	tcase_add_unchecked_fixture(main_tc, plain_start, plain_stop);
	tcase_set_timeout(main_tc, 120);
	tcase_add_test(main_tc, health_reports_terraform_version);
	tcase_add_test(main_tc, index_links_the_endpoints);
	tcase_add_test(main_tc, openapi_describes_the_paths);
	tcase_add_test(main_tc, unknown_endpoint_and_wrong_method);
	tcase_add_test(main_tc, job_succeeds);
	tcase_add_test(main_tc, variables_reach_the_plan);
	tcase_add_test(main_tc, policy_violation_is_a_job_that_ran);
	tcase_add_test(main_tc, unknown_upload_is_404);
	tcase_add_test(main_tc, malformed_requests_are_400);
	tcase_add_test(main_tc, oversized_body_is_413);
	tcase_add_test(main_tc, metrics_count_the_jobs);
	tcase_add_test(main_tc, log_has_no_secrets);
	suite_add_tcase(s, main_tc);

	tcase_add_unchecked_fixture(auth, authed_start, authed_stop);
	tcase_set_timeout(auth, 120);
	tcase_add_test(auth, token_is_required);
	tcase_add_test(auth, token_guards_the_job_endpoints);
	suite_add_tcase(s, auth);

	tcase_set_timeout(life, 120);
	tcase_add_test(life, queue_full_crash_and_shutdown);
	suite_add_tcase(s, life);
	return s;
}
