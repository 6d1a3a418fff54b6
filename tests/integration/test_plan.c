/* The job pipeline for real: `tfjail plan --output json` on the fixtures in
 * tests/fixtures/plan/, with real terraform and the real aws provider from
 * the offline mirror.  Needs root and terraform (CI has both): without them
 * the tests fail, they never skip.
 *
 * Every fixture was checked against terraform 1.11.4 outside the sandbox
 * (`terraform init -plugin-dir=/opt/tf-plugins && terraform plan`): the valid
 * ones plan, the invalid ones fail with the diagnostics asserted here.
 *
 * The aws jobs cost several seconds each, so the suite's unchecked fixture
 * runs each of them once and the tests read the shared results. */
#include <check.h>
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/testutil.h"

struct plan_run {
	int status;     /* exit status of tfjail */
	char *out;      /* stdout: one JSON object */
	char *err;
	cJSON *json;
};

static struct plan_run aws1, aws2, planted;
static char planted_dir[PATH_MAX];

static void plan_run_free(struct plan_run *r)
{
	free(r->out);
	free(r->err);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* tfjail plan DIR --output json ARGS... */
static void run_plan(struct plan_run *r, const char *dir, const char *const *extra)
{
	char *argv[32];
	size_t n = 0;
	int st;

	memset(r, 0, sizeof(*r));
	argv[n++] = (char *)tj_test_bin();
	argv[n++] = "plan";
	argv[n++] = (char *)dir;
	argv[n++] = "--output";
	argv[n++] = "json";
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	st = tj_test_spawn(argv, &r->out, &r->err);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->json = cJSON_Parse(r->out);
}

static const char *fixture(const char *name)
{
	static __thread char buf[PATH_MAX];
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/fixtures/plan/%s", name);
	if (!realpath(tj_test_src(rel), buf))
		snprintf(buf, sizeof(buf), "%s", tj_test_src(rel));
	return buf;
}

static const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void assert_outcome(const struct plan_run *r, const char *status, const char *error_type)
{
	const char *et;

	ck_assert_msg(r->json, "no JSON on stdout (exit %d); stderr: %s", r->status, r->err);
	ck_assert_msg(strcmp(str(r->json, "status"), status) == 0, "status %s, want %s: %s: %s",
		      str(r->json, "status"), status, str(r->json, "error_type"), str(r->json, "error_message"));
	et = str(r->json, "error_type");
	if (error_type)
		ck_assert_msg(et && strcmp(et, error_type) == 0, "error_type %s, want %s: %s", et, error_type,
			      str(r->json, "error_message"));
	else
		ck_assert_msg(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->json, "error_type")),
			      "error_type %s: %s", et, str(r->json, "error_message"));
	ck_assert_int_eq(r->status, strcmp(status, "SUCCESS") == 0 ? 0 : 1);
}

static bool has_violation(const cJSON *resp, const char *rule)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(resp, "violations"))
		if (strcmp(str(v, "rule"), rule) == 0)
			return true;
	return false;
}

/* plan_json.planned_values.outputs.NAME */
static const cJSON *plan_output(const struct plan_run *r, const char *name)
{
	const cJSON *plan = cJSON_GetObjectItemCaseSensitive(r->json, "plan_json");
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(plan, "planned_values");

	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pv, "outputs"), name);
}

static int step_count(const cJSON *resp)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp, "steps"));
}

static void copy_file(const char *from, const char *dir, const char *name)
{
	char *data = NULL;
	struct tj_error err;

	ck_assert_msg(tj_read_file(from, 1 << 20, &data, NULL, &err) == 0, "%s", err.msg);
	tj_test_write(dir, name, data);
	free(data);
}

static void make_temp_upload(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/tfjail-upload-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* the sandbox copies the upload as an unprivileged uid */
	ck_assert_int_eq(chmod(dir, 0755), 0);
}

/* An upload that plants a provider binary where terraform would look for
 * one: .terraform/providers with a matching lock file (reused even with
 * -plugin-dir) and terraform.d/plugins (an implied local mirror). */
static void make_planted_upload(void)
{
	static const char script[] = "#!/bin/sh\necho PLANTED-PROVIDER-RAN >&2\nexit 1\n";
	static const char *const paths[] = {
		".terraform/providers/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/"
		"terraform-provider-aws_v5.100.0_x5",
		"terraform.d/plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/"
		"terraform-provider-aws_v5.100.0_x5",
	};
	char path[PATH_MAX];

	make_temp_upload(planted_dir, sizeof(planted_dir));
	copy_file(tj_test_src("tests/fixtures/plan/aws-small/main.tf"), planted_dir, "main.tf");
	for (size_t i = 0; i < 2; i++) {
		tj_test_write(planted_dir, paths[i], script);
		snprintf(path, sizeof(path), "%s/%s", planted_dir, paths[i]);
		ck_assert_int_eq(chmod(path, 0755), 0);
	}
	tj_test_write(planted_dir, ".terraform.lock.hcl",
		      "provider \"registry.terraform.io/hashicorp/aws\" {\n"
		      "  version = \"5.100.0\"\n"
		      "  hashes = [\"h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"]\n"
		      "}\n");
	tj_test_write(planted_dir, "terraform.tfstate", "{\"version\": 4, \"terraform_version\": \"1.11.4\"}\n");
}

/* The aws jobs, once for the suite. */
static void aws_jobs(void)
{
	run_plan(&aws1, fixture("aws-small"), NULL);
	run_plan(&aws2, fixture("aws-small"), NULL);
	make_planted_upload();
	run_plan(&planted, planted_dir, NULL);
}

static void aws_jobs_free(void)
{
	plan_run_free(&aws1);
	plan_run_free(&aws2);
	plan_run_free(&planted);
	if (planted_dir[0])
		tj_test_rm_rf(planted_dir);
}

START_TEST(aws_fixture_plans)
{
	const cJSON *plan, *sum, *rc, *policy;
	const char *want[] = {"aws_instance.web", "aws_s3_bucket.data", "aws_db_instance.db"};

	ck_assert_msg(tj_test_is_root(), "needs root");
	assert_outcome(&aws1, "SUCCESS", NULL);
	sum = cJSON_GetObjectItemCaseSensitive(aws1.json, "summary");
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "create")), 3);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "update")), 0);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "replace")), 0);
	plan = cJSON_GetObjectItemCaseSensitive(aws1.json, "plan_json");
	ck_assert(cJSON_IsObject(plan));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(plan, "timestamp"));
	ck_assert_str_eq(str(plan, "terraform_version"), "1.11.4");
	rc = cJSON_GetObjectItemCaseSensitive(plan, "resource_changes");
	ck_assert_int_eq(cJSON_GetArraySize(rc), 3);
	for (size_t i = 0; i < 3; i++) {
		const cJSON *c;
		bool found = false;
		cJSON_ArrayForEach(c, rc)
			found = found || strcmp(str(c, "address"), want[i]) == 0;
		ck_assert_msg(found, "%s not planned", want[i]);
	}
	ck_assert_uint_eq(strlen(str(aws1.json, "plan_sha256")), 64);
	ck_assert_int_ge(step_count(aws1.json), 3);
	ck_assert_str_eq(str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(aws1.json, "steps"), 0), "name"), "init");
	policy = cJSON_GetObjectItemCaseSensitive(aws1.json, "policy");
	ck_assert_uint_eq(strlen(str(policy, "sha256")), 64);
	ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(aws1.json, "execution_time_seconds")) > 0);
}
END_TEST

START_TEST(same_upload_same_plan_bytes)
{
	char *a, *b;

	assert_outcome(&aws2, "SUCCESS", NULL);
	ck_assert_str_eq(str(aws1.json, "plan_sha256"), str(aws2.json, "plan_sha256"));
	a = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(aws1.json, "plan_json"));
	b = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(aws2.json, "plan_json"));
	ck_assert_str_eq(a, b);
	/* the hash is over the canonical bytes of plan_json */
	{
		char hex[65];
		tj_sha256_hex(a, strlen(a), hex);
		ck_assert_str_eq(hex, str(aws1.json, "plan_sha256"));
	}
	free(a);
	free(b);
}
END_TEST

START_TEST(planted_providers_never_run)
{
	const cJSON *s;

	assert_outcome(&planted, "SUCCESS", NULL);
	/* the same provider as the clean upload planned it: the mirror's */
	ck_assert_str_eq(str(planted.json, "plan_sha256"), str(aws1.json, "plan_sha256"));
	ck_assert_ptr_null(strstr(planted.out, "PLANTED-PROVIDER-RAN"));
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(planted.json, "steps"))
		ck_assert_ptr_null(strstr(str(s, "stderr_tail"), "PLANTED"));
}
END_TEST

START_TEST(local_exec_is_a_policy_violation)
{
	struct plan_run r;

	run_plan(&r, fixture("local-exec"), NULL);
	assert_outcome(&r, "FAILED", "PolicyViolation");
	ck_assert(has_violation(r.json, "provisioner-blocked"));
	ck_assert_int_eq(step_count(r.json), 0); /* terraform never started */
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "plan_json")));
	plan_run_free(&r);
}
END_TEST

START_TEST(s3_backend_is_a_policy_violation)
{
	struct plan_run r;

	run_plan(&r, fixture("s3-backend"), NULL);
	assert_outcome(&r, "FAILED", "PolicyViolation");
	ck_assert(has_violation(r.json, "backend-blocked"));
	ck_assert_int_eq(step_count(r.json), 0);
	plan_run_free(&r);
}
END_TEST

static void assert_diagnostic(const struct plan_run *r, const char *file, int line, const char *summary)
{
	const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "diagnostics"), 0);
	char where[64];

	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(str(d, "severity"), "error");
	ck_assert_str_eq(str(d, "file"), file);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "line")), line);
	ck_assert_str_eq(str(d, "summary"), summary);
	snprintf(where, sizeof(where), "%s:%d: ", file, line);
	ck_assert_msg(strncmp(str(r->json, "error_message"), where, strlen(where)) == 0, "message: %s",
		      str(r->json, "error_message"));
}

START_TEST(syntax_error_is_a_validation_error)
{
	struct plan_run r;

	run_plan(&r, fixture("syntax-error"), NULL);
	assert_outcome(&r, "FAILED", "ValidationError");
	assert_diagnostic(&r, "main.tf", 3, "Invalid expression");
	plan_run_free(&r);
}
END_TEST

START_TEST(type_error_is_a_validation_error)
{
	struct plan_run r;

	run_plan(&r, fixture("type-error"), NULL);
	assert_outcome(&r, "FAILED", "ValidationError");
	assert_diagnostic(&r, "main.tf", 8, "Invalid operand");
	plan_run_free(&r);
}
END_TEST

START_TEST(missing_variable_then_supplied)
{
	struct plan_run r;
	const char *extra[] = {"--var", "environment=prod", NULL};
	const cJSON *out;

	run_plan(&r, fixture("needs-var"), NULL);
	assert_outcome(&r, "FAILED", "ValidationError");
	assert_diagnostic(&r, "main.tf", 2, "No value for required variable");
	plan_run_free(&r);

	run_plan(&r, fixture("needs-var"), extra);
	assert_outcome(&r, "SUCCESS", NULL);
	out = plan_output(&r, "environment");
	ck_assert_str_eq(str(out, "value"), "prod");
	plan_run_free(&r);
}
END_TEST

START_TEST(runner_variables_beat_uploaded_tfvars)
{
	char dir[PATH_MAX], vf[PATH_MAX];
	struct plan_run r;
	const cJSON *out;
	const char *extra[] = {"--var-file", vf, NULL};

	make_temp_upload(dir, sizeof(dir));
	copy_file(tj_test_src("tests/fixtures/plan/tfdata-only/main.tf"), dir, "main.tf");
	tj_test_write(dir, "terraform.tfvars", "name = \"from-upload\"\n");
	tj_test_write(dir, "x.auto.tfvars", "name = \"from-upload-auto\"\n");
	snprintf(vf, sizeof(vf), "%s.vars.tfvars.json", dir);
	{
		struct tj_error err;
		ck_assert_int_eq(tj_write_file(vf, "{\"name\": \"from-runner\"}", 23, 0644, &err), 0);
	}
	run_plan(&r, dir, extra);
	assert_outcome(&r, "SUCCESS", NULL);
	out = plan_output(&r, "name");
	ck_assert_str_eq(str(out, "value"), "from-runner");
	plan_run_free(&r);
	unlink(vf);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(version_names_terraform_and_cgroups)
{
	char *argv[] = {(char *)tj_test_bin(), "version", NULL};
	char *out = NULL, *err = NULL;
	int st = tj_test_spawn(argv, &out, &err);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, err);
	ck_assert_msg(strncmp(out, "tfjail ", 7) == 0, "%s", out);
	/* asked inside a sandbox */
	ck_assert_msg(strstr(out, "\nterraform 1.11.4 ("), "%s", out);
	ck_assert_msg(strstr(out, "\ncgroups: cgroup "), "%s", out);
	free(out);
	free(err);
}
END_TEST

/* ------------------------------------------------------------ exfiltration */

static char secret[64];
static char secret_dir[PATH_MAX];

static void plant_secret(void)
{
	char path[PATH_MAX];
	struct tj_error err;

	snprintf(secret, sizeof(secret), "tfjail-secret-%d-%llu", (int)getpid(), (unsigned long long)tj_now_us());
	ck_assert_int_eq(setenv("TFJAIL_TEST_SECRET", secret, 1), 0);
	ck_assert_int_eq(setenv("AWS_SECRET_ACCESS_KEY", secret, 1), 0);
	ck_assert_int_eq(setenv("TF_VAR_leak", secret, 1), 0);
	snprintf(secret_dir, sizeof(secret_dir), "/tmp/tfjail-secret-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(secret_dir));
	chmod(secret_dir, 0755);
	snprintf(path, sizeof(path), "%s/secret.txt", secret_dir);
	ck_assert_int_eq(tj_write_file(path, secret, strlen(secret), 0644, &err), 0);
}

static void unplant_secret(void)
{
	unsetenv("TFJAIL_TEST_SECRET");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("TF_VAR_leak");
	tj_test_rm_rf(secret_dir);
}

static void assert_no_secret(const struct plan_run *r)
{
	ck_assert_msg(r->json, "no JSON: %s", r->err);
	ck_assert_msg(!strstr(r->out, secret), "the secret leaked into the result");
	ck_assert_msg(!strstr(r->err, secret), "the secret leaked into stderr");
}

START_TEST(host_files_are_not_readable)
{
	struct plan_run r;
	char dir[PATH_MAX], tf[PATH_MAX + 128];

	run_plan(&r, fixture("exfil-shadow"), NULL);
	assert_no_secret(&r);
	assert_outcome(&r, "FAILED", "ValidationError");
	ck_assert_ptr_nonnull(strstr(str(r.json, "error_message"), "no file exists at \"/etc/shadow\""));
	plan_run_free(&r);

	/* the planted host file, by absolute path */
	make_temp_upload(dir, sizeof(dir));
	snprintf(tf, sizeof(tf), "output \"leak\" {\n  value = file(\"%s/secret.txt\")\n}\n", secret_dir);
	tj_test_write(dir, "main.tf", tf);
	run_plan(&r, dir, NULL);
	assert_no_secret(&r);
	ck_assert_str_eq(str(r.json, "status"), "FAILED");
	plan_run_free(&r);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(environment_is_built_from_nothing)
{
	struct plan_run r;
	const char *leak;

	run_plan(&r, fixture("exfil-environ"), NULL);
	assert_no_secret(&r);
	assert_outcome(&r, "SUCCESS", NULL);
	leak = str(plan_output(&r, "leak"), "value");
	ck_assert_ptr_nonnull(leak);
	ck_assert_ptr_nonnull(strstr(leak, "TF_IN_AUTOMATION=1"));
	ck_assert_ptr_null(strstr(leak, "AWS_"));
	ck_assert_ptr_null(strstr(leak, "TF_VAR_"));
	ck_assert_ptr_null(strstr(leak, "TFJAIL_TEST"));
	plan_run_free(&r);

	run_plan(&r, fixture("exfil-proc1"), NULL);
	assert_no_secret(&r);
	ck_assert_str_eq(str(r.json, "status"), "FAILED");
	ck_assert_ptr_nonnull(strstr(str(r.json, "error_message"), "permission denied"));
	plan_run_free(&r);
}
END_TEST

START_TEST(symlink_to_a_host_file_is_refused)
{
	struct plan_run r;
	char dir[PATH_MAX], link[PATH_MAX], target[PATH_MAX];

	make_temp_upload(dir, sizeof(dir));
	tj_test_write(dir, "main.tf", "output \"leak\" {\n  value = file(\"leak.txt\")\n}\n");
	snprintf(link, sizeof(link), "%s/leak.txt", dir);
	snprintf(target, sizeof(target), "%s/secret.txt", secret_dir);
	ck_assert_int_eq(symlink(target, link), 0);
	run_plan(&r, dir, NULL);
	assert_no_secret(&r);
	ck_assert_str_eq(str(r.json, "status"), "FAILED");
	ck_assert_msg(has_violation(r.json, "upload-symlink") || strcmp(str(r.json, "error_type"), "InvalidUpload") == 0,
		      "error_type %s", str(r.json, "error_type"));
	plan_run_free(&r);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(endless_walk_times_out_on_time)
{
	struct plan_run r;
	const char *extra[] = {"--timeout", "6", NULL};
	uint64_t t0 = tj_now_ms(), took;

	/* fileset("/", "**") walks /proc/self/root for ever (and would end at
	 * the memory limit minutes later) */
	run_plan(&r, fixture("exfil-fileset"), extra);
	took = tj_now_ms() - t0;
	assert_no_secret(&r);
	assert_outcome(&r, "TIMEOUT", "ResourceLimitExceeded");
	ck_assert_msg(took >= 6000 && took < 8000, "took %llu ms", (unsigned long long)took);
	plan_run_free(&r);
}
END_TEST

START_TEST(memory_bomb_hits_the_limit)
{
	struct plan_run r;
	uint64_t t0 = tj_now_ms();

	run_plan(&r, fixture("memory-bomb"), NULL);
	assert_outcome(&r, "FAILED", "ResourceLimitExceeded");
	ck_assert_ptr_nonnull(strstr(str(r.json, "error_message"), "out of memory"));
	ck_assert_uint_lt(tj_now_ms() - t0, 60000);
	plan_run_free(&r);
}
END_TEST

/* ------------------------------------------------------------ clean-up */

/* Job cgroups (tfjail-<pid>-<n>) whose tfjail process is gone: a leak.  Those
 * of live processes (other jobs running at the same time) are not. */
static size_t count_leaked_cgroups(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	size_t n = 0;

	if (depth > 6 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		long pid;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "tfjail-%ld-", &pid) == 1 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			n++;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		n += count_leaked_cgroups(sub, depth + 1);
	}
	closedir(d);
	return n;
}

static size_t count_named(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* Processes running as a sandbox uid (the default range starts at 1500000000). */
static size_t count_sandbox_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d))) {
		char path[64], *status = NULL, *uid;
		struct tj_error err;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if (tj_read_file(path, 1 << 16, &status, NULL, &err) < 0)
			continue;
		uid = strstr(status, "\nUid:");
		if (uid && strtoull(uid + 5, NULL, 10) >= 1500000000ull)
			n++;
		free(status);
	}
	if (d)
		closedir(d);
	return n;
}

START_TEST(fifty_jobs_leave_nothing_behind)
{
	size_t tmp0 = count_named("/tmp", "tfjail");
	size_t mounts0, procs0 = count_sandbox_processes();
	char *mi = NULL;
	struct tj_error err;

	ck_assert_int_eq(tj_read_file("/proc/self/mountinfo", 1 << 22, &mi, &mounts0, &err), 0);
	free(mi);
	for (int i = 0; i < 50; i++) {
		struct plan_run r;
		run_plan(&r, fixture("tfdata-only"), NULL);
		assert_outcome(&r, "SUCCESS", NULL);
		plan_run_free(&r);
	}
	ck_assert_uint_eq(count_leaked_cgroups("/sys/fs/cgroup", 0), 0);
	ck_assert_uint_le(count_named("/tmp", "tfjail"), tmp0);
	ck_assert_uint_le(count_sandbox_processes(), procs0);
	{
		size_t mounts1;
		ck_assert_int_eq(tj_read_file("/proc/self/mountinfo", 1 << 22, &mi, &mounts1, &err), 0);
		free(mi);
		ck_assert_uint_eq(mounts1, mounts0);
	}
}
END_TEST

Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *aws = tcase_create("aws");
	TCase *fast = tcase_create("pipeline");
	TCase *exfil = tcase_create("exfiltration");
	TCase *limits = tcase_create("limits");

	tcase_add_unchecked_fixture(aws, aws_jobs, aws_jobs_free);
	tcase_set_timeout(aws, 60);
	tcase_add_test(aws, aws_fixture_plans);
	tcase_add_test(aws, same_upload_same_plan_bytes);
	tcase_add_test(aws, planted_providers_never_run);
	suite_add_tcase(s, aws);

	tcase_set_timeout(fast, 120);
	tcase_add_test(fast, local_exec_is_a_policy_violation);
	tcase_add_test(fast, s3_backend_is_a_policy_violation);
	tcase_add_test(fast, syntax_error_is_a_validation_error);
	tcase_add_test(fast, type_error_is_a_validation_error);
	tcase_add_test(fast, missing_variable_then_supplied);
	tcase_add_test(fast, runner_variables_beat_uploaded_tfvars);
	tcase_add_test(fast, fifty_jobs_leave_nothing_behind);
	tcase_add_test(fast, version_names_terraform_and_cgroups);
	suite_add_tcase(s, fast);

	tcase_add_unchecked_fixture(exfil, plant_secret, unplant_secret);
	tcase_set_timeout(exfil, 60);
	tcase_add_test(exfil, host_files_are_not_readable);
	tcase_add_test(exfil, environment_is_built_from_nothing);
	tcase_add_test(exfil, symlink_to_a_host_file_is_refused);
	tcase_add_test(exfil, endless_walk_times_out_on_time);
	suite_add_tcase(s, exfil);

	tcase_set_timeout(limits, 120);
	tcase_add_test(limits, memory_bomb_hits_the_limit);
	suite_add_tcase(s, limits);
	return s;
}
