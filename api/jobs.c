#include "api/jobs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/ipc.h"
#include "api/launcher.h"
#include "api/msg.h"
#include "common/cleanup.h"
#include "common/util.h"

#define RESPAWN_DELAY_MS 500
/* The launcher's start-up runs `terraform version` in a sandbox (setup,
 * command and teardown are each bounded); past this, it is stuck. */
#define HELLO_TIMEOUT_MS 120000

struct job {
	uint64_t id;
	struct tj_buf run; /* the RUN message */
	int upload_fd;
	api_job_done_fn done;
	void *ctx;
	bool started;
	pid_t worker;
	uint64_t t_submit, t_start;
	struct job *next;
};

struct api_jobs {
	int spawner_fd;
	pid_t spawner;
	unsigned max_running, max_queued;
	/* frames to the launcher, and replacing its fd; taken before lock */
	pthread_mutex_t write_lock;
	int fd;                         /* the launcher's socket */
	pthread_mutex_t lock;           /* everything below */
	struct job *queue, *queue_tail; /* not sent yet, in order */
	struct job *active;             /* sent to the launcher */
	unsigned n_queued, n_active;
	uint64_t next_id;
	bool alive, stopping;
	uint64_t restarts;
	char terraform_version[64], cgroup_mode[16];
	pthread_t reader;
	bool reader_started;
};

static void job_free(struct job *jb)
{
	if (jb->upload_fd >= 0)
		close(jb->upload_fd);
	tj_buf_free(&jb->run);
	free(jb);
}

void api_job_result_free(struct api_job_result *res)
{
	if (!res)
		return;
	free(res->payload);
	free(res);
}

/* Ends a job that has left both lists: its result to whoever submitted it. */
static void finish(struct job *jb, enum api_job_outcome outcome, char *payload, size_t len)
{
	struct api_job_result *res = calloc(1, sizeof(*res));
	uint64_t now = tj_now_us();

	if (res) {
		res->outcome = outcome;
		res->payload = payload;
		payload = NULL;
		res->started = jb->started;
		res->worker = jb->worker;
		res->queue_wait_s = (double)((jb->started ? jb->t_start : now) - jb->t_submit) / 1e6;
		res->run_s = jb->started ? (double)(now - jb->t_start) / 1e6 : 0;
		if (outcome == API_JOB_RESULT) {
			struct api_msg_result m;
			if (!res->payload || api_msg_result_decode(res->payload, len, &m) < 0) {
				res->outcome = API_JOB_CRASHED;
				res->why = "the job's response could not be read";
			} else {
				res->status = m.status;
				res->error_type = m.error_type;
				res->response = m.response;
				res->response_len = m.response_len;
			}
		} else {
			struct api_msg_reason m = {0};
			if (res->payload)
				api_msg_reason_decode(res->payload, len, &m);
			res->why = m.why ? m.why : "the job did not finish";
		}
	}
	free(payload);
	jb->done(jb->ctx, res);
	job_free(jb);
}

static struct job *unlink_job(struct job **list, uint64_t id)
{
	for (struct job **pp = list; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id) {
			struct job *jb = *pp;
			*pp = jb->next;
			jb->next = NULL;
			return jb;
		}
	return NULL;
}

/* Sends queued jobs while slots are free. */
static void pump(struct api_jobs *j)
{
	pthread_mutex_lock(&j->write_lock);
	for (;;) {
		struct job *jb;
		int fd;

		pthread_mutex_lock(&j->lock);
		jb = j->queue;
		if (!jb || !j->alive || j->stopping || j->n_active >= j->max_running) {
			pthread_mutex_unlock(&j->lock);
			break;
		}
		j->queue = jb->next;
		if (!j->queue)
			j->queue_tail = NULL;
		j->n_queued--;
		jb->next = j->active;
		j->active = jb;
		j->n_active++;
		fd = j->fd;
		/* the upload's fd travels with the frame; the launcher has its copy */
		pthread_mutex_unlock(&j->lock);
		if (api_frame_write(fd, API_MSG_RUN, jb->id, jb->run.data, jb->run.len, jb->upload_fd, NULL) <
		    0)
			/* the launcher has gone: the reader ends this job with the others */
			fprintf(stderr, "tfjail: jobs: the job launcher did not take job %llu\n",
			        (unsigned long long)jb->id);
	}
	pthread_mutex_unlock(&j->write_lock);
}

/* The launcher's HELLO. */
static int read_hello(struct api_jobs *j, int fd, struct tj_error *err)
{
	struct api_frame_header h;
	_cleanup_free_ char *payload = NULL;
	struct api_msg_hello m;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t deadline = tj_now_ms() + HELLO_TIMEOUT_MS;
	int rc;

	for (;;) {
		uint64_t now = tj_now_ms();
		int pr = now >= deadline ? 0 : poll(&p, 1, (int)(deadline - now));
		if (pr > 0)
			break;
		if (pr == 0)
			return tj_error_set(err, ETIMEDOUT, "the job launcher did not start within %d s",
			                    HELLO_TIMEOUT_MS / 1000);
		if (errno != EINTR)
			return tj_error_sys(err, "job launcher: poll");
	}
	rc = api_frame_read(fd, &h, &payload, NULL, err);
	if (rc != 0 || h.type != API_MSG_HELLO)
		return rc < 0 ? tj_error_prefix(err, "job launcher")
		              : tj_error_set(err, EPROTO, "the job launcher ended during start-up");
	if (api_msg_hello_decode(payload, h.len, &m) < 0)
		return tj_error_set(err, EPROTO, "the job launcher's HELLO could not be read");
	if (!m.ok)
		return tj_error_set(err, 0, "%s", m.error ? m.error : "the job launcher could not start");
	pthread_mutex_lock(&j->lock);
	snprintf(j->terraform_version, sizeof(j->terraform_version), "%s",
	         m.terraform_version ? m.terraform_version : "");
	snprintf(j->cgroup_mode, sizeof(j->cgroup_mode), "%s", m.cgroup_mode ? m.cgroup_mode : "");
	pthread_mutex_unlock(&j->lock);
	return 0;
}

static int spawn(struct api_jobs *j, int *fd, struct tj_error *err)
{
	pid_t pid;

	if (api_launcher_spawn(j->spawner_fd, &pid, fd, err) < 0)
		return -1;
	if (read_hello(j, *fd, err) < 0) {
		kill(pid, SIGKILL); /* stuck or gone: never half-started */
		close(*fd);
		*fd = -1;
		return -1;
	}
	fprintf(stderr, "tfjail: job launcher %d ready\n", (int)pid);
	return 0;
}

/* One frame from the launcher. */
static void on_frame(struct api_jobs *j, const struct api_frame_header *h, char *payload)
{
	struct job *jb = NULL;

	pthread_mutex_lock(&j->lock);
	if (h->type == API_MSG_STARTED) {
		struct api_msg_started m;
		for (jb = j->active; jb && jb->id != h->id; jb = jb->next)
			;
		if (jb && !jb->started && api_msg_started_decode(payload, h->len, &m) == 0) {
			jb->started = true;
			jb->worker = m.worker;
			jb->t_start = tj_now_us();
		}
		pthread_mutex_unlock(&j->lock);
		free(payload);
		return;
	}
	if (h->type >= API_MSG_RESULT && h->type <= API_MSG_CANCELLED) {
		jb = unlink_job(&j->active, h->id);
		if (jb)
			j->n_active--;
	}
	pthread_mutex_unlock(&j->lock);
	if (!jb) {
		free(payload);
		return;
	}
	finish(jb,
	       h->type == API_MSG_RESULT    ? API_JOB_RESULT
	       : h->type == API_MSG_CRASHED ? API_JOB_CRASHED
	       : h->type == API_MSG_ABORTED ? API_JOB_ABORTED
	                                    : API_JOB_CANCELLED,
	       payload, h->len);
	pump(j);
}

/* The launcher has gone: the jobs it had end as CRASHED. */
static void launcher_lost(struct api_jobs *j)
{
	struct job *lost;
	char why[] = "the job launcher died while the job ran";
	struct tj_buf b = {0};

	pthread_mutex_lock(&j->lock);
	j->alive = false;
	lost = j->active;
	j->active = NULL;
	j->n_active = 0;
	pthread_mutex_unlock(&j->lock);
	while (lost) {
		struct job *next = lost->next;
		b = (struct tj_buf){0};
		api_msg_reason_encode(&(struct api_msg_reason){why}, &b);
		finish(lost, API_JOB_CRASHED, b.data, b.len);
		lost = next;
	}
}

static void *reader_main(void *arg)
{
	struct api_jobs *j = arg;

	for (;;) {
		struct api_frame_header h;
		char *payload;
		struct tj_error err = {0};
		int rc = api_frame_read(j->fd, &h, &payload, NULL, &err), fd = -1;
		bool stopping;

		if (rc == 0) {
			on_frame(j, &h, payload);
			continue;
		}
		launcher_lost(j);
		pthread_mutex_lock(&j->lock);
		stopping = j->stopping;
		pthread_mutex_unlock(&j->lock);
		if (stopping)
			break;
		fprintf(stderr, "tfjail: the job launcher died (%s); starting a new one\n",
		        rc < 0 ? err.msg : "end of stream");
		/* until a new launcher answers, /health says so and jobs wait */
		while (spawn(j, &fd, &err) < 0) {
			fprintf(stderr, "tfjail: a new job launcher could not start: %s\n", err.msg);
			pthread_mutex_lock(&j->lock);
			stopping = j->stopping;
			pthread_mutex_unlock(&j->lock);
			if (stopping)
				return NULL;
			usleep(RESPAWN_DELAY_MS * 1000);
		}
		pthread_mutex_lock(&j->write_lock);
		close(j->fd);
		j->fd = fd;
		pthread_mutex_lock(&j->lock);
		j->alive = true;
		j->restarts++;
		stopping = j->stopping;
		pthread_mutex_unlock(&j->lock);
		pthread_mutex_unlock(&j->write_lock);
		if (stopping)
			/* stopped meanwhile: the new launcher ends at once */
			shutdown(fd, SHUT_WR);
		pump(j);
	}
	return NULL;
}

int api_jobs_start(int spawner_fd, pid_t spawner, unsigned max_running, unsigned queue_size,
                   struct api_jobs **out, struct tj_error *err)
{
	struct api_jobs *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return tj_error_set(err, ENOMEM, "out of memory");
	*j = (struct api_jobs){.spawner_fd = spawner_fd,
	                       .spawner = spawner,
	                       .fd = -1,
	                       .max_running = max_running,
	                       .max_queued = queue_size};
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_init(&j->write_lock, NULL);
	if (spawn(j, &j->fd, err) < 0) {
		j->spawner_fd = -1;
		api_jobs_free(j);
		return -1;
	}
	j->alive = true;
	rc = pthread_create(&j->reader, NULL, reader_main, j);
	if (rc != 0) {
		j->spawner_fd = -1;
		api_jobs_free(j);
		return tj_error_set(err, rc, "start the job reader thread: %s", strerror(rc));
	}
	j->reader_started = true;
	*out = j;
	return 0;
}

enum api_submit api_jobs_submit(struct api_jobs *j, const struct api_job_spec *spec, api_job_done_fn done,
                                void *ctx, uint64_t *ticket)
{
	struct job *jb = calloc(1, sizeof(*jb));
	struct api_msg_run m = {
	    .job_id = spec->job_id,
	    .upload_id = spec->upload_id,
	    .working_dir = spec->working_dir,
	    .request_id = spec->request_id,
	    .policy_text = spec->policy_text,
	    .policy_len = spec->policy_len,
	    .variables_json = spec->variables_json,
	    .variables_json_len = spec->variables_json_len,
	};

	if (!jb || api_msg_run_encode(&m, &jb->run) < 0) {
		if (jb)
			tj_buf_free(&jb->run);
		free(jb);
		close(spec->upload_fd);
		return API_SUBMIT_STOPPING;
	}
	jb->upload_fd = spec->upload_fd;
	jb->done = done;
	jb->ctx = ctx;
	jb->t_submit = tj_now_us();
	pthread_mutex_lock(&j->lock);
	if (j->stopping || j->n_active + j->n_queued >= j->max_running + j->max_queued) {
		enum api_submit r = j->stopping ? API_SUBMIT_STOPPING : API_SUBMIT_QUEUE_FULL;
		pthread_mutex_unlock(&j->lock);
		job_free(jb);
		return r;
	}
	jb->id = ++j->next_id;
	*ticket = jb->id;
	if (j->queue_tail)
		j->queue_tail->next = jb;
	else
		j->queue = jb;
	j->queue_tail = jb;
	j->n_queued++;
	pthread_mutex_unlock(&j->lock);
	pump(j);
	return API_SUBMIT_OK;
}

void api_jobs_cancel(struct api_jobs *j, uint64_t ticket)
{
	struct job *jb, *prev = NULL;
	bool running = false;
	int fd;

	pthread_mutex_lock(&j->write_lock);
	pthread_mutex_lock(&j->lock);
	for (jb = j->queue; jb && jb->id != ticket; prev = jb, jb = jb->next)
		;
	if (jb) {
		unlink_job(&j->queue, ticket);
		if (j->queue_tail == jb)
			j->queue_tail = prev;
		j->n_queued--;
	} else {
		for (struct job *a = j->active; a; a = a->next)
			running = running || a->id == ticket;
	}
	fd = j->fd;
	pthread_mutex_unlock(&j->lock);
	if (running)
		api_frame_write(fd, API_MSG_CANCEL, ticket, NULL, 0, -1, NULL);
	pthread_mutex_unlock(&j->write_lock);
	if (jb) {
		struct tj_buf b = {0};
		api_msg_reason_encode(
		    &(struct api_msg_reason){"the client disconnected before the job started"}, &b);
		finish(jb, API_JOB_CANCELLED, b.data, b.len);
	}
}

void api_jobs_stats(struct api_jobs *j, struct api_jobs_stats *st)
{
	pthread_mutex_lock(&j->lock);
	st->running = j->n_active;
	st->queued = j->n_queued;
	st->launcher_alive = j->alive;
	st->launcher_restarts = j->restarts;
	memcpy(st->terraform_version, j->terraform_version, sizeof(st->terraform_version));
	memcpy(st->cgroup_mode, j->cgroup_mode, sizeof(st->cgroup_mode));
	pthread_mutex_unlock(&j->lock);
}

void api_jobs_stop(struct api_jobs *j, unsigned grace_s)
{
	struct tj_buf b = {0};
	struct job *queued;

	pthread_mutex_lock(&j->write_lock);
	pthread_mutex_lock(&j->lock);
	j->stopping = true;
	queued = j->queue;
	j->queue = j->queue_tail = NULL;
	j->n_queued = 0;
	pthread_mutex_unlock(&j->lock);
	if (api_msg_shutdown_encode(&(struct api_msg_shutdown){(uint64_t)grace_s * 1000}, &b) == 0)
		api_frame_write(j->fd, API_MSG_SHUTDOWN, 0, b.data, b.len, -1, NULL);
	tj_buf_free(&b);
	pthread_mutex_unlock(&j->write_lock);
	while (queued) {
		struct job *next = queued->next;
		b = (struct tj_buf){0};
		api_msg_reason_encode(&(struct api_msg_reason){"the service is shutting down"}, &b);
		finish(queued, API_JOB_ABORTED, b.data, b.len);
		queued = next;
	}
	if (j->reader_started) {
		pthread_join(j->reader, NULL);
		j->reader_started = false;
	}
	if (j->spawner_fd >= 0) {
		close(j->spawner_fd);
		j->spawner_fd = -1;
		while (waitpid(j->spawner, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

void api_jobs_free(struct api_jobs *j)
{
	if (!j)
		return;
	if (j->reader_started) {
		pthread_mutex_lock(&j->lock);
		j->stopping = true;
		pthread_mutex_unlock(&j->lock);
		shutdown(j->fd, SHUT_RDWR);
		pthread_join(j->reader, NULL);
	}
	if (j->fd >= 0)
		close(j->fd);
	if (j->spawner_fd >= 0) {
		close(j->spawner_fd);
		waitpid(j->spawner, NULL, 0);
	}
	pthread_mutex_destroy(&j->lock);
	pthread_mutex_destroy(&j->write_lock);
	free(j);
}
