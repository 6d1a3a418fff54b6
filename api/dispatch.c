#include "api/dispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* Why the dispatcher stopped a job itself. */
enum stop_reason { RUN_ON, STOP_CANCELLED, STOP_LOST, STOP_SHUTDOWN };

struct slot {
	bool used;
	struct api_store_claim claim;
	uint64_t handle;
	enum stop_reason stop;
	/* written by api_dispatch_done under the lock */
	bool ended;
	char *result;
};

struct api_dispatch {
	struct api_store *store;
	struct api_dispatch_runner runner;
	struct api_dispatch_options o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool poked, stopping, exiting, renew_now;
	bool store_down; /* the last store call failed: log the next success */
	uint64_t next_handle;
	struct slot *slots;
	unsigned n_slots; /* used ones may be more than o.slots: ended, unpublished */
	struct api_dispatch_stats st;
};

/* One line when the store goes away and one when it is back, not one per
 * round; the store's messages never hold a secret. */
static void log_store_error(struct api_dispatch *d, const char *what, const struct tj_error *err)
{
	d->st.store_errors++;
	if (!d->store_down)
		fprintf(stderr, "tfjail: dispatch: %s: %s\n", what, err->msg);
	d->store_down = true;
}

static void store_ok(struct api_dispatch *d)
{
	if (d->store_down)
		fprintf(stderr, "tfjail: dispatch: the job store answers again\n");
	d->store_down = false;
}

static void slot_free(struct slot *s)
{
	api_store_claim_free(&s->claim);
	free(s->result);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ the rounds */

/* A job the shutdown killed goes back to the queue for another host; when
 * the store cannot take it now, its lease runs out instead (it is not
 * retried: the host is going away). */
static void release(struct api_dispatch *d, struct slot *s)
{
	struct tj_error err = {0};
	bool released;

	if (api_store_release(d->store, &s->claim, &released, &err) < 0) {
		log_store_error(d, "handing a job back (it runs again after its lease)", &err);
		return;
	}
	store_ok(d);
	d->st.released += released;
	if (released)
		fprintf(stderr, "tfjail: dispatch: job %s handed back to the queue\n", s->claim.id);
}

/* 1. Results of ended jobs into the store.  Returns how many are left. */
static unsigned publish(struct api_dispatch *d)
{
	unsigned left = 0;

	for (unsigned i = 0; i < d->n_slots; i++) {
		struct slot *s = &d->slots[i];
		struct tj_error err = {0};
		enum api_store_state state = API_STORE_DONE;
		const char *result;
		char *fallback = NULL;
		bool ended, written;
		int rc;

		pthread_mutex_lock(&d->lock);
		ended = s->used && s->ended;
		pthread_mutex_unlock(&d->lock);
		if (!ended)
			continue;
		result = s->result;
		if (s->stop == STOP_LOST || s->stop == STOP_SHUTDOWN) {
			/* another host's result counts; or, stopping, another host
			 * runs it again */
			if (s->stop == STOP_SHUTDOWN)
				release(d, s);
			pthread_mutex_lock(&d->lock);
			slot_free(s);
			pthread_mutex_unlock(&d->lock);
			continue;
		}
		if (s->stop == STOP_CANCELLED) {
			state = API_STORE_CANCELLED;
			result = NULL;
		} else if (!result) {
			result = fallback = d->runner.error_result(
			    d->runner.ctx, s->claim.id, s->claim.request, "the job process gave no result");
		}
		rc = api_store_finish(d->store, &s->claim, state, result, &written, &err);
		free(fallback);
		if (rc < 0) {
			log_store_error(d, "publishing a result (kept, retried)", &err);
			left++;
			continue;
		}
		store_ok(d);
		d->st.published += written;
		if (d->runner.published)
			d->runner.published(d->runner.ctx, s->claim.id);
		pthread_mutex_lock(&d->lock);
		slot_free(s);
		pthread_mutex_unlock(&d->lock);
	}
	return left;
}

/* 2. Leases of running jobs; a cancel or a lost lease kills the job. */
static void renew(struct api_dispatch *d)
{
	for (unsigned i = 0; i < d->n_slots; i++) {
		struct slot *s = &d->slots[i];
		struct tj_error err = {0};
		enum api_store_renew r;
		bool ended;

		pthread_mutex_lock(&d->lock);
		ended = !s->used || s->ended || s->stop != RUN_ON;
		pthread_mutex_unlock(&d->lock);
		if (ended)
			continue;
		if (api_store_renew(d->store, &s->claim, &r, &err) < 0) {
			/* the store is away: the job runs on; if the outage outlasts
			 * the lease another host may take it, and we hear it here */
			log_store_error(d, "renewing a lease", &err);
			return;
		}
		store_ok(d);
		if (r == API_STORE_RENEWED)
			continue;
		pthread_mutex_lock(&d->lock);
		if (s->stop == RUN_ON)
			s->stop = r == API_STORE_CANCELLED_BY_USER ? STOP_CANCELLED : STOP_LOST;
		pthread_mutex_unlock(&d->lock);
		if (r == API_STORE_CANCELLED_BY_USER)
			d->st.cancelled++;
		else
			d->st.lost++;
		d->runner.kill(d->runner.ctx, s->handle);
	}
}

static unsigned running(struct api_dispatch *d)
{
	unsigned n = 0;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->n_slots; i++)
		n += d->slots[i].used && !d->slots[i].ended;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static struct slot *free_slot(struct api_dispatch *d)
{
	struct slot *p;
	unsigned n = d->n_slots ? d->n_slots * 2 : d->o.slots + 4, old = d->n_slots;

	for (unsigned i = 0; i < d->n_slots; i++)
		if (!d->slots[i].used)
			return &d->slots[i];
	pthread_mutex_lock(&d->lock);
	p = realloc(d->slots, n * sizeof(*p));
	if (p) {
		memset(p + old, 0, (n - old) * sizeof(*p));
		d->slots = p;
		d->n_slots = n;
	}
	pthread_mutex_unlock(&d->lock);
	return p ? &p[old] : NULL;
}

/* 3. New work while there is room. */
static void claim(struct api_dispatch *d)
{
	while (running(d) < d->o.slots) {
		struct slot *s = free_slot(d);
		struct tj_error err = {0};
		struct api_store_claim c;
		uint64_t handle;
		bool got;

		if (!s)
			return;
		if (api_store_claim(d->store, &c, &got, &err) < 0) {
			log_store_error(d, "claiming a job", &err);
			return;
		}
		store_ok(d);
		if (!got)
			return;
		d->st.claimed++;
		d->st.reclaimed += c.reclaimed;
		/* the slot is there before the job starts: its end may come at once */
		pthread_mutex_lock(&d->lock);
		handle = ++d->next_handle;
		*s = (struct slot){.used = true, .claim = c, .handle = handle};
		pthread_mutex_unlock(&d->lock);
		if (d->runner.start(d->runner.ctx, handle, s->claim.id, s->claim.request, &err) < 0) {
			char *text =
			    d->runner.error_result(d->runner.ctx, s->claim.id, s->claim.request, err.msg);
			fprintf(stderr, "tfjail: dispatch: job %s did not start: %s\n", s->claim.id, err.msg);
			/* an ended job with the runner's error response: published
			 * by the next round */
			pthread_mutex_lock(&d->lock);
			s->ended = true;
			s->result = text;
			pthread_mutex_unlock(&d->lock);
		}
	}
}

static void *dispatch_main(void *arg)
{
	struct api_dispatch *d = arg;
	uint64_t last_renew = 0;

	for (;;) {
		uint64_t now;
		bool stopping, exiting, renew_now;

		pthread_mutex_lock(&d->lock);
		stopping = d->stopping;
		exiting = d->exiting;
		renew_now = d->renew_now;
		d->renew_now = false;
		pthread_mutex_unlock(&d->lock);
		publish(d);
		if (exiting)
			return NULL;
		now = tj_now_ms();
		if (renew_now || now - last_renew >= d->o.renew_ms) {
			renew(d);
			last_renew = now;
		}
		if (!stopping)
			claim(d);
		pthread_mutex_lock(&d->lock);
		if (!d->poked && !d->exiting) {
			struct timespec ts;
			uint64_t wait_ms = d->o.poll_ms;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)(wait_ms / 1000);
			ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&d->wake, &d->lock, &ts);
		}
		d->poked = false;
		pthread_mutex_unlock(&d->lock);
	}
}

/* ------------------------------------------------------------ the face */

int api_dispatch_start(struct api_store *store, const struct api_dispatch_runner *runner,
                       const struct api_dispatch_options *o, struct api_dispatch **out, struct tj_error *err)
{
	struct api_dispatch *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int rc;

	if (!d)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (o->slots == 0 || o->poll_ms == 0 || o->renew_ms == 0) {
		free(d);
		return tj_error_set(err, EINVAL, "dispatch: slots, poll and renewal period must be positive");
	}
	d->store = store;
	d->runner = *runner;
	d->o = *o;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&d->thread, NULL, dispatch_main, d);
	if (rc != 0) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		errno = rc;
		return tj_error_sys(err, "dispatch: pthread_create");
	}
	*out = d;
	return 0;
}

void api_dispatch_done(struct api_dispatch *d, uint64_t handle, const char *result)
{
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->n_slots; i++) {
		struct slot *s = &d->slots[i];
		if (s->used && !s->ended && s->handle == handle) {
			s->ended = true;
			s->result = result ? strdup(result) : NULL;
			break;
		}
	}
	d->poked = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void api_dispatch_poke(struct api_dispatch *d)
{
	pthread_mutex_lock(&d->lock);
	d->poked = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void api_dispatch_stats(struct api_dispatch *d, struct api_dispatch_stats *st)
{
	pthread_mutex_lock(&d->lock);
	*st = d->st;
	st->running = st->unpublished = 0;
	for (unsigned i = 0; i < d->n_slots; i++) {
		if (!d->slots[i].used)
			continue;
		if (d->slots[i].ended)
			st->unpublished++;
		else
			st->running++;
	}
	pthread_mutex_unlock(&d->lock);
}

void api_dispatch_check_now(struct api_dispatch *d)
{
	pthread_mutex_lock(&d->lock);
	d->renew_now = true;
	d->poked = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
}

void api_dispatch_stop(struct api_dispatch *d, uint64_t grace_ms)
{
	uint64_t deadline = tj_now_ms() + grace_ms;
	struct api_dispatch_stats st;

	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	d->poked = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	for (;;) {
		api_dispatch_stats(d, &st);
		if ((st.running == 0 && st.unpublished == 0) || tj_now_ms() >= deadline)
			break;
		usleep(20000);
	}
	/* what still runs is killed by its runner, unpublished */
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->n_slots; i++) {
		struct slot *s = &d->slots[i];
		if (s->used && !s->ended && s->stop == RUN_ON)
			s->stop = STOP_SHUTDOWN;
	}
	pthread_mutex_unlock(&d->lock);
}

void api_dispatch_free(struct api_dispatch *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->exiting = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	for (unsigned i = 0; i < d->n_slots; i++)
		if (d->slots[i].used)
			slot_free(&d->slots[i]);
	free(d->slots);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
