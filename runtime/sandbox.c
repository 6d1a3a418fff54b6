/* The micro-container, host side: create, exec, spawn, destroy.  The
 * sandbox's PID 1 is init.c; the two talk over the control socket (ctl.h). */
#include "runtime/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ctl.h"
#include "runtime/init.h"
#include "runtime/mount.h"
#include "runtime/seccomp.h"
#include "runtime/uidslot.h"

#define DEFAULT_LOCK_DIR "/run/tfjail/slots"
#define SETUP_TIMEOUT_MS 30000
/* After the command exits, how long its output pipes may stay open (held by
 * a process that left its process group). */
#define DRAIN_GRACE_MS 1000
/* How long sandbox_destroy() waits for a SIGKILLed PID 1 to exit. */
#define REAP_TIMEOUT_MS 10000

struct sandbox_runtime {
	struct cgroup_host *cg;
	struct seccomp_program *seccomp;
	uid_t uid_base;
	uint32_t uid_slots;
	char lock_dir[PATH_MAX];
	unsigned long counter;
	char *failed_inspect; /* of the last sandbox_create() that failed at the workspace */
	size_t failed_inspect_len;
};

struct sandbox {
	struct sandbox_runtime *rt;
	bool run_as_root; /* copied: the caller's configuration may not outlive sandbox_create */
	pid_t pid;
	int ctl;
	bool alive;
	struct cgroup_job *cg;
	struct uidslot slot;
	char *inspect; /* bytes of the workspace inspection, NUL-terminated */
	size_t inspect_len;
};

static volatile sig_atomic_t cancel_signo;

void sandbox_cancel(int signo)
{
	cancel_signo = signo > 0 ? signo : SIGTERM;
}

int sandbox_cancel_signal(void)
{
	return cancel_signo;
}

const char *sandbox_status_name(enum sandbox_status st)
{
	switch (st) {
	case SANDBOX_EXITED: return "exited";
	case SANDBOX_SIGNALED: return "signaled";
	case SANDBOX_TIMEOUT: return "timeout";
	case SANDBOX_OOM: return "out-of-memory";
	case SANDBOX_SECCOMP: return "seccomp-violation";
	case SANDBOX_LOST: return "sandbox-lost";
	case SANDBOX_CANCELED: return "canceled";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ runtime */

static bool job_cgroup_stale(const char *name)
{
	long pid;
	char *end;

	if (strncmp(name, "tfjail-", 7) != 0)
		return false;
	pid = strtol(name + 7, &end, 10);
	if (end == name + 7 || *end != '-' || pid <= 0)
		return false;
	return pid == getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

int sandbox_runtime_open(const struct sandbox_runtime_options *opts, struct sandbox_runtime **out,
                         struct tj_error *err)
{
	struct sandbox_runtime *rt;

	if (geteuid() != 0)
		return tj_error_set(err, EPERM,
		                    "the sandbox needs root (to map a host uid range and create cgroups); "
		                    "run tfjail as root");
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return tj_error_set(err, ENOMEM, "out of memory");
	rt->uid_base = opts && opts->uid_base ? opts->uid_base : SANDBOX_DEFAULT_UID_BASE;
	rt->uid_slots = opts && opts->uid_slots ? opts->uid_slots : SANDBOX_DEFAULT_UID_SLOTS;
	snprintf(rt->lock_dir, sizeof(rt->lock_dir), "%s",
	         opts && opts->lock_dir ? opts->lock_dir : DEFAULT_LOCK_DIR);
	/* The range must belong to nobody else: a sandbox running as a local
	 * user's uid, or inside someone's subordinate range, could reach their
	 * files and processes. */
	if (uidslot_check_range(rt->uid_base, rt->uid_slots, "/etc/passwd", "/etc/group", "/etc/subuid",
	                        "/etc/subgid", err) < 0) {
		free(rt);
		return -1;
	}

	/* The sandbox inherits supplementary groups, and setgroups is denied
	 * inside it: drop them here, once. */
	if (setgroups(0, NULL) < 0) {
		tj_error_sys(err, "drop supplementary groups");
		goto fail;
	}
	if (cgroup_host_open(opts ? &opts->cgroup : NULL, &rt->cg, err) < 0) {
		tj_error_prefix(err, "cgroups");
		goto fail;
	}
	/* Job cgroups are named tfjail-<pid>-<n>: those of a dead tfjail are
	 * left-overs of a killed process, and a reused pid must not meet them. */
	cgroup_host_sweep(rt->cg, "tfjail-", job_cgroup_stale);
	if (seccomp_program_build(opts ? opts->seccomp_deny : NULL, opts ? opts->n_seccomp_deny : 0,
	                          &rt->seccomp, err) < 0) {
		tj_error_prefix(err, "seccomp");
		goto fail;
	}
	*out = rt;
	return 0;
fail:
	sandbox_runtime_free(rt);
	return -1;
}

void sandbox_runtime_free(struct sandbox_runtime *rt)
{
	if (!rt)
		return;
	if (rt->cg)
		cgroup_host_free(rt->cg);
	if (rt->seccomp)
		seccomp_program_free(rt->seccomp);
	free(rt->failed_inspect);
	free(rt);
}

const char *sandbox_runtime_cgroup_describe(const struct sandbox_runtime *rt)
{
	return cgroup_host_describe(rt->cg);
}

enum cgroup_mode sandbox_runtime_cgroup_mode(const struct sandbox_runtime *rt)
{
	return cgroup_host_mode(rt->cg);
}

/* clone3 places the child in its cgroup before it runs a single instruction
 * (v2); where that is unavailable the child moves itself first thing
 * (child_setup), before the host lets it go on. */
static pid_t clone_sandbox(int cgroup_fd, bool *into_cgroup)
{
	unsigned long ns =
	    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
	pid_t pid;

	*into_cgroup = false;
	if (cgroup_fd >= 0) {
		struct clone_args args = {
		    .flags = ns | CLONE_NEWCGROUP | CLONE_INTO_CGROUP,
		    .exit_signal = SIGCHLD,
		    .cgroup = (uint64_t)cgroup_fd,
		};
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0) {
			*into_cgroup = true;
			return pid;
		}
		/* ENOSYS (pre-5.3), E2BIG/EINVAL (pre-5.7): fall back to clone */
		if (errno != ENOSYS && errno != E2BIG && errno != EINVAL)
			return -1;
	}
	return (pid_t)syscall(SYS_clone, ns | SIGCHLD, NULL, NULL, NULL, NULL);
}

static int write_id_maps(pid_t pid, const struct uidslot *slot, uid_t uid, gid_t gid, struct tj_error *err)
{
	char path[64], map[128];

	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	if (tj_write_string_at(AT_FDCWD, path, "deny", err) < 0)
		return -1;
	if (uid == 0)
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)slot->host_root);
	else
		snprintf(map, sizeof(map), "0 %u 1\n%u %u 1\n", (unsigned)slot->host_root, (unsigned)uid,
		         (unsigned)slot->host_user);
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	if (tj_write_string_at(AT_FDCWD, path, map, err) < 0)
		return -1;
	if (gid == 0)
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)slot->host_root);
	else
		snprintf(map, sizeof(map), "0 %u 1\n%u %u 1\n", (unsigned)slot->host_root, (unsigned)gid,
		         (unsigned)slot->host_user);
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	return tj_write_string_at(AT_FDCWD, path, map, err);
}

static const char *const setup_step_names[] = {
    [SANDBOX_SETUP_INIT] = "init",
    [SANDBOX_SETUP_CLONE] = "clone",
    [SANDBOX_SETUP_CGROUP] = "cgroup",
    [SANDBOX_SETUP_UIDMAP] = "uidmap",
    [SANDBOX_SETUP_HOSTNAME] = "hostname",
    [SANDBOX_SETUP_NETWORK] = "network",
    [SANDBOX_SETUP_MOUNT] = "mount",
    [SANDBOX_SETUP_ROOTFS] = "rootfs",
    [SANDBOX_SETUP_WORKSPACE] = "workspace",
    [SANDBOX_SETUP_WORKSPACE_INVALID] = "workspace-invalid",
    [SANDBOX_SETUP_WORKSPACE_FULL] = "workspace-full",
    [SANDBOX_SETUP_WORKSPACE_UNREADABLE] = "workspace-unreadable",
    [SANDBOX_SETUP_PIVOT_ROOT] = "pivot_root",
    [SANDBOX_SETUP_LIMITS] = "limits",
    [SANDBOX_SETUP_CAPABILITIES] = "capabilities",
    [SANDBOX_SETUP_TIMEOUT] = "setup",
    [SANDBOX_SETUP_CANCELED] = "canceled",
};

const char *sandbox_setup_step_name(enum sandbox_setup_step step)
{
	if ((size_t)step < sizeof(setup_step_names) / sizeof(setup_step_names[0]) && setup_step_names[step])
		return setup_step_names[step];
	return "setup";
}

static void kill_sandbox(struct sandbox *sb)
{
	if (sb->pid > 0 && sb->alive)
		uidslot_kill(&sb->slot, sb->pid,
		             SIGKILL); /* PID 1 dies: the kernel kills its whole pid namespace */
	if (sb->cg)
		cgroup_job_kill(sb->cg, NULL);
	sb->alive = false;
}

int sandbox_create(struct sandbox_runtime *rt, const struct sandbox_config *cfg, struct sandbox **out,
                   enum sandbox_setup_step *step_out, struct tj_error *err_out)
{
	struct sandbox *sb;
	struct tj_error err = {0};
	enum sandbox_setup_step step = SANDBOX_SETUP_INIT;
	int sv[2];
	char name[64];
	bool into_cgroup;
	bool early_fail = false;
	struct init_ctx c;
	struct cgroup_limits lim = {0};
	uid_t uid = cfg->run_as_root ? 0 : (cfg->uid ? cfg->uid : 1000);
	gid_t gid = cfg->run_as_root ? 0 : (cfg->gid ? cfg->gid : 1000);

	if (step_out)
		*step_out = SANDBOX_SETUP_INIT;
	free(rt->failed_inspect);
	rt->failed_inspect = NULL;
	rt->failed_inspect_len = 0;
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return tj_error_set(err_out, ENOMEM, "out of memory");
	sb->rt = rt;
	sb->run_as_root = cfg->run_as_root;
	sb->ctl = -1;
	sb->pid = -1;
	sb->slot.lock_fd = sb->slot.lock_fd_user = -1;

	if (uidslot_acquire(rt->lock_dir, rt->uid_base, rt->uid_slots, &sb->slot, &err) < 0) {
		step = SANDBOX_SETUP_UIDMAP;
		goto fail;
	}

	lim.memory_max = cfg->memory_bytes;
	lim.cpu_period_us = 100000;
	lim.cpu_quota_us = cfg->cpus > 0 ? (uint64_t)(cfg->cpus * 100000.0) : 0;
	lim.pids_max = cfg->pids;
	snprintf(name, sizeof(name), "tfjail-%d-%lu", (int)getpid(), ++rt->counter);
	if (cgroup_job_create(rt->cg, name, &lim, &sb->cg, &err) < 0) {
		step = SANDBOX_SETUP_CGROUP;
		goto fail;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tj_error_sys(&err, "socketpair");
		step = SANDBOX_SETUP_CLONE;
		goto fail;
	}
	c = (struct init_ctx){.cfg = cfg,
	                      .seccomp = rt->seccomp,
	                      .cg = sb->cg,
	                      .ctl = sv[1],
	                      .uid = uid,
	                      .gid = gid,
	                      .upload = -1};
	sb->ctl = sv[0];
	/* PID 1 has no host credentials: what it needs of the host is opened
	 * here, as host root, and inherited.  The upload: a 0700 directory on
	 * the way to it, like /root, is no obstacle (its files are read later
	 * as the sandbox's unprivileged uid).  The cgroup files it moves itself
	 * through: the kernel checks writes against the opener. */
	if (cfg->workspace_src || cfg->workspace_fd > 0) {
		c.upload = cfg->workspace_src ? mount_clone_tree_ro(AT_FDCWD, cfg->workspace_src, &err)
		                              : mount_clone_tree_ro(cfg->workspace_fd, "", &err);
		if (c.upload < 0) {
			step = SANDBOX_SETUP_WORKSPACE;
			close(sv[1]);
			goto fail;
		}
	}
	if (cgroup_job_attach_open(sb->cg, &err) < 0) {
		step = SANDBOX_SETUP_CGROUP;
		goto fail_fds;
	}
	/* The user namespace is owned by the slot's uid (uidslot.h). */
	if (uidslot_enter(&sb->slot, &err) < 0) {
		step = SANDBOX_SETUP_UIDMAP;
		goto fail_fds;
	}
	sb->pid = clone_sandbox(cgroup_job_dirfd(sb->cg), &into_cgroup);
	if (sb->pid == 0) {
		close(sv[0]);
		c.joined_cgroup_ns = into_cgroup;
		init_main(&c);
	}
	if (sb->pid < 0)
		tj_error_sys(&err, "clone into new namespaces");
	if (uidslot_leave(sb->pid < 0 ? NULL : &err) < 0) {
		step = SANDBOX_SETUP_UIDMAP;
		if (sb->pid > 0)
			sb->alive = true;
		goto fail_fds;
	}
	if (sb->pid < 0) {
		step = SANDBOX_SETUP_CLONE;
		goto fail_fds;
	}
	close(sv[1]);
	if (c.upload >= 0)
		close(c.upload);
	cgroup_job_attach_close(sb->cg);
	sb->alive = true;

	/* PID 1 moves itself into its cgroup before it waits for GO.  If that
	 * failed, it has exited with its report queued, which says more than
	 * our failure to write its maps: then look for that report at once. */
	if (write_id_maps(sb->pid, &sb->slot, uid, gid, &err) < 0) {
		step = SANDBOX_SETUP_UIDMAP;
		early_fail = true;
	} else {
		uint8_t go = MSG_GO;
		if (send(sb->ctl, &go, 1, MSG_NOSIGNAL) != 1) {
			tj_error_sys(&err, "start the sandbox");
			step = SANDBOX_SETUP_CLONE;
			early_fail = true;
		}
	}

	/* Wait for READY, or the step that failed. */
	{
		struct pollfd p = {.fd = sb->ctl, .events = POLLIN};
		struct msg_setup_err m;
		_cleanup_free_ char *msg = malloc(sizeof(struct msg_setup_err) + SANDBOX_INSPECT_MAX);
		const struct msg_ready *ready = (const struct msg_ready *)msg;
		ssize_t n;
		int pr;
		if (!msg) {
			tj_error_set(&err, ENOMEM, "out of memory");
			goto fail;
		}
		do
			pr = poll(&p, 1, early_fail ? 0 : SETUP_TIMEOUT_MS);
		while (pr < 0 && errno == EINTR && !cancel_signo);
		if (cancel_signo) {
			tj_error_set(&err, EINTR, "interrupted by signal %d", (int)cancel_signo);
			step = SANDBOX_SETUP_CANCELED;
			goto fail;
		}
		if (pr == 0 && early_fail)
			goto fail;
		if (pr == 0) {
			tj_error_set(&err, ETIMEDOUT, "sandbox setup did not finish within %d s",
			             SETUP_TIMEOUT_MS / 1000);
			step = SANDBOX_SETUP_TIMEOUT;
			goto fail;
		}
		memset(&m, 0, sizeof(m));
		n = ctl_recv(sb->ctl, msg, sizeof(struct msg_setup_err) + SANDBOX_INSPECT_MAX, NULL);
		if (n >= (ssize_t)sizeof(*ready) && ready->type == MSG_READY && !early_fail &&
		    ready->len <= SANDBOX_INSPECT_MAX && (size_t)n == sizeof(*ready) + ready->len) {
			if (ready->len) {
				sb->inspect = malloc(ready->len + 1);
				if (!sb->inspect) {
					tj_error_set(&err, ENOMEM, "out of memory");
					goto fail;
				}
				memcpy(sb->inspect, msg + sizeof(*ready), ready->len);
				sb->inspect[ready->len] = '\0';
				sb->inspect_len = ready->len;
			}
			*out = sb;
			return 0;
		}
		if (n >= (ssize_t)sizeof(m))
			memcpy(&m, msg, sizeof(m));
		if (n >= (ssize_t)sizeof(m) && m.type == MSG_SETUP_ERR &&
		    m.extra_len <= SANDBOX_INSPECT_MAX && (size_t)n == sizeof(m) + m.extra_len) {
			m.msg[sizeof(m.msg) - 1] = '\0';
			if (m.extra_len && (rt->failed_inspect = malloc(m.extra_len + 1))) {
				memcpy(rt->failed_inspect, msg + sizeof(m), m.extra_len);
				rt->failed_inspect[m.extra_len] = '\0';
				rt->failed_inspect_len = m.extra_len;
			}
			step = m.step <= SANDBOX_SETUP_CANCELED ? (enum sandbox_setup_step)m.step
			                                        : SANDBOX_SETUP_TIMEOUT;
			err.errnum = m.errnum;
			snprintf(err.msg, sizeof(err.msg), "%s", m.msg);
		} else {
			tj_error_set(&err, EPIPE, "the sandbox died during setup");
			step = SANDBOX_SETUP_TIMEOUT;
		}
	}
fail_fds:
	close(sv[1]);
	if (c.upload >= 0)
		close(c.upload);
	cgroup_job_attach_close(sb->cg);
fail:
	if (step_out)
		*step_out = step;
	if (err_out)
		*err_out = err;
	sandbox_destroy(sb, NULL);
	return -1;
}

pid_t sandbox_pid(const struct sandbox *sb)
{
	return sb->pid;
}

const char *sandbox_runtime_failed_inspect(const struct sandbox_runtime *rt, size_t *len)
{
	*len = rt->failed_inspect_len;
	return rt->failed_inspect;
}

const char *sandbox_inspect_result(const struct sandbox *sb, size_t *len)
{
	*len = sb->inspect_len;
	return sb->inspect;
}

uid_t sandbox_host_uid(const struct sandbox *sb)
{
	return sb->run_as_root ? sb->slot.host_root : sb->slot.host_user;
}

const char *sandbox_cgroup_path(const struct sandbox *sb, const char *controller)
{
	return sb->cg ? cgroup_job_path(sb->cg, controller) : NULL;
}

bool sandbox_alive(const struct sandbox *sb)
{
	return sb->alive;
}

struct capture {
	int fd;
	struct tj_buf buf;
	size_t max;
	bool truncated;
};

static void capture_read(struct capture *cap)
{
	char tmp[65536];
	ssize_t n = read(cap->fd, tmp, sizeof(tmp));

	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(cap->fd);
			cap->fd = -1;
		}
		return;
	}
	if (cap->buf.len < cap->max) {
		size_t keep = (size_t)n;
		if (cap->buf.len + keep > cap->max) {
			keep = cap->max - cap->buf.len;
			cap->truncated = true;
		}
		if (tj_buf_append(&cap->buf, tmp, keep) < 0)
			cap->truncated = true;
	} else {
		cap->truncated = true;
	}
}

static size_t pack_strings(char *dst, size_t cap, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	if (off + n > cap)
		return SIZE_MAX;
	memcpy(dst + off, s, n);
	return off + n;
}

/* The EXEC message: header, cwd, argv, envp. */
static char *pack_exec(const struct sandbox_cmd *cmd, uint32_t flags, size_t *len, struct tj_error *err)
{
	char *msg = malloc(CTL_MAX_MSG);
	struct msg_exec *m = (struct msg_exec *)msg;
	size_t off;

	if (!msg) {
		tj_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	memset(m, 0, sizeof(*m));
	m->type = MSG_EXEC;
	m->flags = flags;
	off = sizeof(*m);
	off = pack_strings(msg, CTL_MAX_MSG, off, cmd->cwd ? cmd->cwd : "/workspace");
	for (size_t i = 0; cmd->argv[i] && off != SIZE_MAX; i++, m->argc++)
		off = pack_strings(msg, CTL_MAX_MSG, off, cmd->argv[i]);
	for (size_t i = 0; cmd->envp && cmd->envp[i] && off != SIZE_MAX; i++, m->envc++)
		off = pack_strings(msg, CTL_MAX_MSG, off, cmd->envp[i]);
	if (off == SIZE_MAX) {
		free(msg);
		tj_error_set(err, E2BIG, "command line and environment exceed %d bytes", CTL_MAX_MSG);
		return NULL;
	}
	*len = off;
	return msg;
}

int sandbox_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd, struct tj_error *err)
{
	_cleanup_free_ char *msg = NULL;
	int fds[2] = {cmd->stdout_fd, cmd->stderr_fd};
	struct msg_result r = {0};
	struct pollfd p = {.fd = sb->ctl, .events = POLLIN};
	size_t len;

	if (!sb->alive)
		return tj_error_set(err, ESRCH, "the sandbox is no longer running");
	if (!cmd->argv || !cmd->argv[0] || cmd->stdout_fd < 0 || cmd->stderr_fd < 0 || cmd->stdin_fd >= 0)
		return tj_error_set(err, EINVAL,
		                    "a background command needs argv, stdout and stderr (no stdin)");
	msg = pack_exec(cmd, EXEC_HAS_STDOUT | EXEC_HAS_STDERR | EXEC_BACKGROUND, &len, err);
	if (!msg)
		return -1;
	if (ctl_send(sb->ctl, msg, len, fds, 2) < 0)
		return tj_error_sys(err, "send the command to the sandbox");
	if (poll(&p, 1, SETUP_TIMEOUT_MS) != 1 ||
	    ctl_recv(sb->ctl, &r, sizeof(r), NULL) != (ssize_t)sizeof(r) || r.type != MSG_RESULT) {
		kill_sandbox(sb);
		return tj_error_set(err, EPIPE, "the sandbox did not answer");
	}
	if (r.exec_errno || r.wait_status)
		return tj_error_set(err, r.exec_errno ? r.exec_errno : ENOEXEC, "cannot execute %s: %s",
		                    cmd->argv[0], strerror(r.exec_errno ? r.exec_errno : ENOEXEC));
	return 0;
}

int sandbox_exec(struct sandbox *sb, const struct sandbox_cmd *cmd, struct sandbox_result *res,
                 struct tj_error *err)
{
	_cleanup_free_ char *msg = NULL;
	struct msg_exec *m;
	size_t off;
	int fds[3], nfds = 0, pipes_r[2] = {-1, -1};
	struct capture caps[2];
	struct cgroup_stats before = {0}, after = {0};
	uint64_t start, deadline = 0;
	bool have_result = false, timed_out = false, lost = false, canceled = false;
	struct msg_result r = {0};
	size_t cap_max = cmd->capture_max ? cmd->capture_max : (1u << 20);

	memset(res, 0, sizeof(*res));
	if (!sb->alive)
		return tj_error_set(err, ESRCH, "the sandbox is no longer running");
	if (!cmd->argv || !cmd->argv[0])
		return tj_error_set(err, EINVAL, "no command given");

	msg = pack_exec(cmd, 0, &off, err);
	if (!msg)
		return -1;
	m = (struct msg_exec *)msg;

	memset(caps, 0, sizeof(caps));
	caps[0].fd = caps[1].fd = -1;
	caps[0].max = caps[1].max = cap_max;
	if (cmd->stdin_fd >= 0) {
		m->flags |= EXEC_HAS_STDIN;
		fds[nfds++] = cmd->stdin_fd;
	}
	for (int i = 0; i < 2; i++) {
		int given = i == 0 ? cmd->stdout_fd : cmd->stderr_fd;
		if (given >= 0) {
			fds[nfds++] = given;
		} else {
			int p[2];
			if (pipe2(p, O_CLOEXEC) < 0) {
				tj_error_sys(err, "pipe");
				goto fail_pipes;
			}
			caps[i].fd = p[0];
			pipes_r[i] = p[1];
			fds[nfds++] = p[1];
		}
		m->flags |= i == 0 ? EXEC_HAS_STDOUT : EXEC_HAS_STDERR;
	}
	if (sb->cg)
		cgroup_job_stats(sb->cg, &before, NULL);
	start = tj_now_ms();
	if (cmd->timeout_ms)
		deadline = start + cmd->timeout_ms;
	if (ctl_send(sb->ctl, msg, off, fds, (size_t)nfds) < 0) {
		tj_error_sys(err, "send the command to the sandbox");
		goto fail_pipes;
	}
	for (int i = 0; i < 2; i++)
		if (pipes_r[i] >= 0) {
			close(pipes_r[i]);
			pipes_r[i] = -1;
		}

	/* Wait for the result while draining the output pipes. */
	for (;;) {
		struct pollfd p[3];
		int np = 0, timeout = -1, pr;
		uint64_t now = tj_now_ms();
		int idx_ctl = -1, idx_cap[2] = {-1, -1};

		if (cancel_signo && !have_result) {
			canceled = true;
			kill_sandbox(sb);
			break;
		}

		if (have_result) {
			if (caps[0].fd < 0 && caps[1].fd < 0)
				break;
			if (now >= start + res->wall_ms + DRAIN_GRACE_MS)
				break;
			timeout = (int)(start + res->wall_ms + DRAIN_GRACE_MS - now);
		} else if (deadline) {
			if (now >= deadline) {
				timed_out = true;
				kill_sandbox(sb);
				break;
			}
			timeout = (int)(deadline - now);
		}
		if (!have_result) {
			idx_ctl = np;
			p[np++] = (struct pollfd){.fd = sb->ctl, .events = POLLIN};
		}
		for (int i = 0; i < 2; i++)
			if (caps[i].fd >= 0) {
				idx_cap[i] = np;
				p[np++] = (struct pollfd){.fd = caps[i].fd, .events = POLLIN};
			}
		pr = poll(p, (nfds_t)np, timeout);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			tj_error_sys(err, "poll");
			goto fail_pipes;
		}
		for (int i = 0; i < 2; i++)
			if (idx_cap[i] >= 0 && (p[idx_cap[i]].revents & (POLLIN | POLLHUP | POLLERR)))
				capture_read(&caps[i]);
		if (idx_ctl >= 0 && (p[idx_ctl].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = ctl_recv(sb->ctl, &r, sizeof(r), NULL);
			if (n == (ssize_t)sizeof(r) && r.type == MSG_RESULT) {
				have_result = true;
				res->wall_ms = tj_now_ms() - start;
			} else {
				/* PID 1 died under us (killed, or out of memory) */
				lost = true;
				res->wall_ms = tj_now_ms() - start;
				kill_sandbox(sb);
				break;
			}
		}
	}
	if (!have_result && !lost)
		res->wall_ms = tj_now_ms() - start;
	/* after a kill the pipes reach EOF at once: take what is left */
	for (int i = 0; i < 2; i++) {
		if (caps[i].fd >= 0 && !have_result) {
			int fl = fcntl(caps[i].fd, F_GETFL);
			fcntl(caps[i].fd, F_SETFL, fl | O_NONBLOCK);
			for (int k = 0; k < 64 && caps[i].fd >= 0; k++)
				capture_read(&caps[i]);
		}
		if (caps[i].fd >= 0) {
			close(caps[i].fd);
			caps[i].fd = -1;
		}
	}

	if (sb->cg && cgroup_job_stats(sb->cg, &after, NULL) == 0) {
		res->oom_kills = after.oom_kills - before.oom_kills;
		res->pids_limit_hit = after.pids_max_hits > before.pids_max_hits;
		res->cpu_us = after.cpu_usage_us - before.cpu_usage_us;
		res->memory_peak = after.memory_peak;
	}
	if (canceled) {
		res->status = SANDBOX_CANCELED;
	} else if (timed_out) {
		res->status = SANDBOX_TIMEOUT;
	} else if (res->oom_kills > 0) {
		/* terraform may exit 0 after a provider was OOM-killed: an OOM
		 * kill anywhere in the sandbox decides the outcome */
		res->status = SANDBOX_OOM;
		if (have_result && WIFEXITED(r.wait_status))
			res->exit_code = WEXITSTATUS(r.wait_status);
		else if (have_result && WIFSIGNALED(r.wait_status))
			res->signal = WTERMSIG(r.wait_status);
	} else if (lost) {
		res->status = SANDBOX_LOST;
	} else if (WIFSIGNALED(r.wait_status)) {
		res->signal = WTERMSIG(r.wait_status);
		res->status = res->signal == SIGSYS ? SANDBOX_SECCOMP : SANDBOX_SIGNALED;
	} else {
		res->status = SANDBOX_EXITED;
		res->exit_code = WEXITSTATUS(r.wait_status);
		if (r.exec_errno) {
			char line[512];
			int n = snprintf(line, sizeof(line), "tfjail: cannot execute %s: %s\n", cmd->argv[0],
			                 strerror(r.exec_errno));
			if (cmd->stderr_fd < 0)
				tj_buf_append(&caps[1].buf, line, (size_t)n);
			else if (cmd->stderr_fd >= 0 && write(cmd->stderr_fd, line, (size_t)n) < 0) {
				/* the caller's stderr is gone */
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		int given = i == 0 ? cmd->stdout_fd : cmd->stderr_fd;
		char **dst = i == 0 ? &res->out : &res->err;
		size_t *dlen = i == 0 ? &res->out_len : &res->err_len;
		bool *trunc = i == 0 ? &res->out_truncated : &res->err_truncated;
		if (given >= 0 && !caps[i].buf.data)
			continue;
		if (!caps[i].buf.data && tj_buf_append(&caps[i].buf, "", 0) < 0) {
			tj_error_set(err, ENOMEM, "out of memory");
			goto fail_pipes;
		}
		*dst = caps[i].buf.data;
		*dlen = caps[i].buf.len;
		*trunc = caps[i].truncated;
		caps[i].buf.data = NULL;
	}
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (pipes_r[i] >= 0)
			close(pipes_r[i]);
		if (caps[i].fd >= 0)
			close(caps[i].fd);
		tj_buf_free(&caps[i].buf);
	}
	return -1;
}

void sandbox_result_free(struct sandbox_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

/* Waits up to ms for pid to exit and reaps it; true once it is gone.  A
 * pidfd wakes us when it exits (no sleep between looks); without pidfds
 * (before Linux 5.3), looks with growing sleeps. */
static bool reap_within(pid_t pid, int ms)
{
	uint64_t deadline = tj_now_ms() + (uint64_t)ms;
	unsigned delay_us = 100;
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

	for (;;) {
		int st;
		uint64_t now;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		if ((now = tj_now_ms()) >= deadline)
			return false;
		if (pfd >= 0) {
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
				return false;
			continue;
		}
		usleep(delay_us);
		if (delay_us < 50000)
			delay_us *= 2;
	}
}

int sandbox_signal(const struct sandbox *sb, pid_t pid, int sig)
{
	return uidslot_kill(&sb->slot, pid, sig);
}

int sandbox_destroy(struct sandbox *sb, struct tj_error *err)
{
	int rc = 0;

	if (!sb)
		return 0;
	/* Reap PID 1 before the cgroup kill: its exit returns only once the
	 * kernel has killed and reaped every other process of its pid
	 * namespace, so cgroup_job_destroy() (which still kills what is left)
	 * normally finds the cgroup empty at the first look instead of polling
	 * it with sleeps while PID 1 sits unreaped. */
	if (sb->pid > 0 && sb->alive && uidslot_kill(&sb->slot, sb->pid, SIGKILL) < 0) {
		tj_error_sys(err, "kill the sandbox's PID 1 (pid %d)", (int)sb->pid);
		rc = -1;
	}
	sb->alive = false;
	/* Bounded: a PID 1 that cannot be killed is reported, never waited for
	 * forever (it would hold up whoever destroys the sandbox). */
	if (sb->pid > 0 && !reap_within(sb->pid, REAP_TIMEOUT_MS) && rc == 0) {
		tj_error_set(err, ETIMEDOUT,
		             "the sandbox's PID 1 (pid %d) did not exit within %d s of SIGKILL", (int)sb->pid,
		             REAP_TIMEOUT_MS / 1000);
		rc = -1;
	}
	if (sb->ctl >= 0)
		close(sb->ctl);
	if (sb->cg && cgroup_job_destroy(sb->cg, err) < 0)
		rc = -1;
	uidslot_release(&sb->slot);
	free(sb->inspect);
	free(sb);
	return rc;
}
