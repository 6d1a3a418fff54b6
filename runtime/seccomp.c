/* The seccomp profile (see seccomp.h and docs/seccomp.md).
 *
 * The profile is data: groups of syscall names, each with the reason it is
 * there.  seccomp_program_build() turns the table plus the policy's extra
 * denials into a libseccomp filter, exports it as BPF into a memfd and keeps
 * the instructions; seccomp_program_load() is a single seccomp(2) call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runtime/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/cleanup.h"

/* Namespace flags clone() must not carry (Docker's mask 0x7E020000).
 * CLONE_NEWTIME shares its bit with the exit signal in clone() and is only
 * reachable through clone3 and unshare, both refused. */
#define SECCOMP_CLONE_NS_MASK                                                                   \
	((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		    CLONE_NEWNET | CLONE_NEWCGROUP))

/* Syscall numbers above the newest one libseccomp knows, up to this bound,
 * fail with ENOSYS: a libc or Go runtime newer than the profile then falls
 * back as on an older kernel, instead of failing on EPERM. */
#define SECCOMP_FUTURE_NR_MAX 511

/* ---- the profile ---------------------------------------------------- */

struct seccomp_group {
	const char *group;
	enum seccomp_rule_action action;
	int errnum;
	const char *const *names;
};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct seccomp_group seccomp_profile[] = {
	/* Files and directories inside the sandbox's own mount namespace: the
	 * mounts (read-only root, tmpfs /tmp and /workspace) are the control,
	 * not these calls. */
	{"files", SECCOMP_RULE_ALLOW, 0,
	 NAMES("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	       "preadv2", "pwritev2", "open", "openat", "openat2", "creat", "close", "close_range",
	       "lseek", "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
	       "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents",
	       "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "rename",
	       "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink",
	       "unlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
	       "fchownat", "umask", "truncate", "ftruncate", "fallocate", "fadvise64", "readahead",
	       "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "flock", "fcntl", "dup",
	       "dup2", "dup3", "utime", "utimes", "utimensat", "futimesat", "mknod", "mknodat",
	       "copy_file_range", "sendfile", "splice", "tee", "vmsplice", "cachestat",
	       "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	       "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr",
	       "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	       "inotify_rm_watch")},
	/* Memory management: the Go runtime and every allocator; mlock is
	 * bounded by RLIMIT_MEMLOCK and the memory cgroup. */
	{"memory", SECCOMP_RULE_ALLOW, 0,
	 NAMES("brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync",
	       "mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier", "memfd_create",
	       "pkey_alloc", "pkey_free", "pkey_mprotect", "map_shadow_stack")},
	/* Processes and threads: terraform starts providers (fork/execve), Go
	 * and glibc start threads (clone, futex, rseq, set_robust_list) and set
	 * the thread pointer (arch_prctl).  Signals reach only the sandbox's
	 * pid namespace; scheduling and rlimits can only be lowered without
	 * capabilities.  clone and personality are filtered below. */
	{"processes", SECCOMP_RULE_ALLOW, 0,
	 NAMES("fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	       "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "getpgrp",
	       "setpgid", "getsid", "setsid", "set_tid_address", "set_robust_list",
	       "get_robust_list", "rseq", "arch_prctl", "prctl", "futex", "futex_waitv",
	       "futex_wake", "futex_wait", "futex_requeue", "sched_yield", "sched_getaffinity",
	       "sched_setaffinity", "sched_getparam", "sched_setparam", "sched_getscheduler",
	       "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	       "sched_rr_get_interval", "sched_getattr", "sched_setattr", "getpriority",
	       "setpriority", "ioprio_get", "ioprio_set", "getcpu", "getrlimit", "setrlimit",
	       "prlimit64", "getrusage", "times", "pidfd_open", "pidfd_send_signal",
	       "restart_syscall", "uname", "sysinfo", "getrandom")},
	/* Signals and timers: the Go runtime's preemption (SIGURG), terraform's
	 * interrupt handling, sleep(1). */
	{"signals", SECCOMP_RULE_ALLOW, 0,
	 NAMES("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending",
	       "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
	       "signalfd4", "pause", "alarm", "getitimer", "setitimer", "timer_create",
	       "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	       "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
	       "time", "timerfd_create", "timerfd_settime", "timerfd_gettime")},
	/* Waiting and local IPC: Go's netpoller (epoll, eventfd, pipes); SysV
	 * IPC and POSIX queues live in the sandbox's own IPC namespace (queue
	 * bytes bounded by RLIMIT_MSGQUEUE). */
	{"events", SECCOMP_RULE_ALLOW, 0,
	 NAMES("epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	       "epoll_pwait2", "poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2", "pipe",
	       "pipe2", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop",
	       "semctl", "msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink",
	       "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr")},
	/* Sockets once created: go-plugin talks to providers over AF_UNIX; the
	 * network namespace has only lo.  socket() itself is filtered below. */
	{"network", SECCOMP_RULE_ALLOW, 0,
	 NAMES("socketpair", "connect", "accept", "accept4", "bind", "listen", "getsockname",
	       "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg",
	       "recvmsg", "sendmmsg", "recvmmsg", "shutdown")},
	/* Identity: without capabilities these can only switch between ids
	 * the process already holds (or drop capabilities). */
	{"identity", SECCOMP_RULE_ALLOW, 0,
	 NAMES("getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	       "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
	       "setfsgid", "setgroups", "capget", "capset")},
	/* A process may restrict itself further (filters stack, with
	 * no_new_privs already set). */
	{"self-restriction", SECCOMP_RULE_ALLOW, 0,
	 NAMES("seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self")},

	/* Argument filters (seccomp_add_conditional); EPERM when they fail. */
	{"processes", SECCOMP_RULE_ALLOW_IF, 0, NAMES("clone", "personality")},
	{"files", SECCOMP_RULE_ALLOW_IF, 0, NAMES("ioctl")},
	{"network", SECCOMP_RULE_ALLOW_IF, 0, NAMES("socket")},

	/* glibc >= 2.34 and Go try clone3 first and fall back to clone only on
	 * ENOSYS; clone3 passes its flags in memory, where no filter can see a
	 * namespace flag. */
	{"clone3", SECCOMP_RULE_ERRNO, ENOSYS, NAMES("clone3")},
	/* New namespaces, mounts, a new root: the sandbox's layout is fixed
	 * before exec (some of these need no capability inside a user ns). */
	{"namespaces-mounts", SECCOMP_RULE_ERRNO, EPERM,
	 NAMES("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount",
	       "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr")},
	/* The kernel keyring is not namespaced: keys would cross sandboxes. */
	{"keyring", SECCOMP_RULE_ERRNO, EPERM, NAMES("keyctl", "add_key", "request_key")},
	/* Large kernel attack surface with a history of exploits, needed by
	 * nothing terraform runs. */
	{"kernel-surface", SECCOMP_RULE_ERRNO, EPERM,
	 NAMES("bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
	       "io_uring_register", "modify_ldt", "uselib")},
	/* Legacy AIO: every io_setup() counts against one host-wide limit
	 * (fs.aio-max-nr), so one sandbox could deny it to the host and every
	 * other sandbox.  Nothing terraform runs uses it (Go never does). */
	{"host-wide-aio", SECCOMP_RULE_ERRNO, EPERM,
	 NAMES("io_setup", "io_destroy", "io_getevents", "io_pgetevents", "io_submit", "io_cancel")},
	/* Reading or steering another process's memory or fds. */
	{"other-processes", SECCOMP_RULE_ERRNO, EPERM,
	 NAMES("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	       "process_madvise")},
	/* Host administration: modules, kexec, reboot, swap, accounting,
	 * quotas, the kernel log, I/O ports, names, time. */
	{"host-admin", SECCOMP_RULE_ERRNO, EPERM,
	 NAMES("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	       "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog",
	       "vhangup", "iopl", "ioperm", "lookup_dcookie", "sethostname", "setdomainname",
	       "clock_settime", "settimeofday", "adjtimex", "clock_adjtime")},
	/* File handles bypass path lookup (the "shocker" escape). */
	{"file-handles", SECCOMP_RULE_ERRNO, EPERM, NAMES("open_by_handle_at", "name_to_handle_at")},
};

/* ---- the program ---------------------------------------------------- */

/* The default profile's filter, compiled by libseccomp at build time
 * (mk/seccomp.mk runs runtime/gen/seccomp_bpf.c): libseccomp's BPF
 * generation costs 1-6 ms, paid by every `tfjail run` otherwise.  The
 * seccomp test checks that it equals what libseccomp builds now. */
#ifdef TFJAIL_SECCOMP_PREBUILT
#include "seccomp_prebuilt.inc" /* static const struct sock_filter seccomp_prebuilt[] */
#endif

struct seccomp_program {
	struct sock_filter *insns;
	size_t n_insns;
	bool prebuilt;           /* insns are the build-time filter */
	struct seccomp_rule *rules;
	size_t n_rules;
	char **owned;            /* names copied from extra_deny */
	size_t n_owned;
};

static const char *seccomp_cond_text(const char *name)
{
	if (strcmp(name, "clone") == 0)
		return "flags & (CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|"
		       "CLONE_NEWNET|CLONE_NEWCGROUP) == 0";
	if (strcmp(name, "personality") == 0)
		return "persona in {0x0, 0x8, 0x20000, 0x20008, 0xffffffff}";
	if (strcmp(name, "ioctl") == 0)
		return "(unsigned int)request not in {TIOCSTI, TIOCLINUX}";
	if (strcmp(name, "socket") == 0)
		return "domain in {AF_UNIX, AF_INET, AF_INET6}, or AF_NETLINK with protocol NETLINK_ROUTE";
	return NULL;
}

/* Adds ALLOW rules covering every 32-bit value of argument `arg` except
 * those in deny[] (sorted, distinct): the minimal set of prefixes of the
 * binary trie, each one masked comparison.  The kernel reads ioctl's request
 * as unsigned int, so only the low 32 bits may decide (a filter comparing 64
 * bits is bypassed by setting bit 32, as with TIOCSTI in CVE-2019-10063). */
static int seccomp_allow_u32_except(scmp_filter_ctx ctx, int nr, unsigned int arg,
				    const uint32_t *deny, size_t n, uint64_t prefix, int depth)
{
	uint64_t mask = depth == 0 ? 0 : (0xffffffffull << (32 - depth)) & 0xffffffffull;
	size_t split = 0;
	int r;

	if (n == 0)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, prefix));
	if (depth == 32)
		return 0; /* exactly a denied value */
	while (split < n && !(deny[split] & (1u << (31 - depth))))
		split++;
	r = seccomp_allow_u32_except(ctx, nr, arg, deny, split, prefix, depth + 1);
	if (r < 0)
		return r;
	return seccomp_allow_u32_except(ctx, nr, arg, deny + split, n - split,
					prefix | (1ull << (31 - depth)), depth + 1);
}

static int seccomp_add_conditional(scmp_filter_ctx ctx, const char *name, int nr)
{
	int r = -EINVAL;

	if (strcmp(name, "clone") == 0) {
		/* Threads and fork, never a new namespace. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, SECCOMP_CLONE_NS_MASK, 0));
	} else if (strcmp(name, "personality") == 0) {
		/* Docker's list: PER_LINUX, PER_LINUX32, UNAME26 variants and the
		 * query; never ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC. */
		static const uint32_t ok[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, ok[i]));
			if (r < 0)
				break;
		}
	} else if (strcmp(name, "ioctl") == 0) {
		/* Terminals, FIONREAD, FIOCLEX...; TIOCSTI pushes input into a
		 * terminal outside, TIOCLINUX reads and writes the console. */
		static const uint32_t deny[] = {TIOCSTI, TIOCLINUX}; /* sorted */

		r = seccomp_allow_u32_except(ctx, nr, 1, deny, sizeof(deny) / sizeof(deny[0]), 0, 0);
	} else if (strcmp(name, "socket") == 0) {
		/* Unix sockets for go-plugin, inet for loopback, route netlink for
		 * Go's and glibc's interface enumeration; never AF_PACKET, AF_VSOCK,
		 * AF_ALG, ... (large or host-reaching kernel code). */
		static const uint32_t fam[] = {AF_UNIX, AF_INET, AF_INET6};

		for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, fam[i]));
			if (r < 0)
				return r;
		}
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, AF_NETLINK),
				     SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffff, NETLINK_ROUTE));
	}
	return r;
}

static struct seccomp_rule *seccomp_find_nr(struct seccomp_program *prog, int nr)
{
	for (size_t i = 0; i < prog->n_rules; i++)
		if (prog->rules[i].nr == nr)
			return &prog->rules[i];
	return NULL;
}

/* The static table, as rows.  A name this libseccomp does not know is an
 * error: the profile would silently be narrower than documented. */
static int seccomp_collect_profile(struct seccomp_program *prog, size_t extra, struct tj_error *err)
{
	size_t n = 0;

	for (size_t g = 0; g < sizeof(seccomp_profile) / sizeof(seccomp_profile[0]); g++)
		for (const char *const *p = seccomp_profile[g].names; *p; p++)
			n++;
	prog->rules = calloc(n + extra, sizeof(*prog->rules));
	if (!prog->rules)
		return tj_error_sys(err, "seccomp: rule table");
	for (size_t g = 0; g < sizeof(seccomp_profile) / sizeof(seccomp_profile[0]); g++) {
		const struct seccomp_group *grp = &seccomp_profile[g];

		for (const char *const *p = grp->names; *p; p++) {
			int nr = seccomp_syscall_resolve_name(*p);

			if (nr < 0)
				return tj_error_set(err, EINVAL, "seccomp: syscall '%s' unknown to libseccomp",
						    *p);
			prog->rules[prog->n_rules++] = (struct seccomp_rule){
				.name = *p,
				.nr = nr,
				.action = grp->action,
				.errnum = grp->action == SECCOMP_RULE_ALLOW ? 0 : grp->errnum ? grp->errnum : EPERM,
				.group = grp->group,
				.cond = grp->action == SECCOMP_RULE_ALLOW_IF ? seccomp_cond_text(*p) : NULL,
			};
		}
	}
	return 0;
}

/* The policy's denials: an allowed row becomes EPERM; a row already refused
 * keeps its errno (clone3 stays ENOSYS); an unlisted syscall gets a row. */
static int seccomp_apply_deny(struct seccomp_program *prog, const char *const *deny, size_t n,
			      struct tj_error *err)
{
	prog->owned = calloc(n ? n : 1, sizeof(*prog->owned));
	if (!prog->owned)
		return tj_error_sys(err, "seccomp: rule table");
	for (size_t i = 0; i < n; i++) {
		int nr = deny[i] && *deny[i] ? seccomp_syscall_resolve_name(deny[i]) : __NR_SCMP_ERROR;
		struct seccomp_rule *row;
		char *name;

		if (nr == __NR_SCMP_ERROR || nr < 0)
			return tj_error_set(err, EINVAL, "seccomp: unknown syscall '%s' in the deny list",
					    deny[i] ? deny[i] : "(null)");
		row = seccomp_find_nr(prog, nr);
		if (row && row->action == SECCOMP_RULE_ERRNO)
			continue;
		if (!row) {
			name = strdup(deny[i]);
			if (!name)
				return tj_error_sys(err, "seccomp: rule table");
			prog->owned[prog->n_owned++] = name;
			row = &prog->rules[prog->n_rules++];
			row->name = name;
			row->nr = nr;
		}
		row->action = SECCOMP_RULE_ERRNO;
		row->errnum = EPERM;
		row->group = "policy";
		row->cond = NULL;
	}
	return 0;
}

static void seccomp_ctx_release(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int seccomp_compile(struct seccomp_program *prog, struct tj_error *err)
{
	__attribute__((cleanup(seccomp_ctx_release))) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -1;
	int newest = -1;
	struct stat st;
	int r;

	/* Unlisted: EPERM, as Docker (ENOSYS would make programs believe the
	 * kernel is old; EPERM says "not here"). */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return tj_error_set(err, ENOMEM, "seccomp: seccomp_init failed");
	/* Only the native ABI: an i386 syscall (int 0x80) has other numbers
	 * and would bypass every rule, so a foreign arch kills the process.
	 * x32 numbers (bit 30) match no rule and get the default. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0)
		return tj_error_set(err, -r, "seccomp: bad-arch action: %s", strerror(-r));
	/* tfjail sets no_new_privs itself, before loading. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
		return tj_error_set(err, -r, "seccomp: nnp attribute: %s", strerror(-r));
	/* A binary tree: ~300 rules cost a few comparisons per syscall. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

	for (size_t i = 0; i < prog->n_rules; i++) {
		const struct seccomp_rule *row = &prog->rules[i];

		if (row->action == SECCOMP_RULE_ALLOW)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, row->nr, 0);
		else if (row->action == SECCOMP_RULE_ALLOW_IF)
			r = seccomp_add_conditional(ctx, row->name, row->nr);
		else if (row->errnum == EPERM)
			continue; /* the default action; libseccomp refuses a rule equal to it */
		else
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)row->errnum), row->nr, 0);
		if (r < 0)
			return tj_error_set(err, -r, "seccomp: rule for %s: %s", row->name, strerror(-r));
	}

	for (int nr = 0; nr <= SECCOMP_FUTURE_NR_MAX; nr++) {
		char *known = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr); /* malloc'd */

		if (known)
			newest = nr;
		free(known);
	}
	for (int nr = newest + 1; newest >= 0 && nr <= SECCOMP_FUTURE_NR_MAX; nr++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (r < 0)
			return tj_error_set(err, -r, "seccomp: ENOSYS rule for %d: %s", nr, strerror(-r));
	}

	/* libseccomp 2.5 exports only to an fd. */
	fd = memfd_create("tfjail-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return tj_error_sys(err, "seccomp: memfd_create");
	if ((r = seccomp_export_bpf(ctx, fd)) < 0)
		return tj_error_set(err, -r, "seccomp: export BPF: %s", strerror(-r));
	if (fstat(fd, &st) < 0)
		return tj_error_sys(err, "seccomp: fstat memfd");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return tj_error_set(err, EINVAL, "seccomp: exported filter has %lld bytes",
				    (long long)st.st_size);
	prog->n_insns = (size_t)st.st_size / sizeof(struct sock_filter);
	prog->insns = malloc((size_t)st.st_size);
	if (!prog->insns)
		return tj_error_sys(err, "seccomp: filter buffer");
	if (pread(fd, prog->insns, (size_t)st.st_size, 0) != st.st_size)
		return tj_error_sys(err, "seccomp: read exported filter");
	return 0;
}

/* The build-time filter when it applies (no extra denials); 1 if used. */
static int seccomp_use_prebuilt(struct seccomp_program *prog, size_t n_extra, struct tj_error *err)
{
#ifdef TFJAIL_SECCOMP_PREBUILT
	if (n_extra > 0)
		return 0;
	prog->insns = malloc(sizeof(seccomp_prebuilt));
	if (!prog->insns)
		return tj_error_sys(err, "seccomp: filter buffer");
	memcpy(prog->insns, seccomp_prebuilt, sizeof(seccomp_prebuilt));
	prog->n_insns = sizeof(seccomp_prebuilt) / sizeof(seccomp_prebuilt[0]);
	prog->prebuilt = true;
	return 1;
#else
	(void)prog;
	(void)n_extra;
	(void)err;
	return 0;
#endif
}

static int seccomp_program_make(const char *const *extra_deny, size_t n_extra, bool allow_prebuilt,
				struct seccomp_program **out, struct tj_error *err)
{
	struct seccomp_program *prog;
	int pre = 0;

	*out = NULL;
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return tj_error_sys(err, "seccomp: program");
	/* The rule table is always built here: it also checks that this
	 * libseccomp knows every name of the profile. */
	if (seccomp_collect_profile(prog, n_extra, err) < 0 ||
	    seccomp_apply_deny(prog, extra_deny, n_extra, err) < 0 ||
	    (allow_prebuilt && (pre = seccomp_use_prebuilt(prog, n_extra, err)) < 0) ||
	    (pre == 0 && seccomp_compile(prog, err) < 0)) {
		seccomp_program_free(prog);
		return -1;
	}
	*out = prog;
	return 0;
}

int seccomp_program_build(const char *const *extra_deny, size_t n_extra, struct seccomp_program **out,
			  struct tj_error *err)
{
	return seccomp_program_make(extra_deny, n_extra, true, out, err);
}

int seccomp_program_compile(const char *const *extra_deny, size_t n_extra,
			    struct seccomp_program **out, struct tj_error *err)
{
	return seccomp_program_make(extra_deny, n_extra, false, out, err);
}

int seccomp_program_load(const struct seccomp_program *prog)
{
	struct sock_fprog fprog;

	if (!prog || !prog->insns) {
		errno = EINVAL;
		return -1;
	}
	/* Without no_new_privs a setuid exec could run with the filter's
	 * author's expectations broken; root would not even need it. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		errno = EPERM;
		return -1;
	}
	fprog.len = (unsigned short)prog->n_insns;
	fprog.filter = prog->insns;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0 ? 0 : -1;
}

void seccomp_program_free(struct seccomp_program *prog)
{
	if (!prog)
		return;
	for (size_t i = 0; i < prog->n_owned; i++)
		free(prog->owned[i]);
	free(prog->owned);
	free(prog->rules);
	free(prog->insns);
	free(prog);
}

size_t seccomp_program_rules(const struct seccomp_program *prog, const struct seccomp_rule **rules)
{
	*rules = prog->rules;
	return prog->n_rules;
}

const struct seccomp_rule *seccomp_program_rule(const struct seccomp_program *prog, const char *name)
{
	for (size_t i = 0; i < prog->n_rules; i++)
		if (strcmp(prog->rules[i].name, name) == 0)
			return &prog->rules[i];
	return NULL;
}

size_t seccomp_program_size(const struct seccomp_program *prog)
{
	return prog->n_insns;
}

const struct sock_filter *seccomp_program_insns(const struct seccomp_program *prog)
{
	return prog->insns;
}

bool seccomp_program_is_prebuilt(const struct seccomp_program *prog)
{
	return prog->prebuilt;
}
