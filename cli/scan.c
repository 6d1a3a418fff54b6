#include "cli/cli.h"

int cmd_scan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_usage_error("scan: not available in this build");
}
