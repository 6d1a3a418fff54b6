/* Running one terraform command of a job and recording it. */
#include "executor/steps.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/helper.h"

void step_env_add(struct step_env *e, const char *fmt, ...)
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

const char *step_tail(const char *s, size_t len, size_t max)
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

bool step_stderr_has(const struct sandbox_result *res, const char *needle)
{
	return res->err && strstr(res->err, needle);
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
	cJSON_AddStringToObject(s, "stderr_tail", step_tail(res->err, res->err_len, STEP_STDERR_TAIL));
	cJSON_AddItemToArray(j->steps, s);
}

void step_add_done(struct job *j, const char *name, uint64_t duration_ms)
{
	cJSON *s = cJSON_CreateObject();

	if (!s)
		return;
	cJSON_AddStringToObject(s, "name", name);
	cJSON_AddNumberToObject(s, "exit_code", 0);
	cJSON_AddNumberToObject(s, "duration_ms", (double)duration_ms);
	cJSON_AddStringToObject(s, "stderr_tail", "");
	cJSON_AddItemToArray(j->steps, s);
}

void job_progress(struct job *j, const char *name, bool done, int exit_code, uint64_t ms)
{
	if (j->req->on_step)
		j->req->on_step(j->req->on_step_ctx, name, done, exit_code, ms);
}

bool step_run(struct job *j, struct sandbox *sb, const char *name, char *const argv[], char *const envp[],
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
		job_outcome(j, "FAILED", "InternalError",
		            "the job was interrupted (signal %d) before terraform %s",
		            sandbox_cancel_signal(), name);
		return false;
	}
	job_progress(j, name, false, 0, 0);
	if (sandbox_exec(sb, &cmd, res, &err) < 0) {
		job_outcome(j, "FAILED", "InternalError", "could not run terraform %s: %s", name, err.msg);
		return false;
	}
	job_progress(j, name, true, res->status == SANDBOX_EXITED ? res->exit_code : -1, tj_now_ms() - now);
	add_step(j, name, res);
	switch (res->status) {
	case SANDBOX_EXITED:
		if (res->pids_limit_hit && res->exit_code != 0) {
			job_outcome(j, "FAILED", "ResourceLimitExceeded",
			            "terraform %s hit the process limit of %llu", name,
			            (unsigned long long)j->policy->limits.pids);
			return false;
		}
		return true;
	case SANDBOX_TIMEOUT:
		job_outcome(
		    j, "TIMEOUT", "ResourceLimitExceeded",
		    "terraform %s exceeded the %s time limit of %llu s", name, job_limit ? "job" : "step",
		    (unsigned long long)(job_limit ? (j->req->timeout_s ? j->req->timeout_s
		                                                        : j->policy->limits.job_timeout_s)
		                                   : j->policy->limits.step_timeout_s));
		return false;
	case SANDBOX_OOM:
		job_outcome(j, "FAILED", "ResourceLimitExceeded",
		            "terraform %s ran out of memory (limit %llu MiB); a process was killed", name,
		            (unsigned long long)(j->policy->limits.memory_bytes >> 20));
		return false;
	case SANDBOX_SECCOMP:
		job_outcome(j, "FAILED", "TerraformError",
		            "terraform %s was killed for a forbidden system call", name);
		return false;
	case SANDBOX_SIGNALED:
		job_outcome(j, "FAILED", res->pids_limit_hit ? "ResourceLimitExceeded" : "TerraformError",
		            "terraform %s was killed by signal %d", name, res->signal);
		return false;
	case SANDBOX_LOST:
		job_outcome(j, "FAILED", "InternalError", "the sandbox died during terraform %s", name);
		return false;
	case SANDBOX_CANCELED:
		job_outcome(j, "FAILED", "InternalError",
		            "the job was interrupted (signal %d) during terraform %s",
		            sandbox_cancel_signal(), name);
		return false;
	}
	return true;
}

/* `terraform version -json` is parsed in the parsing helper
 * (runtime/helper.h), which answers one line per fact: "T version" and
 * "P address version" per provider selection.  The host checks each line
 * (charset, length, no repeated address) and builds the document from them. */
#define VERSION_MAX         64
#define PROVIDER_ADDR_MAX   255
#define VERSION_PROVIDERS   64
#define VERSION_ANSWER_MAX  (16 + VERSION_PROVIDERS * (PROVIDER_ADDR_MAX + VERSION_MAX + 4) + VERSION_MAX)

struct version_input {
	const char *text;
	size_t len;
};

static int version_in_helper(void *ctx, int fd)
{
	const struct version_input *in = ctx;
	_cleanup_cjson_ cJSON *doc = cJSON_ParseWithLength(in->text, in->len);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "terraform_version"));
	const cJSON *item;
	struct tj_buf b = {0};
	int n = 0, rc;

	if (v && tj_buf_printf(&b, "T %.*s\n", VERSION_MAX + 1, v) < 0)
		return -1;
	cJSON_ArrayForEach (item, cJSON_GetObjectItemCaseSensitive(doc, "provider_selections")) {
		const char *ver = cJSON_GetStringValue(item);
		if (n++ == VERSION_PROVIDERS || !item->string || !ver ||
		    tj_buf_printf(&b, "P %.*s %.*s\n", PROVIDER_ADDR_MAX + 1, item->string, VERSION_MAX + 1,
		                  ver) < 0)
			break;
	}
	rc = b.len && tj_write_all(fd, b.data, b.len) < 0 ? -1 : 0;
	tj_buf_free(&b);
	return rc;
}

static bool word_ok(const char *s, size_t n, size_t max, const char *chars)
{
	return n > 0 && n <= max && tj_chars_in(s, n, chars);
}

cJSON *step_version_answer_read(const char *a, size_t len)
{
	_cleanup_cjson_ cJSON *doc = cJSON_CreateObject();
	cJSON *sel = cJSON_AddObjectToObject(doc, "provider_selections");
	char addr[PROVIDER_ADDR_MAX + 1], ver[VERSION_MAX + 1];

	if (!sel)
		return NULL;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(a + i, '\n', len - i), *line = a + i + 2, *sp;
		char tag = a[i];
		size_t n;
		if (!nl || nl - (a + i) < 3 || a[i + 1] != ' ')
			return NULL;
		n = (size_t)(nl - line);
		i = (size_t)(nl - a) + 1;
		if (tag == 'T' && !cJSON_GetObjectItemCaseSensitive(doc, "terraform_version")) {
			if (!word_ok(line, n, VERSION_MAX, TF_VERSION_CHARS))
				return NULL;
			snprintf(ver, sizeof(ver), "%.*s", (int)n, line);
			if (!cJSON_AddStringToObject(doc, "terraform_version", ver))
				return NULL;
			continue;
		}
		if (tag != 'P' || !(sp = memchr(line, ' ', n)) ||
		    !word_ok(line, (size_t)(sp - line), PROVIDER_ADDR_MAX, TF_PROVIDER_ADDR_CHARS) ||
		    !word_ok(sp + 1, n - (size_t)(sp - line) - 1, VERSION_MAX, TF_VERSION_CHARS) ||
		    cJSON_GetArraySize(sel) >= VERSION_PROVIDERS)
			return NULL;
		snprintf(addr, sizeof(addr), "%.*s", (int)(sp - line), line);
		snprintf(ver, sizeof(ver), "%.*s", (int)(n - (size_t)(sp - line) - 1), sp + 1);
		if (cJSON_GetObjectItemCaseSensitive(sel, addr) || !cJSON_AddStringToObject(sel, addr, ver))
			return NULL;
	}
	return TJ_STEAL_PTR(doc);
}

cJSON *step_version_json(struct sandbox *sb, char *const envp[], const char *cwd, uint64_t timeout_ms,
                         enum sandbox_status *status, int *exit_code)
{
	char *argv[] = {"terraform", "version", "-json", NULL};
	struct sandbox_cmd cmd = {.argv = argv,
	                          .envp = envp,
	                          .cwd = cwd,
	                          .stdin_fd = -1,
	                          .stdout_fd = -1,
	                          .stderr_fd = -1,
	                          .timeout_ms = timeout_ms,
	                          .capture_max = 1 << 16};
	struct sandbox_result res;
	struct tj_error err;
	_cleanup_free_ char *answer = NULL;
	size_t alen = 0;
	cJSON *doc = NULL;

	*status = SANDBOX_LOST;
	*exit_code = -1;
	if (sandbox_exec(sb, &cmd, &res, &err) < 0)
		return NULL;
	*status = res.status;
	*exit_code = res.exit_code;
	if (res.status == SANDBOX_EXITED && res.exit_code == 0 &&
	    sandbox_helper_run(sb, version_in_helper, &(struct version_input){res.out, res.out_len},
	                       VERSION_ANSWER_MAX, 10000, &answer, &alen, &err) == 0)
		doc = step_version_answer_read(answer, alen);
	sandbox_result_free(&res);
	return doc;
}
