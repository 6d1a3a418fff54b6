#include "api/config.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define CONFIG_FILE_MAX (1 << 20)
#define TOKEN_FILE_MAX  4096

static int set_str(char **dst, const char *v, struct tj_error *err)
{
	char *s = strdup(v);

	if (!s)
		return tj_error_set(err, ENOMEM, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

int api_config_defaults(struct api_config *c, struct tj_error *err)
{
	memset(c, 0, sizeof(*c));
	c->max_body_bytes = 1 << 20;
	c->max_concurrent_jobs = 2;
	c->queue_size = 8;
	c->shutdown_grace_s = 30;
	c->max_connections = 1024;
	c->max_connections_per_ip = 64;
	c->request_timeout_s = 30;
	c->http_threads = 2;
	c->max_variables = 256;
	c->max_json_depth = 32;
	if (api_store_options_defaults(&c->store, err) < 0)
		return -1;
	if (set_str(&c->listen, API_DEFAULT_LISTEN, err) < 0 ||
	    set_str(&c->uploads_dir, API_DEFAULT_UPLOADS_DIR, err) < 0) {
		api_config_free(c);
		return -1;
	}
	return 0;
}

void api_config_free(struct api_config *c)
{
	free(c->listen);
	free(c->uploads_dir);
	free(c->policy);
	free(c->path);
	free(c->terraform);
	free(c->plugin_dir);
	free(c->cgroup_parent);
	free(c->uid_range);
	api_store_options_free(&c->store);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	memset(c, 0, sizeof(*c));
}

int api_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, struct tj_error *err)
{
	const char *colon, *h = s;
	size_t n;
	uint64_t p;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return tj_error_set(err, EINVAL, "listen address '%s': want [IPV6]:PORT", s);
		h = s + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return tj_error_set(err, EINVAL, "listen address '%s': want HOST:PORT", s);
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= hostlen)
		return tj_error_set(err, EINVAL, "listen address '%s': want HOST:PORT", s);
	if (tj_parse_u64(colon + 1, 65535, &p) < 0)
		return tj_error_set(err, EINVAL, "listen address '%s': the port must be a number 0..65535",
		                    s);
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned)p;
	return 0;
}

/* One key of the file: its name, and how to read it into c. */
enum key_kind {
	KEY_STRING,
	KEY_PATH_OR_NULL,
	KEY_UINT,
	KEY_SIZE,
	KEY_TOKEN_FILE,
	KEY_BOOL,
	KEY_LOG_FORMAT,
	KEY_STORE
};

static const struct key {
	const char *name;
	enum key_kind kind;
	size_t off;
	uint64_t min, max;
} keys[] = {
    {"listen", KEY_STRING, offsetof(struct api_config, listen), 0, 0},
    {"uploads_dir", KEY_STRING, offsetof(struct api_config, uploads_dir), 0, 0},
    {"policy", KEY_PATH_OR_NULL, offsetof(struct api_config, policy), 0, 0},
    {"token", KEY_PATH_OR_NULL, offsetof(struct api_config, token), 0, 0},
    {"token_file", KEY_TOKEN_FILE, offsetof(struct api_config, token), 0, 0},
    {"max_body_bytes", KEY_SIZE, offsetof(struct api_config, max_body_bytes), 64, 256u << 20},
    {"max_concurrent_jobs", KEY_UINT, offsetof(struct api_config, max_concurrent_jobs), 1, 256},
    {"queue_size", KEY_UINT, offsetof(struct api_config, queue_size), 0, 4096},
    {"shutdown_grace", KEY_UINT, offsetof(struct api_config, shutdown_grace_s), 0, 3600},
    {"max_connections", KEY_UINT, offsetof(struct api_config, max_connections), 1, 100000},
    {"max_connections_per_ip", KEY_UINT, offsetof(struct api_config, max_connections_per_ip), 1, 100000},
    {"request_timeout", KEY_UINT, offsetof(struct api_config, request_timeout_s), 1, 3600},
    {"http_threads", KEY_UINT, offsetof(struct api_config, http_threads), 1, 64},
    {"max_variables", KEY_UINT, offsetof(struct api_config, max_variables), 0, 100000},
    {"max_json_depth", KEY_UINT, offsetof(struct api_config, max_json_depth), 2, 1000},
    {"log_format", KEY_LOG_FORMAT, offsetof(struct api_config, log_json), 0, 0},
    {"protect_metrics", KEY_BOOL, offsetof(struct api_config, protect_metrics), 0, 0},
    {"protect_openapi", KEY_BOOL, offsetof(struct api_config, protect_openapi), 0, 0},
    {"terraform", KEY_PATH_OR_NULL, offsetof(struct api_config, terraform), 0, 0},
    {"plugin_dir", KEY_PATH_OR_NULL, offsetof(struct api_config, plugin_dir), 0, 0},
    {"cgroup_parent", KEY_PATH_OR_NULL, offsetof(struct api_config, cgroup_parent), 0, 0},
    {"uid_range", KEY_PATH_OR_NULL, offsetof(struct api_config, uid_range), 0, 0},
    {"store", KEY_STORE, offsetof(struct api_config, store), 0, 0},
};

/* The token is the file's first line; a missing or empty one is an error. */
static int read_token_file(const char *label, const char *path, char **dst, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (tj_read_file(path, TOKEN_FILE_MAX, &text, &len, err) < 0)
		return tj_error_prefix(err, "%s: token_file", label);
	text[strcspn(text, "\r\n")] = '\0';
	if (!*text)
		return tj_error_set(err, EINVAL, "%s: token_file: %s holds no token", label, path);
	free(*dst);
	*dst = TJ_STEAL_PTR(text);
	return 0;
}

static int read_key(const char *label, const struct key *k, const cJSON *v, struct api_config *c,
                    struct tj_error *err)
{
	void *field = (char *)c + k->off;
	uint64_t n = 0;

	switch (k->kind) {
	case KEY_STORE: return api_store_options_load(v, label, (struct api_store_options *)field, err);
	case KEY_BOOL:
		if (!cJSON_IsBool(v))
			return tj_error_set(err, EINVAL, "%s: %s: want true or false", label, k->name);
		*(bool *)field = cJSON_IsTrue(v);
		return 0;
	case KEY_LOG_FORMAT:
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "text") && strcmp(v->valuestring, "json")))
			return tj_error_set(err, EINVAL, "%s: %s: want \"text\" or \"json\"", label, k->name);
		*(bool *)field = strcmp(v->valuestring, "json") == 0;
		return 0;
	case KEY_STRING:
	case KEY_PATH_OR_NULL:
	case KEY_TOKEN_FILE:
		if (k->kind != KEY_STRING && cJSON_IsNull(v))
			return 0;
		if (!cJSON_IsString(v) || !*v->valuestring)
			return tj_error_set(err, EINVAL, "%s: %s: want a non-empty string%s", label, k->name,
			                    k->kind == KEY_STRING ? "" : " or null");
		if (k->kind == KEY_TOKEN_FILE)
			return read_token_file(label, v->valuestring, (char **)field, err);
		if (strcmp(k->name, "listen") == 0) {
			char host[256];
			unsigned port;
			if (api_parse_listen(v->valuestring, host, sizeof(host), &port, err) < 0)
				return tj_error_prefix(err, "%s: %s", label, k->name);
		}
		return set_str((char **)field, v->valuestring, err);
	case KEY_SIZE:
		if (cJSON_IsString(v)) {
			if (tj_parse_size(v->valuestring, &n) < 0)
				return tj_error_set(err, EINVAL,
				                    "%s: %s: '%s' is not a size (e.g. 1048576, \"1MiB\")",
				                    label, k->name, v->valuestring);
			break;
		}
		/* fall through */
	case KEY_UINT:
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble != (double)(uint64_t)v->valuedouble)
			return tj_error_set(err, EINVAL, "%s: %s: want a whole number", label, k->name);
		n = (uint64_t)v->valuedouble;
		break;
	}
	if (n < k->min || n > k->max)
		return tj_error_set(err, ERANGE, "%s: %s: %llu is outside %llu..%llu", label, k->name,
		                    (unsigned long long)n, (unsigned long long)k->min,
		                    (unsigned long long)k->max);
	*(uint64_t *)field = n;
	return 0;
}

int api_config_print(const struct api_config *c, FILE *out, struct tj_error *err)
{
	_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
	_cleanup_free_ char *text = NULL;
	char range[32];

	if (!o)
		return tj_error_set(err, ENOMEM, "out of memory");
	snprintf(range, sizeof(range), "%u:%u",
	         c->host.uid_base ? c->host.uid_base : SANDBOX_DEFAULT_UID_BASE,
	         c->host.uid_slots ? c->host.uid_slots : SANDBOX_DEFAULT_UID_SLOTS);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		const char *v;
		cJSON *item;

		if (k->kind == KEY_TOKEN_FILE)
			continue; /* read into token */
		if (k->kind == KEY_UINT || k->kind == KEY_SIZE) {
			item = cJSON_CreateNumber((double)*(const uint64_t *)((const char *)c + k->off));
		} else if (k->kind == KEY_BOOL) {
			item = cJSON_CreateBool(*(const bool *)((const char *)c + k->off));
		} else if (k->kind == KEY_LOG_FORMAT) {
			item = cJSON_CreateString(c->log_json ? "json" : "text");
		} else {
			v = *(char *const *)((const char *)c + k->off);
			if (k->off == offsetof(struct api_config, token))
				v = v ? "(set)" : NULL;
			else if (k->off == offsetof(struct api_config, terraform))
				v = c->host.terraform;
			else if (k->off == offsetof(struct api_config, plugin_dir))
				v = c->host.plugin_dir;
			else if (k->off == offsetof(struct api_config, cgroup_parent))
				v = c->host.cgroup_parent;
			else if (k->off == offsetof(struct api_config, uid_range))
				v = range;
			item = v && *v ? cJSON_CreateString(v) : cJSON_CreateNull();
		}
		if (!item || !cJSON_AddItemToObject(o, k->name, item))
			return tj_error_set(err, ENOMEM, "out of memory");
	}
	text = cJSON_Print(o);
	if (!text)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (fprintf(out, "%s\n", text) < 0 || fflush(out) != 0)
		return tj_error_sys(err, "write the configuration");
	return 0;
}

int api_config_load_text(const char *text, const char *label, struct api_config *c, struct tj_error *err)
{
	cJSON *root = cJSON_Parse(text), *item;
	int ret = 0;

	if (!root)
		return tj_error_set(err, EINVAL, "%s: not valid JSON (near '%.20s')", label,
		                    cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tj_error_set(err, EINVAL, "%s: the configuration must be a JSON object", label);
	}
	if (cJSON_HasObjectItem(root, "token") && cJSON_HasObjectItem(root, "token_file") &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "token")) &&
	    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "token_file"))) {
		cJSON_Delete(root);
		return tj_error_set(err, EINVAL, "%s: token and token_file: give one of them", label);
	}
	cJSON_ArrayForEach (item, root) {
		const struct key *k = NULL;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(item->string, keys[i].name) == 0)
				k = &keys[i];
		if (!k) {
			ret = tj_error_set(err, EINVAL, "%s: %s: unknown key", label, item->string);
			break;
		}
		if (read_key(label, k, item, c, err) < 0) {
			ret = -1;
			break;
		}
	}
	cJSON_Delete(root);
	return ret;
}

int api_config_load(const char *path, struct api_config *c, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;

	if (tj_read_file(path, CONFIG_FILE_MAX, &text, NULL, err) < 0)
		return tj_error_prefix(err, "config");
	if (api_config_load_text(text, path, c, err) < 0)
		return -1;
	return set_str(&c->path, path, err);
}
