/* One job, top to bottom: one sandbox in which the upload is copied and
 * scanned, then terraform init, plan and show run; the plan JSON normalised into the
 * response.  Each part lives in its own file (tools, runtime, response,
 * steps, classify, varfiles, providers); this file only calls them. */
#include "executor/job.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/classify.h"
#include "executor/jobstate.h"
#include "executor/judge.h"
#include "executor/lockfile.h"
#include "executor/modules.h"
#include "executor/planjson.h"
#include "executor/providers.h"
#include "executor/response.h"
#include "executor/scanbox.h"
#include "executor/sandboxpaths.h"
#include "executor/steps.h"
#include "executor/varfiles.h"
#include "runtime/helper.h"
#include "policy/scan.h"

static const char cli_config[] = "# written by tfjail: providers only from the read-only mirror\n"
                                 "disable_checkpoint = true\n"
                                 "provider_installation {\n"
                                 "  filesystem_mirror {\n"
                                 "    path = \"" SB_PLUGINS "\"\n"
                                 "  }\n"
                                 "}\n";

/* A scan's violations into the response (after those already there). */
static void report_scan(struct job *j, const struct tj_scan_result *scan)
{
	cJSON *violations = cJSON_GetObjectItemCaseSensitive(j->resp, "violations");

	for (size_t i = 0; violations && i < scan->n; i++)
		cJSON_AddItemToArray(violations, tj_violation_to_json(&scan->v[i]));
	if (tj_scan_has_errors(scan))
		classify_scan(j, scan);
}

#define UNREADABLE_FIX                                                                                       \
	"cannot be read by the sandbox's unprivileged user, which copies the upload: make it "               \
	"world-readable: chmod -R o+rX on the upload"

/* 2b. The static scan ran inside the sandbox, on the copy (scanbox.h), with
 * the module tree resolved against the mirror, the mirrored packages scanned
 * and the lock file read: its checked result, applied.  What the policy
 * forbids never reaches terraform, and the host never parses the upload. */
static void take_scan(struct job *j, const char *bytes, size_t len, uint64_t t0)
{
	struct tj_scan_result *scan = scanbox_result(j, bytes, len);

	job_progress(j, "scan", true, !scan || tj_scan_has_errors(scan) ? 1 : 0, tj_now_ms() - t0);
	if (!scan)
		return;
	report_scan(j, scan);
	tj_scan_result_free(j->scan);
	j->scan = scan; /* the plan rules locate blocks with it; freed by job_run */
}

/* 2. The sandbox, with the upload copied into its workspace and scanned
 * there. */
static struct sandbox *create_sandbox(struct job *j, struct sandbox_runtime *rt,
                                      const struct job_tools *tools, const struct varfiles *vf)
{
	const struct tj_policy *p = j->policy;
	struct sandbox_bind binds[3] = {{tools->terraform, SB_TERRAFORM}, {tools->plugin_dir, SB_PLUGINS}};
	struct sandbox_config cfg = {
	    .binds = binds,
	    .n_binds = 2,
	    .workspace_fd = j->upload_fd, /* never the path (job.h upload_fd) */
	    .workspace_exclude = job_upload_exclude_cb,
	    .workspace_exclude_ctx = (void *)(uintptr_t)p,
	    .workspace_inspect = scanbox_inspect,
	    .workspace_inspect_ctx = (void *)(uintptr_t)j,
	    .inspect_seal = SB_DATA_DIR "/modules", /* the manifest of mirrored modules */
	    .files = vf->files,
	    .n_files = vf->n,
	};
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct sandbox *sb = NULL;
	uint64_t t0 = tj_now_ms();

	/* the module mirror, read in the sandbox only (modules.h); one that
	 * is not there fails only the jobs that need it */
	if (p->module_mirror && *p->module_mirror) {
		struct stat st;
		if (stat(p->module_mirror, &st) == 0 && S_ISDIR(st.st_mode))
			binds[cfg.n_binds++] = (struct sandbox_bind){p->module_mirror, MODULES_MIRROR_DIR};
	}
	job_sandbox_limits(p, &cfg);
	/* the copy and the scan are part of the sandbox's setup */
	job_progress(j, "scan", false, 0, 0);
	if (sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0) {
		size_t len;
		const char *bytes = sandbox_inspect_result(sb, &len);
		take_scan(j, bytes, len, t0);
		return sb;
	}
	if (fail_step == SANDBOX_SETUP_WORKSPACE_INVALID) {
		/* the upload could not be copied: the scan of the read-only
		 * upload, in the sandbox, says why in the policy's terms */
		size_t len;
		const char *bytes = sandbox_runtime_failed_inspect(rt, &len);
		if (bytes)
			take_scan(j, bytes, len, t0);
		if (j->done)
			return NULL;
	}
	if (fail_step == SANDBOX_SETUP_WORKSPACE_UNREADABLE)
		/* "<path in the upload> (mode 0NNN)" */
		job_outcome(j, "FAILED", "InvalidUpload", "%s " UNREADABLE_FIX, fail.msg);
	else if (fail_step == SANDBOX_SETUP_WORKSPACE && (fail.errnum == EACCES || fail.errnum == EPERM))
		/* the message names no path of the sandbox */
		job_outcome(j, "FAILED", "InvalidUpload", "a part of the upload " UNREADABLE_FIX);
	else if (fail_step == SANDBOX_SETUP_WORKSPACE_INVALID || fail_step == SANDBOX_SETUP_INSPECT)
		job_outcome(j, "FAILED", "InvalidUpload", "%s", fail.msg);
	else if (fail_step == SANDBOX_SETUP_WORKSPACE_FULL)
		job_outcome(j, "FAILED", "ResourceLimitExceeded", "%s (workspace limit %llu MiB)", fail.msg,
		            (unsigned long long)(p->limits.workspace_bytes >> 20));
	else
		job_outcome(j, "FAILED", "InternalError", "sandbox setup failed at %s: %s",
		            sandbox_setup_step_name(fail_step), fail.msg);
	return NULL;
}

/* The environment is built from nothing: no TF_*, AWS_* or anything else of
 * the host reaches terraform (THREATS 5, 6). */
static void build_env(const struct tj_policy *p, struct step_env *env)
{
	step_env_add(env, "PATH=/usr/local/bin");
	step_env_add(env, "HOME=/tmp");
	step_env_add(env, "TMPDIR=/tmp");
	step_env_add(env, "TF_IN_AUTOMATION=1");
	step_env_add(env, "TF_INPUT=0");
	step_env_add(env, "CHECKPOINT_DISABLE=1");
	step_env_add(env, "TF_CLI_CONFIG_FILE=" SB_CLI_CONFIG);
	step_env_add(env, "TF_DATA_DIR=" SB_DATA_DIR);
	step_env_add(env, "GOMAXPROCS=%d", p->limits.cpus > 0 ? (int)ceil(p->limits.cpus) : 2);
}

/* init failed: why, in the job's outcome. */
static void init_failed(struct job *j, struct sandbox *sb, const struct job_tools *tools, bool lock_file,
                        const struct sandbox_result *res, char *const envp[], const char *cwd)
{
	if (step_stderr_has(res, "configuration must be valid"))
		/* init refuses an invalid configuration with this sentence;
		 * validate then names each error with its file and line */
		classify_failure(j, sb, "init", res, envp, cwd);
	else if (lock_file && lockfile_explain_failure(j, tools, res))
		; /* the lock file and the mirror disagree: explained */
	else if (step_stderr_has(res, "Failed to query available provider packages") ||
	         step_stderr_has(res, "Failed to install provider"))
		job_outcome(j, "FAILED", "TerraformError",
		            "terraform init: a required provider is not in the provider mirror: %s",
		            step_tail(res->err, res->err_len, 400));
	else
		job_outcome(j, "FAILED", "TerraformError", "terraform init failed (exit code %d): %s",
		            res->exit_code, step_tail(res->err, res->err_len, 400));
}

/* 3a. terraform init, providers only from the mirror; with the upload's
 * lock file (policy "honor"), read-only: terraform verifies the mirror
 * against it and never changes it.  false: the job ended. */
static bool run_init(struct job *j, struct sandbox *sb, const struct job_tools *tools, char *const envp[],
                     const char *cwd, bool mirrored_modules)
{
	bool lock_file = lockfile_in_use(j);
	char *init[8] = {"terraform", "init",           "-input=false",
	                 "-no-color", "-backend=false", "-plugin-dir=" SB_PLUGINS};
	size_t n = 6;
	struct sandbox_result res;
	bool ok;

	if (lock_file)
		init[n++] = "-lockfile=readonly";
	if (mirrored_modules)
		init[n++] = "-get=false"; /* the modules are in place already: init must not fetch any */
	init[n] = NULL;
	if (!step_run(j, sb, "init", init, envp, cwd, &res)) {
		sandbox_result_free(&res);
		return false;
	}
	ok = res.exit_code == 0;
	if (!ok)
		init_failed(j, sb, tools, lock_file, &res, envp, cwd);
	sandbox_result_free(&res);
	return ok;
}

/* 3b. terraform plan into the plan file, with the variables files. */
static bool run_plan(struct job *j, struct sandbox *sb, char *const envp[], const char *cwd,
                     const struct varfiles *vf)
{
	static char *const fixed[] = {"terraform",   "plan",  "-input=false",     "-no-color",
	                              "-lock=false", "-json", "-out=" SB_PLANFILE};
	size_t nf = sizeof(fixed) / sizeof(fixed[0]), n = 0;
	_cleanup_free_ char **argv = calloc(nf + vf->n_args + 1, sizeof(*argv));
	struct sandbox_result res;
	bool ok;

	if (!argv) {
		job_outcome(j, "FAILED", "InternalError", "out of memory building the plan command");
		return false;
	}
	for (size_t i = 0; i < nf; i++)
		argv[n++] = fixed[i];
	for (size_t i = 0; i < vf->n_args; i++)
		argv[n++] = vf->args[i];
	if (!step_run(j, sb, "plan", argv, envp, cwd, &res)) {
		sandbox_result_free(&res);
		return false;
	}
	classify_collect_diagnostics(j, sb, res.out, res.out_len, true); /* errors, or warnings */
	ok = res.exit_code == 0;
	if (!ok)
		classify_failure(j, sb, "plan", &res, envp, cwd);
	sandbox_result_free(&res);
	return ok;
}

/* terraform's plan JSON (up to limits.output_bytes of it) is checked and
 * normalised in a helper without host privilege (runtime/helper.h).  It
 * answers "S create update delete replace read no_op\n" and the canonical
 * bytes, or "E message". */
struct show_input {
	const char *text;
	size_t len;
};

static int normalize_in_helper(void *ctx, int fd)
{
	const struct show_input *in = ctx;
	struct tj_error err = {0};
	struct plan_summary sum;
	char *canonical = NULL, sha[65], head[128];
	size_t canonical_len = 0;
	int n;

	if (planjson_normalize(in->text, in->len, &canonical, &canonical_len, sha, &err) < 0 ||
	    planjson_summary(canonical, canonical_len, &sum, &err) < 0)
		return tj_write_all(fd, "E ", 2) < 0 || tj_write_all(fd, err.msg, strlen(err.msg)) < 0 ? -1
		                                                                                       : 0;
	n = snprintf(head, sizeof(head), "S %u %u %u %u %u %u\n", sum.create, sum.update, sum.delete_,
	             sum.replace, sum.read, sum.no_op);
	return tj_write_all(fd, head, (size_t)n) < 0 || tj_write_all(fd, canonical, canonical_len) < 0 ? -1
	                                                                                               : 0;
}

/* 3c-4. terraform show -json, normalised and hashed into the response.  The
 * host only checks the helper's answer: a fixed header, then bytes that must
 * be one JSON value (tj_json_valid), hashed here and embedded as they are. */
static void run_show(struct job *j, struct sandbox *sb, char *const envp[], const char *cwd)
{
	char *show[] = {"terraform", "show", "-json", "-no-color", SB_PLANFILE, NULL};
	struct sandbox_result res;
	struct tj_error err = {0};
	_cleanup_free_ char *answer = NULL;
	size_t answer_len = 0;
	struct show_input in;
	char sha[65];
	struct plan_summary sum;
	int used = 0;
	cJSON *raw;

	if (!step_run(j, sb, "show", show, envp, cwd, &res))
		goto out;
	if (res.exit_code != 0) {
		job_outcome(j, "FAILED", "TerraformError", "terraform show failed (exit code %d): %s",
		            res.exit_code, step_tail(res.err, res.err_len, 300));
		goto out;
	}
	if (res.out_truncated) {
		job_outcome(j, "FAILED", "ResourceLimitExceeded",
		            "the plan JSON exceeds the output limit of %llu bytes",
		            (unsigned long long)j->policy->limits.output_bytes);
		goto out;
	}
	in = (struct show_input){res.out, res.out_len};
	/* the canonical form is never longer than terraform's, plus the header */
	if (sandbox_helper_run(sb, normalize_in_helper, &in, res.out_len + 256, 120000, &answer, &answer_len,
	                       &err) < 0) {
		job_outcome(j, "FAILED", "InternalError", "plan JSON: %s", err.msg);
		goto out;
	}
	if (answer_len >= 2 && answer[0] == 'E' && answer[1] == ' ') {
		job_outcome(j, "FAILED", "TerraformError", "%.500s", answer + 2);
		goto out;
	}
	if (sscanf(answer, "S %u %u %u %u %u %u\n%n", &sum.create, &sum.update, &sum.delete_, &sum.replace,
	           &sum.read, &sum.no_op, &used) != 6 ||
	    used <= 0 || !tj_json_valid(answer + used, answer_len - (size_t)used, 1000)) {
		job_outcome(j, "FAILED", "InternalError", "the plan JSON helper gave a malformed answer");
		goto out;
	}
	tj_sha256_hex(answer + used, answer_len - (size_t)used, sha);
	/* a raw item: the response carries the canonical bytes as they are */
	raw = cJSON_CreateRaw(answer + used);
	if (!raw) {
		job_outcome(j, "FAILED", "InternalError", "out of memory");
		goto out;
	}
	cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "plan_json", raw);
	cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "plan_sha256", cJSON_CreateString(sha));
	cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "summary", planjson_summary_to_json(&sum));
	/* 5. The policy's plan rules on what terraform would change. */
	job_judge_plan(j, sb, res.out, res.out_len);
	job_outcome(j, "SUCCESS", NULL, NULL);
out:
	sandbox_result_free(&res);
}

static void run_in_sandbox(struct job *j, struct sandbox_runtime *rt, const struct job_tools *tools)
{
	const struct job_request *req = j->req;
	struct varfiles vf = {0};
	struct providers pr = {0};
	struct step_env env = {0};
	struct sandbox *sb = NULL;
	struct tj_error err = {0};
	_cleanup_free_ char *reattach_env = NULL;
	char cwd[PATH_MAX];

	if (varfiles_add(&vf, "terraformrc", strdup(cli_config), false) < 0 ||
	    varfiles_from_request(j, &vf) < 0) {
		job_outcome(j, "FAILED", "InternalError", "out of memory writing variables");
		goto out;
	}
	if (!(sb = create_sandbox(j, rt, tools, &vf)) || j->done)
		goto out;
	/* after the scan: a policy violation wins */
	if (j->modules_failed) {
		job_outcome(j, "FAILED", "InternalError", "%s", j->modules_failed);
		goto out;
	}
	if (j->modules_unresolved) {
		job_outcome(j, "FAILED", "ValidationError", "%s", j->modules_unresolved);
		goto out;
	}
	build_env(j->policy, &env);
	snprintf(cwd, sizeof(cwd), SB_WORKSPACE "%s%s", req->workdir && *req->workdir ? "/" : "",
	         req->workdir ? req->workdir : "");

	if (!run_init(j, sb, tools, env.envp, cwd, j->mirrored_modules))
		goto out;
	providers_start(j, sb, tools, env.envp, cwd, &pr);
	if ((reattach_env = providers_env(&pr)) && env.n < sizeof(env.envp) / sizeof(env.envp[0]) - 1) {
		env.envp[env.n] = reattach_env;
		env.envp[env.n + 1] = NULL;
	}
	if (!run_plan(j, sb, env.envp, cwd, &vf))
		goto out;
	run_show(j, sb, env.envp, cwd);
out:
	if (sb && sandbox_destroy(sb, &err) < 0 && !j->done)
		job_outcome(j, "FAILED", "InternalError", "sandbox clean-up: %s", err.msg);
	providers_release(&pr);
	varfiles_free(&vf);
}

/* The upload as the job's own descriptor, opened once: the caller's (dup'd)
 * or upload_dir's.  Above the standard streams, where the sandbox takes a
 * workspace fd (sandbox.h workspace_fd > 0). */
static int open_upload(const struct job_request *req)
{
	_cleanup_close_ int own =
	    req->upload_fd >= 0 ? -1 : open(req->upload_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = req->upload_fd >= 0 ? req->upload_fd : own;

	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

int job_run(struct sandbox_runtime *rt, const struct job_tools *tools, const struct job_request *req,
            cJSON **response, struct tj_error *err)
{
	struct job j = {.req = req, .policy = req->policy, .upload_fd = -1};
	char idbuf[32];
	const char *id = req->job_id;
	uint64_t timeout_s = req->timeout_s ? req->timeout_s : req->policy->limits.job_timeout_s;

	if (!id) {
		job_new_id(idbuf);
		id = idbuf;
	}
	j.t0 = tj_now_ms();
	j.deadline = j.t0 + timeout_s * 1000;
	j.resp = job_response_new(id, req->policy);
	if (!j.resp)
		return tj_error_set(err, ENOMEM, "out of memory");
	j.steps = cJSON_GetObjectItemCaseSensitive(j.resp, "steps");
	j.diagnostics = cJSON_CreateArray();

	j.upload_fd = open_upload(req);
	if (j.upload_fd < 0)
		job_outcome(&j, "FAILED", "InvalidUpload", "the upload cannot be opened");
	if (!j.done)
		run_in_sandbox(&j, rt, tools);
	if (!j.done)
		job_outcome(&j, "FAILED", "InternalError", "the job ended without a result");

	if (j.upload_fd >= 0)
		close(j.upload_fd);
	tj_scan_result_free(j.scan);
	free(j.modules_unresolved);
	free(j.modules_failed);
	free(j.lock);
	cJSON_ReplaceItemInObjectCaseSensitive(j.resp, "diagnostics", j.diagnostics);
	job_response_set_seconds(j.resp, round((double)(tj_now_ms() - j.t0) / 10.0) / 100.0);
	*response = j.resp;
	return 0;
}
