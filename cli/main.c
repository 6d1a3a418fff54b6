#include <stdarg.h>
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
    {"policy", cmd_policy, "check or show a policy file"},
    {"mirror", cmd_mirror, "add modules to the module mirror, list what it holds"},
    {"serve", cmd_serve, "serve the HTTP API"},
    {"version", cmd_version, "print tfjail's version and the terraform version found"},
};

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tfjail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TJ_EXIT_USAGE;
}

static void usage(FILE *f)
{
	fputs("Usage: tfjail COMMAND [OPTIONS]\n\n"
	      "Runs untrusted Terraform in a micro-container and returns the plan as JSON.\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n`tfjail COMMAND --help` describes a command.\n"
	      "Exit status: 0 success, 1 the work ran and did not succeed, 2 usage or setup error.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout), TJ_EXIT_OK;
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s' (see tfjail --help)", argv[1]);
}
