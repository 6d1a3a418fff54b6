/* The sandbox's PID 1: the setup sequence (child_setup), then the command
 * loop (child_loop).  See init.h. */
#include "runtime/init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "rootfs/rootfs.h"
#include "rootfs/workspace.h"
#include "runtime/caps.h"
#include "runtime/ctl.h"
#include "runtime/limits.h"
#include "runtime/mount.h"
#include "runtime/net.h"
#include "runtime/seccomp.h"

/* Where PID 1 builds the new root before pivoting into it. */
#define BASE_DIR   "/tmp"
#define NEWROOT    "/newroot"
#define OLDROOT    "/oldroot"
#define UPLOAD_DIR "/.upload"

/* The report of a failed step; extra (at most SANDBOX_INSPECT_MAX bytes)
 * follows it: the inspection of an upload that could not be copied. */
static __attribute__((noreturn)) void child_fail_with(int ctl, enum sandbox_setup_step step,
                                                      const struct tj_error *e, const char *extra,
                                                      size_t extra_len)
{
	static char buf[sizeof(struct msg_setup_err) + SANDBOX_INSPECT_MAX];
	struct msg_setup_err *m = (struct msg_setup_err *)buf;

	if (extra_len > SANDBOX_INSPECT_MAX)
		extra_len = 0;
	*m = (struct msg_setup_err){
	    .type = MSG_SETUP_ERR, .step = step, .errnum = e->errnum, .extra_len = (uint32_t)extra_len};
	snprintf(m->msg, sizeof(m->msg), "%s", e->msg);
	if (extra_len)
		memcpy(buf + sizeof(*m), extra, extra_len);
	ctl_send(ctl, buf, sizeof(*m) + extra_len, NULL, 0);
	_exit(1);
}

static __attribute__((noreturn)) void child_fail(int ctl, enum sandbox_setup_step step,
                                                 const struct tj_error *e)
{
	child_fail_with(ctl, step, e, NULL, 0);
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

/* What the workspace worker reports to PID 1, followed by out_len bytes of
 * the inspection's result. */
struct worker_report {
	int32_t step; /* SANDBOX_SETUP_INIT: done */
	int32_t errnum;
	char msg[TJ_ERROR_MSG_MAX];
	uint32_t out_len;
};

/* The workspace worker: a child of PID 1 with the commands' uid, no
 * capabilities, no_new_privs and the commands' seccomp filter, in the final
 * root (the host's tree is detached): copies the upload, then inspects the
 * copy.  Whatever the upload holds is parsed here and nowhere else. */
static __attribute__((noreturn)) void workspace_worker(const struct init_ctx *c, int report_fd)
{
	const struct sandbox_config *cfg = c->cfg;
	static struct worker_report r;
	static char out[SANDBOX_INSPECT_MAX];
	struct tj_error err = {0};
	enum workspace_failure kind = WORKSPACE_OK;
	struct workspace_copy_opts o = {
	    .exclude = child_exclude,
	    .ctx = (void *)(uintptr_t)cfg,
	    .max_files = cfg->copy_max_files,
	    .max_total_bytes = cfg->copy_max_total_bytes,
	    .max_file_bytes = cfg->copy_max_file_bytes,
	    .max_depth = cfg->copy_max_depth,
	    .uid = (uid_t)-1, /* the copies are ours: we are the commands' uid */
	    .gid = (gid_t)-1,
	};
	ssize_t n = 0;

	r.step = SANDBOX_SETUP_WORKSPACE;
	if (caps_drop_all(c->uid, c->gid, &err) < 0 || seccomp_program_load(c->seccomp) < 0) {
		if (!err.msg[0])
			tj_error_sys(&err, "seccomp");
		goto report;
	}
	if (workspace_copy(UPLOAD_DIR, "/workspace", &o, &kind, &err) < 0) {
		r.step = kind == WORKSPACE_NOSPACE      ? SANDBOX_SETUP_WORKSPACE_FULL
		         : kind == WORKSPACE_INVALID    ? SANDBOX_SETUP_WORKSPACE_INVALID
		         : kind == WORKSPACE_UNREADABLE ? SANDBOX_SETUP_WORKSPACE_UNREADABLE
		                                        : SANDBOX_SETUP_WORKSPACE;
		/* nothing will run: the inspection may explain, from the
		 * read-only upload, with the same credentials */
		if (kind == WORKSPACE_INVALID && cfg->workspace_inspect) {
			struct tj_error ierr = {0};
			n = cfg->workspace_inspect(UPLOAD_DIR, cfg->workspace_inspect_ctx, out, sizeof(out),
			                           &ierr);
			if (n > 0 && (size_t)n <= sizeof(out))
				r.out_len = (uint32_t)n;
		}
		goto report;
	}
	if (cfg->workspace_inspect) {
		r.step = SANDBOX_SETUP_INSPECT;
		n = cfg->workspace_inspect("/workspace", cfg->workspace_inspect_ctx, out, sizeof(out), &err);
		if (n < 0 || (size_t)n > sizeof(out))
			goto report;
		r.out_len = (uint32_t)n;
	}
	r.step = SANDBOX_SETUP_INIT;
report:
	r.errnum = err.errnum;
	snprintf(r.msg, sizeof(r.msg), "%s", err.msg);
	if (tj_write_all(report_fd, &r, sizeof(r)) < 0 || tj_write_all(report_fd, out, r.out_len) < 0)
		_exit(1);
	_exit(0);
}

/* Attaches the host's read-only clone of the upload at /.upload, runs the
 * workspace worker and takes its report, then removes the upload. */
static int setup_workspace(struct init_ctx *c, enum sandbox_setup_step *step, struct tj_error *err)
{
	static struct worker_report r;
	int p[2], st;
	pid_t pid;
	ssize_t n;

	*step = SANDBOX_SETUP_WORKSPACE;
	if (tj_mkdir_p(UPLOAD_DIR, 0755, err) < 0 || mount_attach_tree(c->upload, UPLOAD_DIR, err) < 0)
		return -1;
	close(c->upload);
	c->upload = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return tj_error_sys(err, "pipe");
	pid = fork();
	if (pid < 0)
		return tj_error_sys(err, "fork the workspace worker");
	if (pid == 0) {
		close(p[0]);
		workspace_worker(c, p[1]);
	}
	close(p[1]);
	memset(&r, 0, sizeof(r));
	n = tj_read_all(p[0], &r, sizeof(r));
	if (n == (ssize_t)sizeof(r) && r.out_len <= SANDBOX_INSPECT_MAX) {
		c->inspect = malloc(r.out_len + 1);
		if (!c->inspect || tj_read_all(p[0], c->inspect, r.out_len) != (ssize_t)r.out_len)
			n = -1;
		else
			c->inspect_len = r.out_len;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (WIFSIGNALED(st))
			return tj_error_set(err, EPIPE, "the workspace worker was killed by signal %d",
			                    WTERMSIG(st));
		return tj_error_set(err, EPIPE, "the workspace worker ended without a report");
	}
	if (r.step != SANDBOX_SETUP_INIT) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		*step = r.step >= SANDBOX_SETUP_WORKSPACE && r.step <= SANDBOX_SETUP_INSPECT
		            ? (enum sandbox_setup_step)r.step
		            : SANDBOX_SETUP_WORKSPACE;
		return tj_error_set(err, r.errnum, "%s", r.msg);
	}
	if (umount2(UPLOAD_DIR, MNT_DETACH) < 0)
		return tj_error_sys(err, "unmount the upload");
	if (rmdir(UPLOAD_DIR) < 0)
		return tj_error_sys(err, "remove %s", UPLOAD_DIR);
	/* what the inspection wrote for the commands, read-only to them */
	{
		const char *seal = c->cfg->inspect_seal;
		struct stat sst;
		if (seal && lstat(seal, &sst) == 0 && S_ISDIR(sst.st_mode) &&
		    mount_bind_ro(seal, seal, err) < 0)
			return -1;
	}
	return 0;
}

/* The setup sequence, top to bottom.  Runs as PID 1 of the new namespaces,
 * first as uid 0 of the new user namespace (all capabilities there, none on
 * the host), and ends unprivileged. */
static void child_setup(struct init_ctx *c)
{
	const struct sandbox_config *cfg = c->cfg;
	struct tj_error err = {0};
	struct rootfs_plan plan = {0};
	struct rootfs_bind *binds = NULL;
	enum sandbox_setup_step step = SANDBOX_SETUP_INIT;
	struct limits_plan limits;
	char go;
	int devnull;

	/* Nothing may ptrace or read /proc/1/{mem,environ,fd} of this process. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	/* Where clone3 could not place us in the job cgroup (cgroup v1 and
	 * hybrid hosts), move ourselves, while the host writes our uid/gid
	 * maps, through the files the host opened for us (we have no host
	 * credentials of our own).  A process moving itself as a single thread
	 * skips the global lock that the host's write of our pid to
	 * cgroup.procs would take, whose write side waits for an RCU grace
	 * period (10-15 ms). */
	if (c->joined_cgroup_ns)
		cgroup_job_attach_close(c->cg);
	else if (cgroup_job_attach_self(c->cg, &err) < 0)
		child_fail(c->ctl, SANDBOX_SETUP_CGROUP, &err);

	/* Only the control socket and the upload's O_PATH fd (opened by the
	 * host) survive from the host. */
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

	/* Wait until the host has written our uid/gid maps. */
	if (read(c->ctl, &go, 1) != 1)
		_exit(1);

	step = SANDBOX_SETUP_UIDMAP;
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		tj_error_sys(&err, "become root of the user namespace");
		child_fail(c->ctl, step, &err);
	}
	if (!c->joined_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
		step = SANDBOX_SETUP_CGROUP;
		tj_error_sys(&err, "unshare the cgroup namespace");
		child_fail(c->ctl, step, &err);
	}
	step = SANDBOX_SETUP_HOSTNAME;
	if (sethostname(cfg->hostname ? cfg->hostname : "tfjail",
	                strlen(cfg->hostname ? cfg->hostname : "tfjail")) < 0) {
		tj_error_sys(&err, "sethostname");
		child_fail(c->ctl, step, &err);
	}

	/* Counters of our own user namespace, while we are root in it (and
	 * /proc is still the host's mount, before any mask). */
	step = SANDBOX_SETUP_LIMITS;
	{
		uint64_t ws = cfg->workspace_bytes ? cfg->workspace_bytes : 64ull << 20;
		uint64_t tmp = cfg->tmp_bytes ? cfg->tmp_bytes : 64ull << 20;
		struct limits_spec ls = {
		    .pids = cfg->pids,
		    .nofile = cfg->nofile,
		    /* a file may fill the largest tmpfs (ENOSPC, not SIGXFSZ) */
		    .fsize = (ws > tmp ? ws : tmp) + (1u << 20),
		};
		limits_plan_build(&ls, &limits);
	}
	if (limits_apply_userns(&limits, &err) < 0)
		child_fail(c->ctl, step, &err);

	step = SANDBOX_SETUP_NETWORK;
	if (net_loopback_up(&err) < 0)
		child_fail(c->ctl, step, &err);

	/* Mounts: nothing propagates to the host; a tmpfs base holds the new
	 * root, the host's root stays reachable at /oldroot while we build. */
	step = SANDBOX_SETUP_MOUNT;
	if (mount_make_rprivate(&err) < 0 ||
	    mount_tmpfs(BASE_DIR, "size=64k,mode=0700", MS_NOSUID | MS_NODEV, &err) < 0)
		child_fail(c->ctl, step, &err);
	if (mkdir(BASE_DIR NEWROOT, 0755) < 0 || mkdir(BASE_DIR OLDROOT, 0755) < 0) {
		tj_error_sys(&err, "mkdir in %s", BASE_DIR);
		child_fail(c->ctl, step, &err);
	}
	if (syscall(SYS_pivot_root, BASE_DIR, BASE_DIR OLDROOT) < 0 || chdir("/") < 0) {
		tj_error_sys(&err, "pivot_root %s", BASE_DIR);
		child_fail(c->ctl, step, &err);
	}

	step = SANDBOX_SETUP_ROOTFS;
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
			files[i] = (struct rootfs_file){cfg->files[i].name, cfg->files[i].content,
			                                cfg->files[i].mode};
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

	step = SANDBOX_SETUP_PIVOT_ROOT;
	if (mount_pivot_root(NEWROOT, &err) < 0)
		child_fail(c->ctl, step, &err);

	step = SANDBOX_SETUP_LIMITS;
	if (limits_apply_rlimits(&limits, &err) < 0)
		child_fail(c->ctl, step, &err);

	/* The host's tree is gone: only now is the upload read, and as the
	 * commands' uid. */
	if (c->upload >= 0 && setup_workspace(c, &step, &err) < 0)
		child_fail_with(c->ctl, step, &err, c->inspect, c->inspect_len);

	step = SANDBOX_SETUP_PIVOT_ROOT;
	if (mount_set_readonly("/", false, &err) < 0)
		child_fail(c->ctl, step, &err);

	step = SANDBOX_SETUP_CAPABILITIES;
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
static __attribute__((noreturn)) void command_exec(const struct init_ctx *c, char *const argv[],
                                                   char *const envp[], const char *cwd, int fds[3], int errfd)
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

static int handle_exec(struct init_ctx *c, char *buf, size_t len, int fds[3], pid_t *child, int *exec_errno)
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

/* The helper processes started in the background (provider servers): they
 * outlive the command that follows them, nothing else does. */
#define MAX_HELPERS 64

struct helpers {
	pid_t pid[MAX_HELPERS];
	size_t n;
};

static bool helpers_has(const struct helpers *h, pid_t pid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->pid[i] == pid)
			return true;
	return false;
}

static void helpers_forget(struct helpers *h, pid_t pid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->pid[i] == pid) {
			h->pid[i] = h->pid[--h->n];
			return;
		}
}

/* Reaps every exited child of PID 1 (orphans included); returns how many. */
static size_t reap_all(struct helpers *h)
{
	size_t n = 0;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		helpers_forget(h, pid);
		n++;
	}
	return n;
}

/* The state letter of /proc/PID/stat; 0 if the process is gone. */
static char proc_state(const char *pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* After a command: every process of the sandbox but PID 1 and the helpers
 * is killed, also those that left the command's session and process group
 * (setsid), so that nothing of one step runs in the next.  Repeated until a
 * pass finds nothing alive: a process may fork while a pass runs. */
static void kill_leftovers(struct helpers *h)
{
	for (int pass = 0; pass < 10000; pass++) {
		size_t alive = 0;
		struct dirent *de;
		DIR *d = opendir("/proc");

		if (!d)
			return;
		while ((de = readdir(d))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			char st;
			if (*end || pid <= 1 || helpers_has(h, (pid_t)pid))
				continue;
			st = proc_state(de->d_name);
			if (st && st != 'Z') {
				kill((pid_t)pid, SIGKILL);
				alive++;
			}
		}
		closedir(d);
		if (reap_all(h) == 0 && alive == 0)
			return;
		if (alive)
			sched_yield();
	}
}

/* PID 1's loop: run commands one at a time, reap every process (orphans
 * included), report the command's wait status. */
static __attribute__((noreturn)) void child_loop(struct init_ctx *c)
{
	sigset_t mask;
	int sfd;
	pid_t current = -1;
	int current_exec_errno = 0;
	static char buf[CTL_MAX_MSG];
	struct helpers helpers = {.n = 0};

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	{
		/* READY carries the inspection's bytes, if any */
		struct msg_ready *ready = (struct msg_ready *)buf;
		ready->type = MSG_READY;
		ready->len = (uint32_t)c->inspect_len;
		if (c->inspect_len)
			memcpy(buf + sizeof(*ready), c->inspect, c->inspect_len);
		free(c->inspect);
		c->inspect = NULL;
		if (ctl_send(c->ctl, buf, sizeof(*ready) + c->inspect_len, NULL, 0) < 0)
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
				helpers_forget(&helpers, pid);
				if (pid == current) {
					struct msg_result r = {.type = MSG_RESULT,
					                       .wait_status = status,
					                       .exec_errno = current_exec_errno};
					/* what the command left behind goes with it */
					current = -1;
					kill_leftovers(&helpers);
					if (ctl_send(c->ctl, &r, sizeof(r), NULL, 0) < 0)
						_exit(1);
				}
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int fds[3];
			ssize_t n = ctl_recv(c->ctl, buf, sizeof(buf) - 1, fds);
			if (n <= 0)
				_exit(0); /* the host is gone: the kernel kills the rest */
			buf[n] = '\0';
			if ((size_t)n >= sizeof(struct msg_exec) &&
			    !(((struct msg_exec *)buf)->flags & EXEC_HAS_STDIN)) {
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
				if (handle_exec(c, buf, (size_t)n, fds, &bg, &bg_errno) < 0 || bg < 0 ||
				    bg_errno)
					r.wait_status = 127 << 8;
				else if (helpers.n < MAX_HELPERS)
					helpers.pid[helpers.n++] = bg;
				r.exec_errno = bg_errno;
				ctl_send(c->ctl, &r, sizeof(r), NULL, 0);
			} else if ((size_t)n >= sizeof(struct msg_exec) && *(uint32_t *)buf == MSG_EXEC &&
			           current < 0) {
				if (handle_exec(c, buf, (size_t)n, fds, &current, &current_exec_errno) < 0 ||
				    current < 0) {
					struct msg_result r = {
					    .type = MSG_RESULT,
					    .wait_status = 127 << 8,
					    .exec_errno = current_exec_errno ? current_exec_errno : EINVAL};
					ctl_send(c->ctl, &r, sizeof(r), NULL, 0);
				}
			}
			for (int i = 0; i < 3; i++)
				if (fds[i] >= 0)
					close(fds[i]);
		}
	}
}

void init_main(struct init_ctx *c)
{
	child_setup(c);
	/* last: the configuration may point into argv or the environment */
	scrub_host_strings();
	child_loop(c);
}