/* Asynchronous jobs and a fleet: two real `tfjail serve` hosts on one real
 * redis-server (127.0.0.1, free ports, one shared uploads directory), real
 * sandboxes and terraform.  Cheap jobs only: tfdata-only (SUCCESS in a
 * second or two), local-exec (a policy violation, no terraform), and
 * exfil-fileset, which walks the file system until the policy's job timeout
 * (TIMEOUT; 10 s with two hosts, 4 s with one): a job that holds a slot. */
#include <check.h>
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/integration/apiserver.h"
#include "tests/redisutil.h"
#include "tests/testutil.h"

#define POLICY "{\"version\": 1, \"name\": \"fleet\", \"limits\": {\"step_timeout\": 4, \"job_timeout\": 4}}"
/* two hosts at once on a loaded machine: a cheap plan must stay far from the limit */
#define POLICY_FLEET                                                                                         \
	"{\"version\": 1, \"name\": \"fleet\", \"limits\": {\"step_timeout\": 10, \"job_timeout\": 10}}"
#define LEASE_S 3

static struct tj_test_redis redis;
static struct server host_a, host_b;

/* A host on the shared store, named name, with a lease of lease_s; the
 * second one reads the first one's uploads (the same volume, the same path). */
static void host_start(struct server *s, const char *name, const char *uploads, int lease_s)
{
	char cfg[1024];

	snprintf(cfg, sizeof(cfg),
	         "\"max_concurrent_jobs\": 2, \"queue_size\": 64, \"shutdown_grace\": 1, %s%s%s"
	         "\"store\": {\"url\": \"%s\", \"host_id\": \"%s\", \"lease_seconds\": %d, "
	         "\"result_ttl_seconds\": 600}",
	         uploads ? "\"uploads_dir\": \"" : "", uploads ? uploads : "", uploads ? "\", " : "",
	         redis.url, name, lease_s);
	server_start(s, cfg, POLICY_FLEET);
}

static void fleet_start(void)
{
	tj_test_redis_start(&redis);
	host_start(&host_a, "host-a", NULL, LEASE_S);
	mkdir(host_a.uploads, 0755);
	host_start(&host_b, "host-b", host_a.uploads, LEASE_S);
	copy_fixture(&host_a, "tfdata-only", "tfdata");
	copy_fixture(&host_a, "local-exec", "violation");
	copy_fixture(&host_a, "exfil-fileset", "slow");
}

static void fleet_stop(void)
{
	server_cleanup(&host_a);
	server_cleanup(&host_b);
	tj_test_redis_destroy(&redis);
}

static void post_job(unsigned port, const char *id, const char *upload, struct http_reply *r)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"job_id\": \"%s\", \"upload_id\": \"%s\"}", id, upload);
	http(port, "POST", "/api/v1/jobs", "", body, r);
}

static void get_job(unsigned port, const char *id, struct http_reply *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/jobs/%s", id);
	http(port, "GET", path, "", NULL, r);
}

static bool is_final(const char *status)
{
	return status && strcmp(status, "QUEUED") != 0 && strcmp(status, "RUNNING") != 0;
}

/* GET until the job is final (or in state want, when given). */
static void wait_job(unsigned port, const char *id, const char *want, unsigned timeout_ms,
                     struct http_reply *r)
{
	uint64_t deadline = tj_now_ms() + timeout_ms;

	for (;;) {
		get_job(port, id, r);
		ck_assert_msg(r->code == 200, "GET %s: HTTP %d: %s", id, r->code, r->body);
		if (want ? strcmp(str(r->json, "status"), want) == 0 : is_final(str(r->json, "status")))
			return;
		ck_assert_msg(tj_now_ms() < deadline, "job %s is %s after %u ms", id, str(r->json, "status"),
		              timeout_ms);
		reply_free(r);
		usleep(100000);
	}
}

START_TEST(submit_is_idempotent_across_hosts)
{
	struct http_reply r;

	post_job(host_a.port, "idem-1", "violation", &r);
	ck_assert_msg(r.code == 202, "HTTP %d: %s", r.code, r.body);
	ck_assert_str_eq(str(r.json, "job_id"), "idem-1");
	ck_assert(strcmp(str(r.json, "status"), "QUEUED") == 0 ||
	          strcmp(str(r.json, "status"), "RUNNING") == 0 ||
	          strcmp(str(r.json, "status"), "FAILED") == 0);
	ck_assert_ptr_nonnull(str(r.json, "queued_at"));
	ck_assert_ptr_nonnull(strcasestr(r.head, "Location: /api/v1/jobs/idem-1"));
	reply_free(&r);
	/* the same body on the other host: the same job */
	post_job(host_b.port, "idem-1", "violation", &r);
	ck_assert_msg(r.code == 202, "HTTP %d: %s", r.code, r.body);
	ck_assert_str_eq(str(r.json, "job_id"), "idem-1");
	reply_free(&r);
	/* another body: 409 */
	post_job(host_b.port, "idem-1", "tfdata", &r);
	assert_error(&r, 409);
	reply_free(&r);
	wait_job(host_b.port, "idem-1", NULL, 30000, &r);
	assert_job(&r, "idem-1", "FAILED", "PolicyViolation");
	ck_assert_ptr_nonnull(str(r.json, "finished_at"));
	ck_assert_ptr_nonnull(str(r.json, "host"));
	ck_assert_int_eq((int)num(r.json, "attempts"), 1);
	reply_free(&r);
	/* it ran once */
	post_job(host_a.port, "idem-1", "violation", &r);
	ck_assert_int_eq(r.code, 202);
	ck_assert_str_eq(str(r.json, "status"), "FAILED");
	reply_free(&r);
	get_job(host_a.port, "no-such-job", &r);
	assert_error(&r, 404);
	reply_free(&r);
	get_job(host_a.port, "bad%2fid", &r);
	ck_assert_int_eq(r.code, 400);
	reply_free(&r);
}
END_TEST

START_TEST(cancel_reaches_the_other_host)
{
	struct http_reply r;
	char path[64];
	const char *runner;
	unsigned other;
	uint64_t t0;

	post_job(host_a.port, "cancel-1", "slow", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(host_a.port, "cancel-1", "RUNNING", 20000, &r);
	runner = str(r.json, "host");
	ck_assert_ptr_nonnull(runner);
	/* DELETE on the host that does not run it */
	other = strcmp(runner, "host-a") == 0 ? host_b.port : host_a.port;
	reply_free(&r);
	snprintf(path, sizeof(path), "/api/v1/jobs/cancel-1");
	t0 = tj_now_ms();
	http(other, "DELETE", path, "", NULL, &r);
	ck_assert_msg(r.code == 200, "HTTP %d: %s", r.code, r.body);
	reply_free(&r);
	/* well before its timeout: the running host killed it */
	wait_job(other, "cancel-1", NULL, 3000, &r);
	ck_assert_uint_lt(tj_now_ms() - t0, 3000);
	ck_assert_str_eq(str(r.json, "status"), "CANCELLED");
	ck_assert_ptr_nonnull(str(r.json, "started_at"));
	reply_free(&r);
	/* a queued job never starts: fill both hosts' slots first */
	for (int i = 0; i < 4; i++) {
		char id[16];
		snprintf(id, sizeof(id), "busy-%d", i);
		post_job(host_a.port, id, "slow", &r);
		reply_free(&r);
	}
	post_job(host_b.port, "cancel-2", "tfdata", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	http(host_a.port, "DELETE", "/api/v1/jobs/cancel-2", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	ck_assert_str_eq(str(r.json, "status"), "CANCELLED");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "started_at")));
	reply_free(&r);
	for (int i = 0; i < 4; i++) {
		char id[16], busy[64];
		snprintf(id, sizeof(id), "busy-%d", i);
		snprintf(busy, sizeof(busy), "/api/v1/jobs/%s", id);
		http(host_b.port, "DELETE", busy, "", NULL, &r);
		ck_assert_int_eq(r.code, 200);
		reply_free(&r);
		wait_job(host_b.port, id, NULL, 5000, &r);
		ck_assert_str_eq(str(r.json, "status"), "CANCELLED");
		reply_free(&r);
	}
	get_job(host_b.port, "cancel-2", &r);
	ck_assert_str_eq(str(r.json, "status"), "CANCELLED");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r.json, "started_at")));
	reply_free(&r);
}
END_TEST

START_TEST(execute_runs_on_the_fleet)
{
	struct http_reply r;

	execute(&host_b, "", "{\"job_id\": \"sync-1\", \"upload_id\": \"tfdata\"}", &r);
	assert_job(&r, "sync-1", "SUCCESS", NULL);
	reply_free(&r);
	/* the same id again is a new run: execute never deduplicates */
	execute(&host_a, "", "{\"job_id\": \"sync-1\", \"upload_id\": \"violation\"}", &r);
	assert_job(&r, "sync-1", "FAILED", "PolicyViolation");
	reply_free(&r);
	http(host_a.port, "GET", "/metrics", "", NULL, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_up 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_jobs{state=\"QUEUED\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_oldest_queued_age_seconds"));
	reply_free(&r);
	http(host_a.port, "GET", "/health", "", NULL, &r);
	ck_assert_msg(strncmp(str(r.json, "job_store"), "redis 127.0.0.1:", 16) == 0, "%s", r.body);
	reply_free(&r);
	http(host_a.port, "GET", "/openapi.json", "", NULL, &r);
	{
		const cJSON *paths = cJSON_GetObjectItemCaseSensitive(r.json, "paths");
		const cJSON *one = cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/jobs/{job_id}");
		ck_assert(
		    cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/jobs"), "post"));
		ck_assert(cJSON_HasObjectItem(one, "get") && cJSON_HasObjectItem(one, "delete"));
		ck_assert(cJSON_HasObjectItem(
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r.json, "components"),
		                                     "schemas"),
		    "Job"));
	}
	reply_free(&r);
}
END_TEST

/* 20 jobs on host A; A is killed (-9) while it runs some; every job ends,
 * once, readable from B. */
START_TEST(killed_host_loses_no_job)
{
	enum { N = 20 };
	/* two slow ones first (one of them runs on A when it dies), then cheap ones */
#define KIND(i) ((i) < 2 ? 0 : 1 + (i) % 2)
	static const char *const kinds[3] = {"slow", "tfdata", "violation"};
	static const char *const want[3] = {"TIMEOUT", "SUCCESS", "FAILED"};
	struct http_reply r;
	char id[32];
	int reclaimed = 0;
	bool on_a = false;
	uint64_t t_kill;
	pid_t procs[256];
	size_t n;

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "fleet-%02d", i);
		post_job(host_a.port, id, kinds[KIND(i)], &r);
		ck_assert_msg(r.code == 202, "HTTP %d: %s", r.code, r.body);
		reply_free(&r);
	}
	/* A runs a slow job: kill it, its sandboxes die with it */
	for (uint64_t deadline = tj_now_ms() + 20000; !on_a;) {
		for (int i = 0; i < 2 && !on_a; i++) {
			snprintf(id, sizeof(id), "fleet-%02d", i);
			get_job(host_b.port, id, &r);
			on_a = strcmp(str(r.json, "status"), "RUNNING") == 0 && str(r.json, "host") &&
			       strcmp(str(r.json, "host"), "host-a") == 0;
			reply_free(&r);
		}
		ck_assert_msg(tj_now_ms() < deadline, "no slow job ran on host A");
		if (!on_a)
			usleep(50000);
	}
	n = descendants(host_a.pid, procs, 256);
	ck_assert_int_ge(n, 4); /* spawner, launcher, worker, sandbox ... */
	kill(host_a.pid, SIGKILL);
	/* host A itself stays a zombie of the fixture's process */
	for (size_t i = 0; i < n; i++)
		if (procs[i] == host_a.pid)
			procs[i--] = procs[--n];
	host_a.pid = 0;
	for (uint64_t deadline = tj_now_ms() + 10000;;) {
		size_t left = 0;
		pid_t which = 0;
		/* orphans that came to this process (a subreaper) as zombies */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		for (size_t i = 0; i < n; i++)
			if (kill(procs[i], 0) == 0) {
				left++;
				which = procs[i];
			}
		if (!left)
			break;
		ck_assert_msg(tj_now_ms() < deadline,
		              "%zu processes of the killed host are left (%d, parent %d)", left, (int)which,
		              (int)ppid_of(which));
		usleep(20000);
	}
	t_kill = tj_now_ms();
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "fleet-%02d", i);
		wait_job(host_b.port, id, NULL, 90000, &r);
		ck_assert_msg(strcmp(str(r.json, "status"), want[KIND(i)]) == 0, "%s: %s", id, r.body);
		ck_assert_str_eq(str(r.json, "job_id"), id);
		if (num(r.json, "attempts") > 1)
			reclaimed++;
		reply_free(&r);
	}
	/* the killed host's jobs finished on the survivor within lease + job time */
	ck_assert_int_ge(reclaimed, 1);
	ck_assert_uint_lt(tj_now_ms() - t_kill, 90000);
	http(host_b.port, "GET", "/metrics", "", NULL, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_jobs{state=\"QUEUED\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_jobs{state=\"RUNNING\"} 0\n"));
	ck_assert_ptr_null(strstr(r.body, "tfjail_dispatch_reclaimed_total 0\n"));
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ a host stops */

/* Two hosts whose leases (600 s) never run out during the suite: a job that
 * moves to the other host was handed back, not taken over. */
#define LONG_LEASE_S 600

static void long_lease_start(void)
{
	tj_test_redis_start(&redis);
	host_start(&host_a, "host-a", NULL, LONG_LEASE_S);
	mkdir(host_a.uploads, 0755);
	host_start(&host_b, "host-b", host_a.uploads, LONG_LEASE_S);
	copy_fixture(&host_a, "exfil-fileset", "slow");
}

/* Waits until pid, a host of the fixture's process (not this test's child,
 * so not ours to reap), has exited: a zombie, or gone. */
static void wait_exited(pid_t pid, unsigned timeout_ms)
{
	uint64_t deadline = tj_now_ms() + timeout_ms;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (;;) {
		char *stat = NULL, *paren;
		struct tj_error err;
		bool done = tj_read_file(path, 4096, &stat, NULL, &err) < 0 ||
		            ((paren = strrchr(stat, ')')) && paren[1] == ' ' && paren[2] == 'Z');
		free(stat);
		if (done)
			return;
		ck_assert_msg(tj_now_ms() < deadline, "process %d did not exit within %u ms", (int)pid,
		              timeout_ms);
		usleep(20000);
	}
}

/* SIGTERM on the host running a slow job: at the end of its grace (1 s)
 * the job is killed and handed back, and the other host runs it again at
 * once, long before the lease would have run out. */
START_TEST(stopped_host_hands_its_job_back)
{
	struct http_reply r;
	struct server *runner, *other;
	char *log;

	post_job(host_a.port, "handback", "slow", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(host_a.port, "handback", "RUNNING", 20000, &r);
	ck_assert_uint_eq((unsigned)num(r.json, "attempts"), 1);
	runner = strcmp(str(r.json, "host"), "host-a") == 0 ? &host_a : &host_b;
	other = runner == &host_a ? &host_b : &host_a;
	reply_free(&r);

	kill(runner->pid, SIGTERM);
	wait_exited(runner->pid, 20000);
	log = read_log(runner);
	ck_assert_msg(strstr(log, "tfjail: stopped\n"), "%s", log);
	ck_assert_msg(strstr(log, "job handback handed back to the queue"), "%s", log);
	free(log);
	/* the slow job runs again, in full, on the other host: its second
	 * attempt, begun after the first host stopped, not a reclaim */
	wait_job(other->port, "handback", NULL, 60000, &r);
	ck_assert_msg(strcmp(str(r.json, "status"), "TIMEOUT") == 0, "%s", r.body);
	ck_assert_str_eq(str(r.json, "host"), other == &host_a ? "host-a" : "host-b");
	ck_assert_uint_eq((unsigned)num(r.json, "attempts"), 2);
	reply_free(&r);
	http(other->port, "GET", "/metrics", "", NULL, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_dispatch_claimed_total 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_dispatch_reclaimed_total 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_jobs{state=\"RUNNING\"} 0\n"));
	reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ Redis goes away */

#define SECRET "redis-pw-9f3a-never-shown"
static struct tj_test_redis lone_redis = {.user = "tfjail", .password = SECRET};
static struct server lone;

static void lone_start(void)
{
	char cfg[1024], pw[PATH_MAX];

	tj_test_redis_start(&lone_redis);
	snprintf(pw, sizeof(pw), "%s/password", lone_redis.dir);
	tj_test_write(lone_redis.dir, "password", SECRET "\n");
	snprintf(cfg, sizeof(cfg),
	         "\"max_concurrent_jobs\": 2, \"queue_size\": 64, \"store\": {\"url\": \"%s\", "
	         "\"username\": \"tfjail\", \"password_file\": \"%s\", \"lease_seconds\": 10}",
	         lone_redis.url, pw);
	server_start(&lone, cfg, POLICY);
	copy_fixture(&lone, "exfil-fileset", "slow");
	copy_fixture(&lone, "local-exec", "violation");
}

static void lone_stop(void)
{
	server_cleanup(&lone);
	tj_test_redis_destroy(&lone_redis);
}

START_TEST(redis_restarts_mid_run)
{
	struct http_reply r;
	char *log;

	post_job(lone.port, "before", "slow", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(lone.port, "before", "RUNNING", 20000, &r);
	reply_free(&r);

	/* Redis dies: submissions and reads are 503 with a reason, the
	 * service stays up, the running job runs on */
	tj_test_redis_stop(&lone_redis, SIGKILL);
	post_job(lone.port, "during", "violation", &r);
	assert_error(&r, 503);
	ck_assert_msg(strstr(str(r.json, "error"), "job store is unreachable"), "%s", r.body);
	ck_assert_ptr_nonnull(strcasestr(r.head, "Retry-After:"));
	reply_free(&r);
	get_job(lone.port, "before", &r);
	assert_error(&r, 503);
	reply_free(&r);
	http(lone.port, "GET", "/ready", "", NULL, &r);
	ck_assert_int_eq(r.code, 503);
	reply_free(&r);
	http(lone.port, "GET", "/metrics", "", NULL, &r);
	ck_assert_ptr_nonnull(strstr(r.body, "tfjail_store_up 0\n"));
	reply_free(&r);
	/* the job ends (its 4 s timeout) while Redis is away */
	sleep(4);

	/* back, with its data: the held result is published, nothing is lost */
	tj_test_redis_start(&lone_redis);
	wait_job(lone.port, "before", NULL, 10000, &r);
	ck_assert_str_eq(str(r.json, "status"), "TIMEOUT");
	ck_assert_str_eq(str(r.json, "job_id"), "before");
	reply_free(&r);
	post_job(lone.port, "after", "violation", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(lone.port, "after", NULL, 20000, &r);
	assert_job(&r, "after", "FAILED", "PolicyViolation");
	reply_free(&r);
	ck_assert_int_eq(kill(lone.pid, 0), 0);

	/* the password is in no log line and not in /health */
	http(lone.port, "GET", "/health", "", NULL, &r);
	ck_assert_msg(strstr(r.body, "user tfjail, password set"), "%s", r.body);
	ck_assert_ptr_null(strstr(r.body, SECRET));
	reply_free(&r);
	log = read_log(&lone);
	ck_assert_ptr_nonnull(strstr(log, "job store is unreachable"));
	ck_assert_ptr_null(strstr(log, SECRET));
	free(log);
}
END_TEST

/* ------------------------------------------------------------ one host, embedded */

static struct server single;

static void single_start(void)
{
	server_start(&single,
	             "\"max_concurrent_jobs\": 1, \"queue_size\": 0, \"shutdown_grace\": 0, "
	             "\"store\": {\"result_ttl_seconds\": 1}",
	             POLICY);
	copy_fixture(&single, "exfil-fileset", "slow");
	copy_fixture(&single, "local-exec", "violation");
}

static void single_stop(void)
{
	server_cleanup(&single);
}

START_TEST(results_expire_and_the_queue_is_bounded)
{
	struct http_reply r;

	post_job(single.port, "short", "violation", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(single.port, "short", NULL, 20000, &r);
	assert_job(&r, "short", "FAILED", "PolicyViolation");
	reply_free(&r);
	/* kept result_ttl_seconds (1), then gone, and the id free again */
	usleep(1300000);
	get_job(single.port, "short", &r);
	assert_error(&r, 404);
	reply_free(&r);
	post_job(single.port, "short", "slow", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(single.port, "short", "RUNNING", 20000, &r);
	reply_free(&r);
	/* one slot, no queue: a second job is 429 */
	post_job(single.port, "more", "violation", &r);
	assert_error(&r, 429);
	reply_free(&r);
	http(single.port, "GET", "/health", "", NULL, &r);
	ck_assert_str_eq(str(r.json, "job_store"), "embedded");
	reply_free(&r);
	http(single.port, "DELETE", "/api/v1/jobs/short", "", NULL, &r);
	ck_assert_int_eq(r.code, 200);
	reply_free(&r);
	wait_job(single.port, "short", NULL, 3000, &r);
	ck_assert_str_eq(str(r.json, "status"), "CANCELLED");
	reply_free(&r);
	http(single.port, "PUT", "/api/v1/jobs/short", "", "{}", &r);
	assert_error(&r, 405);
	reply_free(&r);
}
END_TEST

/* The embedded store ends with its host: a job killed by the shutdown is
 * forgotten, and the log says so (its client must submit it again). */
START_TEST(embedded_store_forgets_at_shutdown)
{
	struct http_reply r;
	char *log;

	post_job(single.port, "forgotten", "slow", &r);
	ck_assert_int_eq(r.code, 202);
	reply_free(&r);
	wait_job(single.port, "forgotten", "RUNNING", 20000, &r);
	reply_free(&r);
	kill(single.pid, SIGTERM);
	wait_exited(single.pid, 20000);
	log = read_log(&single);
	ck_assert_msg(strstr(log, "tfjail: stopped\n"), "%s", log);
	ck_assert_msg(strstr(log, "the embedded job store forgets 1 unfinished job(s)"), "%s", log);
	free(log);
}
END_TEST

Suite *fleet_suite(void)
{
	Suite *s = suite_create("fleet");
	TCase *tc = tcase_create("two-hosts");

	tcase_add_unchecked_fixture(tc, fleet_start, fleet_stop);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, submit_is_idempotent_across_hosts);
	tcase_add_test(tc, cancel_reaches_the_other_host);
	tcase_add_test(tc, execute_runs_on_the_fleet);
	tcase_add_test(tc, killed_host_loses_no_job);
	suite_add_tcase(s, tc);

	tc = tcase_create("handback");
	tcase_add_unchecked_fixture(tc, long_lease_start, fleet_stop);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stopped_host_hands_its_job_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("redis-restart");
	tcase_add_unchecked_fixture(tc, lone_start, lone_stop);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, redis_restarts_mid_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("embedded");
	tcase_add_unchecked_fixture(tc, single_start, single_stop);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, results_expire_and_the_queue_is_bounded);
	tcase_add_test(tc, embedded_store_forgets_at_shutdown);
	suite_add_tcase(s, tc);
	return s;
}
