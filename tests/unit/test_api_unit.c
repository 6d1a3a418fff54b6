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
#include "api/request.h"
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
		" \"token\": \"abc\", \"max_body_bytes\": \"2MiB\", \"max_concurrent_jobs\": 4, \"queue_size\": 0,"
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

	ck_assert_ptr_nonnull(mkdtemp(dir));
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

static void parse_fails(const char *body, const char *want)
{
	struct api_exec_request r;
	char msg[256];

	ck_assert_msg(api_request_parse(body, strlen(body), &r, msg, sizeof(msg)) < 0, "'%s' was accepted", body);
	ck_assert_msg(strstr(msg, want), "'%s': '%s' lacks '%s'", body, msg, want);
}

START_TEST(request_parsing)
{
	struct api_exec_request r;
	char msg[256];
	const char *ok = "{\"job_id\": \"job_1\", \"upload_id\": \"up-2.x\", \"variables\": {\"a\": 1, \"b\": \"x\"}}";

	ck_assert_int_eq(api_request_parse(ok, strlen(ok), &r, msg, sizeof(msg)), 0);
	ck_assert_str_eq(r.job_id, "job_1");
	ck_assert_str_eq(r.upload_id, "up-2.x");
	ck_assert_int_eq(cJSON_GetArraySize(r.variables), 2);
	api_request_free(&r);
	ck_assert_int_eq(api_request_parse("{\"job_id\":\"a\",\"upload_id\":\"b\"}", 30, &r, msg, sizeof(msg)), 0);
	ck_assert_ptr_null(r.variables);
	api_request_free(&r);

	parse_fails("", "empty");
	parse_fails("{\"job_id\": \"a\"", "not valid JSON");
	parse_fails("42", "must be a JSON object");
	parse_fails("{\"upload_id\": \"u\"}", "job_id is missing");
	parse_fails("{\"job_id\": \"j\"}", "upload_id is missing");
	parse_fails("{\"job_id\": true, \"upload_id\": \"u\"}", "job_id must be a string");
	parse_fails("{\"job_id\": \"..\", \"upload_id\": \"u\"}", "job_id must be 1-128");
	parse_fails("{\"job_id\": \"j\", \"upload_id\": \"\"}", "upload_id must be 1-128");
	parse_fails("{\"job_id\": \"j\", \"upload_id\": \"a/b\"}", "upload_id must be 1-128");
	parse_fails("{\"job_id\": \"j\", \"upload_id\": \"u\", \"variables\": 3}", "variables must be an object");
	parse_fails("{\"job_id\": \"j\", \"upload_id\": \"u\", \"policy\": {}}", "unknown key 'policy'");
	{
		const char nul[] = "{\"job_id\": \"j\", \"upload_id\": \"u\"}\0x";
		ck_assert_int_eq(api_request_parse(nul, sizeof(nul) - 1, &r, msg, sizeof(msg)), -1);
	}
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
	struct api_metrics_gauges g = {.running = 1, .queued = 2, .max_running = 2, .queue_size = 8,
				       .terraform_version = "1.11.4", .policy_name = "p\"q", .policy_sha256 = "00"};
	struct tj_buf b = {0};

	api_metrics_http(m, 200);
	api_metrics_http(m, 200);
	api_metrics_http(m, 418);
	api_metrics_job(m, "SUCCESS", NULL, 0.3);
	api_metrics_job(m, "TIMEOUT", "ResourceLimitExceeded", 700);
	api_metrics_rejected(m, "queue_full");
	ck_assert_int_eq(api_metrics_render(m, &g, &b), 0);
	tj_buf_append(&b, "", 1);
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_http_requests_total{code=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_http_requests_total{code=\"other\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_jobs_total{status=\"SUCCESS\",error_type=\"none\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(b.data, "tfjail_jobs_total{status=\"TIMEOUT\",error_type=\"ResourceLimitExceeded\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"0.5\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"600\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "tfjail_job_duration_seconds_count 2\n"));
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
	ck_assert_int_eq(cJSON_GetArraySize(paths), 5);
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
	tcase_add_test(tc, token_check);
	tcase_add_test(tc, metrics_text);
	tcase_add_test(tc, openapi_is_json);
	suite_add_tcase(s, tc);
	return s;
}
