/* The state of one running job, shared by the pipeline (job.c) and the parts
 * it calls (steps, classification, variables, providers). */
#ifndef TFJAIL_EXECUTOR_JOBSTATE_H
#define TFJAIL_EXECUTOR_JOBSTATE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "executor/job.h"

struct tj_scan_result;
struct lockfile_summary;

struct job {
	const struct job_request *req;
	const struct tj_policy *policy;
	int upload_fd; /* the upload, opened once (job.h upload_fd); -1 = none */
	cJSON *resp;
	cJSON *steps;
	cJSON *diagnostics;
	struct tj_scan_result *scan; /* the static scan's result (block locations for the plan rules) */
	/* what the sandbox's scan worker found besides the scan (scanbox.h) */
	bool mirrored_modules;         /* the manifest of mirrored modules is in place */
	char *modules_unresolved;      /* a module call the mirror cannot serve: ValidationError */
	char *modules_failed;          /* the mirror could not be read: InternalError */
	struct lockfile_summary *lock; /* the lock file terraform will read; NULL: none */
	uint64_t t0;
	uint64_t deadline; /* ms, monotonic */
	bool done;
};

/* Sets the job's outcome once; later calls are ignored (the first cause
 * wins).  fmt NULL leaves error_message null. */
void job_outcome(struct job *j, const char *status, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
