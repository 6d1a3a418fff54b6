/* tfjail policy check FILE | tfjail policy show [FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "policy/policy.h"

static const char policy_usage[] =
    "Usage: tfjail policy check FILE\n"
    "       tfjail policy show [FILE]\n\n"
    "check  validates a policy file; an error names the file, the JSON path and why.\n"
    "show   prints the effective policy (defaults filled in, every rule with its\n"
    "       severity and rationale) as JSON; without FILE, the built-in default.\n\n"
    "`tfjail policy SUBCOMMAND --help` describes a subcommand.\n\n"
    "Exit status: 0 valid, 2 usage error or invalid policy.\n";

static const char *const file_operand[] = {"FILE", NULL};

static const struct cli_command check_command = {
    .name = "policy check",
    .operands = file_operand,
    .min_operands = 1,
    .usage = "Usage: tfjail policy check FILE\n\n"
             "Validates a policy file; an error names the file, the JSON path and why.\n\n"
             "Exit status: 0 valid, 2 usage error or invalid policy.\n",
};

static const struct cli_command show_command = {
    .name = "policy show",
    .operands = file_operand,
    .min_operands = 0,
    .usage = "Usage: tfjail policy show [FILE]\n\n"
             "Prints the effective policy (defaults filled in, every rule with its severity and\n"
             "rationale) as JSON; without FILE, the built-in default.\n\n"
             "Exit status: 0, 2 usage error or invalid policy.\n",
};

/* Reads the options of a policy subcommand that has none but --help. */
static int parse_operands(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv)
{
	int opt;

	cli_args_init(a, cmd, argc, argv);
	while ((opt = cli_args_next(a)) != CLI_END)
		if (opt == CLI_EXIT)
			return -1;
	return 0;
}

static int policy_check(int argc, char **argv)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	const char *file;

	if (parse_operands(&a, &check_command, argc, argv) < 0)
		return a.exit_code;
	file = a.operand[0];
	if (tj_policy_load(file, &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	printf("%s: valid (policy %s, sha256 %s)\n", file, p->name, p->sha256);
	tj_policy_free(p);
	return TJ_EXIT_OK;
}

static int policy_show(int argc, char **argv)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	cJSON *j;
	char *s;

	if (parse_operands(&a, &show_command, argc, argv) < 0)
		return a.exit_code;
	if (tj_policy_load(a.operand[0], &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	j = tj_policy_to_json(p);
	s = j ? cJSON_Print(j) : NULL;
	tj_policy_free(p);
	cJSON_Delete(j);
	if (!s)
		return cli_usage_error("policy show: out of memory");
	puts(s);
	free(s);
	return TJ_EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"check", policy_check},
    {"show", policy_show},
};

int cmd_policy(int argc, char **argv)
{
	if (argc < 2)
		return fputs(policy_usage, stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return fputs(policy_usage, stdout), TJ_EXIT_OK;
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error("policy: unknown option '%s' (see tfjail policy --help)", argv[1]);
	return cli_usage_error("policy: unknown subcommand '%s' (see tfjail policy --help)", argv[1]);
}
