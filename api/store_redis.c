/* The Redis job store (libhiredis), for a fleet of hosts sharing one Redis.
 *
 * Keys (PREFIX from store.prefix, default "tfjail"):
 *   PREFIX:queue     a stream: one entry {id} per submitted job; the
 *                    consumer group "hosts" hands each entry to one host,
 *                    and its pending-entries list is the lease table (an
 *                    entry's idle time is the time since its host last
 *                    renewed)
 *   PREFIX:job:ID    a hash: state, request, sha, result, host, queued,
 *                    started, finished, attempts, cancel, entry; it expires
 *                    result_ttl_s after the job became final
 *   PREFIX:queued    sorted sets of job ids by queued/started time, for the
 *   PREFIX:running   metrics (depth, oldest queued) without a scan
 *   PREFIX:counts    a hash of final states reached (DONE, CANCELLED)
 *
 * Each operation that reads and writes is one Lua script, so it is atomic
 * on the server, and times come from Redis's clock (TIME), so hosts with
 * skewed clocks agree.  A job whose host stops renewing is claimed again
 * with XAUTOCLAIM once its entry has been idle lease_ms; a host that stops
 * releases its unfinished jobs by making their entries look idle that long
 * at once (XCLAIM ... IDLE), so the next XAUTOCLAIM of any host takes them,
 * before new work.  Standalone Redis
 * (or a Sentinel-managed primary) only: the scripts touch keys they compute,
 * which Redis Cluster does not allow.
 *
 * One connection per store, used under a mutex.  A broken connection is
 * dropped and opened again by the next call; until that succeeds every call
 * fails with EAGAIN.  The password is sent in AUTH only and never appears in
 * a message. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/store.h"
#include "common/cleanup.h"
#include "common/util.h"

#define GROUP   "hosts"
#define KEY_MAX 512

struct redis_store {
	pthread_mutex_t lock;
	redisContext *c;
	char host[256];
	unsigned port;
	unsigned db;
	char k_queue[KEY_MAX], k_queued[KEY_MAX], k_running[KEY_MAX], k_counts[KEY_MAX], k_job[KEY_MAX];
	char cursor[64]; /* XAUTOCLAIM's position in the pending list */
};

static struct redis_store *rs(struct api_store *s)
{
	return s->priv;
}

/* ------------------------------------------------------------ scripts */

/* Every script starts with the server's time in ms. */
#define LUA_NOW                                                                                              \
	"local t = redis.call('TIME')\n"                                                                     \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: job, queue, queued; ARGV: id, sha, request.
 * -> 0 created, 1 exists (same body), 2 conflict */
static const char lua_submit[] =
    LUA_NOW "local sha = redis.call('HGET', KEYS[1], 'sha')\n"
            "if sha then if sha == ARGV[2] then return 1 end return 2 end\n"
            "local e = redis.call('XADD', KEYS[2], '*', 'id', ARGV[1])\n"
            "redis.call('HSET', KEYS[1], 'state', 'QUEUED', 'sha', ARGV[2], 'request', ARGV[3],\n"
            "  'queued', now, 'attempts', 0, 'entry', e)\n"
            "redis.call('ZADD', KEYS[3], now, ARGV[1])\n"
            "return 0\n";

/* Makes a job final: shared by claim (cancelled while queued), finish and
 * cancel.  KEYS: -, queue, queued, running, counts. */
#define LUA_FINALISE                                                                                         \
	"local function finalise(key, id, entry, state, result, host)\n"                                     \
	"  redis.call('HSET', key, 'state', state, 'finished', now)\n"                                       \
	"  if result and result ~= '' then redis.call('HSET', key, 'result', result) end\n"                  \
	"  if host and host ~= '' then redis.call('HSET', key, 'host', host) end\n"                          \
	"  redis.call('EXPIRE', key, ttl)\n"                                                                 \
	"  redis.call('ZREM', KEYS[3], id)\n"                                                                \
	"  redis.call('ZREM', KEYS[4], id)\n"                                                                \
	"  if entry then redis.call('XACK', KEYS[2], '" GROUP                                                \
	"', entry); redis.call('XDEL', KEYS[2], entry) end\n"                                                \
	"  redis.call('HINCRBY', KEYS[5], state, 1)\n"                                                       \
	"end\n"

/* KEYS: (queue), queue, queued, running, counts; ARGV: host, lease_ms, cursor,
 * job key prefix, ttl.
 * -> {cursor} or {cursor, id, request, attempts, entry, reclaimed} */
static const char lua_claim[] = LUA_NOW
    "local ttl = tonumber(ARGV[5])\n" LUA_FINALISE "local function take(entry, fields, reclaimed)\n"
    "  if not fields or fields[1] ~= 'id' then\n"
    "    redis.call('XACK', KEYS[2], '" GROUP "', entry); redis.call('XDEL', KEYS[2], entry); return nil\n"
    "  end\n"
    "  local id = fields[2]\n"
    "  local key = ARGV[4] .. id\n"
    "  local h = redis.call('HMGET', key, 'state', 'cancel', 'request', 'attempts')\n"
    "  if not h[1] or (h[1] ~= 'QUEUED' and h[1] ~= 'RUNNING') then\n"
    "    redis.call('XACK', KEYS[2], '" GROUP "', entry); redis.call('XDEL', KEYS[2], entry); return nil\n"
    "  end\n"
    "  if h[2] == '1' then finalise(key, id, entry, 'CANCELLED', nil, nil); return nil end\n"
    /* a released job was handed back, not taken over */
    "  if h[1] == 'QUEUED' then reclaimed = 0 end\n"
    "  local attempts = tonumber(h[4] or '0') + 1\n"
    "  redis.call('HSET', key, 'state', 'RUNNING', 'host', ARGV[1], 'started', now,\n"
    "    'attempts', attempts, 'entry', entry)\n"
    "  redis.call('ZREM', KEYS[3], id)\n"
    "  redis.call('ZADD', KEYS[4], now, id)\n"
    "  return {id, h[3], attempts, entry, reclaimed}\n"
    "end\n"
    "local cursor = ARGV[3]\n"
    "local r = redis.call('XAUTOCLAIM', KEYS[2], '" GROUP "', ARGV[1], ARGV[2], cursor, 'COUNT', 1)\n"
    "cursor = r[1]\n"
    "for _, e in ipairs(r[2]) do\n"
    "  local got = take(e[1], e[2], 1)\n"
    "  if got then table.insert(got, 1, cursor); return got end\n"
    "end\n"
    "for i = 1, 16 do\n"
    "  local x = redis.call('XREADGROUP', 'GROUP', '" GROUP
    "', ARGV[1], 'COUNT', 1, 'STREAMS', KEYS[2], '>')\n"
    "  if not x then break end\n"
    "  local e = x[1][2][1]\n"
    "  local got = take(e[1], e[2], 0)\n"
    "  if got then table.insert(got, 1, cursor); return got end\n"
    "end\n"
    "return {cursor}\n";

/* KEYS: job, queue; ARGV: host, entry.  -> 0 renewed, 1 cancel requested, 2 lost */
static const char lua_renew[] =
    "local h = redis.call('HMGET', KEYS[1], 'state', 'host', 'cancel', 'entry')\n"
    "if h[1] ~= 'RUNNING' or h[2] ~= ARGV[1] or h[4] ~= ARGV[2] then return 2 end\n"
    /* XCLAIM by the owner with min-idle 0 resets the entry's idle time */
    "redis.call('XCLAIM', KEYS[2], '" GROUP "', ARGV[1], 0, ARGV[2], 'JUSTID')\n"
    "if h[3] == '1' then return 1 end\n"
    "return 0\n";

/* KEYS: job, queue, queued, running, counts; ARGV: id, host, entry,
 * lease_ms, ttl.  -> 1 released, 0 not held by this claim.  The entry stays
 * in the pending list with the idle time of a lease run out: the next
 * XAUTOCLAIM takes it.  The job is queued again under its first queued
 * time; one whose cancel was requested ends CANCELLED instead. */
static const char lua_release[] =
    LUA_NOW "local ttl = tonumber(ARGV[5])\n" LUA_FINALISE
            "local h = redis.call('HMGET', KEYS[1], 'state', 'host', 'entry', 'queued', 'cancel')\n"
            "if h[1] ~= 'RUNNING' or h[2] ~= ARGV[2] or h[3] ~= ARGV[3] then return 0 end\n"
            "redis.call('HDEL', KEYS[1], 'host', 'started')\n"
            "if h[5] == '1' then finalise(KEYS[1], ARGV[1], h[3], 'CANCELLED', nil, nil); return 1 end\n"
            "redis.call('XCLAIM', KEYS[2], '" GROUP "', ARGV[2], 0, ARGV[3], 'IDLE', ARGV[4], 'JUSTID')\n"
            "redis.call('HSET', KEYS[1], 'state', 'QUEUED')\n"
            "redis.call('ZREM', KEYS[4], ARGV[1])\n"
            "redis.call('ZADD', KEYS[3], h[4] or 0, ARGV[1])\n"
            "return 1\n";

/* KEYS: job, queue, queued, running, counts; ARGV: id, state, result, host,
 * ttl.  -> 1 written, 0 a result was already there (or the job is gone) */
static const char lua_finish[] = LUA_NOW "local ttl = tonumber(ARGV[5])\n" LUA_FINALISE
                                         "local h = redis.call('HMGET', KEYS[1], 'state', 'entry')\n"
                                         "if h[1] ~= 'QUEUED' and h[1] ~= 'RUNNING' then return 0 end\n"
                                         "finalise(KEYS[1], ARGV[1], h[2], ARGV[2], ARGV[3], ARGV[4])\n"
                                         "return 1\n";

/* KEYS: job, queue, queued, running, counts; ARGV: id, ttl.
 * -> 0 unknown, 1 cancelled (was queued), 2 requested (running), 3 final */
static const char lua_cancel[] =
    LUA_NOW "local ttl = tonumber(ARGV[2])\n" LUA_FINALISE
            "local h = redis.call('HMGET', KEYS[1], 'state', 'entry')\n"
            "if not h[1] then return 0 end\n"
            "if h[1] == 'QUEUED' then\n"
            "  redis.call('HSET', KEYS[1], 'cancel', 1)\n"
            "  finalise(KEYS[1], ARGV[1], h[2], 'CANCELLED', nil, nil)\n"
            "  return 1\n"
            "end\n"
            "if h[1] == 'RUNNING' then redis.call('HSET', KEYS[1], 'cancel', 1); return 2 end\n"
            "return 3\n";

/* KEYS: (queue), (queue), queued, running, counts.  -> {queued, oldest age ms, running,
 * done, cancelled} */
static const char lua_stats[] =
    LUA_NOW "local q = redis.call('ZCARD', KEYS[3])\n"
            "local age = 0\n"
            "local o = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
            "if o[2] then age = math.max(0, now - tonumber(o[2])) end\n"
            "local c = redis.call('HMGET', KEYS[5], 'DONE', 'CANCELLED')\n"
            "return {q, age, redis.call('ZCARD', KEYS[4]), tonumber(c[1] or '0'), tonumber(c[2] or '0')}\n";

/* ------------------------------------------------------------ connection */

/* Under the lock.  The error names the server, never the password. */
static int fail_unreachable(struct api_store *s, const char *why, struct tj_error *err)
{
	struct redis_store *r = rs(s);

	tj_error_set(err, EAGAIN, "the job store is unreachable: redis %s:%u: %s", r->host, r->port, why);
	if (r->c) {
		redisFree(r->c);
		r->c = NULL;
	}
	return -1;
}

/* One command on a fresh connection during connect(); *errbuf gets
 * Redis's error text (Redis's own, which never echoes a password). */
static int setup_command(redisContext *c, int argc, const char **argv, const char *ignore, char *errbuf,
                         size_t errlen)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
	int rc = 0;

	if (!rep) {
		snprintf(errbuf, errlen, "%s", c->errstr[0] ? c->errstr : "connection lost");
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR && !(ignore && strncmp(rep->str, ignore, strlen(ignore)) == 0)) {
		snprintf(errbuf, errlen, "%s", rep->str);
		rc = -2;
	}
	freeReplyObject(rep);
	return rc;
}

static int connect_store(struct api_store *s, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	struct timeval tv = {.tv_sec = (time_t)(s->opt.timeout_ms / 1000),
	                     .tv_usec = (suseconds_t)(s->opt.timeout_ms % 1000) * 1000};
	char why[256], db[16];
	int rc;

	if (r->c)
		return 0;
	r->c = redisConnectWithTimeout(r->host, (int)r->port, tv);
	if (!r->c)
		return fail_unreachable(s, "out of memory", err);
	if (r->c->err)
		return fail_unreachable(s, r->c->errstr, err);
	if (redisSetTimeout(r->c, tv) != REDIS_OK)
		return fail_unreachable(s, "cannot set the command timeout", err);
	if (s->opt.password) {
		const char *auth_user[] = {"AUTH", s->opt.username, s->opt.password};
		const char *auth[] = {"AUTH", s->opt.password};
		rc = s->opt.username ? setup_command(r->c, 3, auth_user, NULL, why, sizeof(why))
		                     : setup_command(r->c, 2, auth, NULL, why, sizeof(why));
		if (rc == -1)
			return fail_unreachable(s, why, err);
		if (rc < 0) {
			fail_unreachable(s, why, err);
			return tj_error_set(err, EACCES,
			                    "the job store refused the credentials: redis %s:%u: %s", r->host,
			                    r->port, why);
		}
	}
	snprintf(db, sizeof(db), "%u", r->db);
	{
		const char *select[] = {"SELECT", db};
		const char *group[] = {"XGROUP", "CREATE", r->k_queue, GROUP, "0", "MKSTREAM"};
		if ((rc = setup_command(r->c, 2, select, NULL, why, sizeof(why))) < 0 ||
		    (rc = setup_command(r->c, 6, group, "BUSYGROUP", why, sizeof(why))) < 0) {
			fail_unreachable(s, why, err);
			if (rc == -2 && strncmp(why, "NOAUTH", 6) != 0 && strncmp(why, "LOADING", 7) != 0)
				err->errnum = EIO;
			return -1;
		}
	}
	return 0;
}

/* Errors that go away by themselves: Redis starting up, or failing over. */
static bool transient(const char *msg)
{
	static const char *const kinds[] = {"LOADING",  "BUSY",   "MASTERDOWN",
	                                    "TRYAGAIN", "NOAUTH", "READONLY"};

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(msg, kinds[i], strlen(kinds[i])) == 0)
			return true;
	return false;
}

/* Runs a script under the lock; *out is the reply (caller frees). */
static int eval(struct api_store *s, const char *script, int nkeys, const char *const *keys, int nargs,
                const char *const *args, redisReply **out, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	const char *argv[16];
	char nk[8];
	int argc = 0;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = nk;
	for (int i = 0; i < nkeys; i++)
		argv[argc++] = keys[i];
	for (int i = 0; i < nargs; i++)
		argv[argc++] = args[i];
	/* A group lost with a Redis that came back empty is made again once. */
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *rep;
		if (connect_store(s, err) < 0)
			return -1;
		rep = redisCommandArgv(r->c, argc, argv, NULL);
		if (!rep)
			return fail_unreachable(s, r->c->errstr[0] ? r->c->errstr : "connection lost", err);
		if (rep->type != REDIS_REPLY_ERROR) {
			*out = rep;
			return 0;
		}
		if (strstr(rep->str, "NOGROUP") && attempt == 0) {
			freeReplyObject(rep);
			redisFree(r->c);
			r->c = NULL;
			continue;
		}
		if (transient(rep->str)) {
			char why[256];
			snprintf(why, sizeof(why), "%s", rep->str);
			freeReplyObject(rep);
			return fail_unreachable(s, why, err);
		}
		tj_error_set(err, EIO, "the job store failed: redis %s:%u: %.300s", r->host, r->port,
		             rep->str);
		freeReplyObject(rep);
		return -1;
	}
	return tj_error_set(err, EIO, "the job store failed: redis %s:%u: its consumer group keeps vanishing",
	                    r->host, r->port);
}

static int eval_locked(struct api_store *s, const char *script, int nkeys, const char *const *keys, int nargs,
                       const char *const *args, redisReply **out, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = eval(s, script, nkeys, keys, nargs, args, out, err);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static int bad_reply(struct api_store *s, redisReply *rep, const char *what, struct tj_error *err)
{
	freeReplyObject(rep);
	return tj_error_set(err, EIO, "the job store failed: redis %s:%u: unexpected reply to %s",
	                    rs(s)->host, rs(s)->port, what);
}

static void job_key(struct api_store *s, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", rs(s)->k_job, id);
}

/* ------------------------------------------------------------ URL */

/* redis://HOST[:PORT][/DB]; credentials belong in the config's username
 * and password(_file), never in the URL (which may be logged). */
static int parse_url(const char *url, struct redis_store *r, struct tj_error *err)
{
	const char *p = url + strlen("redis://"), *end;
	uint64_t v;
	char num[32];
	size_t n;

	if (strncmp(url, "redis://", 8) != 0)
		return tj_error_set(err, EINVAL, "store.url: want redis://HOST[:PORT][/DB]");
	if (strchr(p, '@'))
		return tj_error_set(
		    err, EINVAL,
		    "store.url: credentials go in store.username and store.password_file, not in the URL");
	r->port = 6379;
	r->db = 0;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return tj_error_set(err, EINVAL, "store.url: unclosed '[' in the host");
		n = (size_t)(end - p - 1);
		p++;
		end++;
	} else {
		end = p + strcspn(p, ":/");
		n = (size_t)(end - p);
	}
	if (n == 0 || n >= sizeof(r->host))
		return tj_error_set(err, EINVAL, "store.url: want redis://HOST[:PORT][/DB]");
	memcpy(r->host, p, n);
	r->host[n] = '\0';
	if (*end == ':') {
		n = strcspn(end + 1, "/");
		if (n == 0 || n >= sizeof(num))
			return tj_error_set(err, EINVAL, "store.url: the port must be a number 1..65535");
		memcpy(num, end + 1, n);
		num[n] = '\0';
		if (tj_parse_u64(num, 65535, &v) < 0 || v == 0)
			return tj_error_set(err, EINVAL, "store.url: the port must be a number 1..65535");
		r->port = (unsigned)v;
		end += 1 + n;
	}
	if (*end == '/' && end[1]) {
		if (tj_parse_u64(end + 1, 65535, &v) < 0)
			return tj_error_set(err, EINVAL, "store.url: the database must be a number");
		r->db = (unsigned)v;
	} else if (*end && strcmp(end, "/") != 0) {
		return tj_error_set(err, EINVAL, "store.url: want redis://HOST[:PORT][/DB]");
	}
	return 0;
}

/* ------------------------------------------------------------ ops */

static int redis_open(struct api_store *s, struct tj_error *err)
{
	struct redis_store *r = calloc(1, sizeof(*r));
	const char *pre = s->opt.prefix;

	if (!r)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (parse_url(s->opt.url, r, err) < 0) {
		free(r);
		return -1;
	}
	if (s->opt.username && !s->opt.password) {
		free(r);
		return tj_error_set(err, EINVAL,
		                    "store.username needs store.password or store.password_file");
	}
	pthread_mutex_init(&r->lock, NULL);
	snprintf(r->k_queue, KEY_MAX, "%s:queue", pre);
	snprintf(r->k_queued, KEY_MAX, "%s:queued", pre);
	snprintf(r->k_running, KEY_MAX, "%s:running", pre);
	snprintf(r->k_counts, KEY_MAX, "%s:counts", pre);
	snprintf(r->k_job, KEY_MAX, "%s:job:", pre);
	snprintf(r->cursor, sizeof(r->cursor), "0-0");
	s->priv = r;
	/* Reachable now, or the service does not start: a wrong URL or password
	 * is found at start-up, not at the first job. */
	pthread_mutex_lock(&r->lock);
	if (connect_store(s, err) < 0) {
		pthread_mutex_unlock(&r->lock);
		pthread_mutex_destroy(&r->lock);
		free(r);
		s->priv = NULL;
		return -1;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void redis_close(struct api_store *s)
{
	struct redis_store *r = rs(s);

	if (r->c)
		redisFree(r->c);
	pthread_mutex_destroy(&r->lock);
	free(r);
	s->priv = NULL;
}

static int redis_submit(struct api_store *s, const char *id, const char *request, const char *sha,
                        enum api_store_submit *out, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1];
	const char *keys[] = {key, r->k_queue, r->k_queued};
	const char *args[] = {id, sha, request};
	redisReply *rep;

	job_key(s, id, key, sizeof(key));
	if (eval_locked(s, lua_submit, 3, keys, 3, args, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 || rep->integer > 2)
		return bad_reply(s, rep, "submit", err);
	*out = rep->integer == 0   ? API_STORE_CREATED
	       : rep->integer == 1 ? API_STORE_EXISTS
	                           : API_STORE_CONFLICT;
	freeReplyObject(rep);
	return 0;
}

static const char *el_str(const redisReply *rep, size_t i)
{
	return i < rep->elements && rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : NULL;
}

static uint64_t el_u64(const redisReply *rep, size_t i)
{
	const char *s = el_str(rep, i);
	uint64_t v = 0;

	if (i < rep->elements && rep->element[i]->type == REDIS_REPLY_INTEGER)
		return rep->element[i]->integer > 0 ? (uint64_t)rep->element[i]->integer : 0;
	if (s && tj_parse_u64(s, UINT64_MAX, &v) < 0)
		v = 0;
	return v;
}

static int dup_el(const redisReply *rep, size_t i, char **out, struct tj_error *err)
{
	const char *s = el_str(rep, i);

	*out = NULL;
	if (s && !(*out = strdup(s)))
		return tj_error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int redis_get(struct api_store *s, const char *id, struct api_store_job *job, bool *found,
                     struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1];
	const char *argv[] = {"HMGET", key,      "state",   "request",  "sha",      "result",
	                      "host",  "queued", "started", "finished", "attempts", "cancel"};
	redisReply *rep;

	job_key(s, id, key, sizeof(key));
	pthread_mutex_lock(&r->lock);
	if (connect_store(s, err) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	rep = redisCommandArgv(r->c, 12, argv, NULL);
	if (!rep) {
		fail_unreachable(s, r->c->errstr[0] ? r->c->errstr : "connection lost", err);
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	pthread_mutex_unlock(&r->lock);
	if (rep->type == REDIS_REPLY_ERROR) {
		tj_error_set(err, transient(rep->str) ? EAGAIN : EIO,
		             "the job store failed: redis %s:%u: %.300s", r->host, r->port, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 10)
		return bad_reply(s, rep, "HMGET", err);
	if (!el_str(rep, 0) || api_store_state_parse(el_str(rep, 0), &job->state) < 0) {
		freeReplyObject(rep);
		return 0;
	}
	snprintf(job->id, sizeof(job->id), "%s", id);
	snprintf(job->body_sha256, sizeof(job->body_sha256), "%s", el_str(rep, 2) ? el_str(rep, 2) : "");
	job->queued_ms = el_u64(rep, 5);
	job->started_ms = el_u64(rep, 6);
	job->finished_ms = el_u64(rep, 7);
	job->attempts = (unsigned)el_u64(rep, 8);
	job->cancel_requested = el_u64(rep, 9) == 1;
	if (dup_el(rep, 1, &job->request, err) < 0 || dup_el(rep, 3, &job->result, err) < 0 ||
	    dup_el(rep, 4, &job->host, err) < 0) {
		api_store_job_free(job);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	*found = true;
	return 0;
}

static int redis_claim(struct api_store *s, struct api_store_claim *c, bool *got, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char lease[32], ttl[32];
	const char *keys[] = {r->k_queue, r->k_queue, r->k_queued, r->k_running, r->k_counts};
	const char *args[] = {s->opt.host_id, lease, r->cursor, r->k_job, ttl};
	redisReply *rep;
	int rc = 0;

	snprintf(lease, sizeof(lease), "%" PRIu64, s->opt.lease_ms);
	snprintf(ttl, sizeof(ttl), "%" PRIu64, s->opt.result_ttl_s);
	pthread_mutex_lock(&r->lock);
	if (eval(s, lua_claim, 5, keys, 5, args, &rep, err) < 0) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || (rep->elements != 1 && rep->elements != 6) || !el_str(rep, 0)) {
		pthread_mutex_unlock(&r->lock);
		return bad_reply(s, rep, "claim", err);
	}
	snprintf(r->cursor, sizeof(r->cursor), "%s", el_str(rep, 0));
	pthread_mutex_unlock(&r->lock);
	if (rep->elements == 6) {
		if (!el_str(rep, 1) || !el_str(rep, 2) || !el_str(rep, 4))
			return bad_reply(s, rep, "claim", err);
		snprintf(c->id, sizeof(c->id), "%s", el_str(rep, 1));
		c->attempts = (unsigned)el_u64(rep, 3);
		c->reclaimed = el_u64(rep, 5) == 1;
		if (dup_el(rep, 2, &c->request, err) < 0 || dup_el(rep, 4, &c->lease, err) < 0) {
			api_store_claim_free(c);
			rc = -1;
		} else {
			*got = true;
		}
	}
	freeReplyObject(rep);
	return rc;
}

static int redis_renew(struct api_store *s, const struct api_store_claim *c, enum api_store_renew *out,
                       struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1];
	const char *keys[] = {key, r->k_queue};
	const char *args[] = {s->opt.host_id, c->lease ? c->lease : ""};
	redisReply *rep;

	job_key(s, c->id, key, sizeof(key));
	if (eval_locked(s, lua_renew, 2, keys, 2, args, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 || rep->integer > 2)
		return bad_reply(s, rep, "renew", err);
	*out = rep->integer == 0   ? API_STORE_RENEWED
	       : rep->integer == 1 ? API_STORE_CANCELLED_BY_USER
	                           : API_STORE_LOST;
	freeReplyObject(rep);
	return 0;
}

static int redis_finish(struct api_store *s, const struct api_store_claim *c, enum api_store_state state,
                        const char *result, bool *written, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1], ttl[32];
	const char *keys[] = {key, r->k_queue, r->k_queued, r->k_running, r->k_counts};
	const char *args[] = {c->id, api_store_state_name(state), result ? result : "", s->opt.host_id, ttl};
	redisReply *rep;

	job_key(s, c->id, key, sizeof(key));
	snprintf(ttl, sizeof(ttl), "%" PRIu64, s->opt.result_ttl_s);
	if (eval_locked(s, lua_finish, 5, keys, 5, args, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER)
		return bad_reply(s, rep, "finish", err);
	*written = rep->integer == 1;
	freeReplyObject(rep);
	return 0;
}

static int redis_release(struct api_store *s, const struct api_store_claim *c, bool *released,
                         struct tj_error *err)
{
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1], lease[32], ttl[32];
	const char *keys[] = {key, r->k_queue, r->k_queued, r->k_running, r->k_counts};
	const char *args[] = {c->id, s->opt.host_id, c->lease ? c->lease : "", lease, ttl};
	redisReply *rep;

	job_key(s, c->id, key, sizeof(key));
	snprintf(lease, sizeof(lease), "%" PRIu64, s->opt.lease_ms);
	snprintf(ttl, sizeof(ttl), "%" PRIu64, s->opt.result_ttl_s);
	if (eval_locked(s, lua_release, 5, keys, 5, args, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER)
		return bad_reply(s, rep, "release", err);
	*released = rep->integer == 1;
	freeReplyObject(rep);
	return 0;
}

static int redis_cancel(struct api_store *s, const char *id, enum api_store_cancel *out, struct tj_error *err)
{
	static const enum api_store_cancel answers[] = {API_STORE_CANCEL_UNKNOWN, API_STORE_CANCEL_DONE,
	                                                API_STORE_CANCEL_REQUESTED, API_STORE_CANCEL_FINAL};
	struct redis_store *r = rs(s);
	char key[KEY_MAX + API_STORE_ID_MAX + 1], ttl[32];
	const char *keys[] = {key, r->k_queue, r->k_queued, r->k_running, r->k_counts};
	const char *args[] = {id, ttl};
	redisReply *rep;

	job_key(s, id, key, sizeof(key));
	snprintf(ttl, sizeof(ttl), "%" PRIu64, s->opt.result_ttl_s);
	if (eval_locked(s, lua_cancel, 5, keys, 2, args, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 || rep->integer > 3)
		return bad_reply(s, rep, "cancel", err);
	*out = answers[rep->integer];
	freeReplyObject(rep);
	return 0;
}

static int redis_stats(struct api_store *s, struct api_store_stats *st, struct tj_error *err)
{
	struct redis_store *r = rs(s);
	const char *keys[] = {r->k_queue, r->k_queue, r->k_queued, r->k_running, r->k_counts};
	redisReply *rep;

	if (eval_locked(s, lua_stats, 5, keys, 0, NULL, &rep, err) < 0)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 5)
		return bad_reply(s, rep, "stats", err);
	st->queued = el_u64(rep, 0);
	st->oldest_queued_age_ms = el_u64(rep, 1);
	st->running = el_u64(rep, 2);
	st->done = el_u64(rep, 3);
	st->cancelled = el_u64(rep, 4);
	freeReplyObject(rep);
	return 0;
}

static void redis_describe(const struct api_store *s, char *buf, size_t len)
{
	const struct redis_store *r = s->priv;

	snprintf(buf, len, "redis %s:%u db %u%s%s%s", r->host, r->port, r->db,
	         s->opt.username ? ", user " : "", s->opt.username ? s->opt.username : "",
	         s->opt.password ? ", password set" : "");
}

const struct api_store_ops api_store_redis_ops = {
    .scheme = "redis",
    .open = redis_open,
    .submit = redis_submit,
    .get = redis_get,
    .claim = redis_claim,
    .renew = redis_renew,
    .finish = redis_finish,
    .release = redis_release,
    .cancel = redis_cancel,
    .stats = redis_stats,
    .describe = redis_describe,
    .close = redis_close,
};
