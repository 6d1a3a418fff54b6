/* Option parsing shared by the subcommands. */
#ifndef TFJAIL_CLI_COMMON_H
#define TFJAIL_CLI_COMMON_H

/* "0.5", "2": CPUs between 0.01 and 1024. */
int cli_parse_cpus(const char *s, double *out);

struct tj_policy;
struct sandbox_runtime;
struct tj_error;

/* The sandbox runtime with the policy's seccomp additions. */
int cli_open_runtime(const struct tj_policy *policy, struct sandbox_runtime **rt, struct tj_error *err);

/* SIGINT, SIGTERM and SIGHUP cancel the running sandbox (which is then
 * killed and cleaned up) instead of ending tfjail at once. */
void cli_cancel_on_signals(void);

#endif
