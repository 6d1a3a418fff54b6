/* The job store's front: the backend table, the "store" configuration
 * object, and the calls that go through the chosen backend's ops. */
#include "api/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define PASSWORD_FILE_MAX 4096

/* The backends, by URL scheme.  The embedded one also answers an absent URL. */
static const struct api_store_ops *const backends[] = {
    &api_store_embedded_ops,
    &api_store_redis_ops,
};

static const char *const state_names[] = {
    [API_STORE_QUEUED] = "QUEUED",
    [API_STORE_RUNNING] = "RUNNING",
    [API_STORE_DONE] = "DONE",
    [API_STORE_CANCELLED] = "CANCELLED",
};

const char *api_store_state_name(enum api_store_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int api_store_state_parse(const char *name, enum api_store_state *out)
{
	for (unsigned i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum api_store_state)i;
			return 0;
		}
	return -1;
}

uint64_t api_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ options */

static int set_str(char **dst, const char *v, struct tj_error *err)
{
	char *s = v ? strdup(v) : NULL;

	if (v && !s)
		return tj_error_set(err, ENOMEM, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

/* A key that always has a value: @v, or @dflt when unset. */
static int set_str_or(char **dst, const char *v, const char *dflt, struct tj_error *err)
{
	char *s = strdup(v ? v : dflt);

	if (!s) {
		tj_error_set(err, ENOMEM, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

static void free_secret(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

int api_store_options_defaults(struct api_store_options *o, struct tj_error *err)
{
	memset(o, 0, sizeof(*o));
	o->lease_ms = 30000;
	o->result_ttl_s = 86400;
	o->timeout_ms = 2000;
	if (set_str_or(&o->url, NULL, "embedded", err) < 0 ||
	    set_str_or(&o->prefix, NULL, "tfjail", err) < 0) {
		api_store_options_free(o);
		return -1;
	}
	return 0;
}

void api_store_options_free(struct api_store_options *o)
{
	free(o->url);
	free(o->username);
	free_secret(&o->password);
	free(o->host_id);
	free(o->prefix);
	memset(o, 0, sizeof(*o));
}

int api_store_options_copy(const struct api_store_options *from, struct api_store_options *to,
                           struct tj_error *err)
{
	*to = (struct api_store_options){
	    .lease_ms = from->lease_ms,
	    .result_ttl_s = from->result_ttl_s,
	    .timeout_ms = from->timeout_ms,
	};
	if (set_str_or(&to->url, from->url, "embedded", err) < 0 ||
	    set_str(&to->username, from->username, err) < 0 ||
	    set_str(&to->password, from->password, err) < 0 ||
	    set_str(&to->host_id, from->host_id, err) < 0 ||
	    set_str_or(&to->prefix, from->prefix, "tfjail", err) < 0) {
		api_store_options_free(to);
		return -1;
	}
	return 0;
}

/* The keys of the "store" object: what each is, and its bounds. */
enum opt_kind { OPT_STRING, OPT_SECRET_FILE, OPT_SECONDS_MS, OPT_SECONDS, OPT_MS };
static const struct {
	const char *key;
	enum opt_kind kind;
	size_t offset;
	uint64_t min, max;
} store_keys[] = {
    {"url", OPT_STRING, offsetof(struct api_store_options, url), 0, 0},
    {"username", OPT_STRING, offsetof(struct api_store_options, username), 0, 0},
    {"password", OPT_STRING, offsetof(struct api_store_options, password), 0, 0},
    {"password_file", OPT_SECRET_FILE, offsetof(struct api_store_options, password), 0, 0},
    {"host_id", OPT_STRING, offsetof(struct api_store_options, host_id), 0, 0},
    {"prefix", OPT_STRING, offsetof(struct api_store_options, prefix), 0, 0},
    /* a lease shorter than a second cannot be renewed in time */
    {"lease_seconds", OPT_SECONDS_MS, offsetof(struct api_store_options, lease_ms), 1, 3600},
    {"result_ttl_seconds", OPT_SECONDS, offsetof(struct api_store_options, result_ttl_s), 1, 90 * 86400},
    {"timeout_ms", OPT_MS, offsetof(struct api_store_options, timeout_ms), 10, 60000},
};

static int read_secret_file(const char *path, char **out, const char *label, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (tj_read_file(path, PASSWORD_FILE_MAX, &text, &len, err) < 0)
		return tj_error_prefix(err, "%s: store.password_file", label);
	text[strcspn(text, "\r\n")] = '\0';
	if (!text[0]) {
		explicit_bzero(text, len);
		return tj_error_set(err, EINVAL, "%s: store.password_file: '%s' holds no password", label,
		                    path);
	}
	free_secret(out);
	*out = TJ_STEAL_PTR(text);
	return 0;
}

static int load_key(const cJSON *item, unsigned k, const char *label, struct api_store_options *o,
                    struct tj_error *err)
{
	char *base = (char *)o;
	const char *key = store_keys[k].key;

	if (store_keys[k].kind == OPT_STRING || store_keys[k].kind == OPT_SECRET_FILE) {
		char **dst = (char **)(void *)(base + store_keys[k].offset);
		if (!cJSON_IsString(item) || !item->valuestring[0])
			return tj_error_set(err, EINVAL, "%s: store.%s: want a non-empty string", label, key);
		if (store_keys[k].kind == OPT_SECRET_FILE)
			return read_secret_file(item->valuestring, dst, label, err);
		if (dst == &o->password)
			free_secret(dst);
		return set_str(dst, item->valuestring, err);
	}
	{
		uint64_t *dst = (uint64_t *)(void *)(base + store_keys[k].offset);
		double v = cJSON_GetNumberValue(item);
		if (!cJSON_IsNumber(item) || v != (double)(uint64_t)v || v < (double)store_keys[k].min ||
		    v > (double)store_keys[k].max)
			return tj_error_set(err, EINVAL, "%s: store.%s: want an integer %llu..%llu", label,
			                    key, (unsigned long long)store_keys[k].min,
			                    (unsigned long long)store_keys[k].max);
		*dst = (uint64_t)v * (store_keys[k].kind == OPT_SECONDS_MS ? 1000 : 1);
	}
	return 0;
}

int api_store_options_load(const cJSON *obj, const char *label, struct api_store_options *o,
                           struct tj_error *err)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return tj_error_set(err, EINVAL, "%s: store: want an object", label);
	cJSON_ArrayForEach (item, obj) {
		unsigned k = 0, n = sizeof(store_keys) / sizeof(store_keys[0]);
		while (k < n && strcmp(store_keys[k].key, item->string) != 0)
			k++;
		if (k == n)
			return tj_error_set(err, EINVAL, "%s: store.%s: unknown key", label, item->string);
		if (load_key(item, k, label, o, err) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the store */

static const struct api_store_ops *backend_for(const char *url)
{
	if (!url)
		return NULL;
	for (unsigned i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		size_t n = strlen(backends[i]->scheme);
		if (strncmp(url, backends[i]->scheme, n) == 0 && (url[n] == '\0' || url[n] == ':'))
			return backends[i];
	}
	return NULL;
}

int api_store_open(const struct api_store_options *o, struct api_store **out, struct tj_error *err)
{
	struct api_store *s = calloc(1, sizeof(*s));
	char host[256];

	if (!s)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (api_store_options_copy(o, &s->opt, err) < 0) {
		free(s);
		return -1;
	}
	s->ops = backend_for(s->opt.url);
	if (s->opt.url && strncmp(s->opt.url, "rediss:", 7) == 0) {
		/* hiredis speaks TLS from 1.0 on (hiredis_ssl); Debian 12 ships 0.14 */
		tj_error_set(
		    err, ENOTSUP,
		    "store.url: TLS to Redis (rediss://) is not supported by this build's hiredis; "
		    "reach Redis over a private network or a local TLS tunnel (stunnel) at redis://");
		api_store_options_free(&s->opt);
		free(s);
		return -1;
	}
	if (!s->ops) {
		/* The URL itself may hold a secret: name the scheme only. */
		tj_error_set(err, EINVAL, "store.url: unknown scheme '%.*s' (want embedded or redis://)",
		             (int)strcspn(s->opt.url ? s->opt.url : "", ":/@"), s->opt.url ? s->opt.url : "");
		api_store_options_free(&s->opt);
		free(s);
		return -1;
	}
	if (!s->opt.host_id) {
		char id[300];
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(id, sizeof(id), "%s:%d", host, (int)getpid());
		if (set_str(&s->opt.host_id, id, err) < 0) {
			api_store_options_free(&s->opt);
			free(s);
			return -1;
		}
	}
	if (s->ops->open(s, err) < 0) {
		api_store_options_free(&s->opt);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void api_store_close(struct api_store *s)
{
	if (!s)
		return;
	s->ops->close(s);
	api_store_options_free(&s->opt);
	free(s);
}

void api_store_describe(const struct api_store *s, char *buf, size_t len)
{
	s->ops->describe(s, buf, len);
}

void api_store_job_free(struct api_store_job *j)
{
	free(j->request);
	free(j->result);
	free(j->host);
	j->request = j->result = j->host = NULL;
}

void api_store_claim_free(struct api_store_claim *c)
{
	free(c->request);
	free(c->lease);
	c->request = c->lease = NULL;
}

static int check_id(const char *id, struct tj_error *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > API_STORE_ID_MAX)
		return tj_error_set(err, EINVAL, "job id: want 1..%d characters", API_STORE_ID_MAX);
	return 0;
}

int api_store_submit(struct api_store *s, const char *id, const char *request, enum api_store_submit *out,
                     struct tj_error *err)
{
	char sha[65];

	if (check_id(id, err) < 0)
		return -1;
	tj_sha256_hex(request, strlen(request), sha);
	return s->ops->submit(s, id, request, sha, out, err);
}

int api_store_get(struct api_store *s, const char *id, struct api_store_job *job, bool *found,
                  struct tj_error *err)
{
	memset(job, 0, sizeof(*job));
	*found = false;
	if (check_id(id, err) < 0)
		return -1;
	return s->ops->get(s, id, job, found, err);
}

int api_store_claim(struct api_store *s, struct api_store_claim *c, bool *got, struct tj_error *err)
{
	memset(c, 0, sizeof(*c));
	*got = false;
	return s->ops->claim(s, c, got, err);
}

int api_store_renew(struct api_store *s, const struct api_store_claim *c, enum api_store_renew *out,
                    struct tj_error *err)
{
	return s->ops->renew(s, c, out, err);
}

int api_store_finish(struct api_store *s, const struct api_store_claim *c, enum api_store_state state,
                     const char *result, bool *written, struct tj_error *err)
{
	*written = false;
	if (state != API_STORE_DONE && state != API_STORE_CANCELLED)
		return tj_error_set(err, EINVAL, "finish: %s is not a final state",
		                    api_store_state_name(state));
	return s->ops->finish(s, c, state, result, written, err);
}

int api_store_release(struct api_store *s, const struct api_store_claim *c, bool *released,
                      struct tj_error *err)
{
	*released = false;
	return s->ops->release(s, c, released, err);
}

int api_store_cancel(struct api_store *s, const char *id, enum api_store_cancel *out, struct tj_error *err)
{
	if (check_id(id, err) < 0)
		return -1;
	return s->ops->cancel(s, id, out, err);
}

int api_store_stats(struct api_store *s, struct api_store_stats *st, struct tj_error *err)
{
	memset(st, 0, sizeof(*st));
	return s->ops->stats(s, st, err);
}
