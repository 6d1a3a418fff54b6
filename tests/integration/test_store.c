/* The job store (api/store.h), each behaviour checked on both backends:
 * the embedded one, and Redis through a real redis-server that the suite
 * starts on 127.0.0.1 on a free port.  Then what only a fleet has: two
 * hosts claiming from one queue, a lease running out, Redis killed and
 * started again mid-run, credentials. */
#include <check.h>
#include <cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/store.h"
#include "common/util.h"
#include "tests/redisutil.h"
#include "tests/testutil.h"

static struct tj_test_redis shared;

static void shared_start(void)
{
	tj_test_redis_start(&shared);
}

static void shared_stop(void)
{
	tj_test_redis_destroy(&shared);
}

/* A store of backend i (0 embedded, 1 the shared Redis), its keys under a
 * prefix of its own so that tests never see each other's jobs. */
static struct api_store *open_store(int backend, const char *prefix, const char *host, uint64_t lease_ms,
                                    uint64_t ttl_s)
{
	struct api_store_options o;
	struct api_store *s;
	struct tj_error err = {0};

	ck_assert_int_eq(api_store_options_defaults(&o, &err), 0);
	free(o.url);
	o.url = strdup(backend == 0 ? "embedded" : shared.url);
	free(o.prefix);
	o.prefix = strdup(prefix);
	o.host_id = strdup(host);
	o.lease_ms = lease_ms;
	o.result_ttl_s = ttl_s;
	ck_assert_msg(api_store_open(&o, &s, &err) == 0, "%s", err.msg);
	api_store_options_free(&o);
	return s;
}

static void prefix_for(char *buf, size_t len, const char *test, int backend)
{
	snprintf(buf, len, "t%d-%s-%d", (int)getpid(), test, backend);
}

static enum api_store_submit submit(struct api_store *s, const char *id, const char *body)
{
	enum api_store_submit out;
	struct tj_error err = {0};

	ck_assert_msg(api_store_submit(s, id, body, &out, &err) == 0, "%s", err.msg);
	return out;
}

static bool get(struct api_store *s, const char *id, struct api_store_job *j)
{
	struct tj_error err = {0};
	bool found;

	ck_assert_msg(api_store_get(s, id, j, &found, &err) == 0, "%s", err.msg);
	return found;
}

static bool claim(struct api_store *s, struct api_store_claim *c)
{
	struct tj_error err = {0};
	bool got;

	ck_assert_msg(api_store_claim(s, c, &got, &err) == 0, "%s", err.msg);
	return got;
}

static bool finish(struct api_store *s, const struct api_store_claim *c, enum api_store_state st,
                   const char *result)
{
	struct tj_error err = {0};
	bool written;

	ck_assert_msg(api_store_finish(s, c, st, result, &written, &err) == 0, "%s", err.msg);
	return written;
}

static enum api_store_renew renew(struct api_store *s, const struct api_store_claim *c)
{
	struct tj_error err = {0};
	enum api_store_renew r;

	ck_assert_msg(api_store_renew(s, c, &r, &err) == 0, "%s", err.msg);
	return r;
}

static enum api_store_cancel cancel(struct api_store *s, const char *id)
{
	struct tj_error err = {0};
	enum api_store_cancel r;

	ck_assert_msg(api_store_cancel(s, id, &r, &err) == 0, "%s", err.msg);
	return r;
}

static bool release(struct api_store *s, const struct api_store_claim *c)
{
	struct tj_error err = {0};
	bool released;

	ck_assert_msg(api_store_release(s, c, &released, &err) == 0, "%s", err.msg);
	return released;
}

static void stats(struct api_store *s, struct api_store_stats *st)
{
	struct tj_error err = {0};

	ck_assert_msg(api_store_stats(s, st, &err) == 0, "%s", err.msg);
}

/* ------------------------------------------------------------ both backends */

START_TEST(submit_is_idempotent)
{
	char prefix[64];
	struct api_store *s;
	struct api_store_job j;

	prefix_for(prefix, sizeof(prefix), "idem", _i);
	s = open_store(_i, prefix, "h1", 30000, 60);
	ck_assert_int_eq(submit(s, "job-1", "{\"job_id\":\"job-1\",\"upload_id\":\"u\"}"), API_STORE_CREATED);
	ck_assert_int_eq(submit(s, "job-1", "{\"job_id\":\"job-1\",\"upload_id\":\"u\"}"), API_STORE_EXISTS);
	ck_assert_int_eq(submit(s, "job-1", "{\"job_id\":\"job-1\",\"upload_id\":\"v\"}"),
	                 API_STORE_CONFLICT);
	ck_assert(get(s, "job-1", &j));
	ck_assert_int_eq(j.state, API_STORE_QUEUED);
	ck_assert_str_eq(j.request, "{\"job_id\":\"job-1\",\"upload_id\":\"u\"}");
	ck_assert_uint_gt(j.queued_ms, 1600000000000ull);
	ck_assert_uint_eq(j.started_ms, 0);
	ck_assert_ptr_null(j.host);
	ck_assert_ptr_null(j.result);
	ck_assert_uint_eq(strlen(j.body_sha256), 64);
	api_store_job_free(&j);
	ck_assert(!get(s, "job-2", &j));
	api_store_close(s);
}
END_TEST

START_TEST(claim_run_finish_once)
{
	char prefix[64];
	struct api_store *s;
	struct api_store_claim c, none;
	struct api_store_job j;

	prefix_for(prefix, sizeof(prefix), "life", _i);
	s = open_store(_i, prefix, "host-a", 30000, 60);
	ck_assert(!claim(s, &none));
	submit(s, "a", "{\"a\":1}");
	submit(s, "b", "{\"b\":1}");
	/* oldest first */
	ck_assert(claim(s, &c));
	ck_assert_str_eq(c.id, "a");
	ck_assert_str_eq(c.request, "{\"a\":1}");
	ck_assert_uint_eq(c.attempts, 1);
	ck_assert(!c.reclaimed);
	ck_assert(get(s, "a", &j));
	ck_assert_int_eq(j.state, API_STORE_RUNNING);
	ck_assert_str_eq(j.host, "host-a");
	ck_assert_uint_ge(j.started_ms, j.queued_ms);
	api_store_job_free(&j);
	ck_assert_int_eq(renew(s, &c), API_STORE_RENEWED);

	ck_assert(finish(s, &c, API_STORE_DONE, "{\"status\":\"SUCCESS\"}"));
	/* the result is written once */
	ck_assert(!finish(s, &c, API_STORE_DONE, "{\"status\":\"FAILED\"}"));
	ck_assert(!finish(s, &c, API_STORE_CANCELLED, NULL));
	ck_assert_int_eq(renew(s, &c), API_STORE_LOST);
	ck_assert(get(s, "a", &j));
	ck_assert_int_eq(j.state, API_STORE_DONE);
	ck_assert_str_eq(j.result, "{\"status\":\"SUCCESS\"}");
	ck_assert_uint_ge(j.finished_ms, j.started_ms);
	ck_assert_uint_eq(j.attempts, 1);
	api_store_job_free(&j);
	/* a finished job resubmitted with the same body is still that job */
	ck_assert_int_eq(submit(s, "a", "{\"a\":1}"), API_STORE_EXISTS);
	api_store_claim_free(&c);

	ck_assert(claim(s, &c));
	ck_assert_str_eq(c.id, "b");
	ck_assert(!claim(s, &none));
	api_store_claim_free(&c);
	api_store_close(s);
}
END_TEST

START_TEST(cancel_queued_and_running)
{
	char prefix[64];
	struct api_store *s;
	struct api_store_claim c, none;
	struct api_store_job j;

	prefix_for(prefix, sizeof(prefix), "cancel", _i);
	s = open_store(_i, prefix, "h", 30000, 60);
	submit(s, "q", "{}");
	submit(s, "r", "{}");
	ck_assert_int_eq(cancel(s, "nope"), API_STORE_CANCEL_UNKNOWN);
	/* a queued job never starts */
	ck_assert_int_eq(cancel(s, "q"), API_STORE_CANCEL_DONE);
	ck_assert(get(s, "q", &j));
	ck_assert_int_eq(j.state, API_STORE_CANCELLED);
	ck_assert_uint_gt(j.finished_ms, 0);
	ck_assert_uint_eq(j.started_ms, 0);
	api_store_job_free(&j);
	ck_assert(claim(s, &c));
	ck_assert_str_eq(c.id, "r");
	ck_assert(!claim(s, &none));
	/* a running one: its host hears of it at the next renewal */
	ck_assert_int_eq(cancel(s, "r"), API_STORE_CANCEL_REQUESTED);
	ck_assert(get(s, "r", &j));
	ck_assert_int_eq(j.state, API_STORE_RUNNING);
	ck_assert(j.cancel_requested);
	api_store_job_free(&j);
	ck_assert_int_eq(renew(s, &c), API_STORE_CANCELLED_BY_USER);
	ck_assert(finish(s, &c, API_STORE_CANCELLED, "{\"status\":\"CANCELLED\"}"));
	ck_assert_int_eq(cancel(s, "r"), API_STORE_CANCEL_FINAL);
	ck_assert_int_eq(cancel(s, "q"), API_STORE_CANCEL_FINAL);
	ck_assert(get(s, "r", &j));
	ck_assert_int_eq(j.state, API_STORE_CANCELLED);
	api_store_job_free(&j);
	api_store_claim_free(&c);
	api_store_close(s);
}
END_TEST

/* A host that stops hands its unfinished job back: queued again at once,
 * first in line, for any host (a lease of 600 s never runs out here). */
START_TEST(release_hands_a_job_back)
{
	char prefix[64];
	struct api_store *a, *b;
	struct api_store_claim ca, cb, none;
	struct api_store_job j;
	struct api_store_stats st;

	prefix_for(prefix, sizeof(prefix), "release", _i);
	a = open_store(_i, prefix, "host-a", 600000, 60);
	/* the embedded store has one host */
	b = _i == 0 ? a : open_store(_i, prefix, "host-b", 600000, 60);
	submit(a, "first", "{\"n\":1}");
	submit(a, "second", "{\"n\":2}");
	ck_assert(claim(a, &ca));
	ck_assert_str_eq(ca.id, "first");
	ck_assert(release(a, &ca));
	ck_assert(get(b, "first", &j));
	ck_assert_int_eq(j.state, API_STORE_QUEUED);
	ck_assert_ptr_null(j.host);
	ck_assert_uint_eq(j.started_ms, 0);
	ck_assert_uint_eq(j.attempts, 1);
	api_store_job_free(&j);
	stats(b, &st);
	ck_assert_uint_eq(st.queued, 2);
	ck_assert_uint_eq(st.running, 0);
	/* the released claim holds nothing any more */
	ck_assert_int_eq(renew(a, &ca), API_STORE_LOST);
	ck_assert(!release(a, &ca));
	api_store_claim_free(&ca);
	/* handed back, not taken over: before the job queued after it */
	ck_assert(claim(b, &cb));
	ck_assert_str_eq(cb.id, "first");
	ck_assert_str_eq(cb.request, "{\"n\":1}");
	ck_assert_uint_eq(cb.attempts, 2);
	ck_assert(!cb.reclaimed);
	ck_assert(finish(b, &cb, API_STORE_DONE, "{\"by\":\"b\"}"));
	ck_assert(!release(b, &cb));
	ck_assert(get(a, "first", &j));
	ck_assert_int_eq(j.state, API_STORE_DONE);
	ck_assert_uint_eq(j.attempts, 2);
	api_store_job_free(&j);
	api_store_claim_free(&cb);
	/* a cancel requested while it ran holds: it ends CANCELLED, unrun */
	ck_assert(claim(a, &ca));
	ck_assert_str_eq(ca.id, "second");
	ck_assert_int_eq(cancel(b, "second"), API_STORE_CANCEL_REQUESTED);
	ck_assert(release(a, &ca));
	ck_assert(!claim(b, &none));
	ck_assert(get(b, "second", &j));
	ck_assert_int_eq(j.state, API_STORE_CANCELLED);
	ck_assert_uint_eq(j.started_ms, 0);
	api_store_job_free(&j);
	stats(b, &st);
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.running, 0);
	api_store_claim_free(&ca);
	if (b != a)
		api_store_close(b);
	api_store_close(a);
}
END_TEST

START_TEST(stats_count_states)
{
	char prefix[64];
	struct api_store *s;
	struct api_store_claim c;
	struct api_store_stats st;

	prefix_for(prefix, sizeof(prefix), "stats", _i);
	s = open_store(_i, prefix, "h", 30000, 60);
	stats(s, &st);
	ck_assert_uint_eq(st.queued + st.running + st.done + st.cancelled + st.oldest_queued_age_ms, 0);
	submit(s, "1", "{}");
	usleep(150000);
	submit(s, "2", "{}");
	submit(s, "3", "{}");
	submit(s, "4", "{}");
	stats(s, &st);
	ck_assert_uint_eq(st.queued, 4);
	ck_assert_uint_ge(st.oldest_queued_age_ms, 140);
	ck_assert_uint_lt(st.oldest_queued_age_ms, 60000);
	ck_assert(claim(s, &c));
	ck_assert(finish(s, &c, API_STORE_DONE, "{}"));
	api_store_claim_free(&c);
	ck_assert(claim(s, &c));
	cancel(s, "4");
	stats(s, &st);
	ck_assert_uint_eq(st.queued, 1);
	ck_assert_uint_eq(st.running, 1);
	ck_assert_uint_eq(st.done, 1);
	ck_assert_uint_eq(st.cancelled, 1);
	/* the oldest queued one is now "3" */
	ck_assert_uint_lt(st.oldest_queued_age_ms, 140);
	api_store_claim_free(&c);
	api_store_close(s);
}
END_TEST

START_TEST(results_expire)
{
	char prefix[64];
	struct api_store *s;
	struct api_store_claim c;
	struct api_store_job j;

	prefix_for(prefix, sizeof(prefix), "ttl", _i);
	s = open_store(_i, prefix, "h", 30000, 1);
	submit(s, "old", "{\"x\":1}");
	submit(s, "waiting", "{}");
	ck_assert(claim(s, &c));
	ck_assert(finish(s, &c, API_STORE_DONE, "{}"));
	api_store_claim_free(&c);
	ck_assert(get(s, "old", &j));
	api_store_job_free(&j);
	usleep(1300000);
	ck_assert(!get(s, "old", &j));
	/* only final jobs expire */
	ck_assert(get(s, "waiting", &j));
	ck_assert_int_eq(j.state, API_STORE_QUEUED);
	api_store_job_free(&j);
	/* an expired id is free again, for any body */
	ck_assert_int_eq(submit(s, "old", "{\"x\":2}"), API_STORE_CREATED);
	api_store_close(s);
}
END_TEST

START_TEST(bad_ids_and_states)
{
	char prefix[64], big[API_STORE_ID_MAX + 2];
	struct api_store *s;
	struct api_store_claim c = {.id = "x"};
	struct tj_error err = {0};
	enum api_store_submit out;
	bool written;

	prefix_for(prefix, sizeof(prefix), "bad", _i);
	s = open_store(_i, prefix, "h", 30000, 60);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_lt(api_store_submit(s, "", "{}", &out, &err), 0);
	ck_assert_int_lt(api_store_submit(s, big, "{}", &out, &err), 0);
	ck_assert_int_lt(api_store_finish(s, &c, API_STORE_RUNNING, "{}", &written, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a final state"));
	/* finishing a job nobody holds writes nothing */
	ck_assert(!finish(s, &c, API_STORE_DONE, "{}"));
	api_store_close(s);
}
END_TEST

/* ------------------------------------------------------------ a fleet on Redis */

START_TEST(hosts_share_one_queue)
{
	/* Two hosts drain 20 jobs between them: each job is handed out once. */
	enum { N = 20 };
	char prefix[64], id[16];
	struct api_store *a, *b;
	int seen[N] = {0}, from_a = 0, from_b = 0;
	struct api_store_stats st;

	prefix_for(prefix, sizeof(prefix), "fleet", 1);
	a = open_store(1, prefix, "host-a", 30000, 60);
	b = open_store(1, prefix, "host-b", 30000, 60);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "j%d", i);
		submit(i % 2 ? a : b, id, "{}");
	}
	for (;;) {
		struct api_store_claim c;
		bool got_a = false, got_b = false;
		if (claim(a, &c)) {
			got_a = true;
			from_a++;
			seen[atoi(c.id + 1)]++;
			ck_assert(finish(a, &c, API_STORE_DONE, "{}"));
			api_store_claim_free(&c);
		}
		if (claim(b, &c)) {
			got_b = true;
			from_b++;
			seen[atoi(c.id + 1)]++;
			ck_assert(finish(b, &c, API_STORE_DONE, "{}"));
			api_store_claim_free(&c);
		}
		if (!got_a && !got_b)
			break;
	}
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(seen[i], 1);
	ck_assert_int_eq(from_a, N / 2);
	ck_assert_int_eq(from_b, N / 2);
	stats(a, &st);
	ck_assert_uint_eq(st.done, N);
	ck_assert_uint_eq(st.queued + st.running, 0);
	api_store_close(a);
	api_store_close(b);
}
END_TEST

START_TEST(lease_runs_out)
{
	char prefix[64];
	struct api_store *a, *b;
	struct api_store_claim ca, cb, none;
	struct api_store_job j;

	prefix_for(prefix, sizeof(prefix), "lease", 1);
	a = open_store(1, prefix, "host-a", 1000, 60);
	b = open_store(1, prefix, "host-b", 1000, 60);
	submit(a, "job", "{}");
	ck_assert(claim(a, &ca));
	/* while host-a renews, host-b gets nothing */
	for (int i = 0; i < 6; i++) {
		usleep(300000);
		ck_assert_int_eq(renew(a, &ca), API_STORE_RENEWED);
		ck_assert(!claim(b, &none));
	}
	/* host-a falls silent (as if killed): after the lease host-b takes over */
	usleep(1200000);
	ck_assert(claim(b, &cb));
	ck_assert_str_eq(cb.id, "job");
	ck_assert(cb.reclaimed);
	ck_assert_uint_eq(cb.attempts, 2);
	ck_assert(get(b, "job", &j));
	ck_assert_int_eq(j.state, API_STORE_RUNNING);
	ck_assert_str_eq(j.host, "host-b");
	api_store_job_free(&j);
	/* host-a, if it was only slow, learns that it lost the job */
	ck_assert_int_eq(renew(a, &ca), API_STORE_LOST);
	ck_assert_int_eq(renew(b, &cb), API_STORE_RENEWED);
	ck_assert(finish(b, &cb, API_STORE_DONE, "{\"by\":\"b\"}"));
	ck_assert(!finish(a, &ca, API_STORE_DONE, "{\"by\":\"a\"}"));
	ck_assert(get(a, "job", &j));
	ck_assert_str_eq(j.result, "{\"by\":\"b\"}");
	ck_assert_str_eq(j.host, "host-b");
	api_store_job_free(&j);
	ck_assert(!claim(a, &none));
	ck_assert(!claim(b, &none));
	api_store_claim_free(&ca);
	api_store_claim_free(&cb);
	api_store_close(a);
	api_store_close(b);
}
END_TEST

START_TEST(cancel_reaches_the_other_host)
{
	char prefix[64];
	struct api_store *a, *b;
	struct api_store_claim c;

	prefix_for(prefix, sizeof(prefix), "xcancel", 1);
	a = open_store(1, prefix, "host-a", 30000, 60);
	b = open_store(1, prefix, "host-b", 30000, 60);
	submit(a, "job", "{}");
	ck_assert(claim(b, &c));
	ck_assert_int_eq(cancel(a, "job"), API_STORE_CANCEL_REQUESTED);
	ck_assert_int_eq(renew(b, &c), API_STORE_CANCELLED_BY_USER);
	ck_assert(finish(b, &c, API_STORE_CANCELLED, NULL));
	ck_assert_int_eq(cancel(a, "job"), API_STORE_CANCEL_FINAL);
	api_store_claim_free(&c);
	api_store_close(a);
	api_store_close(b);
}
END_TEST

static void expect_unreachable(int rc, const struct tj_error *err)
{
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(err->errnum, EAGAIN);
	ck_assert_msg(strstr(err->msg, "unreachable"), "%s", err->msg);
}

START_TEST(redis_restarts_mid_run)
{
	struct tj_test_redis r = {0};
	struct api_store_options o;
	struct api_store *s;
	struct api_store_claim c1, c2, c;
	struct api_store_job j;
	struct tj_error err = {0};
	enum api_store_submit sub;
	bool found, written, got;
	int claimed = 0;

	tj_test_redis_start(&r);
	ck_assert_int_eq(api_store_options_defaults(&o, &err), 0);
	free(o.url);
	o.url = strdup(r.url);
	o.host_id = strdup("host-a");
	o.timeout_ms = 500;
	ck_assert_msg(api_store_open(&o, &s, &err) == 0, "%s", err.msg);
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "j%d", i);
		submit(s, id, "{}");
	}
	ck_assert(claim(s, &c1));
	ck_assert(claim(s, &c2));

	/* Redis dies hard; every call fails cleanly with EAGAIN */
	tj_test_redis_stop(&r, SIGKILL);
	expect_unreachable(api_store_submit(s, "late", "{}", &sub, &err), &err);
	expect_unreachable(api_store_get(s, "j0", &j, &found, &err), &err);
	expect_unreachable(api_store_finish(s, &c1, API_STORE_DONE, "{}", &written, &err), &err);
	expect_unreachable(api_store_claim(s, &c, &got, &err), &err);
	ck_assert_ptr_null(strstr(err.msg, "redis://"));

	/* it comes back on the same port and data: nothing was lost, and the
	 * result held back meanwhile is published now */
	tj_test_redis_start(&r);
	ck_assert(finish(s, &c1, API_STORE_DONE, "{\"late\":true}"));
	ck_assert(get(s, "j0", &j));
	ck_assert_int_eq(j.state, API_STORE_DONE);
	ck_assert_str_eq(j.result, "{\"late\":true}");
	api_store_job_free(&j);
	ck_assert_int_eq(renew(s, &c2), API_STORE_RENEWED);
	ck_assert(finish(s, &c2, API_STORE_DONE, "{}"));
	while (claim(s, &c)) {
		claimed++;
		ck_assert(finish(s, &c, API_STORE_DONE, "{}"));
		api_store_claim_free(&c);
	}
	ck_assert_int_eq(claimed, 3);
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof(id), "j%d", i);
		ck_assert(get(s, id, &j));
		ck_assert_int_eq(j.state, API_STORE_DONE);
		api_store_job_free(&j);
	}
	api_store_claim_free(&c1);
	api_store_claim_free(&c2);
	api_store_close(s);
	api_store_options_free(&o);
	tj_test_redis_destroy(&r);
}
END_TEST

START_TEST(redis_credentials)
{
	static const char secret[] = "pw-Zq81-never-logged";
	struct tj_test_redis r = {.user = "tfjail", .password = secret};
	struct api_store_options o;
	struct api_store *s;
	struct tj_error err = {0};
	char desc[256];

	tj_test_redis_start(&r);
	ck_assert_int_eq(api_store_options_defaults(&o, &err), 0);
	free(o.url);
	o.url = strdup(r.url);
	/* no credentials: refused */
	ck_assert_int_lt(api_store_open(&o, &s, &err), 0);
	ck_assert_ptr_null(strstr(err.msg, secret));
	/* a wrong password: refused, and the message shows neither password */
	o.username = strdup("tfjail");
	o.password = strdup("wrong-password-xyz");
	ck_assert_int_lt(api_store_open(&o, &s, &err), 0);
	ck_assert_int_eq(err.errnum, EACCES);
	ck_assert_msg(strstr(err.msg, "refused the credentials"), "%s", err.msg);
	ck_assert_ptr_null(strstr(err.msg, "wrong-password-xyz"));
	free(o.password);
	o.password = strdup(secret);
	ck_assert_msg(api_store_open(&o, &s, &err) == 0, "%s", err.msg);
	submit(s, "j", "{}");
	api_store_describe(s, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, "user tfjail") && strstr(desc, "password set"), "%s", desc);
	ck_assert_ptr_null(strstr(desc, secret));
	api_store_close(s);
	api_store_options_free(&o);
	tj_test_redis_destroy(&r);
}
END_TEST

/* ------------------------------------------------------------ configuration */

static int load(const char *json, struct api_store_options *o, struct tj_error *err)
{
	cJSON *obj = cJSON_Parse(json);
	int rc;

	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(api_store_options_defaults(o, err), 0);
	rc = api_store_options_load(obj, "t.json", o, err);
	cJSON_Delete(obj);
	return rc;
}

START_TEST(options_from_config)
{
	struct api_store_options o;
	struct api_store *s;
	struct tj_error err = {0};
	char dir[] = "/tmp/tfjail-store-XXXXXX", json[512], path[600];

	ck_assert_int_eq(load("{}", &o, &err), 0);
	ck_assert_str_eq(o.url, "embedded");
	ck_assert_uint_eq(o.lease_ms, 30000);
	ck_assert_uint_eq(o.result_ttl_s, 86400);
	api_store_options_free(&o);

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	tj_test_write(dir, "pw", "from-a-file\nignored\n");
	snprintf(path, sizeof(path), "%s/pw", dir);
	snprintf(json, sizeof(json),
	         "{\"url\": \"redis://r:6380/2\", \"username\": \"u\", \"password_file\": \"%s\","
	         " \"host_id\": \"h1\", \"prefix\": \"p\", \"lease_seconds\": 5, \"result_ttl_seconds\": 60,"
	         " \"timeout_ms\": 250}",
	         path);
	ck_assert_msg(load(json, &o, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(o.password, "from-a-file");
	ck_assert_str_eq(o.host_id, "h1");
	ck_assert_uint_eq(o.lease_ms, 5000);
	ck_assert_uint_eq(o.result_ttl_s, 60);
	ck_assert_uint_eq(o.timeout_ms, 250);
	api_store_options_free(&o);
	tj_test_rm_rf(dir);

	ck_assert_int_lt(load("{\"urll\": \"embedded\"}", &o, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "store.urll: unknown key"));
	api_store_options_free(&o);
	ck_assert_int_lt(load("{\"lease_seconds\": 0}", &o, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "store.lease_seconds"));
	api_store_options_free(&o);
	ck_assert_int_lt(load("{\"password\": 5}", &o, &err), 0);
	api_store_options_free(&o);

	/* URLs: credentials and TLS are refused with a reason, the secret unsaid */
	ck_assert_int_eq(load("{\"url\": \"redis://:hunter2@127.0.0.1:1/0\"}", &o, &err), 0);
	ck_assert_int_lt(api_store_open(&o, &s, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "password_file"));
	ck_assert_ptr_null(strstr(err.msg, "hunter2"));
	api_store_options_free(&o);
	ck_assert_int_eq(load("{\"url\": \"rediss://127.0.0.1:1/0\"}", &o, &err), 0);
	ck_assert_int_lt(api_store_open(&o, &s, &err), 0);
	ck_assert_msg(strstr(err.msg, "TLS"), "%s", err.msg);
	api_store_options_free(&o);
	ck_assert_int_eq(load("{\"url\": \"postgres://x\"}", &o, &err), 0);
	ck_assert_int_lt(api_store_open(&o, &s, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown scheme 'postgres'"));
	api_store_options_free(&o);
	/* nothing listens: the service does not start */
	snprintf(json, sizeof(json), "{\"url\": \"redis://127.0.0.1:%u\"}", tj_test_free_port());
	ck_assert_int_eq(load(json, &o, &err), 0);
	expect_unreachable(api_store_open(&o, &s, &err), &err);
	api_store_options_free(&o);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *both = tcase_create("both");
	TCase *fleet = tcase_create("fleet");
	TCase *own = tcase_create("own-redis");

	tcase_add_unchecked_fixture(both, shared_start, shared_stop);
	tcase_set_timeout(both, 30);
	/* _i: 0 embedded, 1 Redis */
	tcase_add_loop_test(both, submit_is_idempotent, 0, 2);
	tcase_add_loop_test(both, claim_run_finish_once, 0, 2);
	tcase_add_loop_test(both, cancel_queued_and_running, 0, 2);
	tcase_add_loop_test(both, release_hands_a_job_back, 0, 2);
	tcase_add_loop_test(both, stats_count_states, 0, 2);
	tcase_add_loop_test(both, results_expire, 0, 2);
	tcase_add_loop_test(both, bad_ids_and_states, 0, 2);
	suite_add_tcase(s, both);

	tcase_add_unchecked_fixture(fleet, shared_start, shared_stop);
	tcase_set_timeout(fleet, 30);
	tcase_add_test(fleet, hosts_share_one_queue);
	tcase_add_test(fleet, lease_runs_out);
	tcase_add_test(fleet, cancel_reaches_the_other_host);
	suite_add_tcase(s, fleet);

	tcase_set_timeout(own, 30);
	tcase_add_test(own, redis_restarts_mid_run);
	tcase_add_test(own, redis_credentials);
	tcase_add_test(own, options_from_config);
	suite_add_tcase(s, own);
	return s;
}
