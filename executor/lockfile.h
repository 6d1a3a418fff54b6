/* The upload's dependency lock file (.terraform.lock.hcl).  Under policy
 * providers.lock_file "honor" it stays in the workspace and init runs with
 * -lockfile=readonly: terraform then selects the locked versions from the
 * read-only mirror and verifies the mirror's packages against the recorded
 * checksums, and never rewrites the file.  A lock file the mirror cannot
 * satisfy is a configuration terraform rejects: ValidationError. */
#ifndef TFJAIL_EXECUTOR_LOCKFILE_H
#define TFJAIL_EXECUTOR_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "executor/jobstate.h"
#include "runtime/sandbox.h"

#define LOCKFILE_NAME ".terraform.lock.hcl"

/* One provider block of a lock file. */
struct lockfile_entry {
	char addr[256];   /* "registry.terraform.io/hashicorp/aws" */
	char version[64]; /* "5.100.0" */
	char kinds[64];   /* the checksum kinds recorded: "h1:, zh:" */
};

/* Reads the provider blocks of a lock file's text: at most max, *n of them.
 * -1 if the text is not HCL. */
int lockfile_parse(const char *text, size_t len, struct lockfile_entry *out, size_t max, size_t *n);

/* Whether the job runs init with the upload's lock file: the policy honours
 * it and the directory terraform runs in has one. */
bool lockfile_in_use(const struct job *j);

/* init failed with the lock file in use: when the lock file is why (a
 * locked version the mirror lacks, a checksum mismatch, a provider it does
 * not list), sets the job's outcome naming the provider, the locked version,
 * the checksum kinds and the mirror's versions, and returns true. */
bool lockfile_explain_failure(struct job *j, const struct job_tools *tools,
                              const struct sandbox_result *init);

#endif
