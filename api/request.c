#include "api/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "executor/job.h"

static int bad(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

/* job_id and upload_id: required strings that are valid IDs. */
static int read_id(const cJSON *root, const char *key, char out[API_ID_MAX + 1], char *msg, size_t msglen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!v)
		return bad(msg, msglen, "%s is missing", key);
	if (!cJSON_IsString(v))
		return bad(msg, msglen, "%s must be a string", key);
	if (!job_id_valid(v->valuestring))
		return bad(msg, msglen, "%s must be 1-128 characters of [A-Za-z0-9._-] and not '.' or '..'", key);
	snprintf(out, API_ID_MAX + 1, "%s", v->valuestring);
	return 0;
}

int api_request_parse(const char *body, size_t len, struct api_exec_request *out, char *msg, size_t msglen)
{
	cJSON *root, *item, *vars;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return bad(msg, msglen, "the request body is empty (want an ExecutionRequest JSON object)");
	if (memchr(body, '\0', len))
		return bad(msg, msglen, "the request body contains a NUL byte");
	root = cJSON_ParseWithLength(body, len);
	if (!root)
		return bad(msg, msglen, "the request body is not valid JSON");
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return bad(msg, msglen, "the request body must be a JSON object");
	}
	cJSON_ArrayForEach(item, root) {
		if (strcmp(item->string, "job_id") != 0 && strcmp(item->string, "upload_id") != 0 &&
		    strcmp(item->string, "variables") != 0) {
			bad(msg, msglen, "unknown key '%.64s' (want job_id, upload_id, variables)", item->string);
			cJSON_Delete(root);
			return -1;
		}
	}
	if (read_id(root, "job_id", out->job_id, msg, msglen) < 0 ||
	    read_id(root, "upload_id", out->upload_id, msg, msglen) < 0) {
		cJSON_Delete(root);
		return -1;
	}
	vars = cJSON_GetObjectItemCaseSensitive(root, "variables");
	if (vars && !cJSON_IsNull(vars)) {
		if (!cJSON_IsObject(vars)) {
			cJSON_Delete(root);
			return bad(msg, msglen, "variables must be an object of NAME: value");
		}
		out->variables = cJSON_DetachItemViaPointer(root, vars);
	}
	cJSON_Delete(root);
	return 0;
}

void api_request_free(struct api_exec_request *r)
{
	cJSON_Delete(r->variables);
	r->variables = NULL;
}

bool api_token_matches(const char *header, const char *want)
{
	size_t hlen, wlen = strlen(want);
	unsigned char diff = 0;

	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	hlen = strlen(header);
	/* compare every byte of want whatever the given length */
	for (size_t i = 0; i < wlen; i++)
		diff |= (unsigned char)want[i] ^ (unsigned char)(i < hlen ? header[i] : 0);
	return diff == 0 && hlen == wlen;
}
