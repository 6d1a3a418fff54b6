/* SARIF and JUnit output of violations (see report.h). */
#include "policy/report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/rules.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const char *vstr(const cJSON *v, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, key));

	return s ? s : "";
}

static cJSON *text_object(const char *text)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "text", text);
	return o;
}

static cJSON *sarif_rule(int r, const struct tj_policy *p)
{
	const struct tj_rule_info *ri = tj_rule_info((enum tj_rule)r);
	enum tj_severity sev = p->rules->severity[r];
	cJSON *o = cJSON_CreateObject(), *cfg, *props, *tags;
	char help[1024];

	cJSON_AddStringToObject(o, "id", ri->id);
	cJSON_AddItemToObject(o, "shortDescription", text_object(ri->finds));
	cJSON_AddItemToObject(o, "fullDescription", text_object(ri->rationale));
	snprintf(help, sizeof(help), "%s Example: %s", ri->rationale, ri->example);
	cJSON_AddItemToObject(o, "help", text_object(help));
	cfg = cJSON_AddObjectToObject(o, "defaultConfiguration");
	cJSON_AddBoolToObject(cfg, "enabled", sev != TJ_SEV_OFF);
	cJSON_AddStringToObject(cfg, "level", sev == TJ_SEV_WARNING ? "warning" : "error");
	props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddStringToObject(props, "stage", ri->stage == TJ_STAGE_PLAN ? "plan" : "static");
	cJSON_AddBoolToObject(props, "suppressible", !ri->mandatory);
	tags = cJSON_AddArrayToObject(props, "tags");
	cJSON_AddItemToArray(tags, cJSON_CreateString("security"));
	cJSON_AddItemToArray(tags, cJSON_CreateString("terraform"));
	return o;
}

static cJSON *sarif_result(const cJSON *v, const char *reason)
{
	const char *rule = vstr(v, "rule"), *file = vstr(v, "file"), *address = vstr(v, "address");
	int line = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "line"));
	int index = tj_rule_by_id(rule);
	cJSON *o = cJSON_CreateObject(), *locs, *loc, *phys, *art;

	cJSON_AddStringToObject(o, "ruleId", rule);
	if (index >= 0)
		cJSON_AddNumberToObject(o, "ruleIndex", index);
	cJSON_AddStringToObject(o, "level",
	                        strcmp(vstr(v, "severity"), "warning") == 0 ? "warning" : "error");
	cJSON_AddItemToObject(o, "message", text_object(vstr(v, "message")));
	locs = cJSON_AddArrayToObject(o, "locations");
	loc = cJSON_CreateObject();
	cJSON_AddItemToArray(locs, loc);
	phys = cJSON_AddObjectToObject(loc, "physicalLocation");
	art = cJSON_AddObjectToObject(phys, "artifactLocation");
	/* a finding about the upload as a whole ("." ) points at its root */
	cJSON_AddStringToObject(art, "uri", *file && strcmp(file, ".") != 0 ? file : "./");
	cJSON_AddStringToObject(art, "uriBaseId", "%SRCROOT%");
	if (line > 0)
		cJSON_AddNumberToObject(cJSON_AddObjectToObject(phys, "region"), "startLine", line);
	if (*address) {
		cJSON *ll = cJSON_CreateObject();
		cJSON_AddStringToObject(ll, "fullyQualifiedName", address);
		cJSON_AddStringToObject(ll, "kind", "resource");
		cJSON_AddItemToArray(cJSON_AddArrayToObject(loc, "logicalLocations"), ll);
	}
	if (reason) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "kind", "external");
		cJSON_AddStringToObject(s, "justification", reason);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "suppressions"), s);
	}
	return o;
}

cJSON *tj_report_sarif(const cJSON *violations, const cJSON *suppressed, const struct tj_policy *p)
{
	cJSON *log = cJSON_CreateObject(), *run, *driver, *rules, *results, *base;
	const cJSON *v;

	if (!log)
		return NULL;
	cJSON_AddStringToObject(log, "$schema", SARIF_SCHEMA);
	cJSON_AddStringToObject(log, "version", "2.1.0");
	run = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(log, "runs"), run);
	driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
	cJSON_AddStringToObject(driver, "name", "tfjail");
	cJSON_AddStringToObject(driver, "version", TFJAIL_VERSION);
	rules = cJSON_AddArrayToObject(driver, "rules");
	for (int r = 0; r < TJ_RULE__COUNT; r++)
		cJSON_AddItemToArray(rules, sarif_rule(r, p));
	base = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "originalUriBaseIds"), "%SRCROOT%");
	cJSON_AddItemToObject(base, "description", text_object("the directory of the Terraform upload"));
	results = cJSON_AddArrayToObject(run, "results");
	cJSON_ArrayForEach (v, violations)
		cJSON_AddItemToArray(results, sarif_result(v, NULL));
	cJSON_ArrayForEach (v, suppressed)
		cJSON_AddItemToArray(results, sarif_result(v, vstr(v, "reason")));
	if (p->name)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(run, "properties"), "policy", p->name);
	return log;
}

/* ---- JUnit ---- */

struct buf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 4096) + n;
		char *ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void puts_raw(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* XML text or attribute value: markup escaped, characters XML 1.0 cannot
 * carry (control characters) dropped. */
static void put_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': puts_raw(b, "&amp;"); break;
		case '<': puts_raw(b, "&lt;"); break;
		case '>': puts_raw(b, "&gt;"); break;
		case '"': puts_raw(b, "&quot;"); break;
		case '\'': puts_raw(b, "&apos;"); break;
		default:
			if (c >= 0x20 || c == '\n' || c == '\t')
				put(b, s, 1);
		}
	}
}

static void put_violation_line(struct buf *b, const cJSON *v)
{
	char line[32];

	put_xml(b, vstr(v, "file"));
	snprintf(line, sizeof(line),
	         ":%d: ", (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "line")));
	puts_raw(b, line);
	put_xml(b, vstr(v, "message"));
	puts_raw(b, "\n");
}

char *tj_report_junit(const cJSON *violations, const struct tj_policy *p, const char *suite)
{
	struct buf b = {0};
	size_t tests = 0, failures = 0;
	char num[64];
	const cJSON *v;

	for (int r = 0; r < TJ_RULE__COUNT; r++) {
		bool failed = false;
		if (p->rules->severity[r] == TJ_SEV_OFF)
			continue;
		tests++;
		cJSON_ArrayForEach (v, violations)
			if (strcmp(vstr(v, "rule"), tj_rule_info((enum tj_rule)r)->id) == 0 &&
			    strcmp(vstr(v, "severity"), "error") == 0)
				failed = true;
		failures += failed;
	}
	puts_raw(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"");
	put_xml(&b, suite);
	snprintf(num, sizeof(num), "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n", tests, failures);
	puts_raw(&b, num);
	for (int r = 0; r < TJ_RULE__COUNT; r++) {
		const char *id = tj_rule_info((enum tj_rule)r)->id;
		struct buf fail = {0}, out = {0};
		if (p->rules->severity[r] == TJ_SEV_OFF)
			continue;
		cJSON_ArrayForEach (v, violations) {
			if (strcmp(vstr(v, "rule"), id) != 0)
				continue;
			put_violation_line(strcmp(vstr(v, "severity"), "error") == 0 ? &fail : &out, v);
		}
		puts_raw(&b, "    <testcase classname=\"tfjail.");
		puts_raw(&b, tj_rule_info((enum tj_rule)r)->stage == TJ_STAGE_PLAN ? "plan" : "static");
		puts_raw(&b, "\" name=\"");
		put_xml(&b, id);
		puts_raw(&b, "\"");
		if (!fail.n && !out.n) {
			puts_raw(&b, "/>\n");
		} else {
			puts_raw(&b, ">\n");
			if (fail.n) {
				puts_raw(&b, "      <failure message=\"");
				put_xml(&b, tj_rule_info((enum tj_rule)r)->rationale);
				puts_raw(&b, "\" type=\"error\">");
				puts_raw(&b, fail.s);
				puts_raw(&b, "</failure>\n");
			}
			if (out.n) {
				puts_raw(&b, "      <system-out>warning: ");
				puts_raw(&b, out.s);
				puts_raw(&b, "</system-out>\n");
			}
			puts_raw(&b, "    </testcase>\n");
		}
		b.oom |= fail.oom || out.oom;
		free(fail.s);
		free(out.s);
	}
	puts_raw(&b, "  </testsuite>\n</testsuites>\n");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
