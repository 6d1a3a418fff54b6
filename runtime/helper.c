#include "runtime/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

#define HELPER_CPU_SECONDS   60
#define HELPER_ADDRESS_SPACE (4ull << 30)

/* What a parser needs: memory, its pipe, the clock, exit (and who it is). */
static const int helper_syscalls[] = {
    SCMP_SYS(read),         SCMP_SYS(write),         SCMP_SYS(close),     SCMP_SYS(exit),
    SCMP_SYS(exit_group),   SCMP_SYS(brk),           SCMP_SYS(mmap),      SCMP_SYS(munmap),
    SCMP_SYS(mremap),       SCMP_SYS(mprotect),      SCMP_SYS(madvise),   SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn), SCMP_SYS(clock_gettime), SCMP_SYS(getrandom), SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),   SCMP_SYS(getuid),        SCMP_SYS(geteuid),   SCMP_SYS(sigaltstack),
};

/* In the forked child: drop everything, then the filter (built here, after
 * the fork: libseccomp allocates). */
static int helper_drop(const struct sandbox *sb)
{
	uid_t uid = sandbox_host_uid(sb);
	struct rlimit cpu = {HELPER_CPU_SECONDS, HELPER_CPU_SECONDS};
	struct rlimit as = {HELPER_ADDRESS_SPACE, HELPER_ADDRESS_SPACE};
	struct rlimit nofile = {16, 16};
	scmp_filter_ctx ctx;
	int rc = -1;

	if (setrlimit(RLIMIT_CPU, &cpu) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		return -1;
#ifndef __SANITIZE_ADDRESS__ /* ASan's shadow memory needs far more address space */
	if (setrlimit(RLIMIT_AS, &as) < 0)
		return -1;
#else
	(void)as;
#endif
	/* supplementary groups were dropped at sandbox_runtime_open */
	if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -1;
	for (size_t i = 0; i < sizeof(helper_syscalls) / sizeof(helper_syscalls[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, helper_syscalls[i], 0) < 0)
			goto out;
	rc = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return rc;
}

int sandbox_helper_run(const struct sandbox *sb, sandbox_helper_fn fn, void *ctx, size_t max,
                       uint64_t timeout_ms, char **out, size_t *out_len, struct tj_error *err)
{
	struct tj_buf buf = {0};
	uint64_t deadline = tj_now_ms() + timeout_ms;
	bool too_much = false, timed_out = false;
	int p[2], st = 0;
	pid_t pid;

	*out = NULL;
	*out_len = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return tj_error_sys(err, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return tj_error_sys(err, "fork the parsing helper");
	}
	if (pid == 0) {
		close(p[0]);
		/* only the result pipe stays open */
		if (dup2(p[1], 3) < 0)
			_exit(125);
		for (int fd = 0; fd < 3; fd++)
			close(fd);
		if (close_range(4, ~0U, 0) < 0 || helper_drop(sb) < 0)
			_exit(126);
		_exit(fn(ctx, 3) == 0 ? 0 : 1);
	}
	close(p[1]);
	for (;;) {
		char tmp[65536];
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		uint64_t now = tj_now_ms();
		ssize_t n;
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		int pr = poll(&pfd, 1, (int)(deadline - now));
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		n = read(p[0], tmp, sizeof(tmp));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (buf.len + (size_t)n > max) {
			too_much = true;
			break;
		}
		if (tj_buf_append(&buf, tmp, (size_t)n) < 0) {
			too_much = true;
			break;
		}
	}
	close(p[0]);
	if (timed_out || too_much)
		sandbox_signal(sb, pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out || too_much || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		tj_buf_free(&buf);
		if (timed_out)
			return tj_error_set(err, ETIMEDOUT, "the parsing helper ran past %llu ms",
			                    (unsigned long long)timeout_ms);
		if (too_much)
			return tj_error_set(err, E2BIG, "the parsing helper's result exceeds %zu bytes", max);
		if (WIFSIGNALED(st))
			return tj_error_set(err, EPIPE, "the parsing helper was killed by signal %d",
			                    WTERMSIG(st));
		return tj_error_set(err, EINVAL, "the parsing helper failed (status %d)", WEXITSTATUS(st));
	}
	if (tj_buf_append(&buf, "", 0) < 0)
		return tj_error_set(err, ENOMEM, "out of memory");
	*out = buf.data;
	*out_len = buf.len;
	return 0;
}
