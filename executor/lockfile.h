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

#include "common/error.h"
#include "executor/jobstate.h"
#include "runtime/sandbox.h"

#define LOCKFILE_NAME ".terraform.lock.hcl"

#define LOCKFILE_MAX_ENTRIES 64

/* One provider block of a lock file. */
struct lockfile_entry {
	char addr[256];   /* "registry.terraform.io/hashicorp/aws" */
	char version[64]; /* "5.100.0" */
	char kinds[64];   /* the checksum kinds recorded: "h1:, zh:" */
};

/* What the job needs of the lock file terraform reads: read and parsed in
 * the sandbox (lockfile_read, by the scan worker), checked on the host
 * (lockfile_entry_ok) before it is quoted or used. */
struct lockfile_summary {
	bool valid; /* false: not HCL, or a field that is not an address or a version */
	size_t n;
	struct lockfile_entry e[LOCKFILE_MAX_ENTRIES];
};

/* Reads the provider blocks of a lock file's text: at most max, *n of them.
 * -1 if the text is not HCL. */
int lockfile_parse(const char *text, size_t len, struct lockfile_entry *out, size_t max, size_t *n);

/* In the sandbox: the lock file of <dirfd>/<workdir> (workdir relative, NULL
 * or "" for the directory itself), opened beneath dirfd (never through a
 * link), a regular file of at most 1 MiB.  1: read into *out (valid or not);
 * 0: there is none; -1: it cannot be read (err). */
int lockfile_read(int dirfd, const char *workdir, struct lockfile_summary *out, struct tj_error *err);

/* On the host: an entry whose fields are what the parser gives for a valid
 * lock file (an address, a version, checksum kinds; printable, bounded). */
bool lockfile_entry_ok(const struct lockfile_entry *e);

/* Whether the job runs init with the upload's lock file: the policy honours
 * it and the directory terraform runs in has one (the scan worker said so). */
bool lockfile_in_use(const struct job *j);

/* init failed with the lock file in use: when the lock file is why (a
 * locked version the mirror lacks, a checksum mismatch, a provider it does
 * not list), sets the job's outcome naming the provider, the locked version,
 * the checksum kinds and the mirror's versions, and returns true. */
bool lockfile_explain_failure(struct job *j, const struct job_tools *tools,
                              const struct sandbox_result *init);

#endif
