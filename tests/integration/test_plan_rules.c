/* Plan rules end to end: `tfjail plan` refuses a plan by what it would
 * change (FAILED / PolicyViolation with plan_json kept), shows its steps and
 * the resource addresses, and every --output sarif (plan, scan, policy test)
 * is valid against the SARIF 2.1.0 JSON schema (tests/sarif/validate.js with
 * the schema and ajv from npm, `make sarif-validator`; .ci/run installs
 * them).  Needs root and terraform: the plans are real, provider-less jobs. */
#include <check.h>
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

struct run {
	int status;
	char *out, *err;
};

static char tmp[PATH_MAX];

static void run(struct run *r, const char *const *args)
{
	char *argv[32];
	size_t n = 0;
	int st;

	argv[n++] = (char *)tj_test_bin();
	for (; args[n - 1] && n < 31; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	st = tj_test_spawn(argv, &r->out, &r->err);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const char *fixture(const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;
	char rel[256];

	k = (k + 1) % 4;
	snprintf(rel, sizeof(rel), "tests/fixtures/planrules/%s", name);
	if (!realpath(tj_test_src(rel), buf[k]))
		snprintf(buf[k], sizeof(buf[k]), "%s", tj_test_src(rel));
	return buf[k];
}

static const char *at(const char *name)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", tmp, name);
	return buf;
}

/* The policy of these tests: terraform_data denied, the root module's file
 * suppressed, terraform_remote_state allowed for the static scan. */
static const char policy[] =
    "{\"version\": 1, \"name\": \"plan-audit\", \"data_sources\": {\"denied\": []},\n"
    " \"plan_rules\": {\"resource_types\": {\"denied\": [\"terraform_data\"]}},\n"
    " \"suppressions\": [{\"rule\": \"plan-resource-type-denied\", \"path\": \"main.tf\",\n"
    "                    \"reason\": \"the root module is reviewed\"}]}\n";

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/tfjail-planrules-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	tj_test_write(tmp, "policy.json", policy);
	tj_test_write(tmp, "warn.json",
	              "{\"version\": 1, \"name\": \"warn\", \"data_sources\": {\"denied\": []},"
	              " \"plan_rules\": {\"max_changes\": {\"create\": 1}}, \"rules\": "
	              "{\"plan-change-limit\": \"warning\"}}");
}

static void teardown(void)
{
	tj_test_rm_rf(tmp);
}

/* node on PATH (tj_test_spawn does not search it) */
static const char *node_path(void)
{
	static char buf[PATH_MAX];
	char path[4096], *save = NULL;

	snprintf(path, sizeof(path), "%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/node", d);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	ck_abort_msg("node is not on PATH (the SARIF test needs nodejs)");
	return NULL;
}

/* node tests/sarif/validate.js NODE_MODULES FILE: the schema's verdict */
static void assert_valid_sarif(const char *text)
{
	char node_modules[PATH_MAX], script[PATH_MAX], file[PATH_MAX], *out = NULL, *err = NULL;
	const char *nm = getenv("TFJAIL_SARIF_NODE_MODULES");
	char *argv[] = {(char *)node_path(), script, node_modules, file, NULL};
	int st;

	/* tj_test_src and at() return static buffers: copy each */
	snprintf(script, sizeof(script), "%s", tj_test_src("tests/sarif/validate.js"));
	snprintf(node_modules, sizeof(node_modules), "%s", nm ? nm : tj_test_src("build/npm/node_modules"));
	snprintf(file, sizeof(file), "%s", at("out.sarif"));
	tj_test_write(tmp, "out.sarif", text);
	st = tj_test_spawn(argv, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 2,
	              "the SARIF validator is missing (make sarif-validator): %s", err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "invalid SARIF: %.2000s", err);
	free(out);
	free(err);
}

START_TEST(plan_refused_by_a_plan_rule)
{
	struct run r;
	cJSON *j, *v;
	const cJSON *plan;
	int n = 0;

	run(&r, ARGS("plan", fixture("modules"), "--policy", at("policy.json"), "--output", "json"));
	ck_assert_msg(r.status == 1, "status %d: %s", r.status, r.err);
	j = cJSON_Parse(r.out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "FAILED");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "error_type")->valuestring, "PolicyViolation");
	/* the user sees what was refused */
	plan = cJSON_GetObjectItem(j, "plan_json");
	ck_assert(cJSON_IsObject(plan));
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "plan_sha256")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(plan, "resource_changes")), 3);
	/* the module's two instances; the root's resource is suppressed by file */
	cJSON_ArrayForEach (v, cJSON_GetObjectItem(j, "violations")) {
		char want[64];
		snprintf(want, sizeof(want), "module.net.terraform_data.subnet[%d]", n);
		ck_assert_str_eq(cJSON_GetObjectItem(v, "rule")->valuestring, "plan-resource-type-denied");
		ck_assert_str_eq(cJSON_GetObjectItem(v, "severity")->valuestring, "error");
		ck_assert_str_eq(cJSON_GetObjectItem(v, "address")->valuestring, want);
		ck_assert_str_eq(cJSON_GetObjectItem(v, "file")->valuestring, "net/main.tf");
		ck_assert_int_eq(cJSON_GetObjectItem(v, "line")->valueint, 1);
		n++;
	}
	ck_assert_int_eq(n, 2);
	ck_assert_ptr_nonnull(strstr(cJSON_GetObjectItem(j, "error_message")->valuestring, "net/main.tf:1:"));
	cJSON_Delete(j);
	run_free(&r);

	/* the same job as SARIF */
	run(&r, ARGS("plan", fixture("modules"), "--policy", at("policy.json"), "--output", "sarif"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "\"ruleId\":\"plan-resource-type-denied\""));
	assert_valid_sarif(r.out);
	run_free(&r);
}
END_TEST

/* a warning is listed and exits 0; the text shows steps and addresses */
START_TEST(plan_warning_exits_zero_with_steps_and_addresses)
{
	struct run r;

	run(&r, ARGS("plan", fixture("modules"), "--policy", at("warn.json"), "--progress"));
	ck_assert_msg(r.status == 0, "status %d: %s %s", r.status, r.out, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, " SUCCESS in "));
	ck_assert_ptr_nonnull(strstr(r.out, "[plan-change-limit, warning]"));
	ck_assert_ptr_nonnull(strstr(r.out, "  +   create  terraform_data.root\n"
	                                    "  +   create  module.net.terraform_data.subnet[0]\n"
	                                    "  +   create  module.net.terraform_data.subnet[1]\n"));
	for (const char *const *s = (const char *const[]){"scan", "init", "plan", "show", NULL}; *s; s++) {
		char start[64], end[64];
		snprintf(start, sizeof(start), "tfjail: plan: %s ...\n", *s);
		snprintf(end, sizeof(end), "tfjail: plan: %s done in ", *s);
		ck_assert_msg(strstr(r.err, start) && strstr(r.err, end), "step %s: %s", *s, r.err);
		ck_assert(strstr(r.err, start) < strstr(r.err, end));
	}
	run_free(&r);
	/* --quiet, and stderr not a terminal: nothing on stderr */
	run(&r, ARGS("plan", fixture("modules"), "--policy", at("warn.json"), "-q"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}
END_TEST

START_TEST(scan_and_policy_test_sarif_valid)
{
	struct run r;

	run(&r, ARGS("scan", tj_test_src("tests/fixtures/plan/local-exec"), "--output", "sarif"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "\"provisioner-blocked\""));
	assert_valid_sarif(r.out);
	run_free(&r);
	run(&r, ARGS("policy", "test", at("policy.json"), fixture("modules/plan.json"), "--dir",
	             fixture("modules"), "--output", "sarif"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "\"justification\":\"the root module is reviewed\""));
	assert_valid_sarif(r.out);
	run_free(&r);
	/* JUnit: one test case per enabled rule, the denied type's case failed */
	run(&r, ARGS("policy", "test", at("policy.json"), fixture("modules/plan.json"), "--dir",
	             fixture("modules"), "--output", "junit"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(
	    strstr(r.out, "<testsuite name=\"policy test\" tests=\"19\" failures=\"1\" errors=\"0\">"));
	ck_assert_ptr_nonnull(
	    strstr(r.out, "<testcase classname=\"tfjail.plan\" name=\"plan-resource-type-denied\">\n"
	                  "      <failure message=\""));
	ck_assert_ptr_nonnull(strstr(r.out,
	                             "net/main.tf:1: module.net.terraform_data.subnet[0]: resource type "
	                             "terraform_data is denied (plan_rules.resource_types.denied &quot;"));
	ck_assert_ptr_nonnull(strstr(r.out, "<testcase classname=\"tfjail.static\" name=\"parse-error\"/>"));
	run_free(&r);
	/* a clean scan is a valid log with no results */
	run(&r, ARGS("scan", fixture("changes"), "--output", "sarif"));
	ck_assert_int_eq(r.status, 0);
	assert_valid_sarif(r.out);
	run_free(&r);
}
END_TEST

Suite *planrules_suite(void)
{
	Suite *s = suite_create("planrules");
	TCase *tc = tcase_create("planrules");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plan_refused_by_a_plan_rule);
	tcase_add_test(tc, plan_warning_exits_zero_with_steps_and_addresses);
	tcase_add_test(tc, scan_and_policy_test_sarif_valid);
	suite_add_tcase(s, tc);
	return s;
}
