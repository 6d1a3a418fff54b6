/* The job launcher: a single-threaded process forked by `tfjail serve`
 * before any thread exists.  The sandbox runtime clones its sandboxes with a
 * raw clone, which a threaded process must not do, so jobs never run in the
 * HTTP server's process: the launcher forks one worker process per job, which
 * opens the runtime, runs job_run() and writes the ExecutionResponse back on
 * a pipe.  A worker that dies without a result is reported as CRASHED; the
 * launcher and the server live on.
 *
 * The launcher talks to the server over a socketpair (api/msg.h messages):
 * it answers HELLO once (runtime opened, terraform version found inside a
 * sandbox), then STARTED and RESULT/CRASHED/ABORTED/CANCELLED for each RUN.
 * A RUN carries the policy in force at admission and the upload as an open
 * descriptor; CANCEL(id) drops a queued job or kills a running one.  At most
 * max_concurrent workers run; further RUNs wait in the launcher's queue (the
 * server bounds it).  SHUTDOWN(grace): queued jobs are ABORTED, running ones
 * may finish within the grace period and are then killed (their sandboxes die
 * with them: PDEATHSIG, and the launcher is their subreaper), job cgroups
 * left by killed workers are swept, and the launcher exits.  End of stream
 * from the server is SHUTDOWN with no grace. */
#ifndef TFJAIL_API_LAUNCHER_H
#define TFJAIL_API_LAUNCHER_H

#include <sys/types.h>

#include "common/error.h"
#include "executor/job.h"
#include "policy/policy.h"
#include "runtime/sandbox.h"

struct api_launcher_config {
	const struct tj_policy *policy;
	const struct job_tools *tools;
	const struct job_host *host;
	unsigned max_concurrent;
};

/* Forks the spawner, a single-threaded process that forks launchers on
 * request: call it before the server starts any thread.  *fd is the
 * server's end of its socket; closing it ends the spawner. */
int api_spawner_start(const struct api_launcher_config *c, pid_t *pid, int *fd, struct tj_error *err);
/* Asks the spawner for a new launcher (safe from any thread, one caller at
 * a time).  *fd is the server's end of the launcher's socketpair; the first
 * frame on it is HELLO.  The launcher is the spawner's child, reaped there;
 * its end shows as the end of stream on *fd. */
int api_launcher_spawn(int spawner, pid_t *pid, int *fd, struct tj_error *err);

#endif
