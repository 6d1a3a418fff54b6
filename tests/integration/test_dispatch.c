/* The dispatcher (api/dispatch.h) between a job store and a runner of real
 * processes: each job is /bin/sleep for the time its request names, and a
 * SUCCESS response naming the job when it exits 0.  Slots, cancel, a host
 * killed with SIGKILL while its jobs run, and Redis gone mid-run. */
#include <check.h>
#include <cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/dispatch.h"
#include "api/store.h"
#include "common/util.h"
#include "tests/redisutil.h"

#define MAX_JOBS 32

struct sleeper {
	struct api_dispatch *d;
	const char *force_sleep; /* a slow host: every job takes this long */
	pthread_mutex_t lock;
	unsigned running, max_running;
	pid_t pids[MAX_JOBS + 1]; /* by handle */
	char ids[MAX_JOBS + 1][API_STORE_ID_MAX + 1];
	uint64_t next;
};

struct waiter {
	struct sleeper *r;
	uint64_t handle;
};

static void *wait_job(void *arg)
{
	struct waiter *w = arg;
	struct sleeper *r = w->r;
	char result[256];
	int st;

	waitpid(r->pids[w->handle], &st, 0);
	pthread_mutex_lock(&r->lock);
	r->running--;
	pthread_mutex_unlock(&r->lock);
	snprintf(result, sizeof(result), "{\"job_id\":\"%s\",\"status\":\"SUCCESS\"}", r->ids[w->handle]);
	api_dispatch_done(r->d, w->handle, WIFEXITED(st) && WEXITSTATUS(st) == 0 ? result : NULL);
	free(w);
	return NULL;
}

static int sleeper_start(void *ctx, uint64_t handle, const char *id, const char *request,
                         struct tj_error *err)
{
	struct sleeper *r = ctx;
	cJSON *req = cJSON_Parse(request);
	const char *secs = r->force_sleep
	                       ? r->force_sleep
	                       : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "sleep"));
	struct waiter *w = calloc(1, sizeof(*w));
	pthread_t t;
	pid_t pid;

	ck_assert_ptr_nonnull(secs);
	ck_assert_uint_le(handle, MAX_JOBS);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		execl("/bin/sleep", "sleep", secs, (char *)NULL);
		_exit(127);
	}
	cJSON_Delete(req);
	pthread_mutex_lock(&r->lock);
	r->next++;
	r->pids[handle] = pid;
	snprintf(r->ids[handle], sizeof(r->ids[0]), "%s", id);
	if (++r->running > r->max_running)
		r->max_running = r->running;
	pthread_mutex_unlock(&r->lock);
	*w = (struct waiter){.r = r, .handle = handle};
	ck_assert_int_eq(pthread_create(&t, NULL, wait_job, w), 0);
	pthread_detach(t);
	return 0;
}

static void sleeper_kill(void *ctx, uint64_t handle)
{
	struct sleeper *r = ctx;

	kill(r->pids[handle], SIGKILL);
}

static char *sleeper_error(void *ctx, const char *id, const char *request, const char *why)
{
	char *text;

	ck_assert_int_ge(asprintf(&text, "{\"job_id\":\"%s\",\"status\":\"FAILED\"}", id), 0);
	return text;
}

static struct api_store *open_store(const char *url, const char *host, uint64_t lease_ms)
{
	struct api_store_options o;
	struct api_store *s;
	struct tj_error err = {0};

	ck_assert_int_eq(api_store_options_defaults(&o, &err), 0);
	free(o.url);
	o.url = strdup(url);
	o.host_id = strdup(host);
	o.lease_ms = lease_ms;
	o.timeout_ms = 300;
	ck_assert_msg(api_store_open(&o, &s, &err) == 0, "%s", err.msg);
	api_store_options_free(&o);
	return s;
}

static void start(struct sleeper *r, struct api_store *s, unsigned slots)
{
	struct api_dispatch_runner runner = {
	    .ctx = r, .start = sleeper_start, .kill = sleeper_kill, .error_result = sleeper_error};
	struct api_dispatch_options o = {.slots = slots, .poll_ms = 50, .renew_ms = 200};
	struct tj_error err = {0};

	pthread_mutex_init(&r->lock, NULL);
	ck_assert_msg(api_dispatch_start(s, &runner, &o, &r->d, &err) == 0, "%s", err.msg);
}

static void submit(struct api_store *s, const char *id, const char *secs)
{
	char body[128];
	enum api_store_submit out;
	struct tj_error err = {0};

	snprintf(body, sizeof(body), "{\"job_id\":\"%s\",\"sleep\":\"%s\"}", id, secs);
	ck_assert_msg(api_store_submit(s, id, body, &out, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(out, API_STORE_CREATED);
}

/* Waits until job id is in state want (or fails after timeout_ms). */
static void wait_state(struct api_store *s, const char *id, enum api_store_state want, unsigned timeout_ms,
                       struct api_store_job *out)
{
	uint64_t end = tj_now_ms() + timeout_ms;

	for (;;) {
		struct api_store_job j;
		struct tj_error err = {0};
		bool found;
		if (api_store_get(s, id, &j, &found, &err) == 0 && found && j.state == want) {
			if (out)
				*out = j;
			else
				api_store_job_free(&j);
			return;
		}
		if (found)
			api_store_job_free(&j);
		ck_assert_msg(tj_now_ms() < end, "job %s: not %s within %u ms", id,
		              api_store_state_name(want), timeout_ms);
		usleep(20000);
	}
}

START_TEST(slots_bound_the_host)
{
	struct sleeper r = {0};
	struct api_store *s = open_store("embedded", "h", 30000);
	char id[8];

	start(&r, s, 2);
	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		submit(s, id, "0.2");
	}
	api_dispatch_poke(r.d);
	for (int i = 0; i < 6; i++) {
		struct api_store_job j;
		char want[64];
		snprintf(id, sizeof(id), "j%d", i);
		wait_state(s, id, API_STORE_DONE, 10000, &j);
		snprintf(want, sizeof(want), "{\"job_id\":\"%s\",\"status\":\"SUCCESS\"}", id);
		ck_assert_str_eq(j.result, want);
		ck_assert_str_eq(j.host, "h");
		api_store_job_free(&j);
	}
	ck_assert_uint_eq(r.max_running, 2);
	/* a job that ends without a result gets the runner's error response */
	submit(s, "bad", "not-a-duration");
	api_dispatch_poke(r.d);
	{
		struct api_store_job j;
		wait_state(s, "bad", API_STORE_DONE, 5000, &j);
		ck_assert_str_eq(j.result, "{\"job_id\":\"bad\",\"status\":\"FAILED\"}");
		api_store_job_free(&j);
	}
	api_dispatch_stop(r.d, 1000);
	api_dispatch_free(r.d);
	api_store_close(s);
}
END_TEST

START_TEST(cancel_kills_the_running_job)
{
	struct sleeper r = {0};
	struct api_store *s = open_store("embedded", "h", 30000);
	enum api_store_cancel c;
	struct tj_error err = {0};
	struct api_dispatch_stats st;
	uint64_t t0;

	start(&r, s, 1);
	submit(s, "long", "30");
	submit(s, "next", "0.1");
	wait_state(s, "long", API_STORE_RUNNING, 5000, NULL);
	t0 = tj_now_ms();
	ck_assert_int_eq(api_store_cancel(s, "long", &c, &err), 0);
	ck_assert_int_eq(c, API_STORE_CANCEL_REQUESTED);
	wait_state(s, "long", API_STORE_CANCELLED, 5000, NULL);
	ck_assert_uint_lt(tj_now_ms() - t0, 5000);
	/* the process is gone, and the slot went to the next job */
	ck_assert_int_eq(kill(r.pids[1], 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	wait_state(s, "next", API_STORE_DONE, 5000, NULL);
	api_dispatch_stats(r.d, &st);
	ck_assert_uint_eq(st.cancelled, 1);
	api_dispatch_stop(r.d, 1000);
	api_dispatch_free(r.d);
	api_store_close(s);
}
END_TEST

START_TEST(killed_host_jobs_finish_elsewhere)
{
	enum { N = 6 };
	struct tj_test_redis redis = {0};
	struct sleeper r = {0};
	struct api_store *s;
	struct api_store_stats st;
	struct tj_error err = {0};
	char id[8];
	pid_t host;
	int pipefd[2];

	tj_test_redis_start(&redis);
	s = open_store(redis.url, "survivor", 1000);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		submit(s, id, "0.3");
	}
	/* the doomed host: takes 3 jobs, each slower than the test */
	ck_assert_int_eq(pipe(pipefd), 0);
	host = fork();
	ck_assert_int_ge(host, 0);
	if (host == 0) {
		struct sleeper slow = {.force_sleep = "60"};
		struct api_store *hs = open_store(redis.url, "doomed", 1000);
		start(&slow, hs, 3);
		while (slow.running < 3)
			usleep(10000);
		ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
		pause();
		_exit(0);
	}
	{
		char x;
		ck_assert_int_eq(read(pipefd[0], &x, 1), 1);
	}
	ck_assert_int_eq(api_store_stats(s, &st, &err), 0);
	ck_assert_uint_eq(st.running, 3);
	kill(host, SIGKILL);
	waitpid(host, NULL, 0);

	/* the survivor starts only now: the doomed host's jobs wait for the lease */
	start(&r, s, 2);
	for (int i = 0; i < N; i++) {
		struct api_store_job j;
		snprintf(id, sizeof(id), "j%d", i);
		wait_state(s, id, API_STORE_DONE, 15000, &j);
		ck_assert_str_eq(j.host, "survivor");
		ck_assert_uint_ge(j.attempts, 1);
		api_store_job_free(&j);
	}
	{
		struct api_dispatch_stats ds;
		api_dispatch_stats(r.d, &ds);
		ck_assert_uint_eq(ds.claimed, N);
		ck_assert_uint_eq(ds.reclaimed, 3);
	}
	ck_assert_int_eq(api_store_stats(s, &st, &err), 0);
	ck_assert_uint_eq(st.queued + st.running, 0);
	ck_assert_uint_eq(st.done, N);
	api_dispatch_stop(r.d, 1000);
	api_dispatch_free(r.d);
	api_store_close(s);
	tj_test_redis_destroy(&redis);
}
END_TEST

/* A host stopped with no grace: the jobs it kills go back to the queue, and
 * another host runs them at once, though the lease (600 s) never ran out. */
START_TEST(stopped_host_hands_its_jobs_back)
{
	enum { N = 3 };
	struct tj_test_redis redis = {0};
	struct sleeper stopping = {.force_sleep = "60"}, r = {0};
	struct api_store *s, *hs;
	struct api_dispatch_stats ds;
	struct api_store_stats st;
	struct tj_error err = {0};
	unsigned attempts = 0;
	char id[8];

	tj_test_redis_start(&redis);
	s = open_store(redis.url, "survivor", 600000);
	hs = open_store(redis.url, "stopping", 600000);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "h%d", i);
		submit(s, id, "0.2");
	}
	start(&stopping, hs, 2);
	for (uint64_t end = tj_now_ms() + 5000;;) {
		unsigned n;
		pthread_mutex_lock(&stopping.lock);
		n = stopping.running;
		pthread_mutex_unlock(&stopping.lock);
		if (n == 2)
			break;
		ck_assert_msg(tj_now_ms() < end, "the stopping host runs %u jobs", n);
		usleep(10000);
	}
	/* the server's shutdown: no grace, then the runner kills what runs */
	api_dispatch_stop(stopping.d, 0);
	for (uint64_t h = 1; h <= 2; h++) {
		ck_assert_int_gt(stopping.pids[h], 0);
		kill(stopping.pids[h], SIGKILL);
	}
	for (uint64_t end = tj_now_ms() + 5000;;) {
		api_dispatch_stats(stopping.d, &ds);
		if (ds.running == 0)
			break;
		ck_assert_msg(tj_now_ms() < end, "killed jobs did not end");
		usleep(10000);
	}
	api_dispatch_free(stopping.d);
	api_store_close(hs);
	ck_assert_int_eq(api_store_stats(s, &st, &err), 0);
	ck_assert_uint_eq(st.running, 0);
	ck_assert_uint_eq(st.queued, N);
	ck_assert_uint_eq(st.done, 0);

	start(&r, s, 2);
	for (int i = 0; i < N; i++) {
		struct api_store_job j;
		snprintf(id, sizeof(id), "h%d", i);
		wait_state(s, id, API_STORE_DONE, 10000, &j);
		ck_assert_str_eq(j.host, "survivor");
		attempts += j.attempts;
		api_store_job_free(&j);
	}
	/* two jobs ran twice, none was taken over from a silent host */
	ck_assert_uint_eq(attempts, N + 2);
	api_dispatch_stats(r.d, &ds);
	ck_assert_uint_eq(ds.claimed, N);
	ck_assert_uint_eq(ds.reclaimed, 0);
	api_dispatch_stop(r.d, 1000);
	api_dispatch_free(r.d);
	api_store_close(s);
	tj_test_redis_destroy(&redis);
}
END_TEST

START_TEST(results_wait_for_redis)
{
	struct tj_test_redis redis = {0};
	struct sleeper r = {0};
	struct api_store *s;
	struct api_dispatch_stats st;

	tj_test_redis_start(&redis);
	s = open_store(redis.url, "h", 30000);
	start(&r, s, 2);
	submit(s, "a", "1");
	submit(s, "b", "1");
	wait_state(s, "a", API_STORE_RUNNING, 5000, NULL);
	wait_state(s, "b", API_STORE_RUNNING, 5000, NULL);
	tj_test_redis_stop(&redis, SIGKILL);
	/* the jobs end while Redis is away: their results are held */
	for (uint64_t end = tj_now_ms() + 5000;;) {
		api_dispatch_stats(r.d, &st);
		if (st.unpublished == 2)
			break;
		ck_assert_msg(tj_now_ms() < end, "results not held: %u running, %u unpublished", st.running,
		              st.unpublished);
		usleep(20000);
	}
	ck_assert_uint_gt(st.store_errors, 0);
	tj_test_redis_start(&redis);
	wait_state(s, "a", API_STORE_DONE, 5000, NULL);
	wait_state(s, "b", API_STORE_DONE, 5000, NULL);
	api_dispatch_stats(r.d, &st);
	ck_assert_uint_eq(st.published, 2);
	api_dispatch_stop(r.d, 1000);
	api_dispatch_free(r.d);
	api_store_close(s);
	tj_test_redis_destroy(&redis);
}
END_TEST

Suite *dispatch_suite(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("dispatch");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, slots_bound_the_host);
	tcase_add_test(tc, cancel_kills_the_running_job);
	tcase_add_test(tc, killed_host_jobs_finish_elsewhere);
	tcase_add_test(tc, stopped_host_hands_its_jobs_back);
	tcase_add_test(tc, results_wait_for_redis);
	suite_add_tcase(s, tc);
	return s;
}
