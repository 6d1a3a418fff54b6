#include "api/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The outcomes a job can have: status and error_type together. */
static const struct outcome {
	const char *status, *error_type;
} outcomes[] = {
    {"SUCCESS", NULL},
    {"FAILED", "PolicyViolation"},
    {"FAILED", "ValidationError"},
    {"FAILED", "TerraformError"},
    {"FAILED", "ResourceLimitExceeded"},
    {"FAILED", "InvalidUpload"},
    {"FAILED", "InternalError"},
    {"TIMEOUT", "ResourceLimitExceeded"},
};
#define INTERNAL_ERROR 6
static const unsigned codes[] = {200, 400, 401, 404, 405, 413, 429, 500, 503};
static const char *const reasons[] = {"queue_full", "shutting_down"};
static const char *const cancel_states[] = {"queued", "running"};
/* seconds; terraform jobs take from a fraction of a second to minutes */
static const double buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct histogram {
	uint64_t bucket[N(buckets)];
	uint64_t count;
	double sum;
};

struct api_metrics {
	pthread_mutex_t lock;
	uint64_t jobs[N(outcomes) + 1]; /* the last one: anything else (never expected) */
	uint64_t http[N(codes) + 1];    /* the last one: any other code */
	uint64_t rejected[N(reasons)];
	uint64_t cancelled[N(cancel_states)];
	uint64_t crashes;
	struct histogram duration, queue_wait;
};

struct api_metrics *api_metrics_new(void)
{
	struct api_metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void api_metrics_free(struct api_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void api_metrics_http(struct api_metrics *m, unsigned code)
{
	size_t i = 0;

	while (i < N(codes) && codes[i] != code)
		i++;
	pthread_mutex_lock(&m->lock);
	m->http[i]++;
	pthread_mutex_unlock(&m->lock);
}

static void observe(struct histogram *h, double v)
{
	for (size_t i = 0; i < N(buckets); i++)
		if (v <= buckets[i])
			h->bucket[i]++;
	h->count++;
	h->sum += v;
}

static size_t outcome_index(const char *status, const char *error_type)
{
	for (size_t i = 0; i < N(outcomes); i++)
		if (status && strcmp(outcomes[i].status, status) == 0 &&
		    (outcomes[i].error_type ? error_type && strcmp(outcomes[i].error_type, error_type) == 0
		                            : !error_type))
			return i;
	return N(outcomes);
}

static void job(struct api_metrics *m, size_t i, double queue_wait_s, double run_s)
{
	m->jobs[i]++;
	observe(&m->duration, run_s);
	observe(&m->queue_wait, queue_wait_s);
}

void api_metrics_job(struct api_metrics *m, const char *status, const char *error_type, double queue_wait_s,
                     double run_s)
{
	size_t i = outcome_index(status, error_type);

	pthread_mutex_lock(&m->lock);
	job(m, i, queue_wait_s, run_s);
	pthread_mutex_unlock(&m->lock);
}

void api_metrics_crash(struct api_metrics *m, double queue_wait_s, double run_s)
{
	pthread_mutex_lock(&m->lock);
	m->crashes++;
	job(m, INTERNAL_ERROR, queue_wait_s, run_s);
	pthread_mutex_unlock(&m->lock);
}

void api_metrics_cancelled(struct api_metrics *m, bool was_running)
{
	pthread_mutex_lock(&m->lock);
	m->cancelled[was_running]++;
	pthread_mutex_unlock(&m->lock);
}

void api_metrics_rejected(struct api_metrics *m, const char *reason)
{
	for (size_t i = 0; i < N(reasons); i++)
		if (strcmp(reasons[i], reason) == 0) {
			pthread_mutex_lock(&m->lock);
			m->rejected[i]++;
			pthread_mutex_unlock(&m->lock);
		}
}

/* Label values here are tfjail's own words, but escape them all the same. */
static int label(struct tj_buf *out, const char *v)
{
	for (; v && *v; v++) {
		const char *esc = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
		if (tj_buf_append(out, esc ? esc : v, esc ? strlen(esc) : 1) < 0)
			return -1;
	}
	return 0;
}

static int histogram(struct tj_buf *out, const char *name, const char *help, const struct histogram *h)
{
	int r = tj_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);

	for (size_t i = 0; i < N(buckets); i++)
		r |= tj_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[i],
		                   (unsigned long long)h->bucket[i]);
	r |= tj_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
	                   (unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
	return r;
}

static int gauge(struct tj_buf *out, const char *name, const char *help, const char *type, double v)
{
	return tj_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

int api_metrics_render(struct api_metrics *m, const struct api_metrics_gauges *g, struct tj_buf *out)
{
	int r = 0;

	pthread_mutex_lock(&m->lock);
	r |= tj_buf_printf(out,
	                   "# HELP tfjail_build_info tfjail's version and the terraform it runs.\n"
	                   "# TYPE tfjail_build_info gauge\n"
	                   "tfjail_build_info{version=\"%s\",terraform_version=\"",
	                   TFJAIL_VERSION);
	r |= label(out, g->terraform_version ? g->terraform_version : "unknown");
	r |= tj_buf_printf(out, "\",policy=\"");
	r |= label(out, g->policy_name);
	r |= tj_buf_printf(out, "\",policy_sha256=\"%s\"} 1\n", g->policy_sha256);
	r |= gauge(out, "tfjail_uptime_seconds", "Seconds since the service started.", "gauge", g->uptime_s);
	r |= tj_buf_printf(
	    out, "# HELP tfjail_jobs_total Jobs that ended with an ExecutionResponse, by status and "
	         "error_type.\n# TYPE tfjail_jobs_total counter\n");
	for (size_t i = 0; i < N(outcomes); i++)
		r |= tj_buf_printf(
		    out, "tfjail_jobs_total{status=\"%s\",error_type=\"%s\"} %llu\n", outcomes[i].status,
		    outcomes[i].error_type ? outcomes[i].error_type : "none", (unsigned long long)m->jobs[i]);
	r |= histogram(out, "tfjail_job_duration_seconds",
	               "Run time of jobs that started (not the queue wait).", &m->duration);
	r |= histogram(out, "tfjail_job_queue_wait_seconds", "Time jobs waited for a free slot.",
	               &m->queue_wait);
	r |= gauge(out, "tfjail_worker_crashes_total",
	           "Job processes that died without an ExecutionResponse.", "counter", (double)m->crashes);
	r |= gauge(out, "tfjail_launcher_restarts_total", "Job launchers started again after one died.",
	           "counter", (double)g->launcher_restarts);
	r |= gauge(out, "tfjail_launcher_up", "1 while a job launcher answers.", "gauge", g->launcher_up);
	r |= tj_buf_printf(
	    out, "# HELP tfjail_jobs_cancelled_total Jobs whose client went away, by where the job was.\n"
	         "# TYPE tfjail_jobs_cancelled_total counter\n");
	for (size_t i = 0; i < N(cancel_states); i++)
		r |= tj_buf_printf(out, "tfjail_jobs_cancelled_total{state=\"%s\"} %llu\n", cancel_states[i],
		                   (unsigned long long)m->cancelled[i]);
	r |= tj_buf_printf(out, "# HELP tfjail_jobs_rejected_total Jobs refused before they ran, by reason.\n"
	                        "# TYPE tfjail_jobs_rejected_total counter\n");
	for (size_t i = 0; i < N(reasons); i++)
		r |= tj_buf_printf(out, "tfjail_jobs_rejected_total{reason=\"%s\"} %llu\n", reasons[i],
		                   (unsigned long long)m->rejected[i]);
	r |= gauge(out, "tfjail_jobs_running", "Jobs running now.", "gauge", g->running);
	r |= gauge(out, "tfjail_jobs_queued", "Jobs waiting for a free slot.", "gauge", g->queued);
	r |= gauge(out, "tfjail_jobs_max_running", "max_concurrent_jobs.", "gauge", g->max_running);
	r |= gauge(out, "tfjail_queue_size", "queue_size.", "gauge", g->queue_size);
	r |= gauge(out, "tfjail_http_requests_in_flight",
	           "HTTP requests being answered (jobs waited for included).", "gauge", g->http_in_flight);
	r |= tj_buf_printf(out, "# HELP tfjail_http_requests_total HTTP requests answered, by status code.\n"
	                        "# TYPE tfjail_http_requests_total counter\n");
	for (size_t i = 0; i < N(codes); i++)
		r |= tj_buf_printf(out, "tfjail_http_requests_total{code=\"%u\"} %llu\n", codes[i],
		                   (unsigned long long)m->http[i]);
	r |= tj_buf_printf(out, "tfjail_http_requests_total{code=\"other\"} %llu\n",
	                   (unsigned long long)m->http[N(codes)]);
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? -1 : 0;
}
