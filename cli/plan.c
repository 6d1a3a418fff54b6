#include "cli/cli.h"

int cmd_plan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("plan: not available in this build");
}
