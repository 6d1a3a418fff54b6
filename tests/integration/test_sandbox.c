/* The sandbox, for real: the probe program (tests/probes/probe.c) runs inside
 * it and checks each isolation property from the inside.
 *
 * Suites:
 *   sandbox         isolation (filesystem, network, pids, credentials, env,
 *                   seccomp, workspace copy, setup errors)
 *   sandbox_cgroup  everything that touches cgroups (limits, OOM, pids,
 *                   timeout kill, clean-up); also run in the cgroup v2 guest
 * Both need root (CI is root): without it they fail, they never skip. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "executor/job.h"
#include "runtime/helper.h"
#include "runtime/sandbox.h"
#include "tests/testutil.h"

static struct sandbox_runtime *rt;
static char probe_dir[PATH_MAX];

static void require_root(void)
{
	ck_assert_msg(tj_test_is_root(), "the sandbox tests need root (CI runs them as root)");
}

static void rt_setup(void)
{
	struct tj_error err = {0};
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	char buf[PATH_MAX];

	require_root();
	snprintf(buf, sizeof(buf), "%s", tj_test_probe("probe"));
	ck_assert_msg(access(buf, X_OK) == 0, "probe not built at %s (make probes)", buf);
	ck_assert_ptr_nonnull(realpath(dirname(buf), probe_dir));
	ck_assert_msg(sandbox_runtime_open(&o, &rt, &err) == 0, "%s", err.msg);
}

static void rt_teardown(void)
{
	sandbox_runtime_free(rt);
	rt = NULL;
}

static void base_config(struct sandbox_config *cfg, struct sandbox_bind *bind)
{
	memset(cfg, 0, sizeof(*cfg));
	bind->src = probe_dir;
	bind->dst = "/probe";
	cfg->binds = bind;
	cfg->n_binds = 1;
	cfg->memory_bytes = 256ull << 20;
	cfg->pids = 64;
	cfg->cpus = 1;
}

/* Runs /probe/probe ARGS in a fresh sandbox with cfg; fills res. */
static void run_cfg(const struct sandbox_config *cfg, uint64_t timeout_ms, struct sandbox_result *res,
                    char *const args[])
{
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err = {0};
	char *argv[16];
	size_t n = 0;
	static char probe[] = "/probe/probe";
	static char env0[] = "PATH=/probe";
	char *envp[] = {env0, NULL};
	struct sandbox_cmd cmd = {
	    .envp = envp, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .timeout_ms = timeout_ms};

	argv[n++] = probe;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cmd.argv = argv;
	ck_assert_msg(sandbox_create(rt, cfg, &sb, &fail_step, &fail) == 0, "setup failed at %s: %s",
	              sandbox_setup_step_name(fail_step), fail.msg);
	ck_assert_msg(sandbox_exec(sb, &cmd, res, &err) == 0, "%s", err.msg);
	ck_assert_msg(sandbox_destroy(sb, &err) == 0, "%s", err.msg);
}

static void run_probe(struct sandbox_result *res, char *const args[])
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;

	base_config(&cfg, &bind);
	run_cfg(&cfg, 20000, res, args);
}

#define PROBE(res, ...)                                                                                      \
	do {                                                                                                 \
		char *_a[] = {__VA_ARGS__, NULL};                                                            \
		run_probe((res), _a);                                                                        \
	} while (0)

static void assert_probe_ok(const struct sandbox_result *res, const char *what)
{
	ck_assert_msg(res->status == SANDBOX_EXITED && res->exit_code == 0,
	              "%s: status %s exit %d signal %d\nstdout:\n%s\nstderr:\n%s", what,
	              sandbox_status_name(res->status), res->exit_code, res->signal, res->out ? res->out : "",
	              res->err ? res->err : "");
}

/* ------------------------------------------------------------ isolation */

START_TEST(root_and_usr_are_read_only)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind binds[2];
	char *args[] = {(char *)"write-fail", (char *)"/", (char *)"/usr", (char *)"/etc", (char *)"/dev",
	                (char *)"/probe",     NULL};

	base_config(&cfg, &binds[0]);
	binds[1] = (struct sandbox_bind){"/usr", NULL};
	cfg.binds = binds;
	cfg.n_binds = 2;
	run_cfg(&cfg, 20000, &res, args);
	assert_probe_ok(&res, "write-fail");
	sandbox_result_free(&res);
}
END_TEST

/* /proc as OCI runtimes leave it: every masked path is empty (or absent on
 * this kernel), every read-only path is on a read-only mount. */
START_TEST(proc_is_masked_and_read_only)
{
	struct sandbox_result res;
	char *masked[] = {
	    (char *)"masked",           (char *)"/proc/acpi",        (char *)"/proc/asound",
	    (char *)"/proc/kcore",      (char *)"/proc/keys",        (char *)"/proc/latency_stats",
	    (char *)"/proc/timer_list", (char *)"/proc/timer_stats", (char *)"/proc/sched_debug",
	    (char *)"/proc/scsi",       (char *)"/proc/config.gz",   (char *)"/proc/cmdline",
	    (char *)"/dev/ptmx",        (char *)"/dev/pts",          NULL};
	char *ro[] = {(char *)"readonly",
	              (char *)"/proc/bus",
	              (char *)"/proc/fs",
	              (char *)"/proc/irq",
	              (char *)"/proc/sys",
	              (char *)"/proc/sys/kernel/hostname",
	              (char *)"/proc/sys/user/max_inotify_instances",
	              (char *)"/proc/sysrq-trigger",
	              NULL};

	run_probe(&res, masked);
	assert_probe_ok(&res, "masked");
	/* this kernel has a command line and a /proc/keys: they were masked, not absent */
	ck_assert_ptr_nonnull(strstr(res.out, "masked /proc/cmdline /dev/null, 0 bytes"));
	ck_assert_ptr_nonnull(strstr(res.out, "masked /proc/keys /dev/null, 0 bytes"));
	/* no pty can be made inside */
	ck_assert_ptr_nonnull(strstr(res.out, "masked /dev/ptmx absent"));
	ck_assert_ptr_nonnull(strstr(res.out, "masked /dev/pts absent"));
	sandbox_result_free(&res);
	run_probe(&res, ro);
	assert_probe_ok(&res, "readonly");
	ck_assert_ptr_nonnull(strstr(res.out, "readonly /proc/sys read-only mount"));
	sandbox_result_free(&res);
}
END_TEST

/* Only /tmp and /workspace are writable: /, the binds (/usr, the provider
 * mirror at /plugins), the runner files at /run/tfjail, /etc, /dev and
 * /proc/sys are not. */
START_TEST(only_tmp_and_workspace_are_writable)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind binds[3];
	struct sandbox_file file = {"terraformrc", "plugin_cache_dir = \"\"\n", 0644};
	char *ro_dirs[] = {(char *)"write-fail", (char *)"/",           (char *)"/usr",
	                   (char *)"/plugins",   (char *)"/run/tfjail", (char *)"/etc",
	                   (char *)"/dev",       (char *)"/probe",      NULL};
	char *ro_mounts[] = {(char *)"readonly",
	                     (char *)"/",
	                     (char *)"/plugins",
	                     (char *)"/run/tfjail",
	                     (char *)"/run/tfjail/terraformrc",
	                     (char *)"/proc/sys",
	                     NULL};
	char *rw[] = {(char *)"write-fail", (char *)"/tmp", (char *)"/workspace", NULL};

	base_config(&cfg, &binds[0]);
	binds[1] = (struct sandbox_bind){"/usr", NULL};
	binds[2] = (struct sandbox_bind){probe_dir, "/plugins"};
	cfg.binds = binds;
	cfg.n_binds = 3;
	cfg.files = &file;
	cfg.n_files = 1;
	run_cfg(&cfg, 20000, &res, ro_dirs);
	assert_probe_ok(&res, "write-fail");
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, ro_mounts);
	assert_probe_ok(&res, "readonly");
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, rw);
	ck_assert_int_eq(res.exit_code, 1);
	ck_assert_ptr_nonnull(strstr(res.out, "write-fail /tmp writable"));
	ck_assert_ptr_nonnull(strstr(res.out, "write-fail /workspace writable"));
	sandbox_result_free(&res);
}
END_TEST

static int helper_ids(void *ctx, int fd)
{
	char buf[128];
	/* no_new_privs holds: without it an unprivileged process cannot load a filter */
	int n = snprintf(buf, sizeof(buf), "%u %u", (unsigned)getuid(), (unsigned)geteuid());
	(void)ctx;
	return tj_write_all(fd, buf, (size_t)n) < 0 ? -1 : 0;
}

static int helper_opens(void *ctx, int fd)
{
	int f = open((const char *)ctx, O_RDONLY | O_CLOEXEC);
	(void)fd;
	return f >= 0 ? 0 : -1; /* never returns: open is not in the filter */
}

static int helper_floods(void *ctx, int fd)
{
	static char buf[65536];
	(void)ctx;
	for (int i = 0; i < 64; i++)
		if (tj_write_all(fd, buf, sizeof(buf)) < 0)
			return -1;
	return 0;
}

static int helper_spins(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

/* The helper that parses what comes out of a sandbox runs as the sandbox's
 * unprivileged host uid with no_new_privs; anything but memory, its pipe and
 * exit kills it; its answer is bounded in size and time. */
START_TEST(parsing_helper_is_unprivileged_and_filtered)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb = NULL;
	struct tj_error fail, err;
	enum sandbox_setup_step fail_step;
	char *out = NULL, want[64];
	size_t len;

	base_config(&cfg, &bind);
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);
	ck_assert_msg(sandbox_helper_run(sb, helper_ids, NULL, 128, 10000, &out, &len, &err) == 0, "%s",
	              err.msg);
	snprintf(want, sizeof(want), "%u %u", (unsigned)sandbox_host_uid(sb), (unsigned)sandbox_host_uid(sb));
	ck_assert_str_eq(out, want);
	ck_assert_uint_ne(sandbox_host_uid(sb), 0);
	free(out);
	ck_assert_int_lt(
	    sandbox_helper_run(sb, helper_opens, (void *)"/etc/hostname", 128, 10000, &out, &len, &err), 0);
	ck_assert_msg(strstr(err.msg, "signal 31"), "%s", err.msg); /* SIGSYS */
	ck_assert_int_lt(sandbox_helper_run(sb, helper_floods, NULL, 1 << 20, 10000, &out, &len, &err), 0);
	ck_assert_int_eq(err.errnum, E2BIG);
	ck_assert_int_lt(sandbox_helper_run(sb, helper_spins, NULL, 128, 300, &out, &len, &err), 0);
	ck_assert_int_eq(err.errnum, ETIMEDOUT);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

START_TEST(only_loopback_is_up)
{
	struct sandbox_result res;

	PROBE(&res, (char *)"netifs");
	assert_probe_ok(&res, "netifs");
	ck_assert_ptr_nonnull(strstr(res.out, "lo"));
	sandbox_result_free(&res);
}
END_TEST

START_TEST(host_loopback_listener_is_unreachable)
{
	struct sandbox_result res;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	char port[16];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s, 8), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	PROBE(&res, (char *)"connect", (char *)"127.0.0.1", port);
	assert_probe_ok(&res, "connect");
	sandbox_result_free(&res);
	close(s);
}
END_TEST

START_TEST(pid1_is_the_sandbox_init)
{
	struct sandbox_result res;

	PROBE(&res, (char *)"pid1", (char *)"--init-comm", (char *)"tfjail-init", (char *)"--max-pids",
	      (char *)"2");
	assert_probe_ok(&res, "pid1");
	sandbox_result_free(&res);
}
END_TEST

/* A container's root has no CAP_KILL (docs/container.md), and the sandbox's
 * processes run as the slot's uids: destroying the sandbox must still kill
 * and reap its PID 1 (it once waited for it forever). */
START_TEST(sandbox_is_destroyed_without_cap_kill)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	struct sandbox_result res;

	ck_assert_int_eq(syscall(SYS_capget, &hdr, data), 0);
	data[0].effective &= ~(1u << CAP_KILL);
	data[0].permitted &= ~(1u << CAP_KILL);
	ck_assert_int_eq(syscall(SYS_capset, &hdr, data), 0);
	PROBE(&res, (char *)"pid1", (char *)"--init-comm", (char *)"tfjail-init", (char *)"--max-pids",
	      (char *)"2");
	assert_probe_ok(&res, "pid1 without CAP_KILL");
	sandbox_result_free(&res);
}
END_TEST

START_TEST(no_capabilities_no_new_privs_seccomp)
{
	struct sandbox_result res;

	PROBE(&res, (char *)"status");
	assert_probe_ok(&res, "status");
	sandbox_result_free(&res);
}
END_TEST

START_TEST(blocked_syscalls_fail)
{
	struct sandbox_result res;

	PROBE(&res, (char *)"syscalls");
	assert_probe_ok(&res, "syscalls");
	sandbox_result_free(&res);
}
END_TEST

START_TEST(only_stdio_fds_inside)
{
	struct sandbox_result res;
	int leak = open("/dev/null", O_RDONLY); /* not CLOEXEC on purpose */

	ck_assert_int_ge(leak, 0);
	PROBE(&res, (char *)"fds");
	assert_probe_ok(&res, "fds");
	sandbox_result_free(&res);
	close(leak);
}
END_TEST

START_TEST(host_environment_is_invisible)
{
	struct sandbox_result res;
	char secret[64];

	snprintf(secret, sizeof(secret), "hostsecret%d%ld", (int)getpid(), (long)tj_now_us());
	ck_assert_int_eq(setenv("TFJAIL_TEST_SECRET", secret, 1), 0);
	ck_assert_int_eq(setenv("AWS_SECRET_ACCESS_KEY", secret, 1), 0);
	PROBE(&res, (char *)"grep-env", secret);
	assert_probe_ok(&res, "grep-env");
	ck_assert_ptr_null(strstr(res.out, secret + 1));
	sandbox_result_free(&res);
	unsetenv("TFJAIL_TEST_SECRET");
	unsetenv("AWS_SECRET_ACCESS_KEY");
}
END_TEST

START_TEST(tfjail_binary_is_invisible)
{
	struct sandbox_result res;

	/* /proc/1/exe would be the tfjail binary: PID 1 is not dumpable, so the
	 * unprivileged command cannot follow it */
	PROBE(&res, (char *)"cat", (char *)"/proc/1/exe");
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 1, "/proc/1/exe was readable: %s",
	              res.out);
	sandbox_result_free(&res);
	PROBE(&res, (char *)"cat", (char *)"/proc/1/environ");
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 1, "/proc/1/environ was readable");
	sandbox_result_free(&res);
}
END_TEST

START_TEST(host_uid_is_unprivileged_and_distinct)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *a = NULL, *b = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err;
	char path[64], *status = NULL;
	unsigned long ruid, euid;

	base_config(&cfg, &bind);
	ck_assert_msg(sandbox_create(rt, &cfg, &a, &fail_step, &fail) == 0, "%s: %s",
	              sandbox_setup_step_name(fail_step), fail.msg);
	ck_assert_msg(sandbox_create(rt, &cfg, &b, &fail_step, &fail) == 0, "%s: %s",
	              sandbox_setup_step_name(fail_step), fail.msg);
	ck_assert_uint_ne(sandbox_host_uid(a), sandbox_host_uid(b));
	/* PID 1 runs with the command's credentials: read them from the host */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)sandbox_pid(a));
	ck_assert_int_eq(tj_read_file(path, 1 << 16, &status, NULL, &err), 0);
	ck_assert_int_eq(sscanf(strstr(status, "\nUid:") + 5, "%lu %lu", &ruid, &euid), 2);
	ck_assert_uint_eq(ruid, sandbox_host_uid(a));
	ck_assert_uint_eq(euid, sandbox_host_uid(a));
	ck_assert_uint_ge(ruid, 65536); /* far from any system or login uid */
	ck_assert_ptr_nonnull(strstr(status, "CapEff:\t0000000000000000"));
	free(status);
	ck_assert_int_eq(sandbox_destroy(a, &err), 0);
	ck_assert_int_eq(sandbox_destroy(b, &err), 0);
}
END_TEST

START_TEST(command_exit_code_and_signal)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"write-fail", (char *)"/workspace", NULL};

	/* /workspace is writable: the probe reports the property does not hold */
	base_config(&cfg, &bind);
	run_cfg(&cfg, 20000, &res, args);
	ck_assert_int_eq(res.status, SANDBOX_EXITED);
	ck_assert_int_eq(res.exit_code, 1);
	sandbox_result_free(&res);
}
END_TEST

START_TEST(missing_command_is_reported)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct sandbox_result res;
	struct tj_error err;
	static char a0[] = "no-such-program";
	char *argv[] = {a0, NULL};
	struct sandbox_cmd cmd = {.argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};

	base_config(&cfg, &bind);
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);
	ck_assert_int_eq(sandbox_exec(sb, &cmd, &res, &err), 0);
	ck_assert_int_eq(res.status, SANDBOX_EXITED);
	ck_assert_int_eq(res.exit_code, 127);
	ck_assert_ptr_nonnull(strstr(res.err, "cannot execute no-such-program"));
	sandbox_result_free(&res);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

START_TEST(setup_failure_names_step_and_path)
{
	struct sandbox_config cfg;
	struct sandbox_bind binds[2];
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;

	base_config(&cfg, &binds[0]);
	binds[1] = (struct sandbox_bind){"/nonexistent/tfjail-test", "/x"};
	cfg.binds = binds;
	cfg.n_binds = 2;
	ck_assert_int_eq(sandbox_create(rt, &cfg, &sb, &fail_step, &fail), -1);
	ck_assert_int_eq(fail_step, SANDBOX_SETUP_ROOTFS);
	ck_assert_int_eq(fail.errnum, ENOENT);
	ck_assert_ptr_nonnull(strstr(fail.msg, "/nonexistent/tfjail-test"));
}
END_TEST

START_TEST(output_is_capped_and_flagged)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct sandbox_result res;
	struct tj_error err;
	static char a0[] = "/probe/probe", a1[] = "mounts";
	char *argv[] = {a0, a1, NULL};
	struct sandbox_cmd cmd = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .capture_max = 100};

	base_config(&cfg, &bind);
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);
	ck_assert_int_eq(sandbox_exec(sb, &cmd, &res, &err), 0);
	ck_assert_int_eq(res.status, SANDBOX_EXITED);
	ck_assert_uint_eq(res.out_len, 100);
	ck_assert(res.out_truncated);
	ck_assert(!res.err_truncated);
	sandbox_result_free(&res);
	/* the same sandbox runs a second command */
	cmd.capture_max = 0;
	ck_assert_int_eq(sandbox_exec(sb, &cmd, &res, &err), 0);
	ck_assert(!res.out_truncated);
	ck_assert_ptr_nonnull(strstr(res.out, " /workspace "));
	sandbox_result_free(&res);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

static bool exclude_dot_terraform(const char *rel, const struct stat *st, void *ctx)
{
	(void)st;
	(void)ctx;
	return strcmp(rel, ".terraform") == 0;
}

START_TEST(workspace_is_copied_in)
{
	char dir[] = "/tmp/tfjail-ws-XXXXXX";
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"ls", (char *)"/workspace/sub", NULL};
	char *args2[] = {(char *)"ls", (char *)"/workspace", NULL};

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	chmod(dir, 0755);
	tj_test_write(dir, "main.tf", "resource \"terraform_data\" \"x\" {}\n");
	tj_test_write(dir, "sub/inner.tf", "# inner\n");
	tj_test_write(dir, ".terraform/providers/evil", "binary");
	{
		char link[PATH_MAX];
		snprintf(link, sizeof(link), "%s/sub/link.tf", dir);
		ck_assert_int_eq(symlink("../main.tf", link), 0); /* stays inside: kept */
	}
	base_config(&cfg, &bind);
	cfg.workspace_src = dir;
	cfg.workspace_exclude = exclude_dot_terraform;
	run_cfg(&cfg, 20000, &res, args);
	assert_probe_ok(&res, "ls sub");
	ck_assert_ptr_nonnull(strstr(res.out, "inner.tf"));
	ck_assert_ptr_nonnull(strstr(res.out, "link.tf"));
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, args2);
	assert_probe_ok(&res, "ls");
	ck_assert_ptr_nonnull(strstr(res.out, "main.tf"));
	ck_assert_ptr_null(strstr(res.out, ".terraform"));
	sandbox_result_free(&res);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(workspace_below_a_private_directory)
{
	char dir[] = "/tmp/tfjail-private-XXXXXX", up[PATH_MAX];
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"ls", (char *)"/workspace", NULL};

	/* like /root: only root may pass; the upload itself is world-readable */
	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0700), 0);
	snprintf(up, sizeof(up), "%s/upload", dir);
	tj_test_write(up, "main.tf", "# x\n");
	base_config(&cfg, &bind);
	cfg.workspace_src = up;
	run_cfg(&cfg, 20000, &res, args);
	assert_probe_ok(&res, "ls");
	ck_assert_ptr_nonnull(strstr(res.out, "main.tf"));
	sandbox_result_free(&res);
	tj_test_rm_rf(dir);
}
END_TEST

/* A bind's source is opened by the host: it may lie below a directory only
 * root may pass (an operator's module mirror under /root), and it is
 * read-only inside like every bind. */
START_TEST(bind_below_a_private_directory)
{
	char dir[] = "/tmp/tfjail-privbind-XXXXXX", data[PATH_MAX];
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind binds[2];
	char *cat[] = {(char *)"cat", (char *)"/data/file", NULL};
	char *ro[] = {(char *)"write-fail", (char *)"/data", NULL};

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0700), 0);
	snprintf(data, sizeof(data), "%s/data", dir);
	tj_test_write(data, "file", "behind a private directory\n");
	base_config(&cfg, &binds[0]);
	binds[1] = (struct sandbox_bind){data, "/data"};
	cfg.n_binds = 2;
	run_cfg(&cfg, 20000, &res, cat);
	assert_probe_ok(&res, "cat");
	ck_assert_ptr_nonnull(strstr(res.out, "behind a private directory"));
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, ro);
	assert_probe_ok(&res, "write-fail");
	sandbox_result_free(&res);
	tj_test_rm_rf(dir);
}
END_TEST

/* The upload given as a host fd (O_PATH, opened beneath the uploads
 * directory by the caller): the path is not resolved again, even when it
 * has been replaced by a symlink to a host directory meanwhile. */
START_TEST(workspace_from_a_host_fd)
{
	char dir[] = "/tmp/tfjail-byfd-XXXXXX", up[PATH_MAX], moved[PATH_MAX];
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"ls", (char *)"/workspace", NULL};
	int fd;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	snprintf(up, sizeof(up), "%s/upload", dir);
	snprintf(moved, sizeof(moved), "%s/moved", dir);
	tj_test_write(up, "main.tf", "# x\n");
	fd = open(up, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(rename(up, moved), 0);
	ck_assert_int_eq(symlink("/etc", up), 0);
	base_config(&cfg, &bind);
	cfg.workspace_fd = fd;
	run_cfg(&cfg, 20000, &res, args);
	assert_probe_ok(&res, "ls");
	ck_assert_ptr_nonnull(strstr(res.out, "main.tf"));
	ck_assert_ptr_null(strstr(res.out, "passwd"));
	sandbox_result_free(&res);
	close(fd);
	tj_test_rm_rf(dir);
}
END_TEST

/* What the inspection writes for the commands (the manifest of mirrored
 * modules) is read-only to them once written; the rest of /tmp is not. */
static ssize_t write_for_commands(const char *workspace, void *ctx, char *out, size_t max,
                                  struct tj_error *err)
{
	(void)workspace;
	(void)ctx;
	if (max < 2 || tj_mkdir_p("/tmp/sealed", 0755, err) < 0 ||
	    tj_write_file("/tmp/sealed/manifest", "from the inspection\n", 20, 0644, err) < 0)
		return -1;
	memcpy(out, "ok", 2);
	return 2;
}

START_TEST(inspection_output_is_sealed)
{
	char dir[] = "/tmp/tfjail-ws-XXXXXX";
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *cat[] = {(char *)"cat", (char *)"/tmp/sealed/manifest", NULL};
	char *ro[] = {(char *)"readonly", (char *)"/tmp/sealed", (char *)"/tmp/sealed/manifest", NULL};
	char *wf[] = {(char *)"write-fail", (char *)"/tmp/sealed", NULL};

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	chmod(dir, 0755);
	tj_test_write(dir, "main.tf", "# x\n");
	base_config(&cfg, &bind);
	cfg.workspace_src = dir;
	cfg.workspace_inspect = write_for_commands;
	cfg.inspect_seal = "/tmp/sealed";
	run_cfg(&cfg, 20000, &res, cat);
	assert_probe_ok(&res, "cat");
	ck_assert_ptr_nonnull(strstr(res.out, "from the inspection"));
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, ro);
	assert_probe_ok(&res, "readonly");
	sandbox_result_free(&res);
	run_cfg(&cfg, 20000, &res, wf);
	assert_probe_ok(&res, "write-fail");
	ck_assert_ptr_nonnull(strstr(res.out, "EROFS"));
	sandbox_result_free(&res);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(workspace_symlink_escape_is_refused)
{
	char dir[] = "/tmp/tfjail-ws-XXXXXX", link[PATH_MAX];
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	chmod(dir, 0755);
	tj_test_write(dir, "main.tf", "# x\n");
	snprintf(link, sizeof(link), "%s/shadow.tf", dir);
	ck_assert_int_eq(symlink("/etc/shadow", link), 0);
	base_config(&cfg, &bind);
	cfg.workspace_src = dir;
	ck_assert_int_eq(sandbox_create(rt, &cfg, &sb, &fail_step, &fail), -1);
	ck_assert_int_eq(fail_step, SANDBOX_SETUP_WORKSPACE_INVALID);
	ck_assert_ptr_nonnull(strstr(fail.msg, "shadow.tf"));
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(cli_run_passes_stdio_and_status)
{
	char *out = NULL, *err = NULL;
	char bindarg[PATH_MAX + 16];
	char *argv[] = {(char *)tj_test_bin(), (char *)"run",          (char *)"--ro-bind", bindarg,
	                (char *)"--",          (char *)"/probe/probe", (char *)"uid",       NULL};
	int st;

	snprintf(bindarg, sizeof(bindarg), "%s:/probe", probe_dir);
	st = tj_test_spawn(argv, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d, stderr: %s", st, err);
	ck_assert_ptr_nonnull(strstr(out, "1000"));
	free(out);
	free(err);
}
END_TEST

/* ------------------------------------------------------------ cgroups */

START_TEST(limits_are_set_in_the_cgroup)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err;
	char path[PATH_MAX], *v = NULL;
	bool v2 = sandbox_runtime_cgroup_mode(rt) == CGROUP_MODE_V2;

	base_config(&cfg, &bind);
	cfg.memory_bytes = 200ull << 20;
	cfg.pids = 77;
	cfg.cpus = 0.5;
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);

	snprintf(path, sizeof(path), "%s/%s", sandbox_cgroup_path(sb, "memory"),
	         v2 ? "memory.max" : "memory.limit_in_bytes");
	ck_assert_msg(tj_read_file(path, 4096, &v, NULL, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(strtoull(v, NULL, 10), 200ull << 20);
	free(v);
	snprintf(path, sizeof(path), "%s/pids.max", sandbox_cgroup_path(sb, "pids"));
	ck_assert_msg(tj_read_file(path, 4096, &v, NULL, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(strtoull(v, NULL, 10), 77);
	free(v);
	if (v2) {
		snprintf(path, sizeof(path), "%s/cpu.max", sandbox_cgroup_path(sb, "cpu"));
		ck_assert_msg(tj_read_file(path, 4096, &v, NULL, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(v, "50000 100000\n");
		free(v);
		snprintf(path, sizeof(path), "%s/memory.swap.max", sandbox_cgroup_path(sb, "memory"));
		ck_assert_msg(tj_read_file(path, 4096, &v, NULL, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(v, "0\n");
		free(v);
	} else {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", sandbox_cgroup_path(sb, "cpu"));
		ck_assert_msg(tj_read_file(path, 4096, &v, NULL, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(atoi(v), 50000);
		free(v);
	}
	/* PID 1 is inside the job cgroup, in every controller (on v1 it moves
	 * itself into each one) */
	for (size_t i = 0; i < 4; i++) {
		const char *ctrl = (const char *[]){"memory", "cpu", "cpuacct", "pids"}[i];
		char pid[32];
		snprintf(path, sizeof(path), "%s/cgroup.procs", sandbox_cgroup_path(sb, ctrl));
		ck_assert_msg(tj_read_file(path, 1 << 16, &v, NULL, &err) == 0, "%s", err.msg);
		snprintf(pid, sizeof(pid), "%d\n", (int)sandbox_pid(sb));
		ck_assert_msg(strncmp(v, pid, strlen(pid)) == 0 || strstr(v, pid), "pid %d not in %s: %s",
		              (int)sandbox_pid(sb), path, v);
		free(v);
	}
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

START_TEST(memory_hog_is_out_of_memory)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"memhog", (char *)"512", NULL};

	base_config(&cfg, &bind);
	cfg.memory_bytes = 64ull << 20;
	run_cfg(&cfg, 60000, &res, args);
	ck_assert_msg(res.status == SANDBOX_OOM, "status %s exit %d: %s", sandbox_status_name(res.status),
	              res.exit_code, res.out);
	ck_assert_uint_ge(res.oom_kills, 1);
	sandbox_result_free(&res);
}
END_TEST

START_TEST(fork_bomb_is_stopped_by_pids_limit)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"forkbomb", (char *)"200", NULL};

	base_config(&cfg, &bind);
	cfg.pids = 16;
	run_cfg(&cfg, 60000, &res, args);
	assert_probe_ok(&res, "forkbomb");
	ck_assert(res.pids_limit_hit);
	sandbox_result_free(&res);
}
END_TEST

START_TEST(sleep_is_killed_at_timeout)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"sleep", (char *)"60", NULL};

	base_config(&cfg, &bind);
	run_cfg(&cfg, 1000, &res, args);
	ck_assert_int_eq(res.status, SANDBOX_TIMEOUT);
	ck_assert_uint_ge(res.wall_ms, 1000);
	ck_assert_msg(res.wall_ms < 2000, "killed after %llu ms", (unsigned long long)res.wall_ms);
	sandbox_result_free(&res);
}
END_TEST

START_TEST(cli_run_reports_timeout)
{
	char *out = NULL, *err = NULL;
	char bindarg[PATH_MAX + 16];
	char *argv[] = {(char *)tj_test_bin(),
	                (char *)"run",
	                (char *)"--timeout",
	                (char *)"1",
	                (char *)"--ro-bind",
	                bindarg,
	                (char *)"--",
	                (char *)"/probe/probe",
	                (char *)"sleep",
	                (char *)"30",
	                NULL};
	int st;
	uint64_t t0 = tj_now_ms();

	snprintf(bindarg, sizeof(bindarg), "%s:/probe", probe_dir);
	st = tj_test_spawn(argv, &out, &err);
	/* killed at its 1 s limit, long before the command's 30 s (the margin
	 * is for slow machines: an emulated guest under load takes ~3 s) */
	ck_assert_uint_lt(tj_now_ms() - t0, 15000);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 137);
	ck_assert_msg(strncmp(err, "tfjail: timeout", 15) == 0, "stderr: %s", err);
	free(out);
	free(err);
}
END_TEST

START_TEST(filling_workspace_gives_enospc)
{
	struct sandbox_result res;
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char *args[] = {(char *)"fill", (char *)"/workspace", NULL};

	base_config(&cfg, &bind);
	cfg.workspace_bytes = 8ull << 20;
	run_cfg(&cfg, 30000, &res, args);
	assert_probe_ok(&res, "fill");
	sandbox_result_free(&res);
}
END_TEST

static size_t count_lines(const char *path)
{
	char *data = NULL;
	size_t n = 0;
	struct tj_error err;

	if (tj_read_file(path, 1 << 24, &data, NULL, &err) < 0)
		return 0;
	for (char *p = data; *p; p++)
		n += *p == '\n';
	free(data);
	return n;
}

static size_t count_dir(const char *path)
{
	DIR *d = opendir(path);
	size_t n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The job cgroups below parent that this process made ("tfjail-<pid>-N"):
 * other processes' jobs share the parent. */
static size_t count_own_cgroups(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *de;
	char prefix[32];
	size_t n = 0;

	snprintf(prefix, sizeof(prefix), "tfjail-%d-", (int)getpid());
	while (d && (de = readdir(d)))
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static size_t count_children(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
	{
		char *data = NULL;
		struct tj_error err;
		size_t n = 0;
		if (tj_read_file(path, 1 << 16, &data, NULL, &err) < 0)
			return 0;
		for (char *p = data; *p; p++)
			n += *p == ' ';
		free(data);
		return n;
	}
}

START_TEST(two_hundred_runs_leave_nothing_behind)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	char parent[PATH_MAX];
	size_t mounts0, fds0, cg0, kids0;
	struct sandbox *sb;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err;
	struct sandbox_result res;
	static char a0[] = "/probe/probe", a1[] = "uid";
	char *argv[] = {a0, a1, NULL};
	struct sandbox_cmd cmd = {
	    .argv = argv, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .timeout_ms = 10000};

	base_config(&cfg, &bind);
	/* the job cgroups' parent, from a first sandbox */
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);
	snprintf(parent, sizeof(parent), "%s/..", sandbox_cgroup_path(sb, "pids"));
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);

	mounts0 = count_lines("/proc/self/mountinfo");
	fds0 = count_dir("/proc/self/fd");
	cg0 = count_own_cgroups(parent);
	kids0 = count_children();
	for (int i = 0; i < 200; i++) {
		ck_assert_msg(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0, "run %d: %s: %s", i,
		              sandbox_setup_step_name(fail_step), fail.msg);
		ck_assert_int_eq(sandbox_exec(sb, &cmd, &res, &err), 0);
		ck_assert_int_eq(res.status, SANDBOX_EXITED);
		ck_assert_int_eq(res.exit_code, 0);
		sandbox_result_free(&res);
		ck_assert_msg(sandbox_destroy(sb, &err) == 0, "%s", err.msg);
	}
	ck_assert_uint_eq(count_lines("/proc/self/mountinfo"), mounts0);
	ck_assert_uint_eq(count_dir("/proc/self/fd"), fds0);
	ck_assert_uint_eq(count_own_cgroups(parent), cg0);
	ck_assert_uint_eq(count_children(), kids0);
}
END_TEST

START_TEST(stale_job_cgroups_are_swept)
{
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err;
	struct sandbox_runtime *rt2 = NULL;
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	char parent[PATH_MAX], stale[PATH_MAX];
	pid_t dead = fork();

	/* a pid that no longer runs: the owner of a left-over job cgroup */
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	base_config(&cfg, &bind);
	ck_assert(sandbox_create(rt, &cfg, &sb, &fail_step, &fail) == 0);
	snprintf(parent, sizeof(parent), "%s", sandbox_cgroup_path(sb, "pids"));
	*strrchr(parent, '/') = '\0';
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
	snprintf(stale, sizeof(stale), "%s/tfjail-%d-1", parent, (int)dead);
	ck_assert_int_eq(mkdir(stale, 0755), 0);
	ck_assert_msg(sandbox_runtime_open(&o, &rt2, &err) == 0, "%s", err.msg);
	ck_assert_msg(access(stale, F_OK) < 0, "%s was not swept", stale);
	sandbox_runtime_free(rt2);
}
END_TEST

START_TEST(uid_range_is_configurable)
{
	struct sandbox_runtime *rt2 = NULL;
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	struct sandbox_config cfg;
	struct sandbox_bind bind;
	struct sandbox *sb;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	struct tj_error err;

	o.uid_base = 2000000000u;
	o.uid_slots = 4;
	ck_assert_msg(sandbox_runtime_open(&o, &rt2, &err) == 0, "%s", err.msg);
	base_config(&cfg, &bind);
	ck_assert_msg(sandbox_create(rt2, &cfg, &sb, &fail_step, &fail) == 0, "%s: %s",
	              sandbox_setup_step_name(fail_step), fail.msg);
	ck_assert_uint_ge(sandbox_host_uid(sb), 2000000000u);
	ck_assert_uint_lt(sandbox_host_uid(sb), 2000000008u);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
	sandbox_runtime_free(rt2);
}
END_TEST

/* TFJAIL_UID_RANGE reaches the runtime through the one place that reads the
 * environment (cli/settings.c); a bad value is a usage error naming it. */
START_TEST(uid_range_from_the_environment)
{
	struct job_host h = {0};
	struct tj_error err;
	char *out = NULL, *errs = NULL;
	char *const argv[] = {
	    "/usr/bin/env", "TFJAIL_UID_RANGE=12:4", (char *)tj_test_bin(), "run", "--", "/bin/true", NULL};
	char *const good[] = {"/usr/bin/env",
	                      "TFJAIL_UID_RANGE=2000000000:4",
	                      (char *)tj_test_bin(),
	                      "run",
	                      "--",
	                      "/bin/sh",
	                      "-c",
	                      "cat /proc/self/uid_map",
	                      NULL};
	int st;

	ck_assert_int_lt(job_host_parse_uid_range("12:4", &h, &err), 0);
	ck_assert_int_lt(job_host_parse_uid_range("70000:0", &h, &err), 0);
	ck_assert_int_lt(job_host_parse_uid_range("4294967000:1000", &h, &err), 0);
	ck_assert_int_eq(job_host_parse_uid_range("2000000000:4", &h, &err), 0);
	ck_assert_uint_eq(h.uid_base, 2000000000u);
	ck_assert_uint_eq(h.uid_slots, 4);

	st = tj_test_spawn(argv, &out, &errs);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	ck_assert_msg(strstr(errs, "TFJAIL_UID_RANGE"), "%s", errs);
	free(out);
	free(errs);
	st = tj_test_spawn(good, &out, &errs);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", errs);
	/* the sandbox's uids come from the range: "0 2000000000 1" or the slot's second uid */
	ck_assert_msg(strstr(out, " 200000000"), "%s", out);
	free(out);
	free(errs);
}
END_TEST

/* Usage errors: exit 2 and one line starting "tfjail: " (no sandbox made). */
START_TEST(cli_usage_errors_are_one_line)
{
	const char *cases[][8] = {
	    {"run", NULL},
	    {"run", "--memory", "lots", "--", "/bin/true", NULL},
	    {"run", "--cpus", "0", "--", "/bin/true", NULL},
	    {"run", "--pids", "-3", "--", "/bin/true", NULL},
	    {"run", "--timeout", "0", "--", "/bin/true", NULL},
	    {"run", "--bogus", "--", "/bin/true", NULL},
	    {"run", "--policy", "/nonexistent/policy.json", "--", "/bin/true", NULL},
	    {"run", "--ro-bind", "relative:/x", "--", "/bin/true", NULL},
	    {"plan", NULL},
	    {"plan", "/nonexistent/dir", NULL},
	    {"plan", ".", "--output", "yaml", NULL},
	    {"plan", ".", "--var", "novalue", NULL},
	    {"plan", ".", "--job-id", "../x", NULL},
	    {"plan", ".", "--workdir", "../up", NULL},
	    {"frobnicate", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10], *out = NULL, *err = NULL;
		size_t n = 0;
		int st;
		argv[n++] = (char *)tj_test_bin();
		for (size_t k = 0; cases[i][k]; k++)
			argv[n++] = (char *)cases[i][k];
		argv[n] = NULL;
		st = tj_test_spawn(argv, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "case %zu (%s %s): status %d, stderr %s",
		              i, cases[i][0], cases[i][1] ? cases[i][1] : "", st, err);
		ck_assert_msg(strncmp(err, "tfjail: ", 8) == 0, "case %zu: stderr %s", i, err);
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "case %zu: not one line: %s", i,
		              err);
		ck_assert_str_eq(out, "");
		free(out);
		free(err);
	}
}
END_TEST

/* Directories named tfjail-<pid>-* anywhere below dir (depth-limited). */
static size_t count_job_cgroups_of(const char *dir, pid_t pid, int depth)
{
	DIR *d;
	struct dirent *de;
	char prefix[32];
	size_t n = 0;

	if (depth > 6 || !(d = opendir(dir)))
		return 0;
	snprintf(prefix, sizeof(prefix), "tfjail-%d-", (int)pid);
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		n += count_job_cgroups_of(sub, pid, depth + 1);
	}
	closedir(d);
	return n;
}

START_TEST(cli_run_cleans_up_when_interrupted)
{
	char bindarg[PATH_MAX + 16];
	int errp[2], st;
	pid_t pid;
	char buf[512] = "";
	ssize_t n;

	snprintf(bindarg, sizeof(bindarg), "%s:/probe", probe_dir);
	ck_assert_int_eq(pipe(errp), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(errp[1], 2);
		execl(tj_test_bin(), "tfjail", "run", "--ro-bind", bindarg, "--", "/probe/probe", "sleep",
		      "30", (char *)NULL);
		_exit(127);
	}
	close(errp[1]);
	/* it is running: its job cgroup exists (polled: start-up takes seconds
	 * on an emulated guest under load) */
	for (int i = 0; i < 300 && count_job_cgroups_of("/sys/fs/cgroup", pid, 0) == 0; i++)
		usleep(100 * 1000);
	ck_assert_uint_ge(count_job_cgroups_of("/sys/fs/cgroup", pid, 0), 1);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	n = read(errp[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(errp[0]);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM, "status %d, stderr %s", st, buf);
	ck_assert_msg(strstr(buf, "tfjail: interrupted"), "stderr: %s", buf);
	ck_assert_uint_eq(count_job_cgroups_of("/sys/fs/cgroup", pid, 0), 0);
}
END_TEST

/* Processes whose host uid is uid (from /proc/PID/status). */
static size_t count_processes_of_uid(unsigned long uid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d))) {
		char path[PATH_MAX], *status = NULL, *u;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		if (tj_read_file(path, 1 << 16, &status, NULL, NULL) < 0)
			continue;
		u = strstr(status, "\nUid:");
		n += u && strtoul(u + 5, NULL, 10) == uid;
		free(status);
	}
	if (d)
		closedir(d);
	return n;
}

/* tfjail killed with SIGKILL cannot clean up: its sandbox dies with it
 * (PID 1 has PDEATHSIG, the pid namespace goes with PID 1), the uid locks
 * go with its fds, the upload's mount clone with its fd; what stays is its
 * job cgroup, which the next start sweeps. */
START_TEST(sigkilled_tfjail_leaves_only_what_the_next_start_sweeps)
{
	char bindarg[PATH_MAX + 16];
	struct sandbox_runtime *rt2 = NULL;
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	struct tj_error err;
	int outp[2];
	char buf[512] = "";
	unsigned long uid = 0;
	pid_t pid;
	ssize_t n = 0;

	snprintf(bindarg, sizeof(bindarg), "%s:/probe", probe_dir);
	ck_assert_int_eq(pipe(outp), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(outp[1], 1);
		execl(tj_test_bin(), "tfjail", "run", "--workspace", probe_dir, "--ro-bind", bindarg, "--",
		      "/bin/sh", "-c", "cat /proc/self/uid_map; exec /probe/probe sleep 60", (char *)NULL);
		_exit(127);
	}
	close(outp[1]);
	while (n < (ssize_t)sizeof(buf) - 1 && !strstr(buf, "1000")) {
		ssize_t k = read(outp[0], buf + n, sizeof(buf) - 1 - (size_t)n);
		if (k <= 0)
			break;
		n += k;
		buf[n] = '\0';
	}
	close(outp[0]);
	ck_assert_msg(sscanf(buf, " 0 %*u 1 1000 %lu", &uid) == 1, "uid_map: %s", buf);
	ck_assert_uint_ge(count_job_cgroups_of("/sys/fs/cgroup", pid, 0), 1);
	ck_assert_uint_ge(count_processes_of_uid(uid), 1);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	/* the sandbox's processes die with it */
	for (int i = 0; i < 200 && count_processes_of_uid(uid) > 0; i++)
		usleep(10 * 1000);
	ck_assert_uint_eq(count_processes_of_uid(uid), 0);
	/* its uid is free again: a lock on it succeeds */
	{
		char lock[PATH_MAX];
		int fd;
		snprintf(lock, sizeof(lock), "/run/tfjail/slots/uid-%lu.lock", uid);
		fd = open(lock, O_RDWR | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
		close(fd);
	}
	/* the cgroup stays, until the next start */
	ck_assert_uint_ge(count_job_cgroups_of("/sys/fs/cgroup", pid, 0), 1);
	ck_assert_msg(sandbox_runtime_open(&o, &rt2, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(count_job_cgroups_of("/sys/fs/cgroup", pid, 0), 0);
	sandbox_runtime_free(rt2);
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("isolation");

	tcase_add_checked_fixture(tc, rt_setup, rt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, root_and_usr_are_read_only);
	tcase_add_test(tc, proc_is_masked_and_read_only);
	tcase_add_test(tc, only_tmp_and_workspace_are_writable);
	tcase_add_test(tc, parsing_helper_is_unprivileged_and_filtered);
	tcase_add_test(tc, only_loopback_is_up);
	tcase_add_test(tc, host_loopback_listener_is_unreachable);
	tcase_add_test(tc, pid1_is_the_sandbox_init);
	tcase_add_test(tc, sandbox_is_destroyed_without_cap_kill);
	tcase_add_test(tc, no_capabilities_no_new_privs_seccomp);
	tcase_add_test(tc, blocked_syscalls_fail);
	tcase_add_test(tc, only_stdio_fds_inside);
	tcase_add_test(tc, host_environment_is_invisible);
	tcase_add_test(tc, tfjail_binary_is_invisible);
	tcase_add_test(tc, host_uid_is_unprivileged_and_distinct);
	tcase_add_test(tc, command_exit_code_and_signal);
	tcase_add_test(tc, missing_command_is_reported);
	tcase_add_test(tc, setup_failure_names_step_and_path);
	tcase_add_test(tc, output_is_capped_and_flagged);
	tcase_add_test(tc, workspace_is_copied_in);
	tcase_add_test(tc, workspace_symlink_escape_is_refused);
	tcase_add_test(tc, inspection_output_is_sealed);
	tcase_add_test(tc, workspace_below_a_private_directory);
	tcase_add_test(tc, bind_below_a_private_directory);
	tcase_add_test(tc, workspace_from_a_host_fd);
	tcase_add_test(tc, cli_run_passes_stdio_and_status);
	tcase_add_test(tc, cli_usage_errors_are_one_line);
	tcase_add_test(tc, uid_range_is_configurable);
	tcase_add_test(tc, uid_range_from_the_environment);
	suite_add_tcase(s, tc);
	return s;
}

Suite *sandbox_cgroup_suite(void)
{
	Suite *s = suite_create("sandbox_cgroup");
	TCase *tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, rt_setup, rt_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, limits_are_set_in_the_cgroup);
	tcase_add_test(tc, memory_hog_is_out_of_memory);
	tcase_add_test(tc, fork_bomb_is_stopped_by_pids_limit);
	tcase_add_test(tc, sleep_is_killed_at_timeout);
	tcase_add_test(tc, cli_run_reports_timeout);
	tcase_add_test(tc, filling_workspace_gives_enospc);
	tcase_add_test(tc, two_hundred_runs_leave_nothing_behind);
	tcase_add_test(tc, stale_job_cgroups_are_swept);
	tcase_add_test(tc, cli_run_cleans_up_when_interrupted);
	tcase_add_test(tc, sigkilled_tfjail_leaves_only_what_the_next_start_sweeps);
	suite_add_tcase(s, tc);
	return s;
}
