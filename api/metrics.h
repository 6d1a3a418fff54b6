/* Counters of the service, rendered as Prometheus text exposition. */
#ifndef TFJAIL_API_METRICS_H
#define TFJAIL_API_METRICS_H

#include "common/util.h"

struct api_metrics;

struct api_metrics_gauges {
	unsigned running, queued;
	unsigned max_running, queue_size;
	double uptime_s;
	const char *terraform_version;  /* NULL = unknown */
	const char *policy_name, *policy_sha256;
};

struct api_metrics *api_metrics_new(void);
void api_metrics_free(struct api_metrics *m);
void api_metrics_http(struct api_metrics *m, unsigned code);
/* A job that ran: its status, error_type (NULL = none) and duration. */
void api_metrics_job(struct api_metrics *m, const char *status, const char *error_type, double seconds);
void api_metrics_rejected(struct api_metrics *m, const char *reason);
int api_metrics_render(struct api_metrics *m, const struct api_metrics_gauges *g, struct tj_buf *out);

#endif
