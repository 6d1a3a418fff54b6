/* tfjail serve against hostile and careless clients, for real: slow and
 * stalled connections, clients that go away, a launcher that dies, uploads
 * replaced under a queued job, strictness of request parsing, logs and
 * metrics, SIGHUP.  Real sandboxes and cheap jobs only: exfil-fileset
 * holds a job open until it is killed, local-exec is a policy violation,
 * tfdata-only plans in a fraction of a second. */
#include <arpa/inet.h>
#include <check.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/utf8.h"
#include "common/util.h"
#include "tests/integration/apiserver.h"
#include "tests/testutil.h"

#define TOKEN             "hostile-test-token"
#define REQUEST_TIMEOUT_S 2
#define PER_IP            16

static struct server hs, ps;

/* ------------------------------------------------------------ raw clients */

/* A connection to the server from a source address of 127.0.0.0/8. */
static int connect_from(const char *src, unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in me = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(inet_pton(AF_INET, src, &me.sin_addr), 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0, "bind %s: %s", src, strerror(errno));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
	return fd;
}

/* Whether the server has closed fd: EOF or a reset within wait_ms. */
static bool closed_by_server(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char buf[4096];
	ssize_t n;

	for (uint64_t end = tj_now_ms() + (uint64_t)wait_ms;;) {
		if (poll(&p, 1, 50) > 0) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return true;
		}
		if (tj_now_ms() > end)
			return false;
	}
}

/* One request on an open keep-alive connection, its answer read by
 * Content-Length. */
static void ka_request(int fd, const char *method, const char *path, const char *headers, const char *body,
                       struct http_reply *r)
{
	struct tj_buf req = {0}, resp = {0};
	char buf[65536], *sep, *cl;
	size_t want = 0;

	memset(r, 0, sizeof(*r));
	tj_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s", method, path, headers);
	if (body)
		tj_buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		              strlen(body));
	tj_buf_printf(&req, "\r\n%s", body ? body : "");
	tj_write_all(fd, req.data, req.len);
	tj_buf_free(&req);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		ck_assert_msg(poll(&p, 1, 60000) == 1, "no answer to %s %s on the kept-alive connection",
		              method, path);
		n = recv(fd, buf, sizeof(buf), 0);
		ck_assert_msg(n > 0, "the server closed the kept-alive connection at %s %s", method, path);
		tj_buf_append(&resp, buf, (size_t)n);
		tj_buf_append(&resp, "", 1);
		resp.len--;
		sep = strstr(resp.data, "\r\n\r\n");
		if (!sep)
			continue;
		cl = strcasestr(resp.data, "\r\nContent-Length: ");
		ck_assert_msg(cl && cl < sep, "no Content-Length: %s", resp.data);
		want = (size_t)(sep + 4 - resp.data) + strtoul(cl + 18, NULL, 10);
		if (resp.len >= want)
			break;
	}
	ck_assert_uint_eq(resp.len, want);
	r->code = atoi(resp.data + 9);
	*sep = '\0';
	r->head = strdup(resp.data);
	r->body = strdup(sep + 4);
	r->json = cJSON_Parse(r->body);
	tj_buf_free(&resp);
}

/* The client goes away (shutdown: a forked helper may hold a copy of fd). */
static void hang_up(int fd)
{
	shutdown(fd, SHUT_RDWR);
	close(fd);
}

/* POST /api/v1/execute on a connection of its own, left open. */
static int execute_open(const struct server *s, const char *body)
{
	int fd = connect_from("127.0.0.1", s->port);
	struct tj_buf req = {0};

	tj_buf_printf(&req,
	              "POST /api/v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	              "Content-Length: %zu\r\n\r\n%s",
	              strlen(body), body);
	tj_write_all(fd, req.data, req.len);
	tj_buf_free(&req);
	return fd;
}

static double health_num(const struct server *s, const char *key)
{
	struct http_reply r;
	double v;

	http(s->port, "GET", "/health", "", NULL, &r);
	v = num(r.json, key);
	reply_free(&r);
	return v;
}

/* /health's key reaches want within timeout_ms. */
static void wait_health(const struct server *s, const char *key, double want, int timeout_ms)
{
	uint64_t end = tj_now_ms() + (uint64_t)timeout_ms;

	while (health_num(s, key) != want) {
		ck_assert_msg(tj_now_ms() < end, "/health %s did not reach %g", key, want);
		usleep(20000);
	}
}

static char *metrics_text(const struct server *s, const char *headers)
{
	struct http_reply r;
	char *text;

	http(s->port, "GET", "/metrics", headers, NULL, &r);
	ck_assert_int_eq(r.code, 200);
	text = strdup(r.body);
	reply_free(&r);
	return text;
}

static uint64_t ms_since(uint64_t t0)
{
	return tj_now_ms() - t0;
}

/* ------------------------------------------------------------ fixtures */

static void hostile_start(void)
{
	char cfg[256];

	snprintf(
	    cfg, sizeof(cfg),
	    "\"request_timeout\": %d, \"max_connections_per_ip\": %d, \"max_connections\": 400,"
	    " \"max_concurrent_jobs\": 1, \"queue_size\": 4, \"max_variables\": 8, \"shutdown_grace\": 1",
	    REQUEST_TIMEOUT_S, PER_IP);
	server_start(&hs, cfg, NULL);
	copy_fixture(&hs, "exfil-fileset", "slow");
	copy_fixture(&hs, "tfdata-only", "tfdata");
	copy_fixture(&hs, "local-exec", "pv");
	copy_fixture(&hs, "local-exec", "swap");
	tj_test_write(hs.uploads, "exact/main.tf",
	              "variable \"big\" {}\nvariable \"s\" {}\n"
	              "output \"big\" {\n  value = var.big\n}\noutput \"s\" {\n  value = var.s\n}\n");
	tj_test_write(hs.uploads, "wd/main.tf", "output \"where\" {\n  value = \"root module\"\n}\n");
	tj_test_write(hs.uploads, "wd/examples/a/main.tf",
	              "module \"root\" {\n  source = \"../../\"\n}\n"
	              "output \"from_root\" {\n  value = module.root.where\n}\n");
	chmod(hs.uploads, 0755);
}

static void hostile_stop(void)
{
	server_cleanup(&hs);
}

static const char *policy_named(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "{\"version\": 1, \"name\": \"%s\"}\n", name);
	return buf;
}

static void protected_start(void)
{
	char pol[128];

	server_start(&ps,
	             "\"token\": \"" TOKEN
	             "\", \"protect_metrics\": true, \"protect_openapi\": true, \"log_format\": \"json\"",
	             policy_named("first-policy", pol, sizeof(pol)));
	copy_fixture(&ps, "tfdata-only", "tfdata");
}

static void protected_stop(void)
{
	server_cleanup(&ps);
}

/* ------------------------------------------------------------ 1. connections */

/* 100 connections trickle a header line (or a body byte) every 300 ms, from
 * ten addresses: /health answers in under a second all along, and every
 * slow connection is closed once request_timeout has passed, although it
 * never stopped sending. */
START_TEST(slowloris_cannot_starve_health)
{
	enum { SLOW = 100 };
	int fd[SLOW];
	uint64_t t0 = tj_now_ms(), worst = 0, last_trickle = 0;
	unsigned answers = 0, closed = 0;

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (int i = 0; i < SLOW; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i / 10);
		fd[i] = connect_from(src, hs.port);
		if (i % 10 == 0)
			tj_write_all(
			    fd[i],
			    "POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{", 66);
		else
			tj_write_all(fd[i], "GET /health HTTP/1.1\r\n", 22);
	}
	while (ms_since(t0) < (REQUEST_TIMEOUT_S + 2) * 1000) {
		struct http_reply r;
		uint64_t t = tj_now_ms();
		if (t - last_trickle >= 300) {
			for (int i = 0; i < SLOW; i++)
				send(fd[i], i % 10 == 0 ? " " : "X-Slow: 1\r\n", i % 10 == 0 ? 1 : 11,
				     MSG_NOSIGNAL | MSG_DONTWAIT);
			last_trickle = t;
		}
		http(hs.port, "GET", "/health", "", NULL, &r);
		ck_assert_int_eq(r.code, 200);
		reply_free(&r);
		worst = ms_since(t) > worst ? ms_since(t) : worst;
		answers++;
		usleep(50000);
	}
	for (int i = 0; i < SLOW; i++) {
		closed += closed_by_server(fd[i], 1000);
		close(fd[i]);
	}
	ck_assert_msg(worst < 1000, "/health took %llu ms during the slowloris", (unsigned long long)worst);
	ck_assert_uint_ge(answers, 20);
	ck_assert_msg(closed == SLOW, "%u of %d trickling connections were closed after request_timeout",
	              closed, SLOW);
}
END_TEST

/* An address gets max_connections_per_ip connections; the next one is
 * closed at once, while other addresses are served. */
START_TEST(connections_per_address_are_capped)
{
	int fd[PER_IP + 1];
	struct http_reply r;
	int other;

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (int i = 0; i < PER_IP; i++)
		fd[i] = connect_from("127.0.0.30", hs.port);
	usleep(100000);
	fd[PER_IP] = connect_from("127.0.0.30", hs.port);
	ck_assert_msg(closed_by_server(fd[PER_IP], 1000), "connection %d of one address was kept",
	              PER_IP + 1);
	for (int i = 0; i < PER_IP; i++)
		ck_assert_msg(!closed_by_server(fd[i], 0), "connection %d was closed", i);
	other = connect_from("127.0.0.31", hs.port);
	ka_request(other, "GET", "/health", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	reply_free(&r);
	close(other);
	for (int i = 0; i <= PER_IP; i++)
		close(fd[i]);
}
END_TEST

/* One connection, every endpoint and every kind of answer. */
START_TEST(keep_alive_on_every_endpoint)
{
	static const struct {
		const char *method, *path, *body;
		int code;
	} reqs[] = {
	    {"GET", "/health", NULL, 200},
	    {"GET", "/ready", NULL, 200},
	    {"GET", "/", NULL, 200},
	    {"GET", "/openapi.json", NULL, 200},
	    {"GET", "/metrics", NULL, 200},
	    {"GET", "/nope", NULL, 404},
	    {"PUT", "/health", "{}", 405},
	    {"GET", "/api/v1/execute", NULL, 405},
	    {"POST", "/api/v1/execute", "{\"job_id\": \"j\"", 400},
	    {"POST", "/api/v1/execute", "{\"job_id\": \"j\", \"upload_id\": \"missing\"}", 404},
	    {"POST", "/api/v1/execute", "{\"job_id\": \"ka-pv\", \"upload_id\": \"pv\"}", 200},
	    {"POST", "/api/v1/execute", "{\"job_id\": \"ka-ok\", \"upload_id\": \"tfdata\"}", 200},
	    {"GET", "/health", NULL, 200},
	};
	int fd = connect_from("127.0.0.1", hs.port);

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct http_reply r;
		char hdr[64];
		snprintf(hdr, sizeof(hdr), "X-Request-Id: ka-%zu\r\n", i);
		ka_request(fd, reqs[i].method, reqs[i].path, hdr, reqs[i].body, &r);
		ck_assert_msg(r.code == reqs[i].code, "%s %s: HTTP %d: %s", reqs[i].method, reqs[i].path,
		              r.code, r.body);
		ck_assert_msg(strstr(r.head, hdr), "%s %s: no '%s' in the answer", reqs[i].method,
		              reqs[i].path, hdr);
		if (strcmp(reqs[i].path, "/metrics") != 0)
			ck_assert_msg(r.json, "%s %s: not JSON: %s", reqs[i].method, reqs[i].path, r.body);
		if (r.code >= 400)
			ck_assert_msg(str(r.json, "error"), "%s %s: no error sentence", reqs[i].method,
			              reqs[i].path);
		reply_free(&r);
	}
	close(fd);
}
END_TEST

/* ------------------------------------------------------------ 2. jobs follow their clients */

START_TEST(client_gone_kills_the_running_job)
{
	pid_t spawner, launcher, worker;
	uint64_t t0;
	char *m, *log;
	int fd;

	ck_assert_msg(tj_test_is_root(), "needs root");
	fd = execute_open(&hs, "{\"job_id\": \"gone-running\", \"upload_id\": \"slow\"}");
	wait_health(&hs, "running_jobs", 1, 20000);
	/* the job's sandbox is up: its cgroup exists */
	server_procs(&hs, &spawner, &launcher, &worker);
	worker = wait_job_sandbox(&hs);
	hang_up(fd);
	t0 = tj_now_ms();
	wait_health(&hs, "running_jobs", 0, 5000);
	while (kill(worker, 0) == 0 && ppid_of(worker) == launcher)
		ck_assert_msg(ms_since(t0) < 5000, "the job's worker lives on");
	for (t0 = tj_now_ms(); job_cgroups_of(worker) > 0; usleep(50000))
		ck_assert_msg(ms_since(t0) < 5000, "the job's cgroup is left");
	m = metrics_text(&hs, "");
	ck_assert_msg(strstr(m, "tfjail_jobs_cancelled_total{state=\"running\"} 1\n"), "%s", m);
	free(m);
	log = read_log(&hs);
	ck_assert_msg(strstr(log, "job gone-running cancelled"), "%s", log);
	ck_assert_ptr_nonnull(
	    strstr(log, "job_id=\"gone-running\" upload_id=\"slow\" outcome=\"CANCELLED\""));
	free(log);
}
END_TEST

START_TEST(client_gone_drops_the_queued_job)
{
	int running, queued;
	char *m, *log, *line;

	ck_assert_msg(tj_test_is_root(), "needs root");
	running = execute_open(&hs, "{\"job_id\": \"holds-the-slot\", \"upload_id\": \"slow\"}");
	wait_health(&hs, "running_jobs", 1, 20000);
	queued = execute_open(&hs, "{\"job_id\": \"gone-queued\", \"upload_id\": \"tfdata\"}");
	wait_health(&hs, "queued_jobs", 1, 5000);
	hang_up(queued);
	wait_health(&hs, "queued_jobs", 0, 5000);
	ck_assert_int_eq((int)health_num(&hs, "running_jobs"), 1);
	hang_up(running);
	wait_health(&hs, "running_jobs", 0, 5000);
	m = metrics_text(&hs, "");
	ck_assert_msg(strstr(m, "tfjail_jobs_cancelled_total{state=\"queued\"} 1\n"), "%s", m);
	free(m);
	log = read_log(&hs);
	line = strstr(log, "job_id=\"gone-queued\"");
	ck_assert_msg(line, "%s", log);
	/* it never had a worker */
	ck_assert_ptr_nonnull(strstr(line, "outcome=\"CANCELLED\" error_type=\"\" worker=0 "));
	free(log);
}
END_TEST

/* ------------------------------------------------------------ 3. faults heal */

START_TEST(launcher_death_heals)
{
	pid_t spawner, launcher, worker, again;
	struct background bg;
	struct http_reply r;
	uint64_t t0;
	char *m, *log;

	ck_assert_msg(tj_test_is_root(), "needs root");
	background_execute(&hs, "{\"job_id\": \"in-flight\", \"upload_id\": \"slow\"}", &bg);
	wait_health(&hs, "running_jobs", 1, 20000);
	server_procs(&hs, &spawner, &launcher, &worker);
	ck_assert_int_gt(launcher, 0);
	kill(launcher, SIGKILL);
	background_finish(&bg, &r);
	assert_job(&r, "in-flight", "FAILED", "InternalError");
	ck_assert_ptr_nonnull(strstr(str(r.json, "error_message"), "launcher"));
	reply_free(&r);
	for (t0 = tj_now_ms();; usleep(20000)) {
		http(hs.port, "GET", "/health", "", NULL, &r);
		if (r.code != 200)
			ck_assert_msg(strcmp(str(r.json, "status"), "unhealthy") == 0 &&
			                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "degraded")),
			              "%s", r.body);
		if (r.code == 200) {
			ck_assert_int_eq((int)num(r.json, "launcher_restarts"), 1);
			reply_free(&r);
			break;
		}
		reply_free(&r);
		ck_assert_msg(ms_since(t0) < 30000, "no new job launcher within 30 s");
	}
	/* reaped, not a zombie */
	ck_assert(kill(launcher, 0) < 0 && errno == ESRCH);
	server_procs(&hs, &spawner, &again, &worker);
	ck_assert_int_gt(again, 0);
	ck_assert_int_ne(again, launcher);
	execute(&hs, "", "{\"job_id\": \"after-restart\", \"upload_id\": \"tfdata\"}", &r);
	assert_job(&r, "after-restart", "SUCCESS", NULL);
	reply_free(&r);
	m = metrics_text(&hs, "");
	ck_assert_msg(strstr(m, "tfjail_launcher_restarts_total 1\n"), "%s", m);
	ck_assert_msg(strstr(m, "tfjail_launcher_up 1\n"), "%s", m);
	free(m);
	log = read_log(&hs);
	ck_assert_msg(strstr(log, "the job launcher died"), "%s", log);
	free(log);
}
END_TEST

/* ------------------------------------------------------------ 4. the upload is opened once */

/* A queued job's upload is replaced by a symlink to a harmless tree: the
 * job still reports what was admitted. */
START_TEST(queued_upload_swapped_for_a_symlink)
{
	char path[PATH_MAX], moved[PATH_MAX], outside[PATH_MAX], src[PATH_MAX];
	struct background bg;
	struct http_reply r;
	int running;

	ck_assert_msg(tj_test_is_root(), "needs root");
	running = execute_open(&hs, "{\"job_id\": \"holds-it\", \"upload_id\": \"slow\"}");
	wait_health(&hs, "running_jobs", 1, 20000);
	background_execute(&hs, "{\"job_id\": \"swapped\", \"upload_id\": \"swap\"}", &bg);
	wait_health(&hs, "queued_jobs", 1, 5000);
	copy_fixture(&hs, "tfdata-only", "harmless");
	snprintf(path, sizeof(path), "%s/swap", hs.uploads);
	snprintf(moved, sizeof(moved), "%s/swap.admitted", hs.uploads);
	snprintf(src, sizeof(src), "%s/harmless", hs.uploads);
	snprintf(outside, sizeof(outside), "%s/outside", hs.dir);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(rename(src, outside), 0);
	ck_assert_int_eq(symlink(outside, path), 0);
	hang_up(running);
	background_finish(&bg, &r);
	assert_job(&r, "swapped", "FAILED", "PolicyViolation");
	ck_assert_msg(!strstr(r.body, hs.dir), "a host path in the answer: %s", r.body);
	reply_free(&r);
	/* by its name now, the upload is a symlink: 404, no host path */
	execute(&hs, "", "{\"job_id\": \"by-symlink\", \"upload_id\": \"swap\"}", &r);
	assert_error(&r, 404);
	ck_assert_msg(!strstr(r.body, hs.dir), "a host path in the answer: %s", r.body);
	reply_free(&r);
}
END_TEST

/* A queued job's upload directory is renamed away and another directory,
 * with another configuration and a file the sandbox could not read, takes
 * its name: the job's checks, its copy and its scan read the tree opened at
 * admission, and plan what was admitted. */
START_TEST(queued_upload_replaced_by_another_directory)
{
	char path[PATH_MAX], moved[PATH_MAX];
	struct background bg;
	struct http_reply r;
	int running;

	ck_assert_msg(tj_test_is_root(), "needs root");
	tj_test_write(hs.uploads, "replaced/main.tf", "output \"which\" {\n  value = \"admitted\"\n}\n");
	running = execute_open(&hs, "{\"job_id\": \"holds-the-queue\", \"upload_id\": \"slow\"}");
	wait_health(&hs, "running_jobs", 1, 20000);
	background_execute(&hs, "{\"job_id\": \"replaced\", \"upload_id\": \"replaced\"}", &bg);
	wait_health(&hs, "queued_jobs", 1, 5000);
	snprintf(path, sizeof(path), "%s/replaced", hs.uploads);
	snprintf(moved, sizeof(moved), "%s/replaced.admitted", hs.uploads);
	ck_assert_int_eq(rename(path, moved), 0);
	tj_test_write(hs.uploads, "replaced/main.tf", "output \"which\" {\n  value = \"replacement\"\n}\n");
	tj_test_write(hs.uploads, "replaced/private.tf", "locals {}\n");
	snprintf(path, sizeof(path), "%s/replaced/private.tf", hs.uploads);
	ck_assert_int_eq(chmod(path, 0600), 0);
	hang_up(running);
	background_finish(&bg, &r);
	assert_job(&r, "replaced", "SUCCESS", NULL);
	ck_assert_str_eq(plan_output(r.json, "which"), "admitted");
	ck_assert_msg(!strstr(r.body, "replacement") && !strstr(r.body, "private.tf"), "%s", r.body);
	ck_assert_msg(!strstr(r.body, hs.dir), "a host path in the answer: %s", r.body);
	reply_free(&r);
	/* by its name now, the upload is the replacement */
	execute(&hs, "", "{\"job_id\": \"the-replacement\", \"upload_id\": \"replaced\"}", &r);
	assert_job(&r, "the-replacement", "FAILED", "InvalidUpload");
	ck_assert_msg(strstr(str(r.json, "error_message"), "private.tf"), "%s", r.body);
	ck_assert_msg(!strstr(r.body, hs.dir), "a host path in the answer: %s", r.body);
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ 5. strict parsing */

START_TEST(strict_parsing_over_http)
{
	static const struct {
		const char *body;
		size_t len;
		const char *want;
	} bad[] = {
#define B(lit, want) {lit, sizeof(lit) - 1, want}
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\\u0000x\"}", "NUL"),
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"upload_id\": \"pv\"}", "duplicate key"),
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"variables\": {\"a\": {\"b\": 1, \"b\": 2}}}",
	      "duplicate key"),
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\"} trailing", "data after"),
	    B("{\"job_id\": \"j\xff\", \"upload_id\": \"tfdata\"}", "invalid UTF-8"),
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"variables\": "
	      "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,"
	      "\"f\":1,\"g\":1,\"h\":1,\"i\":1}}",
	      "at most 8"),
	    B("{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"working_dir\": \"../up\"}", "working_dir"),
#undef B
	};
	struct http_reply r;
	struct tj_buf big = {0};
	uint64_t t0;

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[512];
		memcpy(body, bad[i].body, bad[i].len);
		body[bad[i].len] = '\0';
		execute(&hs, "", body, &r);
		assert_error(&r, 400);
		ck_assert_msg(strstr(str(r.json, "error"), bad[i].want), "%s: %s", body, r.body);
		ck_assert(tj_utf8_valid(r.body, strlen(r.body)));
		reply_free(&r);
	}
	/* 64,000 variable names: refused at once, before any job */
	tj_buf_printf(&big, "{\"job_id\": \"j\", \"upload_id\": \"tfdata\", \"variables\": {");
	for (int i = 0; i < 64000; i++)
		tj_buf_printf(&big, "%s\"v%d\":1", i ? "," : "", i);
	tj_buf_printf(&big, "}}");
	tj_buf_append(&big, "", 1);
	t0 = tj_now_ms();
	execute(&hs, "", big.data, &r);
	assert_error(&r, 400);
	ck_assert_msg(ms_since(t0) < 2000, "64,000 names took %llu ms", (unsigned long long)ms_since(t0));
	reply_free(&r);
	tj_buf_free(&big);
}
END_TEST

START_TEST(working_dir_runs_in_a_subdirectory)
{
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	execute(&hs, "", "{\"job_id\": \"wd\", \"upload_id\": \"wd\", \"working_dir\": \"examples/a\"}", &r);
	assert_job(&r, "wd", "SUCCESS", NULL);
	ck_assert_str_eq(plan_output(r.json, "from_root"), "root module");
	reply_free(&r);
}
END_TEST

/* The variables object's bytes reach terraform: a number past a double's
 * precision and a string with \u0000 come back exactly. */
START_TEST(variables_reach_terraform_exactly)
{
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	execute(&hs, "",
	        "{\"job_id\": \"exact\", \"upload_id\": \"exact\","
	        " \"variables\": {\"big\": 12345678901234567890, \"s\": \"a\\u0000b\"}}",
	        &r);
	assert_job(&r, "exact", "SUCCESS", NULL);
	ck_assert_msg(strstr(r.body, "\"value\":12345678901234567890"), "%s", r.body);
	ck_assert_msg(strstr(r.body, "\"value\":\"a\\u0000b\""), "%s", r.body);
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ 6. logs and metrics */

START_TEST(logs_escape_what_clients_send)
{
	struct http_reply r;
	char *log, *line;

	ck_assert_msg(tj_test_is_root(), "needs root");
	http(hs.port, "GET", "/esc%1b%5b31m%0d%0afake-line", "X-Request-Id: bad id\r\n", NULL, &r);
	assert_error(&r, 404);
	ck_assert_ptr_nonnull(strstr(r.head, "X-Request-Id: req_"));
	reply_free(&r);
	http(hs.port, "GET", "/health", "X-Request-Id: given-id.42\r\n", NULL, &r);
	ck_assert_ptr_nonnull(strstr(r.head, "X-Request-Id: given-id.42"));
	reply_free(&r);
	execute(&hs, "X-Request-Id: job-request-7\r\n", "{\"job_id\": \"logged\", \"upload_id\": \"tfdata\"}",
	        &r);
	assert_job(&r, "logged", "SUCCESS", NULL);
	ck_assert_str_eq(str(r.json, "request_id"), "job-request-7");
	reply_free(&r);
	log = read_log(&hs);
	ck_assert_msg(!strchr(log, '\x1b') && !strchr(log, '\r'), "raw control bytes in the log");
	ck_assert_msg(strstr(log, "path=\"/esc\\x1b[31m\\x0d\\x0afake-line\""), "%s", log);
	line = strstr(log, "request_id=\"job-request-7\"");
	ck_assert_msg(line, "%s", log);
	*strchrnul(line, '\n') = '\0';
	for (const char *const *f =
	         (const char *const[]){"client=\"127.0.0.1\"", "method=\"POST\"", "path=\"/api/v1/execute\"",
	                               "status=200", "job_id=\"logged\"", "upload_id=\"tfdata\"",
	                               "outcome=\"SUCCESS\"", "queue_wait=", " run=", NULL};
	     *f; f++)
		ck_assert_msg(strstr(line, *f), "the log line lacks %s: %s", *f, line);
	ck_assert_msg(strncmp(strstr(log, "ts=2") ? strstr(log, "ts=2") : "", "ts=2", 4) == 0,
	              "no timestamp");
	free(log);
}
END_TEST

START_TEST(metrics_only_possible_pairs)
{
	char *m = metrics_text(&hs, "");
	static const char *const want[] = {
	    "tfjail_job_duration_seconds_bucket{le=\"+Inf\"}",
	    "tfjail_job_queue_wait_seconds_bucket{le=\"0.1\"}",
	    "tfjail_worker_crashes_total ",
	    "tfjail_launcher_restarts_total ",
	    "tfjail_jobs_cancelled_total{state=\"queued\"}",
	    "tfjail_http_requests_in_flight 1\n",
	};
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(m, want[i]), "metrics lack '%s'", want[i]);
	ck_assert_ptr_null(strstr(m, "status=\"SUCCESS\",error_type=\"PolicyViolation\""));
	ck_assert_ptr_null(strstr(m, "status=\"TIMEOUT\",error_type=\"none\""));
	ck_assert_ptr_null(strstr(m, "status=\"FAILED\",error_type=\"none\""));
	free(m);
	http(hs.port, "GET", "/ready", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "ready")));
	reply_free(&r);
}
END_TEST

/* Last: the uploads directory itself replaced while serving. */
START_TEST(uploads_dir_replaced_while_serving)
{
	char old[PATH_MAX];
	struct http_reply r;
	char *log;

	ck_assert_msg(tj_test_is_root(), "needs root");
	snprintf(old, sizeof(old), "%s.old", hs.uploads);
	ck_assert_int_eq(rename(hs.uploads, old), 0);
	ck_assert_int_eq(mkdir(hs.uploads, 0755), 0);
	copy_fixture(&hs, "tfdata-only", "fresh");
	execute(&hs, "", "{\"job_id\": \"fresh\", \"upload_id\": \"fresh\"}", &r);
	assert_job(&r, "fresh", "SUCCESS", NULL);
	reply_free(&r);
	/* the old directory's uploads are gone from the service's view */
	execute(&hs, "", "{\"job_id\": \"old\", \"upload_id\": \"tfdata\"}", &r);
	assert_error(&r, 404);
	reply_free(&r);
	log = read_log(&hs);
	ck_assert_ptr_nonnull(strstr(log, "uploads directory was replaced"));
	free(log);
	tj_test_rm_rf(old);
}
END_TEST

/* ------------------------------------------------------------ token, JSON log, SIGHUP */

START_TEST(metrics_and_openapi_need_the_token)
{
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	for (const char *const *p = (const char *const[]){"/metrics", "/openapi.json", NULL}; *p; p++) {
		http(ps.port, "GET", *p, "", NULL, &r);
		assert_error(&r, 401);
		reply_free(&r);
		http(ps.port, "GET", *p, "Authorization: Bearer " TOKEN "\r\n", NULL, &r);
		ck_assert_int_eq(r.code, 200);
		reply_free(&r);
	}
	http(ps.port, "GET", "/health", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	reply_free(&r);
}
END_TEST

START_TEST(json_log_lines)
{
	char *log, *line, *save = NULL;
	unsigned requests = 0;
	struct http_reply r;

	ck_assert_msg(tj_test_is_root(), "needs root");
	http(ps.port, "GET", "/\x7f%ff", "", NULL, &r);
	reply_free(&r);
	log = read_log(&ps);
	for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *o;
		if (line[0] != '{')
			continue;
		o = cJSON_Parse(line);
		ck_assert_msg(o, "not JSON: %s", line);
		ck_assert_msg(str(o, "ts") && str(o, "request_id") && str(o, "client") && str(o, "method"),
		              "%s", line);
		ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "status")));
		ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "queue_wait_s")));
		requests++;
		cJSON_Delete(o);
	}
	ck_assert_uint_ge(requests, 1);
	free(log);
}
END_TEST

static const char *health_policy(const struct server *s, char *out, size_t len)
{
	struct http_reply r;

	http(s->port, "GET", "/health", "", NULL, &r);
	snprintf(out, len, "%s", str(cJSON_GetObjectItemCaseSensitive(r.json, "policy"), "name"));
	reply_free(&r);
	return out;
}

/* SIGHUP: both files again, or neither; never the end of the service. */
START_TEST(sighup_reloads_atomically)
{
	char pol[128], name[64], cfg[PATH_MAX], *log;
	struct http_reply r;
	uint64_t t0;

	ck_assert_msg(tj_test_is_root(), "needs root");
	ck_assert_str_eq(health_policy(&ps, name, sizeof(name)), "first-policy");
	/* an invalid policy: the old one stays */
	tj_test_write(ps.dir, "policy.json", "{\"version\": 1, \"name\": \"broken\", \"colour\": 1}\n");
	kill(ps.pid, SIGHUP);
	for (t0 = tj_now_ms(); !strstr(log = read_log(&ps), "was not reloaded"); free(log), usleep(20000))
		ck_assert_msg(ms_since(t0) < 5000, "no reload message");
	free(log);
	ck_assert_int_eq(kill(ps.pid, 0), 0);
	ck_assert_str_eq(health_policy(&ps, name, sizeof(name)), "first-policy");
	/* an invalid config: the old one stays, the token with it */
	snprintf(cfg, sizeof(cfg), "%s/tfjail.json", ps.dir);
	tj_test_write(ps.dir, "policy.json", policy_named("second-policy", pol, sizeof(pol)));
	{
		char *text = NULL;
		struct tj_error err;
		ck_assert_int_eq(tj_read_file(cfg, 1 << 20, &text, NULL, &err), 0);
		tj_test_write(ps.dir, "tfjail.json", "{\"listen\": ");
		kill(ps.pid, SIGHUP);
		usleep(300000);
		ck_assert_int_eq(kill(ps.pid, 0), 0);
		ck_assert_str_eq(health_policy(&ps, name, sizeof(name)), "first-policy");
		tj_test_write(ps.dir, "tfjail.json", text);
		free(text);
	}
	/* both valid: the new policy is in force, for jobs too */
	kill(ps.pid, SIGHUP);
	for (t0 = tj_now_ms(); strcmp(health_policy(&ps, name, sizeof(name)), "second-policy") != 0;
	     usleep(20000))
		ck_assert_msg(ms_since(t0) < 5000, "the new policy is not in force");
	execute(&ps, "Authorization: Bearer " TOKEN "\r\n",
	        "{\"job_id\": \"after-hup\", \"upload_id\": \"tfdata\"}", &r);
	assert_job(&r, "after-hup", "SUCCESS", NULL);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(r.json, "policy"), "name"), "second-policy");
	reply_free(&r);
	ck_assert_int_eq(kill(ps.pid, 0), 0);
}
END_TEST

Suite *api_hostile_suite(void)
{
	Suite *s = suite_create("api_hostile");
	TCase *h = tcase_create("hostile"), *p = tcase_create("protected");

	tcase_add_unchecked_fixture(h, hostile_start, hostile_stop);
	tcase_set_timeout(h, 120);
	tcase_add_test(h, slowloris_cannot_starve_health);
	tcase_add_test(h, connections_per_address_are_capped);
	tcase_add_test(h, keep_alive_on_every_endpoint);
	tcase_add_test(h, client_gone_kills_the_running_job);
	tcase_add_test(h, client_gone_drops_the_queued_job);
	tcase_add_test(h, launcher_death_heals);
	tcase_add_test(h, queued_upload_swapped_for_a_symlink);
	tcase_add_test(h, queued_upload_replaced_by_another_directory);
	tcase_add_test(h, strict_parsing_over_http);
	tcase_add_test(h, working_dir_runs_in_a_subdirectory);
	tcase_add_test(h, variables_reach_terraform_exactly);
	tcase_add_test(h, logs_escape_what_clients_send);
	tcase_add_test(h, metrics_only_possible_pairs);
	tcase_add_test(h, uploads_dir_replaced_while_serving);
	suite_add_tcase(s, h);
	tcase_add_unchecked_fixture(p, protected_start, protected_stop);
	tcase_set_timeout(p, 60);
	tcase_add_test(p, metrics_and_openapi_need_the_token);
	tcase_add_test(p, json_log_lines);
	tcase_add_test(p, sighup_reloads_atomically);
	suite_add_tcase(s, p);
	return s;
}
