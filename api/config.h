/* The service's configuration: one JSON file, read with cJSON and validated
 * on load (unknown keys, wrong types and out-of-range values are errors that
 * name the file and the JSON path).  Every key has a default; flags given
 * to `tfjail serve` override the file. */
#ifndef TFJAIL_API_CONFIG_H
#define TFJAIL_API_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "api/store.h"
#include "common/error.h"
#include "executor/job.h"

#define API_DEFAULT_LISTEN      "127.0.0.1:8001"
#define API_DEFAULT_UPLOADS_DIR "/var/lib/tfjail/uploads"

struct api_config {
	char *listen;            /* "HOST:PORT" ("[::1]:8001" for IPv6) */
	char *uploads_dir;       /* the gateway's upload volume, read only */
	char *policy;            /* policy file; NULL = the built-in default */
	char *token;             /* bearer token; NULL = no authentication */
	uint64_t max_body_bytes; /* request bodies larger than this are 413 */
	uint64_t max_concurrent_jobs;
	uint64_t queue_size;       /* jobs waiting beyond the running ones; more are 429 */
	uint64_t shutdown_grace_s; /* running jobs may finish for this long on SIGTERM */
	uint64_t max_connections;  /* open HTTP connections */
	uint64_t max_connections_per_ip;
	uint64_t request_timeout_s; /* a request's headers and body arrive within this */
	uint64_t http_threads;      /* threads serving HTTP (none ever waits for a job) */
	uint64_t max_variables;     /* names in an ExecutionRequest's variables */
	uint64_t max_json_depth;    /* nesting of the request body */
	bool log_json;              /* log_format "json": one JSON object per line */
	bool protect_metrics;       /* /metrics needs the token too */
	bool protect_openapi;       /* /openapi.json needs the token too */
	char *path;                 /* the file last loaded (SIGHUP reads it again); NULL = none */
	/* host settings as the file gives them (NULL = found or default) */
	char *terraform, *plugin_dir, *cgroup_parent, *uid_range;
	/* the effective host settings, filled by the caller from the above and
	 * the environment overrides (cli/settings.c) */
	struct job_host host;
	struct api_store_options store; /* "store": the job store (api/store.h) */
};

/* Fills every key with its default. */
int api_config_defaults(struct api_config *c, struct tj_error *err);
/* Reads and validates a config file over the values already in c.  The token
 * may come from "token" or "token_file" (its first line). */
int api_config_load(const char *path, struct api_config *c, struct tj_error *err);
/* Same from memory; label names the source in messages. */
int api_config_load_text(const char *text, const char *label, struct api_config *c, struct tj_error *err);
void api_config_free(struct api_config *c);
/* The effective configuration as JSON, every key of the file with its value
 * (the host settings as in c->host, the token shown only as set or null). */
int api_config_print(const struct api_config *c, FILE *out, struct tj_error *err);

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port (0..65535). */
int api_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, struct tj_error *err);

#endif
