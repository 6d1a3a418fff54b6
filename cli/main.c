#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"run", cmd_run, "run a command inside a fresh sandbox"},
    {"plan", cmd_plan, "run the Terraform job pipeline on a directory"},
    {"scan", cmd_scan, "static policy scan of a directory (no sandbox, no terraform)"},
    {"policy", cmd_policy, "check, show, test or diff policy files"},
    {"rules", cmd_rules, "list every rule: stage, severity, rationale, example"},
    {"mirror", cmd_mirror, "add modules to the module mirror, list what it holds"},
    {"serve", cmd_serve, "serve the HTTP API"},
    {"version", cmd_version, "print tfjail's version and the terraform version found"},
};

static void usage(FILE *f)
{
	fputs("Usage: tfjail COMMAND [OPTIONS]\n"
	      "       tfjail --version | -v\n\n"
	      "Runs untrusted Terraform in a micro-container and returns the plan as JSON.\n\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n`tfjail COMMAND --help` describes a command.\n\n"
	      "Exit status (every command but run, which exits with its command's status):\n"
	      "  0  success: job SUCCESS, scan without error-severity violations, policy valid;\n"
	      "     warning-severity violations are reported and still exit 0\n"
	      "  1  the work ran and did not succeed: job FAILED or TIMEOUT, error-severity violations\n"
	      "  2  usage error, unreadable or invalid policy or configuration, missing prerequisite\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return usage(stdout), TJ_EXIT_OK;
	/* --version and -v are `tfjail version`, options included */
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error("unknown option '%s' (see tfjail --help)", argv[1]);
	return cli_usage_error("unknown command '%s' (see tfjail --help)", argv[1]);
}
