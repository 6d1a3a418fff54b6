/* The server's side of the job launcher: admission (running + queued jobs
 * bounded), the queue, and a reader thread that hands each job's end to
 * whoever submitted it.
 *
 * The queue lives here, not in the launcher: a job is sent (RUN) only when
 * a slot is free, so a queued job whose client has gone is dropped without
 * ever starting, and queued jobs survive a launcher that dies.  When the
 * launcher dies, the jobs it was running end as CRASHED, and a new launcher
 * is asked from the spawner (api/launcher.h) until one answers HELLO.
 *
 * Anything that holds jobs (the HTTP handlers, a job store) feeds this
 * interface: submit, cancel, and a callback at the end. */
#ifndef TFJAIL_API_JOBS_H
#define TFJAIL_API_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct api_jobs;

struct api_job_spec {
	const char *job_id;
	const char *upload_id;   /* a display name */
	const char *working_dir; /* NULL = the upload's root */
	const char *request_id;
	const char *variables_json; /* raw "variables" object; NULL = none */
	size_t variables_json_len;
	const char *policy_text; /* the policy in force at admission */
	size_t policy_len;
	int upload_fd; /* the upload, opened at admission; taken over */
};

enum api_job_outcome {
	API_JOB_RESULT,    /* status, error_type, response */
	API_JOB_CRASHED,   /* why: the worker or the launcher died */
	API_JOB_ABORTED,   /* why: the service is stopping */
	API_JOB_CANCELLED, /* why: cancelled (the client has gone) */
};

struct api_job_result {
	enum api_job_outcome outcome;
	const char *status, *error_type; /* RESULT; error_type NULL = none */
	const char *response;            /* RESULT: the ExecutionResponse JSON */
	size_t response_len;
	const char *why; /* the others */
	bool started;    /* a worker ran it */
	pid_t worker;
	double queue_wait_s, run_s;
	char *payload; /* owns the strings above */
};

/* Called once per submitted job, from the reader thread, with no lock held.
 * res is the callee's: free it with api_job_result_free. */
typedef void (*api_job_done_fn)(void *ctx, struct api_job_result *res);

struct api_jobs_stats {
	unsigned running;
	unsigned queued;
	bool launcher_alive;
	uint64_t launcher_restarts;
	char terraform_version[64]; /* "" = unknown */
	char cgroup_mode[16];
};

/* Asks the spawner (fd, api_spawner_start) for the first launcher, waits
 * for its HELLO and starts the reader thread. */
int api_jobs_start(int spawner_fd, pid_t spawner, unsigned max_running, unsigned queue_size,
                   struct api_jobs **out, struct tj_error *err);

enum api_submit { API_SUBMIT_OK, API_SUBMIT_QUEUE_FULL, API_SUBMIT_STOPPING };
/* Queues one job; done is called at its end.  On anything but OK, done is
 * never called and spec->upload_fd is closed. */
enum api_submit api_jobs_submit(struct api_jobs *j, const struct api_job_spec *spec, api_job_done_fn done,
                                void *ctx, uint64_t *ticket);
/* The job's client has gone: a queued job is dropped (done: CANCELLED), a
 * running one killed.  A ticket that has ended is ignored. */
void api_jobs_cancel(struct api_jobs *j, uint64_t ticket);
void api_jobs_stats(struct api_jobs *j, struct api_jobs_stats *st);
void api_job_result_free(struct api_job_result *res);
/* SHUTDOWN(grace) to the launcher: queued jobs end ABORTED, running ones
 * may finish; then waits for the launcher's end and the spawner's. */
void api_jobs_stop(struct api_jobs *j, unsigned grace_s);
void api_jobs_free(struct api_jobs *j);

#endif
