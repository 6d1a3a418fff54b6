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

/* Finds terraform (policy mounts.terraform, $TFJAIL_TERRAFORM, $PATH) and the
 * provider mirror (policy mounts.plugin_dir, $TFJAIL_PLUGIN_DIR, then the
 * standard plugin directories and /opt/tf-plugins).  Never downloads. */
int job_tools_discover(const struct tj_policy *p, struct job_tools *t, struct tj_error *err);

/* Opens the sandbox runtime for jobs under this policy (its seccomp
 * additions; $TFJAIL_CGROUP_PARENT names an operator-prepared parent for the
 * job cgroups). */
int job_runtime_open(const struct tj_policy *policy, struct sandbox_runtime **rt, struct tj_error *err);

/* Copies the policy's upload and resource limits into a sandbox
 * configuration (the same for a job and for `tfjail run`). */
void job_sandbox_limits(const struct tj_policy *policy, struct sandbox_config *cfg);

/* Runs `terraform version -json` in a fresh sandbox (the binary is never run
 * outside one) and copies terraform's version ("1.11.4") into out. */
int job_terraform_version(struct sandbox_runtime *rt, const struct job_tools *tools, char *out, size_t len,
			  struct tj_error *err);

struct job_var {
	const char *name;
	const char *value;       /* a string value */
};

struct job_request {
	const char *job_id;      /* NULL = generated */
	const char *upload_dir;  /* host directory, read only */
	const char *workdir;     /* directory inside the upload to run in; NULL/"" = its root */
	const struct tj_policy *policy;
	const char *const *var_files; /* host files (.tfvars or .tfvars.json), in order */
	size_t n_var_files;
	const struct job_var *vars;   /* NAME=VALUE strings */
	size_t n_vars;
	const cJSON *variables;  /* API: {NAME: JSON value}; NULL = none */
	uint64_t timeout_s;      /* 0 = policy limits.job_timeout */
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
 * (.terraform/, terraform.d/, .terraform.lock.hcl, *.tfstate*, CLI configs). */
bool job_upload_excluded(const char *rel);
/* job_upload_excluded as the sandbox's workspace_exclude callback. */
bool job_upload_exclude_cb(const char *rel, const struct stat *st, void *ctx);

#endif
