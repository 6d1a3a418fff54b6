/* The static scan, run inside the job's sandbox on the workspace copy (the
 * bytes terraform will read), never on the host.
 *
 *   scanbox_inspect   the sandbox's workspace_inspect callback: runs the scan
 *                     as the sandbox's unprivileged uid, under seccomp, and
 *                     writes {"violations":[...]} (at most `max` bytes; the
 *                     last violations are dropped and "truncated":true set
 *                     if they do not fit).
 *   scanbox_result    on the host: checks those bytes (bounded; an object of
 *                     violations whose fields have the expected types, and
 *                     nothing else) and applies them to the job. */
#ifndef TFJAIL_EXECUTOR_SCANBOX_H
#define TFJAIL_EXECUTOR_SCANBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "executor/jobstate.h"

/* ctx: the job's const struct tj_policy *. */
ssize_t scanbox_inspect(const char *workspace, void *ctx, char *out, size_t max, struct tj_error *err);
/* Sets the job's violations and, for an error-severity one, its outcome
 * (PolicyViolation); a malformed result is an InternalError. */
void scanbox_result(struct job *j, const char *bytes, size_t len);

#endif
