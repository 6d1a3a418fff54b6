#include <stdio.h>

#include "cli/cli.h"

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("tfjail %s\n", TFJAIL_VERSION);
	return TJ_EXIT_OK;
}
