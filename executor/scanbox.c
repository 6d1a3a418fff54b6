#include "executor/scanbox.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "runtime/sandbox.h"
#include "policy/scan.h"

ssize_t scanbox_inspect(const char *workspace, void *ctx, char *out, size_t max, struct tj_error *err)
{
	const struct job *j = ctx;
	struct tj_scan_result *scan = NULL;
	_cleanup_cjson_ cJSON *doc = NULL;
	cJSON *v, *locs;
	char *text = NULL;
	size_t len;

	if (tj_scan_dir_at(j->policy, workspace, j->req->workdir, &scan, err) < 0)
		return -1;
	doc = cJSON_CreateObject();
	v = doc ? cJSON_AddArrayToObject(doc, "violations") : NULL;
	for (size_t i = 0; v && i < scan->n; i++)
		cJSON_AddItemToArray(v, tj_violation_to_json(&scan->v[i]));
	/* where the blocks are, for the plan rules: [dir, address, file, line] */
	locs = doc ? cJSON_AddArrayToObject(doc, "locs") : NULL;
	for (size_t i = 0; locs && i < scan->n_locs; i++) {
		const struct tj_block_loc *l = &scan->locs[i];
		cJSON *e = cJSON_CreateArray();
		cJSON_AddItemToArray(e, cJSON_CreateString(l->dir ? l->dir : ""));
		cJSON_AddItemToArray(e, cJSON_CreateString(l->address ? l->address : ""));
		cJSON_AddItemToArray(e, cJSON_CreateString(l->file ? l->file : ""));
		cJSON_AddItemToArray(e, cJSON_CreateNumber(l->line));
		cJSON_AddItemToArray(locs, e);
	}
	tj_scan_result_free(scan);
	if (!v)
		return tj_error_set(err, ENOMEM, "out of memory");
	for (;;) {
		text = cJSON_PrintUnformatted(doc);
		if (!text)
			return tj_error_set(err, ENOMEM, "out of memory");
		len = strlen(text);
		if (len <= max || (cJSON_GetArraySize(v) == 0 && cJSON_GetArraySize(locs) == 0))
			break;
		/* the block locations go first, then the last violations (the
		 * list is sorted by file and line) */
		free(text);
		if (cJSON_GetArraySize(locs) > 0)
			cJSON_DeleteItemFromArray(locs, cJSON_GetArraySize(locs) - 1);
		else
			cJSON_DeleteItemFromArray(v, cJSON_GetArraySize(v) - 1);
		if (!cJSON_GetObjectItemCaseSensitive(doc, "truncated"))
			cJSON_AddTrueToObject(doc, "truncated");
	}
	if (len > max) {
		free(text);
		return tj_error_set(err, E2BIG, "the scan result does not fit in %zu bytes", max);
	}
	memcpy(out, text, len);
	free(text);
	return (ssize_t)len;
}

static bool is_string(const cJSON *o, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return v ? cJSON_IsString(v) && v->valuestring : !required;
}

/* One violation as the scan writes it: these keys and types, no others. */
static bool violation_ok(const cJSON *o)
{
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");
	const cJSON *sev = cJSON_GetObjectItemCaseSensitive(o, "severity");
	int keys = 0;

	if (!cJSON_IsObject(o) || !is_string(o, "rule", true) || !is_string(o, "file", true) ||
	    !is_string(o, "message", true) || !is_string(o, "reason", false) || !cJSON_IsString(sev) ||
	    (strcmp(sev->valuestring, "error") != 0 && strcmp(sev->valuestring, "warning") != 0) ||
	    !cJSON_IsNumber(line) || line->valuedouble < 0 || line->valuedouble > 1e9)
		return false;
	for (const cJSON *c = o->child; c; c = c->next)
		keys++;
	return keys == 5 + (cJSON_GetObjectItemCaseSensitive(o, "reason") ? 1 : 0);
}

static char *dup_field(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	return v ? strdup(v) : NULL;
}

struct tj_scan_result *scanbox_result(struct job *j, const char *bytes, size_t len)
{
	_cleanup_cjson_ cJSON *doc = NULL;
	const cJSON *violations;
	struct tj_scan_result *r;
	size_t n = 0;

	if (bytes && len <= SANDBOX_INSPECT_MAX && tj_json_valid(bytes, len, 5))
		doc = cJSON_ParseWithLength(bytes, len);
	violations = cJSON_GetObjectItemCaseSensitive(doc, "violations");
	if (!cJSON_IsArray(violations)) {
		job_outcome(j, "FAILED", "InternalError", "the sandbox returned no valid scan result");
		return NULL;
	}
	for (const cJSON *v = violations->child; v; v = v->next, n++)
		if (!violation_ok(v)) {
			job_outcome(j, "FAILED", "InternalError",
			            "the sandbox returned a malformed scan result");
			return NULL;
		}
	r = calloc(1, sizeof(*r));
	if (r && n)
		r->v = calloc(n, sizeof(*r->v));
	if (!r || (n && !r->v)) {
		free(r);
		job_outcome(j, "FAILED", "InternalError", "out of memory");
		return NULL;
	}
	for (const cJSON *v = violations->child; v; v = v->next) {
		struct tj_violation *t = &r->v[r->n++];
		t->rule = dup_field(v, "rule");
		t->severity = dup_field(v, "severity");
		t->file = dup_field(v, "file");
		t->message = dup_field(v, "message");
		t->reason = dup_field(v, "reason");
		t->line = (int)cJSON_GetObjectItemCaseSensitive(v, "line")->valuedouble;
		if (!t->rule || !t->severity || !t->file || !t->message) {
			tj_scan_result_free(r);
			job_outcome(j, "FAILED", "InternalError", "out of memory");
			return NULL;
		}
	}
	{
		const cJSON *locs = cJSON_GetObjectItemCaseSensitive(doc, "locs");
		size_t nl = (size_t)cJSON_GetArraySize(locs);
		if (cJSON_IsArray(locs) && nl > 0 && (r->locs = calloc(nl, sizeof(*r->locs)))) {
			for (const cJSON *e = locs->child; e; e = e->next) {
				const cJSON *line = cJSON_GetArrayItem(e, 3);
				struct tj_block_loc *l;
				if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 4 ||
				    !cJSON_IsString(cJSON_GetArrayItem(e, 0)) ||
				    !cJSON_IsString(cJSON_GetArrayItem(e, 1)) ||
				    !cJSON_IsString(cJSON_GetArrayItem(e, 2)) || !cJSON_IsNumber(line) ||
				    line->valuedouble < 0 || line->valuedouble > 1e9)
					break; /* the rest is not trusted: the plan rules go without it */
				l = &r->locs[r->n_locs++];
				l->dir = strdup(cJSON_GetArrayItem(e, 0)->valuestring);
				l->address = strdup(cJSON_GetArrayItem(e, 1)->valuestring);
				l->file = strdup(cJSON_GetArrayItem(e, 2)->valuestring);
				l->line = (int)line->valuedouble;
			}
		}
	}
	return r;
}
