/* The dispatcher: one thread per host that moves jobs between the job store
 * (api/store.h) and the host's job runner.
 *
 * Every poll_ms (or sooner, when a job ends) it
 *   1. publishes the results of jobs that ended: finish() in the store; a
 *      result the store cannot take now (Redis unreachable) is kept and
 *      published on a later round, so a job that ran is never lost;
 *   2. renews the lease of every running job every renew_ms; a job cancelled
 *      by a user is killed and finished CANCELLED, a job another host took
 *      over (this host was cut off longer than the lease) is killed and its
 *      result dropped, since the other host's is the one kept;
 *   3. claims new jobs while fewer than `slots` run here: a host takes work
 *      only while it has room, so a fleet balances itself.
 *
 * The runner starts a job and later reports its end with api_dispatch_done
 * (from any thread); kill() must make that end come soon. */
#ifndef TFJAIL_API_DISPATCH_H
#define TFJAIL_API_DISPATCH_H

#include <stdint.h>

#include "api/store.h"
#include "common/error.h"

struct api_dispatch_runner {
	void *ctx;
	/* Starts a job, named handle (non-zero) in kill and done; done may be
	 * called before start returns. */
	int (*start)(void *ctx, uint64_t handle, const char *job_id, const char *request,
	             struct tj_error *err);
	void (*kill)(void *ctx, uint64_t handle);
	/* The final ExecutionResponse (malloc'd JSON) of a job that could not
	 * start or ended without one: the runner's InternalError response. */
	char *(*error_result)(void *ctx, const char *job_id, const char *request, const char *why);
	/* A job's final state is in the store (optional: NULL). */
	void (*published)(void *ctx, const char *job_id);
};

struct api_dispatch_options {
	unsigned slots;    /* jobs run at once on this host */
	uint64_t poll_ms;  /* how often to look for work when idle */
	uint64_t renew_ms; /* lease renewal (and cancel check) period; below the store's lease */
};

struct api_dispatch_stats {
	unsigned running;     /* started here, not ended */
	unsigned unpublished; /* ended, result not yet in the store */
	uint64_t claimed;     /* since start */
	uint64_t reclaimed;   /* of those, taken over from a host that went silent */
	uint64_t published;
	uint64_t cancelled; /* killed on a user's cancel */
	uint64_t lost;      /* killed because another host took the job over */
	uint64_t released;  /* killed by the shutdown and handed back to the queue */
	uint64_t store_errors;
};

struct api_dispatch;

int api_dispatch_start(struct api_store *store, const struct api_dispatch_runner *runner,
                       const struct api_dispatch_options *o, struct api_dispatch **out, struct tj_error *err);
/* A job ended.  result: the ExecutionResponse JSON, or NULL when it was
 * killed (cancelled or lost) or gave none; the text is copied. */
void api_dispatch_done(struct api_dispatch *d, uint64_t handle, const char *result);
void api_dispatch_stats(struct api_dispatch *d, struct api_dispatch_stats *st);
/* Wakes the thread now (a job was submitted here). */
void api_dispatch_poke(struct api_dispatch *d);
/* Renews every lease now: a cancel reaches a job running here at once. */
void api_dispatch_check_now(struct api_dispatch *d);
/* Stops claiming, and waits up to grace_ms until every job running here
 * has ended and its result is published.  Jobs still running then are left
 * to their runner to kill: their end is not published, the job is released
 * instead (api_store_release: queued again at once, and another host runs
 * it without waiting for the lease; if the store cannot be reached then,
 * the lease runs out as for a host that died).  The thread goes on
 * publishing until api_dispatch_free. */
void api_dispatch_stop(struct api_dispatch *d, uint64_t grace_ms);
/* Publishes (or releases) once more what has ended since the last round,
 * joins the thread and frees; the runner must have ended every job. */
void api_dispatch_free(struct api_dispatch *d);

#endif
