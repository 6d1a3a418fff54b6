/* The subcommands of bin/tfjail.  Each returns the process exit status:
 * 0 success, 1 the work ran and did not succeed, 2 usage / config /
 * prerequisite error (one line on stderr).  `run` returns the command's
 * status (128+signal when killed). */
#ifndef TFJAIL_CLI_CLI_H
#define TFJAIL_CLI_CLI_H

#define TJ_EXIT_OK    0
#define TJ_EXIT_FAIL  1
#define TJ_EXIT_USAGE 2

int cmd_run(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_mirror(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Prints "tfjail: <msg>" to stderr and returns TJ_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
