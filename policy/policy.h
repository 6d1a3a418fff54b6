/* Policy files: what a job may and may not do.
 *
 * A policy is one JSON file, read with cJSON and validated on load (unknown
 * keys, wrong types and out-of-range values are errors naming the file, the
 * JSON path and why).  Defaults come from one table.  policy/default.json is
 * the shipped default; docs/policy.md documents every key. */
#ifndef TFJAIL_POLICY_POLICY_H
#define TFJAIL_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "common/error.h"

/* Limits a job runs under (policy path "limits"). */
struct tj_policy_limits {
	uint64_t memory_bytes;     /* limits.memory: cgroup memory.max */
	double cpus;               /* limits.cpus: cpu.max quota in CPUs */
	uint64_t pids;             /* limits.pids: pids.max */
	uint64_t workspace_bytes;  /* limits.workspace_size: tmpfs /workspace */
	uint64_t tmp_bytes;        /* limits.tmp_size: tmpfs /tmp (provider sockets, HOME) */
	uint64_t step_timeout_s;   /* limits.step_timeout */
	uint64_t job_timeout_s;    /* limits.job_timeout */
	uint64_t output_bytes;     /* limits.output_size: captured bytes per stream */
	uint64_t nofile;           /* limits.nofile: RLIMIT_NOFILE */
};

/* Upload limits (policy path "upload"); exceeding one is rule upload-limit. */
struct tj_policy_upload {
	uint64_t max_files;        /* upload.max_files */
	uint64_t max_total_bytes;  /* upload.max_total_size */
	uint64_t max_file_bytes;   /* upload.max_file_size */
	uint64_t max_depth;        /* upload.max_depth: directory levels below the upload */
};

/* What a job does with the upload's .terraform.lock.hcl (policy path
 * "providers.lock_file"). */
enum tj_lock_file {
	TJ_LOCK_FILE_HONOR,  /* "honor": kept; init -lockfile=readonly verifies the mirror against it */
	TJ_LOCK_FILE_IGNORE, /* "ignore": left out of the workspace; the mirror decides */
};

/* Provider settings besides the allowed list (policy path "providers"). */
struct tj_policy_providers {
	enum tj_lock_file lock_file;
};

/* Host paths (policy path "mounts"). */
struct tj_policy_mounts {
	char *terraform;       /* terraform binary; "" = discover on PATH */
	char *plugin_dir;      /* provider mirror; "" = discover */
	char **ro_binds;       /* extra read-only binds, "SRC[:DST]" */
	size_t n_ro_binds;
};

struct tj_policy_seccomp {
	char *profile;         /* "default" */
	char **deny;           /* extra syscall names refused with EPERM */
	size_t n_deny;
};

struct tj_policy_rules; /* private to policy/, see policy/rules.h */

struct tj_policy {
	char *path;            /* file it came from, NULL for the built-in default */
	char *name;
	char sha256[65];       /* of the file's bytes (of the default's text for built-in) */
	int version;
	struct tj_policy_limits limits;
	struct tj_policy_upload upload;
	struct tj_policy_providers providers;
	struct tj_policy_mounts mounts;
	struct tj_policy_seccomp seccomp;
	char *module_mirror; /* modules.mirror: the operator's module mirror; "" = none */
	struct tj_policy_rules *rules;
};

/* Loads and validates a policy file; path NULL loads the built-in default. */
int tj_policy_load(const char *path, struct tj_policy **out, struct tj_error *err);
/* Same from memory; label names the source in error messages. */
int tj_policy_load_text(const char *text, size_t len, const char *label, struct tj_policy **out,
			struct tj_error *err);
void tj_policy_free(struct tj_policy *p);

/* What `tfjail policy check` reports: every error of a policy file (each
 * with its JSON path) and warnings about likely mistakes, in file order. */
struct tj_policy_issue {
	bool warning;
	char *path;    /* "limits.memory", "(top level)" */
	char *message; /* why */
};

struct tj_policy_issues {
	struct tj_policy_issue *v;
	size_t n;
	size_t n_errors;
};

/* Validates a policy like tj_policy_load_text, but goes on after an error:
 * 0 = checked (issues filled, maybe with errors), -1 = could not check (err). */
int tj_policy_check_text(const char *text, size_t len, const char *label, struct tj_policy_issues *out,
                         struct tj_error *err);
void tj_policy_issues_free(struct tj_policy_issues *is);

/* The text of policy/default.json, embedded at build time. */
const char *tj_policy_default_text(void);

/* The effective policy (every key, defaults filled in) as `policy show` prints it. */
cJSON *tj_policy_to_json(const struct tj_policy *p);

/* Normalises a provider source address as terraform does: "aws" and
 * "hashicorp/aws" become "registry.terraform.io/hashicorp/aws"; hostname,
 * namespace and type are lower-cased; the local name "terraform" is the
 * built-in "terraform.io/builtin/terraform".  -1 when the address is invalid. */
int tj_provider_normalize(const char *src, char *out, size_t outlen);

/* Whether the policy allows a provider source address (any accepted form). */
bool tj_policy_provider_allowed(const struct tj_policy *p, const char *source);

#endif
