/* Jobs through the job store: POST/GET/DELETE /api/v1/jobs, and POST
 * /api/v1/execute on top of the same machinery (submit, then wait).
 *
 * This host's dispatcher (api/dispatch.h) claims jobs from the store while
 * it has free slots and runs them through the job launcher (api/jobs.h);
 * the store (api/store.h) is embedded, or a Redis shared by a fleet.  A job
 * submitted here may run on another host, and the other way round.
 *
 * A synchronous execute is a store job with an id of its own ("exec-...";
 * never deduplicated against the client's job_id), and a waiter that is
 * answered when the job is final: at once when it ran here, else at the
 * next poll of the store. */
#ifndef TFJAIL_API_ASYNC_H
#define TFJAIL_API_ASYNC_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/dispatch.h"
#include "api/jobs.h"
#include "api/request.h"
#include "api/store.h"
#include "common/error.h"
#include "common/util.h"
#include "policy/policy.h"

/* What the HTTP server lends: the uploads volume, the policy and request
 * limits in force, and the count of every job that ran here. */
struct api_async_hooks {
	void *ctx;
	/* <uploads_dir>/<upload_id> opened beneath the volume; -1 when missing */
	int (*open_upload)(void *ctx, const char *upload_id);
	void (*policy)(void *ctx, const struct tj_policy **p, const char **text, size_t *len,
	               struct api_request_limits *lim);
	/* a job that ran on this host ended (metrics) */
	void (*job_ended)(void *ctx, const struct api_job_result *res);
};

struct api_async_config {
	const struct api_store_options *store;
	struct api_jobs *jobs;
	unsigned slots;      /* max_concurrent_jobs */
	unsigned queue_size; /* queued jobs beyond which a busy host answers 429 */
	struct api_async_hooks hooks;
};

struct api_async;

int api_async_start(const struct api_async_config *c, struct api_async **out, struct tj_error *err);
/* SIGTERM: no new claims; running jobs may finish within grace_s and
 * publish.  Returns when they have, or at the end of the grace; the jobs
 * still running are then left to api_jobs_stop (killed; another host runs
 * them again after the lease). */
void api_async_drain(struct api_async *a, unsigned grace_s);
/* After api_jobs_stop: waiters not answered get ABORTED; frees. */
void api_async_free(struct api_async *a);

enum api_async_answer {
	API_ASYNC_ACCEPTED,    /* queued (or the same job existed): 202 */
	API_ASYNC_CONFLICT,    /* job_id with another body: 409 */
	API_ASYNC_QUEUE_FULL,  /* 429 */
	API_ASYNC_UNAVAILABLE, /* the store is unreachable: 503 */
	API_ASYNC_FAILED,      /* the store failed otherwise: 500 */
};

/* POST /api/v1/jobs with a body already validated (req read from it).
 * *doc: the job document (api/jobdoc.h) when ACCEPTED; msg: why otherwise. */
enum api_async_answer api_async_submit(struct api_async *a, const struct api_exec_request *req,
                                       const char *body, size_t len, cJSON **doc, char *msg, size_t msglen);
/* GET: *doc NULL when unknown or expired.  Returns UNAVAILABLE/FAILED (msg)
 * or ACCEPTED. */
enum api_async_answer api_async_get(struct api_async *a, const char *id, cJSON **doc, char *msg,
                                    size_t msglen);
/* DELETE: *doc is the job's document after the cancel, NULL when unknown. */
enum api_async_answer api_async_cancel(struct api_async *a, const char *id, cJSON **doc, char *msg,
                                       size_t msglen);

/* POST /api/v1/execute: submits and waits.  done is called once, from
 * another thread, with RESULT (the ExecutionResponse), CANCELLED or
 * ABORTED; never when the answer is not ACCEPTED.  upload_fd (taken over)
 * is the upload as opened at admission: the job runs on it when this host
 * claims the job; another host opens the upload by name on its volume. */
enum api_async_answer api_async_execute(struct api_async *a, const struct api_exec_request *req,
                                        const char *body, size_t len, const char *request_id, int upload_fd,
                                        api_job_done_fn done, void *ctx, uint64_t *ticket, char *msg,
                                        size_t msglen);
/* The execute's client has gone: its job is cancelled. */
void api_async_abandon(struct api_async *a, uint64_t ticket);

struct api_async_stats {
	bool store_up;
	struct api_store_stats store;
	struct api_dispatch_stats dispatch;
};
void api_async_stats(struct api_async *a, struct api_async_stats *st);
/* "embedded", "redis HOST:PORT db N, ..." (never a secret) */
void api_async_describe(struct api_async *a, char *buf, size_t len);
/* The store's and dispatcher's lines of /metrics. */
void api_async_metrics(struct api_async *a, struct tj_buf *b);

#endif
