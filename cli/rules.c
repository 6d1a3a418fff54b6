/* tfjail rules: the rule catalogue, static and plan, from the one table in
 * policy/policy.c (docs/policy.md's rule table is its markdown form). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "policy/policy.h"
#include "policy/rules.h"

static const struct option rules_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"policy", required_argument, NULL, 'P'},
    {NULL, 0, NULL, 0},
};

static const struct cli_command rules_command = {
    .name = "rules",
    .options = rules_options,
    .usage =
        "Usage: tfjail rules [--policy FILE] [--output text|json|markdown]\n\n"
        "Lists every rule: its id, its stage (static: the scan of the upload before terraform\n"
        "runs; plan: the plan after terraform show -json), its default severity, whether a\n"
        "policy can relax or suppress it, what triggers it, an example and its rationale.\n"
        "With --policy, the severities are that policy's.\n\n"
        "Options:\n"
        "  --policy FILE          severities of this policy (default: the built-in policy)\n"
        "  --output FORMAT        text (default), json ([{\"id\",\"stage\",\"default_severity\",\n"
        "                         \"severity\",\"suppressible\",\"finds\",\"example\",\"rationale\"}...])\n"
        "                         or markdown (the table of docs/policy.md)\n\n"
        "Exit status: 0, 2 usage error or invalid policy.\n",
};

static const char *stage_name(enum tj_rule_stage s)
{
	return s == TJ_STAGE_PLAN ? "plan" : "static";
}

static int print_json(const struct tj_policy *p, const struct tj_policy *dflt)
{
	cJSON *a = cJSON_CreateArray();
	char *s;

	for (int r = 0; a && r < TJ_RULE__COUNT; r++) {
		const struct tj_rule_info *ri = tj_rule_info((enum tj_rule)r);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", ri->id);
		cJSON_AddStringToObject(o, "stage", stage_name(ri->stage));
		cJSON_AddStringToObject(o, "default_severity", tj_severity_name(dflt->rules->severity[r]));
		cJSON_AddStringToObject(o, "severity", tj_severity_name(p->rules->severity[r]));
		cJSON_AddBoolToObject(o, "suppressible", !ri->mandatory);
		cJSON_AddStringToObject(o, "finds", ri->finds);
		cJSON_AddStringToObject(o, "example", ri->example);
		cJSON_AddStringToObject(o, "rationale", ri->rationale);
		cJSON_AddItemToArray(a, o);
	}
	s = a ? cJSON_Print(a) : NULL;
	cJSON_Delete(a);
	if (!s)
		return -1;
	puts(s);
	free(s);
	return 0;
}

/* A markdown table cell: '|' escaped, nothing else touched. */
static void md_cell(const char *s, bool code)
{
	if (code)
		fputc('`', stdout);
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", stdout);
		else
			fputc(*s, stdout);
	}
	if (code)
		fputc('`', stdout);
}

static void print_markdown(const struct tj_policy *p)
{
	puts("| rule id | stage | default | suppressible | what it finds | example | rationale |\n"
	     "|---|---|---|---|---|---|---|");
	for (int r = 0; r < TJ_RULE__COUNT; r++) {
		const struct tj_rule_info *ri = tj_rule_info((enum tj_rule)r);
		fputs("| ", stdout);
		md_cell(ri->id, true);
		printf(" | %s | %s | %s | ", stage_name(ri->stage), tj_severity_name(p->rules->severity[r]),
		       ri->mandatory ? "no (mandatory)" : "yes");
		md_cell(ri->finds, false);
		fputs(" | ", stdout);
		md_cell(ri->example, true);
		fputs(" | ", stdout);
		md_cell(ri->rationale, false);
		puts(" |");
	}
}

static void print_text(const struct tj_policy *p)
{
	printf("%-31s %-6s %-8s %s\n", "RULE", "STAGE", "SEVERITY", "SUPPRESSIBLE");
	for (int r = 0; r < TJ_RULE__COUNT; r++) {
		const struct tj_rule_info *ri = tj_rule_info((enum tj_rule)r);
		printf("%-31s %-6s %-8s %s\n", ri->id, stage_name(ri->stage),
		       tj_severity_name(p->rules->severity[r]), ri->mandatory ? "no" : "yes");
		printf("    finds:     %s\n    example:   %s\n    rationale: %s\n", ri->finds, ri->example,
		       ri->rationale);
	}
}

int cmd_rules(int argc, char **argv)
{
	const char *policy_path = NULL, *output = "text";
	struct tj_policy *p = NULL, *dflt = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	int opt, rc = TJ_EXIT_OK;

	cli_args_init(&a, &rules_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'P': policy_path = a.value; break;
		case 'o':
			if (strcmp(a.value, "text") != 0 && strcmp(a.value, "json") != 0 &&
			    strcmp(a.value, "markdown") != 0)
				return cli_bad_value(&a, "text, json or markdown");
			output = a.value;
			break;
		}
	}
	if (tj_policy_load(policy_path, &p, &err) < 0 || tj_policy_load(NULL, &dflt, &err) < 0) {
		tj_policy_free(p);
		return cli_usage_error("%s", err.msg);
	}
	if (strcmp(output, "json") == 0) {
		if (print_json(p, dflt) < 0)
			rc = cli_usage_error("rules: out of memory");
	} else if (strcmp(output, "markdown") == 0) {
		print_markdown(p);
	} else {
		print_text(p);
	}
	if (fflush(stdout) != 0)
		rc = cli_usage_error("rules: cannot write the list");
	tj_policy_free(p);
	tj_policy_free(dflt);
	return rc;
}
