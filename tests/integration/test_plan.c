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
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "executor/steps.h"
#include "runtime/mount.h"
#include "tests/testutil.h"

struct plan_run {
	int status; /* exit status of tfjail */
	char *out;  /* stdout: one JSON object */
	char *err;
	cJSON *json;
};

static struct plan_run aws1, aws2, planted;
static char planted_dir[PATH_MAX];
/* the lock file runs: [0] a version the mirror lacks, [1] an altered
 * checksum, under "honor"; [2], [3] the same uploads under "ignore" */
static struct plan_run locked[4];
static char lock_dirs[2][PATH_MAX], ignore_policy[PATH_MAX];
static char *aws_bare; /* bare terraform's normalised plan of aws-small */

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

/* Several `tfjail plan`s at once, at most `parallel` running: r[i] is the
 * run of dirs[i] with extras[i] (extras may be NULL). */
static void run_plans(struct plan_run *r, const char *const *dirs, const char *const *const *extras, size_t n,
                      size_t parallel)
{
	char(*files)[2][PATH_MAX] = calloc(n, sizeof(*files));
	int *status = calloc(n, sizeof(*status));
	pid_t *pids = calloc(n, sizeof(*pids));
	size_t next = 0, running = 0;

	ck_assert(files && status && pids);
	while (next < n || running) {
		if (next < n && running < parallel) {
			for (int k = 0; k < 2; k++)
				snprintf(files[next][k], PATH_MAX, "/tmp/tfjail-runs-%d-%zu.%s",
				         (int)getpid(), next, k ? "err" : "out");
			pids[next] = fork();
			ck_assert_int_ge(pids[next], 0);
			if (pids[next] == 0) {
				char *argv[32] = {(char *)tj_test_bin(), "plan", (char *)dirs[next],
				                  "--output", "json"};
				size_t a = 5;
				for (int k = 0; k < 2; k++) {
					int fd = open(files[next][k],
					              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
					if (fd < 0 || dup2(fd, k + 1) < 0)
						_exit(127);
				}
				for (size_t i = 0; extras && extras[next] && extras[next][i] && a < 31; i++)
					argv[a++] = (char *)extras[next][i];
				argv[a] = NULL;
				execv(argv[0], argv);
				_exit(127);
			}
			next++;
			running++;
			continue;
		}
		{
			int st;
			pid_t pid = wait(&st);
			ck_assert_int_gt(pid, 0);
			for (size_t i = 0; i < next; i++)
				if (pids[i] == pid)
					status[i] = st;
			running--;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct tj_error err;
		memset(&r[i], 0, sizeof(r[i]));
		tj_test_track(files[i][0]);
		tj_test_track(files[i][1]);
		ck_assert_int_eq(tj_read_file(files[i][0], 1 << 26, &r[i].out, NULL, &err), 0);
		ck_assert_int_eq(tj_read_file(files[i][1], 1 << 26, &r[i].err, NULL, &err), 0);
		unlink(files[i][0]);
		unlink(files[i][1]);
		r[i].status = WIFEXITED(status[i]) ? WEXITSTATUS(status[i]) : 128 + WTERMSIG(status[i]);
		r[i].json = cJSON_Parse(r[i].out);
	}
	free(files);
	free(status);
	free(pids);
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
	              str(r->json, "status"), status, str(r->json, "error_type"),
	              str(r->json, "error_message"));
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

	cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive(resp, "violations"))
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
	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	/* the sandbox copies the upload as an unprivileged uid */
	ck_assert_int_eq(chmod(dir, 0755), 0);
}

/* An upload that plants a provider binary where terraform would look for
 * one: .terraform/providers with a matching lock file (reused even with
 * -plugin-dir) and terraform.d/plugins (an implied local mirror). */
static void make_planted_upload(const char *lock)
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
	/* a lock file made against the mirror, as an operator would: kept and
	 * honoured, it selects the mirror's package, never the planted one */
	tj_test_write(planted_dir, ".terraform.lock.hcl", lock);
	tj_test_write(planted_dir, "terraform.tfstate",
	              "{\"version\": 4, \"terraform_version\": \"1.11.4\"}\n");
}

/* s with every `from` replaced by `to` (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	struct tj_buf b = {0};

	for (const char *p; (p = strstr(s, from)); s = p + strlen(from)) {
		tj_buf_append(&b, s, (size_t)(p - s));
		tj_buf_append(&b, to, strlen(to));
	}
	tj_buf_append(&b, s, strlen(s));
	return b.data;
}

/* aws-small with a lock file: the mirror's lock altered by from -> to. */
static void make_lock_upload(char *dir, const char *lock, const char *from, const char *to)
{
	char *altered = replace_all(lock, from, to);

	ck_assert_msg(strcmp(altered, lock) != 0, "'%s' not in the lock file:\n%s", from, lock);
	make_temp_upload(dir, PATH_MAX);
	copy_file(tj_test_src("tests/fixtures/plan/aws-small/main.tf"), dir, "main.tf");
	tj_test_write(dir, ".terraform.lock.hcl", altered);
	free(altered);
}

/* The aws jobs, once for the suite, three at a time where they are
 * independent. */
static void aws_jobs(void)
{
	static const char policy[] =
	    "{\"version\": 1, \"name\": \"lock-ignore\", \"providers\": {\"lock_file\": \"ignore\"}}";
	const char *const ignore[] = {"--policy", ignore_policy, NULL};
	char *lock = tj_test_lock_file(fixture("aws-small"));
	struct tj_error err;
	char *h1 = strstr(lock, "\"h1:");

	ck_assert_msg(h1, "no h1: checksum in the mirror's lock file:\n%s", lock);
	run_plan(&aws1, fixture("aws-small"), NULL);
	make_planted_upload(lock);
	{
		struct plan_run two[2];
		const char *dirs[] = {fixture("aws-small"), planted_dir};
		run_plans(two, dirs, NULL, 2, 2);
		aws2 = two[0];
		planted = two[1];
	}
	/* the locked version the mirror lacks; a checksum altered in its
	 * first characters */
	make_lock_upload(lock_dirs[0], lock, "\"5.100.0\"", "\"5.0.0\"");
	{
		char from[16], to[16];
		snprintf(from, sizeof(from), "%.8s", h1);
		snprintf(to, sizeof(to), "\"h1:AAAA");
		make_lock_upload(lock_dirs[1], lock, from, to);
	}
	snprintf(ignore_policy, sizeof(ignore_policy), "%s.policy.json", lock_dirs[0]);
	ck_assert_int_eq(tj_write_file(ignore_policy, policy, strlen(policy), 0644, &err), 0);
	{
		const char *dirs[] = {lock_dirs[0], lock_dirs[1], lock_dirs[0], lock_dirs[1]};
		const char *const *extras[] = {NULL, NULL, ignore, ignore};
		run_plans(locked, dirs, extras, 4, 3);
	}
	aws_bare = tj_test_bare_plan(fixture("aws-small"), NULL);
	free(lock);
}

static void aws_jobs_free(void)
{
	plan_run_free(&aws1);
	plan_run_free(&aws2);
	plan_run_free(&planted);
	free(aws_bare);
	aws_bare = NULL;
	for (size_t i = 0; i < 4; i++)
		plan_run_free(&locked[i]);
	for (size_t i = 0; i < 2; i++)
		if (lock_dirs[i][0])
			tj_test_rm_rf(lock_dirs[i]);
	if (ignore_policy[0])
		unlink(ignore_policy);
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
		cJSON_ArrayForEach (c, rc)
			found = found || strcmp(str(c, "address"), want[i]) == 0;
		ck_assert_msg(found, "%s not planned", want[i]);
	}
	ck_assert_uint_eq(strlen(str(aws1.json, "plan_sha256")), 64);
	ck_assert_int_ge(step_count(aws1.json), 3);
	ck_assert_str_eq(
	    str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(aws1.json, "steps"), 0), "name"), "init");
	policy = cJSON_GetObjectItemCaseSensitive(aws1.json, "policy");
	ck_assert_uint_eq(strlen(str(policy, "sha256")), 64);
	ck_assert(
	    cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(aws1.json, "execution_time_seconds")) > 0);
}
END_TEST

/* plan_json's bytes as tfjail printed them; plan_sha256 is their hash. */
static char *plan_bytes(const struct plan_run *r)
{
	char *b = tj_test_member_bytes(r->out, "plan_json");
	char hex[65];

	ck_assert_msg(b && b[0] == '{', "no plan_json object in: %.300s", r->out);
	tj_sha256_hex(b, strlen(b), hex);
	ck_assert_str_eq(hex, str(r->json, "plan_sha256"));
	return b;
}

START_TEST(same_upload_same_plan_bytes)
{
	char *a, *b;

	assert_outcome(&aws2, "SUCCESS", NULL);
	ck_assert_str_eq(str(aws1.json, "plan_sha256"), str(aws2.json, "plan_sha256"));
	a = plan_bytes(&aws1);
	b = plan_bytes(&aws2);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(aws_plan_is_bare_terraforms)
{
	char *a = plan_bytes(&aws1);

	ck_assert_ptr_nonnull(aws_bare);
	ck_assert_str_eq(a, aws_bare);
	free(a);
}
END_TEST

START_TEST(planted_providers_never_run)
{
	const cJSON *s;

	assert_outcome(&planted, "SUCCESS", NULL);
	/* the same provider as the clean upload planned it: the mirror's,
	 * selected through the upload's lock file (made against the mirror:
	 * the same plan as without one) */
	ck_assert_str_eq(str(planted.json, "plan_sha256"), str(aws1.json, "plan_sha256"));
	ck_assert_ptr_null(strstr(planted.out, "PLANTED-PROVIDER-RAN"));
	cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive(planted.json, "steps"))
		ck_assert_ptr_null(strstr(str(s, "stderr_tail"), "PLANTED"));
}
END_TEST

/* ------------------------------------------------------------ the dependency lock file */

START_TEST(locked_version_the_mirror_lacks_is_refused)
{
	const struct plan_run *r = &locked[0];
	const char *msg;

	assert_outcome(r, "FAILED", "ValidationError");
	msg = str(r->json, "error_message");
	ck_assert_msg(strstr(msg, "registry.terraform.io/hashicorp/aws 5.0.0") &&
	                  strstr(msg, "checksums h1:") && strstr(msg, "the mirror has 5.100.0") &&
	                  strstr(msg, "terraform providers lock"),
	              "%s", msg);
	ck_assert_int_eq(step_count(r->json), 1); /* init refused it; nothing planned */
}
END_TEST

START_TEST(altered_checksum_is_refused)
{
	const struct plan_run *r = &locked[1];
	const char *msg;

	assert_outcome(r, "FAILED", "ValidationError");
	msg = str(r->json, "error_message");
	ck_assert_msg(strstr(msg, "checksum mismatch") &&
	                  strstr(msg, "registry.terraform.io/hashicorp/aws 5.100.0") && strstr(msg, "h1:"),
	              "%s", msg);
}
END_TEST

/* Under "ignore" the lock file is left out and the mirror decides, as
 * before: the same plan as the upload without one. */
START_TEST(ignore_policy_plans_the_same_uploads)
{
	for (size_t i = 2; i < 4; i++) {
		assert_outcome(&locked[i], "SUCCESS", NULL);
		ck_assert_str_eq(str(locked[i].json, "plan_sha256"), str(aws1.json, "plan_sha256"));
	}
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

/* ------------------------------------------------------------ plan_json is terraform's bytes */

/* tfjail plan and bare terraform on the same fixture give the same
 * normalised bytes. */
static void assert_bare_bytes(const char *name, const char *const *tfjail_args, const char *const *tf_args)
{
	struct plan_run r;
	char *got, *want;

	run_plan(&r, fixture(name), tfjail_args);
	assert_outcome(&r, "SUCCESS", NULL);
	got = plan_bytes(&r);
	want = tj_test_bare_plan(fixture(name), tf_args);
	ck_assert_msg(strcmp(got, want) == 0, "%s: tfjail's plan_json differs from bare terraform's:\n%s\n%s",
	              name, got, want);
	free(got);
	free(want);
	plan_run_free(&r);
}

START_TEST(provider_less_plans_are_bare_terraforms)
{
	const char *tfjail_var[] = {"--var", "environment=prod", NULL};
	const char *tf_var[] = {"-var", "environment=prod", NULL};

	assert_bare_bytes("tfdata-only", NULL, NULL);
	assert_bare_bytes("needs-var", tfjail_var, tf_var);
}
END_TEST

/* Numbers and strings that a double or a C string would change, in
 * variables (default and from a JSON variables file), outputs and resource
 * attributes. */
START_TEST(exact_values_survive)
{
	static const char vars[] = "{\"from_file\": 123456789012345678901234567890.5,\n"
	                           " \"text_from_file\": \"x\\u0000y \\u00e9\\ud83d\\ude00\"}\n";
	static const char *const tokens[] = {
	    "\"big\":{\"value\":9007199254740993}",
	    "\"value\":12345678901234567890",
	    "\"from_file\":{\"value\":123456789012345678901234567890.5}",
	    "\"text_from_file\":{\"value\":\"x\\u0000y é😀\"}",
	    "\"decimal\":0.1000000000000000055511151231257827",
	    "\"nul\":\"a\\u0000b\"",
	    "\\u003chtml\\u003e \\u0026 é 中文 😀",
	};
	char vf[] = "/tmp/tfjail-vars-XXXXXX.tfvars.json", arg[PATH_MAX + 16];
	const char *tfjail_args[] = {"--var-file", vf, NULL};
	const char *tf_args[] = {arg, NULL};
	struct tj_error err;
	struct plan_run r;
	char *got;
	int fd = tj_test_mkstemps(vf, 12);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tj_write_file(vf, vars, strlen(vars), 0644, &err), 0);
	snprintf(arg, sizeof(arg), "-var-file=%s", vf);
	assert_bare_bytes("exact-values", tfjail_args, tf_args);

	run_plan(&r, fixture("exact-values"), tfjail_args);
	got = plan_bytes(&r);
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		ck_assert_msg(strstr(got, tokens[i]), "%s not in plan_json", tokens[i]);
	free(got);
	plan_run_free(&r);
	unlink(vf);
}
END_TEST

START_TEST(invalid_json_var_file_is_refused)
{
	char vf[] = "/tmp/tfjail-vars-XXXXXX.tfvars.json";
	const char *extra[] = {"--var-file", vf, NULL};
	struct tj_error err;
	struct plan_run r;
	int fd = tj_test_mkstemps(vf, 12);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tj_write_file(vf, "{\"name\": 01}", 13, 0644, &err), 0);
	run_plan(&r, fixture("tfdata-only"), extra);
	assert_outcome(&r, "FAILED", "InvalidUpload");
	ck_assert_int_eq(step_count(r.json), 0);
	plan_run_free(&r);
	unlink(vf);
}
END_TEST

/* ------------------------------------------------------------ error classes */

static const cJSON *first_diagnostic(const struct plan_run *r)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "diagnostics"), 0);
}

/* No internal path of the host or the sandbox in what the user reads. */
static void assert_no_internal_path(const struct plan_run *r, const char *upload)
{
	ck_assert_msg(!strstr(r->out, "/newroot") && !strstr(r->out, "/.upload") &&
	                  !strstr(r->out, "/run/tfjail"),
	              "internal path in: %s", r->out);
	ck_assert_msg(!upload || !strstr(str(r->json, "error_message"), upload), "upload path in: %s",
	              str(r->json, "error_message"));
}

START_TEST(parse_error_is_a_validation_error)
{
	struct plan_run r;
	const cJSON *d;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", tj_test_src("tests/fixtures/scan/parse-error"));
	run_plan(&r, dir, NULL);
	assert_outcome(&r, "FAILED", "ValidationError");
	ck_assert(has_violation(r.json, "parse-error")); /* policy auditors still see it */
	ck_assert_int_eq(step_count(r.json), 0);         /* terraform never ran */
	d = first_diagnostic(&r);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(str(d, "severity"), "error");
	ck_assert_str_eq(str(d, "file"), "main.tf");
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "line")), 3);
	ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "column")), 1);
	ck_assert_msg(strlen(str(d, "summary")) > 5 && !strstr(str(d, "summary"), "(column"), "%s",
	              str(d, "summary"));
	plan_run_free(&r);
}
END_TEST

/* Files and directories the sandbox's unprivileged uid cannot read are the
 * upload's fault, named relative to it, with the fix. */
START_TEST(unreadable_upload_is_invalid)
{
	static const struct {
		const char *path;
		mode_t mode;
		const char *named;
	} cases[] = {
	    {"modules/net/secret.tf", 0600, "modules/net/secret.tf (mode 0600)"},
	    {"modules/net", 0700, "modules/net/ (mode 0700)"},
	    {"modules/net", 0744, "modules/net/ (mode 0744)"}, /* listed, not searched */
	    {"", 0750, "./ (mode 0750)"},                      /* the upload itself */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[PATH_MAX], path[PATH_MAX * 2];
		struct plan_run r;

		make_temp_upload(dir, sizeof(dir));
		copy_file(tj_test_src("tests/fixtures/plan/tfdata-only/main.tf"), dir, "main.tf");
		tj_test_write(dir, "modules/net/secret.tf", "locals {\n  x = 1\n}\n");
		snprintf(path, sizeof(path), "%s/modules", dir);
		ck_assert_int_eq(chmod(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/modules/net", dir);
		ck_assert_int_eq(chmod(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/modules/net/secret.tf", dir);
		ck_assert_int_eq(chmod(path, 0644), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, cases[i].path);
		ck_assert_int_eq(chmod(path, cases[i].mode), 0);
		run_plan(&r, dir, NULL);
		assert_outcome(&r, "FAILED", "InvalidUpload");
		ck_assert_msg(strncmp(str(r.json, "error_message"), cases[i].named, strlen(cases[i].named)) ==
		                  0,
		              "%s", str(r.json, "error_message"));
		ck_assert_msg(strstr(str(r.json, "error_message"), "chmod -R o+rX"), "%s",
		              str(r.json, "error_message"));
		assert_no_internal_path(&r, dir);
		plan_run_free(&r);
		tj_test_rm_rf(dir);
	}
}
END_TEST

START_TEST(upload_limits_and_special_files_are_invalid)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], pol[PATH_MAX + 16];
	const char *extra[] = {"--policy", pol, NULL};
	struct plan_run r;
	struct tj_error err;
	static const char policy[] =
	    "{\"version\": 1, \"name\": \"small\", \"upload\": {\"max_file_size\": \"1KiB\"}}";

	make_temp_upload(dir, sizeof(dir));
	copy_file(tj_test_src("tests/fixtures/plan/tfdata-only/main.tf"), dir, "main.tf");
	{
		char big[2048];
		memset(big, '#', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		tj_test_write(dir, "docs/big.txt", big);
	}
	snprintf(pol, sizeof(pol), "%s.policy.json", dir);
	ck_assert_int_eq(tj_write_file(pol, policy, strlen(policy), 0644, &err), 0);
	run_plan(&r, dir, extra);
	assert_outcome(&r, "FAILED", "InvalidUpload");
	ck_assert(has_violation(r.json, "upload-limit"));
	ck_assert_msg(strncmp(str(r.json, "error_message"), "docs/big.txt:", 13) == 0, "%s",
	              str(r.json, "error_message"));
	assert_no_internal_path(&r, dir);
	plan_run_free(&r);
	unlink(pol);

	snprintf(path, sizeof(path), "%s/docs/big.txt", dir);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/docs/pipe", dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	run_plan(&r, dir, NULL);
	assert_outcome(&r, "FAILED", "InvalidUpload");
	ck_assert(has_violation(r.json, "upload-special-file"));
	ck_assert_msg(strncmp(str(r.json, "error_message"), "docs/pipe:", 10) == 0, "%s",
	              str(r.json, "error_message"));
	plan_run_free(&r);
	tj_test_rm_rf(dir);
}
END_TEST

/* scan and plan agree: a directory without configuration is refused by
 * both, with the same violation; terraform never runs. */
START_TEST(no_configuration_scan_and_plan_agree)
{
	char dir[PATH_MAX];
	char *argv[] = {(char *)tj_test_bin(), "scan", dir, "--output", "json", NULL};
	char *out = NULL, *err = NULL;
	cJSON *scan;
	struct plan_run r;
	int st;

	make_temp_upload(dir, sizeof(dir));
	tj_test_write(dir, "README.md", "no configuration here\n");
	st = tj_test_spawn(argv, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "scan: status %d: %s", st, err);
	scan = cJSON_Parse(out);
	ck_assert(has_violation(scan, "no-configuration"));
	cJSON_Delete(scan);
	free(out);
	free(err);

	run_plan(&r, dir, NULL);
	assert_outcome(&r, "FAILED", "ValidationError");
	ck_assert(has_violation(r.json, "no-configuration"));
	ck_assert_int_eq(step_count(r.json), 0);
	plan_run_free(&r);
	tj_test_rm_rf(dir);
}
END_TEST

/* terraform's advice about TF_VAR_ environment variables and its names of
 * the runner's files are put in the user's terms. */
/* The scan starts where terraform runs: a data source the policy denies in
 * the --workdir directory is refused before terraform starts. */
START_TEST(workdir_is_scanned)
{
	char dir[PATH_MAX];
	const char *extra[] = {"--workdir", "examples/x", NULL};
	struct plan_run r;

	make_temp_upload(dir, sizeof(dir));
	copy_file(tj_test_src("tests/fixtures/plan/tfdata-only/main.tf"), dir, "main.tf");
	tj_test_write(dir, "examples/x/main.tf",
	              "module \"root\" {\n  source = \"../../\"\n}\n\n"
	              "data \"external\" \"x\" {\n  program = [\"sh\", \"-c\", \"echo {}\"]\n}\n");
	run_plan(&r, dir, extra);
	assert_outcome(&r, "FAILED", "PolicyViolation");
	ck_assert(has_violation(r.json, "data-source-blocked"));
	ck_assert_int_eq(step_count(r.json), 0);
	plan_run_free(&r);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(warnings_speak_of_what_the_user_gave)
{
	const char *extra[] = {"--var", "undeclared=1", NULL};
	struct plan_run r;
	const cJSON *d;

	run_plan(&r, fixture("tfdata-only"), extra);
	assert_outcome(&r, "SUCCESS", NULL);
	d = first_diagnostic(&r);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(str(d, "summary"), "Value for undeclared variable");
	ck_assert_msg(strstr(str(d, "detail"), "in file \"--var\""), "%s", str(d, "detail"));
	ck_assert_msg(!strstr(str(d, "detail"), "TF_VAR_"), "%s", str(d, "detail"));
	ck_assert_msg(strstr(str(d, "detail"), "declare the variable"), "%s", str(d, "detail"));
	assert_no_internal_path(&r, NULL);
	plan_run_free(&r);
}
END_TEST

/* InternalError is tfjail's own fault: no upload of the fixture set gives
 * one.  Every scan fixture and the plan fixture no other test runs
 * (aws-offline-data) are planned here, three at a time; every other plan
 * fixture has a test that asserts its outcome. */
START_TEST(no_fixture_upload_is_an_internal_error)
{
	enum { MAX_UPLOADS = 64 };
	static char dirs[MAX_UPLOADS][PATH_MAX];
	const char *dirp[MAX_UPLOADS];
	const char *const timeout[] = {"--timeout", "60", NULL};
	const char *const *extras[MAX_UPLOADS];
	struct plan_run *runs;
	size_t n = 0;
	DIR *d;
	struct dirent *de;
	char root[PATH_MAX];

	snprintf(root, sizeof(root), "%s", tj_test_src("tests/fixtures/scan"));
	ck_assert_ptr_nonnull(d = opendir(root));
	while ((de = readdir(d)) && n < MAX_UPLOADS - 1)
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			snprintf(dirs[n++], PATH_MAX, "%s/%s", root, de->d_name);
	closedir(d);
	snprintf(dirs[n++], PATH_MAX, "%s", fixture("aws-offline-data"));
	ck_assert_uint_ge(n, 30);
	for (size_t i = 0; i < n; i++) {
		dirp[i] = dirs[i];
		extras[i] = timeout;
	}
	runs = calloc(n, sizeof(*runs));
	run_plans(runs, dirp, extras, n, 3);
	for (size_t i = 0; i < n; i++) {
		const char *et;
		ck_assert_msg(runs[i].json, "%s: no response: %.200s %s", dirs[i], runs[i].out, runs[i].err);
		et = str(runs[i].json, "error_type");
		ck_assert_msg(!et || strcmp(et, "InternalError") != 0, "%s: %s", dirs[i],
		              str(runs[i].json, "error_message"));
		plan_run_free(&runs[i]);
	}
	free(runs);
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

	snprintf(secret, sizeof(secret), "tfjail-secret-%d-%llu", (int)getpid(),
	         (unsigned long long)tj_now_us());
	ck_assert_int_eq(setenv("TFJAIL_TEST_SECRET", secret, 1), 0);
	ck_assert_int_eq(setenv("AWS_SECRET_ACCESS_KEY", secret, 1), 0);
	ck_assert_int_eq(setenv("TF_VAR_leak", secret, 1), 0);
	snprintf(secret_dir, sizeof(secret_dir), "/tmp/tfjail-secret-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(secret_dir));
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
	assert_outcome(&r, "FAILED", "InvalidUpload");
	ck_assert(has_violation(r.json, "upload-symlink"));
	ck_assert_msg(strncmp(str(r.json, "error_message"), "leak.txt:", 9) == 0, "%s",
	              str(r.json, "error_message"));
	ck_assert_int_eq(step_count(r.json), 0);
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

/* A tmpfs over /tmp (in this process's own mount namespace); what the test
 * needs from the old /tmp (a checkout there: the source tree, tfjail and
 * the probes) is carried over, read-only, as a sandbox's binds are. */
static void private_tmp(void)
{
	const char *need[] = {tj_test_src(""), tj_test_bin(), getenv("TFJAIL_PROBES")};
	char tops[3][PATH_MAX];
	int trees[3];
	size_t n = 0;
	struct tj_error err = {0};

	for (size_t i = 0; i < 3; i++) {
		char real[PATH_MAX], top[PATH_MAX];
		bool seen = false;
		if (!need[i] || !realpath(need[i], real) || strncmp(real, "/tmp/", 5) != 0)
			continue;
		snprintf(top, sizeof(top), "%.*s", (int)(5 + strcspn(real + 5, "/")), real);
		for (size_t j = 0; j < n; j++)
			seen |= strcmp(tops[j], top) == 0;
		if (seen)
			continue;
		snprintf(tops[n], sizeof(tops[n]), "%s", top);
		trees[n] = mount_clone_bind_ro(top, &err);
		ck_assert_msg(trees[n] >= 0, "%s", err.msg);
		n++;
	}
	ck_assert_int_eq(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), 0);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(mkdir(tops[i], 0755), 0);
		ck_assert_msg(mount_attach_tree(trees[i], tops[i], &err) == 0, "%s", err.msg);
		close(trees[i]);
	}
}

START_TEST(fifty_jobs_leave_nothing_behind)
{
	size_t tmp0, mounts0, cg0 = count_leaked_cgroups("/sys/fs/cgroup", 0);
	char *mi = NULL;
	struct tj_error err;

	/* the jobs see a /tmp of their own (this test's process runs in a
	 * mount namespace of its own), so that what other processes of the
	 * machine keep in /tmp meanwhile does not count */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	/* and whatever a job leaves running is reparented to this process */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	private_tmp();
	tmp0 = count_named("/tmp", "tfjail");
	ck_assert_int_eq(tj_read_file("/proc/self/mountinfo", 1 << 22, &mi, &mounts0, &err), 0);
	free(mi);
	for (int i = 0; i < 50; i++) {
		struct plan_run r;
		run_plan(&r, fixture("tfdata-only"), NULL);
		assert_outcome(&r, "SUCCESS", NULL);
		plan_run_free(&r);
	}
	/* none of the jobs' (another process killed meanwhile may leave one) */
	ck_assert_uint_le(count_leaked_cgroups("/sys/fs/cgroup", 0), cg0);
	ck_assert_uint_le(count_named("/tmp", "tfjail"), tmp0);
	{
		char *kids = NULL;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		ck_assert_int_eq(tj_read_file(path, 1 << 16, &kids, NULL, &err), 0);
		ck_assert_msg(kids[0] == '\0', "processes left by the jobs: %s", kids);
		free(kids);
	}
	{
		size_t mounts1;
		ck_assert_int_eq(tj_read_file("/proc/self/mountinfo", 1 << 22, &mi, &mounts1, &err), 0);
		free(mi);
		ck_assert_uint_eq(mounts1, mounts0);
	}
}
END_TEST

/* terraform version -json is parsed in the parsing helper; the host reads
 * its answer line by line and refuses anything off its narrow grammar. */
START_TEST(version_answer_checked_line_by_line)
{
	static const struct {
		const char *answer;
		bool ok;
	} cases[] = {
	    {"", true},
	    {"T 1.11.4\n", true},
	    {"T 1.11.4\nP registry.terraform.io/hashicorp/aws 5.100.0\n", true},
	    {"T 1.11.4\nT 1.0.0\n", false}, /* twice */
	    {"T 1.11.4", false},            /* no newline */
	    {"T 1.11.4 x\n", false},        /* space */
	    {"T 1.11\x01\n", false},        /* control character */
	    {"T \n", false},                /* empty */
	    {"P registry.terraform.io/hashicorp/aws 5.100.0\nP registry.terraform.io/hashicorp/aws 5.0.0\n",
	     false},                                                  /* the same address twice */
	    {"P registry.terraform.io/hashicorp/aws\n", false},       /* no version */
	    {"P registry.terraform.io/hashi\"corp/aws 1.0\n", false}, /* address charset */
	    {"P a/b/c 1.0 2\n", false},                               /* version charset */
	    {"X 1.0\n", false},
	};
	char longv[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *doc = step_version_answer_read(cases[i].answer, strlen(cases[i].answer));
		ck_assert_msg((doc != NULL) == cases[i].ok, "case %zu", i);
		cJSON_Delete(doc);
	}
	memset(longv, '1', sizeof(longv));
	memcpy(longv, "T ", 2);
	longv[sizeof(longv) - 1] = '\n';
	ck_assert_ptr_null(step_version_answer_read(longv, sizeof(longv))); /* longer than 64 */
	{
		const char *a = "T 1.11.4\nP registry.terraform.io/hashicorp/aws 5.100.0\n";
		cJSON *doc = step_version_answer_read(a, strlen(a));
		const cJSON *sel = cJSON_GetObjectItemCaseSensitive(doc, "provider_selections");
		ck_assert_str_eq(
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "terraform_version")),
		    "1.11.4");
		ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		                     sel, "registry.terraform.io/hashicorp/aws")),
		                 "5.100.0");
		cJSON_Delete(doc);
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
	tcase_add_test(aws, aws_plan_is_bare_terraforms);
	tcase_add_test(aws, planted_providers_never_run);
	tcase_add_test(aws, locked_version_the_mirror_lacks_is_refused);
	tcase_add_test(aws, altered_checksum_is_refused);
	tcase_add_test(aws, ignore_policy_plans_the_same_uploads);
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
	tcase_add_test(fast, version_answer_checked_line_by_line);
	tcase_add_test(fast, provider_less_plans_are_bare_terraforms);
	tcase_add_test(fast, exact_values_survive);
	tcase_add_test(fast, invalid_json_var_file_is_refused);
	tcase_add_test(fast, parse_error_is_a_validation_error);
	tcase_add_test(fast, unreadable_upload_is_invalid);
	tcase_add_test(fast, upload_limits_and_special_files_are_invalid);
	tcase_add_test(fast, no_configuration_scan_and_plan_agree);
	tcase_add_test(fast, warnings_speak_of_what_the_user_gave);
	tcase_add_test(fast, workdir_is_scanned);
	tcase_add_test(fast, no_fixture_upload_is_an_internal_error);
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
