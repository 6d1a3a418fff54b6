/* What the subcommands share: one option parser, the usage errors, the
 * signal handling of the commands that run a sandbox. */
#ifndef TFJAIL_CLI_COMMON_H
#define TFJAIL_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>
#include "executor/job.h"

/* A subcommand as the option parser sees it.  Every subcommand is parsed by
 * cli_args_next() (getopt_long underneath), so that the same mistake gets
 * the same words everywhere:
 *
 *   tfjail: CMD: unknown option 'ARG' (see tfjail CMD --help)
 *   tfjail: CMD: option 'ARG' needs a value (see tfjail CMD --help)
 *   tfjail: CMD: option 'ARG' takes no value (see tfjail CMD --help)
 *   tfjail: CMD: missing OPERAND (see tfjail CMD --help)
 *   tfjail: CMD: unexpected argument 'ARG' (see tfjail CMD --help)
 *   tfjail: CMD: --OPTION wants WHAT, not 'VALUE'        (cli_bad_value)
 *
 * ARG is the argument exactly as it was typed, at its place on the command
 * line: argv is never reordered (operands and options may be mixed; `--`
 * ends the options). */
struct cli_command {
	const char *name;             /* "plan", "policy check" */
	const char *usage;            /* the whole of --help's text */
	const struct option *options; /* {NULL} terminated; --help/-h is added */
	const char *shortopts;        /* short options other than -h ("q"), or NULL */
	const char *const *operands;  /* names of the operands, NULL terminated */
	size_t min_operands;
	/* The last operand starts a command line: options stop there and
	 * everything after it is kept as is (run's CMD [ARG...]). */
	bool command_line;
};

#define CLI_MAX_OPERANDS 4
#define CLI_MAX_OPTIONS  32

/* Returned by cli_args_next besides an option's `val`. */
enum {
	CLI_END = -1,  /* all arguments read; operands are in a->operand */
	CLI_EXIT = -2, /* --help was printed or an error reported: return a->exit_code */
};

struct cli_args {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	char *value;        /* the value of the option just returned */
	const char *option; /* that option as typed: "--timeout", "-q" */
	const char *operand[CLI_MAX_OPERANDS];
	size_t n_operands;
	char **rest; /* command_line: the operand and what follows */
	int n_rest;
	int exit_code;
	struct option longopts[CLI_MAX_OPTIONS + 2];
	char shortopts[64];
	char option_buf[64];
};

void cli_args_init(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv);

/* The next option's `val` (value in a->value), CLI_END after the last
 * argument once the operands are counted, or CLI_EXIT. */
int cli_args_next(struct cli_args *a);

/* Reports "CMD: OPTION wants WANTS, not 'VALUE'" for the option just returned
 * and gives TJ_EXIT_USAGE. */
int cli_bad_value(const struct cli_args *a, const char *wants);

/* Reports "CMD: MSG (see tfjail CMD --help)" and gives TJ_EXIT_USAGE. */
int cli_command_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --output FORMAT of the commands that report findings. */
enum cli_format {
	CLI_FORMAT_TEXT = 1 << 0,
	CLI_FORMAT_JSON = 1 << 1,
	CLI_FORMAT_SARIF = 1 << 2,
	CLI_FORMAT_JUNIT = 1 << 3,
};

/* The format named s if it is one of allowed (a mask), else -1. */
int cli_parse_format(const char *s, unsigned allowed, enum cli_format *out);

struct tj_scan_result;
struct tj_policy;

/* Prints findings on stdout: text (one line each, suppressed ones with the
 * policy's reason), json ({"violations":[...]} and "suppressed" when any),
 * sarif or junit (suite names the command).  -1 when stdout fails. */
int cli_print_findings(const struct tj_scan_result *res, const struct tj_policy *p, enum cli_format f,
                       const char *suite);

/* Prints a cJSON Violation array as sarif or junit; -1 when stdout fails. */
int cli_print_report(const cJSON *violations, const cJSON *suppressed, const struct tj_policy *p,
                     enum cli_format f, const char *suite);

/* "0.5", "2": CPUs between 0.01 and 1024. */
int cli_parse_cpus(const char *s, double *out);

/* Host settings as text, from the configuration file (serve) or NULL. */
struct cli_host_values {
	const char *terraform, *plugin_dir, *cgroup_parent, *uid_range;
};

/* Fills h from v, after the documented environment overrides (each replaces
 * its value in v when set and not empty): TFJAIL_TERRAFORM,
 * TFJAIL_PLUGIN_DIR, TFJAIL_CGROUP_PARENT, TFJAIL_UID_RANGE=BASE:SLOTS.
 * The only place tfjail reads its settings from the environment. */
int cli_host_settings(struct cli_host_values *v, struct job_host *h, struct tj_error *err);

/* SIGINT, SIGTERM and SIGHUP cancel the running sandbox (which is then
 * killed and cleaned up) instead of ending tfjail at once. */
void cli_cancel_on_signals(void);

#endif
