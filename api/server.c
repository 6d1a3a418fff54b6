#include "api/server.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/async.h"
#include "api/jobs.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/request.h"
#include "common/cleanup.h"
#include "common/utf8.h"
#include "common/util.h"
#include "executor/job.h"
#include "executor/response.h"
#include "policy/policy.h"

#define EXECUTE_PATH      "/api/v1/execute"
#define JOBS_PATH         "/api/v1/jobs"
#define WATCH_INTERVAL_MS 100
#define REQUEST_ID_MAX    128

/* What SIGHUP replaces as a whole: the configuration and the policy.  A
 * request uses the one in force when it arrived; replaced ones are kept
 * until the service stops (they are small, and SIGHUPs are rare). */
struct live {
	const struct api_config *cfg;
	struct api_config own; /* cfg points here after a reload */
	struct tj_policy *policy;
	char *policy_text; /* the policy's bytes, sent with each job */
	size_t policy_len;
	struct job_tools tools;
	struct live *retired;
};

/* One client connection (MHD's socket context). */
struct sock {
	int fd;
	char client[INET6_ADDRSTRLEN + 8];
	_Atomic uint64_t deadline_us; /* the request must have arrived by then; 0 = none */
	_Atomic uint64_t ticket;      /* the job this connection waits for; 0 = none */
	bool cancel_sent;             /* watcher thread only */
	struct sock *prev, *next;
};

struct server {
	_Atomic(struct live *) live;
	char uploads[PATH_MAX];
	pthread_mutex_t uploads_lock;
	int uploads_fd;
	dev_t uploads_dev;
	ino_t uploads_ino;
	struct api_jobs *jobs;
	struct api_async *async; /* the job store and this host's dispatcher */
	struct api_metrics *metrics;
	uint64_t start_ms;
	uint64_t request_timeout_us;
	bool log_json;
	atomic_bool stopping;
	atomic_uint in_flight;
	atomic_uint_fast64_t request_seq;
	uint64_t request_seed;
	pthread_mutex_t socks_lock;
	struct sock *socks;
	pthread_t watcher;
	atomic_bool watcher_stop;
};

struct answer {
	unsigned code;
	const char *content_type;
	char *body; /* malloc'ed; handed to MHD */
	size_t len;
	const char *allow; /* 405: the Allow header */
	char *location;    /* 202: the Location header (malloc'ed) */
};

enum job_state { JOB_NONE, JOB_WAITING, JOB_DONE };

/* One request (MHD's con_cls). */
struct conn {
	struct server *s;
	struct MHD_Connection *c;
	struct sock *sk;
	struct live *live;
	struct tj_buf body;
	bool too_large;
	uint64_t start_us;
	char request_id[REQUEST_ID_MAX + 1];
	char method[16];
	char path[256];
	/* for the log line */
	char job_id[API_ID_MAX + 1], upload_id[API_ID_MAX + 1];
	char outcome[16], error_type[32];
	double queue_wait_s, run_s;
	pid_t worker;
	struct answer early; /* decided from the headers; sent once the body is in */
	bool has_early;
	uint64_t discarded;
	/* the job */
	_Atomic int state;
	struct api_job_result *res;
};

static struct live *live_of(struct server *s)
{
	return atomic_load(&s->live);
}

/* ------------------------------------------------------------ logging */

/* Appends v with every byte that is not printable ASCII, and the quote and
 * backslash, as \xHH: whatever a client sent is one line and plain text. */
static void escaped(struct tj_buf *b, const char *v, bool json)
{
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			tj_buf_append(b, p, 1);
		else
			tj_buf_printf(b, json ? "\\u%04x" : "\\x%02x", *p);
	}
}

static void log_request(struct server *s, struct conn *k, unsigned code)
{
	struct tj_buf b = {0}, e = {0};
	char ts[40];
	struct timespec now;
	struct tm tm;
	const struct {
		const char *key, *value;
	} f[] = {
	    {"request_id", k->request_id}, {"client", k->sk ? k->sk->client : ""},
	    {"method", k->method},         {"path", k->path},
	    {"job_id", k->job_id},         {"upload_id", k->upload_id},
	    {"outcome", k->outcome},       {"error_type", k->error_type},
	};

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ", now.tv_nsec / 1000000);
	if (s->log_json) {
		tj_buf_printf(&b, "{\"ts\":\"%s\"", ts);
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			e.len = 0;
			tj_buf_append(&e, "", 1);
			e.len = 0;
			escaped(&e, f[i].value, true);
			if (f[i].value && *f[i].value)
				tj_buf_printf(&b, ",\"%s\":\"%s\"", f[i].key, e.data);
			else
				tj_buf_printf(&b, ",\"%s\":null", f[i].key);
			if (i == 3)
				tj_buf_printf(&b, ",\"status\":%u", code);
		}
		tj_buf_printf(
		    &b, ",\"worker\":%d,\"queue_wait_s\":%.3f,\"run_s\":%.3f,\"duration_s\":%.3f}\n",
		    (int)k->worker, k->queue_wait_s, k->run_s, (double)(tj_now_us() - k->start_us) / 1e6);
	} else {
		tj_buf_printf(&b, "tfjail: http: ts=%s", ts);
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			tj_buf_printf(&b, " %s=\"", f[i].key);
			escaped(&b, f[i].value, false);
			tj_buf_append(&b, "\"", 1);
			if (i == 3)
				tj_buf_printf(&b, " status=%u", code);
		}
		tj_buf_printf(&b, " worker=%d queue_wait=%.3fs run=%.3fs duration=%.3fs\n", (int)k->worker,
		              k->queue_wait_s, k->run_s, (double)(tj_now_us() - k->start_us) / 1e6);
	}
	if (b.data)
		tj_write_all(STDERR_FILENO, b.data, b.len);
	tj_buf_free(&b);
	tj_buf_free(&e);
}

/* libmicrohttpd's own messages may quote what a client sent. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	struct tj_buf b = {0};

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	tj_buf_printf(&b, "tfjail: http: libmicrohttpd: ");
	escaped(&b, msg, false);
	tj_buf_append(&b, "\n", 1);
	tj_write_all(STDERR_FILENO, b.data, b.len);
	tj_buf_free(&b);
}

/* ------------------------------------------------------------ answers */

static enum MHD_Result send_answer(struct server *s, struct conn *k, struct answer *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* every body is valid UTF-8, whatever went into it */
	if (a->body && tj_utf8_repair(&a->body, &a->len) < 0) {
		free(a->body);
		a->body = NULL;
	}
	if (!a->body) {
		a->code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		a->body = strdup("{\"error\":\"out of memory\"}");
		a->len = a->body ? strlen(a->body) : 0;
		a->content_type = "application/json";
	}
	r = MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(a->body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Request-Id", k->request_id);
	if (a->code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tfjail\"");
	if (a->code == MHD_HTTP_TOO_MANY_REQUESTS || a->code == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	if (a->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, a->allow);
	if (a->location)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, a->location);
	free(a->location);
	ret = MHD_queue_response(k->c, a->code, r);
	MHD_destroy_response(r);
	api_metrics_http(s->metrics, a->code);
	log_request(s, k, a->code);
	return ret;
}

static struct answer json_answer(unsigned code, cJSON *o)
{
	struct answer a = {.code = code, .content_type = "application/json"};

	a.body = o ? cJSON_PrintUnformatted(o) : NULL;
	a.len = a.body ? strlen(a.body) : 0;
	cJSON_Delete(o);
	return a;
}

/* {"error": "one sentence"} */
static struct answer error_answer(unsigned code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct answer error_answer(unsigned code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	cJSON *o = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[tj_utf8_cut(msg, strlen(msg), sizeof(msg) - 1)] = '\0';
	if (o && !cJSON_AddStringToObject(o, "error", msg)) {
		cJSON_Delete(o);
		o = NULL;
	}
	return json_answer(code, o);
}

/* ------------------------------------------------------------ GET routes */

static void add_policy(cJSON *o, const struct tj_policy *p)
{
	cJSON *pol = cJSON_AddObjectToObject(o, "policy");

	cJSON_AddStringToObject(pol, "name", p->name);
	cJSON_AddStringToObject(pol, "sha256", p->sha256);
}

struct check {
	const char *name;
	bool ok;
	const char *problem;
};

static void add_checks(cJSON *o, const struct check *c, size_t n, bool *ok)
{
	cJSON *checks = cJSON_AddObjectToObject(o, "checks"),
	      *problems = cJSON_AddArrayToObject(o, "problems");

	*ok = true;
	for (size_t i = 0; i < n; i++) {
		cJSON_AddBoolToObject(checks, c[i].name, c[i].ok);
		if (!c[i].ok)
			cJSON_AddItemToArray(problems, cJSON_CreateString(c[i].problem));
		*ok = *ok && c[i].ok;
	}
}

static bool uploads_readable(struct server *s)
{
	return access(s->uploads, R_OK | X_OK) == 0;
}

/* Liveness, and what is wrong.  The status keeps the contract's two values;
 * "degraded": true says that only the job launcher is missing (a new one is
 * starting), so the service heals by itself. */
static struct answer health(struct server *s, struct live *lv)
{
	struct api_jobs_stats st;
	struct stat sb;
	cJSON *o = cJSON_CreateObject();
	bool ok, degraded = true;
	struct check c[7];
	struct api_async_stats as;
	char store[256];
	size_t n = 0;

	api_jobs_stats(s->jobs, &st);
	api_async_stats(s->async, &as);
	api_async_describe(s->async, store, sizeof(store));
	c[n++] = (struct check){"terraform", *st.terraform_version && access(lv->tools.terraform, X_OK) == 0,
	                        "terraform was not found or its version is unknown"};
	c[n++] =
	    (struct check){"provider_mirror", stat(lv->tools.plugin_dir, &sb) == 0 && S_ISDIR(sb.st_mode),
	                   "the provider mirror is missing"};
	c[n++] = (struct check){"cgroups", *st.cgroup_mode != '\0', "cgroups are not usable"};
	c[n++] = (struct check){"uploads_dir", uploads_readable(s), "the uploads directory is not readable"};
	c[n++] = (struct check){"job_launcher", st.launcher_alive, "the job launcher is restarting"};
	c[n++] = (struct check){"accepting_jobs", !atomic_load(&s->stopping), "the service is shutting down"};
	c[n++] = (struct check){"job_store", as.store_up, "the job store is unreachable"};
	cJSON_AddStringToObject(o, "status", "");
	add_checks(o, c, n, &ok);
	/* only the launcher missing: it is being started again */
	for (size_t i = 0; i < n; i++)
		degraded = degraded && (c[i].ok || strcmp(c[i].name, "job_launcher") == 0);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "status", cJSON_CreateString(ok ? "healthy" : "unhealthy"));
	cJSON_AddBoolToObject(o, "degraded", !ok && degraded);
	if (*st.terraform_version)
		cJSON_AddStringToObject(o, "terraform_version", st.terraform_version);
	else
		cJSON_AddNullToObject(o, "terraform_version");
	cJSON_AddStringToObject(o, "version", TFJAIL_VERSION);
	cJSON_AddNumberToObject(o, "running_jobs", st.running);
	/* waiting for a slot: in the launcher, and in the store (with Redis,
	 * the whole fleet's queue) */
	cJSON_AddNumberToObject(o, "queued_jobs", (double)(st.queued + as.store.queued));
	cJSON_AddNumberToObject(o, "max_concurrent_jobs", (double)lv->cfg->max_concurrent_jobs);
	cJSON_AddNumberToObject(o, "queue_size", (double)lv->cfg->queue_size);
	cJSON_AddNumberToObject(o, "launcher_restarts", (double)st.launcher_restarts);
	cJSON_AddStringToObject(o, "cgroup_mode", st.cgroup_mode);
	cJSON_AddStringToObject(o, "job_store", store);
	cJSON_AddNumberToObject(o, "store_queued_jobs", (double)as.store.queued);
	cJSON_AddNumberToObject(o, "store_running_jobs", (double)as.store.running);
	add_policy(o, lv->policy);
	cJSON_AddNumberToObject(o, "uptime_seconds", (double)(tj_now_ms() - s->start_ms) / 1000.0);
	return json_answer(ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

/* Readiness: a job sent now would run. */
static struct answer ready(struct server *s)
{
	struct api_jobs_stats st;
	cJSON *o = cJSON_CreateObject();
	bool ok;
	struct check c[4];
	struct api_async_stats as;

	api_jobs_stats(s->jobs, &st);
	api_async_stats(s->async, &as);
	c[0] = (struct check){"job_launcher", st.launcher_alive, "the job launcher is restarting"};
	c[1] = (struct check){"uploads_dir", uploads_readable(s), "the uploads directory is not readable"};
	c[2] = (struct check){"accepting_jobs", !atomic_load(&s->stopping), "the service is shutting down"};
	c[3] = (struct check){"job_store", as.store_up, "the job store is unreachable"};
	add_checks(o, c, 4, &ok);
	cJSON_AddBoolToObject(o, "ready", ok);
	return json_answer(ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static struct answer index_page(void)
{
	cJSON *o = cJSON_CreateObject(), *links;

	cJSON_AddStringToObject(o, "service", "tfjail");
	cJSON_AddStringToObject(o, "version", TFJAIL_VERSION);
	cJSON_AddStringToObject(
	    o, "description", "Runs untrusted Terraform in a micro-container and returns the plan as JSON.");
	links = cJSON_AddObjectToObject(o, "links");
	cJSON_AddStringToObject(links, "execute", EXECUTE_PATH);
	cJSON_AddStringToObject(links, "jobs", JOBS_PATH);
	cJSON_AddStringToObject(links, "health", "/health");
	cJSON_AddStringToObject(links, "ready", "/ready");
	cJSON_AddStringToObject(links, "openapi", "/openapi.json");
	cJSON_AddStringToObject(links, "metrics", "/metrics");
	return json_answer(MHD_HTTP_OK, o);
}

static struct answer metrics(struct server *s, struct live *lv)
{
	struct api_jobs_stats st;
	struct tj_buf b = {0};
	struct api_metrics_gauges g;
	struct answer a = {.code = MHD_HTTP_OK, .content_type = "text/plain; version=0.0.4; charset=utf-8"};

	api_jobs_stats(s->jobs, &st);
	g = (struct api_metrics_gauges){
	    .running = st.running,
	    .queued = st.queued,
	    .max_running = (unsigned)lv->cfg->max_concurrent_jobs,
	    .queue_size = (unsigned)lv->cfg->queue_size,
	    .http_in_flight = atomic_load(&s->in_flight),
	    .launcher_up = st.launcher_alive,
	    .launcher_restarts = st.launcher_restarts,
	    .uptime_s = (double)(tj_now_ms() - s->start_ms) / 1000.0,
	    .terraform_version = *st.terraform_version ? st.terraform_version : NULL,
	    .policy_name = lv->policy->name,
	    .policy_sha256 = lv->policy->sha256,
	};
	if (api_metrics_render(s->metrics, &g, &b) < 0 || (api_async_metrics(s->async, &b), b.data == NULL)) {
		tj_buf_free(&b);
		return error_answer(MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	a.body = b.data;
	a.len = b.len;
	return a;
}

/* ------------------------------------------------------------ the upload */

/* <uploads_dir>/<upload_id>, resolved beneath the uploads directory's
 * descriptor with no symlink, magic link or mount crossing; the directory
 * itself is opened again when it has been replaced. */
static int open_upload(struct server *s, const char *upload_id)
{
	struct open_how how = {
	    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	struct stat st;
	int fd;

	pthread_mutex_lock(&s->uploads_lock);
	if (stat(s->uploads, &st) == 0 && (st.st_dev != s->uploads_dev || st.st_ino != s->uploads_ino)) {
		int nfd = open(s->uploads, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (nfd >= 0 && fstat(nfd, &st) == 0) {
			fprintf(stderr, "tfjail: the uploads directory was replaced; opened it again\n");
			close(s->uploads_fd);
			s->uploads_fd = nfd;
			s->uploads_dev = st.st_dev;
			s->uploads_ino = st.st_ino;
		} else if (nfd >= 0) {
			close(nfd);
		}
	}
	fd = (int)syscall(SYS_openat2, s->uploads_fd, upload_id, &how, sizeof(how));
	pthread_mutex_unlock(&s->uploads_lock);
	return fd;
}

/* ------------------------------------------------------------ execute */

/* The ExecutionResponse for a job whose process died without one. */
static cJSON *internal_error_response(const struct tj_policy *policy, const char *job_id,
                                      const char *request_id, const char *why, double seconds)
{
	cJSON *o = job_response_new(job_id, policy);
	char msg[512];

	snprintf(msg, sizeof(msg), "tfjail could not finish the job: %s",
	         why ? why : "the job process failed");
	msg[tj_utf8_cut(msg, strlen(msg), sizeof(msg) - 1)] = '\0';
	job_response_set_outcome(o, "FAILED", "InternalError", msg);
	job_response_set_seconds(o, seconds);
	cJSON_AddStringToObject(o, "request_id", request_id);
	return o;
}

/* The job's end, on the job reader's thread: the request goes on. */
static void job_done(void *ctx, struct api_job_result *res)
{
	struct conn *k = ctx;

	k->res = res;
	atomic_store(&k->sk->ticket, 0);
	atomic_store(&k->state, JOB_DONE);
	MHD_resume_connection(k->c);
}

/* The request body as an ExecutionRequest whose upload is on the volume
 * (*fdp: the upload, opened); false with the answer (400, 404) in *a
 * otherwise. */
static bool read_request(struct server *s, struct conn *k, struct api_exec_request *req, int *fdp,
                         struct answer *a)
{
	struct live *lv = k->live;
	struct api_request_limits lim = {(unsigned)lv->cfg->max_variables, (unsigned)lv->cfg->max_json_depth};
	char msg[256];
	int fd;

	if (api_request_parse(k->body.data ? k->body.data : "", k->body.len, &lim, req, msg, sizeof(msg)) <
	    0) {
		*a = error_answer(MHD_HTTP_BAD_REQUEST, "%s", msg);
		return false;
	}
	snprintf(k->job_id, sizeof(k->job_id), "%s", req->job_id);
	snprintf(k->upload_id, sizeof(k->upload_id), "%s", req->upload_id);
	fd = open_upload(s, req->upload_id);
	if (fd < 0) {
		*a = error_answer(MHD_HTTP_NOT_FOUND,
		                  "upload_id '%s' is not a directory in the uploads volume", req->upload_id);
		return false;
	}
	*fdp = fd;
	return true;
}

/* A job store answer other than ACCEPTED, as HTTP. */
static struct answer store_answer(struct server *s, enum api_async_answer r, const char *msg)
{
	switch (r) {
	case API_ASYNC_CONFLICT: return error_answer(MHD_HTTP_CONFLICT, "%s", msg);
	case API_ASYNC_QUEUE_FULL:
		api_metrics_rejected(s->metrics, "queue_full");
		return error_answer(MHD_HTTP_TOO_MANY_REQUESTS, "%s", msg);
	case API_ASYNC_UNAVAILABLE:
		api_metrics_rejected(s->metrics, "store_unreachable");
		return error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "%s", msg);
	default: return error_answer(MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", msg);
	}
}

/* Submits the job to the store and waits for it; true when the request now
 * waits (the connection suspended), else the answer is in *a. */
static bool start_job(struct server *s, struct conn *k, struct answer *a)
{
	struct api_exec_request req;
	enum api_async_answer r;
	uint64_t ticket = 0;
	char msg[512];
	int fd;

	if (!read_request(s, k, &req, &fd, a))
		return false;
	atomic_store(&k->state, JOB_WAITING);
	/* no idle timeout while the job runs, however long */
	MHD_set_connection_option(k->c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
	MHD_suspend_connection(k->c);
	r = api_async_execute(s->async, &req, k->body.data, k->body.len, k->request_id, fd, job_done, k,
	                      &ticket, msg, sizeof(msg));
	if (r == API_ASYNC_ACCEPTED) {
		atomic_store(&k->sk->ticket, ticket);
		return true;
	}
	atomic_store(&k->state, JOB_NONE);
	MHD_set_connection_option(k->c, MHD_CONNECTION_OPTION_TIMEOUT,
	                          (unsigned)(s->request_timeout_us / 1000000));
	MHD_resume_connection(k->c);
	*a = store_answer(s, r, msg);
	return false;
}

/* POST /api/v1/jobs: 202 with the job's document and its Location. */
static struct answer submit_job(struct server *s, struct conn *k)
{
	struct api_exec_request req;
	enum api_async_answer r;
	struct answer a;
	cJSON *doc = NULL;
	char msg[512];
	int fd;

	/* the host that runs the job opens the upload again (the same volume) */
	if (!read_request(s, k, &req, &fd, &a))
		return a;
	close(fd);
	r = api_async_submit(s->async, &req, k->body.data, k->body.len, &doc, msg, sizeof(msg));
	if (r != API_ASYNC_ACCEPTED)
		return store_answer(s, r, msg);
	a = json_answer(MHD_HTTP_ACCEPTED, doc);
	if (asprintf(&a.location, JOBS_PATH "/%s", req.job_id) < 0)
		a.location = NULL;
	return a;
}

/* GET and DELETE /api/v1/jobs/{job_id}. */
static struct answer job_route(struct server *s, const char *method, const char *id)
{
	enum api_async_answer r;
	cJSON *doc = NULL;
	char msg[512];

	if (!job_id_valid(id))
		return error_answer(MHD_HTTP_BAD_REQUEST, "a job_id is 1-128 characters of [A-Za-z0-9._-]");
	if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
		r = api_async_cancel(s->async, id, &doc, msg, sizeof(msg));
	else
		r = api_async_get(s->async, id, &doc, msg, sizeof(msg));
	if (r != API_ASYNC_ACCEPTED)
		return store_answer(s, r, msg);
	if (!doc)
		return error_answer(MHD_HTTP_NOT_FOUND, "job '%s' is unknown, or its result has expired", id);
	return json_answer(MHD_HTTP_OK, doc);
}

/* The answer for a job that has ended. */
static struct answer job_answer(struct server *s, struct conn *k)
{
	struct api_job_result *res = k->res;
	struct answer a;

	if (!res)
		return error_answer(MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	k->queue_wait_s = res->queue_wait_s;
	k->run_s = res->run_s;
	k->worker = res->worker;
	switch (res->outcome) {
	case API_JOB_RESULT:
		/* counted where the job ran: hook_job_ended */
		snprintf(k->outcome, sizeof(k->outcome), "%s", res->status);
		snprintf(k->error_type, sizeof(k->error_type), "%s", res->error_type ? res->error_type : "");
		a = (struct answer){.code = MHD_HTTP_OK,
		                    .content_type = "application/json",
		                    .body = malloc(res->response_len + 1),
		                    .len = res->response_len};
		if (a.body)
			memcpy(a.body, res->response, res->response_len + 1);
		break;
	case API_JOB_CRASHED:
		fprintf(stderr, "tfjail: job %s: %s\n", k->job_id, res->why);
		snprintf(k->outcome, sizeof(k->outcome), "FAILED");
		snprintf(k->error_type, sizeof(k->error_type), "InternalError");
		a = json_answer(MHD_HTTP_OK,
		                internal_error_response(k->live->policy, k->job_id, k->request_id, res->why,
		                                        res->queue_wait_s + res->run_s));
		break;
	case API_JOB_CANCELLED:
		fprintf(stderr, "tfjail: job %s cancelled: %s\n", k->job_id, res->why);
		if (!res->started)
			api_metrics_cancelled(s->metrics, false);
		snprintf(k->outcome, sizeof(k->outcome), "CANCELLED");
		a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the job was cancelled: %s", res->why);
		break;
	case API_JOB_ABORTED:
	default:
		api_metrics_rejected(s->metrics, "shutting_down");
		snprintf(k->outcome, sizeof(k->outcome), "ABORTED");
		a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE,
		                 "the service is shutting down; the job did not finish");
		break;
	}
	return a;
}

/* ------------------------------------------------------------ routing */

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static bool authorized(struct MHD_Connection *c, const struct live *lv)
{
	return !lv->cfg->token || api_token_matches(MHD_lookup_connection_value(
	                                                c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
	                                            lv->cfg->token);
}

static struct answer unauthorized(void)
{
	return error_answer(MHD_HTTP_UNAUTHORIZED,
	                    "a valid 'Authorization: Bearer TOKEN' header is required");
}

/* The first call for a request, headers read: answers at once what needs no
 * body.  Returns true when an answer is in *a. */
static bool early_answer(struct server *s, struct conn *k, const char *url, const char *method,
                         struct answer *a)
{
	struct live *lv = k->live;
	static const char *const gets[] = {"/", "/health", "/ready", "/openapi.json", "/metrics"};

	if (strncmp(url, JOBS_PATH "/", strlen(JOBS_PATH "/")) == 0) {
		if (!is_get(method) && strcmp(method, MHD_HTTP_METHOD_DELETE) != 0) {
			*a = error_answer(MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes GET or DELETE", url);
			a->allow = "GET, HEAD, DELETE";
		} else {
			*a = authorized(k->c, lv) ? job_route(s, method, url + strlen(JOBS_PATH "/"))
			                          : unauthorized();
		}
		return true;
	}
	if (strcmp(url, EXECUTE_PATH) != 0 && strcmp(url, JOBS_PATH) != 0) {
		bool known = false;
		for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
			known = known || strcmp(url, gets[i]) == 0;
		if (!known)
			*a = error_answer(MHD_HTTP_NOT_FOUND, "no such endpoint (see GET / for the list)");
		else if (!is_get(method))
			*a = error_answer(MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes GET only", url),
			a->allow = "GET, HEAD";
		else if (strcmp(url, "/health") == 0)
			*a = health(s, lv);
		else if (strcmp(url, "/ready") == 0)
			*a = ready(s);
		else if (strcmp(url, "/metrics") == 0)
			*a = lv->cfg->protect_metrics && !authorized(k->c, lv) ? unauthorized()
			                                                       : metrics(s, lv);
		else if (strcmp(url, "/openapi.json") == 0)
			*a = lv->cfg->protect_openapi && !authorized(k->c, lv)
			         ? unauthorized()
			         : (struct answer){.code = MHD_HTTP_OK,
			                           .content_type = "application/json",
			                           .body = strdup(api_openapi_text()),
			                           .len = strlen(api_openapi_text())};
		else
			*a = index_page();
		return true;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		*a = error_answer(MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes POST only", url);
		a->allow = "POST";
		return true;
	}
	if (atomic_load(&s->stopping)) {
		api_metrics_rejected(s->metrics, "shutting_down");
		*a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the service is shutting down");
		return true;
	}
	if (!authorized(k->c, lv)) {
		*a = unauthorized();
		return true;
	}
	{
		const char *cl =
		    MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl && tj_parse_u64(cl, UINT64_MAX, &n) == 0 && n > lv->cfg->max_body_bytes) {
			*a = error_answer(MHD_HTTP_CONTENT_TOO_LARGE,
			                  "the request body is larger than %llu bytes",
			                  (unsigned long long)lv->cfg->max_body_bytes);
			return true;
		}
	}
	return false;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static struct conn *new_conn(struct server *s, struct MHD_Connection *c, const char *url, const char *method)
{
	struct conn *k = calloc(1, sizeof(*k));
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const char *rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");

	if (!k)
		return NULL;
	k->s = s;
	k->c = c;
	k->sk = ci ? ci->socket_context : NULL;
	k->live = live_of(s);
	k->start_us = tj_now_us();
	if (api_request_id_valid(rid))
		snprintf(k->request_id, sizeof(k->request_id), "%s", rid);
	else
		snprintf(k->request_id, sizeof(k->request_id), "req_%016llx",
		         (unsigned long long)mix64(s->request_seed + atomic_fetch_add(&s->request_seq, 1)));
	snprintf(k->method, sizeof(k->method), "%s", method);
	snprintf(k->path, sizeof(k->path), "%s", url);
	atomic_fetch_add(&s->in_flight, 1);
	return k;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
	struct server *s = cls;
	struct conn *k = *con_cls;
	struct answer a;

	if (!k) {
		k = new_conn(s, c, url, method);
		if (!k)
			return MHD_NO;
		*con_cls = k;
		if (early_answer(s, k, url, method, &a)) {
			/* a body is read (and dropped) first, so that the connection
			 * can stay open; one announced too large is not */
			if (a.code == MHD_HTTP_CONTENT_TOO_LARGE)
				return send_answer(s, k, &a);
			k->early = a;
			k->has_early = true;
		}
		return MHD_YES;
	}
	if (atomic_load(&k->state) == JOB_DONE) {
		atomic_store(&k->state, JOB_NONE);
		a = job_answer(s, k);
		return send_answer(s, k, &a);
	}
	if (atomic_load(&k->state) == JOB_WAITING)
		return MHD_YES;
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (k->has_early) {
			k->discarded += n;
			if (k->discarded <= k->live->cfg->max_body_bytes)
				return MHD_YES;
			k->has_early = false;
			return send_answer(s, k, &k->early);
		}
		if (!k->too_large && k->body.len + n > k->live->cfg->max_body_bytes) {
			k->too_large = true;
			tj_buf_free(&k->body);
		}
		if (!k->too_large && tj_buf_append(&k->body, upload_data, n) < 0)
			return MHD_NO;
		return MHD_YES;
	}
	/* the whole request is in */
	if (k->sk)
		atomic_store(&k->sk->deadline_us, 0);
	if (k->has_early) {
		k->has_early = false;
		return send_answer(s, k, &k->early);
	} else if (k->too_large) {
		a = error_answer(MHD_HTTP_CONTENT_TOO_LARGE, "the request body is larger than %llu bytes",
		                 (unsigned long long)k->live->cfg->max_body_bytes);
	} else if (atomic_load(&s->stopping)) {
		api_metrics_rejected(s->metrics, "shutting_down");
		a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the service is shutting down");
	} else if (strcmp(k->path, JOBS_PATH) == 0) {
		a = submit_job(s, k);
	} else if (start_job(s, k, &a)) {
		return MHD_YES;
	}
	return send_answer(s, k, &a);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode t)
{
	struct server *s = cls;
	struct conn *k = *con_cls;

	if (!k)
		return;
	/* the next request on this connection has request_timeout to arrive
	 * (the idle timeout was off while a job ran: on again now that the
	 * answer is out, so that it cannot count the job's time) */
	if (k->sk)
		atomic_store(&k->sk->deadline_us, tj_now_us() + s->request_timeout_us);
	if (k->job_id[0])
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
		                          (unsigned)(s->request_timeout_us / 1000000));
	if (k->has_early)
		free(k->early.body);
	api_job_result_free(k->res);
	tj_buf_free(&k->body);
	atomic_fetch_sub(&s->in_flight, 1);
	free(k);
	*con_cls = NULL;
}

/* Connections come and go: the watcher knows each one. */
static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
	struct server *s = cls;
	struct sock *sk = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return;
		sk->fd = fd ? fd->connect_fd : -1;
		atomic_store(&sk->deadline_us, tj_now_us() + s->request_timeout_us);
		if (ad && ad->client_addr && ad->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET,
			          &((const struct sockaddr_in *)(const void *)ad->client_addr)->sin_addr,
			          sk->client, sizeof(sk->client));
		else if (ad && ad->client_addr && ad->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((const struct sockaddr_in6 *)(const void *)ad->client_addr)->sin6_addr,
			          sk->client, sizeof(sk->client));
		pthread_mutex_lock(&s->socks_lock);
		sk->next = s->socks;
		if (s->socks)
			s->socks->prev = sk;
		s->socks = sk;
		pthread_mutex_unlock(&s->socks_lock);
		*socket_context = sk;
		return;
	}
	if (!sk)
		return;
	pthread_mutex_lock(&s->socks_lock);
	if (sk->prev)
		sk->prev->next = sk->next;
	else
		s->socks = sk->next;
	if (sk->next)
		sk->next->prev = sk->prev;
	pthread_mutex_unlock(&s->socks_lock);
	free(sk);
	*socket_context = NULL;
}

/* The watcher: closes connections whose request has not arrived in time
 * (however slowly it trickles), and cancels the jobs of clients that have
 * gone (a waiting connection is suspended: libmicrohttpd does not look at
 * it, so the watcher polls it for the peer's hang-up). */
static void *watcher_main(void *arg)
{
	struct server *s = arg;
	size_t cap = 0;
	struct pollfd *pfd = NULL;
	struct sock **who = NULL;
	uint64_t *seen = NULL; /* the ticket each polled connection waited for */

	while (!atomic_load(&s->watcher_stop)) {
		uint64_t now = tj_now_us();
		size_t n = 0;

		pthread_mutex_lock(&s->socks_lock);
		for (struct sock *sk = s->socks; sk; sk = sk->next) {
			uint64_t d = atomic_load(&sk->deadline_us);
			if (d && now > d && sk->fd >= 0) {
				atomic_store(&sk->deadline_us, 0);
				/* libmicrohttpd sees the end and closes it */
				shutdown(sk->fd, SHUT_RDWR);
			}
			if (atomic_load(&sk->ticket) && !sk->cancel_sent && sk->fd >= 0) {
				if (n == cap) {
					size_t nc = cap ? 2 * cap : 64;
					struct pollfd *np = realloc(pfd, nc * sizeof(*pfd));
					struct sock **nw = np ? realloc(who, nc * sizeof(*who)) : NULL;
					uint64_t *ns = nw ? realloc(seen, nc * sizeof(*seen)) : NULL;
					if (np)
						pfd = np;
					if (nw)
						who = nw;
					if (!ns)
						break;
					seen = ns;
					cap = nc;
				}
				pfd[n] = (struct pollfd){.fd = sk->fd, .events = POLLRDHUP};
				seen[n] = atomic_load(&sk->ticket);
				who[n++] = sk;
			}
		}
		pthread_mutex_unlock(&s->socks_lock);
		if (poll(pfd, n, WATCH_INTERVAL_MS) <= 0)
			continue;
		pthread_mutex_lock(&s->socks_lock);
		for (size_t i = 0; i < n; i++) {
			uint64_t ticket;
			bool still = false;
			if (!(pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR)))
				continue;
			/* the connection may have ended meanwhile, and another may
			 * have its memory and descriptor now: only the job it was
			 * seen waiting for, if it still waits for it, is abandoned */
			for (struct sock *sk = s->socks; sk && !still; sk = sk->next)
				still = sk == who[i] && sk->fd == pfd[i].fd;
			if (!still || !(ticket = atomic_load(&who[i]->ticket)) || ticket != seen[i])
				continue;
			who[i]->cancel_sent = true;
			pthread_mutex_unlock(&s->socks_lock);
			api_async_abandon(s->async, ticket);
			pthread_mutex_lock(&s->socks_lock);
		}
		pthread_mutex_unlock(&s->socks_lock);
		if (n == 0)
			usleep(WATCH_INTERVAL_MS * 1000);
	}
	free(pfd);
	free(who);
	free(seen);
	return NULL;
}

/* ------------------------------------------------------------ start, stop, reload */

static int resolve_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
                          struct tj_error *err)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
	                *ai;
	int rc;

	if (api_parse_listen(listen, host, sizeof(host), &p, err) < 0)
		return -1;
	snprintf(port, sizeof(port), "%u", p);
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return tj_error_set(err, EINVAL, "listen address %s: %s", listen, gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int open_uploads(struct server *s, const char *dir, struct tj_error *err)
{
	struct stat st;

	if (tj_mkdir_p(dir, 0755, err) < 0)
		return tj_error_prefix(err, "uploads_dir");
	if (!realpath(dir, s->uploads))
		return tj_error_sys(err, "uploads_dir %s", dir);
	s->uploads_fd = open(s->uploads, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->uploads_fd < 0 || fstat(s->uploads_fd, &st) < 0)
		return tj_error_sys(err, "uploads_dir %s", s->uploads);
	s->uploads_dev = st.st_dev;
	s->uploads_ino = st.st_ino;
	return 0;
}

static void live_free(struct live *lv)
{
	while (lv) {
		struct live *next = lv->retired;
		if (lv->cfg == &lv->own)
			api_config_free(&lv->own);
		tj_policy_free(lv->policy);
		free(lv->policy_text);
		free(lv);
		lv = next;
	}
}

/* The policy named by cfg (NULL: the built-in one), its bytes kept. */
static struct live *live_load(const struct api_config *cfg, struct tj_error *err)
{
	struct live *lv = calloc(1, sizeof(*lv));
	const char *label = cfg->policy ? cfg->policy : "built-in default policy";

	if (!lv) {
		tj_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	lv->cfg = cfg;
	if (cfg->policy) {
		if (tj_read_file(cfg->policy, 1 << 20, &lv->policy_text, &lv->policy_len, err) < 0) {
			tj_error_prefix(err, "policy");
			goto fail;
		}
	} else {
		lv->policy_text = strdup(tj_policy_default_text());
		lv->policy_len = lv->policy_text ? strlen(lv->policy_text) : 0;
	}
	if (!lv->policy_text ||
	    tj_policy_load_text(lv->policy_text, lv->policy_len, label, &lv->policy, err) < 0 ||
	    job_tools_discover(lv->policy, &cfg->host, &lv->tools, err) < 0)
		goto fail;
	return lv;
fail:
	free(lv->policy_text);
	tj_policy_free(lv->policy);
	free(lv);
	return NULL;
}

/* SIGHUP: the config file and the policy again, both or neither. */
static void reload(struct server *s)
{
	struct live *old = live_of(s), *lv;
	struct api_config next;
	struct tj_error err = {0};
	static const char *const restart_only =
	    "listen, uploads_dir, max_connections, max_connections_per_ip, "
	    "http_threads, max_concurrent_jobs, queue_size, request_timeout, terraform, "
	    "plugin_dir, cgroup_parent, uid_range, store";

	if (api_config_defaults(&next, &err) < 0 ||
	    (old->cfg->path && api_config_load(old->cfg->path, &next, &err) < 0)) {
		fprintf(stderr, "tfjail: SIGHUP: the configuration was not reloaded, the old one stays: %s\n",
		        err.msg);
		api_config_free(&next);
		return;
	}
	if (!old->cfg->path) {
		/* no file: only the policy is read again */
		api_config_free(&next);
		if (api_config_defaults(&next, &err) < 0)
			return;
		free(next.listen);
		free(next.uploads_dir);
		next = *old->cfg;
		next.listen = strdup(old->cfg->listen);
		next.uploads_dir = strdup(old->cfg->uploads_dir);
		next.policy = old->cfg->policy ? strdup(old->cfg->policy) : NULL;
		next.token = old->cfg->token ? strdup(old->cfg->token) : NULL;
		next.path = NULL;
		memset(&next.store, 0, sizeof(next.store));
	}
	/* these need a restart: keep what is in force */
	free(next.listen);
	next.listen = strdup(old->cfg->listen);
	free(next.uploads_dir);
	next.uploads_dir = strdup(old->cfg->uploads_dir);
	next.max_connections = old->cfg->max_connections;
	next.max_connections_per_ip = old->cfg->max_connections_per_ip;
	next.http_threads = old->cfg->http_threads;
	next.max_concurrent_jobs = old->cfg->max_concurrent_jobs;
	next.queue_size = old->cfg->queue_size;
	next.request_timeout_s = old->cfg->request_timeout_s;
	/* the host settings too (the environment's overrides were applied at
	 * start-up; the old configuration, kept until exit, owns the strings) */
	next.host = old->cfg->host;
	api_store_options_free(&next.store);
	if (api_store_options_copy(&old->cfg->store, &next.store, &err) < 0) {
		fprintf(stderr, "tfjail: SIGHUP: out of memory; the old configuration stays\n");
		api_config_free(&next);
		return;
	}
	lv = calloc(1, sizeof(*lv));
	if (!lv || !next.listen || !next.uploads_dir) {
		fprintf(stderr, "tfjail: SIGHUP: out of memory; the old configuration stays\n");
		free(lv);
		api_config_free(&next);
		return;
	}
	lv->own = next;
	{
		struct live *loaded = live_load(&lv->own, &err);
		if (!loaded) {
			fprintf(stderr,
			        "tfjail: SIGHUP: the policy was not reloaded, the old configuration and "
			        "policy stay: %s\n",
			        err.msg);
			api_config_free(&lv->own);
			free(lv);
			return;
		}
		lv->policy = loaded->policy;
		lv->policy_text = loaded->policy_text;
		lv->policy_len = loaded->policy_len;
		lv->tools = loaded->tools;
		free(loaded);
	}
	lv->cfg = &lv->own;
	lv->retired = old;
	s->log_json = lv->cfg->log_json;
	atomic_store(&s->live, lv);
	fprintf(stderr,
	        "tfjail: SIGHUP: reloaded the configuration%s%s and the policy %s %.12s (%s change on "
	        "restart only)\n",
	        lv->cfg->path ? " " : "", lv->cfg->path ? lv->cfg->path : "", lv->policy->name,
	        lv->policy->sha256, restart_only);
}

/* ------------------------------------------------------------ the job store's hooks */

static int hook_open_upload(void *ctx, const char *upload_id)
{
	return open_upload(ctx, upload_id);
}

static void hook_policy(void *ctx, const struct tj_policy **p, const char **text, size_t *len,
                        struct api_request_limits *lim)
{
	struct live *lv = live_of(ctx);

	*p = lv->policy;
	*text = lv->policy_text;
	*len = lv->policy_len;
	*lim =
	    (struct api_request_limits){(unsigned)lv->cfg->max_variables, (unsigned)lv->cfg->max_json_depth};
}

/* Every job that ran on this host, whoever submitted it, counts here. */
static void hook_job_ended(void *ctx, const struct api_job_result *res)
{
	struct server *s = ctx;

	if (res->outcome == API_JOB_RESULT)
		api_metrics_job(s->metrics, res->status, res->error_type, res->queue_wait_s, res->run_s);
	else if (res->outcome == API_JOB_CRASHED)
		api_metrics_crash(s->metrics, res->queue_wait_s, res->run_s);
	else if (res->outcome == API_JOB_CANCELLED)
		api_metrics_cancelled(s->metrics, res->started);
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}

/* Under a service manager that delegated this process's cgroup (systemd
 * Delegate=yes on cgroup v2), opening the runtime moves the process into the
 * leaf "service" of that cgroup, which becomes the job cgroups' parent.  It
 * is opened here once, before the launcher is forked: opened first in the
 * launcher, it would find this process beside it in the cgroup, take the
 * cgroup for a shared one (a login session) and put the job cgroups outside
 * the delegated subtree.  Its errors are the launcher's to report. */
static void claim_cgroup(const struct live *lv, const struct job_host *host)
{
	struct sandbox_runtime *rt = NULL;

	if (job_runtime_open(lv->policy, host, &rt, NULL) == 0)
		sandbox_runtime_free(rt);
}

int api_serve(const struct api_config *cfg, struct tj_error *err)
{
	struct server s = {.uploads_fd = -1};
	struct api_launcher_config lc = {.max_concurrent = (unsigned)cfg->max_concurrent_jobs};
	struct MHD_Daemon *d = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	sigset_t set;
	pid_t spawner = -1;
	int fd = -1, ret = -1, sig;
	char host[256];
	unsigned port;
	struct live *lv;
	bool watcher = false;

	s.start_ms = tj_now_ms();
	s.request_timeout_us = cfg->request_timeout_s * 1000000;
	s.log_json = cfg->log_json;
	pthread_mutex_init(&s.uploads_lock, NULL);
	pthread_mutex_init(&s.socks_lock, NULL);
	if (getrandom(&s.request_seed, sizeof(s.request_seed), 0) != sizeof(s.request_seed))
		s.request_seed = tj_now_us();
	if (resolve_listen(cfg->listen, &ss, &sslen, err) < 0)
		return -1;
	lv = live_load(cfg, err);
	if (!lv)
		return -1;
	atomic_store(&s.live, lv);
	if (open_uploads(&s, cfg->uploads_dir, err) < 0)
		goto out;
	s.metrics = api_metrics_new();
	if (!s.metrics) {
		tj_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* SIGTERM, SIGINT and SIGHUP are taken by sigwait in this thread only:
	 * block them before any thread exists (the launcher sets its own mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* Forked while this process has one thread: launchers come from it. */
	lc.policy = lv->policy;
	lc.tools = &lv->tools;
	lc.host = &cfg->host;
	claim_cgroup(lv, &cfg->host);
	if (api_spawner_start(&lc, &spawner, &fd, err) < 0)
		goto out;
	if (api_jobs_start(fd, spawner, (unsigned)cfg->max_concurrent_jobs, (unsigned)cfg->queue_size,
	                   &s.jobs, err) < 0) {
		close(fd);
		waitpid(spawner, NULL, 0);
		goto out;
	}
	{
		struct api_async_config ac = {
		    .store = &cfg->store,
		    .jobs = s.jobs,
		    .slots = (unsigned)cfg->max_concurrent_jobs,
		    .queue_size = (unsigned)cfg->queue_size,
		    .hooks = {.ctx = &s,
		              .open_upload = hook_open_upload,
		              .policy = hook_policy,
		              .job_ended = hook_job_ended},
		};
		if (api_async_start(&ac, &s.async, err) < 0) {
			api_jobs_stop(s.jobs, 0);
			goto out;
		}
	}
	if (pthread_create(&s.watcher, NULL, watcher_main, &s) != 0) {
		tj_error_set(err, EAGAIN, "start the connection watcher thread");
		api_async_drain(s.async, 0);
		api_jobs_stop(s.jobs, 0);
		goto out;
	}
	watcher = true;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
	                         MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
	                     0, NULL, NULL, handle, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &s,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	                     (unsigned)cfg->http_threads, MHD_OPTION_CONNECTION_LIMIT,
	                     (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	                     (unsigned)cfg->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
	                     (unsigned)cfg->request_timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	                     MHD_OPTION_NOTIFY_COMPLETED, request_completed, &s, MHD_OPTION_NOTIFY_CONNECTION,
	                     connection_notify, &s, MHD_OPTION_END);
	if (!d) {
		tj_error_set(err, EADDRINUSE, "cannot listen on %s (address in use or not available)",
		             cfg->listen);
		api_async_drain(s.async, 0);
		api_jobs_stop(s.jobs, 0);
		goto out;
	}
	{
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		struct api_jobs_stats st;
		char store[256];
		api_jobs_stats(s.jobs, &st);
		api_async_describe(s.async, store, sizeof(store));
		api_parse_listen(cfg->listen, host, sizeof(host), &port, NULL);
		fprintf(
		    stderr,
		    "tfjail: serving on %s%s%s:%u (uploads %s, policy %s %.12s, terraform %s, cgroups %s, "
		    "%llu jobs at once, queue %llu, job store %s)\n",
		    ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
		    info ? info->port : port, s.uploads, lv->policy->name, lv->policy->sha256,
		    *st.terraform_version ? st.terraform_version : "unknown", st.cgroup_mode,
		    (unsigned long long)cfg->max_concurrent_jobs, (unsigned long long)cfg->queue_size, store);
	}

	while ((sig = wait_for_signal()) == SIGHUP)
		reload(&s);
	atomic_store(&s.stopping, true);
	{
		struct api_jobs_stats js;
		api_jobs_stats(s.jobs, &js);
		fprintf(stderr, "tfjail: %s: stopping (%u running, %u queued; grace %llu s)\n",
		        strsignal(sig), js.running, js.queued, (unsigned long long)cfg->shutdown_grace_s);
	}
	/* every job ends (their connections resume) before the HTTP side stops:
	 * running jobs may finish and publish within the grace period, then the
	 * launcher kills what is left, and the waiting requests are answered */
	api_async_drain(s.async, (unsigned)cfg->shutdown_grace_s);
	api_jobs_stop(s.jobs, 0);
	api_async_free(s.async);
	s.async = NULL;
	/* the last answers are on their way out: stopping the daemon closes
	 * their connections, so wait for them (at most 5 s) */
	for (int i = 0; i < 100 && atomic_load(&s.in_flight) > 0; i++)
		usleep(50 * 1000);
	MHD_stop_daemon(d);
	fprintf(stderr, "tfjail: stopped\n");
	ret = 0;
out:
	if (watcher) {
		atomic_store(&s.watcher_stop, true);
		pthread_join(s.watcher, NULL);
	}
	api_async_free(s.async);
	api_jobs_free(s.jobs);
	api_metrics_free(s.metrics);
	if (s.uploads_fd >= 0)
		close(s.uploads_fd);
	live_free(live_of(&s));
	return ret;
}
