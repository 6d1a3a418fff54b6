/* The embedded job store: the serve process's memory, one mutex.  Jobs sit
 * in one array in submission order, so the oldest queued job is the first
 * QUEUED one.  There is one host, so a lease never runs out: a job is lost
 * only with the process, and then so is everything else (a job released by
 * the shutdown included: nothing claims it before the process ends).  Final jobs are
 * swept result_ttl_s after they finished, on the next call. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/store.h"
#include "common/cleanup.h"

struct mem_job {
	struct api_store_job j;
	uint64_t lease; /* claim number while RUNNING */
};

struct mem_store {
	pthread_mutex_t lock;
	struct mem_job **jobs;
	size_t n, cap;
	uint64_t next_lease;
	uint64_t done, cancelled;
};

static struct mem_store *mem(struct api_store *s)
{
	return s->priv;
}

static bool is_final(enum api_store_state st)
{
	return st == API_STORE_DONE || st == API_STORE_CANCELLED;
}

static void mem_job_free(struct mem_job *m)
{
	api_store_job_free(&m->j);
	free(m);
}

/* Under the lock: drops final jobs whose time is up. */
static void sweep(struct api_store *s, uint64_t now)
{
	struct mem_store *m = mem(s);
	size_t k = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct mem_job *j = m->jobs[i];
		if (is_final(j->j.state) && j->j.finished_ms + s->opt.result_ttl_s * 1000 <= now)
			mem_job_free(j);
		else
			m->jobs[k++] = j;
	}
	m->n = k;
}

static struct mem_job *find(struct mem_store *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->jobs[i]->j.id, id) == 0)
			return m->jobs[i];
	return NULL;
}

static int dup_str(char **dst, const char *src, struct tj_error *err)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return tj_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int mem_open(struct api_store *s, struct tj_error *err)
{
	struct mem_store *m = calloc(1, sizeof(*m));

	if (!m)
		return tj_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&m->lock, NULL);
	s->priv = m;
	return 0;
}

static void mem_close(struct api_store *s)
{
	struct mem_store *m = mem(s);

	for (size_t i = 0; i < m->n; i++)
		mem_job_free(m->jobs[i]);
	free(m->jobs);
	pthread_mutex_destroy(&m->lock);
	free(m);
	s->priv = NULL;
}

static int add_job(struct mem_store *m, const char *id, const char *request, const char *sha, uint64_t now,
                   struct tj_error *err)
{
	struct mem_job *j;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct mem_job **p = realloc(m->jobs, cap * sizeof(*p));
		if (!p)
			return tj_error_set(err, ENOMEM, "out of memory");
		m->jobs = p;
		m->cap = cap;
	}
	j = calloc(1, sizeof(*j));
	if (!j || dup_str(&j->j.request, request, err) < 0) {
		free(j);
		return tj_error_set(err, ENOMEM, "out of memory");
	}
	snprintf(j->j.id, sizeof(j->j.id), "%s", id);
	snprintf(j->j.body_sha256, sizeof(j->j.body_sha256), "%s", sha);
	j->j.state = API_STORE_QUEUED;
	j->j.queued_ms = now;
	m->jobs[m->n++] = j;
	return 0;
}

static int mem_submit(struct api_store *s, const char *id, const char *request, const char *sha,
                      enum api_store_submit *out, struct tj_error *err)
{
	struct mem_store *m = mem(s);
	uint64_t now = api_store_now_ms();
	struct mem_job *j;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	sweep(s, now);
	j = find(m, id);
	if (j)
		*out = strcmp(j->j.body_sha256, sha) == 0 ? API_STORE_EXISTS : API_STORE_CONFLICT;
	else if ((rc = add_job(m, id, request, sha, now, err)) == 0)
		*out = API_STORE_CREATED;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static int copy_job(const struct api_store_job *from, struct api_store_job *to, struct tj_error *err)
{
	*to = *from;
	to->request = to->result = to->host = NULL;
	if (dup_str(&to->request, from->request, err) < 0 || dup_str(&to->result, from->result, err) < 0 ||
	    dup_str(&to->host, from->host, err) < 0) {
		api_store_job_free(to);
		return -1;
	}
	return 0;
}

static int mem_get(struct api_store *s, const char *id, struct api_store_job *job, bool *found,
                   struct tj_error *err)
{
	struct mem_store *m = mem(s);
	struct mem_job *j;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	sweep(s, api_store_now_ms());
	j = find(m, id);
	if (j) {
		rc = copy_job(&j->j, job, err);
		*found = rc == 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Under the lock: makes j final. */
static void finalise(struct mem_store *m, struct mem_job *j, enum api_store_state st, char *result,
                     uint64_t now)
{
	j->j.state = st;
	free(j->j.result);
	j->j.result = result;
	j->j.finished_ms = now;
	j->lease = 0;
	if (st == API_STORE_DONE)
		m->done++;
	else
		m->cancelled++;
}

static int mem_claim(struct api_store *s, struct api_store_claim *c, bool *got, struct tj_error *err)
{
	struct mem_store *m = mem(s);
	uint64_t now = api_store_now_ms();
	struct mem_job *j = NULL;
	char lease[32];
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	sweep(s, now);
	for (size_t i = 0; i < m->n && !j; i++)
		if (m->jobs[i]->j.state == API_STORE_QUEUED)
			j = m->jobs[i];
	if (j) {
		snprintf(lease, sizeof(lease), "%" PRIu64, ++m->next_lease);
		if (dup_str(&c->request, j->j.request, err) < 0 || dup_str(&c->lease, lease, err) < 0 ||
		    dup_str(&j->j.host, s->opt.host_id, err) < 0) {
			api_store_claim_free(c);
			rc = -1;
		} else {
			snprintf(c->id, sizeof(c->id), "%s", j->j.id);
			j->j.state = API_STORE_RUNNING;
			j->j.started_ms = now;
			j->j.attempts++;
			j->lease = m->next_lease;
			c->attempts = j->j.attempts;
			*got = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Under the lock: the job c holds, if it still holds it. */
static struct mem_job *held(struct mem_store *m, const struct api_store_claim *c)
{
	struct mem_job *j = find(m, c->id);
	char lease[32];

	if (!j || j->j.state != API_STORE_RUNNING)
		return NULL;
	snprintf(lease, sizeof(lease), "%" PRIu64, j->lease);
	return c->lease && strcmp(c->lease, lease) == 0 ? j : NULL;
}

static int mem_renew(struct api_store *s, const struct api_store_claim *c, enum api_store_renew *out,
                     struct tj_error *err)
{
	struct mem_store *m = mem(s);
	struct mem_job *j;

	pthread_mutex_lock(&m->lock);
	j = held(m, c);
	*out = !j ? API_STORE_LOST : j->j.cancel_requested ? API_STORE_CANCELLED_BY_USER : API_STORE_RENEWED;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int mem_finish(struct api_store *s, const struct api_store_claim *c, enum api_store_state state,
                      const char *result, bool *written, struct tj_error *err)
{
	struct mem_store *m = mem(s);
	struct mem_job *j;
	char *copy = NULL;

	if (dup_str(&copy, result, err) < 0)
		return -1;
	pthread_mutex_lock(&m->lock);
	j = find(m, c->id);
	if (j && !is_final(j->j.state)) {
		finalise(m, j, state, TJ_STEAL_PTR(copy), api_store_now_ms());
		free(j->j.host);
		j->j.host = strdup(s->opt.host_id);
		*written = true;
	}
	pthread_mutex_unlock(&m->lock);
	free(copy);
	return 0;
}

/* The job goes back to QUEUED where it was in submission order: it is the
 * oldest queued job again, the first one claimed.  A cancel requested
 * meanwhile makes it CANCELLED instead. */
static int mem_release(struct api_store *s, const struct api_store_claim *c, bool *released,
                       struct tj_error *err)
{
	struct mem_store *m = mem(s);
	struct mem_job *j;

	pthread_mutex_lock(&m->lock);
	j = held(m, c);
	if (j) {
		j->j.started_ms = 0;
		j->lease = 0;
		free(j->j.host);
		j->j.host = NULL;
		if (j->j.cancel_requested)
			finalise(m, j, API_STORE_CANCELLED, NULL, api_store_now_ms());
		else
			j->j.state = API_STORE_QUEUED;
		*released = true;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int mem_cancel(struct api_store *s, const char *id, enum api_store_cancel *out, struct tj_error *err)
{
	struct mem_store *m = mem(s);
	uint64_t now = api_store_now_ms();
	struct mem_job *j;

	pthread_mutex_lock(&m->lock);
	sweep(s, now);
	j = find(m, id);
	if (!j) {
		*out = API_STORE_CANCEL_UNKNOWN;
	} else if (is_final(j->j.state)) {
		*out = API_STORE_CANCEL_FINAL;
	} else if (j->j.state == API_STORE_QUEUED) {
		j->j.cancel_requested = true;
		finalise(m, j, API_STORE_CANCELLED, NULL, now);
		*out = API_STORE_CANCEL_DONE;
	} else {
		j->j.cancel_requested = true;
		*out = API_STORE_CANCEL_REQUESTED;
	}
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static int mem_stats(struct api_store *s, struct api_store_stats *st, struct tj_error *err)
{
	struct mem_store *m = mem(s);
	uint64_t now = api_store_now_ms();

	pthread_mutex_lock(&m->lock);
	sweep(s, now);
	for (size_t i = 0; i < m->n; i++) {
		const struct api_store_job *j = &m->jobs[i]->j;
		if (j->state == API_STORE_QUEUED) {
			if (!st->queued)
				st->oldest_queued_age_ms = now > j->queued_ms ? now - j->queued_ms : 0;
			st->queued++;
		} else if (j->state == API_STORE_RUNNING) {
			st->running++;
		}
	}
	st->done = m->done;
	st->cancelled = m->cancelled;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

static void mem_describe(const struct api_store *s, char *buf, size_t len)
{
	snprintf(buf, len, "embedded");
}

const struct api_store_ops api_store_embedded_ops = {
    .scheme = "embedded",
    .open = mem_open,
    .submit = mem_submit,
    .get = mem_get,
    .claim = mem_claim,
    .renew = mem_renew,
    .finish = mem_finish,
    .release = mem_release,
    .cancel = mem_cancel,
    .stats = mem_stats,
    .describe = mem_describe,
    .close = mem_close,
};
