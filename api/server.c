#include "api/server.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/ipc.h"
#include "api/jobs.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/request.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "executor/job.h"
#include "executor/response.h"
#include "policy/policy.h"

#define EXECUTE_PATH "/api/v1/execute"
#define IDLE_TIMEOUT_S 60

struct server {
	const struct api_config *cfg;
	struct tj_policy *policy;
	struct job_tools tools;
	char uploads[PATH_MAX];
	int uploads_fd;
	struct api_jobs *jobs;
	struct api_metrics *metrics;
	char terraform_version[64];   /* "" = unknown */
	char cgroup_mode[16];
	uint64_t start_ms;
	atomic_bool stopping;
};

/* Per connection: the request body as it arrives. */
struct conn {
	struct tj_buf body;
	bool too_large;
	uint64_t start_us;
};

/* ------------------------------------------------------------ answers */

/* The request line for the log: what the client sent, printable only. */
static void log_request(const char *method, const char *url, unsigned code, const char *job_id, pid_t worker,
			uint64_t start_us)
{
	char path[201];
	size_t i;

	for (i = 0; i < sizeof(path) - 1 && url[i]; i++)
		path[i] = url[i] > 0x20 && url[i] < 0x7f ? url[i] : '?';
	path[i] = '\0';
	fprintf(stderr, "tfjail: http: %.8s %s %u", method, path, code);
	if (job_id && *job_id)
		fprintf(stderr, " job_id=%s", job_id);
	if (worker > 0)
		fprintf(stderr, " worker=%d", (int)worker);
	fprintf(stderr, " %.3fs\n", (double)(tj_now_us() - start_us) / 1e6);
}

struct answer {
	unsigned code;
	const char *content_type;
	char *body;          /* malloc'ed; handed to MHD */
	size_t len;
	const char *job_id;  /* for the log */
	pid_t worker;
	const char *allow;   /* 405: the Allow header */
};

static enum MHD_Result send_answer(struct server *s, struct MHD_Connection *c, struct conn *k, const char *method,
				   const char *url, struct answer *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

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
	if (a->code == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tfjail\"");
	if (a->code == MHD_HTTP_TOO_MANY_REQUESTS || a->code == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "5");
	if (a->allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, a->allow);
	ret = MHD_queue_response(c, a->code, r);
	MHD_destroy_response(r);
	api_metrics_http(s->metrics, a->code);
	log_request(method, url, a->code, a->job_id, a->worker, k->start_us);
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

static struct answer health(struct server *s)
{
	struct api_jobs_stats st;
	struct stat sb;
	cJSON *o = cJSON_CreateObject(), *checks, *problems;
	bool ok = true;
	struct {
		const char *name;
		bool ok;
		const char *problem;
	} c[6];
	size_t n = 0;

	api_jobs_stats(s->jobs, &st);
	c[n++] = (typeof(c[0])){"terraform", *s->terraform_version && access(s->tools.terraform, X_OK) == 0,
				"terraform was not found or its version is unknown"};
	c[n++] = (typeof(c[0])){"provider_mirror", stat(s->tools.plugin_dir, &sb) == 0 && S_ISDIR(sb.st_mode),
				"the provider mirror is missing"};
	c[n++] = (typeof(c[0])){"cgroups", *s->cgroup_mode != '\0', "cgroups are not usable"};
	c[n++] = (typeof(c[0])){"uploads_dir", access(s->uploads, R_OK | X_OK) == 0, "the uploads directory is not readable"};
	c[n++] = (typeof(c[0])){"job_launcher", st.launcher_alive, "the job launcher process has gone"};
	c[n++] = (typeof(c[0])){"accepting_jobs", !atomic_load(&s->stopping), "the service is shutting down"};
	checks = cJSON_CreateObject();
	problems = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON_AddBoolToObject(checks, c[i].name, c[i].ok);
		if (!c[i].ok)
			cJSON_AddItemToArray(problems, cJSON_CreateString(c[i].problem));
		ok = ok && c[i].ok;
	}
	cJSON_AddStringToObject(o, "status", ok ? "healthy" : "unhealthy");
	if (*s->terraform_version)
		cJSON_AddStringToObject(o, "terraform_version", s->terraform_version);
	else
		cJSON_AddNullToObject(o, "terraform_version");
	cJSON_AddStringToObject(o, "version", TFJAIL_VERSION);
	cJSON_AddItemToObject(o, "checks", checks);
	cJSON_AddItemToObject(o, "problems", problems);
	cJSON_AddNumberToObject(o, "running_jobs", st.running);
	cJSON_AddNumberToObject(o, "queued_jobs", st.queued);
	cJSON_AddNumberToObject(o, "max_concurrent_jobs", (double)s->cfg->max_concurrent_jobs);
	cJSON_AddNumberToObject(o, "queue_size", (double)s->cfg->queue_size);
	cJSON_AddStringToObject(o, "cgroup_mode", s->cgroup_mode);
	add_policy(o, s->policy);
	cJSON_AddNumberToObject(o, "uptime_seconds", (double)(tj_now_ms() - s->start_ms) / 1000.0);
	return json_answer(ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static struct answer index_page(void)
{
	cJSON *o = cJSON_CreateObject(), *links;

	cJSON_AddStringToObject(o, "service", "tfjail");
	cJSON_AddStringToObject(o, "version", TFJAIL_VERSION);
	cJSON_AddStringToObject(o, "description", "Runs untrusted Terraform in a micro-container and returns the plan as JSON.");
	links = cJSON_AddObjectToObject(o, "links");
	cJSON_AddStringToObject(links, "execute", EXECUTE_PATH);
	cJSON_AddStringToObject(links, "health", "/health");
	cJSON_AddStringToObject(links, "openapi", "/openapi.json");
	cJSON_AddStringToObject(links, "metrics", "/metrics");
	return json_answer(MHD_HTTP_OK, o);
}

static struct answer metrics(struct server *s)
{
	struct api_jobs_stats st;
	struct tj_buf b = {0};
	struct api_metrics_gauges g;
	struct answer a = {.code = MHD_HTTP_OK, .content_type = "text/plain; version=0.0.4; charset=utf-8"};

	api_jobs_stats(s->jobs, &st);
	g = (struct api_metrics_gauges){
		.running = st.running,
		.queued = st.queued,
		.max_running = (unsigned)s->cfg->max_concurrent_jobs,
		.queue_size = (unsigned)s->cfg->queue_size,
		.uptime_s = (double)(tj_now_ms() - s->start_ms) / 1000.0,
		.terraform_version = *s->terraform_version ? s->terraform_version : NULL,
		.policy_name = s->policy->name,
		.policy_sha256 = s->policy->sha256,
	};
	if (api_metrics_render(s->metrics, &g, &b) < 0) {
		tj_buf_free(&b);
		return error_answer(MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	a.body = b.data;
	a.len = b.len;
	return a;
}

/* ------------------------------------------------------------ execute */

/* The ExecutionResponse for a job whose process died without one. */
static cJSON *internal_error_response(const struct server *s, const char *job_id, const char *why, double seconds)
{
	cJSON *o = job_response_new(job_id, s->policy);
	char msg[512];

	snprintf(msg, sizeof(msg), "tfjail could not finish the job: %s", why ? why : "the job process failed");
	job_response_set_outcome(o, "FAILED", "InternalError", msg);
	job_response_set_seconds(o, seconds);
	return o;
}

/* <uploads_dir>/<upload_id> must be a directory there, not a symlink. */
static bool upload_exists(const struct server *s, const char *upload_id)
{
	struct stat st;

	return fstatat(s->uploads_fd, upload_id, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static struct answer execute(struct server *s, struct conn *k, struct api_exec_request *req)
{
	char upload_dir[PATH_MAX + API_ID_MAX + 2];
	struct api_job_result res;
	struct tj_error err = {0};
	struct answer a;
	cJSON *run = cJSON_CreateObject();
	double seconds;

	if (!upload_exists(s, req->upload_id)) {
		cJSON_Delete(run);
		return error_answer(MHD_HTTP_NOT_FOUND, "upload_id '%s' is not a directory in the uploads volume",
				    req->upload_id);
	}
	snprintf(upload_dir, sizeof(upload_dir), "%s/%s", s->uploads, req->upload_id);
	cJSON_AddStringToObject(run, "job_id", req->job_id);
	cJSON_AddStringToObject(run, "upload_dir", upload_dir);
	if (req->variables)
		cJSON_AddItemReferenceToObject(run, "variables", req->variables);
	if (api_jobs_run(s->jobs, run, &res, &err) < 0) {
		cJSON_Delete(run);
		free(res.text);
		fprintf(stderr, "tfjail: job %s: %s\n", req->job_id, err.msg);
		return error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the job launcher is not available");
	}
	cJSON_Delete(run);
	seconds = (double)(tj_now_us() - k->start_us) / 1e6;
	switch (res.outcome) {
	case API_JOB_QUEUE_FULL:
		api_metrics_rejected(s->metrics, "queue_full");
		a = error_answer(MHD_HTTP_TOO_MANY_REQUESTS,
				 "the job queue is full (%llu running, %llu queued); retry later",
				 (unsigned long long)s->cfg->max_concurrent_jobs, (unsigned long long)s->cfg->queue_size);
		break;
	case API_JOB_ABORTED:
		api_metrics_rejected(s->metrics, "shutting_down");
		a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the service is shutting down; the job did not finish");
		break;
	case API_JOB_CRASHED:
		api_metrics_job(s->metrics, "FAILED", "InternalError", seconds);
		a = json_answer(MHD_HTTP_OK, internal_error_response(s, req->job_id, res.text, seconds));
		break;
	case API_JOB_RESULT:
	default: {
		/* status and error_type for the metrics; the body goes out as it came */
		cJSON *o = cJSON_ParseWithLength(res.text, strlen(res.text));
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "status"));
		if (!status) {
			cJSON_Delete(o);
			api_metrics_job(s->metrics, "FAILED", "InternalError", seconds);
			a = json_answer(MHD_HTTP_OK, internal_error_response(s, req->job_id, "the job's response was not valid", seconds));
			break;
		}
		api_metrics_job(s->metrics, status,
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error_type")), seconds);
		cJSON_Delete(o);
		a = (struct answer){.code = MHD_HTTP_OK, .content_type = "application/json", .body = res.text};
		a.len = strlen(a.body);
		res.text = NULL;
		break;
	}
	}
	free(res.text);
	a.worker = res.worker;
	return a;
}

/* ------------------------------------------------------------ routing */

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	struct conn *k = *con_cls;

	if (k) {
		tj_buf_free(&k->body);
		free(k);
		*con_cls = NULL;
	}
}

static bool is_get(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

/* The first call for a request, headers read: answers at once what needs no
 * body.  Returns true when an answer is in *a. */
static bool early_answer(struct server *s, struct MHD_Connection *c, const char *url, const char *method,
			 struct answer *a)
{
	if (strcmp(url, EXECUTE_PATH) != 0) {
		if (strcmp(url, "/") && strcmp(url, "/health") && strcmp(url, "/openapi.json") && strcmp(url, "/metrics"))
			*a = error_answer(MHD_HTTP_NOT_FOUND, "no such endpoint (see GET / for the list)");
		else if (!is_get(method))
			*a = error_answer(MHD_HTTP_METHOD_NOT_ALLOWED, "%s takes GET only", url), a->allow = "GET, HEAD";
		else if (strcmp(url, "/health") == 0)
			*a = health(s);
		else if (strcmp(url, "/metrics") == 0)
			*a = metrics(s);
		else if (strcmp(url, "/openapi.json") == 0)
			*a = (struct answer){.code = MHD_HTTP_OK, .content_type = "application/json",
					     .body = strdup(api_openapi_text()), .len = strlen(api_openapi_text())};
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
	if (s->cfg->token &&
	    !api_token_matches(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
			       s->cfg->token)) {
		*a = error_answer(MHD_HTTP_UNAUTHORIZED, "a valid 'Authorization: Bearer TOKEN' header is required");
		return true;
	}
	{
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n;
		if (cl && tj_parse_u64(cl, UINT64_MAX, &n) == 0 && n > s->cfg->max_body_bytes) {
			*a = error_answer(MHD_HTTP_CONTENT_TOO_LARGE, "the request body is larger than %llu bytes",
					  (unsigned long long)s->cfg->max_body_bytes);
			return true;
		}
	}
	return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *k = *con_cls;
	struct answer a;

	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return MHD_NO;
		k->start_us = tj_now_us();
		*con_cls = k;
		if (early_answer(s, c, url, method, &a))
			return send_answer(s, c, k, method, url, &a);
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!k->too_large && k->body.len + *upload_data_size > s->cfg->max_body_bytes) {
			k->too_large = true;
			tj_buf_free(&k->body);
		}
		if (!k->too_large && tj_buf_append(&k->body, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (k->too_large) {
		a = error_answer(MHD_HTTP_CONTENT_TOO_LARGE, "the request body is larger than %llu bytes",
				 (unsigned long long)s->cfg->max_body_bytes);
	} else if (atomic_load(&s->stopping)) {
		api_metrics_rejected(s->metrics, "shutting_down");
		a = error_answer(MHD_HTTP_SERVICE_UNAVAILABLE, "the service is shutting down");
	} else {
		struct api_exec_request req;
		char msg[256];
		if (api_request_parse(k->body.data ? k->body.data : "", k->body.len, &req, msg, sizeof(msg)) < 0) {
			a = error_answer(MHD_HTTP_BAD_REQUEST, "%s", msg);
		} else {
			a = execute(s, k, &req);
			a.job_id = a.code == MHD_HTTP_OK || a.code == MHD_HTTP_SERVICE_UNAVAILABLE ||
						   a.code == MHD_HTTP_TOO_MANY_REQUESTS || a.code == MHD_HTTP_NOT_FOUND
					   ? req.job_id
					   : NULL;
			{
				enum MHD_Result r = send_answer(s, c, k, method, url, &a);
				api_request_free(&req);
				return r;
			}
		}
	}
	return send_answer(s, c, k, method, url, &a);
}

/* ------------------------------------------------------------ start, stop */

static int resolve_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen, struct tj_error *err)
{
	char host[256], port[8];
	unsigned p;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
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

/* The launcher's HELLO: the runtime opened, terraform's version. */
static int read_hello(struct server *s, int fd, struct tj_error *err)
{
	struct api_frame_header h;
	_cleanup_free_ char *payload = NULL;
	cJSON *o;
	const char *v;
	int rc = api_frame_read(fd, &h, &payload, err);

	if (rc != 0 || h.type != API_FRAME_HELLO)
		return rc < 0 ? tj_error_prefix(err, "job launcher")
			      : tj_error_set(err, EPROTO, "the job launcher ended during start-up");
	o = cJSON_Parse(payload);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
		tj_error_set(err, 0, "%s", v ? v : "the job launcher could not start");
		cJSON_Delete(o);
		return -1;
	}
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "terraform_version"));
	snprintf(s->terraform_version, sizeof(s->terraform_version), "%s", v ? v : "");
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "cgroup_mode"));
	snprintf(s->cgroup_mode, sizeof(s->cgroup_mode), "%s", v ? v : "");
	cJSON_Delete(o);
	return 0;
}

static int open_uploads(struct server *s, struct tj_error *err)
{
	if (tj_mkdir_p(s->cfg->uploads_dir, 0755, err) < 0)
		return tj_error_prefix(err, "uploads_dir");
	if (!realpath(s->cfg->uploads_dir, s->uploads))
		return tj_error_sys(err, "uploads_dir %s", s->cfg->uploads_dir);
	s->uploads_fd = open(s->uploads, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->uploads_fd < 0)
		return tj_error_sys(err, "uploads_dir %s", s->uploads);
	return 0;
}

static int wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
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
static void claim_cgroup(const struct server *s)
{
	struct sandbox_runtime *rt = NULL;

	if (job_runtime_open(s->policy, &s->cfg->host, &rt, NULL) == 0)
		sandbox_runtime_free(rt);
}

int api_serve(const struct api_config *cfg, struct tj_error *err)
{
	struct server s = {.cfg = cfg, .uploads_fd = -1};
	struct api_launcher_config lc = {.max_concurrent = (unsigned)cfg->max_concurrent_jobs};
	struct MHD_Daemon *d = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	sigset_t set;
	pid_t launcher = -1;
	int fd = -1, ret = -1, sig, st;
	char host[256];
	unsigned port;

	s.start_ms = tj_now_ms();
	if (resolve_listen(cfg->listen, &ss, &sslen, err) < 0)
		return -1;
	if (tj_policy_load(cfg->policy, &s.policy, err) < 0)
		return -1;
	if (job_tools_discover(s.policy, &cfg->host, &s.tools, err) < 0 || open_uploads(&s, err) < 0)
		goto out;
	s.metrics = api_metrics_new();
	if (!s.metrics) {
		tj_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	/* SIGTERM and SIGINT are taken by sigwait in this thread only: block
	 * them before any thread exists (the launcher sets its own mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* Forked while this process has one thread: jobs run there. */
	lc.policy = s.policy;
	lc.tools = &s.tools;
	lc.host = &cfg->host;
	claim_cgroup(&s);
	if (api_launcher_start(&lc, &launcher, &fd, err) < 0)
		goto out;
	if (read_hello(&s, fd, err) < 0) {
		close(fd);
		waitpid(launcher, NULL, 0);
		goto out;
	}
	if (api_jobs_start(fd, launcher, (unsigned)cfg->max_concurrent_jobs, (unsigned)cfg->queue_size, &s.jobs, err) < 0) {
		close(fd);
		waitpid(launcher, NULL, 0);
		goto out;
	}
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, request_completed, &s, MHD_OPTION_END);
	if (!d) {
		tj_error_set(err, EADDRINUSE, "cannot listen on %s (address in use or not available)", cfg->listen);
		api_jobs_stop(s.jobs, 0);
		goto out;
	}
	{
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
		api_parse_listen(cfg->listen, host, sizeof(host), &port, NULL);
		fprintf(stderr,
			"tfjail: serving on %s%s%s:%u (uploads %s, policy %s %.12s, terraform %s, cgroups %s, "
			"%llu jobs at once, queue %llu)\n",
			ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
			info ? info->port : port, s.uploads, s.policy->name, s.policy->sha256,
			*s.terraform_version ? s.terraform_version : "unknown", s.cgroup_mode,
			(unsigned long long)cfg->max_concurrent_jobs, (unsigned long long)cfg->queue_size);
	}

	sig = wait_for_signal();
	atomic_store(&s.stopping, true);
	{
		struct api_jobs_stats js;
		api_jobs_stats(s.jobs, &js);
		fprintf(stderr, "tfjail: %s: stopping (%u running, %u queued; grace %llu s)\n", strsignal(sig), js.running,
			js.queued, (unsigned long long)cfg->shutdown_grace_s);
	}
	st = api_jobs_stop(s.jobs, (unsigned)cfg->shutdown_grace_s);
	MHD_stop_daemon(d);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "tfjail: the job launcher ended abnormally (wait status %d)\n", st);
	fprintf(stderr, "tfjail: stopped\n");
	ret = 0;
out:
	api_jobs_free(s.jobs);
	api_metrics_free(s.metrics);
	if (s.uploads_fd >= 0)
		close(s.uploads_fd);
	tj_policy_free(s.policy);
	return ret;
}
