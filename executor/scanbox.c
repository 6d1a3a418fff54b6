#include "executor/scanbox.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "executor/lockfile.h"
#include "executor/modules.h"
#include "executor/sandboxpaths.h"
#include "runtime/sandbox.h"
#include "policy/scan.h"

/* The module tree resolved against the mirror (bound read-only at
 * MODULES_MIRROR_DIR when the policy names one), the mirrored packages
 * scanned (*mscan) and terraform's manifest written to the data directory:
 * {"mirrored": N} | {"unresolved": why} | {"failed": why}, or nothing when
 * every module is local. */
static int inspect_modules(const struct job *j, int wsfd, cJSON *doc, struct tj_scan_result **mscan)
{
	const char *policy_mirror = j->policy->module_mirror ? j->policy->module_mirror : "";
	struct modules_plan *mp = NULL;
	struct tj_error e = {0};
	char why[TJ_ERROR_MSG_MAX];
	cJSON *m;
	enum modules_outcome oc =
	    modules_resolve(*policy_mirror ? MODULES_MIRROR_DIR : "", wsfd, j->req->workdir, &mp, &e);

	if (oc == MODULES_RESOLVED && mp->n_pkg == 0) {
		modules_plan_free(mp);
		return 0;
	}
	if (oc == MODULES_RESOLVED &&
	    (modules_scan(j->policy, mp, mscan, &e) < 0 || modules_write_manifest(mp, SB_DATA_DIR, &e) < 0))
		oc = MODULES_FAILED;
	if (!(m = cJSON_AddObjectToObject(doc, "modules"))) {
		modules_plan_free(mp);
		return -1;
	}
	if (oc == MODULES_RESOLVED)
		cJSON_AddNumberToObject(m, "mirrored", (double)mp->n_pkg);
	else if (oc == MODULES_INVALID)
		cJSON_AddStringToObject(m, "unresolved", e.msg);
	else {
		/* named by the policy's path, which the operator knows */
		snprintf(why, sizeof(why), "module mirror %.300s: %s", policy_mirror, e.msg);
		cJSON_AddStringToObject(m, "failed", why);
	}
	modules_plan_free(mp);
	return 0;
}

/* The lock file terraform will read, if the policy honours it:
 * {"valid": bool, "entries": [[address, version, checksum kinds]...]}. */
static int inspect_lock(const struct job *j, int wsfd, cJSON *doc, struct tj_error *err)
{
	_cleanup_free_ struct lockfile_summary *sum = NULL;
	cJSON *l, *entries;
	int rc;

	if (j->policy->providers.lock_file != TJ_LOCK_FILE_HONOR)
		return 0;
	if (!(sum = malloc(sizeof(*sum))))
		return tj_error_set(err, ENOMEM, "out of memory");
	if ((rc = lockfile_read(wsfd, j->req->workdir, sum, err)) <= 0)
		return rc;
	l = cJSON_AddObjectToObject(doc, "lock");
	entries = l ? cJSON_AddArrayToObject(l, "entries") : NULL;
	if (!entries)
		return tj_error_set(err, ENOMEM, "out of memory");
	cJSON_AddBoolToObject(l, "valid", sum->valid);
	for (size_t i = 0; i < sum->n; i++) {
		const char *f[3] = {sum->e[i].addr, sum->e[i].version, sum->e[i].kinds};
		cJSON *e = cJSON_CreateStringArray(f, 3);
		if (!e || !cJSON_AddItemToArray(entries, e))
			return tj_error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

ssize_t scanbox_inspect(const char *workspace, void *ctx, char *out, size_t max, struct tj_error *err)
{
	const struct job *j = ctx;
	struct tj_scan_result *scan = NULL, *mscan = NULL;
	_cleanup_cjson_ cJSON *doc = NULL;
	_cleanup_close_ int wsfd = -1;
	cJSON *v, *locs;
	char *text = NULL;
	size_t len;
	int rc = 0;

	if (tj_scan_dir_at(j->policy, workspace, j->req->workdir, &scan, err) < 0)
		return -1;
	doc = cJSON_CreateObject();
	v = doc ? cJSON_AddArrayToObject(doc, "violations") : NULL;
	/* the modules and the lock file only of the copy terraform will read,
	 * not of an upload that could not be copied */
	if (v && strcmp(workspace, SB_WORKSPACE) == 0) {
		wsfd = open(workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (wsfd < 0)
			rc = tj_error_sys(err, "open %s", workspace);
		if (rc == 0 && inspect_modules(j, wsfd, doc, &mscan) < 0)
			rc = tj_error_set(err, ENOMEM, "out of memory");
		if (rc == 0)
			rc = inspect_lock(j, wsfd, doc, err);
	}
	/* the mirrored modules' findings first, then the upload's */
	for (size_t i = 0; v && mscan && i < mscan->n; i++)
		cJSON_AddItemToArray(v, tj_violation_to_json(&mscan->v[i]));
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
	tj_scan_result_free(mscan);
	if (rc < 0)
		return -1;
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

static int count_keys(const cJSON *o)
{
	int n = 0;

	for (const cJSON *c = o ? o->child : NULL; c; c = c->next)
		n++;
	return n;
}

/* A message of the worker: a string that fits a tj_error, or NULL. */
static const char *message(const cJSON *o, const char *key)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	return m && *m && strlen(m) < TJ_ERROR_MSG_MAX ? m : NULL;
}

/* {"mirrored": 1..MODULES_MAX_PACKAGES} | {"unresolved": m} | {"failed": m} */
static bool take_modules(struct job *j, const cJSON *m)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "mirrored");
	const char *msg;

	if (!m)
		return true;
	if (!cJSON_IsObject(m) || count_keys(m) != 1)
		return false;
	if (n)
		return (j->mirrored_modules = cJSON_IsNumber(n) && n->valuedouble >= 1 &&
		                              n->valuedouble <= MODULES_MAX_PACKAGES);
	if ((msg = message(m, "unresolved")))
		return (j->modules_unresolved = strdup(msg)) != NULL;
	if ((msg = message(m, "failed")))
		return (j->modules_failed = strdup(msg)) != NULL;
	return false;
}

/* {"valid": bool, "entries": [[address, version, kinds]...]}, each entry
 * what the parser gives for a valid lock file, none when not valid. */
static bool take_lock(struct job *j, const cJSON *l)
{
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(l, "valid");
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(l, "entries");
	struct lockfile_summary *sum;

	if (!l)
		return true;
	if (!cJSON_IsObject(l) || count_keys(l) != 2 || !cJSON_IsBool(valid) || !cJSON_IsArray(entries) ||
	    cJSON_GetArraySize(entries) > LOCKFILE_MAX_ENTRIES ||
	    (!cJSON_IsTrue(valid) && cJSON_GetArraySize(entries) > 0) || !(sum = calloc(1, sizeof(*sum))))
		return false;
	sum->valid = cJSON_IsTrue(valid);
	for (const cJSON *e = entries->child; e; e = e->next) {
		struct lockfile_entry *t = &sum->e[sum->n++];
		const char *f[3];
		for (int i = 0; i < 3; i++)
			f[i] = cJSON_GetStringValue(cJSON_GetArrayItem(e, i));
		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 3 || !f[0] || !f[1] || !f[2] ||
		    strlen(f[0]) >= sizeof(t->addr) || strlen(f[1]) >= sizeof(t->version) ||
		    strlen(f[2]) >= sizeof(t->kinds)) {
			free(sum);
			return false;
		}
		snprintf(t->addr, sizeof(t->addr), "%s", f[0]);
		snprintf(t->version, sizeof(t->version), "%s", f[1]);
		snprintf(t->kinds, sizeof(t->kinds), "%s", f[2]);
		if (!lockfile_entry_ok(t)) {
			free(sum);
			return false;
		}
	}
	j->lock = sum;
	return true;
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
	if (!take_modules(j, cJSON_GetObjectItemCaseSensitive(doc, "modules")) ||
	    !take_lock(j, cJSON_GetObjectItemCaseSensitive(doc, "lock"))) {
		job_outcome(j, "FAILED", "InternalError", "the sandbox returned a malformed scan result");
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
