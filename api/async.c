#include "api/async.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "api/jobdoc.h"
#include "executor/response.h"

#define EXEC_PREFIX  "exec-"
#define POLL_MS      200
#define MAX_RENEW_MS 1000

/* A job this host runs: the dispatcher's handle and the launcher's ticket. */
struct run {
	struct api_async *a;
	uint64_t handle;
	char *store_id, *request; /* for the error response of a crash */
	uint64_t ticket;          /* 0 until submitted */
	struct run *next;
};

/* An execute waiting for its job to be final. */
struct waiter {
	uint64_t ticket;
	char id[API_STORE_ID_MAX + 1];
	api_job_done_fn done;
	void *ctx;
	bool abandoned;
	struct waiter *next;
};

/* The upload of an execute admitted here, opened at admission, until the
 * job's run here takes it (or the execute ends).  Apart from the waiters:
 * it is there before the store has the job, and while the waiters are
 * being polled, so a dispatcher that claims the job at once never opens
 * the upload again by its name. */
struct admitted {
	char id[API_STORE_ID_MAX + 1];
	int fd;
	struct admitted *next;
};

struct api_async {
	struct api_async_config c;
	struct api_store *store;
	struct api_dispatch *disp;
	atomic_bool store_up;
	pthread_mutex_t lock; /* runs, waiters, poked, stopping */
	pthread_cond_t wake;
	struct run *runs;
	struct waiter *waiters;
	struct admitted *admitted; /* under lock */
	uint64_t next_ticket;
	uint64_t exec_seed;
	bool poked, stopping;
	/* while the poller has the waiters off the list: the tickets whose
	 * clients went meanwhile, marked when the waiters go back */
	bool polling;
	uint64_t *gone;
	size_t n_gone, cap_gone;
	pthread_t poller;
	bool poller_started;
};

static void note_store(struct api_async *a, int rc)
{
	atomic_store(&a->store_up, rc == 0);
}

/* ------------------------------------------------------------ the runner */

/* "exec-<hex>.<request id>" -> the request id; another id is its own. */
static const char *request_id_of(const char *store_id)
{
	const char *dot;

	if (strncmp(store_id, EXEC_PREFIX, strlen(EXEC_PREFIX)) == 0 && (dot = strchr(store_id, '.')))
		return dot + 1;
	return store_id;
}

static char *runner_error(void *ctx, const char *store_id, const char *request, const char *why)
{
	struct api_async *a = ctx;
	const struct tj_policy *p;
	const char *text;
	size_t len;
	struct api_request_limits lim;
	struct api_exec_request req;
	char msg[512], parse_msg[64];
	cJSON *r;
	char *out;

	a->c.hooks.policy(a->c.hooks.ctx, &p, &text, &len, &lim);
	r = job_response_new(
	    api_request_parse(request, strlen(request), &lim, &req, parse_msg, sizeof(parse_msg)) == 0
	        ? req.job_id
	        : store_id,
	    p);
	if (!r)
		return NULL;
	snprintf(msg, sizeof(msg), "tfjail could not finish the job: %s", why);
	job_response_set_outcome(r, "FAILED", "InternalError", msg);
	cJSON_AddStringToObject(r, "request_id", request_id_of(store_id));
	out = cJSON_PrintUnformatted(r);
	cJSON_Delete(r);
	return out;
}

static struct run *find_run(struct api_async *a, uint64_t handle, bool unlink)
{
	struct run **pp = &a->runs;

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->handle == handle) {
			struct run *r = *pp;
			if (unlink)
				*pp = r->next;
			return r;
		}
	return NULL;
}

static void run_free(struct run *r)
{
	free(r->store_id);
	free(r->request);
	free(r);
}

/* The launcher's end of a job (its reader thread): to the dispatcher. */
static void run_done(void *ctx, struct api_job_result *res)
{
	struct run *r = ctx;
	struct api_async *a = r->a;
	char *text = NULL;
	if (res) {
		a->c.hooks.job_ended(a->c.hooks.ctx, res);
		if (res->outcome == API_JOB_RESULT)
			text = strndup(res->response, res->response_len);
		else if (res->outcome == API_JOB_CRASHED)
			text = runner_error(a, r->store_id, r->request,
			                    res->why ? res->why : "the job process failed");
	}
	pthread_mutex_lock(&a->lock);
	find_run(a, r->handle, true);
	pthread_mutex_unlock(&a->lock);
	api_dispatch_done(a->disp, r->handle, text);
	free(text);
	api_job_result_free(res);
	run_free(r);
}

static int take_admitted_upload(struct api_async *a, const char *store_id)
{
	int fd = -1;

	pthread_mutex_lock(&a->lock);
	for (struct admitted **p = &a->admitted; *p; p = &(*p)->next)
		if (strcmp((*p)->id, store_id) == 0) {
			struct admitted *u = *p;
			fd = u->fd;
			*p = u->next;
			free(u);
			break;
		}
	pthread_mutex_unlock(&a->lock);
	return fd;
}

/* The admitted upload of an execute that has ended, if no run took it. */
static void drop_admitted_upload(struct api_async *a, const char *store_id)
{
	int fd = take_admitted_upload(a, store_id);

	if (fd >= 0)
		close(fd);
}

static int runner_start(void *ctx, uint64_t handle, const char *store_id, const char *request,
                        struct tj_error *err)
{
	struct api_async *a = ctx;
	const struct tj_policy *p;
	const char *ptext;
	size_t plen;
	struct api_request_limits lim;
	struct api_exec_request req;
	char msg[256];
	struct run *r;
	uint64_t ticket = 0;
	enum api_submit sub;
	int fd;

	a->c.hooks.policy(a->c.hooks.ctx, &p, &ptext, &plen, &lim);
	if (api_request_parse(request, strlen(request), &lim, &req, msg, sizeof(msg)) < 0)
		return tj_error_set(
		    err, EINVAL, "the stored request is invalid here: %s",
		    msg); /* an execute admitted here runs on the upload as it was opened then */
	fd = take_admitted_upload(a, store_id);
	if (fd < 0)
		fd = a->c.hooks.open_upload(a->c.hooks.ctx, req.upload_id);
	if (fd < 0)
		return tj_error_set(err, ENOENT,
		                    "upload_id '%s' is not in this host's uploads volume (every host must "
		                    "mount the same volume at the same path)",
		                    req.upload_id);
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return tj_error_set(err, ENOMEM, "out of memory");
	}
	*r = (struct run){.a = a, .handle = handle, .store_id = strdup(store_id), .request = strdup(request)};
	if (!r->store_id || !r->request) {
		close(fd);
		run_free(r);
		return tj_error_set(err, ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&a->lock);
	r->next = a->runs;
	a->runs = r;
	pthread_mutex_unlock(&a->lock);
	sub = api_jobs_submit(a->c.jobs,
	                      &(struct api_job_spec){
	                          .job_id = req.job_id,
	                          .upload_id = req.upload_id,
	                          .working_dir = *req.working_dir ? req.working_dir : NULL,
	                          .request_id = request_id_of(store_id),
	                          .variables_json = req.variables_json,
	                          .variables_json_len = req.variables_json_len,
	                          .policy_text = ptext,
	                          .policy_len = plen,
	                          .upload_fd = fd,
	                      },
	                      run_done, r, &ticket);
	pthread_mutex_lock(&a->lock);
	if (sub != API_SUBMIT_OK) {
		find_run(a, handle, true);
		run_free(r);
	} else if (find_run(a, handle, false)) {
		r->ticket = ticket; /* unless it has ended already */
	}
	pthread_mutex_unlock(&a->lock);
	if (sub != API_SUBMIT_OK)
		return tj_error_set(err, EBUSY, "the job launcher did not take the job (%s)",
		                    sub == API_SUBMIT_STOPPING ? "stopping" : "full");
	return 0;
}

static void runner_kill(void *ctx, uint64_t handle)
{
	struct api_async *a = ctx;
	struct run *r;
	uint64_t ticket = 0;

	pthread_mutex_lock(&a->lock);
	r = find_run(a, handle, false);
	if (r)
		ticket = r->ticket;
	pthread_mutex_unlock(&a->lock);
	if (ticket)
		api_jobs_cancel(a->c.jobs, ticket);
}

static void runner_published(void *ctx, const char *store_id)
{
	struct api_async *a = ctx;

	pthread_mutex_lock(&a->lock);
	a->poked = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
}

/* ------------------------------------------------------------ waiters */

/* An api_job_result (api/jobs.h) from a final stored job, so that execute
 * answers as it always has. */
static struct api_job_result *result_of(const struct api_store_job *j, enum api_job_outcome outcome,
                                        const char *why)
{
	struct api_job_result *res = calloc(1, sizeof(*res));
	cJSON *o = NULL;
	const char *status = "", *etype = NULL;
	size_t rlen = j && j->result ? strlen(j->result) : 0, slen, elen, wlen = why ? strlen(why) : 0;
	char *p;

	if (!res)
		return NULL;
	if (outcome == API_JOB_RESULT) {
		o = cJSON_Parse(j->result);
		status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
		etype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error_type"));
		status = status ? status : "FAILED";
	}
	slen = strlen(status);
	elen = etype ? strlen(etype) : 0;
	res->payload = p = malloc(rlen + slen + elen + wlen + 4);
	if (!p) {
		cJSON_Delete(o);
		free(res);
		return NULL;
	}
	res->outcome = outcome;
	res->response = memcpy(p, rlen && j ? j->result : "", rlen + 1);
	res->response_len = rlen;
	p += rlen + 1;
	res->status = memcpy(p, status, slen + 1);
	p += slen + 1;
	res->error_type = etype ? memcpy(p, etype, elen + 1) : NULL;
	p += elen + 1;
	res->why = why ? memcpy(p, why, wlen + 1) : NULL;
	if (j) {
		res->started = j->started_ms != 0;
		if (j->started_ms >= j->queued_ms && j->started_ms)
			res->queue_wait_s = (double)(j->started_ms - j->queued_ms) / 1000;
		if (j->finished_ms >= j->started_ms && j->started_ms)
			res->run_s = (double)(j->finished_ms - j->started_ms) / 1000;
	}
	cJSON_Delete(o);
	return res;
}

/* Under the lock: takes the waiters to answer (final, abandoned, or all
 * when stopping) off the list; the store is asked outside the lock. */
static void poll_waiters(struct api_async *a)
{
	struct waiter *list, *keep = NULL, *w, *next;
	bool stopping;

	pthread_mutex_lock(&a->lock);
	list = a->waiters;
	a->waiters = NULL;
	a->polling = true;
	stopping = a->stopping;
	pthread_mutex_unlock(&a->lock);
	for (w = list; w; w = next) {
		struct api_store_job j;
		struct api_job_result *res = NULL;
		struct tj_error err = {0};
		bool found = false, answered = true;
		int rc;

		next = w->next;
		if (w->abandoned) {
			enum api_store_cancel c = API_STORE_CANCEL_UNKNOWN;
			note_store(a, api_store_cancel(a->store, w->id, &c, &err));
			res = result_of(NULL, API_JOB_CANCELLED, "the client has gone");
			/* a running one is counted where it is killed (job_ended) */
			if (res)
				res->started = c == API_STORE_CANCEL_REQUESTED;
		} else if ((rc = api_store_get(a->store, w->id, &j, &found, &err)) < 0) {
			note_store(a, rc);
			answered = stopping;
			if (stopping)
				res = result_of(NULL, API_JOB_ABORTED, "the service is shutting down");
		} else {
			note_store(a, 0);
			if (found && j.state == API_STORE_DONE)
				res = result_of(&j, API_JOB_RESULT, NULL);
			else if (found && j.state == API_STORE_CANCELLED)
				res = result_of(&j, API_JOB_CANCELLED, "the job was cancelled");
			else if (!found)
				res =
				    result_of(NULL, API_JOB_ABORTED, "the job is no longer in the job store");
			else if (stopping) {
				/* nobody reads this execute's result: no host runs it */
				enum api_store_cancel c;
				api_store_cancel(a->store, w->id, &c, &err);
				res = result_of(NULL, API_JOB_ABORTED, "the service is shutting down");
			} else {
				answered = false;
			}
			if (found)
				api_store_job_free(&j);
		}
		if (!answered) {
			w->next = keep;
			keep = w;
			continue;
		}
		w->done(w->ctx, res);
		drop_admitted_upload(a, w->id);
		free(w);
	}
	pthread_mutex_lock(&a->lock);
	while (keep) {
		w = keep;
		keep = w->next;
		for (size_t i = 0; i < a->n_gone; i++)
			if (a->gone[i] == w->ticket) {
				w->abandoned = true;
				a->poked = true; /* answered in the next round, at once */
			}
		w->next = a->waiters;
		a->waiters = w;
	}
	a->n_gone = 0;
	a->polling = false;
	pthread_mutex_unlock(&a->lock);
}

static void *poller_main(void *arg)
{
	struct api_async *a = arg;

	for (;;) {
		struct timespec ts;
		bool stop;

		poll_waiters(a);
		pthread_mutex_lock(&a->lock);
		stop = a->stopping && !a->waiters;
		if (!stop && !a->poked) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += POLL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&a->wake, &a->lock, &ts);
		}
		a->poked = false;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			return NULL;
	}
}

/* ------------------------------------------------------------ start, stop */

int api_async_start(const struct api_async_config *c, struct api_async **out, struct tj_error *err)
{
	struct api_async *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;
	struct api_dispatch_runner runner;
	struct api_dispatch_options o;

	if (!a)
		return tj_error_set(err, ENOMEM, "out of memory");
	a->c = *c;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (getrandom(&a->exec_seed, sizeof(a->exec_seed), 0) != sizeof(a->exec_seed))
		a->exec_seed = tj_now_us() ^ (uint64_t)getpid() << 32;
	if (api_store_open(c->store, &a->store, err) < 0) {
		tj_error_prefix(err, "the job store");
		goto fail;
	}
	atomic_store(&a->store_up, true);
	runner = (struct api_dispatch_runner){.ctx = a,
	                                      .start = runner_start,
	                                      .kill = runner_kill,
	                                      .error_result = runner_error,
	                                      .published = runner_published};
	/* renew often enough that a lease never runs out by accident, and a
	 * cancel reaches the job within a second */
	o = (struct api_dispatch_options){.slots = c->slots, .poll_ms = 100};
	o.renew_ms = a->store->opt.lease_ms / 3 < MAX_RENEW_MS ? a->store->opt.lease_ms / 3 : MAX_RENEW_MS;
	if (api_dispatch_start(a->store, &runner, &o, &a->disp, err) < 0)
		goto fail;
	if (pthread_create(&a->poller, NULL, poller_main, a) != 0) {
		tj_error_set(err, EAGAIN, "start the job waiters' thread");
		api_dispatch_stop(a->disp, 0);
		api_dispatch_free(a->disp);
		goto fail;
	}
	a->poller_started = true;
	*out = a;
	return 0;
fail:
	while (a->admitted) {
		struct admitted *u = a->admitted;
		a->admitted = u->next;
		close(u->fd);
		free(u);
	}
	api_store_close(a->store);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return -1;
}

void api_async_drain(struct api_async *a, unsigned grace_s)
{
	api_dispatch_stop(a->disp, (uint64_t)grace_s * 1000);
}

/* The embedded store ends with this process: say what it takes along. */
static void forget_embedded(struct api_async *a)
{
	struct api_store_stats st;
	struct tj_error err = {0};

	if (strcmp(a->store->ops->scheme, "embedded") != 0 || api_store_stats(a->store, &st, &err) < 0 ||
	    st.queued + st.running == 0)
		return;
	fprintf(stderr,
	        "tfjail: the embedded job store forgets %" PRIu64 " unfinished job(s) (queued, or killed by "
	        "the shutdown): after the restart GET answers 404 for them and their clients must submit "
	        "them again\n",
	        st.queued + st.running);
}

void api_async_free(struct api_async *a)
{
	if (!a)
		return;
	api_dispatch_free(a->disp);
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	a->poked = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (a->poller_started)
		pthread_join(a->poller, NULL);
	forget_embedded(a);
	while (a->runs) {
		struct run *r = a->runs;
		a->runs = r->next;
		run_free(r);
	}
	api_store_close(a->store);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a->gone);
	free(a);
}

/* ------------------------------------------------------------ endpoints */

static enum api_async_answer store_failed(struct api_async *a, const struct tj_error *err, char *msg,
                                          size_t msglen)
{
	note_store(a, -1);
	snprintf(msg, msglen, "%s", err->msg);
	return err->errnum == EAGAIN ? API_ASYNC_UNAVAILABLE : API_ASYNC_FAILED;
}

/* 429 when a job would wait here beyond the queue: this host has no free
 * slot and the store holds queue_size queued jobs already. */
static enum api_async_answer admit(struct api_async *a, char *msg, size_t msglen)
{
	struct api_store_stats st;
	struct api_dispatch_stats ds;
	struct tj_error err = {0};

	if (api_store_stats(a->store, &st, &err) < 0)
		return store_failed(a, &err, msg, msglen);
	note_store(a, 0);
	api_dispatch_stats(a->disp, &ds);
	if (ds.running >= a->c.slots && st.queued >= a->c.queue_size) {
		snprintf(msg, msglen,
		         "the job queue is full (%u running here, %" PRIu64 " queued); retry later",
		         ds.running, st.queued);
		return API_ASYNC_QUEUE_FULL;
	}
	return API_ASYNC_ACCEPTED;
}

static enum api_async_answer document(struct api_async *a, const char *id, cJSON **doc, char *msg,
                                      size_t msglen)
{
	struct api_store_job j;
	struct tj_error err = {0};
	bool found;

	*doc = NULL;
	if (api_store_get(a->store, id, &j, &found, &err) < 0)
		return store_failed(a, &err, msg, msglen);
	note_store(a, 0);
	if (!found)
		return API_ASYNC_ACCEPTED;
	*doc = api_jobdoc_build(&j);
	api_store_job_free(&j);
	if (!*doc) {
		snprintf(msg, msglen, "the stored job '%s' could not be read", id);
		return API_ASYNC_FAILED;
	}
	return API_ASYNC_ACCEPTED;
}

enum api_async_answer api_async_submit(struct api_async *a, const struct api_exec_request *req,
                                       const char *body, size_t len, cJSON **doc, char *msg, size_t msglen)
{
	struct api_store_job j;
	struct tj_error err = {0};
	enum api_store_submit sub;
	enum api_async_answer r;
	char sha[65];
	bool found;

	*doc = NULL;
	/* an existing job is answered whatever the queue holds */
	if (api_store_get(a->store, req->job_id, &j, &found, &err) < 0)
		return store_failed(a, &err, msg, msglen);
	if (found) {
		tj_sha256_hex(body, len, sha);
		sub = strcmp(sha, j.body_sha256) == 0 ? API_STORE_EXISTS : API_STORE_CONFLICT;
		api_store_job_free(&j);
	} else {
		if ((r = admit(a, msg, msglen)) != API_ASYNC_ACCEPTED)
			return r;
		if (api_store_submit(a->store, req->job_id, body, &sub, &err) < 0)
			return store_failed(a, &err, msg, msglen);
		api_dispatch_poke(a->disp);
	}
	if (sub == API_STORE_CONFLICT) {
		snprintf(msg, msglen, "job_id '%s' exists with another request body", req->job_id);
		return API_ASYNC_CONFLICT;
	}
	return document(a, req->job_id, doc, msg, msglen);
}

enum api_async_answer api_async_get(struct api_async *a, const char *id, cJSON **doc, char *msg,
                                    size_t msglen)
{
	return document(a, id, doc, msg, msglen);
}

enum api_async_answer api_async_cancel(struct api_async *a, const char *id, cJSON **doc, char *msg,
                                       size_t msglen)
{
	struct tj_error err = {0};
	enum api_store_cancel c;

	*doc = NULL;
	if (api_store_cancel(a->store, id, &c, &err) < 0)
		return store_failed(a, &err, msg, msglen);
	if (c == API_STORE_CANCEL_UNKNOWN)
		return API_ASYNC_ACCEPTED;
	/* a job running here hears of it now, not at its next renewal */
	if (c == API_STORE_CANCEL_REQUESTED)
		api_dispatch_check_now(a->disp);
	return document(a, id, doc, msg, msglen);
}

enum api_async_answer api_async_execute(struct api_async *a, const struct api_exec_request *req,
                                        const char *body, size_t len, const char *request_id, int upload_fd,
                                        api_job_done_fn done, void *ctx, uint64_t *ticket, char *msg,
                                        size_t msglen)
{
	struct tj_error err = {0};
	enum api_store_submit sub;
	enum api_async_answer r;
	struct waiter *w;
	struct admitted *u;
	uint64_t seq;

	(void)req;
	(void)len;
	if ((r = admit(a, msg, msglen)) != API_ASYNC_ACCEPTED) {
		close(upload_fd);
		return r;
	}
	w = calloc(1, sizeof(*w));
	u = calloc(1, sizeof(*u));
	if (!w || !u) {
		free(w);
		free(u);
		close(upload_fd);
		snprintf(msg, msglen, "out of memory");
		return API_ASYNC_FAILED;
	}
	pthread_mutex_lock(&a->lock);
	seq = ++a->next_ticket;
	/* an id of its own: an execute is never a resubmission */
	snprintf(w->id, sizeof(w->id), EXEC_PREFIX "%016" PRIx64 ".%.100s", a->exec_seed + seq, request_id);
	/* before the store has the job: a dispatcher may claim it at once */
	memcpy(u->id, w->id, sizeof(u->id));
	u->fd = upload_fd;
	u->next = a->admitted;
	a->admitted = u;
	pthread_mutex_unlock(&a->lock);
	if (api_store_submit(a->store, w->id, body, &sub, &err) < 0) {
		drop_admitted_upload(a, w->id);
		free(w);
		return store_failed(a, &err, msg, msglen);
	}
	note_store(a, 0);
	w->ticket = seq;
	w->done = done;
	w->ctx = ctx;
	*ticket = seq;
	pthread_mutex_lock(&a->lock);
	w->next = a->waiters;
	a->waiters = w;
	pthread_mutex_unlock(&a->lock);
	api_dispatch_poke(a->disp);
	return API_ASYNC_ACCEPTED;
}

void api_async_abandon(struct api_async *a, uint64_t ticket)
{
	bool found = false;

	pthread_mutex_lock(&a->lock);
	for (struct waiter *w = a->waiters; w; w = w->next)
		if (w->ticket == ticket)
			found = w->abandoned = true;
	/* the poller has it in hand: it is marked when it goes back */
	if (!found && a->polling) {
		if (a->n_gone == a->cap_gone) {
			size_t nc = a->cap_gone ? 2 * a->cap_gone : 16;
			uint64_t *ng = realloc(a->gone, nc * sizeof(*ng));
			if (ng) {
				a->gone = ng;
				a->cap_gone = nc;
			}
		}
		if (a->n_gone < a->cap_gone)
			a->gone[a->n_gone++] = ticket;
	}
	a->poked = true;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	/* a job running here is killed at once */
	api_dispatch_check_now(a->disp);
}

/* ------------------------------------------------------------ health, metrics */

void api_async_stats(struct api_async *a, struct api_async_stats *st)
{
	struct tj_error err = {0};

	memset(st, 0, sizeof(*st));
	note_store(a, api_store_stats(a->store, &st->store, &err));
	st->store_up = atomic_load(&a->store_up);
	api_dispatch_stats(a->disp, &st->dispatch);
}

void api_async_describe(struct api_async *a, char *buf, size_t len)
{
	api_store_describe(a->store, buf, len);
}

void api_async_metrics(struct api_async *a, struct tj_buf *b)
{
	struct api_async_stats st;

	api_async_stats(a, &st);
	tj_buf_printf(
	    b,
	    "# HELP tfjail_store_up Whether the job store answered (1) or is unreachable (0).\n"
	    "# TYPE tfjail_store_up gauge\n"
	    "tfjail_store_up %d\n"
	    "# HELP tfjail_store_jobs Jobs in the job store by state (a fleet's store: the whole fleet).\n"
	    "# TYPE tfjail_store_jobs gauge\n"
	    "tfjail_store_jobs{state=\"QUEUED\"} %" PRIu64 "\n"
	    "tfjail_store_jobs{state=\"RUNNING\"} %" PRIu64 "\n"
	    "# HELP tfjail_store_oldest_queued_age_seconds Age of the oldest queued job.\n"
	    "# TYPE tfjail_store_oldest_queued_age_seconds gauge\n"
	    "tfjail_store_oldest_queued_age_seconds %.3f\n"
	    "# HELP tfjail_store_jobs_finished_total Jobs that reached a final state in the store.\n"
	    "# TYPE tfjail_store_jobs_finished_total counter\n"
	    "tfjail_store_jobs_finished_total{state=\"DONE\"} %" PRIu64 "\n"
	    "tfjail_store_jobs_finished_total{state=\"CANCELLED\"} %" PRIu64 "\n",
	    st.store_up ? 1 : 0, st.store.queued, st.store.running,
	    (double)st.store.oldest_queued_age_ms / 1000, st.store.done, st.store.cancelled);
	tj_buf_printf(b,
	              "# HELP tfjail_dispatch_claimed_total Jobs this host took from the store.\n"
	              "# TYPE tfjail_dispatch_claimed_total counter\n"
	              "tfjail_dispatch_claimed_total %" PRIu64 "\n"
	              "# HELP tfjail_dispatch_reclaimed_total Of those, jobs taken over from a host whose "
	              "lease ran out.\n"
	              "# TYPE tfjail_dispatch_reclaimed_total counter\n"
	              "tfjail_dispatch_reclaimed_total %" PRIu64 "\n"
	              "# HELP tfjail_dispatch_lost_total Jobs this host stopped because another host took "
	              "them over.\n"
	              "# TYPE tfjail_dispatch_lost_total counter\n"
	              "tfjail_dispatch_lost_total %" PRIu64 "\n"
	              "# HELP tfjail_dispatch_unpublished Results held until the store takes them.\n"
	              "# TYPE tfjail_dispatch_unpublished gauge\n"
	              "tfjail_dispatch_unpublished %u\n"
	              "# HELP tfjail_dispatch_store_errors_total Store calls of the dispatcher that failed.\n"
	              "# TYPE tfjail_dispatch_store_errors_total counter\n"
	              "tfjail_dispatch_store_errors_total %" PRIu64 "\n",
	              st.dispatch.claimed, st.dispatch.reclaimed, st.dispatch.lost, st.dispatch.unpublished,
	              st.dispatch.store_errors);
}
