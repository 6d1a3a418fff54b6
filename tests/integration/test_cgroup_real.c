/* runtime/cgroup.c on the real host: whatever the layout is (hybrid here, v2
 * in the qemu guest), detected as in production.  Needs root; without it the
 * tests fail and say so.  Bounds are relative (usage against quota x periods),
 * never wall-clock: emulated guests are slow. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "tests/testutil.h"

static struct cgroup_host *host;

static void real_setup(void)
{
	struct tj_error err;

	if (!tj_test_is_root())
		ck_abort_msg("cgroup_real needs root: it creates cgroups on the host "
			     "(run `make test` as root, or leave it out with TFJAIL_SUITE)");
	ck_assert_msg(cgroup_host_open(NULL, &host, &err) == 0, "%s", err.msg);
}

static void real_teardown(void)
{
	cgroup_host_free(host);
	host = NULL;
}

static const char *controllers[] = {"memory", "cpu", "cpuacct", "pids"};

static const char *job_name(const char *tag)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "tjtest-%d-%s", (int)getpid(), tag);
	return buf;
}

static char *slurp(const char *dir, const char *file)
{
	char p[PATH_MAX];
	char *out = NULL;
	struct tj_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (tj_read_file(p, 1 << 16, &out, NULL, &err) < 0)
		ck_abort_msg("%s", err.msg);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

#define ck_file_eq(dir, file, want)                                                          \
	do {                                                                                 \
		_cleanup_free_ char *got_ = slurp(dir, file);                                \
		ck_assert_msg(strcmp(got_, want) == 0, "%s/%s = '%s', want '%s'", dir, file, \
			      got_, want);                                                   \
	} while (0)

static struct cgroup_job *job_new(const char *tag, const struct cgroup_limits *lim)
{
	struct cgroup_job *job;
	struct tj_error err;

	ck_assert_msg(cgroup_job_create(host, job_name(tag), lim, &job, &err) == 0, "%s", err.msg);
	return job;
}

static void job_destroy_checked(struct cgroup_job *job)
{
	char paths[4][PATH_MAX];
	struct tj_error err;

	for (size_t i = 0; i < 4; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s", cgroup_job_path(job, controllers[i]));
	ck_assert_msg(cgroup_job_destroy(job, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(access(paths[i], F_OK) < 0 && errno == ENOENT, "%s left behind", paths[i]);
}

/* What a child does once it is in the job cgroup. */
enum act { ACT_WAIT, ACT_HOG, ACT_FORKS, ACT_SPIN };

static void child_act(enum act act)
{
	switch (act) {
	case ACT_WAIT:
		for (;;)
			pause();
	case ACT_HOG:
		/* touch 512 MiB, a page at a time; the limit is far lower */
		for (int i = 0; i < 512; i++) {
			char *p = malloc(1 << 20);
			if (!p)
				_exit(2);
			for (size_t off = 0; off < (1u << 20); off += 4096)
				p[off] = 1;
		}
		_exit(3);
	case ACT_FORKS: {
		int ok = 0;
		for (int i = 0; i < 32; i++) {
			pid_t p = fork();
			if (p == 0)
				for (;;)
					pause();
			if (p > 0)
				ok++;
		}
		_exit(ok);
	}
	case ACT_SPIN:
		for (volatile unsigned long n = 0;; n++)
			;
	}
	_exit(1);
}

/* Forks a child that waits until it is attached to job, then acts. */
static pid_t spawn_in(struct cgroup_job *job, enum act act)
{
	int go[2];
	pid_t pid;
	char c = 0;
	struct tj_error err;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		child_act(act);
	}
	close(go[0]);
	ck_assert_msg(cgroup_job_attach(job, pid, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(write(go[1], &c, 1), 1);
	close(go[1]);
	return pid;
}

static bool pid_listed(const char *dir, pid_t pid)
{
	_cleanup_free_ char *procs = NULL;
	char p[PATH_MAX], want[32];
	struct tj_error err;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	ck_assert_msg(tj_read_file(p, 1 << 16, &procs, NULL, &err) == 0, "%s", err.msg);
	snprintf(want, sizeof(want), "%d", (int)pid);
	for (char *s = NULL, *t = strtok_r(procs, "\n", &s); t; t = strtok_r(NULL, "\n", &s))
		if (strcmp(t, want) == 0)
			return true;
	return false;
}

static bool procs_empty(const char *dir)
{
	_cleanup_free_ char *procs = slurp(dir, "cgroup.procs");

	return procs[0] == '\0';
}

/* Removes the job cgroups of tests whose process is gone from one parent. */
static void sweep_dir(const char *parent)
{
	_cleanup_closedir_ DIR *d = opendir(parent);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[PATH_MAX], *procs = NULL;
		struct tj_error err;
		int pid = 0;

		if (sscanf(e->d_name, "tjtest-%d-", &pid) != 1 || pid == getpid() ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s/cgroup.procs", parent, e->d_name);
		if (tj_read_file(path, 1 << 16, &procs, NULL, &err) == 0) {
			for (char *s = NULL, *t = strtok_r(procs, "\n", &s); t; t = strtok_r(NULL, "\n", &s))
				kill(atoi(t), SIGKILL);
			free(procs);
		}
		snprintf(path, sizeof(path), "%s/%s", parent, e->d_name);
		for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
			usleep(10000);
	}
}

/* A failed assertion ends the forked test at once (_exit), before it can
 * destroy its job; Check kills the test's processes.  This runs in the
 * runner process after the test case and removes what such a test left. */
static void real_sweep(void)
{
	struct cgroup_host *h;
	struct cgroup_job *probe;
	struct tj_error err;
	char name[64];
	char parents[4][PATH_MAX];

	if (!tj_test_is_root() || cgroup_host_open(NULL, &h, &err) < 0)
		return;
	snprintf(name, sizeof(name), "tjtest-%d-sweep", (int)getpid());
	if (cgroup_job_create(h, name, NULL, &probe, &err) < 0) {
		cgroup_host_free(h);
		return;
	}
	for (size_t i = 0; i < 4; i++) {
		snprintf(parents[i], sizeof(parents[i]), "%s", cgroup_job_path(probe, controllers[i]));
		*strrchr(parents[i], '/') = '\0';
	}
	cgroup_job_destroy(probe, &err);
	for (size_t i = 0; i < 4; i++) {
		sweep_dir(parents[i]);
		/* tfjail's intermediate, if now empty (EBUSY while in use) */
		if (tj_str_has_suffix(parents[i], "/tfjail"))
			rmdir(parents[i]);
	}
	cgroup_host_free(h);
}

/* ------------------------------------------------------------------ tests */

START_TEST(mode_matches_mountinfo)
{
	_cleanup_free_ char *mi = NULL;
	struct tj_error err;
	enum cgroup_mode want;

	ck_assert_msg(tj_read_file("/proc/self/mountinfo", 1 << 20, &mi, NULL, &err) == 0, "%s",
		      err.msg);
	if (strstr(mi, " /sys/fs/cgroup rw") && strstr(mi, " - cgroup2 ") &&
	    !strstr(mi, " /sys/fs/cgroup/memory "))
		want = CGROUP_MODE_V2;
	else if (strstr(mi, " /sys/fs/cgroup/unified "))
		want = CGROUP_MODE_HYBRID;
	else
		want = CGROUP_MODE_V1;
	ck_assert_msg(cgroup_host_mode(host) == want, "detected %s, mountinfo says %s",
		      cgroup_mode_name(cgroup_host_mode(host)), cgroup_mode_name(want));
	ck_assert_ptr_nonnull(strstr(cgroup_host_describe(host), cgroup_mode_name(want)));
	fprintf(stderr, "cgroup_real: %s\n", cgroup_host_describe(host));
}
END_TEST

START_TEST(limits_read_back)
{
	struct cgroup_limits lim = {.memory_max = 48ull << 20, .cpu_quota_us = 20000,
				    .cpu_period_us = 100000, .pids_max = 12};
	struct cgroup_job *job = job_new("limits", &lim);

	if (cgroup_host_mode(host) == CGROUP_MODE_V2) {
		const char *d = cgroup_job_path(job, NULL);
		ck_file_eq(d, "memory.max", "50331648");
		ck_file_eq(d, "cpu.max", "20000 100000");
		ck_file_eq(d, "pids.max", "12");
		if (access(strcat(strcpy((char[PATH_MAX]){0}, d), "/memory.swap.max"), F_OK) == 0)
			ck_file_eq(d, "memory.swap.max", "0");
		ck_assert_int_ge(cgroup_job_dirfd(job), 0);
	} else {
		const char *m = cgroup_job_path(job, "memory");
		ck_file_eq(m, "memory.limit_in_bytes", "50331648");
		if (access(strcat(strcpy((char[PATH_MAX]){0}, m), "/memory.memsw.limit_in_bytes"),
			   F_OK) == 0)
			ck_file_eq(m, "memory.memsw.limit_in_bytes", "50331648");
		else
			ck_file_eq(m, "memory.swappiness", "0");
		ck_file_eq(cgroup_job_path(job, "cpu"), "cpu.cfs_quota_us", "20000");
		ck_file_eq(cgroup_job_path(job, "cpu"), "cpu.cfs_period_us", "100000");
		ck_file_eq(cgroup_job_path(job, "pids"), "pids.max", "12");
		ck_assert_int_eq(cgroup_job_dirfd(job), -1);
	}
	job_destroy_checked(job);
}
END_TEST

START_TEST(attach_and_stats)
{
	struct cgroup_job *job = job_new("attach", NULL);
	struct cgroup_stats st;
	struct tj_error err;
	pid_t pid = spawn_in(job, ACT_WAIT);
	int status;

	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(pid_listed(cgroup_job_path(job, controllers[i]), pid), "%d not in %s",
			      (int)pid, cgroup_job_path(job, controllers[i]));
	ck_assert_msg(cgroup_job_stats(job, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.oom_kills, 0);
	ck_assert_uint_eq(st.pids_max_hits, 0);
	job_destroy_checked(job);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

/* A forked child moves itself (the sandbox's PID 1 does that on v1); the
 * kernel then lists it in every controller's cgroup.procs. */
START_TEST(attach_self)
{
	struct cgroup_job *job = job_new("self", NULL);
	int ready[2], status;
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tj_error err;
		close(ready[0]);
		if (cgroup_job_attach_self(job, &err) < 0 || write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	ck_assert_msg(read(ready[0], &c, 1) == 1, "the child could not attach itself");
	close(ready[0]);
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(pid_listed(cgroup_job_path(job, controllers[i]), pid), "%d not in %s",
			      (int)pid, cgroup_job_path(job, controllers[i]));
	job_destroy_checked(job);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(dirfd_clone_into_cgroup)
{
	struct cgroup_job *job = job_new("clone3", NULL);
	struct clone_args args = {0};
	int status;
	pid_t pid;

	if (cgroup_host_mode(host) != CGROUP_MODE_V2) {
		ck_assert_int_eq(cgroup_job_dirfd(job), -1);
		job_destroy_checked(job);
		return;
	}
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cgroup_job_dirfd(job);
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		for (;;)
			pause();
	ck_assert_msg(pid > 0, "clone3: %s", strerror(errno));
	ck_assert(pid_listed(cgroup_job_path(job, NULL), pid));
	job_destroy_checked(job);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(memory_hog_is_oom_killed)
{
	struct cgroup_limits lim = {.memory_max = 32ull << 20};
	struct cgroup_job *job = job_new("oom", &lim);
	struct cgroup_stats st;
	struct tj_error err;
	pid_t pid = spawn_in(job, ACT_HOG);
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "hog status 0x%x", status);
	ck_assert_msg(cgroup_job_stats(job, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_ge(st.oom_kills, 1);
	if (st.memory_peak) /* absent before 5.19 on v2 */
		ck_assert_uint_le(st.memory_peak, 32ull << 20);
	job_destroy_checked(job);
}
END_TEST

START_TEST(fork_loop_hits_pids_max)
{
	struct cgroup_limits lim = {.pids_max = 8};
	struct cgroup_job *job = job_new("pids", &lim);
	struct cgroup_stats st;
	struct tj_error err;
	pid_t pid = spawn_in(job, ACT_FORKS);
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	/* the forking child counts against the limit itself */
	ck_assert_int_le(WEXITSTATUS(status), 7);
	ck_assert_msg(cgroup_job_stats(job, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_ge(st.pids_max_hits, 1);
	ck_assert_msg(!procs_empty(cgroup_job_path(job, "pids")), "grandchildren expected");
	ck_assert_msg(cgroup_job_kill(job, &err) == 0, "%s", err.msg);
	{
		_cleanup_free_ char *left = slurp(cgroup_job_path(job, "pids"), "cgroup.procs");
		ck_assert_msg(left[0] == '\0', "still in the cgroup after the kill: %s", left);
	}
	job_destroy_checked(job);
}
END_TEST

START_TEST(cpu_quota_throttles)
{
	struct cgroup_limits lim = {.cpu_quota_us = 10000, .cpu_period_us = 100000};
	struct cgroup_job *job = job_new("cpu", &lim);
	struct cgroup_stats st = {0};
	struct tj_error err;
	pid_t pid = spawn_in(job, ACT_SPIN);
	int status;

	/* wait for enough periods, however long the host takes */
	for (int i = 0; i < 600; i++) {
		usleep(50000);
		ck_assert_msg(cgroup_job_stats(job, &st, &err) == 0, "%s", err.msg);
		if (st.nr_throttled > 0 && st.nr_periods >= 20)
			break;
	}
	ck_assert_uint_gt(st.nr_throttled, 0);
	ck_assert_uint_gt(st.cpu_usage_us, 0);
	/* Two periods of slack: the one in which the spinner started, and the
	 * overrun before a tick notices the runtime is gone (paid back later). */
	ck_assert_msg(st.cpu_usage_us <= 10000 * (st.nr_periods + 2),
		      "usage %llu us > quota 10000 x (%llu periods + 2)",
		      (unsigned long long)st.cpu_usage_us, (unsigned long long)st.nr_periods);
	job_destroy_checked(job);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(kill_empties_cgroup)
{
	struct cgroup_job *job = job_new("kill", NULL);
	struct tj_error err;
	pid_t pids[4];
	int status;

	for (size_t i = 0; i < 4; i++)
		pids[i] = spawn_in(job, ACT_WAIT);
	ck_assert_msg(cgroup_job_kill(job, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(procs_empty(cgroup_job_path(job, controllers[i])), "%s not empty",
			      cgroup_job_path(job, controllers[i]));
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	}
	/* killing an empty cgroup is fine */
	ck_assert_msg(cgroup_job_kill(job, &err) == 0, "%s", err.msg);
	job_destroy_checked(job);
}
END_TEST

/* Entries of dir whose names start with prefix. */
static int count_prefixed(const char *dir, const char *prefix)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

START_TEST(create_destroy_cycles_leave_nothing)
{
	struct cgroup_limits lim = {.memory_max = 64ull << 20, .cpu_quota_us = 50000, .pids_max = 16};
	char parents[4][PATH_MAX], prefix[64], tag[32];

	snprintf(prefix, sizeof(prefix), "tjtest-%d-cycle", (int)getpid());
	for (int i = 0; i < 100; i++) {
		struct cgroup_job *job;
		snprintf(tag, sizeof(tag), "cycle%d", i);
		job = job_new(tag, &lim);
		if (i == 0)
			for (size_t c = 0; c < 4; c++) {
				snprintf(parents[c], sizeof(parents[c]), "%s",
					 cgroup_job_path(job, controllers[c]));
				*strrchr(parents[c], '/') = '\0';
			}
		if (i % 10 == 0)
			waitpid(spawn_in(job, ACT_WAIT), NULL, WNOHANG);
		job_destroy_checked(job);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	for (size_t c = 0; c < 4; c++)
		ck_assert_int_eq(count_prefixed(parents[c], prefix), 0);
}
END_TEST

Suite *cgroup_real_suite(void)
{
	Suite *s = suite_create("cgroup_real");
	TCase *t = tcase_create("real host");

	tcase_add_checked_fixture(t, real_setup, real_teardown);
	tcase_add_unchecked_fixture(t, NULL, real_sweep);
	/* generous: under qemu TCG an OOM kill or 100 cycles take long */
	tcase_set_timeout(t, 120);
	tcase_add_test(t, mode_matches_mountinfo);
	tcase_add_test(t, limits_read_back);
	tcase_add_test(t, attach_and_stats);
	tcase_add_test(t, attach_self);
	tcase_add_test(t, dirfd_clone_into_cgroup);
	tcase_add_test(t, memory_hog_is_oom_killed);
	tcase_add_test(t, fork_loop_hits_pids_max);
	tcase_add_test(t, cpu_quota_throttles);
	tcase_add_test(t, kill_empties_cgroup);
	tcase_add_test(t, create_destroy_cycles_leave_nothing);
	suite_add_tcase(s, t);
	return s;
}
