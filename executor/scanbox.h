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
 *                     nothing else) and gives them back as a scan result. */
#ifndef TFJAIL_EXECUTOR_SCANBOX_H
#define TFJAIL_EXECUTOR_SCANBOX_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "executor/jobstate.h"
#include "policy/scan.h"

/* ctx: the const struct job * (its policy and workdir). */
ssize_t scanbox_inspect(const char *workspace, void *ctx, char *out, size_t max, struct tj_error *err);
/* The checked result (tj_scan_result_free), or NULL with the job's outcome
 * set (InternalError: a malformed result). */
struct tj_scan_result *scanbox_result(struct job *j, const char *bytes, size_t len);

#endif
