/* The ExecutionRequest of POST /api/v1/execute, and the bearer token check.
 * Pure functions: no I/O, unit-tested on their own. */
#ifndef TFJAIL_API_REQUEST_H
#define TFJAIL_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/jsoncheck.h"

#define API_ID_MAX      128
#define API_WORKDIR_MAX 1024

struct api_request_limits {
	unsigned max_variables;
	unsigned max_depth;
};

struct api_exec_request {
	char job_id[API_ID_MAX + 1];
	char upload_id[API_ID_MAX + 1];
	char working_dir[API_WORKDIR_MAX + 1]; /* "" = the upload's root */
	const char *variables_json;            /* the "variables" object's bytes in the body; NULL = none */
	size_t variables_json_len;
	size_t n_variables;
};

/* How strictly a body is checked (common/jsoncheck.h): RFC 8259 and more,
 * linear in its length: UTF-8 only, no lone surrogate escapes, no duplicate
 * keys at any level, no NUL in keys nor in the request's own strings (the
 * variables' strings may hold one), max_depth levels below the body's own. */
struct tj_json_opts api_request_json_opts(unsigned max_depth);

/* Validates a request body strictly (common/jsoncheck.h) and reads it.  The
 * request points into body.  On error returns -1 with one sentence (valid
 * UTF-8) for the 400 answer in msg. */
int api_request_parse(const char *body, size_t len, const struct api_request_limits *lim,
                      struct api_exec_request *out, char *msg, size_t msglen);

/* Whether an Authorization header value is "Bearer <want>".  The time taken
 * depends only on the lengths, never on where the tokens differ. */
bool api_token_matches(const char *header, const char *want);

/* Whether an X-Request-Id is usable as given: 1-128 of [A-Za-z0-9._:-]. */
bool api_request_id_valid(const char *id);

#endif
