#include "executor/job.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "executor/modules.h"
#include "executor/planjson.h"
#include "policy/scan.h"

/* Paths inside the sandbox. */
#define SB_TERRAFORM "/usr/local/bin/terraform"
#define SB_PLUGINS "/plugins"
#define SB_RUNNER "/run/tfjail"
#define SB_CLI_CONFIG SB_RUNNER "/terraformrc"
#define SB_PLANFILE "/tmp/tfjail.tfplan"
#define SB_DATA_DIR "/tmp/tfdata"
#define MAX_MODULE_BINDS 256 /* mirrored packages mounted into one job */

#define STDERR_TAIL 4096
#define MAX_VAR_FILE (1u << 20)
#define MAX_DIAGNOSTICS 50

/* ------------------------------------------------------------ discovery */

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int job_tools_discover(const struct tj_policy *p, struct job_tools *t, struct tj_error *err)
{
	const char *env;

	memset(t, 0, sizeof(*t));
	if (p && p->mounts.terraform && *p->mounts.terraform) {
		if (!is_executable_file(p->mounts.terraform))
			return tj_error_set(err, ENOENT, "terraform not found at %s (policy mounts.terraform)",
					    p->mounts.terraform);
		snprintf(t->terraform, sizeof(t->terraform), "%s", p->mounts.terraform);
	} else if ((env = getenv("TFJAIL_TERRAFORM")) && *env) {
		if (!is_executable_file(env))
			return tj_error_set(err, ENOENT, "terraform not found at %s ($TFJAIL_TERRAFORM)", env);
		snprintf(t->terraform, sizeof(t->terraform), "%s", env);
	} else {
		const char *path = getenv("PATH");
		char buf[PATH_MAX];
		if (!path || !*path)
			path = "/usr/local/bin:/usr/bin:/bin";
		while (*path && !t->terraform[0]) {
			const char *end = strchr(path, ':');
			size_t n = end ? (size_t)(end - path) : strlen(path);
			if (n > 0 && n < sizeof(buf) - 16) {
				snprintf(buf, sizeof(buf), "%.*s/terraform", (int)n, path);
				if (buf[0] == '/' && is_executable_file(buf))
					snprintf(t->terraform, sizeof(t->terraform), "%s", buf);
			}
			path += n + (end ? 1 : 0);
		}
		if (!t->terraform[0])
			return tj_error_set(err, ENOENT,
					    "terraform not found on PATH (install it, or set mounts.terraform in the policy)");
	}
	/* bind sources must be canonical paths */
	{
		char real[PATH_MAX];
		if (realpath(t->terraform, real))
			snprintf(t->terraform, sizeof(t->terraform), "%s", real);
	}

	if (p && p->mounts.plugin_dir && *p->mounts.plugin_dir) {
		if (!is_dir(p->mounts.plugin_dir))
			return tj_error_set(err, ENOENT, "provider mirror %s not found (policy mounts.plugin_dir)",
					    p->mounts.plugin_dir);
		snprintf(t->plugin_dir, sizeof(t->plugin_dir), "%s", p->mounts.plugin_dir);
	} else if ((env = getenv("TFJAIL_PLUGIN_DIR")) && *env) {
		if (!is_dir(env))
			return tj_error_set(err, ENOENT, "provider mirror %s not found ($TFJAIL_PLUGIN_DIR)", env);
		snprintf(t->plugin_dir, sizeof(t->plugin_dir), "%s", env);
	} else {
		/* terraform's implied local mirror directories, then the image's */
		static const char *const candidates[] = {
			"/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins", "/opt/tf-plugins",
		};
		for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && !t->plugin_dir[0]; i++)
			if (is_dir(candidates[i]))
				snprintf(t->plugin_dir, sizeof(t->plugin_dir), "%s", candidates[i]);
		if (!t->plugin_dir[0])
			return tj_error_set(err, ENOENT,
					    "no provider mirror found in /usr/local/share/terraform/plugins, "
					    "/usr/share/terraform/plugins or /opt/tf-plugins (set mounts.plugin_dir "
					    "in the policy or $TFJAIL_PLUGIN_DIR)");
	}
	{
		char real[PATH_MAX];
		if (realpath(t->plugin_dir, real))
			snprintf(t->plugin_dir, sizeof(t->plugin_dir), "%s", real);
	}
	return 0;
}

int job_runtime_open(const struct tj_policy *policy, struct sandbox_runtime **rt, struct tj_error *err)
{
	struct sandbox_runtime_options ro = {.cgroup = {.force_mode = -1}};
	const char *parent = getenv("TFJAIL_CGROUP_PARENT");

	if (parent && *parent)
		ro.cgroup.parent = parent;
	ro.seccomp_deny = (const char *const *)policy->seccomp.deny;
	ro.n_seccomp_deny = policy->seccomp.n_deny;
	return sandbox_runtime_open(&ro, rt, err);
}

/* `terraform version -json` in sb, parsed; NULL if it did not answer with
 * JSON.  status/exit_code describe the run for error messages. */
static cJSON *terraform_version_json(struct sandbox *sb, char *const envp[], const char *cwd, uint64_t timeout_ms,
				     enum sandbox_status *status, int *exit_code)
{
	char *argv[] = {"terraform", "version", "-json", NULL};
	struct sandbox_cmd cmd = {.argv = argv, .envp = envp, .cwd = cwd, .stdin_fd = -1, .stdout_fd = -1,
				  .stderr_fd = -1, .timeout_ms = timeout_ms, .capture_max = 1 << 16};
	struct sandbox_result res;
	struct tj_error err;
	cJSON *doc = NULL;

	*status = SANDBOX_LOST;
	*exit_code = -1;
	if (sandbox_exec(sb, &cmd, &res, &err) < 0)
		return NULL;
	*status = res.status;
	*exit_code = res.exit_code;
	if (res.status == SANDBOX_EXITED && res.exit_code == 0)
		doc = cJSON_ParseWithLength(res.out, res.out_len);
	sandbox_result_free(&res);
	return doc;
}

int job_terraform_version(struct sandbox_runtime *rt, const struct job_tools *tools, char *out, size_t len,
			  struct tj_error *err)
{
	struct sandbox_bind binds[] = {{tools->terraform, SB_TERRAFORM}};
	struct sandbox_config cfg = {.binds = binds, .n_binds = 1, .memory_bytes = 256ull << 20, .pids = 64, .cpus = 1};
	char *envp[] = {"PATH=/usr/local/bin", "HOME=/tmp", "TMPDIR=/tmp", "CHECKPOINT_DISABLE=1",
			"TF_CLI_CONFIG_FILE=/dev/null", NULL};
	struct sandbox *sb = NULL;
	struct sandbox_setup_error fail;
	enum sandbox_status status;
	int exit_code, rc = -1;
	cJSON *doc;
	const char *v;

	if (sandbox_create(rt, &cfg, &sb, &fail) < 0)
		return tj_error_set(err, fail.errnum, "sandbox setup failed at %s: %s", fail.step, fail.msg);
	doc = terraform_version_json(sb, envp, NULL, 30000, &status, &exit_code);
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "terraform_version"));
	if (v && *v && strlen(v) < len) {
		snprintf(out, len, "%s", v);
		rc = 0;
	} else {
		tj_error_set(err, EINVAL, "%s version -json did not report a version (%s, exit code %d)",
			     tools->terraform, sandbox_status_name(status), exit_code);
	}
	cJSON_Delete(doc);
	sandbox_destroy(sb, NULL);
	return rc;
}

/* ------------------------------------------------------------ small helpers */

void job_new_id(char out[32])
{
	unsigned char r[8];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = tj_now_us() ^ ((uint64_t)getpid() << 40);
		memcpy(r, &t, sizeof(r));
	}
	memcpy(out, "job_", 4);
	for (size_t i = 0; i < sizeof(r); i++) {
		out[4 + 2 * i] = hex[r[i] >> 4];
		out[5 + 2 * i] = hex[r[i] & 15];
	}
	out[4 + 2 * sizeof(r)] = '\0';
}

bool job_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 1 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool job_upload_excluded(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	/* each of these changes what terraform installs or executes: THREATS 3, 4, 5, 13 */
	return strcmp(base, ".terraform") == 0 || strcmp(base, "terraform.d") == 0 ||
	       strcmp(base, ".terraform.lock.hcl") == 0 || strstr(base, ".tfstate") != NULL ||
	       strcmp(base, ".terraformrc") == 0 || strcmp(base, "terraform.rc") == 0;
}

static bool exclude_cb(const char *rel, const struct stat *st, void *ctx)
{
	(void)st;
	(void)ctx;
	return job_upload_excluded(rel);
}

static bool var_name_valid(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

/* ------------------------------------------------------------ the response */

struct job {
	const struct job_request *req;
	const struct tj_policy *policy;
	cJSON *resp;
	cJSON *steps;
	cJSON *diagnostics;
	uint64_t t0;
	uint64_t deadline;     /* ms, monotonic */
	bool done;
	struct modules_stage modules; /* mirrored modules: the data dir and its binds (n_binds 0 = none) */
};

static void set_outcome(struct job *j, const char *status, const char *error_type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_outcome(struct job *j, const char *status, const char *error_type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (j->done)
		return;
	j->done = true;
	cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "status", cJSON_CreateString(status));
	cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "error_type",
					       error_type ? cJSON_CreateString(error_type) : cJSON_CreateNull());
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "error_message", cJSON_CreateString(msg));
	}
}

static cJSON *new_response(const char *job_id, const struct tj_policy *p)
{
	cJSON *r = cJSON_CreateObject(), *pol;

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "job_id", job_id);
	cJSON_AddStringToObject(r, "status", "FAILED");
	cJSON_AddNullToObject(r, "error_type");
	cJSON_AddNullToObject(r, "error_message");
	cJSON_AddArrayToObject(r, "violations");
	cJSON_AddNullToObject(r, "plan_json");
	cJSON_AddNullToObject(r, "plan_sha256");
	cJSON_AddNullToObject(r, "summary");
	cJSON_AddArrayToObject(r, "steps");
	cJSON_AddArrayToObject(r, "diagnostics");
	cJSON_AddNumberToObject(r, "execution_time_seconds", 0);
	pol = cJSON_AddObjectToObject(r, "policy");
	if (pol) {
		cJSON_AddStringToObject(pol, "name", p->name ? p->name : "");
		cJSON_AddStringToObject(pol, "sha256", p->sha256);
	}
	return r;
}

static const char *tail(const char *s, size_t len, size_t max)
{
	const char *p;

	if (!s)
		return "";
	if (len <= max)
		return s;
	p = s + len - max;
	/* start at a line (or at least a UTF-8 character) boundary */
	for (const char *q = p; q < s + len && q < p + 256; q++)
		if (*q == '\n')
			return q + 1;
	while (p < s + len && ((unsigned char)*p & 0xC0) == 0x80)
		p++;
	return p;
}

static void add_step(struct job *j, const char *name, const struct sandbox_result *res)
{
	cJSON *s = cJSON_CreateObject();

	if (!s)
		return;
	cJSON_AddStringToObject(s, "name", name);
	if (res->status == SANDBOX_EXITED || res->status == SANDBOX_OOM)
		cJSON_AddNumberToObject(s, "exit_code", res->exit_code);
	else if (res->status == SANDBOX_SIGNALED || res->status == SANDBOX_SECCOMP)
		cJSON_AddNumberToObject(s, "exit_code", 128 + res->signal);
	else
		cJSON_AddNullToObject(s, "exit_code");
	cJSON_AddNumberToObject(s, "duration_ms", (double)res->wall_ms);
	if (res->status != SANDBOX_EXITED)
		cJSON_AddStringToObject(s, "outcome", sandbox_status_name(res->status));
	cJSON_AddStringToObject(s, "stderr_tail", tail(res->err, res->err_len, STDERR_TAIL));
	cJSON_AddItemToArray(j->steps, s);
}

/* Collects error and warning diagnostics from terraform's JSON: either one
 * document with "diagnostics" (validate -json) or JSON lines with
 * {"type":"diagnostic","diagnostic":{...}} (plan -json). */
static void collect_diagnostics(struct job *j, const char *out, size_t len, bool lines)
{
	cJSON *docs[1];
	const char *p, *end;

	if (!out)
		return;
	p = out;
	end = out + len;
	while (p < end && cJSON_GetArraySize(j->diagnostics) < MAX_DIAGNOSTICS) {
		const char *nl = lines ? memchr(p, '\n', (size_t)(end - p)) : end;
		size_t n = (size_t)((nl ? nl : end) - p);
		cJSON *doc = cJSON_ParseWithLength(p, n), *d;
		cJSON *list;

		p += n + 1;
		if (!doc)
			continue;
		docs[0] = cJSON_GetObjectItemCaseSensitive(doc, "diagnostic");
		list = cJSON_GetObjectItemCaseSensitive(doc, "diagnostics");
		if (docs[0]) {
			cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemReferenceToArray(arr, docs[0]);
			list = arr;
		}
		cJSON_ArrayForEach(d, list)
		{
			const cJSON *range = cJSON_GetObjectItemCaseSensitive(d, "range");
			const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(range, "filename"));
			const cJSON *start = cJSON_GetObjectItemCaseSensitive(range, "start");
			const cJSON *line = cJSON_GetObjectItemCaseSensitive(start, "line");
			cJSON *o = cJSON_CreateObject();
			const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "severity"));
			const char *sum = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"));
			const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "detail"));

			if (!o)
				continue;
			cJSON_AddStringToObject(o, "severity", sev ? sev : "error");
			cJSON_AddStringToObject(o, "summary", sum ? sum : "");
			cJSON_AddStringToObject(o, "detail", det ? det : "");
			if (file)
				cJSON_AddStringToObject(o, "file", file);
			else
				cJSON_AddNullToObject(o, "file");
			if (cJSON_IsNumber(line))
				cJSON_AddNumberToObject(o, "line", line->valuedouble);
			else
				cJSON_AddNullToObject(o, "line");
			cJSON_AddItemToArray(j->diagnostics, o);
		}
		if (docs[0])
			cJSON_Delete(list);
		cJSON_Delete(doc);
		if (!lines)
			break;
	}
}

/* Summaries terraform core gives to errors in the configuration or its
 * inputs (as opposed to a provider failing at run time, e.g. an API call). */
static bool config_summary(const char *sum)
{
	static const char *const prefixes[] = {
		"Invalid ", "Unsupported ", "Missing required ", "No value for required variable",
		"Error in function call", "Reference to undeclared ", "Undeclared ", "Cycle", "Duplicate ",
		"Incorrect attribute value type", "Inconsistent conditional result types", "Unknown variable",
		"Variables not allowed", "Function calls not allowed", "Unsuitable value type", "Module not installed",
		"Unreadable module directory", "Argument or block definition required", "Unclosed configuration block",
		"Extraneous label", "Missing name for", "Value for undeclared variable", "Resource precondition failed",
		"Resource postcondition failed", "Check block assertion failed", "Output refers to sensitive values",
	};

	if (!sum)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(sum, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The first error diagnostic, or NULL; *config: every error is one of the
 * configuration's. */
static const cJSON *first_error(const struct job *j, int *count, bool *config)
{
	const cJSON *d, *first = NULL;

	*count = 0;
	*config = true;
	cJSON_ArrayForEach(d, j->diagnostics)
	{
		const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "severity"));
		if (!sev || strcmp(sev, "error") != 0)
			continue;
		(*count)++;
		if (!config_summary(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"))))
			*config = false;
		if (!first)
			first = d;
	}
	if (!first)
		*config = false;
	return first;
}

static void describe_error(const cJSON *d, int count, char *buf, size_t len)
{
	const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "file"));
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
	const char *sum = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"));
	const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "detail"));
	char where[512] = "";
	char more[64] = "";

	if (file && cJSON_IsNumber(line))
		snprintf(where, sizeof(where), "%s:%d: ", file, (int)line->valuedouble);
	else if (file)
		snprintf(where, sizeof(where), "%s: ", file);
	if (count > 1)
		snprintf(more, sizeof(more), " (and %d more error%s)", count - 1, count > 2 ? "s" : "");
	snprintf(buf, len, "%s%s%s%s%s", where, sum ? sum : "error", det && *det ? ": " : "", det ? det : "", more);
}

/* ------------------------------------------------------------ running steps */

struct step_env {
	char *envp[16];
	char bufs[16][PATH_MAX];
	size_t n;
};

static void env_add(struct step_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void env_add(struct step_env *e, const char *fmt, ...)
{
	va_list ap;

	if (e->n >= sizeof(e->envp) / sizeof(e->envp[0]) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(e->bufs[e->n], sizeof(e->bufs[e->n]), fmt, ap);
	va_end(ap);
	e->envp[e->n] = e->bufs[e->n];
	e->envp[++e->n] = NULL;
}

/* Runs one terraform command; false when the job must stop (the outcome is
 * then set: timeout, out of memory, killed). */
static bool run_step(struct job *j, struct sandbox *sb, const char *name, char *const argv[], char *const envp[],
		     const char *cwd, struct sandbox_result *res)
{
	struct tj_error err = {0};
	uint64_t now = tj_now_ms();
	uint64_t step_ms = j->policy->limits.step_timeout_s * 1000;
	uint64_t left = j->deadline > now ? j->deadline - now : 1;
	struct sandbox_cmd cmd = {
		.argv = argv,
		.envp = envp,
		.cwd = cwd,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.capture_max = j->policy->limits.output_bytes,
		.timeout_ms = step_ms && step_ms < left ? step_ms : left,
	};
	bool job_limit = !(step_ms && step_ms < left);

	memset(res, 0, sizeof(*res));
	if (sandbox_cancel_signal()) {
		set_outcome(j, "FAILED", "InternalError", "the job was interrupted (signal %d) before terraform %s",
			    sandbox_cancel_signal(), name);
		return false;
	}
	if (sandbox_exec(sb, &cmd, res, &err) < 0) {
		set_outcome(j, "FAILED", "InternalError", "could not run terraform %s: %s", name, err.msg);
		return false;
	}
	add_step(j, name, res);
	switch (res->status) {
	case SANDBOX_EXITED:
		if (res->pids_limit_hit && res->exit_code != 0) {
			set_outcome(j, "FAILED", "ResourceLimitExceeded",
				    "terraform %s hit the process limit of %llu", name,
				    (unsigned long long)j->policy->limits.pids);
			return false;
		}
		return true;
	case SANDBOX_TIMEOUT:
		set_outcome(j, "TIMEOUT", "ResourceLimitExceeded", "terraform %s exceeded the %s time limit of %llu s",
			    name, job_limit ? "job" : "step",
			    (unsigned long long)(job_limit ? (j->req->timeout_s ? j->req->timeout_s
									 : j->policy->limits.job_timeout_s)
							   : j->policy->limits.step_timeout_s));
		return false;
	case SANDBOX_OOM:
		set_outcome(j, "FAILED", "ResourceLimitExceeded",
			    "terraform %s ran out of memory (limit %llu MiB); a process was killed", name,
			    (unsigned long long)(j->policy->limits.memory_bytes >> 20));
		return false;
	case SANDBOX_SECCOMP:
		set_outcome(j, "FAILED", "TerraformError", "terraform %s was killed for a forbidden system call", name);
		return false;
	case SANDBOX_SIGNALED:
		set_outcome(j, "FAILED", res->pids_limit_hit ? "ResourceLimitExceeded" : "TerraformError",
			    "terraform %s was killed by signal %d", name, res->signal);
		return false;
	case SANDBOX_LOST:
		set_outcome(j, "FAILED", "InternalError", "the sandbox died during terraform %s", name);
		return false;
	case SANDBOX_CANCELED:
		set_outcome(j, "FAILED", "InternalError", "the job was interrupted (signal %d) during terraform %s",
			    sandbox_cancel_signal(), name);
		return false;
	}
	return true;
}

static bool stderr_has(const struct sandbox_result *res, const char *needle)
{
	return res->err && strstr(res->err, needle);
}

/* init or plan failed: classify the failure as the four-step flow would.
 * validate (which that flow runs before plan) decides first: its errors are
 * a ValidationError.  Otherwise the failing step's own diagnostics decide:
 * errors terraform core raises about the configuration or its inputs are a
 * ValidationError, anything else (a provider failing) a TerraformError. */
static void classify_failure(struct job *j, struct sandbox *sb, const char *name, const struct sandbox_result *failed,
			     char *const envp[], const char *cwd)
{
	char *validate[] = {"terraform", "validate", "-json", "-no-color", NULL};
	struct sandbox_result vres;
	const cJSON *first;
	int count;
	bool config;
	char msg[1024];

	if (stderr_has(failed, "no space left on device")) {
		set_outcome(j, "FAILED", "ResourceLimitExceeded", "the workspace is full (limit %llu MiB) during terraform %s",
			    (unsigned long long)(j->policy->limits.workspace_bytes >> 20), name);
		return;
	}
	if (run_step(j, sb, "validate", validate, envp, cwd, &vres)) {
		cJSON *keep = j->diagnostics;
		j->diagnostics = cJSON_CreateArray();
		collect_diagnostics(j, vres.out, vres.out_len, false);
		first = first_error(j, &count, &config);
		if (first) {
			cJSON_Delete(keep);
			describe_error(first, count, msg, sizeof(msg));
			set_outcome(j, "FAILED", "ValidationError", "%s", msg);
			sandbox_result_free(&vres);
			return;
		}
		cJSON_Delete(j->diagnostics);
		j->diagnostics = keep;
	}
	sandbox_result_free(&vres);
	if (j->done)
		return;
	first = first_error(j, &count, &config);
	if (first) {
		describe_error(first, count, msg, sizeof(msg));
		set_outcome(j, "FAILED", config ? "ValidationError" : "TerraformError", "%s", msg);
		return;
	}
	{
		const char *t = tail(failed->err, failed->err_len, 300);
		set_outcome(j, "FAILED", "TerraformError", "terraform %s failed (exit code %d)%s%s", name,
			    failed->exit_code, *t ? ": " : "", t);
	}
}

/* ------------------------------------------------------------ variables */

static int build_var_files(struct job *j, struct sandbox_file *files, size_t *n_files, char **contents,
			   char *plan_args[], size_t *n_args, char names[][64], char args[][96])
{
	const struct job_request *req = j->req;
	struct tj_error err;

	for (size_t i = 0; i < req->n_var_files; i++) {
		const char *src = req->var_files[i];
		bool json = tj_str_has_suffix(src, ".json");
		char *data = NULL;
		size_t len;

		if (tj_read_file(src, MAX_VAR_FILE, &data, &len, &err) < 0) {
			set_outcome(j, "FAILED", "InvalidUpload", "variables file: %s", err.msg);
			return -1;
		}
		if (strlen(data) != len) {
			free(data);
			set_outcome(j, "FAILED", "InvalidUpload", "variables file %s contains a NUL byte", src);
			return -1;
		}
		snprintf(names[*n_files], 64, "vars-%zu.tfvars%s", i, json ? ".json" : "");
		contents[*n_files] = data;
		files[*n_files] = (struct sandbox_file){names[*n_files], data, 0644};
		snprintf(args[*n_args], 96, "-var-file=" SB_RUNNER "/%s", names[*n_files]);
		plan_args[(*n_args)] = args[*n_args];
		(*n_args)++;
		(*n_files)++;
	}
	if (req->n_vars || req->variables) {
		cJSON *o = cJSON_CreateObject();
		const cJSON *v;
		char *text;

		if (!o)
			return -1;
		for (size_t i = 0; i < req->n_vars; i++) {
			if (!var_name_valid(req->vars[i].name)) {
				cJSON_Delete(o);
				set_outcome(j, "FAILED", "InvalidUpload", "'%s' is not a valid variable name", req->vars[i].name);
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(o, req->vars[i].name);
			cJSON_AddStringToObject(o, req->vars[i].name, req->vars[i].value);
		}
		cJSON_ArrayForEach(v, req->variables)
		{
			if (!var_name_valid(v->string)) {
				cJSON_Delete(o);
				set_outcome(j, "FAILED", "InvalidUpload", "'%s' is not a valid variable name",
					    v->string ? v->string : "");
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(o, v->string);
			cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, true));
		}
		text = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!text)
			return -1;
		snprintf(names[*n_files], 64, "tfjail.auto.tfvars.json");
		contents[*n_files] = text;
		files[*n_files] = (struct sandbox_file){names[*n_files], text, 0644};
		snprintf(args[*n_args], 96, "-var-file=" SB_RUNNER "/%s", names[*n_files]);
		plan_args[(*n_args)] = args[*n_args];
		(*n_args)++;
		(*n_files)++;
	}
	return 0;
}

/* ------------------------------------------------------------ one provider process per job */

#define MAX_REATTACH 8
#define REATTACH_MARK "TF_REATTACH_PROVIDERS='"

struct reattach {
	cJSON *config;       /* merged TF_REATTACH_PROVIDERS object */
	int fds[MAX_REATTACH]; /* providers' stdout, kept open for their lifetime */
	size_t n;
};

static bool addr_part_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64 || (n <= 2 && s[0] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.' ||
		      s[i] == '_'))
			return false;
	return true;
}

/* "host/namespace/type" and a version, as init locked them: the binary in
 * the mirror's unpacked layout, or -1. */
static int find_provider_binary(const struct job_tools *tools, const char *addr, const char *version, char *host_path,
				size_t host_len, char *sb_path, size_t sb_len)
{
	const char *type, *p = addr;
	char dir[PATH_MAX], prefix[96];
	DIR *d;
	struct dirent *de;
	int parts = 0;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!addr_part_ok(p, n))
			return -1;
		parts++;
		p += n + (e ? 1 : 0);
	}
	if (parts != 3 || !addr_part_ok(version, strlen(version)))
		return -1;
	type = strrchr(addr, '/') + 1;
	snprintf(dir, sizeof(dir), "%s/%s/%s/linux_amd64", tools->plugin_dir, addr, version);
	snprintf(prefix, sizeof(prefix), "terraform-provider-%s", type);
	if (!(d = opendir(dir)))
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(host_path, host_len, "%s/%s", dir, de->d_name);
		snprintf(sb_path, sb_len, SB_PLUGINS "/%s/%s/linux_amd64/%s", addr, version, de->d_name);
		closedir(d);
		return is_executable_file(host_path) ? 0 : -1;
	}
	closedir(d);
	return -1;
}

/* Reads a provider's stdout until it prints its reattach configuration. */
static cJSON *read_reattach_line(int fd, uint64_t deadline)
{
	char buf[8192];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = tj_now_ms();
		char *mark, *end;
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1)
			return NULL;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if ((mark = strstr(buf, REATTACH_MARK)) && (end = strchr(mark + strlen(REATTACH_MARK), '\''))) {
			*end = '\0';
			return cJSON_Parse(mark + strlen(REATTACH_MARK));
		}
	}
	return NULL;
}

/* Starts each provider init selected once, in the job's sandbox, in debug
 * mode, so that plan and show attach to it instead of starting (and
 * re-hashing) the 700 MB binary several times.  Never shared between jobs;
 * the variable comes only from here.  Any problem: the job simply goes on
 * without it (terraform starts providers itself, as usual). */
static void start_providers(struct job *j, struct sandbox *sb, const struct job_tools *tools, char *const envp[],
			    const char *cwd, struct reattach *ra)
{
	struct tj_error err;
	const cJSON *sel, *item;
	cJSON *doc;
	uint64_t t0 = tj_now_ms();
	int devnull = -1, exit_code;
	enum sandbox_status status;
	struct sandbox_cmd cmd = {.envp = envp, .cwd = cwd, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	/* none of this may stretch the job past its own deadline */
	uint64_t limit = j->deadline > t0 + 1000 ? j->deadline - 1000 : t0;

	doc = terraform_version_json(sb, envp, cwd, limit - t0 < 30000 ? (limit > t0 ? limit - t0 : 1) : 30000,
				     &status, &exit_code);
	sel = cJSON_GetObjectItemCaseSensitive(doc, "provider_selections");
	if (!cJSON_IsObject(sel) || cJSON_GetArraySize(sel) == 0 || cJSON_GetArraySize(sel) > MAX_REATTACH)
		goto out;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ra->config = cJSON_CreateObject();
	if (devnull < 0 || !ra->config)
		goto fail;
	cJSON_ArrayForEach(item, sel)
	{
		char host_path[PATH_MAX], sb_path[PATH_MAX], addr[256];
		const char *a = item->string;
		const char *ver = cJSON_GetStringValue(item);
		int p[2];
		cJSON *conf, *entry;
		char *argv[] = {sb_path, "-debug", NULL};

		/* "registry.terraform.io/hashicorp/aws" */
		if (!a || !ver || strlen(a) >= sizeof(addr))
			goto fail;
		snprintf(addr, sizeof(addr), "%s", a);
		if (find_provider_binary(tools, addr, ver, host_path, sizeof(host_path), sb_path, sizeof(sb_path)) < 0)
			goto fail;
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		cmd.argv = argv;
		cmd.stdout_fd = p[1];
		cmd.stderr_fd = devnull;
		if (sandbox_spawn(sb, &cmd, &err) < 0) {
			close(p[0]);
			close(p[1]);
			goto fail;
		}
		close(p[1]);
		ra->fds[ra->n++] = p[0];
		conf = read_reattach_line(p[0], tj_now_ms() + 60000 < limit ? tj_now_ms() + 60000 : limit);
		entry = cJSON_GetObjectItemCaseSensitive(conf, addr);
		if (!cJSON_IsObject(entry)) {
			cJSON_Delete(conf);
			goto fail;
		}
		cJSON_AddItemToObject(ra->config, addr, cJSON_DetachItemViaPointer(conf, entry));
		cJSON_Delete(conf);
	}
	{
		cJSON *s = cJSON_CreateObject();
		if (s) {
			cJSON_AddStringToObject(s, "name", "providers");
			cJSON_AddNumberToObject(s, "exit_code", 0);
			cJSON_AddNumberToObject(s, "duration_ms", (double)(tj_now_ms() - t0));
			cJSON_AddStringToObject(s, "stderr_tail", "");
			cJSON_AddItemToArray(j->steps, s);
		}
	}
	goto out;
fail:
	/* what started stays until the sandbox goes; terraform starts its own */
	cJSON_Delete(ra->config);
	ra->config = NULL;
out:
	if (devnull >= 0)
		close(devnull);
	cJSON_Delete(doc);
}

/* ------------------------------------------------------------ the job */

static void run_in_sandbox(struct job *j, struct sandbox_runtime *rt, const struct job_tools *tools)
{
	const struct job_request *req = j->req;
	const struct tj_policy *p = j->policy;
	static const char cli_config[] =
		"# written by tfjail: providers only from the read-only mirror\n"
		"disable_checkpoint = true\n"
		"provider_installation {\n"
		"  filesystem_mirror {\n"
		"    path = \"" SB_PLUGINS "\"\n"
		"  }\n"
		"}\n";
	struct sandbox_bind binds[2 + MAX_MODULE_BINDS] = {{tools->terraform, SB_TERRAFORM},
	                                                   {tools->plugin_dir, SB_PLUGINS}};
	size_t n_binds = 2;
	struct sandbox_file files[8];
	char *contents[8] = {0};
	char names[8][64], args[8][96];
	char *plan_extra[8];
	size_t n_files = 0, n_extra = 0;
	struct sandbox *sb = NULL;
	struct sandbox_setup_error fail;
	struct step_env env = {0};
	char cwd[PATH_MAX];
	struct sandbox_result res;
	struct tj_error err = {0};
	struct reattach ra = {0};
	char *reattach_env = NULL;

	memset(&res, 0, sizeof(res));
	files[n_files++] = (struct sandbox_file){"terraformrc", cli_config, 0644};
	if (req->n_var_files > 6) {
		set_outcome(j, "FAILED", "InvalidUpload", "at most 6 variables files are accepted");
		return;
	}
	if (build_var_files(j, files, &n_files, contents, plan_extra, &n_extra, names, args) < 0) {
		if (!j->done)
			set_outcome(j, "FAILED", "InternalError", "out of memory writing variables");
		goto out;
	}

	if (j->modules.n_binds > MAX_MODULE_BINDS) {
		set_outcome(j, "FAILED", "ValidationError", "more than %d mirrored modules",
		            MAX_MODULE_BINDS);
		goto out;
	}
	for (size_t i = 0; i < j->modules.n_binds; i++)
		binds[n_binds++] = j->modules.binds[i];
	{
		struct sandbox_config cfg = {
		    .binds = binds,
		    .n_binds = n_binds,
		    .workspace_src = req->upload_dir,
		    .workspace_exclude = exclude_cb,
		    .copy_max_files = p->upload.max_files,
		    .copy_max_total_bytes = p->upload.max_total_bytes,
		    .copy_max_file_bytes = p->upload.max_file_bytes,
		    .copy_max_depth = p->upload.max_depth,
		    .memory_bytes = p->limits.memory_bytes,
		    .cpus = p->limits.cpus,
		    .pids = p->limits.pids,
		    .workspace_bytes = p->limits.workspace_bytes,
		    .tmp_bytes = p->limits.tmp_bytes,
		    .nofile = p->limits.nofile,
		    .files = files,
		    .n_files = n_files,
		};
		if (sandbox_create(rt, &cfg, &sb, &fail) < 0) {
			if (strcmp(fail.step, "workspace-invalid") == 0)
				set_outcome(j, "FAILED", "InvalidUpload", "%s", fail.msg);
			else if (strcmp(fail.step, "workspace-full") == 0)
				set_outcome(j, "FAILED", "ResourceLimitExceeded", "%s (workspace limit %llu MiB)", fail.msg,
					    (unsigned long long)(p->limits.workspace_bytes >> 20));
			else
				set_outcome(j, "FAILED", "InternalError", "sandbox setup failed at %s: %s", fail.step,
					    fail.msg);
			goto out;
		}
	}

	/* The environment is built from nothing: no TF_*, AWS_* or anything
	 * else of the host reaches terraform (THREATS 5, 6). */
	env_add(&env, "PATH=/usr/local/bin");
	env_add(&env, "HOME=/tmp");
	env_add(&env, "TMPDIR=/tmp");
	env_add(&env, "TF_IN_AUTOMATION=1");
	env_add(&env, "TF_INPUT=0");
	env_add(&env, "CHECKPOINT_DISABLE=1");
	env_add(&env, "TF_CLI_CONFIG_FILE=" SB_CLI_CONFIG);
	env_add(&env, "TF_DATA_DIR=%s", j->modules.n_binds ? MODULES_DATA_DIR : SB_DATA_DIR);
	env_add(&env, "GOMAXPROCS=%d", p->limits.cpus > 0 ? (int)ceil(p->limits.cpus) : 2);
	snprintf(cwd, sizeof(cwd), "/workspace%s%s", req->workdir && *req->workdir ? "/" : "",
		 req->workdir ? req->workdir : "");

	{
		/* mirrored modules are in place already: init must not fetch any */
		char *init[] = {"terraform",
		                "init",
		                "-input=false",
		                "-no-color",
		                "-backend=false",
		                "-plugin-dir=" SB_PLUGINS,
		                j->modules.n_binds ? "-get=false" : NULL,
		                NULL};
		if (!run_step(j, sb, "init", init, env.envp, cwd, &res))
			goto out_res;
		if (res.exit_code != 0) {
			/* init refuses an invalid configuration with this sentence;
			 * validate then names each error with its file and line */
			if (stderr_has(&res, "configuration must be valid"))
				classify_failure(j, sb, "init", &res, env.envp, cwd);
			else if (stderr_has(&res, "Failed to query available provider packages") ||
				 stderr_has(&res, "Failed to install provider"))
				set_outcome(j, "FAILED", "TerraformError",
					    "terraform init: a required provider is not in the provider mirror: %s",
					    tail(res.err, res.err_len, 400));
			else
				set_outcome(j, "FAILED", "TerraformError", "terraform init failed (exit code %d): %s",
					    res.exit_code, tail(res.err, res.err_len, 400));
			goto out_res;
		}
		sandbox_result_free(&res);
	}
	start_providers(j, sb, tools, env.envp, cwd, &ra);
	if (ra.config) {
		char *text = cJSON_PrintUnformatted(ra.config);
		if (text && asprintf(&reattach_env, "TF_REATTACH_PROVIDERS=%s", text) > 0 &&
		    env.n < sizeof(env.envp) / sizeof(env.envp[0]) - 1) {
			env.envp[env.n] = reattach_env;
			env.envp[env.n + 1] = NULL;
		}
		free(text);
	}
	{
		char *plan[24] = {"terraform", "plan", "-input=false", "-no-color", "-lock=false", "-json",
				  ("-out=" SB_PLANFILE)};
		size_t n = 7;
		for (size_t i = 0; i < n_extra; i++)
			plan[n++] = plan_extra[i];
		plan[n] = NULL;
		if (!run_step(j, sb, "plan", plan, env.envp, cwd, &res))
			goto out_res;
		if (res.exit_code != 0) {
			collect_diagnostics(j, res.out, res.out_len, true);
			classify_failure(j, sb, "plan", &res, env.envp, cwd);
			goto out_res;
		}
		collect_diagnostics(j, res.out, res.out_len, true); /* warnings */
		sandbox_result_free(&res);
	}
	{
		char *show[] = {"terraform", "show", "-json", "-no-color", SB_PLANFILE, NULL};
		cJSON *plan = NULL;
		char sha[65];
		struct plan_summary sum;

		if (!run_step(j, sb, "show", show, env.envp, cwd, &res))
			goto out_res;
		if (res.exit_code != 0) {
			set_outcome(j, "FAILED", "TerraformError", "terraform show failed (exit code %d): %s",
				    res.exit_code, tail(res.err, res.err_len, 300));
			goto out_res;
		}
		if (res.out_truncated) {
			set_outcome(j, "FAILED", "ResourceLimitExceeded",
				    "the plan JSON exceeds the output limit of %llu bytes",
				    (unsigned long long)p->limits.output_bytes);
			goto out_res;
		}
		if (planjson_normalize(res.out, res.out_len, &plan, NULL, sha, &err) < 0) {
			set_outcome(j, "FAILED", "TerraformError", "%s", err.msg);
			goto out_res;
		}
		planjson_summary(plan, &sum);
		cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "plan_json", plan);
		cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "plan_sha256", cJSON_CreateString(sha));
		cJSON_ReplaceItemInObjectCaseSensitive(j->resp, "summary", planjson_summary_to_json(&sum));
		set_outcome(j, "SUCCESS", NULL, NULL);
	}
out_res:
	sandbox_result_free(&res);
out:
	if (sb && sandbox_destroy(sb, &err) < 0 && !j->done)
		set_outcome(j, "FAILED", "InternalError", "sandbox clean-up: %s", err.msg);
	for (size_t i = 0; i < ra.n; i++)
		close(ra.fds[i]);
	cJSON_Delete(ra.config);
	free(reattach_env);
	for (size_t i = 0; i < n_files; i++)
		free(contents[i]);
}

/* Adds a scan's violations to the response; an error-level one fails the job. */
static void report_scan(struct job *j, const struct tj_scan_result *scan)
{
	cJSON *violations = cJSON_GetObjectItemCaseSensitive(j->resp, "violations");
	const struct tj_violation *v0 = NULL;
	size_t errors = 0;

	for (size_t i = 0; violations && i < scan->n; i++)
		cJSON_AddItemToArray(violations, tj_violation_to_json(&scan->v[i]));
	for (size_t i = 0; i < scan->n; i++)
		if (strcmp(scan->v[i].severity, "error") == 0) {
			if (!v0)
				v0 = &scan->v[i];
			errors++;
		}
	if (v0)
		set_outcome(j, "FAILED", "PolicyViolation", "%s:%d: %s [%s]%s", v0->file, v0->line,
		            v0->message, v0->rule, errors > 1 ? " (and more violations, see the list)" : "");
}

/* Resolves, scans and stages the modules that come from the mirror. */
static void prepare_modules(struct job *j)
{
	struct modules_plan *mp = NULL;
	struct tj_scan_result *scan = NULL;
	struct tj_error err = {0};
	enum modules_outcome oc;
	int fd = open(j->req->upload_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		set_outcome(j, "FAILED", "InvalidUpload", "the upload cannot be opened");
		return;
	}
	oc = modules_resolve(j->policy, fd, j->req->workdir, &mp, &err);
	close(fd);
	if (oc == MODULES_INVALID) {
		set_outcome(j, "FAILED", "ValidationError", "%s", err.msg);
		return;
	}
	if (oc != MODULES_RESOLVED) {
		set_outcome(j, "FAILED", "InternalError", "module mirror: %s", err.msg);
		return;
	}
	if (mp->n_pkg && modules_scan(j->policy, mp, &scan, &err) < 0)
		set_outcome(j, "FAILED", "InternalError", "%s", err.msg);
	if (scan)
		report_scan(j, scan);
	if (mp->n_pkg && !j->done && modules_stage_create(mp, &j->modules, &err) < 0)
		set_outcome(j, "FAILED", "InternalError", "%s", err.msg);
	tj_scan_result_free(scan);
	modules_plan_free(mp);
}

int job_run(struct sandbox_runtime *rt, const struct job_tools *tools, const struct job_request *req,
	    cJSON **response, struct tj_error *err)
{
	struct job j = {.req = req, .policy = req->policy};
	char idbuf[32];
	const char *id = req->job_id;
	struct tj_scan_result *scan = NULL;
	struct tj_error serr = {0};
	uint64_t timeout_s = req->timeout_s ? req->timeout_s : req->policy->limits.job_timeout_s;

	if (!id) {
		job_new_id(idbuf);
		id = idbuf;
	}
	j.t0 = tj_now_ms();
	j.deadline = j.t0 + timeout_s * 1000;
	j.resp = new_response(id, req->policy);
	if (!j.resp)
		return tj_error_set(err, ENOMEM, "out of memory");
	j.steps = cJSON_GetObjectItemCaseSensitive(j.resp, "steps");
	j.diagnostics = cJSON_CreateArray();

	/* 1. The static scan: what the policy forbids never reaches terraform. */
	if (tj_scan_dir(req->policy, req->upload_dir, &scan, &serr) < 0) {
		set_outcome(&j, "FAILED", "InvalidUpload", "%s", serr.msg);
	} else {
		report_scan(&j, scan);
		tj_scan_result_free(scan);
	}

	/* 1b. Registry and git modules from the module mirror, scanned the same way. */
	if (!j.done)
		prepare_modules(&j);

	/* 2-4. The sandbox. */
	if (!j.done)
		run_in_sandbox(&j, rt, tools);
	modules_stage_remove(&j.modules);
	if (!j.done)
		set_outcome(&j, "FAILED", "InternalError", "the job ended without a result");

	cJSON_ReplaceItemInObjectCaseSensitive(j.resp, "diagnostics", j.diagnostics);
	cJSON_ReplaceItemInObjectCaseSensitive(j.resp, "execution_time_seconds",
					       cJSON_CreateNumber(round((double)(tj_now_ms() - j.t0) / 10.0) / 100.0));
	*response = j.resp;
	return 0;
}
