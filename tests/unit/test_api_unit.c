/* The pure parts of the HTTP API: configuration, ExecutionRequest parsing,
 * the token check, metrics text, the OpenAPI document. */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/config.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/msg.h"
#include "api/request.h"
#include "common/jsoncheck.h"
#include "common/utf8.h"
#include "tests/testutil.h"

static void load_ok(const char *text, struct api_config *c)
{
	struct tj_error err = {0};

	ck_assert_int_eq(api_config_defaults(c, &err), 0);
	ck_assert_msg(api_config_load_text(text, "t.json", c, &err) == 0, "%s", err.msg);
}

static void load_fails(const char *text, const char *want)
{
	struct api_config c;
	struct tj_error err = {0};

	ck_assert_int_eq(api_config_defaults(&c, &err), 0);
	ck_assert_msg(api_config_load_text(text, "t.json", &c, &err) < 0, "'%s' was accepted", text);
	ck_assert_msg(strstr(err.msg, want), "'%s': message '%s' lacks '%s'", text, err.msg, want);
	api_config_free(&c);
}

START_TEST(config_defaults)
{
	struct api_config c;

	load_ok("{}", &c);
	ck_assert_str_eq(c.listen, "127.0.0.1:8001");
	ck_assert_str_eq(c.uploads_dir, "/var/lib/tfjail/uploads");
	ck_assert_ptr_null(c.policy);
	ck_assert_ptr_null(c.token);
	ck_assert_uint_eq(c.max_body_bytes, 1 << 20);
	ck_assert_uint_eq(c.max_concurrent_jobs, 2);
	ck_assert_uint_eq(c.queue_size, 8);
	api_config_free(&c);
}
END_TEST

START_TEST(config_keys)
{
	struct api_config c;

	load_ok("{\"listen\": \"[::1]:9000\", \"uploads_dir\": \"/srv/u\", \"policy\": \"/etc/p.json\","
	        " \"token\": \"abc\", \"max_body_bytes\": \"2MiB\", \"max_concurrent_jobs\": 4, "
	        "\"queue_size\": 0,"
	        " \"shutdown_grace\": 5, \"max_connections\": 10}",
	        &c);
	ck_assert_str_eq(c.listen, "[::1]:9000");
	ck_assert_str_eq(c.uploads_dir, "/srv/u");
	ck_assert_str_eq(c.policy, "/etc/p.json");
	ck_assert_str_eq(c.token, "abc");
	ck_assert_uint_eq(c.max_body_bytes, 2 << 20);
	ck_assert_uint_eq(c.max_concurrent_jobs, 4);
	ck_assert_uint_eq(c.queue_size, 0);
	ck_assert_uint_eq(c.shutdown_grace_s, 5);
	api_config_free(&c);
}
END_TEST

START_TEST(config_token_file)
{
	struct api_config c;
	char dir[] = "/tmp/tfjail-cfg-XXXXXX", text[256];

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	tj_test_write(dir, "token", "from-file\nsecond line\n");
	snprintf(text, sizeof(text), "{\"token_file\": \"%s/token\"}", dir);
	load_ok(text, &c);
	ck_assert_str_eq(c.token, "from-file");
	api_config_free(&c);
	tj_test_write(dir, "empty", "\n");
	snprintf(text, sizeof(text), "{\"token_file\": \"%s/empty\"}", dir);
	load_fails(text, "holds no token");
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(config_errors_name_the_key)
{
	load_fails("{\"listen\": \"127.0.0.1:8001\", \"colour\": 1}", "t.json: colour: unknown key");
	load_fails("{\"max_concurrent_jobs\": 0}", "t.json: max_concurrent_jobs:");
	load_fails("{\"max_concurrent_jobs\": 1.5}", "max_concurrent_jobs: want a whole number");
	load_fails("{\"queue_size\": -1}", "queue_size");
	load_fails("{\"max_body_bytes\": \"lots\"}", "max_body_bytes");
	load_fails("{\"listen\": \"8001\"}", "listen");
	load_fails("{\"listen\": \"127.0.0.1:99999\"}", "listen");
	load_fails("{\"uploads_dir\": 5}", "uploads_dir: want a non-empty string");
	load_fails("{\"token\": \"a\", \"token_file\": \"/x\"}", "give one of them");
	load_fails("[1]", "must be a JSON object");
	load_fails("{", "not valid JSON");
}
END_TEST

START_TEST(listen_forms)
{
	char host[64];
	unsigned port;
	struct tj_error err;

	ck_assert_int_eq(api_parse_listen("127.0.0.1:8001", host, sizeof(host), &port, &err), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 8001);
	ck_assert_int_eq(api_parse_listen("[::1]:0", host, sizeof(host), &port, &err), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(api_parse_listen(":80", host, sizeof(host), &port, &err), -1);
	ck_assert_int_eq(api_parse_listen("[::1]80", host, sizeof(host), &port, &err), -1);
	ck_assert_int_eq(api_parse_listen("localhost:x", host, sizeof(host), &port, &err), -1);
}
END_TEST

static const struct api_request_limits limits = {.max_variables = 4, .max_depth = 3};

static void parse_fails(const char *body, size_t len, const char *want)
{
	struct api_exec_request r;
	char msg[256];

	ck_assert_msg(api_request_parse(body, len, &limits, &r, msg, sizeof(msg)) < 0, "'%s' was accepted",
	              body);
	ck_assert_msg(strstr(msg, want), "'%s': '%s' lacks '%s'", body, msg, want);
	ck_assert(tj_utf8_valid(msg, strlen(msg)));
}
#define FAILS(lit, want) parse_fails(lit, sizeof(lit) - 1, want)

START_TEST(request_parsing)
{
	struct api_exec_request r;
	char msg[256];
	const char *ok = "{\"job_id\": \"job_1\", \"upload_id\": \"up-2.x\", \"working_dir\": \"examples/a\","
	                 " \"variables\": {\"a\": 12345678901234567890, \"b\": \"x\\u0000y\"}}";

	ck_assert_int_eq(api_request_parse(ok, strlen(ok), &limits, &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(r.job_id, "job_1");
	ck_assert_str_eq(r.upload_id, "up-2.x");
	ck_assert_str_eq(r.working_dir, "examples/a");
	ck_assert_uint_eq(r.n_variables, 2);
	/* the variables object passes byte for byte: exact numbers, \u0000 kept */
	ck_assert_int_eq((int)r.variables_json_len,
	                 (int)strlen("{\"a\": 12345678901234567890, \"b\": \"x\\u0000y\"}"));
	ck_assert(memcmp(r.variables_json, "{\"a\": 12345678901234567890, \"b\": \"x\\u0000y\"}",
	                 r.variables_json_len) == 0);
	ck_assert_int_eq(
	    api_request_parse("{\"job_id\":\"a\",\"upload_id\":\"b\"}", 30, &limits, &r, msg, sizeof(msg)),
	    0);
	ck_assert_ptr_null(r.variables_json);
	ck_assert_str_eq(r.working_dir, "");

	FAILS("", "empty");
	FAILS("{\"job_id\": \"a\"", "not valid");
	FAILS("42", "must be a JSON object");
	FAILS("{\"upload_id\": \"u\"}", "job_id is missing");
	FAILS("{\"job_id\": \"j\"}", "upload_id is missing");
	FAILS("{\"job_id\": true, \"upload_id\": \"u\"}", "job_id must be a string");
	FAILS("{\"job_id\": \"..\", \"upload_id\": \"u\"}", "job_id must be 1-128");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"\"}", "upload_id must be 1-128");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"a/b\"}", "upload_id must be 1-128");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": 3}", "variables must be an object");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"policy\": {}}", "unknown key 'policy'");
	/* strictness */
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"ok\\u0000x\"}", "NUL");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": {\"a\\u0000\": 1}}", "NUL");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"job_id\": \"k\"}", "duplicate key 'job_id'");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": {\"a\": {\"x\": 1, \"\\u0078\": 2}}}",
	      "duplicate key 'x'");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\"} x", "data after");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\"}{}", "data after");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\xff\"}", "invalid UTF-8");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\xc0\xaf\"}", "invalid UTF-8");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\xed\xa0\x80\"}", "invalid UTF-8");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\\ud800\"}", "lone surrogate");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": "
	      "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}}",
	      "at most 4");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": {\"a\": [[[1]]]}}", "nesting deeper");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"working_dir\": \"../x\"}", "working_dir must be");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"working_dir\": \"/abs\"}", "working_dir must be");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"working_dir\": \"a//b\"}", "working_dir must be");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"working_dir\": \"a/./b\"}", "working_dir must be");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"x\": 01}", "not valid");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"x\": 1.}", "invalid number");
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", \"x\": \"\t\"}", "control character");
	/* an unknown key is quoted whole code points only */
	FAILS("{\"job_id\": \"j\", \"upload_id\": \"u\", "
	      "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
	      "\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3"
	      "\xa9\": 1}",
	      "unknown key");
	{
		const char nul[] = "{\"job_id\": \"j\", \"upload_id\": \"u\"}\0x";
		ck_assert_int_eq(api_request_parse(nul, sizeof(nul) - 1, &limits, &r, msg, sizeof(msg)), -1);
	}
}
END_TEST

/* Validation is linear: the work counted (bytes read, key-table probes)
 * stays within a small multiple of the body's length, for 64,000 names in
 * one object as for 1,000, and for keys that differ only at the end. */
START_TEST(strict_json_is_linear)
{
	for (int names = 1000; names <= 64000; names *= 8) {
		struct tj_buf b = {0};
		const struct tj_json_opts strict = api_request_json_opts(7);
		struct tj_json_doc doc;
		struct tj_error err;

		tj_buf_printf(&b, "{\"v\":{");
		for (int i = 0; i < names; i++)
			tj_buf_printf(&b, "%s\"a_long_common_prefix_for_every_name_%d\":[%d,{\"x\":1}]",
			              i ? "," : "", i, i);
		tj_buf_printf(&b, "}}");
		ck_assert_int_eq(tj_json_check(b.data, b.len, &strict, &doc, &err), 0);
		ck_assert_uint_eq(doc.m[0].n_members, (size_t)names);
		ck_assert_msg(doc.steps < 3 * b.len, "%d names: %zu steps for %zu bytes", names, doc.steps,
		              b.len);
		tj_buf_free(&b);
	}
}
END_TEST

START_TEST(utf8_helpers)
{
	char *s = strdup("a\xff"
	                 "b\xe2\x82");
	size_t len = strlen(s);

	ck_assert(tj_utf8_valid("h\xc3\xa9", 3));
	ck_assert(!tj_utf8_valid("h\xc3", 2));
	ck_assert_uint_eq(tj_utf8_cut("\xc3\xa9\xc3\xa9", 4, 3), 2);
	ck_assert_uint_eq(tj_utf8_cut("abc", 3, 10), 3);
	ck_assert_int_eq(tj_utf8_repair(&s, &len), 0);
	ck_assert_str_eq(s, "a\xef\xbf\xbd"
	                    "b\xef\xbf\xbd\xef\xbf\xbd");
	ck_assert(tj_utf8_valid(s, len));
	free(s);
}
END_TEST

/* Every message decodes to what was encoded; a cut one does not decode. */
START_TEST(messages_round_trip)
{
	struct tj_buf b = {0};
	struct api_msg_run run, in = {.job_id = "j",
	                              .upload_id = "u",
	                              .working_dir = NULL,
	                              .request_id = "r",
	                              .policy_text = "{}",
	                              .policy_len = 2,
	                              .variables_json = "{\"a\":\"\\u0000\"}",
	                              .variables_json_len = 14};
	struct api_msg_result res;
	struct api_msg_hello hello;
	struct api_msg_shutdown sh;
	struct api_msg_started st;
	struct api_msg_reason why;

	ck_assert_int_eq(api_msg_run_encode(&in, &b), 0);
	ck_assert_int_eq(api_msg_run_decode(b.data, b.len, &run), 0);
	ck_assert_str_eq(run.job_id, "j");
	ck_assert_ptr_null(run.working_dir);
	ck_assert_uint_eq(run.variables_json_len, 14);
	ck_assert(memcmp(run.variables_json, in.variables_json, 14) == 0);
	ck_assert_int_eq(api_msg_run_decode(b.data, b.len - 1, &run), -1);
	b.len = 0;
	ck_assert_int_eq(
	    api_msg_result_encode(&(struct api_msg_result){"FAILED", "PolicyViolation", "{}", 2}, &b), 0);
	ck_assert_int_eq(api_msg_result_decode(b.data, b.len, &res), 0);
	ck_assert_str_eq(res.status, "FAILED");
	ck_assert_str_eq(res.error_type, "PolicyViolation");
	ck_assert_str_eq(res.response, "{}");
	b.len = 0;
	ck_assert_int_eq(
	    api_msg_hello_encode(&(struct api_msg_hello){.ok = true, .terraform_version = "1.11.4"}, &b), 0);
	ck_assert_int_eq(api_msg_hello_decode(b.data, b.len, &hello), 0);
	ck_assert(hello.ok);
	ck_assert_str_eq(hello.terraform_version, "1.11.4");
	ck_assert_ptr_null(hello.error);
	b.len = 0;
	ck_assert_int_eq(api_msg_shutdown_encode(&(struct api_msg_shutdown){30000}, &b), 0);
	ck_assert_int_eq(api_msg_shutdown_decode(b.data, b.len, &sh), 0);
	ck_assert_uint_eq(sh.grace_ms, 30000);
	b.len = 0;
	ck_assert_int_eq(api_msg_started_encode(&(struct api_msg_started){4242}, &b), 0);
	ck_assert_int_eq(api_msg_started_decode(b.data, b.len, &st), 0);
	ck_assert_int_eq(st.worker, 4242);
	b.len = 0;
	ck_assert_int_eq(api_msg_reason_encode(&(struct api_msg_reason){"gone"}, &b), 0);
	ck_assert_int_eq(api_msg_reason_decode(b.data, b.len, &why), 0);
	ck_assert_str_eq(why.why, "gone");
	ck_assert_int_eq(api_msg_reason_decode(b.data, 3, &why), -1);
	tj_buf_free(&b);
}
END_TEST

START_TEST(request_ids)
{
	ck_assert(api_request_id_valid("abc-1_2.3:4"));
	ck_assert(!api_request_id_valid(""));
	ck_assert(!api_request_id_valid(NULL));
	ck_assert(!api_request_id_valid("a b"));
	ck_assert(!api_request_id_valid("a\x1b"));
}
END_TEST

START_TEST(token_check)
{
	ck_assert(api_token_matches("Bearer abc", "abc"));
	ck_assert(api_token_matches("bearer abc", "abc"));
	ck_assert(!api_token_matches(NULL, "abc"));
	ck_assert(!api_token_matches("", "abc"));
	ck_assert(!api_token_matches("Bearer ", "abc"));
	ck_assert(!api_token_matches("Bearer ab", "abc"));
	ck_assert(!api_token_matches("Bearer abcd", "abc"));
	ck_assert(!api_token_matches("Bearer abd", "abc"));
	ck_assert(!api_token_matches("Basic abc", "abc"));
	ck_assert(!api_token_matches("abc", "abc"));
}
END_TEST

START_TEST(metrics_text)
{
	struct api_metrics *m = api_metrics_new();
	struct api_metrics_gauges g = {.running = 1,
	                               .queued = 2,
	                               .max_running = 2,
	                               .queue_size = 8,
	                               .terraform_version = "1.11.4",
	                               .policy_name = "p\"q",
	                               .policy_sha256 = "00"};
	struct tj_buf b = {0};

	api_metrics_http(m, 200);
	api_metrics_http(m, 200);
	api_metrics_http(m, 418);
	api_metrics_job(m, "SUCCESS", NULL, 0.01, 0.3);
	api_metrics_job(m, "TIMEOUT", "ResourceLimitExceeded", 0.01, 700);
	api_metrics_crash(m, 0.2, 1);
	api_metrics_cancelled(m, true);
	api_metrics_rejected(m, "queue_full");
	ck_assert_int_eq(api_metrics_render(m, &g, &b), 0);
	tj_buf_append(&b, "", 1);
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_http_requests_total{code=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_http_requests_total{code=\"other\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "tfjail_jobs_total{status=\"SUCCESS\",error_type=\"none\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "tfjail_jobs_total{status=\"TIMEOUT\",error_type=\"ResourceLimitExceeded\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"0.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"600\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_count 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_queue_wait_seconds_bucket{le=\"0.1\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_worker_crashes_total 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "tfjail_jobs_total{status=\"FAILED\",error_type=\"InternalError\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_jobs_cancelled_total{state=\"running\"} 1\n"));
	/* only pairs that can occur */
	ck_assert_ptr_null(strstr(b.data, "status=\"SUCCESS\",error_type=\"PolicyViolation\""));
	ck_assert_ptr_null(strstr(b.data, "status=\"FAILED\",error_type=\"none\""));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_jobs_queued 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_jobs_rejected_total{reason=\"queue_full\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "policy=\"p\\\"q\""));
	tj_buf_free(&b);
	api_metrics_free(m);
}
END_TEST

START_TEST(openapi_is_json)
{
	cJSON *doc = cJSON_Parse(api_openapi_text());
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");

	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	                     cJSON_GetObjectItemCaseSensitive(doc, "info"), "version")),
	                 TFJAIL_VERSION);
	/* execute, jobs, jobs/{job_id}, health, ready, /, openapi.json, metrics */
	ck_assert_int_eq(cJSON_GetArraySize(paths), 8);
	cJSON_Delete(doc);
}
END_TEST

Suite *api_unit_suite(void)
{
	Suite *s = suite_create("api_unit");
	TCase *tc = tcase_create("api_unit");

	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_keys);
	tcase_add_test(tc, config_token_file);
	tcase_add_test(tc, config_errors_name_the_key);
	tcase_add_test(tc, listen_forms);
	tcase_add_test(tc, request_parsing);
	tcase_add_test(tc, strict_json_is_linear);
	tcase_add_test(tc, utf8_helpers);
	tcase_add_test(tc, messages_round_trip);
	tcase_add_test(tc, request_ids);
	tcase_add_test(tc, token_check);
	tcase_add_test(tc, metrics_text);
	tcase_add_test(tc, openapi_is_json);
	suite_add_tcase(s, tc);
	return s;
}
