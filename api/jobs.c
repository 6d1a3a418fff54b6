#include "api/jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/ipc.h"

struct pending {
	uint64_t id;
	bool started, done;
	struct api_job_result res;
	struct pending *next;
};

struct api_jobs {
	int fd;
	pid_t launcher;
	unsigned max_inflight;
	pthread_mutex_t write_lock; /* frames to fd; never taken with lock held */
	pthread_mutex_t lock;      /* everything below */
	pthread_cond_t changed;
	struct pending *list;
	uint64_t next_id;
	unsigned inflight, running;
	bool alive;
	pthread_t reader;
	bool reader_started;
};

static struct pending *find(struct api_jobs *j, uint64_t id)
{
	for (struct pending *p = j->list; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void *reader_main(void *arg)
{
	struct api_jobs *j = arg;

	for (;;) {
		struct api_frame_header h;
		char *payload;
		struct tj_error err;
		struct pending *p;
		int rc = api_frame_read(j->fd, &h, &payload, &err);

		if (rc != 0) {
			if (rc < 0)
				fprintf(stderr, "tfjail: job launcher: %s\n", err.msg);
			break;
		}
		pthread_mutex_lock(&j->lock);
		p = find(j, h.id);
		if (p && h.type == API_FRAME_STARTED && !p->started) {
			p->started = true;
			p->res.worker = (pid_t)atoi(payload);
			j->running++;
		} else if (p && !p->done && h.type >= API_FRAME_RESULT && h.type <= API_FRAME_ABORTED) {
			p->done = true;
			p->res.outcome = h.type == API_FRAME_RESULT    ? API_JOB_RESULT
					 : h.type == API_FRAME_CRASHED ? API_JOB_CRASHED
								       : API_JOB_ABORTED;
			p->res.text = payload;
			payload = NULL;
			pthread_cond_broadcast(&j->changed);
		}
		pthread_mutex_unlock(&j->lock);
		free(payload);
	}
	/* The launcher has gone: whoever still waits gets ABORTED. */
	pthread_mutex_lock(&j->lock);
	j->alive = false;
	for (struct pending *p = j->list; p; p = p->next)
		if (!p->done) {
			p->done = true;
			p->res.outcome = API_JOB_ABORTED;
		}
	pthread_cond_broadcast(&j->changed);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int api_jobs_start(int fd, pid_t launcher, unsigned max_running, unsigned queue_size, struct api_jobs **out,
		   struct tj_error *err)
{
	struct api_jobs *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return tj_error_set(err, ENOMEM, "out of memory");
	j->fd = fd;
	j->launcher = launcher;
	j->max_inflight = max_running + queue_size;
	j->alive = true;
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->write_lock, NULL);
	pthread_cond_init(&j->changed, NULL);
	rc = pthread_create(&j->reader, NULL, reader_main, j);
	if (rc != 0) {
		free(j);
		return tj_error_set(err, rc, "start the job reader thread: %s", strerror(rc));
	}
	j->reader_started = true;
	*out = j;
	return 0;
}

int api_jobs_run(struct api_jobs *j, const cJSON *request, struct api_job_result *res, struct tj_error *err)
{
	struct pending me = {0}, **pp;
	char *text = cJSON_PrintUnformatted(request);
	int ret = 0;

	memset(res, 0, sizeof(*res));
	if (!text)
		return tj_error_set(err, ENOMEM, "out of memory");
	pthread_mutex_lock(&j->lock);
	if (!j->alive) {
		pthread_mutex_unlock(&j->lock);
		free(text);
		res->outcome = API_JOB_ABORTED;
		return 0;
	}
	if (j->inflight >= j->max_inflight) {
		pthread_mutex_unlock(&j->lock);
		free(text);
		res->outcome = API_JOB_QUEUE_FULL;
		return 0;
	}
	me.id = ++j->next_id;
	me.next = j->list;
	/* me is on this thread's stack: it leaves the list before we return */
	// cppcheck-suppress autoVariables
	j->list = &me;
	j->inflight++;
	pthread_mutex_unlock(&j->lock);
	/* the reader thread must stay free to take results meanwhile */
	pthread_mutex_lock(&j->write_lock);
	ret = api_frame_write(j->fd, API_FRAME_RUN, me.id, text, strlen(text), err);
	pthread_mutex_unlock(&j->write_lock);
	pthread_mutex_lock(&j->lock);
	if (ret < 0)
		me.done = true;
	while (!me.done)
		pthread_cond_wait(&j->changed, &j->lock);
	for (pp = &j->list; *pp != &me; pp = &(*pp)->next)
		;
	*pp = me.next;
	j->inflight--;
	if (me.started)
		j->running--;
	pthread_mutex_unlock(&j->lock);
	free(text);
	*res = me.res;
	return ret;
}

void api_jobs_stats(struct api_jobs *j, struct api_jobs_stats *st)
{
	pthread_mutex_lock(&j->lock);
	st->running = j->running;
	st->queued = j->inflight - j->running;
	st->launcher_alive = j->alive;
	pthread_mutex_unlock(&j->lock);
}

int api_jobs_stop(struct api_jobs *j, unsigned grace_s)
{
	char buf[32];
	int st = 0;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)grace_s * 1000);
	pthread_mutex_lock(&j->write_lock);
	api_frame_write(j->fd, API_FRAME_SHUTDOWN, 0, buf, strlen(buf), NULL);
	pthread_mutex_unlock(&j->write_lock);
	if (j->reader_started) {
		pthread_join(j->reader, NULL);
		j->reader_started = false;
	}
	while (waitpid(j->launcher, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

void api_jobs_free(struct api_jobs *j)
{
	if (!j)
		return;
	if (j->reader_started) {
		shutdown(j->fd, SHUT_RDWR);
		pthread_join(j->reader, NULL);
	}
	close(j->fd);
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->write_lock);
	pthread_cond_destroy(&j->changed);
	free(j);
}
