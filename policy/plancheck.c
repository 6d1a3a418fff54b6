/* Plan rules judged on terraform's plan JSON (see plancheck.h).
 *
 * The plan's resource_changes give each change's address, type and actions;
 * its configuration section gives the module tree (module_calls with their
 * sources) and every data source.  A resource address is located by walking
 * that tree from the root module's directory through local module sources,
 * then looking the block up among the scan's block locations; a resource
 * of a remote module is located at its module call. */
#include "policy/plancheck.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "policy/rules.h"

#define MAX_MODULE_DEPTH 64

struct check {
	const struct tj_policy *p;
	const struct tj_plan_rules *pr;
	const cJSON *root_module; /* configuration.root_module */
	const struct tj_block_loc *locs;
	size_t n_locs;
	const char *root_dir;
	struct tj_scan_result *res;
	bool oom;
};

bool tj_plan_rules_present(const struct tj_policy *p)
{
	const struct tj_plan_rules *pr = &p->rules->plan;

	if (pr->n_types_denied || pr->has_types_allowed || pr->n_actions || pr->n_tag_keys ||
	    pr->n_data_denied)
		return true;
	for (int i = 0; i <= TJ_PLAN__COUNT; i++)
		if (pr->max_changes[i] >= 0)
			return true;
	return false;
}

static const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The first glob of l that matches s, or NULL. */
static const char *glob_match(char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(l[i], s, 0) == 0)
			return l[i];
	return NULL;
}

/* ---- where a resource is ---- */

/* Skips an instance key "[0]" or "[\"a.b\"]" at *p. */
static const char *skip_key(const char *p)
{
	bool quoted = false;

	if (*p != '[')
		return p;
	for (p++; *p; p++) {
		if (quoted && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ']')
			return p + 1;
	}
	return p;
}

/* Splits an address into its module names and the block's address without
 * instance key: "module.a[0].module.b.aws_x.y[\"k\"]" -> {a, b}, "aws_x.y". */
static int split_address(const char *addr, char mods[][128], size_t *n_mods, char *block, size_t blen)
{
	const char *p = addr, *end;

	*n_mods = 0;
	while (strncmp(p, "module.", 7) == 0) {
		size_t n;
		p += 7;
		n = strcspn(p, ".[");
		if (*n_mods == MAX_MODULE_DEPTH || n == 0 || n >= 128)
			return -1;
		snprintf(mods[(*n_mods)++], 128, "%.*s", (int)n, p);
		p = skip_key(p + n);
		if (*p != '.')
			return -1;
		p++;
	}
	end = p + strlen(p);
	if (end > p && end[-1] == ']') {
		/* the instance key is the last bracket that starts outside quotes */
		const char *q = p, *last = NULL;
		while (*q) {
			if (*q == '[') {
				last = q;
				q = skip_key(q);
			} else {
				q++;
			}
		}
		if (last)
			end = last;
	}
	if ((size_t)(end - p) >= blen)
		return -1;
	snprintf(block, blen, "%.*s", (int)(end - p), p);
	return 0;
}

static const struct tj_block_loc *find_loc(const struct check *c, const char *dir, const char *address)
{
	for (size_t i = 0; i < c->n_locs; i++)
		if (strcmp(c->locs[i].dir, dir) == 0 && strcmp(c->locs[i].address, address) == 0)
			return &c->locs[i];
	return NULL;
}

static bool is_local_source(const char *s)
{
	return strncmp(s, "./", 2) == 0 || strncmp(s, "../", 3) == 0 || strncmp(s, ".\\", 2) == 0 ||
	       strncmp(s, "..\\", 3) == 0;
}

static const struct tj_block_loc *locate(const struct check *c, const char *address)
{
	char mods[MAX_MODULE_DEPTH][128], block[512], dir[4096], next[4096];
	const cJSON *module = c->root_module;
	size_t n_mods;

	if (split_address(address, mods, &n_mods, block, sizeof(block)) < 0)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", c->root_dir);
	for (size_t i = 0; i < n_mods; i++) {
		const cJSON *call = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(module, "module_calls"), mods[i]);
		const char *src = str(call, "source");
		char call_addr[160];

		if (!src)
			return NULL;
		if (!is_local_source(src) || tj_module_dir_resolve(dir, src, next, sizeof(next)) < 0) {
			/* not in the upload: the module call stands for what it creates */
			snprintf(call_addr, sizeof(call_addr), "module.%s", mods[i]);
			return find_loc(c, dir, call_addr);
		}
		snprintf(dir, sizeof(dir), "%s", next);
		module = cJSON_GetObjectItemCaseSensitive(call, "module");
	}
	return find_loc(c, dir, block);
}

/* ---- violations ---- */

static void report(struct check *c, enum tj_rule rule, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct check *c, enum tj_rule rule, const char *address, const char *fmt, ...)
{
	enum tj_severity sev = c->p->rules->severity[rule];
	const struct tj_block_loc *loc = address ? locate(c, address) : NULL;
	const struct tj_suppression *supp;
	char msg[1024];
	struct tj_violation v;
	va_list ap;

	if (sev == TJ_SEV_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v = (struct tj_violation){
	    .rule = (char *)(uintptr_t)tj_rule_info(rule)->id,
	    .severity = (char *)(uintptr_t)tj_severity_name(sev),
	    .file = loc ? loc->file : ".",
	    .line = loc ? loc->line : 0,
	    .message = msg,
	    .address = (char *)(uintptr_t)address,
	};
	supp = tj_policy_suppression(c->p->rules, rule, v.file);
	if (supp)
		v.reason = supp->reason;
	if (tj_scan_result_add(c->res, &v, supp != NULL) < 0)
		c->oom = true;
}

/* ---- the rules ---- */

/* The action of a change as the plan's summary counts it; -1 = no-op. */
static int change_action(const cJSON *actions)
{
	const char *a0 = cJSON_GetStringValue(cJSON_GetArrayItem(actions, 0));
	int n = cJSON_GetArraySize(actions);

	if (!a0)
		return -1;
	if (n == 2)
		return TJ_PLAN_REPLACE; /* ["delete","create"] or ["create","delete"] */
	if (strcmp(a0, "create") == 0)
		return TJ_PLAN_CREATE;
	if (strcmp(a0, "update") == 0)
		return TJ_PLAN_UPDATE;
	if (strcmp(a0, "delete") == 0)
		return TJ_PLAN_DELETE;
	if (strcmp(a0, "read") == 0)
		return TJ_PLAN_READ;
	return -1;
}

static bool has_key(const cJSON *map, const char *key)
{
	return cJSON_IsObject(map) && cJSON_GetObjectItemCaseSensitive(map, key);
}

/* Required tag keys on a resource that has a tags attribute. */
static void check_tags(struct check *c, const char *address, const char *type, const cJSON *change)
{
	const struct tj_plan_rules *pr = c->pr;
	const cJSON *after = cJSON_GetObjectItemCaseSensitive(change, "after");
	const cJSON *unknown = cJSON_GetObjectItemCaseSensitive(change, "after_unknown");
	const cJSON *tags, *tags_all;
	char missing[512] = "";
	size_t o = 0;

	if (!pr->n_tag_keys || !cJSON_IsObject(after) || !cJSON_HasObjectItem(after, "tags"))
		return;
	if (pr->n_tag_types && !glob_match(pr->tag_types, pr->n_tag_types, type))
		return;
	/* a map terraform will only know at apply cannot be judged now */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(unknown, "tags")))
		return;
	tags = cJSON_GetObjectItemCaseSensitive(after, "tags");
	tags_all = cJSON_GetObjectItemCaseSensitive(after, "tags_all");
	for (size_t i = 0; i < pr->n_tag_keys; i++) {
		const char *k = pr->tag_keys[i];
		if (has_key(tags, k) || has_key(tags_all, k) ||
		    has_key(cJSON_GetObjectItemCaseSensitive(unknown, "tags_all"), k))
			continue;
		o += (size_t)snprintf(missing + o, sizeof(missing) - o, "%s\"%s\"", o ? ", " : "", k);
		if (o >= sizeof(missing))
			break;
	}
	if (*missing)
		report(c, TJ_RULE_PLAN_TAG_MISSING, address,
		       "%s: required tag %s missing (plan_rules.required_tags.keys)", address, missing);
}

static void check_change(struct check *c, const cJSON *rc, size_t counts[TJ_PLAN__COUNT + 1])
{
	const struct tj_plan_rules *pr = c->pr;
	const char *address = str(rc, "address"), *type = str(rc, "type"), *mode = str(rc, "mode");
	const cJSON *change = cJSON_GetObjectItemCaseSensitive(rc, "change");
	int act = change_action(cJSON_GetObjectItemCaseSensitive(change, "actions"));
	const char *g;

	if (!address || !type || act < 0)
		return;
	counts[act]++;
	counts[TJ_PLAN__COUNT]++;
	if (!mode || strcmp(mode, "managed") != 0)
		return;
	if (act == TJ_PLAN_CREATE || act == TJ_PLAN_UPDATE || act == TJ_PLAN_REPLACE) {
		if ((g = glob_match(pr->types_denied, pr->n_types_denied, type)))
			report(c, TJ_RULE_PLAN_RESOURCE_TYPE_DENIED, address,
			       "%s: resource type %s is denied (plan_rules.resource_types.denied \"%s\")",
			       address, type, g);
		if (pr->has_types_allowed && !glob_match(pr->types_allowed, pr->n_types_allowed, type))
			report(c, TJ_RULE_PLAN_RESOURCE_TYPE_NOT_ALLOWED, address,
			       "%s: resource type %s is not in plan_rules.resource_types.allowed", address,
			       type);
		check_tags(c, address, type, change);
	}
	for (size_t i = 0; i < pr->n_actions; i++)
		if ((pr->actions[i].denied & (1u << act)) &&
		    (g = glob_match(pr->actions[i].types, pr->actions[i].n_types, type))) {
			report(c, TJ_RULE_PLAN_ACTION_DENIED, address,
			       "%s: %s of %s is denied (plan_rules.actions[%zu]: \"%s\")", address,
			       tj_plan_action_name((enum tj_plan_action)act), type, i, g);
			break;
		}
}

/* Data sources of a module of the configuration and of its module calls. */
static void check_data_sources(struct check *c, const cJSON *module, const char *prefix, int depth)
{
	const cJSON *r, *call;

	if (depth > MAX_MODULE_DEPTH)
		return;
	cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive(module, "resources")) {
		const char *type = str(r, "type"), *addr = str(r, "address"), *mode = str(r, "mode"), *g;
		char full[1024];
		if (!type || !addr || !mode || strcmp(mode, "data") != 0)
			continue;
		if (!(g = glob_match(c->pr->data_denied, c->pr->n_data_denied, type)))
			continue;
		snprintf(full, sizeof(full), "%s%s", prefix, addr);
		report(c, TJ_RULE_PLAN_DATA_SOURCE_DENIED, full,
		       "%s: data source type %s is denied (plan_rules.data_sources.denied \"%s\")", full,
		       type, g);
	}
	cJSON_ArrayForEach (call, cJSON_GetObjectItemCaseSensitive(module, "module_calls")) {
		char sub[1024];
		snprintf(sub, sizeof(sub), "%smodule.%s.", prefix, call->string);
		check_data_sources(c, cJSON_GetObjectItemCaseSensitive(call, "module"), sub, depth + 1);
	}
}

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

int tj_plan_check(const struct tj_policy *p, const char *plan, size_t len, const struct tj_block_loc *locs,
                  size_t n_locs, const char *root_dir, struct tj_scan_result **out, struct tj_error *err)
{
	__attribute__((cleanup(cjson_deletep))) cJSON *root = cJSON_ParseWithLength(plan, len);
	struct check c = {.p = p,
	                  .pr = &p->rules->plan,
	                  .locs = locs,
	                  .n_locs = n_locs,
	                  .root_dir = root_dir ? root_dir : ""};
	size_t counts[TJ_PLAN__COUNT + 1] = {0};
	const cJSON *rc, *plan_json = root;

	/* an ExecutionResponse: its plan_json */
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "plan_json")))
		plan_json = cJSON_GetObjectItemCaseSensitive(root, "plan_json");
	if (!cJSON_IsObject(plan_json) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(plan_json, "format_version")))
		return tj_error_set(err, EINVAL, "not a plan (terraform show -json output): %s",
		                    root ? "no format_version" : "not JSON");
	c.root_module = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(plan_json, "configuration"), "root_module");
	c.res = calloc(1, sizeof(*c.res));
	if (!c.res)
		return tj_error_set(err, ENOMEM, "plan rules: out of memory");
	cJSON_ArrayForEach (rc, cJSON_GetObjectItemCaseSensitive(plan_json, "resource_changes"))
		check_change(&c, rc, counts);
	for (int a = 0; a <= TJ_PLAN__COUNT; a++)
		if (c.pr->max_changes[a] >= 0 && counts[a] > (size_t)c.pr->max_changes[a])
			report(
			    &c, TJ_RULE_PLAN_CHANGE_LIMIT, NULL,
			    "%zu resource change%s of action %s, more than plan_rules.max_changes.%s (%lld)",
			    counts[a], counts[a] == 1 ? "" : "s", tj_plan_action_name((enum tj_plan_action)a),
			    tj_plan_action_name((enum tj_plan_action)a), (long long)c.pr->max_changes[a]);
	if (c.pr->n_data_denied)
		check_data_sources(&c, c.root_module, "", 0);
	if (c.oom) {
		tj_scan_result_free(c.res);
		return tj_error_set(err, ENOMEM, "plan rules: out of memory");
	}
	*out = c.res;
	return 0;
}
