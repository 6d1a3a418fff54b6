/* tfjail run: one command in a fresh sandbox. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/util.h"
#include "executor/job.h"
#include "policy/policy.h"
#include "runtime/sandbox.h"

#define MAX_BINDS 64

/* The host's system directories, so that ordinary programs find their
 * libraries; usrmerge links (/bin -> usr/bin) are recreated as links. */
static const char *const system_dirs[] = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};

static const struct option run_options[] = {
    {"policy", required_argument, NULL, 'P'},
    {"ro-bind", required_argument, NULL, 'b'},
    {"workspace", required_argument, NULL, 'w'},
    {"timeout", required_argument, NULL, 't'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'c'},
    {"pids", required_argument, NULL, 'p'},
    {"no-system-dirs", no_argument, NULL, 'N'},
    {"root", no_argument, NULL, 'R'},
    {NULL, 0, NULL, 0},
};

static const char *const run_operands[] = {"CMD", NULL};

static const struct cli_command run_command = {
    .name = "run",
    .options = run_options,
    .operands = run_operands,
    .min_operands = 1,
    .command_line = true,
    .usage = "Usage: tfjail run [OPTIONS] [--] CMD [ARG...]\n\n"
             "Runs CMD inside a fresh sandbox: new user, mount, pid, network (loopback only), ipc,\n"
             "uts and cgroup namespaces; a read-only root; tmpfs /workspace (the working directory)\n"
             "and /tmp; cgroup limits; seccomp; no capabilities.  stdin, stdout and stderr are\n"
             "passed through.  The host's /usr (and /bin, /lib, ... as on the host) are mounted\n"
             "read-only unless --no-system-dirs is given.\n\n"
             "Options:\n"
             "  --policy FILE          policy whose limits are the defaults (default: built-in)\n"
             "  --ro-bind SRC[:DST]    bind SRC read-only at DST (default DST = SRC); repeatable\n"
             "  --workspace DIR        copy DIR into /workspace\n"
             "  --timeout SECONDS      wall-clock limit, then the whole sandbox is killed\n"
             "  --memory BYTES         memory limit (e.g. 512M, 2G)\n"
             "  --cpus N               CPU limit (e.g. 0.5, 2)\n"
             "  --pids N               process limit\n"
             "  --no-system-dirs       do not mount the host's /usr, /bin, /lib, ...\n"
             "  --root                 run CMD as uid 0 inside (still without capabilities)\n\n"
             "Exit status: CMD's status, 128+signal if it was killed (a timeout or an out-of-memory\n"
             "kill is reported on stderr in one line starting 'tfjail: '), 2 if the sandbox could\n"
             "not be set up.\n",
};

int cmd_run(int argc, char **argv)
{
	const char *policy_path = NULL, *workspace = NULL;
	struct sandbox_bind binds[MAX_BINDS];
	char *bind_args[MAX_BINDS];
	size_t n_binds = 0, n_user_binds = 0;
	bool system_dirs_on = true, as_root = false;
	uint64_t timeout_s = 0, memory = 0, pids = 0;
	bool have_timeout = false, have_memory = false, have_pids = false, have_cpus = false;
	double cpus = 0;
	struct tj_policy *policy = NULL;
	struct sandbox_runtime *rt = NULL;
	struct job_host host;
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct sandbox_result res;
	struct tj_error err = {0};
	char real_ws[4096];
	struct cli_args a;
	int opt, rc = TJ_EXIT_USAGE;

	cli_args_init(&a, &run_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'P': policy_path = a.value; break;
		case 'b':
			if (n_user_binds >= MAX_BINDS - 8)
				return cli_command_error(&run_command, "at most %d --ro-bind options",
				                         MAX_BINDS - 8);
			bind_args[n_user_binds++] = a.value;
			break;
		case 'w': workspace = a.value; break;
		case 't':
			if (tj_parse_u64(a.value, 7 * 24 * 3600, &timeout_s) < 0 || timeout_s == 0)
				return cli_bad_value(&a, "a number of seconds between 1 and 604800");
			have_timeout = true;
			break;
		case 'm':
			if (tj_parse_size(a.value, &memory) < 0 || memory < (4u << 20))
				return cli_bad_value(&a, "a size of at least 4M (e.g. 512M)");
			have_memory = true;
			break;
		case 'c':
			if (cli_parse_cpus(a.value, &cpus) < 0)
				return cli_bad_value(&a, "a number between 0.01 and 1024");
			have_cpus = true;
			break;
		case 'p':
			if (tj_parse_u64(a.value, 4194304, &pids) < 0 || pids < 1)
				return cli_bad_value(&a, "a number between 1 and 4194304");
			have_pids = true;
			break;
		case 'N': system_dirs_on = false; break;
		case 'R': as_root = true; break;
		}
	}

	if (tj_policy_load(policy_path, &policy, &err) < 0)
		return cli_usage_error("%s", err.msg);

	if (system_dirs_on)
		for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
			struct stat st;
			if (lstat(system_dirs[i], &st) == 0)
				binds[n_binds++] = (struct sandbox_bind){system_dirs[i], NULL};
		}
	for (size_t i = 0; i < n_user_binds; i++) {
		char *colon = strchr(bind_args[i], ':');
		if (colon)
			*colon = '\0';
		binds[n_binds++] = (struct sandbox_bind){bind_args[i], colon ? colon + 1 : NULL};
	}
	if (workspace) {
		if (!realpath(workspace, real_ws)) {
			rc = cli_usage_error("run: --workspace %s: %s", workspace, strerror(errno));
			goto out;
		}
		workspace = real_ws;
	}

	{
		struct sandbox_config cfg = {
		    .binds = binds,
		    .n_binds = n_binds,
		    .workspace_src = workspace,
		    .run_as_root = as_root,
		};
		/* the command's environment is built from nothing: no host variable */
		static char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin", env_home[] = "HOME=/workspace",
		            env_tmp[] = "TMPDIR=/tmp", env_lang[] = "LANG=C.UTF-8";
		char *const empty_env[] = {env_path, env_home, env_tmp, env_lang, NULL};
		struct sandbox_cmd cmd = {
		    .argv = a.rest,
		    .envp = empty_env,
		    .cwd = "/workspace",
		    .stdin_fd = 0,
		    .stdout_fd = 1,
		    .stderr_fd = 2,
		    .timeout_ms = (have_timeout ? timeout_s : policy->limits.job_timeout_s) * 1000,
		};
		job_sandbox_limits(policy, &cfg);
		if (have_memory)
			cfg.memory_bytes = memory;
		if (have_cpus)
			cfg.cpus = cpus;
		if (have_pids)
			cfg.pids = pids;
		if (cli_host_settings(&(struct cli_host_values){0}, &host, &err) < 0 ||
		    job_runtime_open(policy, &host, &rt, &err) < 0) {
			rc = cli_usage_error("%s", err.msg);
			goto out;
		}
		cli_cancel_on_signals();
		if (sandbox_create(rt, &cfg, &sb, &fail_step, &fail) < 0) {
			if (sandbox_cancel_signal()) {
				fprintf(stderr, "tfjail: interrupted: the sandbox was killed\n");
				rc = 128 + sandbox_cancel_signal();
			} else {
				rc = cli_usage_error("sandbox setup failed at %s: %s",
				                     sandbox_setup_step_name(fail_step), fail.msg);
			}
			goto out;
		}
		if (sandbox_exec(sb, &cmd, &res, &err) < 0) {
			rc = cli_usage_error("%s", err.msg);
			goto out;
		}
		switch (res.status) {
		case SANDBOX_EXITED: rc = res.exit_code; break;
		case SANDBOX_SIGNALED: rc = 128 + res.signal; break;
		case SANDBOX_TIMEOUT:
			fprintf(stderr, "tfjail: timeout: the sandbox was killed after %llu s\n",
			        (unsigned long long)(cmd.timeout_ms / 1000));
			rc = 128 + SIGKILL;
			break;
		case SANDBOX_OOM:
			fprintf(
			    stderr,
			    "tfjail: out of memory: a process was killed at the memory limit (%llu bytes)\n",
			    (unsigned long long)cfg.memory_bytes);
			rc = res.signal ? 128 + res.signal : res.exit_code ? res.exit_code : 128 + SIGKILL;
			break;
		case SANDBOX_SECCOMP:
			fprintf(stderr,
			        "tfjail: seccomp: the command was killed for a forbidden system call\n");
			rc = 128 + res.signal;
			break;
		case SANDBOX_LOST:
			fprintf(stderr, "tfjail: the sandbox died under the command\n");
			rc = 128 + SIGKILL;
			break;
		case SANDBOX_CANCELED:
			fprintf(stderr, "tfjail: interrupted: the sandbox was killed\n");
			rc = 128 + sandbox_cancel_signal();
			break;
		}
		if (res.pids_limit_hit)
			fprintf(stderr, "tfjail: note: the process limit (%llu) refused a fork\n",
			        (unsigned long long)cfg.pids);
		sandbox_result_free(&res);
	}
out:
	if (sb && sandbox_destroy(sb, &err) < 0)
		fprintf(stderr, "tfjail: cleanup: %s\n", err.msg);
	sandbox_runtime_free(rt);
	tj_policy_free(policy);
	return rc;
}
