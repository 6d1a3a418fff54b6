/* tfjail mirror add-module SOURCE VERSION DIR | tfjail mirror list
 * (either with --mirror DIR or --policy FILE naming modules.mirror) */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "executor/mirror.h"
#include "policy/policy.h"

static const char mirror_usage[] =
    "Usage: tfjail mirror add-module SOURCE VERSION DIR [--mirror DIR | --policy FILE]\n"
    "       tfjail mirror list [--mirror DIR | --policy FILE] [--output text|json]\n\n"
    "The operator's module mirror, from which jobs take registry and git modules:\n"
    "<mirror>/<hostname>/<namespace>/<name>/<system>/<version>/ holds a module's source\n"
    "tree, and <mirror>/git.json maps git sources (url, ref) to paths in the mirror.\n\n"
    "add-module  copies a checked-out module into the mirror\n"
    "list        what the mirror holds\n\n"
    "`tfjail mirror SUBCOMMAND --help` describes a subcommand.\n\n"
    "Exit status: 0 done, 1 the module could not be added, 2 usage error or no mirror.\n";

static const struct option add_options[] = {
    {"mirror", required_argument, NULL, 'm'},
    {"policy", required_argument, NULL, 'P'},
    {NULL, 0, NULL, 0},
};

static const struct option list_options[] = {
    {"mirror", required_argument, NULL, 'm'},
    {"policy", required_argument, NULL, 'P'},
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static const char *const add_operands[] = {"SOURCE", "VERSION", "DIR", NULL};
static const char *const no_operands[] = {NULL};

static const struct cli_command add_command = {
    .name = "mirror add-module",
    .options = add_options,
    .operands = add_operands,
    .min_operands = 3,
    .usage = "Usage: tfjail mirror add-module SOURCE VERSION DIR [--mirror DIR | --policy FILE]\n\n"
             "Copies the module checked out in DIR into the mirror as SOURCE (a registry address;\n"
             "without a hostname, registry.terraform.io) at VERSION, and prints where.  A symbolic\n"
             "link that leaves DIR, a special file, or a version already there is refused; .git\n"
             "and .terraform are left out; the copy appears only once complete.\n\n"
             "Options:\n"
             "  --mirror DIR           the mirror\n"
             "  --policy FILE          the policy whose modules.mirror is the mirror\n\n"
             "Exit status: 0 added, 1 refused or failed, 2 usage error or no mirror.\n",
};

static const struct cli_command list_command = {
    .name = "mirror list",
    .options = list_options,
    .operands = no_operands,
    .min_operands = 0,
    .usage = "Usage: tfjail mirror list [--mirror DIR | --policy FILE] [--output text|json]\n\n"
             "Lists what the mirror holds: each module with its versions, and the git index.\n\n"
             "Options:\n"
             "  --mirror DIR           the mirror\n"
             "  --policy FILE          the policy whose modules.mirror is the mirror\n"
             "  --output text|json     json: "
             "{\"mirror\",\"modules\":[{\"source\",\"versions\"}],\"git\":[...]}\n\n"
             "Exit status: 0, 2 usage error or an unreadable mirror.\n",
};

/* The options both subcommands take; the mirror named by one of them. */
struct mirror_opts {
	const char *mirror, *policy, *output;
	char *from_policy;
	bool done; /* --help was printed, or an error reported */
};

static int parse(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv,
                 struct mirror_opts *o)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	int opt;

	o->output = "text";
	cli_args_init(a, cmd, argc, argv);
	while ((opt = cli_args_next(a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: o->done = true; return a->exit_code;
		case 'm': o->mirror = a->value; break;
		case 'P': o->policy = a->value; break;
		case 'o':
			if (strcmp(a->value, "text") != 0 && strcmp(a->value, "json") != 0)
				return cli_bad_value(a, "text or json");
			o->output = a->value;
			break;
		}
	}
	if (o->mirror && o->policy)
		return cli_command_error(cmd, "give --mirror or --policy, not both");
	if (o->mirror)
		return TJ_EXIT_OK;
	if (!o->policy)
		return cli_command_error(cmd, "which mirror? give --mirror DIR or --policy FILE");
	if (tj_policy_load(o->policy, &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	o->from_policy = strdup(p->module_mirror ? p->module_mirror : "");
	tj_policy_free(p);
	if (!o->from_policy || !*o->from_policy)
		return cli_command_error(cmd, "the policy %s names no module mirror (modules.mirror)",
		                         o->policy);
	o->mirror = o->from_policy;
	return TJ_EXIT_OK;
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

static int mirror_list_cmd(int argc, char **argv)
{
	struct mirror_opts o = {0};
	struct cli_args a;
	struct tj_error err = {0};
	cJSON *l = NULL;
	int rc = parse(&a, &list_command, argc, argv, &o);

	if (rc != TJ_EXIT_OK || o.done)
		goto out;
	if (mirror_list(o.mirror, &l, &err) < 0) {
		rc = cli_usage_error("%s", err.msg);
		goto out;
	}
	if (strcmp(o.output, "json") == 0) {
		char *s = cJSON_Print(l);
		if (s)
			puts(s);
		free(s);
	} else {
		print_list(l);
	}
	cJSON_Delete(l);
out:
	free(o.from_policy);
	return rc;
}

static int mirror_add_cmd(int argc, char **argv)
{
	struct mirror_opts o = {0};
	struct cli_args a;
	struct tj_error err = {0};
	char dest[PATH_MAX];
	int rc = parse(&a, &add_command, argc, argv, &o);

	if (rc != TJ_EXIT_OK || o.done)
		goto out;
	if (mirror_add_module(o.mirror, a.operand[0], a.operand[1], a.operand[2], dest, &err) < 0) {
		fprintf(stderr, "tfjail: %s\n", err.msg);
		rc = TJ_EXIT_FAIL;
		goto out;
	}
	printf("%s\n", dest);
out:
	free(o.from_policy);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"add-module", mirror_add_cmd},
    {"list", mirror_list_cmd},
};

int cmd_mirror(int argc, char **argv)
{
	if (argc < 2)
		return fputs(mirror_usage, stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return fputs(mirror_usage, stdout), TJ_EXIT_OK;
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error("mirror: unknown option '%s' (see tfjail mirror --help)", argv[1]);
	return cli_usage_error("mirror: unknown subcommand '%s' (see tfjail mirror --help)", argv[1]);
}
