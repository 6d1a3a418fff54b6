/* The ExecutionRequest of POST /api/v1/execute, and the bearer token check.
 * Pure functions: no I/O, unit-tested on their own. */
#ifndef TFJAIL_API_REQUEST_H
#define TFJAIL_API_REQUEST_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define API_ID_MAX 128

struct api_exec_request {
	char job_id[API_ID_MAX + 1];
	char upload_id[API_ID_MAX + 1];
	cJSON *variables;          /* {NAME: value}, owned; NULL = none */
};

/* Parses and validates a request body.  On error returns -1 with one
 * sentence for the 400 answer in msg. */
int api_request_parse(const char *body, size_t len, struct api_exec_request *out, char *msg, size_t msglen);
void api_request_free(struct api_exec_request *r);

/* Whether an Authorization header value is "Bearer <want>".  The time taken
 * depends only on the lengths, never on where the tokens differ. */
bool api_token_matches(const char *header, const char *want);

#endif
