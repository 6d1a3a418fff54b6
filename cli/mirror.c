/* tfjail mirror add-module SOURCE VERSION DIR | tfjail mirror list
 * [--mirror DIR | --policy FILE] [--output text|json] */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "executor/mirror.h"
#include "policy/policy.h"

static void mirror_usage(FILE *f)
{
	fputs("Usage: tfjail mirror add-module SOURCE VERSION DIR [--mirror DIR | --policy FILE]\n"
	      "       tfjail mirror list [--mirror DIR | --policy FILE] [--output text|json]\n\n"
	      "The operator's module mirror, from which jobs take registry and git modules:\n"
	      "<mirror>/<hostname>/<namespace>/<name>/<system>/<version>/ holds a module's source\n"
	      "tree, and <mirror>/git.json maps git sources (url, ref) to paths in the mirror.\n\n"
	      "add-module  copies the module checked out in DIR to the mirror as SOURCE (a registry\n"
	      "            address; without a hostname, registry.terraform.io) at VERSION.  A symbolic\n"
	      "            link that leaves DIR, a special file, or a version already there is refused;\n"
	      "            .git and .terraform are left out.\n"
	      "list        what the mirror holds: each module with its versions, and the git index.\n\n"
	      "  --mirror DIR    the mirror (default: modules.mirror of --policy)\n"
	      "  --policy FILE   the policy that names the mirror\n"
	      "  --output FMT    text (default) or json\n\n"
	      "Exit status: 0 done, 1 the module could not be added, 2 usage error or no mirror.\n",
	      f);
}

static void print_list(const cJSON *l)
{
	const cJSON *m, *v;

	printf("module mirror %s\n", cJSON_GetObjectItemCaseSensitive(l, "mirror")->valuestring);
	cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(l, "modules")) {
		printf("  %s:", cJSON_GetObjectItemCaseSensitive(m, "source")->valuestring);
		cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive(m, "versions"))
			printf(" %s", v->valuestring);
		putchar('\n');
	}
	cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(l, "git"))
		printf("  git::%s?ref=%s -> %s\n", cJSON_GetObjectItemCaseSensitive(m, "url")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(m, "ref")->valuestring,
		       cJSON_GetObjectItemCaseSensitive(m, "path")->valuestring);
}

int cmd_mirror(int argc, char **argv)
{
	const char *mirror = NULL, *policy_path = NULL, *output = "text", *pos[4] = {0};
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	_cleanup_free_ char *mpath = NULL;
	size_t npos = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			mirror_usage(stdout);
			return TJ_EXIT_OK;
		} else if (strcmp(argv[i], "--mirror") == 0 && i + 1 < argc) {
			mirror = argv[++i];
		} else if (strncmp(argv[i], "--mirror=", 9) == 0) {
			mirror = argv[i] + 9;
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy_path = argv[++i];
		} else if (strncmp(argv[i], "--policy=", 9) == 0) {
			policy_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
			output = argv[++i];
		} else if (strncmp(argv[i], "--output=", 9) == 0) {
			output = argv[i] + 9;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error(
			    "mirror: unknown or incomplete option '%s' (see tfjail mirror --help)", argv[i]);
		} else if (npos < 4) {
			pos[npos++] = argv[i];
		} else {
			return cli_usage_error("mirror: too many arguments");
		}
	}
	if (!npos)
		return mirror_usage(stderr), TJ_EXIT_USAGE;
	if (strcmp(output, "text") != 0 && strcmp(output, "json") != 0)
		return cli_usage_error("mirror: --output must be text or json, not '%s'", output);
	if (mirror && policy_path)
		return cli_usage_error("mirror: give --mirror or --policy, not both");
	if (!mirror) {
		if (!policy_path)
			return cli_usage_error("mirror: which mirror? give --mirror DIR or --policy FILE");
		if (tj_policy_load(policy_path, &p, &err) < 0)
			return cli_usage_error("%s", err.msg);
		mpath = strdup(p->module_mirror ? p->module_mirror : "");
		tj_policy_free(p);
		if (!mpath || !*mpath)
			return cli_usage_error(
			    "mirror: the policy %s names no module mirror (modules.mirror)", policy_path);
		mirror = mpath;
	}
	if (strcmp(pos[0], "list") == 0) {
		cJSON *l = NULL;
		char *s;
		if (npos != 1)
			return cli_usage_error("mirror list: takes no arguments");
		if (mirror_list(mirror, &l, &err) < 0)
			return cli_usage_error("%s", err.msg);
		if (strcmp(output, "json") == 0) {
			s = cJSON_Print(l);
			if (s)
				puts(s);
			free(s);
		} else {
			print_list(l);
		}
		cJSON_Delete(l);
		return TJ_EXIT_OK;
	}
	if (strcmp(pos[0], "add-module") == 0) {
		char dest[PATH_MAX];
		if (npos != 4)
			return cli_usage_error("mirror add-module: needs SOURCE VERSION DIR");
		rc = mirror_add_module(mirror, pos[1], pos[2], pos[3], dest, &err);
		if (rc < 0) {
			fprintf(stderr, "tfjail: %s\n", err.msg);
			return TJ_EXIT_FAIL;
		}
		printf("%s\n", dest);
		return TJ_EXIT_OK;
	}
	return cli_usage_error("mirror: unknown subcommand '%s' (add-module or list)", pos[0]);
}
