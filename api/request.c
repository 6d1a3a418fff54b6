#include "api/request.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/jsoncheck.h"
#include "common/utf8.h"
#include "executor/job.h"
#include "rootfs/rootfs.h"

static int bad(char *msg, size_t msglen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	/* never cut a character in half */
	msg[tj_utf8_cut(msg, strlen(msg), msglen - 1)] = '\0';
	return -1;
}

static const struct tj_json_member *member(const struct tj_json_doc *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (!d->m[i].key_truncated && strcmp(d->m[i].key, key) == 0)
			return &d->m[i];
	return NULL;
}

/* A string member, already validated (no NUL): copied to out. */
static int read_string(const cJSON *root, const char *key, char *out, size_t outlen, char *msg, size_t msglen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!cJSON_IsString(v))
		return bad(msg, msglen, "%s must be a string", key);
	if (strlen(v->valuestring) >= outlen)
		return bad(msg, msglen, "%s is longer than %zu bytes", key, outlen - 1);
	snprintf(out, outlen, "%s", v->valuestring);
	return 0;
}

struct tj_json_opts api_request_json_opts(unsigned max_depth)
{
	return (struct tj_json_opts){.max_depth = max_depth + 1,
	                             .depth_counts_values = true,
	                             .utf8 = true,
	                             .paired_surrogates = true,
	                             .unique_keys = true,
	                             .no_nul_keys = true,
	                             .no_nul_strings = true,
	                             .nul_ok_in = "variables",
	                             .words = TJ_JSON_WORDS_REQUEST};
}

int api_request_parse(const char *body, size_t len, const struct api_request_limits *lim,
                      struct api_exec_request *out, char *msg, size_t msglen)
{
	static const char *const known[] = {"job_id", "upload_id", "variables", "working_dir"};
	const struct tj_json_opts strict = api_request_json_opts(lim->max_depth);
	struct tj_json_doc doc;
	struct tj_error err;
	const struct tj_json_member *vars, *wd;
	cJSON *root;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return bad(msg, msglen, "the request body is empty (want an ExecutionRequest JSON object)");
	/* strictly first: what cJSON would accept leniently never gets there */
	if (tj_json_check(body, len, &strict, &doc, &err) < 0) {
		snprintf(msg, msglen, "the request body is not valid: %s", err.msg);
		return -1;
	}
	if (doc.type != TJ_JSON_OBJECT)
		return bad(msg, msglen, "the request body must be a JSON object");
	for (size_t i = 0; i < doc.n; i++) {
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok = ok || (!doc.m[i].key_truncated && strcmp(doc.m[i].key, known[k]) == 0);
		if (!ok)
			return bad(msg, msglen,
			           "unknown key '%s%s' (want job_id, upload_id, variables, working_dir)",
			           doc.m[i].key, doc.m[i].key_truncated ? "..." : "");
	}
	if (!member(&doc, "job_id"))
		return bad(msg, msglen, "job_id is missing");
	if (!member(&doc, "upload_id"))
		return bad(msg, msglen, "upload_id is missing");
	vars = member(&doc, "variables");
	if (vars && vars->type != TJ_JSON_NULL) {
		if (vars->type != TJ_JSON_OBJECT)
			return bad(msg, msglen, "variables must be an object of NAME: value");
		if (vars->n_members > lim->max_variables)
			return bad(msg, msglen, "variables has %zu names; at most %u are accepted",
			           vars->n_members, lim->max_variables);
		out->variables_json = body + vars->start;
		out->variables_json_len = vars->end - vars->start;
		out->n_variables = vars->n_members;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!root)
		return bad(msg, msglen, "the request body could not be read");
	if (read_string(root, "job_id", out->job_id, sizeof(out->job_id), msg, msglen) < 0 ||
	    read_string(root, "upload_id", out->upload_id, sizeof(out->upload_id), msg, msglen) < 0) {
		rc = -1;
	} else if (!job_id_valid(out->job_id) || !job_id_valid(out->upload_id)) {
		rc = bad(msg, msglen, "%s must be 1-128 characters of [A-Za-z0-9._-] and not '.' or '..'",
		         job_id_valid(out->job_id) ? "upload_id" : "job_id");
	} else if ((wd = member(&doc, "working_dir")) && wd->type != TJ_JSON_NULL) {
		char abs[API_WORKDIR_MAX + 2];
		if (read_string(root, "working_dir", out->working_dir, sizeof(out->working_dir), msg,
		                msglen) < 0) {
			rc = -1;
		} else {
			snprintf(abs, sizeof(abs), "/%s", out->working_dir);
			if (!*out->working_dir || !rootfs_path_is_clean(abs))
				rc = bad(msg, msglen,
				         "working_dir must be a relative path inside the upload without '.', "
				         "'..' or "
				         "empty parts");
		}
	}
	cJSON_Delete(root);
	return rc;
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

bool api_request_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char c = id[n];
		if (n >= 128 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return n > 0;
}
