/* Counters of the service, rendered as Prometheus text exposition.  Only
 * label pairs that can occur are exported. */
#ifndef TFJAIL_API_METRICS_H
#define TFJAIL_API_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

struct api_metrics;

struct api_metrics_gauges {
	unsigned running, queued;
	unsigned max_running, queue_size;
	unsigned http_in_flight; /* requests being answered, jobs waited for included */
	bool launcher_up;
	uint64_t launcher_restarts;
	double uptime_s;
	const char *terraform_version; /* NULL = unknown */
	const char *policy_name, *policy_sha256;
};

struct api_metrics *api_metrics_new(void);
void api_metrics_free(struct api_metrics *m);
void api_metrics_http(struct api_metrics *m, unsigned code);
/* A job that ended with an ExecutionResponse: its status, error_type (NULL
 * = none), time in the queue and running.  A worker crash is FAILED /
 * InternalError, counted also as a crash. */
void api_metrics_job(struct api_metrics *m, const char *status, const char *error_type, double queue_wait_s,
                     double run_s);
void api_metrics_crash(struct api_metrics *m, double queue_wait_s, double run_s);
/* A job whose client went away: killed while running, or dropped from the queue. */
void api_metrics_cancelled(struct api_metrics *m, bool was_running);
void api_metrics_rejected(struct api_metrics *m, const char *reason);
int api_metrics_render(struct api_metrics *m, const struct api_metrics_gauges *g, struct tj_buf *out);

#endif
