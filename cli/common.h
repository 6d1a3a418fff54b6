/* Option parsing shared by the subcommands. */
#ifndef TFJAIL_CLI_COMMON_H
#define TFJAIL_CLI_COMMON_H

/* "0.5", "2": CPUs between 0.01 and 1024. */
int cli_parse_cpus(const char *s, double *out);

#endif
