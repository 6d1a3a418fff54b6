/* One job: an upload of untrusted Terraform in, an ExecutionResponse out.
 *
 *   1. the static policy scan (violations end the job, terraform never starts);
 *   2. one sandbox: the upload copied into its tmpfs workspace (without
 *      .terraform/, terraform.d/, the lock file, state files, CLI configs);
 *   3. terraform init, plan, show -json in that sandbox, with an environment
 *      built from nothing, providers only from the read-only mirror;
 *   4. the plan JSON normalised and hashed, the outcome classified.
 *
 * `validate` runs only when init or plan fails: plan performs the same
 * validation walk, so a job that plans succeeds exactly when the four-step
 * flow would, and a failing one reports validate's diagnostics as the
 * four-step flow does. */
#ifndef TFJAIL_EXECUTOR_JOB_H
#define TFJAIL_EXECUTOR_JOB_H

#include <cJSON.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"
#include "policy/policy.h"
#include "runtime/sandbox.h"

/* Where terraform and the provider mirror are on the host. */
struct job_tools {
	char terraform[PATH_MAX];
	char plugin_dir[PATH_MAX];
};

/* The host's side of a job that is not policy: filled at the edge (the
 * service's configuration file, the documented TFJAIL_* environment
 * overrides, flags: cli/settings.c) and passed down; nothing below reads the
 * environment.  NULL or 0 = found or the default. */
struct job_host {
	const char *terraform;     /* terraform binary, after the policy's mounts.terraform */
	const char *plugin_dir;    /* provider mirror, after the policy's mounts.plugin_dir */
	const char *cgroup_parent; /* an operator-prepared cgroup v2 parent for the job cgroups */
	uid_t uid_base;            /* first host uid of the sandboxes (default 1500000000) */
	uint32_t uid_slots;        /* sandboxes at once, two uids each (default 4096) */
};

/* "BASE:SLOTS" (BASE >= 65536, the range within 32-bit uids) into h. */
int job_host_parse_uid_range(const char *s, struct job_host *h, struct tj_error *err);

/* Finds terraform (policy mounts.terraform, host->terraform, $PATH) and the
 * provider mirror (policy mounts.plugin_dir, host->plugin_dir, then the
 * standard plugin directories and /opt/tf-plugins).  Never downloads. */
int job_tools_discover(const struct tj_policy *p, const struct job_host *host, struct job_tools *t,
                       struct tj_error *err);

/* Opens the sandbox runtime for jobs under this policy (its seccomp
 * additions) on this host (uid range, cgroup parent). */
int job_runtime_open(const struct tj_policy *policy, const struct job_host *host, struct sandbox_runtime **rt,
                     struct tj_error *err);

/* Copies the policy's upload and resource limits into a sandbox
 * configuration (the same for a job and for `tfjail run`). */
void job_sandbox_limits(const struct tj_policy *policy, struct sandbox_config *cfg);

/* Runs `terraform version -json` in a fresh sandbox (the binary is never run
 * outside one) and copies terraform's version ("1.11.4") into out. */
int job_terraform_version(struct sandbox_runtime *rt, const struct job_tools *tools, char *out, size_t len,
                          struct tj_error *err);

struct job_var {
	const char *name;
	const char *value; /* a string value */
};

struct job_request {
	const char *job_id;     /* NULL = generated */
	const char *upload_dir; /* host directory, read only; only a display name when upload_fd >= 0 */
	/* The upload as an O_PATH|O_DIRECTORY descriptor that the caller opened
	 * (the service: beneath its uploads directory, at admission); -1 = none,
	 * then job_run opens upload_dir once.  Either way the job works on that
	 * one descriptor from its start: it never resolves upload_dir by path
	 * again, so the checks, the module resolution and the sandbox's copy
	 * and scan read the same tree.  The caller keeps it (job_run dups it). */
	int upload_fd;
	const char *workdir; /* directory inside the upload to run in; NULL/"" = its root */
	const struct tj_policy *policy;
	const char *const *var_files; /* host files (.tfvars or .tfvars.json), in order */
	size_t n_var_files;
	const struct job_var *vars; /* NAME=VALUE strings */
	size_t n_vars;
	/* API: the raw bytes of the request's `variables` object exactly as the
	 * client sent them (validated strictly by the caller); written verbatim
	 * as a runner-owned .tfvars.json, so numbers and strings (\u0000
	 * included) reach terraform exactly.  NULL = none. */
	const char *variables_json;
	size_t variables_json_len;
	uint64_t timeout_s; /* 0 = policy limits.job_timeout */
	/* Called as each part of the job starts (done false) and ends (done
	 * true, with its exit code and duration): "scan", then terraform's
	 * steps.  NULL = silent.  The CLI shows it on stderr. */
	void (*on_step)(void *ctx, const char *step, bool done, int exit_code, uint64_t ms);
	void *on_step_ctx;
};

/* Runs the job.  Fills *response with the ExecutionResponse (whatever the
 * job's outcome, tfjail's own faults included as InternalError); returns -1
 * only if no response could be built at all (out of memory). */
int job_run(struct sandbox_runtime *rt, const struct job_tools *tools, const struct job_request *req,
            cJSON **response, struct tj_error *err);

/* A fresh job id: "job_" and 16 hex digits. */
void job_new_id(char out[32]);

/* Validates an ID per the contract: 1-128 of [A-Za-z0-9._-], not "." or "..". */
bool job_id_valid(const char *id);

/* Whether a path inside the upload is left out of the workspace copy
 * (.terraform/, terraform.d/, *.tfstate*, CLI configs; .terraform.lock.hcl
 * unless keep_lock_file: policy providers.lock_file "honor"). */
bool job_upload_excluded(const char *rel, bool keep_lock_file);
/* rel ("" = the upload itself) opened beneath the upload's descriptor with
 * openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS:
 * never a symlink, never outside; O_CLOEXEC added.  -1 with errno. */
int job_upload_openat(int upload_fd, const char *rel, int flags);
/* job_upload_excluded as the sandbox's workspace_exclude callback; ctx is
 * the job's policy. */
bool job_upload_exclude_cb(const char *rel, const struct stat *st, void *ctx);

#endif
