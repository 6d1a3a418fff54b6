/* The micro-container: host side (create, exec, destroy) and the sandbox's
 * PID 1 (setup, then a small command loop).
 *
 * Host and PID 1 talk over a SOCK_SEQPACKET socketpair: one message per
 * request or answer, file descriptors passed with SCM_RIGHTS. */
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "rootfs/rootfs.h"
#include "rootfs/workspace.h"
#include "runtime/caps.h"
#include "runtime/mount.h"
#include "runtime/net.h"
#include "runtime/seccomp.h"
#include "runtime/uidslot.h"

#define DEFAULT_UID_BASE 1500000000u
#define DEFAULT_UID_SLOTS 4096u
#define DEFAULT_LOCK_DIR "/run/tfjail/slots"
#define SETUP_TIMEOUT_MS 30000
#define MAX_MSG (256 * 1024)
/* After the command exits, how long its output pipes may stay open (held by
 * a process that left its process group). */
#define DRAIN_GRACE_MS 1000

/* Where PID 1 builds the new root before pivoting into it. */
#define BASE_DIR "/tmp"
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"
#define UPLOAD_DIR "/.upload"

enum msg_type {
	MSG_GO = 1,
	MSG_READY,
	MSG_SETUP_ERR,
	MSG_EXEC,
	MSG_RESULT,
};

struct msg_setup_err {
	uint32_t type;
	int32_t errnum;
	char step[32];
	char msg[TJ_ERROR_MSG_MAX];
};

#define EXEC_HAS_STDIN 1u
#define EXEC_HAS_STDOUT 2u
#define EXEC_HAS_STDERR 4u
#define EXEC_BACKGROUND 8u  /* answer at once; the process lives until the sandbox ends */

struct msg_exec {
	uint32_t type;
	uint32_t flags;  /* which stdio fds travel with the message */
	uint32_t argc;
	uint32_t envc;
	/* followed by cwd\0 argv[0]\0 ... envp[0]\0 ... */
};

struct msg_result {
	uint32_t type;
	int32_t wait_status;
	int32_t exec_errno;
};

struct sandbox_runtime {
	struct cgroup_host *cg;
	struct seccomp_program *seccomp;
	uid_t uid_base;
	uint32_t uid_slots;
	char lock_dir[PATH_MAX];
	unsigned long counter;
};

struct sandbox {
	struct sandbox_runtime *rt;
	const struct sandbox_config *cfg;
	pid_t pid;
	int ctl;
	bool alive;
	struct cgroup_job *cg;
	struct uidslot slot;
};

/* ------------------------------------------------------------------ helpers */

static int send_msg(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (nfds > 0) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : -1;
}

/* Receives one message; up to 3 fds land in fds[] (the rest of fds[] = -1). */
static ssize_t recv_msg(int fd, void *buf, size_t len, int fds[3])
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;

	if (fds)
		fds[0] = fds[1] = fds[2] = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int tmp[3];
		if (k > 3)
			k = 3;
		memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if (fds)
				fds[i] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	if (mh.msg_flags & MSG_TRUNC) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

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
	rt->uid_base = opts && opts->uid_base ? opts->uid_base : DEFAULT_UID_BASE;
	rt->uid_slots = opts && opts->uid_slots ? opts->uid_slots : DEFAULT_UID_SLOTS;
	/* operators move the range with TFJAIL_UID_RANGE=BASE:SLOTS (two uids a slot) */
	const char *range = opts && opts->uid_base ? NULL : getenv("TFJAIL_UID_RANGE");
	if (range) {
		const char *v = range;
		char *end;
		unsigned long long base = strtoull(v, &end, 10), slots;
		if (*end != ':' || base < 65536) {
			tj_error_set(err, EINVAL, "TFJAIL_UID_RANGE=%s: want BASE:SLOTS with BASE >= 65536", v);
			free(rt);
			return -1;
		}
		slots = strtoull(end + 1, &end, 10);
		if (*end || slots == 0 || base + 2 * slots > 4294967294ull) {
			tj_error_set(err, EINVAL, "TFJAIL_UID_RANGE=%s: want BASE:SLOTS within 32-bit uids", v);
			free(rt);
			return -1;
		}
		rt->uid_base = (uid_t)base;
		rt->uid_slots = (uint32_t)slots;
	}
	snprintf(rt->lock_dir, sizeof(rt->lock_dir), "%s",
		 opts && opts->lock_dir ? opts->lock_dir : DEFAULT_LOCK_DIR);

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

/* ------------------------------------------------------------------ PID 1 */

struct child_ctx {
	const struct sandbox_config *cfg;
	const struct seccomp_program *seccomp;
	struct cgroup_job *cg;
	int ctl;
	int upload;   /* O_PATH fd of workspace_src, opened by the host, or -1 */
	bool joined_cgroup_ns;
	uid_t uid;
	gid_t gid;
};

static __attribute__((noreturn)) void child_fail(int ctl, const char *step, const struct tj_error *e)
{
	struct msg_setup_err m = {.type = MSG_SETUP_ERR, .errnum = e->errnum};

	snprintf(m.step, sizeof(m.step), "%s", step);
	snprintf(m.msg, sizeof(m.msg), "%s", e->msg);
	send_msg(ctl, &m, sizeof(m), NULL, 0);
	_exit(1);
}

/* The host's environment and tfjail's argv live in PID 1's memory (it is a
 * fork): blank them so that /proc/1/environ and /proc/1/cmdline show nothing
 * of the host even if they were readable. */
static void scrub_host_strings(void)
{
	char buf[2048], *p;
	unsigned long arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	clearenv();
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return;
	/* fields 48-51 of /proc/PID/stat; p+2 is field 3 */
	p += 2;
	for (int field = 3; field < 48 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%lu %lu %lu %lu", &arg_start, &arg_end, &env_start, &env_end) != 4)
		return;
	if (env_end > env_start)
		memset((void *)env_start, 0, env_end - env_start);
	if (arg_end > arg_start) {
		memset((void *)arg_start, 0, arg_end - arg_start);
		snprintf((char *)arg_start, arg_end - arg_start, "tfjail-init");
	}
	prctl(PR_SET_NAME, "tfjail-init", 0, 0, 0);
}

static bool child_exclude(const char *rel, const struct stat *st, void *ctx)
{
	const struct sandbox_config *cfg = ctx;

	return cfg->workspace_exclude ? cfg->workspace_exclude(rel, st, cfg->workspace_exclude_ctx) : false;
}

static int setup_workspace(const struct child_ctx *c, const char **step, struct tj_error *err)
{
	const struct sandbox_config *cfg = c->cfg;
	char src[PATH_MAX];
	enum workspace_failure kind;
	struct workspace_copy_opts o = {
		.exclude = child_exclude,
		.ctx = (void *)(uintptr_t)cfg,
		.max_files = cfg->copy_max_files,
		.max_total_bytes = cfg->copy_max_total_bytes,
		.max_file_bytes = cfg->copy_max_file_bytes,
		.max_depth = cfg->copy_max_depth,
		.uid = c->uid,
		.gid = c->gid,
	};

	*step = "workspace";
	/* bind the upload through the fd opened at the start (child_setup) */
	snprintf(src, sizeof(src), OLDROOT "/proc/self/fd/%d", c->upload);
	if (tj_mkdir_p(NEWROOT UPLOAD_DIR, 0755, err) < 0 || mount_bind_ro(src, NEWROOT UPLOAD_DIR, err) < 0)
		return -1;
	if (workspace_copy(NEWROOT UPLOAD_DIR, NEWROOT "/workspace", &o, &kind, err) < 0) {
		if (kind == WORKSPACE_NOSPACE)
			*step = "workspace-full";
		else if (kind == WORKSPACE_INVALID)
			*step = "workspace-invalid";
		return -1;
	}
	close(c->upload);
	if (umount2(NEWROOT UPLOAD_DIR, MNT_DETACH) < 0)
		return tj_error_sys(err, "unmount the upload");
	if (rmdir(NEWROOT UPLOAD_DIR) < 0)
		return tj_error_sys(err, "remove %s", UPLOAD_DIR);
	return 0;
}

/* The setup sequence, top to bottom.  Runs as PID 1 of the new namespaces,
 * first as uid 0 of the new user namespace (all capabilities there, none on
 * the host), and ends unprivileged. */
static void child_setup(struct child_ctx *c)
{
	const struct sandbox_config *cfg = c->cfg;
	struct tj_error err = {0};
	struct rootfs_plan plan = {0};
	struct rootfs_bind *binds = NULL;
	const char *step = "init";
	char go;
	int devnull;

	/* Nothing may ptrace or read /proc/1/{mem,environ,fd} of this process. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* The upload, opened while this process still has the host's root
	 * credentials (it becomes an unprivileged uid at GO): a 0700 directory
	 * on the way to it, like /root, is then no obstacle.  The files
	 * themselves are read later as the sandbox's unprivileged uid. */
	if (c->cfg->workspace_src) {
		c->upload = open(c->cfg->workspace_src, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->upload < 0) {
			tj_error_sys(&err, "open the upload %s", c->cfg->workspace_src);
			child_fail(c->ctl, "workspace", &err);
		}
	}
	/* Only the control socket (and the upload's O_PATH fd) survive from
	 * the host. */
	if (dup2(c->ctl, 3) < 0 || (c->upload >= 0 && dup2(c->upload, 4) < 0)) {
		tj_error_sys(&err, "dup2 control socket");
		child_fail(c->ctl, step, &err);
	}
	c->ctl = 3;
	if (c->upload >= 0)
		c->upload = 4;
	if (syscall(SYS_close_range, c->upload >= 0 ? 5 : 4, ~0U, 0) < 0) {
		tj_error_sys(&err, "close inherited file descriptors");
		child_fail(c->ctl, step, &err);
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0) {
		tj_error_sys(&err, "redirect stdio to /dev/null");
		child_fail(c->ctl, step, &err);
	}
	if (devnull > 2)
		close(devnull);

	/* Where clone3 could not place us in the job cgroup (cgroup v1 and
	 * hybrid hosts), move ourselves, while the host writes our uid/gid
	 * maps: we still have the service's credentials until setresuid below.
	 * A process moving itself as a single thread skips the global lock
	 * that the host's write of our pid to cgroup.procs would take, whose
	 * write side waits for an RCU grace period (10-15 ms). */
	if (!c->joined_cgroup_ns && cgroup_job_attach_self(c->cg, &err) < 0) {
		step = "cgroup";
		child_fail(c->ctl, step, &err);
	}

	/* Wait until the host has written our uid/gid maps. */
	if (read(c->ctl, &go, 1) != 1)
		_exit(1);

	step = "uidmap";
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		tj_error_sys(&err, "become root of the user namespace");
		child_fail(c->ctl, step, &err);
	}
	if (!c->joined_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
		step = "cgroup";
		tj_error_sys(&err, "unshare the cgroup namespace");
		child_fail(c->ctl, step, &err);
	}
	step = "hostname";
	if (sethostname(cfg->hostname ? cfg->hostname : "tfjail",
			strlen(cfg->hostname ? cfg->hostname : "tfjail")) < 0) {
		tj_error_sys(&err, "sethostname");
		child_fail(c->ctl, step, &err);
	}

	step = "network";
	if (net_loopback_up(&err) < 0)
		child_fail(c->ctl, step, &err);

	/* Mounts: nothing propagates to the host; a tmpfs base holds the new
	 * root, the host's root stays reachable at /oldroot while we build. */
	step = "mount";
	if (mount_make_rprivate(&err) < 0 || mount_tmpfs(BASE_DIR, "size=64k,mode=0700", MS_NOSUID | MS_NODEV, &err) < 0)
		child_fail(c->ctl, step, &err);
	if (mkdir(BASE_DIR NEWROOT, 0755) < 0 || mkdir(BASE_DIR OLDROOT, 0755) < 0) {
		tj_error_sys(&err, "mkdir in %s", BASE_DIR);
		child_fail(c->ctl, step, &err);
	}
	if (syscall(SYS_pivot_root, BASE_DIR, BASE_DIR OLDROOT) < 0 || chdir("/") < 0) {
		tj_error_sys(&err, "pivot_root %s", BASE_DIR);
		child_fail(c->ctl, step, &err);
	}

	step = "rootfs";
	{
		struct rootfs_spec spec = {
			.n_binds = cfg->n_binds,
			.tmp_bytes = cfg->tmp_bytes,
			.workspace_bytes = cfg->workspace_bytes,
			.uid = c->uid,
			.gid = c->gid,
			.hostname = cfg->hostname,
		};
		struct rootfs_file *files = calloc(cfg->n_files + 1, sizeof(*files));
		binds = calloc(cfg->n_binds + 1, sizeof(*binds));
		if (!binds || !files) {
			tj_error_set(&err, ENOMEM, "out of memory");
			child_fail(c->ctl, step, &err);
		}
		for (size_t i = 0; i < cfg->n_binds; i++) {
			binds[i].src = cfg->binds[i].src;
			binds[i].dst = cfg->binds[i].dst;
		}
		for (size_t i = 0; i < cfg->n_files; i++)
			files[i] = (struct rootfs_file){cfg->files[i].name, cfg->files[i].content, cfg->files[i].mode};
		spec.binds = binds;
		spec.files = files;
		spec.n_files = cfg->n_files;
		if (rootfs_plan_build(&spec, &plan, &err) < 0 ||
		    mount_apply_plan(&plan, NEWROOT, OLDROOT, &err) < 0)
			child_fail(c->ctl, step, &err);
		rootfs_plan_free(&plan);
		free(binds);
		free(files);
	}

	if (cfg->workspace_src && setup_workspace(c, &step, &err) < 0)
		child_fail(c->ctl, step, &err);

	step = "pivot_root";
	if (mount_pivot_root(NEWROOT, &err) < 0)
		child_fail(c->ctl, step, &err);
	if (mount_set_readonly("/", false, &err) < 0)
		child_fail(c->ctl, step, &err);

	step = "rlimits";
	{
		struct rlimit core = {0, 0};
		struct rlimit nofile;
		rlim_t want = cfg->nofile ? cfg->nofile : 1024;
		getrlimit(RLIMIT_NOFILE, &nofile);
		if (want > nofile.rlim_max && nofile.rlim_max != RLIM_INFINITY)
			want = nofile.rlim_max;
		nofile.rlim_cur = nofile.rlim_max = want;
		if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
			tj_error_sys(&err, "setrlimit");
			child_fail(c->ctl, step, &err);
		}
	}

	step = "capabilities";
	if (caps_drop_all(c->uid, c->gid, &err) < 0)
		child_fail(c->ctl, step, &err);
	/* Set after the credential change, which would clear it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (chdir("/workspace") < 0) {
		tj_error_sys(&err, "chdir /workspace");
		child_fail(c->ctl, step, &err);
	}
}

/* Looks argv0 up on the PATH of envp (execvpe would use our own environ). */
static void exec_with_path(char *const argv[], char *const envp[])
{
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	char buf[PATH_MAX];
	int saved = ENOENT;

	if (!argv || !argv[0]) {
		errno = EINVAL;
		return;
	}
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return;
	}
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		if (n > 0 && n + strlen(argv[0]) + 2 < sizeof(buf)) {
			memcpy(buf, path, n);
			buf[n] = '/';
			memcpy(buf + n + 1, argv[0], strlen(argv[0]) + 1);
			execve(buf, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				saved = errno;
		}
		path += n + (end ? 1 : 0);
	}
	errno = saved;
}

/* Child of PID 1 for one command: stdio, a session of its own, seccomp last,
 * then exec.  Reports an exec failure's errno over errfd. */
static __attribute__((noreturn)) void command_exec(const struct child_ctx *c, char *const argv[],
						   char *const envp[], const char *cwd, int fds[3],
						   int errfd)
{
	int e;

	setsid();
	if (fds[0] < 0)
		fds[0] = open("/dev/null", O_RDONLY);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			goto fail;
	if (errfd != 3) {
		if (dup2(errfd, 3) < 0)
			goto fail;
		errfd = 3;
		fcntl(errfd, F_SETFD, FD_CLOEXEC);
	}
	syscall(SYS_close_range, 4, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	{
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	if (chdir(cwd) < 0)
		goto fail;
	if (seccomp_program_load(c->seccomp) < 0)
		goto fail;
	exec_with_path(argv, envp);
fail:
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* nothing more to report with */
	}
	_exit(127);
}

static int handle_exec(struct child_ctx *c, char *buf, size_t len, int fds[3], pid_t *child,
		       int *exec_errno)
{
	struct msg_exec *m = (struct msg_exec *)buf;
	char **argv = NULL, **envp = NULL;
	char *p = buf + sizeof(*m), *end = buf + len;
	const char *cwd;
	int pipefd[2];
	pid_t pid;
	int e = 0;
	ssize_t n;

	if (len < sizeof(*m) || m->argc == 0 || m->argc > 65536 || m->envc > 65536)
		return -1;
	argv = calloc(m->argc + 1, sizeof(char *));
	envp = calloc(m->envc + 1, sizeof(char *));
	if (!argv || !envp)
		goto bad;
	cwd = p;
	p += strnlen(p, (size_t)(end - p)) + 1;
	for (uint32_t i = 0; i < m->argc + m->envc; i++) {
		if (p >= end)
			goto bad;
		if (i < m->argc)
			argv[i] = p;
		else
			envp[i - m->argc] = p;
		p += strnlen(p, (size_t)(end - p)) + 1;
	}
	if (p > end)
		goto bad;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		goto bad;
	pid = fork();
	if (pid == 0)
		command_exec(c, argv, envp, cwd, fds, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		e = errno;
		close(pipefd[0]);
		goto bad_errno;
	}
	/* EOF: exec succeeded (the pipe is close-on-exec); else its errno. */
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	*exec_errno = n == (ssize_t)sizeof(e) ? e : 0;
	*child = pid;
	free(argv);
	free(envp);
	return 0;
bad:
	e = errno ? errno : EINVAL;
bad_errno:
	free(argv);
	free(envp);
	*exec_errno = e;
	*child = -1;
	return -1;
}

/* PID 1's loop: run commands one at a time, reap every process (orphans
 * included), report the command's wait status. */
static __attribute__((noreturn)) void child_loop(struct child_ctx *c)
{
	sigset_t mask;
	int sfd;
	pid_t current = -1;
	int current_exec_errno = 0;
	static char buf[MAX_MSG];

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	{
		uint32_t ready = MSG_READY;
		if (send_msg(c->ctl, &ready, sizeof(ready), NULL, 0) < 0)
			_exit(1);
	}
	for (;;) {
		struct pollfd pfd[2] = {{.fd = c->ctl, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			int status;
			pid_t pid;
			if (read(sfd, &si, sizeof(si)) < 0) {
				/* level-triggered: waitpid below does the work */
			}
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				if (pid == current) {
					struct msg_result r = {.type = MSG_RESULT, .wait_status = status,
							       .exec_errno = current_exec_errno};
					/* what the command left in its process group goes with it */
					kill(-current, SIGKILL);
					current = -1;
					if (send_msg(c->ctl, &r, sizeof(r), NULL, 0) < 0)
						_exit(1);
				}
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int fds[3];
			ssize_t n = recv_msg(c->ctl, buf, sizeof(buf) - 1, fds);
			if (n <= 0)
				_exit(0); /* the host is gone: the kernel kills the rest */
			buf[n] = '\0';
			if ((size_t)n >= sizeof(struct msg_exec) && !(((struct msg_exec *)buf)->flags & EXEC_HAS_STDIN)) {
				/* fds arrive as {stdout, stderr} when stdin stays /dev/null */
				fds[2] = fds[1];
				fds[1] = fds[0];
				fds[0] = -1;
			}
			if ((size_t)n >= sizeof(struct msg_exec) && *(uint32_t *)buf == MSG_EXEC &&
			    (((struct msg_exec *)buf)->flags & EXEC_BACKGROUND)) {
				/* a helper process (a provider server): started, not waited for */
				pid_t bg = -1;
				int bg_errno = 0;
				struct msg_result r = {.type = MSG_RESULT, .wait_status = 0};
				if (handle_exec(c, buf, (size_t)n, fds, &bg, &bg_errno) < 0 || bg < 0 || bg_errno)
					r.wait_status = 127 << 8;
				r.exec_errno = bg_errno;
				send_msg(c->ctl, &r, sizeof(r), NULL, 0);
			} else if ((size_t)n >= sizeof(struct msg_exec) && *(uint32_t *)buf == MSG_EXEC && current < 0) {
				if (handle_exec(c, buf, (size_t)n, fds, &current, &current_exec_errno) < 0 ||
				    current < 0) {
					struct msg_result r = {.type = MSG_RESULT, .wait_status = 127 << 8,
							       .exec_errno = current_exec_errno ? current_exec_errno : EINVAL};
					send_msg(c->ctl, &r, sizeof(r), NULL, 0);
				}
			}
			for (int i = 0; i < 3; i++)
				if (fds[i] >= 0)
					close(fds[i]);
		}
	}
}

static __attribute__((noreturn)) void child_main(struct child_ctx *c)
{
	child_setup(c);
	/* last: the configuration may point into argv or the environment */
	scrub_host_strings();
	child_loop(c);
}

/* ------------------------------------------------------------------ host */

/* clone3 places the child in its cgroup before it runs a single instruction
 * (v2); where that is unavailable the child moves itself first thing
 * (child_setup), before the host lets it go on. */
static pid_t clone_sandbox(int cgroup_fd, bool *into_cgroup)
{
	unsigned long ns = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			   CLONE_NEWUTS;
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

static void setup_fail(struct sandbox_setup_error *fail, const char *step, const struct tj_error *e)
{
	if (!fail)
		return;
	snprintf(fail->step, sizeof(fail->step), "%s", step);
	fail->errnum = e->errnum;
	snprintf(fail->msg, sizeof(fail->msg), "%s", e->msg);
}

static void kill_sandbox(struct sandbox *sb)
{
	if (sb->pid > 0 && sb->alive)
		kill(sb->pid, SIGKILL); /* PID 1 dies: the kernel kills its whole pid namespace */
	if (sb->cg)
		cgroup_job_kill(sb->cg, NULL);
	sb->alive = false;
}

int sandbox_create(struct sandbox_runtime *rt, const struct sandbox_config *cfg, struct sandbox **out,
		   struct sandbox_setup_error *fail)
{
	struct sandbox *sb;
	struct tj_error err = {0};
	int sv[2];
	char name[64];
	bool into_cgroup;
	const char *early_step = NULL;
	struct child_ctx c;
	struct cgroup_limits lim = {0};
	uid_t uid = cfg->run_as_root ? 0 : (cfg->uid ? cfg->uid : 1000);
	gid_t gid = cfg->run_as_root ? 0 : (cfg->gid ? cfg->gid : 1000);

	if (fail)
		memset(fail, 0, sizeof(*fail));
	sb = calloc(1, sizeof(*sb));
	if (!sb) {
		tj_error_set(&err, ENOMEM, "out of memory");
		setup_fail(fail, "init", &err);
		return -1;
	}
	sb->rt = rt;
	sb->cfg = cfg;
	sb->ctl = -1;
	sb->pid = -1;
	sb->slot.lock_fd = -1;

	if (uidslot_acquire(rt->lock_dir, rt->uid_base, rt->uid_slots, &sb->slot, &err) < 0) {
		setup_fail(fail, "uidmap", &err);
		goto fail;
	}

	lim.memory_max = cfg->memory_bytes;
	lim.cpu_period_us = 100000;
	lim.cpu_quota_us = cfg->cpus > 0 ? (uint64_t)(cfg->cpus * 100000.0) : 0;
	lim.pids_max = cfg->pids;
	snprintf(name, sizeof(name), "tfjail-%d-%lu", (int)getpid(), ++rt->counter);
	if (cgroup_job_create(rt->cg, name, &lim, &sb->cg, &err) < 0) {
		setup_fail(fail, "cgroup", &err);
		goto fail;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tj_error_sys(&err, "socketpair");
		setup_fail(fail, "clone", &err);
		goto fail;
	}
	c = (struct child_ctx){.cfg = cfg, .seccomp = rt->seccomp, .cg = sb->cg, .ctl = sv[1], .uid = uid,
			       .gid = gid, .upload = -1};
	sb->pid = clone_sandbox(cgroup_job_dirfd(sb->cg), &into_cgroup);
	if (sb->pid == 0) {
		close(sv[0]);
		c.joined_cgroup_ns = into_cgroup;
		child_main(&c);
	}
	close(sv[1]);
	sb->ctl = sv[0];
	if (sb->pid < 0) {
		tj_error_sys(&err, "clone into new namespaces");
		setup_fail(fail, "clone", &err);
		goto fail;
	}
	sb->alive = true;

	/* PID 1 moves itself into its cgroup before it waits for GO.  If that
	 * failed, it has exited with its report queued, which says more than
	 * our failure to write its maps: then look for that report at once. */
	if (write_id_maps(sb->pid, &sb->slot, uid, gid, &err) < 0) {
		early_step = "uidmap";
	} else {
		uint8_t go = MSG_GO;
		if (send(sb->ctl, &go, 1, MSG_NOSIGNAL) != 1) {
			tj_error_sys(&err, "start the sandbox");
			early_step = "clone";
		}
	}

	/* Wait for READY, or the step that failed. */
	{
		struct pollfd p = {.fd = sb->ctl, .events = POLLIN};
		struct msg_setup_err m;
		ssize_t n;
		int pr;
		do
			pr = poll(&p, 1, early_step ? 0 : SETUP_TIMEOUT_MS);
		while (pr < 0 && errno == EINTR && !cancel_signo);
		if (cancel_signo) {
			tj_error_set(&err, EINTR, "interrupted by signal %d", (int)cancel_signo);
			setup_fail(fail, "canceled", &err);
			goto fail;
		}
		if (pr == 0 && early_step) {
			setup_fail(fail, early_step, &err);
			goto fail;
		}
		if (pr == 0) {
			tj_error_set(&err, ETIMEDOUT, "sandbox setup did not finish within %d s", SETUP_TIMEOUT_MS / 1000);
			setup_fail(fail, "setup", &err);
			goto fail;
		}
		memset(&m, 0, sizeof(m));
		n = recv_msg(sb->ctl, &m, sizeof(m), NULL);
		if (n >= (ssize_t)sizeof(uint32_t) && m.type == MSG_READY && !early_step) {
			*out = sb;
			return 0;
		}
		if (n == (ssize_t)sizeof(m) && m.type == MSG_SETUP_ERR) {
			m.step[sizeof(m.step) - 1] = '\0';
			m.msg[sizeof(m.msg) - 1] = '\0';
			err.errnum = m.errnum;
			snprintf(err.msg, sizeof(err.msg), "%s", m.msg);
			setup_fail(fail, m.step, &err);
		} else {
			tj_error_set(&err, EPIPE, "the sandbox died during setup");
			setup_fail(fail, "setup", &err);
		}
	}
fail:
	sandbox_destroy(sb, NULL);
	return -1;
}

pid_t sandbox_pid(const struct sandbox *sb)
{
	return sb->pid;
}

uid_t sandbox_host_uid(const struct sandbox *sb)
{
	return sb->cfg->run_as_root ? sb->slot.host_root : sb->slot.host_user;
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
	char *msg = malloc(MAX_MSG);
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
	off = pack_strings(msg, MAX_MSG, off, cmd->cwd ? cmd->cwd : "/workspace");
	for (size_t i = 0; cmd->argv[i] && off != SIZE_MAX; i++, m->argc++)
		off = pack_strings(msg, MAX_MSG, off, cmd->argv[i]);
	for (size_t i = 0; cmd->envp && cmd->envp[i] && off != SIZE_MAX; i++, m->envc++)
		off = pack_strings(msg, MAX_MSG, off, cmd->envp[i]);
	if (off == SIZE_MAX) {
		free(msg);
		tj_error_set(err, E2BIG, "command line and environment exceed %d bytes", MAX_MSG);
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
		return tj_error_set(err, EINVAL, "a background command needs argv, stdout and stderr (no stdin)");
	msg = pack_exec(cmd, EXEC_HAS_STDOUT | EXEC_HAS_STDERR | EXEC_BACKGROUND, &len, err);
	if (!msg)
		return -1;
	if (send_msg(sb->ctl, msg, len, fds, 2) < 0)
		return tj_error_sys(err, "send the command to the sandbox");
	if (poll(&p, 1, SETUP_TIMEOUT_MS) != 1 || recv_msg(sb->ctl, &r, sizeof(r), NULL) != (ssize_t)sizeof(r) ||
	    r.type != MSG_RESULT) {
		kill_sandbox(sb);
		return tj_error_set(err, EPIPE, "the sandbox did not answer");
	}
	if (r.exec_errno || r.wait_status)
		return tj_error_set(err, r.exec_errno ? r.exec_errno : ENOEXEC, "cannot execute %s: %s", cmd->argv[0],
				    strerror(r.exec_errno ? r.exec_errno : ENOEXEC));
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
	if (send_msg(sb->ctl, msg, off, fds, (size_t)nfds) < 0) {
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
			ssize_t n = recv_msg(sb->ctl, &r, sizeof(r), NULL);
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
	if (sb->pid > 0 && sb->alive)
		kill(sb->pid, SIGKILL);
	sb->alive = false;
	if (sb->pid > 0) {
		int st;
		while (waitpid(sb->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (sb->ctl >= 0)
		close(sb->ctl);
	if (sb->cg && cgroup_job_destroy(sb->cg, err) < 0)
		rc = -1;
	uidslot_release(&sb->slot);
	free(sb);
	return rc;
}
