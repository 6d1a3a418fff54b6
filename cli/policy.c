/* tfjail policy check FILE | tfjail policy show [FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "executor/mirror.h"
#include "policy/policy.h"

static void policy_usage(FILE *f)
{
	fputs("Usage: tfjail policy check FILE\n"
	      "       tfjail policy show [FILE]\n\n"
	      "check  validates a policy file; an error names the file, the JSON path and why.\n"
	      "show   prints the effective policy (defaults filled in, every rule with its\n"
	      "       severity and rationale) as JSON; without FILE, the built-in default.\n"
	      "       With a module mirror, modules.mirror_contents lists what it holds.\n\n"
	      "Exit status: 0 valid, 2 usage error or invalid policy.\n",
	      f);
}

int cmd_policy(int argc, char **argv)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	const char *file;

	if (argc < 2)
		return policy_usage(stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return policy_usage(stdout), TJ_EXIT_OK;
	file = argc > 2 ? argv[2] : NULL;
	if (argc > 3)
		return cli_usage_error("policy %s: too many arguments", argv[1]);
	if (strcmp(argv[1], "check") == 0) {
		if (!file)
			return cli_usage_error("policy check: missing FILE");
		if (tj_policy_load(file, &p, &err) < 0)
			return cli_usage_error("%s", err.msg);
		printf("%s: valid (policy %s, sha256 %s)\n", file, p->name, p->sha256);
		tj_policy_free(p);
		return TJ_EXIT_OK;
	}
	if (strcmp(argv[1], "show") == 0) {
		cJSON *j;
		char *s;
		if (tj_policy_load(file, &p, &err) < 0)
			return cli_usage_error("%s", err.msg);
		j = tj_policy_to_json(p);
		if (j && p->module_mirror && *p->module_mirror) {
			/* what the mirror holds, for the reader (ignored when the policy is loaded) */
			cJSON *l = NULL;
			cJSON *mods = cJSON_GetObjectItemCaseSensitive(j, "modules");
			if (mirror_list(p->module_mirror, &l, &err) < 0)
				l = cJSON_CreateString(err.msg);
			cJSON_DeleteItemFromObjectCaseSensitive(l, "mirror");
			cJSON_AddItemToObject(mods, "mirror_contents", l);
		}
		s = j ? cJSON_Print(j) : NULL;
		tj_policy_free(p);
		cJSON_Delete(j);
		if (!s)
			return cli_usage_error("policy show: out of memory");
		puts(s);
		free(s);
		return TJ_EXIT_OK;
	}
	return cli_usage_error("policy: unknown subcommand '%s' (check or show)", argv[1]);
}
