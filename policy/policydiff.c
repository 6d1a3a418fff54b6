/* Policy diff (see policydiff.h): both policies in their effective JSON
 * form (tj_policy_to_json), walked together; `directions` says for each key
 * which way a change goes.  Keys not in the table are "changes". */
#include "policy/policydiff.h"

#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

enum direction {
	D_NEUTRAL,         /* neither allows nor forbids: "changes" */
	D_ALLOWLIST,       /* an entry added allows */
	D_DENYLIST,        /* an entry added forbids */
	D_TRUE_ALLOWS,     /* a boolean switched on allows */
	D_MORE_ALLOWS,     /* a larger number (or size) allows; absent = no limit */
	D_SEVERITY,        /* {"severity": ...}: lower (error > warning > off) allows */
	D_ANY_WHEN_ABSENT, /* an allowlist whose absence allows everything */
};

/* clang-format off: one key per line */
static const struct {
	const char *path; /* fnmatch(3) pattern on the JSON path */
	enum direction d;
	const char *what; /* what an entry is, for messages */
} directions[] = {
    {"providers.allowed", D_ALLOWLIST, "provider"},
    {"data_sources.denied", D_DENYLIST, "data source type"},
    {"provisioners.denied", D_DENYLIST, "provisioner type"},
    {"modules.allow_local", D_TRUE_ALLOWS, "local module sources"},
    {"modules.allowed_sources", D_ALLOWLIST, "module source"},
    {"upload.*", D_MORE_ALLOWS, "upload limit"},
    {"scan.*", D_MORE_ALLOWS, "scanner limit"},
    {"limits.*", D_MORE_ALLOWS, "sandbox limit"},
    {"seccomp.deny", D_DENYLIST, "system call"},
    {"mounts.ro_binds", D_ALLOWLIST, "host path mounted read-only"},
    {"rules.*", D_SEVERITY, "rule"},
    {"suppressions", D_ALLOWLIST, "suppression"},
    {"plan_rules.resource_types.denied", D_DENYLIST, "resource type"},
    {"plan_rules.resource_types.allowed", D_ANY_WHEN_ABSENT, "resource type"},
    {"plan_rules.actions", D_DENYLIST, "denied action rule"},
    {"plan_rules.required_tags.keys", D_DENYLIST, "required tag"},
    {"plan_rules.max_changes.*", D_MORE_ALLOWS, "change limit"},
    {"plan_rules.data_sources.denied", D_DENYLIST, "data source type"},
};
/* clang-format on */

static const char *const severity_order[] = {"off", "warning", "error"};

struct diff {
	cJSON *out;
	bool oom;
};

static int find_direction(const char *path)
{
	for (size_t i = 0; i < sizeof(directions) / sizeof(directions[0]); i++)
		if (fnmatch(directions[i].path, path, 0) == 0)
			return (int)i;
	return -1;
}

static void emit(struct diff *d, const char *effect, const char *path, const cJSON *o, const cJSON *n,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void emit(struct diff *d, const char *effect, const char *path, const cJSON *o, const cJSON *n,
                 const char *fmt, ...)
{
	cJSON *e = cJSON_CreateObject();
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!e || !cJSON_AddItemToArray(d->out, e)) {
		cJSON_Delete(e);
		d->oom = true;
		return;
	}
	cJSON_AddStringToObject(e, "effect", effect);
	cJSON_AddStringToObject(e, "path", path);
	cJSON_AddItemToObject(e, "old", o ? cJSON_Duplicate(o, true) : cJSON_CreateNull());
	cJSON_AddItemToObject(e, "new", n ? cJSON_Duplicate(n, true) : cJSON_CreateNull());
	cJSON_AddStringToObject(e, "what", what);
}

static bool in_array(const cJSON *a, const cJSON *item)
{
	const cJSON *e;

	cJSON_ArrayForEach (e, a)
		if (cJSON_Compare(e, item, true))
			return true;
	return false;
}

/* Short text of a value for messages. */
static void brief(const cJSON *v, char *out, size_t n)
{
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	snprintf(out, n, "%s", s ? s : "(none)");
	free(s);
}

/* Entries added and removed. */
static void diff_list(struct diff *d, const char *path, const cJSON *o, const cJSON *n, bool added_allows,
                      const char *what)
{
	const cJSON *e;
	char s[600];

	cJSON_ArrayForEach (e, n)
		if (!in_array(o, e)) {
			brief(e, s, sizeof(s));
			emit(d, added_allows ? "allows" : "forbids", path, NULL, e, "%s %s added", what, s);
		}
	cJSON_ArrayForEach (e, o)
		if (!in_array(n, e)) {
			brief(e, s, sizeof(s));
			emit(d, added_allows ? "forbids" : "allows", path, e, NULL, "%s %s removed", what, s);
		}
}

/* A number or a size string as bytes/units; absent (NULL) = no limit. */
static double amount(const cJSON *v)
{
	uint64_t u;

	if (!v)
		return INFINITY;
	if (cJSON_IsNumber(v))
		return v->valuedouble;
	if (cJSON_IsString(v) && tj_parse_size(v->valuestring, &u) == 0)
		return (double)u;
	return NAN;
}

static int severity_rank(const cJSON *rule)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rule, "severity"));

	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, severity_order[i]) == 0)
			return i;
	return -1;
}

static void walk(struct diff *d, const char *path, const cJSON *o, const cJSON *n);

static void diff_value(struct diff *d, const char *path, const cJSON *o, const cJSON *n)
{
	int k = find_direction(path);
	char so[600], sn[600];

	if (o && n && cJSON_Compare(o, n, true))
		return;
	if (k < 0 && cJSON_IsObject(o ? o : n) && (!o || !n || cJSON_IsObject(o) == cJSON_IsObject(n))) {
		walk(d, path, o, n);
		return;
	}
	brief(o, so, sizeof(so));
	brief(n, sn, sizeof(sn));
	switch (k < 0 ? D_NEUTRAL : directions[k].d) {
	case D_ALLOWLIST:
	case D_DENYLIST: diff_list(d, path, o, n, directions[k].d == D_ALLOWLIST, directions[k].what); return;
	case D_ANY_WHEN_ABSENT:
		if (!o)
			emit(d, "forbids", path, o, n, "every %s but %s (there was no allowlist)",
			     directions[k].what, sn);
		else if (!n)
			emit(d, "allows", path, o, n, "every %s (the allowlist %s is gone)",
			     directions[k].what, so);
		else
			diff_list(d, path, o, n, true, directions[k].what);
		return;
	case D_TRUE_ALLOWS:
		emit(d, cJSON_IsTrue(n) ? "allows" : "forbids", path, o, n, "%s: %s -> %s",
		     directions[k].what, so, sn);
		return;
	case D_MORE_ALLOWS: {
		double a = amount(o), b = amount(n);
		if (a == b)
			return;
		emit(d,
		     isnan(a) || isnan(b) ? "changes"
		     : b > a              ? "allows"
		                          : "forbids",
		     path, o, n, "%s: %s -> %s", directions[k].what, o ? so : "no limit",
		     n ? sn : "no limit");
		return;
	}
	case D_SEVERITY: {
		int a = severity_rank(o), b = severity_rank(n);
		if (a == b)
			return; /* the rationale text alone */
		emit(d, b < a ? "allows" : "forbids", path,
		     o ? cJSON_GetObjectItemCaseSensitive(o, "severity") : NULL,
		     n ? cJSON_GetObjectItemCaseSensitive(n, "severity") : NULL, "%s %s: severity %s -> %s",
		     directions[k].what, path + 6, a >= 0 ? severity_order[a] : "(none)",
		     b >= 0 ? severity_order[b] : "(none)");
		return;
	}
	default: emit(d, "changes", path, o, n, "%s -> %s", so, sn);
	}
}

static void walk(struct diff *d, const char *path, const cJSON *o, const cJSON *n)
{
	const cJSON *e;
	char sub[512];

	cJSON_ArrayForEach (e, o) {
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", e->string);
		diff_value(d, sub, e, cJSON_GetObjectItemCaseSensitive(n, e->string));
	}
	cJSON_ArrayForEach (e, n)
		if (!cJSON_GetObjectItemCaseSensitive(o, e->string)) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", e->string);
			diff_value(d, sub, NULL, e);
		}
}

cJSON *tj_policy_diff(const struct tj_policy *old_p, const struct tj_policy *new_p)
{
	cJSON *o = tj_policy_to_json(old_p), *n = tj_policy_to_json(new_p);
	struct diff d = {.out = cJSON_CreateArray()};

	if (o && n && d.out)
		walk(&d, "", o, n);
	else
		d.oom = true;
	cJSON_Delete(o);
	cJSON_Delete(n);
	if (d.oom) {
		cJSON_Delete(d.out);
		return NULL;
	}
	return d.out;
}
