/* One sandbox cannot starve the host or its neighbours: each kernel resource
 * that the kernel counts per user or host-wide and that a sandbox can reach
 * is held by one sandbox as far as it can go (tests/probes/probe.c `hold`),
 * while host root and a second, concurrent sandbox still get it (`take`).
 * Also: the uid slots of two tfjail processes never meet, the uid range is
 * refused where it belongs to someone else, and nothing of one command
 * survives into the next.
 *
 * Suite neighbours (root, like every sandbox suite: it fails without root,
 * it never skips). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <linux/nsfs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/sandbox.h"
#include "runtime/uidslot.h"
#include "tests/testutil.h"

static struct sandbox_runtime *rt;
static char probe_dir[PATH_MAX];

static void nb_setup(void)
{
	struct tj_error err = {0};
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}};
	char buf[PATH_MAX];

	ck_assert_msg(tj_test_is_root(), "the neighbour tests need root (CI runs them as root)");
	snprintf(buf, sizeof(buf), "%s", tj_test_probe("probe"));
	ck_assert_msg(access(buf, X_OK) == 0, "probe not built at %s (make probes)", buf);
	ck_assert_ptr_nonnull(realpath(dirname(buf), probe_dir));
	ck_assert_msg(sandbox_runtime_open(&o, &rt, &err) == 0, "%s", err.msg);
}

static void nb_teardown(void)
{
	sandbox_runtime_free(rt);
	rt = NULL;
}

static struct sandbox_bind probe_bind;

static void nb_config(struct sandbox_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	probe_bind = (struct sandbox_bind){probe_dir, "/probe"};
	cfg->binds = &probe_bind;
	cfg->n_binds = 1;
	cfg->memory_bytes = 256ull << 20;
	cfg->pids = 64;
	cfg->cpus = 1;
}

static struct sandbox *nb_create(void)
{
	/* a configuration lives as long as its sandbox: one per sandbox of a test */
	static struct sandbox_config cfgs[4];
	static size_t next;
	struct sandbox_config *cfg = &cfgs[next++ % 4];
	struct sandbox *sb = NULL;
	enum sandbox_setup_step step;
	struct tj_error err;

	nb_config(cfg);
	ck_assert_msg(sandbox_create(rt, cfg, &sb, &step, &err) == 0, "setup failed at %s: %s",
	              sandbox_setup_step_name(step), err.msg);
	return sb;
}

static char *probe_argv0 = (char *)"/probe/probe";
static char *probe_env[] = {(char *)"PATH=/probe", NULL};

/* Runs `probe ARGS` in sb; returns the result (caller frees). */
static void nb_exec(struct sandbox *sb, struct sandbox_result *res, const char *a1, const char *a2)
{
	char *argv[] = {probe_argv0, (char *)a1, (char *)a2, NULL};
	struct sandbox_cmd cmd = {.argv = argv,
	                          .envp = probe_env,
	                          .stdin_fd = -1,
	                          .stdout_fd = -1,
	                          .stderr_fd = -1,
	                          .timeout_ms = 30000};
	struct tj_error err;

	ck_assert_msg(sandbox_exec(sb, &cmd, res, &err) == 0, "%s", err.msg);
}

/* Starts `probe hold RESOURCE` in the background in sb and waits for its
 * "held N (ERR)" line; returns N. */
static long hold(struct sandbox *sb, const char *resource, char *line, size_t linesz)
{
	char *argv[] = {probe_argv0, (char *)"hold", (char *)resource, NULL};
	int p[2], devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct sandbox_cmd cmd = {.argv = argv, .envp = probe_env, .stdin_fd = -1};
	struct tj_error err;
	size_t n = 0;
	long held = -1;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	cmd.stdout_fd = p[1];
	cmd.stderr_fd = devnull;
	ck_assert_msg(sandbox_spawn(sb, &cmd, &err) == 0, "%s", err.msg);
	close(p[1]);
	close(devnull);
	while (n + 1 < linesz) {
		ssize_t k = read(p[0], line + n, 1);
		if (k <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(p[0]);
	ck_assert_msg(sscanf(line, "held %ld", &held) == 1, "hold %s: '%s'", resource, line);
	return held;
}

/* Runs the probe as host root, outside any sandbox; returns the wait status. */
static int host_take(const char *resource, char **out)
{
	char *argv[] = {(char *)tj_test_probe("probe"), (char *)"take", (char *)resource, NULL};
	char *err = NULL;
	int st = tj_test_spawn(argv, out, &err);

	free(err);
	return st;
}

static const struct {
	const char *name;
	long max; /* the most one sandbox may hold */
} held_resources[] = {
    {"inotify", 32},         /* max_inotify_instances of the sandbox's user namespace */
    {"inotify-watch", 8192}, /* max_inotify_watches */
    {"mqueue", 3},           /* RLIMIT_MSGQUEUE 256 KiB / ~82 KiB a queue */
    {"sigqueue", 1024},      /* RLIMIT_SIGPENDING */
    {"timer", 1024},         /* POSIX timers count as pending signals */
};

START_TEST(held_resources_leave_host_and_neighbours_theirs)
{
	const char *name = held_resources[_i].name;
	struct sandbox *holder = nb_create(), *other = nb_create();
	struct sandbox_result res;
	struct tj_error err;
	char line[256], *out = NULL;
	long n = hold(holder, name, line, sizeof(line));
	int st;

	ck_assert_msg(n >= 1 && n <= held_resources[_i].max, "%s: %s (bound %ld)", name, line,
	              held_resources[_i].max);
	/* host root, while the holder holds */
	st = host_take(name, &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host root cannot take %s: %s", name,
	              out ? out : "");
	free(out);
	/* a second sandbox, at the same time */
	nb_exec(other, &res, "take", name);
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 0, "a neighbour cannot take %s: %s",
	              name, res.out);
	sandbox_result_free(&res);
	ck_assert(sandbox_alive(holder));
	ck_assert_int_eq(sandbox_destroy(other, &err), 0);
	ck_assert_int_eq(sandbox_destroy(holder, &err), 0);
}
END_TEST

/* Legacy AIO counts against the host-wide fs.aio-max-nr: refused inside,
 * while the host keeps it. */
START_TEST(aio_is_refused_inside)
{
	struct sandbox *sb = nb_create();
	struct sandbox_result res;
	struct tj_error err;
	char line[256], *out = NULL;
	int st;

	ck_assert_int_eq(hold(sb, "aio", line, sizeof(line)), 0);
	ck_assert_msg(strstr(line, "EPERM"), "%s", line);
	st = host_take("aio", &out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host: %s", out ? out : "");
	free(out);
	nb_exec(sb, &res, "take", "aio");
	ck_assert_int_eq(res.exit_code, 1);
	sandbox_result_free(&res);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

/* The kernel charges a user namespace's counters up to its owner: the owner
 * is the slot's own uid, never host root. */
START_TEST(user_namespace_is_owned_by_the_slot)
{
	struct sandbox *sb = nb_create();
	struct tj_error err;
	char path[64];
	uid_t owner = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)sandbox_pid(sb));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ioctl(fd, NS_GET_OWNER_UID, &owner), 0);
	close(fd);
	ck_assert_uint_ne(owner, 0);
	ck_assert_uint_eq(owner, sandbox_host_uid(sb) - 1); /* the slot's first uid */
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

/* A host file given as stdout (tfjail run >file) cannot be grown past
 * RLIMIT_FSIZE by ftruncate, fallocate or a write far out. */
START_TEST(host_stdout_file_cannot_grow)
{
	struct sandbox *sb = nb_create();
	char tmpl[] = "/tmp/tfjail-stdout-XXXXXX";
	int fd = tj_test_mkstemps(tmpl, 0);
	char *argv[] = {probe_argv0, (char *)"grow-stdout", NULL};
	struct sandbox_cmd cmd = {.argv = argv,
	                          .envp = probe_env,
	                          .stdin_fd = -1,
	                          .stdout_fd = fd,
	                          .stderr_fd = -1,
	                          .timeout_ms = 30000};
	struct sandbox_result res;
	struct tj_error err;
	struct stat st;

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	ck_assert_msg(sandbox_exec(sb, &cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 0, "%s", res.err);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_lt(st.st_size, 1ll << 30);
	ck_assert_int_lt(st.st_blocks, (1ll << 30) / 512);
	close(fd);
	sandbox_result_free(&res);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

/* A process that left the command's session (setsid, then a fork) is gone
 * when the next command starts. */
START_TEST(nothing_of_a_command_survives_into_the_next)
{
	struct sandbox *sb = nb_create();
	struct sandbox_result res;
	struct tj_error err;

	nb_exec(sb, &res, "escape", "60");
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 0, "%s", res.out);
	ck_assert_ptr_nonnull(strstr(res.out, "escaped "));
	sandbox_result_free(&res);
	nb_exec(sb, &res, "alone", NULL);
	ck_assert_msg(res.status == SANDBOX_EXITED && res.exit_code == 0, "%s", res.out);
	sandbox_result_free(&res);
	ck_assert_int_eq(sandbox_destroy(sb, &err), 0);
}
END_TEST

/* Starts `tfjail run` with TFJAIL_UID_RANGE=range, running a shell that
 * prints its uid_map and sleeps; returns its pid, the map's host uids in
 * uids[2]. */
static pid_t run_with_range(const char *range, unsigned long uids[2])
{
	int p[2];
	pid_t pid;
	char buf[512];
	size_t n = 0;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 1);
		setenv("TFJAIL_UID_RANGE", range, 1);
		execl(tj_test_bin(), "tfjail", "run", "--", "/bin/sh", "-c",
		      "cat /proc/self/uid_map; exec sleep 30", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* two lines: "0 ROOT 1" and "1000 USER 1" */
	while (n + 1 < sizeof(buf)) {
		ssize_t k = read(p[0], buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if (strchr(buf, '\n') && strchr(strchr(buf, '\n') + 1, '\n'))
			break;
	}
	buf[n] = '\0';
	close(p[0]);
	ck_assert_msg(sscanf(buf, " 0 %lu 1 1000 %lu 1", &uids[0], &uids[1]) == 2, "uid_map: '%s'", buf);
	return pid;
}

/* Two tfjail processes with overlapping ranges (the second starts one uid
 * later: each of its slots straddles two of the first's): their sandboxes,
 * running at the same time, share no host uid. */
START_TEST(uid_slots_are_distinct_across_processes)
{
	/* far from the default range and from the other suites' */
	unsigned long base = 3000000000ul + (unsigned long)(getpid() % 1000) * 16;
	char r1[64], r2[64];
	unsigned long a[2], b[2];
	pid_t pa, pb;

	snprintf(r1, sizeof(r1), "%lu:2", base);
	snprintf(r2, sizeof(r2), "%lu:4", base + 1); /* at least one slot misses the first's */
	pa = run_with_range(r1, a);
	pb = run_with_range(r2, b);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			ck_assert_msg(a[i] != b[j], "both processes run a sandbox as host uid %lu", a[i]);
	ck_assert_uint_ge(a[0], base);
	ck_assert_uint_ge(b[0], base + 1);
	kill(pa, SIGTERM);
	kill(pb, SIGTERM);
	waitpid(pa, NULL, 0);
	waitpid(pb, NULL, 0);
}
END_TEST

/* A range that holds a user's uid (root: 0, daemon: 1) or a subordinate
 * range is refused at start. */
/* Taking a slot's uid (to clone its user namespace, or to signal its
 * processes without CAP_KILL) changes the calling thread only: another
 * thread of the process stays uid 0 all along. */
struct uid_seen {
	int go[2], done[2];
	long uid, euid;
};

static void *report_uids(void *arg)
{
	struct uid_seen *u = arg;
	char c;

	if (read(u->go[0], &c, 1) != 1)
		return NULL;
	u->uid = syscall(SYS_getuid);
	u->euid = syscall(SYS_geteuid);
	if (write(u->done[1], "x", 1) != 1)
		return NULL;
	return NULL;
}

START_TEST(slot_uid_is_taken_by_the_calling_thread_only)
{
	char dir[] = "/tmp/tfjail-slotthr-XXXXXX";
	struct uidslot slot;
	struct tj_error err = {0};
	struct uid_seen u = {.uid = -1, .euid = -1};
	pthread_t t;
	char c;
	long mine;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	ck_assert_msg(uidslot_acquire(dir, 1700000000, 4, &slot, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(pipe(u.go), 0);
	ck_assert_int_eq(pipe(u.done), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, report_uids, &u), 0);
	ck_assert_msg(uidslot_enter(&slot, &err) == 0, "%s", err.msg);
	mine = syscall(SYS_geteuid);
	ck_assert_int_eq(write(u.go[1], "x", 1), 1);
	ck_assert_int_eq(read(u.done[0], &c, 1), 1);
	ck_assert_int_eq(uidslot_leave(&err), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(mine, (long)slot.host_root);
	ck_assert_int_eq(u.uid, 0);
	ck_assert_int_eq(u.euid, 0);
	ck_assert_int_eq(geteuid(), 0);
	uidslot_release(&slot);
	tj_test_rm_rf(dir);
}
END_TEST

/* A process that took a slot's uid and came back (as a job's worker does
 * for every sandbox it makes) still dies with its parent: the kernel clears
 * the parent-death signal on the uid change, and it is set again. */
START_TEST(parent_death_signal_survives_the_slot_uid)
{
	char dir[] = "/tmp/tfjail-deathsig-XXXXXX";
	int ready[2];
	pid_t mid, worker = 0;
	int st;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	ck_assert_int_eq(pipe(ready), 0);
	mid = fork();
	ck_assert_int_ge(mid, 0);
	if (mid == 0) {
		pid_t w = fork();
		if (w == 0) {
			struct uidslot slot;
			struct tj_error err;
			pid_t me;
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (uidslot_acquire(dir, 1700000000, 4, &slot, &err) < 0 ||
			    uidslot_enter(&slot, &err) < 0 || uidslot_leave(&err) < 0)
				_exit(3);
			me = getpid();
			if (write(ready[1], &me, sizeof(me)) != sizeof(me))
				_exit(4);
			for (;;)
				pause();
		}
		/* the parent waits for the worker to have taken the uid, then dies */
		if (w > 0 && read(ready[0], &w, sizeof(w)) == sizeof(w) &&
		    write(ready[1], &w, sizeof(w)) == sizeof(w))
			_exit(0);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(mid, &st, 0), mid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	ck_assert_int_eq(read(ready[0], &worker, sizeof(worker)), (ssize_t)sizeof(worker));
	/* the worker came to this process (a subreaper): it must end at once */
	for (uint64_t deadline = tj_now_ms() + 5000;;) {
		pid_t r = waitpid(worker, &st, WNOHANG);
		if (r == worker)
			break;
		if (tj_now_ms() > deadline) {
			kill(worker, SIGKILL);
			waitpid(worker, NULL, 0);
			ck_abort_msg("the worker outlived its parent");
		}
		usleep(10000);
	}
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(uid_range_of_someone_else_is_refused)
{
	struct sandbox_runtime *rt2 = NULL;
	struct sandbox_runtime_options o = {.cgroup = {.force_mode = -1}, .uid_base = 1, .uid_slots = 8};
	struct tj_error err = {0};
	char dir[] = "/tmp/tfjail-ranges-XXXXXX", sub[PATH_MAX], empty[PATH_MAX];

	ck_assert_int_lt(sandbox_runtime_open(&o, &rt2, &err), 0);
	ck_assert_int_eq(err.errnum, EEXIST);
	ck_assert_msg(strstr(err.msg, "/etc/passwd"), "%s", err.msg);

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	tj_test_write(dir, "subuid", "alice:100000:65536\nbad line\n");
	tj_test_write(dir, "empty", "");
	snprintf(sub, sizeof(sub), "%s/subuid", dir);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	/* [165534, 165542) overlaps alice's last two subordinate uids */
	ck_assert_int_lt(uidslot_check_range(165534, 4, empty, empty, sub, empty, &err), 0);
	ck_assert_msg(strstr(err.msg, "alice"), "%s", err.msg);
	ck_assert_int_lt(uidslot_check_range(99998, 2, empty, empty, empty, sub, &err), 0);
	ck_assert_int_eq(uidslot_check_range(165536, 4, empty, empty, sub, sub, &err), 0);
	ck_assert_int_eq(uidslot_check_range(99996, 2, empty, empty, sub, sub, &err), 0);
	ck_assert_int_eq(uidslot_check_range(165536, 4, "/nonexistent", empty, sub, sub, &err), 0);
	tj_test_rm_rf(dir);
}
END_TEST

Suite *neighbours_suite(void)
{
	Suite *s = suite_create("neighbours");
	TCase *tc = tcase_create("neighbours");

	tcase_add_checked_fixture(tc, nb_setup, nb_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, held_resources_leave_host_and_neighbours_theirs, 0,
	                    (int)(sizeof(held_resources) / sizeof(held_resources[0])));
	tcase_add_test(tc, aio_is_refused_inside);
	tcase_add_test(tc, user_namespace_is_owned_by_the_slot);
	tcase_add_test(tc, host_stdout_file_cannot_grow);
	tcase_add_test(tc, nothing_of_a_command_survives_into_the_next);
	tcase_add_test(tc, uid_slots_are_distinct_across_processes);
	tcase_add_test(tc, uid_range_of_someone_else_is_refused);
	tcase_add_test(tc, slot_uid_is_taken_by_the_calling_thread_only);
	tcase_add_test(tc, parent_death_signal_survives_the_slot_uid);
	suite_add_tcase(s, tc);
	return s;
}
