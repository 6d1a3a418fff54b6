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

#include "common/util.h"
#include "executor/judge.h"
#include "policy/rules.h"
#include "runtime/sandbox.h"
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
	ck_assert_ptr_nonnull(tj_test_mkdtemp(tmp));
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
	{
		char suite[128];
		snprintf(suite, sizeof(suite),
		         "<testsuite name=\"policy test\" tests=\"%d\" failures=\"1\" errors=\"0\">",
		         TJ_RULE__COUNT);
		ck_assert_ptr_nonnull(strstr(r.out, suite));
	}
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

/* ---- the evaluation runs in the parsing helper ---- */

/* In the helper, instead of tj_plan_check: who it runs as, as a violation. */
static int report_identity(const struct tj_policy *p, const char *plan, size_t len,
                           const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                           struct tj_scan_result **out, struct tj_error *err)
{
	char msg[64];

	(void)p, (void)plan, (void)len, (void)locs, (void)n_locs, (void)root_dir, (void)err;
	snprintf(msg, sizeof(msg), "uid %u euid %u", (unsigned)getuid(), (unsigned)geteuid());
	*out = calloc(1, sizeof(**out));
	return *out && tj_scan_result_add(*out,
	                                  &(struct tj_violation){.rule = (char *)"who",
	                                                         .severity = (char *)"error",
	                                                         .file = (char *)".",
	                                                         .message = msg},
	                                  false) == 0
	           ? 0
	           : -1;
}

/* In the helper: a host file, which the helper's filter does not allow. */
static int read_host_file(const struct tj_policy *p, const char *plan, size_t len,
                          const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                          struct tj_scan_result **out, struct tj_error *err)
{
	char *text = NULL;
	size_t n;

	(void)p, (void)plan, (void)len, (void)locs, (void)n_locs, (void)root_dir, (void)out;
	return tj_read_file("/etc/hostname", 4096, &text, &n, err);
}

static struct sandbox *helper_sandbox(struct sandbox_runtime **rt)
{
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	struct sandbox_config cfg = {.memory_bytes = 256ull << 20, .pids = 64, .cpus = 1};
	struct sandbox *sb = NULL;
	struct tj_error err = {0};
	enum sandbox_setup_step step;

	ck_assert_msg(tj_test_is_root(), "this test needs root (CI runs it as root)");
	ck_assert_msg(sandbox_runtime_open(&o, rt, &err) == 0, "%s", err.msg);
	ck_assert_msg(sandbox_create(*rt, &cfg, &sb, &step, &err) == 0, "%s", err.msg);
	return sb;
}

/* The plan rules judge terraform's plan JSON in the parsing helper, as the
 * sandbox's unprivileged uid under its filter, and what comes back is what
 * tj_plan_check finds, field for field. */
START_TEST(plan_rules_judged_in_the_unprivileged_helper)
{
	struct sandbox_runtime *rt = NULL;
	struct sandbox *sb = helper_sandbox(&rt);
	struct tj_policy *p = NULL;
	struct tj_scan_result *scan = NULL, *direct = NULL, *judged = NULL;
	struct tj_error err = {0};
	char *plan = NULL, want[64];
	size_t len;
	const char *pol = "{\"version\": 1, \"name\": \"t\", \"plan_rules\": {\"resource_types\": "
	                  "{\"denied\": [\"terraform_data\"]}, \"data_sources\": {\"denied\": [\"*\"]}}}";

	ck_assert_msg(tj_policy_load_text(pol, strlen(pol), "test", &p, &err) == 0, "%s", err.msg);
	ck_assert_msg(tj_read_file(fixture("modules/plan.json"), 1 << 24, &plan, &len, &err) == 0, "%s",
	              err.msg);
	ck_assert_msg(tj_scan_dir(p, fixture("modules"), &scan, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tj_plan_check(p, plan, len, scan->locs, scan->n_locs, "", &direct, &err), 0);
	ck_assert_msg(judge_plan_rules(sb, p, plan, len, scan->locs, scan->n_locs, "", &judged, &err) == 0,
	              "%s", err.msg);
	ck_assert_uint_ge(direct->n, 2);
	ck_assert_uint_eq(judged->n, direct->n);
	for (size_t i = 0; i < direct->n; i++) {
		const struct tj_violation *a = &direct->v[i], *b = &judged->v[i];
		ck_assert_str_eq(b->rule, a->rule);
		ck_assert_str_eq(b->severity, a->severity);
		ck_assert_str_eq(b->address, a->address);
		ck_assert_str_eq(b->file, a->file);
		ck_assert_int_eq(b->line, a->line);
		ck_assert_str_eq(b->message, a->message);
	}
	tj_scan_result_free(judged);
	ck_assert_int_lt(judge_plan_rules(sb, p, "{\"nope\": 1}", 11, NULL, 0, "", &judged, &err), 0);

	/* where the evaluation runs: the sandbox's host uid, never root */
	judge_plan_check = report_identity;
	ck_assert_msg(judge_plan_rules(sb, p, plan, len, NULL, 0, "", &judged, &err) == 0, "%s", err.msg);
	snprintf(want, sizeof(want), "uid %u euid %u", (unsigned)sandbox_host_uid(sb),
	         (unsigned)sandbox_host_uid(sb));
	ck_assert_uint_ne(sandbox_host_uid(sb), 0);
	ck_assert_uint_eq(judged->n, 1);
	ck_assert_str_eq(judged->v[0].message, want);
	tj_scan_result_free(judged);
	/* and under the helper's filter: opening a host file kills it */
	judge_plan_check = read_host_file;
	ck_assert_int_lt(judge_plan_rules(sb, p, plan, len, NULL, 0, "", &judged, &err), 0);
	ck_assert_msg(strstr(err.msg, "signal 31"), "%s", err.msg); /* SIGSYS */
	judge_plan_check = tj_plan_check;

	tj_scan_result_free(direct);
	tj_scan_result_free(scan);
	tj_policy_free(p);
	free(plan);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
	sandbox_runtime_free(rt);
}
END_TEST

/* The host reads the helper's answer field by field: sizes, separators, the
 * charset of rule ids, severities, relative files, line ranges, UTF-8 text. */
START_TEST(plan_rules_answer_checked_field_by_field)
{
	static const struct {
		const char *answer;
		bool ok;
	} cases[] = {
	    {"V 0\n", true},
	    {"V 1\n25:plan-resource-type-denied,5:error,19:terraform_data.x[0],7:main.tf,1:3,3:msg,", true},
	    {"V 1\n3:r-1,7:warning,0:,1:.,1:0,1:m,", true},
	    {"V 1\n3:r-1,7:warning,0:,1:.,1:0,1:m,junk", false},  /* trailing bytes */
	    {"V 2\n3:r-1,7:warning,0:,1:.,1:0,1:m,", false},      /* fewer than announced */
	    {"V 1\n3:R_1,5:error,0:,1:.,1:0,1:m,", false},        /* rule id charset */
	    {"V 1\n3:r-1,5:fatal,0:,1:.,1:0,1:m,", false},        /* severity */
	    {"V 1\n3:r-1,5:error,0:,7:/etc/x,1:0,1:m,", false},   /* absolute file */
	    {"V 1\n3:r-1,5:error,0:,5:../x,1:0,1:m,", false},     /* climbing file */
	    {"V 1\n3:r-1,5:error,0:,1:.,8:99999999,1:m,", false}, /* line out of range */
	    {"V 1\n3:r-1,5:error,0:,1:.,2:-1,1:m,", false},       /* negative line */
	    {"V 1\n3:r-1,5:error,3:a\nb,1:.,1:0,1:m,", false},    /* control character */
	    {"V 1\n3:r-1,5:error,0:,1:.,1:0,2:\xc3(,", false},    /* not UTF-8 */
	    {"V 1\n3:r-1,5:error,0:,1:.,1:0,9:m,", false},        /* length past the end */
	    {"V 1\n3:r-1,5:error,0:,1:.,1:0,0:,", false},         /* empty message */
	    {"V 99999\n", false},                                 /* too many */
	    {"X", false},
	    {"E not a plan", false},
	};
	struct tj_scan_result *r = NULL;
	struct tj_error err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = judge_answer_read(cases[i].answer, strlen(cases[i].answer), &r, &err);
		ck_assert_msg((rc == 0) == cases[i].ok, "case %zu: %d %s", i, rc, err.msg);
		tj_scan_result_free(r);
	}
	ck_assert_int_lt(judge_answer_read("E not a plan", 12, &r, &err), 0);
	ck_assert_str_eq(err.msg, "not a plan");
	ck_assert_int_eq(judge_answer_read(cases[1].answer, strlen(cases[1].answer), &r, &err), 0);
	ck_assert_str_eq(r->v[0].address, "terraform_data.x[0]");
	ck_assert_str_eq(r->v[0].file, "main.tf");
	ck_assert_int_eq(r->v[0].line, 3);
	tj_scan_result_free(r);
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
	tcase_add_test(tc, plan_rules_judged_in_the_unprivileged_helper);
	tcase_add_test(tc, plan_rules_answer_checked_field_by_field);
	suite_add_tcase(s, tc);
	return s;
}
