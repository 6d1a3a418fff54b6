/* The plan_rules section: a small vocabulary of rules on the plan.
 *
 *   "plan_rules": {
 *     "resource_types": {"denied": [GLOB...], "allowed": [GLOB...]},
 *     "actions": [{"types": [GLOB...], "denied": [ACTION...]}...],
 *     "required_tags": {"keys": [KEY...], "types": [GLOB...]},
 *     "max_changes": {"create"|"update"|"delete"|"replace"|"read"|"total": N},
 *     "data_sources": {"denied": [GLOB...]}
 *   }
 *
 * The lists are rows of `lists` below; "actions" and "max_changes" have their
 * own shape.  Globs are fnmatch(3) patterns on the resource type. */
#include "policy/planrules.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[TJ_PLAN__COUNT] = {
    [TJ_PLAN_CREATE] = "create",   [TJ_PLAN_UPDATE] = "update", [TJ_PLAN_DELETE] = "delete",
    [TJ_PLAN_REPLACE] = "replace", [TJ_PLAN_READ] = "read",
};

const char *tj_plan_action_name(enum tj_plan_action a)
{
	return (unsigned)a < TJ_PLAN__COUNT ? action_names[a] : "total";
}

int tj_plan_action_by_name(const char *name)
{
	for (int i = 0; i < TJ_PLAN__COUNT; i++)
		if (strcmp(action_names[i], name) == 0)
			return i;
	return -1;
}

#define MAX_PLAN_LIST 1024
#define MAX_CHANGES   1000000

/* The list keys: "section.key", where the list lands. */
static const struct plan_list {
	const char *section, *key;
	size_t off, off_n;
	const char *what; /* for messages */
} lists[] = {
    {"resource_types", "denied", offsetof(struct tj_plan_rules, types_denied),
     offsetof(struct tj_plan_rules, n_types_denied), "resource type glob"},
    {"resource_types", "allowed", offsetof(struct tj_plan_rules, types_allowed),
     offsetof(struct tj_plan_rules, n_types_allowed), "resource type glob"},
    {"required_tags", "keys", offsetof(struct tj_plan_rules, tag_keys),
     offsetof(struct tj_plan_rules, n_tag_keys), "tag key"},
    {"required_tags", "types", offsetof(struct tj_plan_rules, tag_types),
     offsetof(struct tj_plan_rules, n_tag_types), "resource type glob"},
    {"data_sources", "denied", offsetof(struct tj_plan_rules, data_denied),
     offsetof(struct tj_plan_rules, n_data_denied), "data source type glob"},
};

#define N_LISTS (sizeof(lists) / sizeof(lists[0]))

static char ***list_ptr(struct tj_plan_rules *pr, const struct plan_list *l)
{
	return (char ***)((char *)pr + l->off);
}

static size_t *count_ptr(struct tj_plan_rules *pr, const struct plan_list *l)
{
	return (size_t *)((char *)pr + l->off_n);
}

static void free_strings(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void plan_rules_init(struct tj_plan_rules *pr)
{
	memset(pr, 0, sizeof(*pr));
	for (size_t i = 0; i <= TJ_PLAN__COUNT; i++)
		pr->max_changes[i] = -1;
}

void plan_rules_free(struct tj_plan_rules *pr)
{
	for (size_t i = 0; i < N_LISTS; i++)
		free_strings(*list_ptr(pr, &lists[i]), *count_ptr(pr, &lists[i]));
	for (size_t i = 0; i < pr->n_actions; i++)
		free_strings(pr->actions[i].types, pr->actions[i].n_types);
	free(pr->actions);
	plan_rules_init(pr);
}

/* A list of distinct printable strings at path into *lp / *np. */
static int read_strings(const cJSON *v, const char *path, const char *what, char ***lp, size_t *np,
                        struct policy_errors *pe)
{
	size_t n, i = 0;
	const cJSON *e;
	char **l;

	if (!cJSON_IsArray(v))
		return policy_bad(pe, path, "must be an array of %ss, not %s", what, policy_json_type(v));
	n = (size_t)cJSON_GetArraySize(v);
	if (n > MAX_PLAN_LIST)
		return policy_bad(pe, path, "at most %d entries", MAX_PLAN_LIST);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return policy_oom(pe);
	free_strings(*lp, *np);
	*lp = l;
	*np = 0;
	cJSON_ArrayForEach (e, v) {
		if (!cJSON_IsString(e) || !policy_printable(e->valuestring))
			return policy_bad(pe, path, "[%zu] must be a non-empty printable string (a %s)", i,
			                  what);
		for (size_t j = 0; j < *np; j++)
			if (strcmp(l[j], e->valuestring) == 0)
				return policy_bad(pe, path, "[%zu] '%s' is listed twice", i, e->valuestring);
		if (!(l[(*np)++] = strdup(e->valuestring)))
			return policy_oom(pe);
		i++;
	}
	return 0;
}

static const struct plan_list *list_by_key(const char *section, const char *key)
{
	for (size_t i = 0; i < N_LISTS; i++)
		if (strcmp(lists[i].section, section) == 0 && strcmp(lists[i].key, key) == 0)
			return &lists[i];
	return NULL;
}

static bool is_list_section(const char *section)
{
	for (size_t i = 0; i < N_LISTS; i++)
		if (strcmp(lists[i].section, section) == 0)
			return true;
	return false;
}

static int load_list_section(struct tj_plan_rules *pr, const cJSON *sec, struct policy_errors *pe)
{
	const cJSON *k;
	char path[256];
	int rc = 0;

	snprintf(path, sizeof(path), "plan_rules.%s", sec->string);
	if (!cJSON_IsObject(sec))
		return policy_bad(pe, path, "must be an object, not %s", policy_json_type(sec));
	cJSON_ArrayForEach (k, sec) {
		const struct plan_list *l = list_by_key(sec->string, k->string);
		snprintf(path, sizeof(path), "plan_rules.%s.%.100s", sec->string, k->string);
		if (!l) {
			char allowed[128] = "";
			for (size_t i = 0; i < N_LISTS; i++)
				if (strcmp(lists[i].section, sec->string) == 0)
					snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
					         "%s%s", *allowed ? ", " : "", lists[i].key);
			rc = policy_bad(pe, path, "unknown key (allowed: %s)", allowed);
		} else if (read_strings(k, path, l->what, list_ptr(pr, l), count_ptr(pr, l), pe) < 0) {
			rc = -1;
		} else if (l->off == offsetof(struct tj_plan_rules, types_allowed)) {
			pr->has_types_allowed = true;
		}
		if (rc < 0 && !policy_go_on(pe))
			return -1;
	}
	return rc;
}

static int load_actions(struct tj_plan_rules *pr, const cJSON *v, struct policy_errors *pe)
{
	const cJSON *e;
	size_t n, i = 0;
	int rc = 0;

	if (!cJSON_IsArray(v))
		return policy_bad(pe, "plan_rules.actions",
		                  "must be an array of {\"types\": [...], \"denied\": [...]}, not %s",
		                  policy_json_type(v));
	n = (size_t)cJSON_GetArraySize(v);
	if (n > MAX_PLAN_LIST)
		return policy_bad(pe, "plan_rules.actions", "at most %d entries", MAX_PLAN_LIST);
	pr->actions = calloc(n ? n : 1, sizeof(*pr->actions));
	if (!pr->actions)
		return policy_oom(pe);
	cJSON_ArrayForEach (e, v) {
		struct tj_plan_action_rule *a = &pr->actions[i];
		const cJSON *k, *types, *denied;
		char path[96], sub[128];
		bool bad_entry = false;

		snprintf(path, sizeof(path), "plan_rules.actions[%zu]", i);
		pr->n_actions = ++i;
		if (!cJSON_IsObject(e)) {
			rc = policy_bad(pe, path,
			                "must be an object {\"types\": [...], \"denied\": [...]}, not %s",
			                policy_json_type(e));
			goto next;
		}
		cJSON_ArrayForEach (k, e)
			if (strcmp(k->string, "types") != 0 && strcmp(k->string, "denied") != 0) {
				snprintf(sub, sizeof(sub), "%s.%.60s", path, k->string);
				rc = policy_bad(pe, sub, "unknown key (allowed: types, denied)");
				bad_entry = true;
			}
		types = cJSON_GetObjectItemCaseSensitive(e, "types");
		denied = cJSON_GetObjectItemCaseSensitive(e, "denied");
		snprintf(sub, sizeof(sub), "%s.types", path);
		if (!types)
			rc = policy_bad(pe, sub, "missing (globs on the resource type, e.g. [\"aws_db_*\"])");
		else if (read_strings(types, sub, "resource type glob", &a->types, &a->n_types, pe) < 0)
			rc = -1;
		snprintf(sub, sizeof(sub), "%s.denied", path);
		if (!cJSON_IsArray(denied) || cJSON_GetArraySize(denied) == 0) {
			rc = policy_bad(
			    pe, sub,
			    "must be a non-empty array of actions (create, update, delete, replace, read)");
		} else {
			size_t j = 0;
			const cJSON *d;
			cJSON_ArrayForEach (d, denied) {
				int act = cJSON_IsString(d) ? tj_plan_action_by_name(d->valuestring) : -1;
				if (act < 0) {
					rc = policy_bad(
					    pe, sub,
					    "[%zu] must be one of create, update, delete, replace, read", j);
					break;
				}
				a->denied |= 1u << act;
				j++;
			}
		}
		(void)bad_entry;
	next:
		if (rc < 0 && !policy_go_on(pe))
			return -1;
	}
	return rc;
}

static int load_max_changes(struct tj_plan_rules *pr, const cJSON *v, struct policy_errors *pe)
{
	const cJSON *k;
	int rc = 0;

	if (!cJSON_IsObject(v))
		return policy_bad(pe, "plan_rules.max_changes",
		                  "must be an object of action -> count, not %s", policy_json_type(v));
	cJSON_ArrayForEach (k, v) {
		char path[160];
		int act =
		    strcmp(k->string, "total") == 0 ? TJ_PLAN__COUNT : tj_plan_action_by_name(k->string);
		double d = k->valuedouble;

		snprintf(path, sizeof(path), "plan_rules.max_changes.%.100s", k->string);
		if (act < 0)
			rc = policy_bad(
			    pe, path, "unknown key (allowed: create, update, delete, replace, read, total)");
		else if (!cJSON_IsNumber(k) || !(d >= 0) || d != floor(d) || d > MAX_CHANGES)
			rc = policy_bad(pe, path, "must be an integer in [0, %d]", MAX_CHANGES);
		else
			pr->max_changes[act] = (int64_t)d;
		if (rc < 0 && !policy_go_on(pe))
			return -1;
	}
	return rc;
}

int plan_rules_load(struct tj_plan_rules *pr, const cJSON *v, struct policy_errors *pe)
{
	const cJSON *sec;
	int rc = 0;

	if (!cJSON_IsObject(v))
		return policy_bad(pe, "plan_rules", "must be an object, not %s", policy_json_type(v));
	cJSON_ArrayForEach (sec, v) {
		char path[160];
		int r;

		for (const cJSON *prev = v->child; prev != sec; prev = prev->next)
			if (strcmp(prev->string, sec->string) == 0) {
				snprintf(path, sizeof(path), "plan_rules.%.100s", sec->string);
				return policy_bad(pe, path, "appears twice");
			}
		if (is_list_section(sec->string))
			r = load_list_section(pr, sec, pe);
		else if (strcmp(sec->string, "actions") == 0)
			r = load_actions(pr, sec, pe);
		else if (strcmp(sec->string, "max_changes") == 0)
			r = load_max_changes(pr, sec, pe);
		else {
			snprintf(path, sizeof(path), "plan_rules.%.100s", sec->string);
			r = policy_bad(pe, path,
			               "unknown key (allowed: resource_types, actions, required_tags, "
			               "max_changes, data_sources)");
		}
		if (r < 0) {
			rc = -1;
			if (!policy_go_on(pe))
				return -1;
		}
	}
	if (pr->n_tag_types && !pr->n_tag_keys)
		policy_warn(pe, "plan_rules.required_tags.types",
		            "no required_tags.keys: nothing is required");
	return rc;
}

static cJSON *strings_json(char *const *l, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l[i]));
	return a;
}

cJSON *plan_rules_to_json(const struct tj_plan_rules *pr)
{
	cJSON *o = cJSON_CreateObject(), *acts, *max;

	if (!o)
		return NULL;
	for (size_t i = 0; i < N_LISTS; i++) {
		struct tj_plan_rules *mpr =
		    (struct tj_plan_rules *)(uintptr_t)pr; /* list_ptr serves the loader too */
		cJSON *sec = cJSON_GetObjectItemCaseSensitive(o, lists[i].section);
		if (lists[i].off == offsetof(struct tj_plan_rules, types_allowed) && !pr->has_types_allowed)
			continue; /* absent = any type; [] would allow none */
		if (!sec)
			sec = cJSON_AddObjectToObject(o, lists[i].section);
		cJSON_AddItemToObject(sec, lists[i].key,
		                      strings_json(*list_ptr(mpr, &lists[i]), *count_ptr(mpr, &lists[i])));
	}
	acts = cJSON_AddArrayToObject(o, "actions");
	for (size_t i = 0; acts && i < pr->n_actions; i++) {
		cJSON *a = cJSON_CreateObject(), *d;
		cJSON_AddItemToObject(a, "types", strings_json(pr->actions[i].types, pr->actions[i].n_types));
		d = cJSON_AddArrayToObject(a, "denied");
		for (int j = 0; d && j < TJ_PLAN__COUNT; j++)
			if (pr->actions[i].denied & (1u << j))
				cJSON_AddItemToArray(d, cJSON_CreateString(action_names[j]));
		cJSON_AddItemToArray(acts, a);
	}
	max = cJSON_AddObjectToObject(o, "max_changes");
	for (int j = 0; max && j <= TJ_PLAN__COUNT; j++)
		if (pr->max_changes[j] >= 0)
			cJSON_AddNumberToObject(max, tj_plan_action_name((enum tj_plan_action)j),
			                        (double)pr->max_changes[j]);
	return o;
}
