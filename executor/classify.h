/* terraform's diagnostics, and what a failing init or plan means for the
 * job's error class. */
#ifndef TFJAIL_EXECUTOR_CLASSIFY_H
#define TFJAIL_EXECUTOR_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "executor/jobstate.h"
#include "policy/scan.h"
#include "runtime/sandbox.h"

/* Appends error and warning diagnostics from terraform's JSON to the job's:
 * either one document with "diagnostics" (validate -json, lines false) or
 * JSON lines with {"type":"diagnostic","diagnostic":{...}} (plan -json).
 * terraform's output is parsed in sb's parsing helper (runtime/helper.h),
 * without host privilege; the host checks the flat list it returns. */
void classify_collect_diagnostics(struct job *j, struct sandbox *sb, const char *out, size_t len, bool lines);

/* init or plan failed: sets the outcome as the four-step flow would
 * (validate's errors first, then the failing step's own). */
void classify_failure(struct job *j, struct sandbox *sb, const char *name,
                      const struct sandbox_result *failed, char *const envp[], const char *cwd);

/* The static scan found errors: the job's outcome by the strongest class
 * among them (InvalidUpload, PolicyViolation, ValidationError with a
 * diagnostic per parse error); nothing when it found none. */
void classify_scan(struct job *j, const struct tj_scan_result *scan);

#endif
