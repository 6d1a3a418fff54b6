#include "api/metrics.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = {"SUCCESS", "FAILED", "TIMEOUT"};
static const char *const error_types[] = {"none", "PolicyViolation", "ValidationError", "TerraformError",
					  "ResourceLimitExceeded", "InvalidUpload", "InternalError"};
static const unsigned codes[] = {200, 400, 401, 404, 405, 413, 429, 500, 503};
static const char *const reasons[] = {"queue_full", "shutting_down"};
/* seconds; terraform jobs take from a fraction of a second to minutes */
static const double buckets[] = {0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct api_metrics {
	pthread_mutex_t lock;
	uint64_t jobs[N(statuses)][N(error_types)];
	uint64_t http[N(codes) + 1];   /* the last one: any other code */
	uint64_t rejected[N(reasons)];
	uint64_t bucket[N(buckets)];
	uint64_t count;
	double sum;
};

static size_t index_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name && strcmp(names[i], name) == 0)
			return i;
	return n;
}

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

void api_metrics_job(struct api_metrics *m, const char *status, const char *error_type, double seconds)
{
	size_t s = index_of(statuses, N(statuses), status);
	size_t e = error_type ? index_of(error_types, N(error_types), error_type) : 0;

	if (s == N(statuses))
		s = 1;
	if (e == N(error_types))
		e = N(error_types) - 1;
	pthread_mutex_lock(&m->lock);
	m->jobs[s][e]++;
	for (size_t i = 0; i < N(buckets); i++)
		if (seconds <= buckets[i])
			m->bucket[i]++;
	m->count++;
	m->sum += seconds;
	pthread_mutex_unlock(&m->lock);
}

void api_metrics_rejected(struct api_metrics *m, const char *reason)
{
	size_t i = index_of(reasons, N(reasons), reason);

	if (i == N(reasons))
		return;
	pthread_mutex_lock(&m->lock);
	m->rejected[i]++;
	pthread_mutex_unlock(&m->lock);
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

int api_metrics_render(struct api_metrics *m, const struct api_metrics_gauges *g, struct tj_buf *out)
{
	int r = 0;

	pthread_mutex_lock(&m->lock);
	r |= tj_buf_printf(out, "# HELP tfjail_build_info tfjail's version and the terraform it runs.\n"
				"# TYPE tfjail_build_info gauge\n"
				"tfjail_build_info{version=\"%s\",terraform_version=\"", TFJAIL_VERSION);
	r |= label(out, g->terraform_version ? g->terraform_version : "unknown");
	r |= tj_buf_printf(out, "\",policy=\"");
	r |= label(out, g->policy_name);
	r |= tj_buf_printf(out, "\",policy_sha256=\"%s\"} 1\n", g->policy_sha256);
	r |= tj_buf_printf(out, "# HELP tfjail_uptime_seconds Seconds since the service started.\n"
				"# TYPE tfjail_uptime_seconds gauge\ntfjail_uptime_seconds %.3f\n", g->uptime_s);
	r |= tj_buf_printf(out, "# HELP tfjail_jobs_total Jobs run, by status and error_type.\n"
				"# TYPE tfjail_jobs_total counter\n");
	for (size_t s = 0; s < N(statuses); s++)
		for (size_t e = 0; e < N(error_types); e++)
			r |= tj_buf_printf(out, "tfjail_jobs_total{status=\"%s\",error_type=\"%s\"} %llu\n", statuses[s],
					   error_types[e], (unsigned long long)m->jobs[s][e]);
	r |= tj_buf_printf(out, "# HELP tfjail_job_duration_seconds Wall time of jobs that ran.\n"
				"# TYPE tfjail_job_duration_seconds histogram\n");
	for (size_t i = 0; i < N(buckets); i++)
		r |= tj_buf_printf(out, "tfjail_job_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i],
				   (unsigned long long)m->bucket[i]);
	r |= tj_buf_printf(out,
			   "tfjail_job_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			   "tfjail_job_duration_seconds_sum %.6f\ntfjail_job_duration_seconds_count %llu\n",
			   (unsigned long long)m->count, m->sum, (unsigned long long)m->count);
	r |= tj_buf_printf(out, "# HELP tfjail_jobs_rejected_total Jobs refused before they ran, by reason.\n"
				"# TYPE tfjail_jobs_rejected_total counter\n");
	for (size_t i = 0; i < N(reasons); i++)
		r |= tj_buf_printf(out, "tfjail_jobs_rejected_total{reason=\"%s\"} %llu\n", reasons[i],
				   (unsigned long long)m->rejected[i]);
	r |= tj_buf_printf(out,
			   "# HELP tfjail_jobs_running Jobs running now.\n# TYPE tfjail_jobs_running gauge\n"
			   "tfjail_jobs_running %u\n"
			   "# HELP tfjail_jobs_queued Jobs waiting for a free slot.\n# TYPE tfjail_jobs_queued gauge\n"
			   "tfjail_jobs_queued %u\n"
			   "# HELP tfjail_jobs_max_running max_concurrent_jobs.\n# TYPE tfjail_jobs_max_running gauge\n"
			   "tfjail_jobs_max_running %u\n"
			   "# HELP tfjail_queue_size queue_size.\n# TYPE tfjail_queue_size gauge\ntfjail_queue_size %u\n",
			   g->running, g->queued, g->max_running, g->queue_size);
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
