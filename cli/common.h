/* Option parsing shared by the subcommands. */
#ifndef TFJAIL_CLI_COMMON_H
#define TFJAIL_CLI_COMMON_H

/* "0.5", "2": CPUs between 0.01 and 1024. */
int cli_parse_cpus(const char *s, double *out);

/* SIGINT, SIGTERM and SIGHUP cancel the running sandbox (which is then
 * killed and cleaned up) instead of ending tfjail at once. */
void cli_cancel_on_signals(void);

#endif
