/* The server's side of the job launcher: admission (running + queued jobs
 * bounded), one RUN frame per job, and a reader thread that hands each
 * result to the HTTP thread waiting for it. */
#ifndef TFJAIL_API_JOBS_H
#define TFJAIL_API_JOBS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

struct api_jobs;

enum api_job_outcome {
	API_JOB_RESULT,     /* text: the ExecutionResponse JSON */
	API_JOB_CRASHED,    /* text: why the worker gave no result */
	API_JOB_ABORTED,    /* the service is stopping: not run, or killed */
	API_JOB_QUEUE_FULL, /* not admitted */
};

struct api_job_result {
	enum api_job_outcome outcome;
	char *text;         /* caller frees */
	pid_t worker;       /* 0 if none started */
};

struct api_jobs_stats {
	unsigned running;
	unsigned queued;
	bool launcher_alive;
};

/* Takes over fd (the launcher's socket, HELLO already read) and starts the
 * reader thread.  At most max_running + queue_size jobs are in flight. */
int api_jobs_start(int fd, pid_t launcher, unsigned max_running, unsigned queue_size, struct api_jobs **out,
		   struct tj_error *err);
/* Runs one job and waits for its end.  request: {"job_id", "upload_dir",
 * "variables"}. */
int api_jobs_run(struct api_jobs *j, const cJSON *request, struct api_job_result *res, struct tj_error *err);
void api_jobs_stats(struct api_jobs *j, struct api_jobs_stats *st);
/* SHUTDOWN(grace) to the launcher; then waits until it has answered every
 * job and closed its end, and reaps it.  Returns the launcher's wait status. */
int api_jobs_stop(struct api_jobs *j, unsigned grace_s);
void api_jobs_free(struct api_jobs *j);

#endif
