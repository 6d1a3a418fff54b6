/* runtime/cgroup.c on a fake cgroupfs: a temp directory laid out as cgroup v2,
 * as v1 with separate cpu and cpuacct mounts, and as v1 with them co-mounted.
 * The fs_hook plays the kernel's part: it creates the interface files when
 * tfjail makes a cgroup directory and removes them before tfjail's rmdir, so
 * the same create/destroy code runs as on a real host. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "tests/testutil.h"

struct fake {
	char root[PATH_MAX];
	bool v2;
	bool memsw;   /* v1: swap accounting present */
	bool no_kill; /* v2: no cgroup.kill (kernel < 5.14) */
};

static struct fake fk;

static void touch(const char *dir, const char *file, const char *content)
{
	char p[PATH_MAX];
	struct tj_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	ck_assert_msg(tj_write_file(p, content, strlen(content), 0644, &err) == 0, "%s", err.msg);
}

static void fake_hook(const char *path, bool created, void *arg)
{
	struct fake *f = arg;
	const char *rel = path + strlen(f->root) + 1;

	ck_assert_msg(strncmp(path, f->root, strlen(f->root)) == 0, "outside the fake: %s", path);
	if (!created) {
		/* rmdir on cgroupfs takes the interface files with it */
		_cleanup_closedir_ DIR *d = opendir(path);
		struct dirent *e;
		char p[PATH_MAX];
		while (d && (e = readdir(d)))
			if (e->d_type == DT_REG) {
				snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
				unlink(p);
			}
		return;
	}
	touch(path, "cgroup.procs", "");
	if (f->v2) {
		touch(path, "cgroup.controllers", "cpu memory pids\n");
		touch(path, "cgroup.subtree_control", "");
		touch(path, "cgroup.events", "populated 0\nfrozen 0\n");
		if (!f->no_kill)
			touch(path, "cgroup.kill", "");
		touch(path, "memory.max", "max\n");
		touch(path, "memory.swap.max", "max\n");
		touch(path, "cpu.max", "max 100000\n");
		touch(path, "pids.max", "max\n");
		return;
	}
	touch(path, "tasks", "");
	if (!strncmp(rel, "memory/", 7)) {
		touch(path, "memory.limit_in_bytes", "9223372036854771712\n");
		touch(path, "memory.swappiness", "60\n");
		if (f->memsw)
			touch(path, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	}
	if (!strncmp(rel, "cpu/", 4) || !strncmp(rel, "cpu,cpuacct/", 12)) {
		touch(path, "cpu.cfs_quota_us", "-1\n");
		touch(path, "cpu.cfs_period_us", "100000\n");
	}
	if (!strncmp(rel, "pids/", 5))
		touch(path, "pids.max", "max\n");
}

static void fake_setup(void)
{
	snprintf(fk.root, sizeof(fk.root), "/tmp/tfjail-cgfake-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(fk.root));
	chmod(fk.root, 0755);
	fk.v2 = false;
	fk.memsw = true;
	fk.no_kill = false;
}

static void fake_teardown(void)
{
	/* back from become_nobody() (the saved ids stayed 0) */
	if (getuid() != 0 && setresuid(0, 0, 0) == 0)
		ck_assert_int_eq(setresgid(0, 0, 0), 0);
	tj_test_rm_rf(fk.root);
}

static char *slurp(const char *dir, const char *file)
{
	char p[PATH_MAX];
	char *out = NULL;
	struct tj_error err;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	if (tj_read_file(p, 4096, &out, NULL, &err) < 0)
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

static bool exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	return access(p, F_OK) == 0;
}

static struct cgroup_host_options opts_for(int mode, const char *self, const char *parent)
{
	struct cgroup_host_options o = {
		.root = fk.root,
		.parent = parent,
		.force_mode = mode,
		.self_cgroup = self,
		.fs_hook = fake_hook,
		.fs_hook_arg = &fk,
	};
	fk.v2 = mode == CGROUP_MODE_V2;
	return o;
}

/* v2 root laid out as the kernel does; subtree is the root's subtree_control. */
static void fake_v2(const char *own, const char *subtree)
{
	char p[PATH_MAX];
	struct tj_error err;

	fk.v2 = true;
	touch(fk.root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	touch(fk.root, "cgroup.subtree_control", subtree);
	touch(fk.root, "cgroup.procs", "");
	if (strcmp(own, "/") != 0) {
		snprintf(p, sizeof(p), "%s%s", fk.root, own);
		ck_assert_msg(tj_mkdir_p(p, 0755, &err) == 0, "%s", err.msg);
		fake_hook(p, true, &fk);
	}
}

static void fake_v1(bool comount)
{
	const char *dirs[] = {"memory/process_api/abc", "pids", comount ? "cpu,cpuacct" : "cpu",
			      comount ? NULL : "cpuacct"};
	char p[PATH_MAX];
	struct tj_error err;

	for (size_t i = 0; i < 4; i++) {
		if (!dirs[i])
			continue;
		snprintf(p, sizeof(p), "%s/%s", fk.root, dirs[i]);
		ck_assert_msg(tj_mkdir_p(p, 0755, &err) == 0, "%s", err.msg);
	}
	if (comount) {
		/* systemd's symlinks next to a co-mounted hierarchy */
		snprintf(p, sizeof(p), "%s/cpu", fk.root);
		ck_assert_int_eq(symlink("cpu,cpuacct", p), 0);
		snprintf(p, sizeof(p), "%s/cpuacct", fk.root);
		ck_assert_int_eq(symlink("cpu,cpuacct", p), 0);
	}
}

#define SELF_V1_SEPARATE "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n"
#define SELF_V1_COMOUNT "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n"

static const struct cgroup_limits lim_all = {
	.memory_max = 64ull << 20, .cpu_quota_us = 10000, .cpu_period_us = 100000, .pids_max = 8};

/* ------------------------------------------------------------------ names */

START_TEST(job_names_validated)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char longname[200];
	const char *bad[] = {"", ".", "..", "a/b", "/", "../x", "a b", "a\nb", "x*", longname};

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(cgroup_job_create(h, bad[i], &lim_all, &j, &err) < 0, "accepted '%s'", bad[i]);
		ck_assert_int_eq(err.errnum, EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "invalid job name"));
	}
	ck_assert_int_eq(cgroup_job_create(h, NULL, &lim_all, &j, &err), -1);
	ck_assert_msg(cgroup_job_create(h, "job-1.a_b@c:d", &lim_all, &j, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(bad_limits_rejected)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	struct cgroup_limits small_quota = {.cpu_quota_us = 500};
	struct cgroup_limits big_period = {.cpu_quota_us = 10000, .cpu_period_us = 2000000};

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_job_create(h, "j", &small_quota, &j, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "cpu quota 500"));
	ck_assert_int_eq(cgroup_job_create(h, "j", &big_period, &j, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "cpu period 2000000"));
	ck_assert(!exists(fk.root, "svc/j"));
	cgroup_host_free(h);
}
END_TEST

/* --------------------------------------------------------------------- v2 */

START_TEST(v2_parent_from_own_cgroup_moves_service_into_leaf)
{
	struct cgroup_host_options o =
		opts_for(CGROUP_MODE_V2, "0::/system.slice/tfjail.service\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;
	char dir[PATH_MAX], pid[32];

	fake_v2("/system.slice/tfjail.service", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_host_mode(h), CGROUP_MODE_V2);
	snprintf(dir, sizeof(dir), "%s/system.slice/tfjail.service", fk.root);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ck_file_eq(dir, "service/cgroup.procs", pid);
	ck_file_eq(dir, "cgroup.subtree_control", "+memory +cpu +pids");
	ck_assert_ptr_nonnull(strstr(cgroup_host_describe(h), dir));
	ck_assert_ptr_nonnull(strstr(cgroup_host_describe(h), "service moved into"));
	/* the root's own subtree_control is not the service's business */
	ck_file_eq(fk.root, "cgroup.subtree_control", "");
	cgroup_host_free(h);
	ck_assert(exists(dir, "service")); /* the service still lives there */
}
END_TEST

START_TEST(v2_service_in_root_gets_dedicated_parent)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char dir[PATH_MAX];

	fake_v2("/", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	snprintf(dir, sizeof(dir), "%s/tfjail", fk.root);
	ck_file_eq(fk.root, "cgroup.subtree_control", "+memory +cpu +pids");
	ck_file_eq(dir, "cgroup.subtree_control", "+memory +cpu +pids");
	ck_assert(!exists(dir, "service")); /* the root may hold processes: no move */
	ck_assert_msg(cgroup_job_create(h, "j1", NULL, &j, &err) == 0, "%s", err.msg);
	strcat(dir, "/j1");
	ck_assert_str_eq(cgroup_job_path(j, "memory"), dir);
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
	ck_assert(!exists(fk.root, "tfjail")); /* made by tfjail, removed when empty */
}
END_TEST

START_TEST(v2_shared_own_cgroup_gets_dedicated_parent)
{
	/* started from a login session: the scope holds the shell too */
	struct cgroup_host_options o =
		opts_for(CGROUP_MODE_V2, "0::/user.slice/user-0.slice/session-1.scope\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;
	char scope[PATH_MAX], procs[64];

	fake_v2("/user.slice/user-0.slice/session-1.scope", "");
	snprintf(scope, sizeof(scope), "%s/user.slice/user-0.slice/session-1.scope", fk.root);
	snprintf(procs, sizeof(procs), "1234\n%d\n", (int)getpid());
	touch(scope, "cgroup.procs", procs);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert(!exists(scope, "service")); /* the session is left alone */
	ck_assert(exists(fk.root, "tfjail"));
	ck_file_eq(fk.root, "cgroup.subtree_control", "+memory +cpu +pids");
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_enables_only_missing_controllers)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;

	fake_v2("/", "cpu memory\n");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_file_eq(fk.root, "cgroup.subtree_control", "+pids");
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_already_in_leaf_is_not_nested)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/a/b/service\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;
	char dir[PATH_MAX];

	fake_v2("/a/b/service", "");
	snprintf(dir, sizeof(dir), "%s/a/b", fk.root);
	fake_hook(dir, true, &fk);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert(!exists(dir, "service/service"));
	ck_file_eq(dir, "cgroup.subtree_control", "+memory +cpu +pids");
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_explicit_parent)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/user.slice/x\n", "/ops/tfjail");
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char dir[PATH_MAX];

	fake_v2("/ops/tfjail", "");
	snprintf(dir, sizeof(dir), "%s/ops/tfjail", fk.root);
	touch(dir, "cgroup.subtree_control", "memory pids cpu\n"); /* prepared by the operator */
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert(!exists(dir, "service")); /* the service is elsewhere: no move */
	ck_file_eq(dir, "cgroup.subtree_control", "memory pids cpu"); /* nothing written */
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	ck_assert(exists(dir, "j/memory.max"));
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	ck_assert(!exists(dir, "j"));
	cgroup_host_free(h);
	ck_assert(exists(dir, "")); /* the operator's parent stays */
}
END_TEST

START_TEST(v2_root_as_parent_refused)
{
	const char *bad[] = {"/", "//", "relative", "/a/../b"};
	struct cgroup_host *h;
	struct tj_error err;

	fake_v2("/", "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/\n", bad[i]);
		ck_assert_msg(cgroup_host_open(&o, &h, &err) < 0, "accepted parent '%s'", bad[i]);
		ck_assert_int_eq(err.errnum, EINVAL);
	}
}
END_TEST

START_TEST(v2_limits_written)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j, *k;
	struct tj_error err;
	struct cgroup_limits unl = {0};

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.max", "67108864");
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.swap.max", "0");
	ck_file_eq(cgroup_job_path(j, "cpu"), "cpu.max", "10000 100000");
	ck_file_eq(cgroup_job_path(j, "pids"), "pids.max", "8");
	ck_assert_int_ge(cgroup_job_dirfd(j), 0);
	ck_assert_msg(cgroup_job_create(h, "k", &unl, &k, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(k, NULL), "memory.max", "max");
	ck_file_eq(cgroup_job_path(k, NULL), "memory.swap.max", "0");
	ck_file_eq(cgroup_job_path(k, NULL), "cpu.max", "max 100000");
	ck_file_eq(cgroup_job_path(k, NULL), "pids.max", "max");
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_destroy(k, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_stats_parsed)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct cgroup_stats st;
	struct tj_error err;
	const char *d;

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	d = cgroup_job_path(j, NULL);
	touch(d, "memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n");
	touch(d, "pids.events", "max 5\n");
	touch(d, "cpu.stat", "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
			     "nr_periods 40\nnr_throttled 17\nthrottled_usec 99\n");
	/* no memory.peak: kernels before 5.19 */
	ck_assert_msg(cgroup_job_stats(j, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.oom_kills, 2); /* "oom_kill", not "oom" nor "oom_group_kill" */
	ck_assert_uint_eq(st.pids_max_hits, 5);
	ck_assert_uint_eq(st.cpu_usage_us, 123456);
	ck_assert_uint_eq(st.nr_throttled, 17);
	ck_assert_uint_eq(st.nr_periods, 40);
	ck_assert_uint_eq(st.memory_peak, 0);
	touch(d, "memory.peak", "33554432\n");
	ck_assert_msg(cgroup_job_stats(j, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.memory_peak, 33554432);
	touch(d, "cpu.stat", "usage_usec x\n");
	ck_assert_int_eq(cgroup_job_stats(j, &st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "cpu.stat"));
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_kill_writes_cgroup_kill)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char path[PATH_MAX];

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", NULL, &j, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s", cgroup_job_path(j, NULL));
	ck_assert_msg(cgroup_job_kill(j, &err) == 0, "%s", err.msg);
	ck_file_eq(path, "cgroup.kill", "1");
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(access(path, F_OK), -1);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_existing_job_cgroup_not_reused)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j, *j2;
	struct tj_error err;

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "dup", NULL, &j, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_job_create(h, "dup", NULL, &j2, &err), -1);
	ck_assert_int_eq(err.errnum, EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, cgroup_job_path(j, NULL)));
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v2_missing_controller_named)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;
	char dir[PATH_MAX];

	fake_v2("/svc", "");
	snprintf(dir, sizeof(dir), "%s/svc", fk.root);
	touch(dir, "cgroup.controllers", "memory\n"); /* cpu and pids not delegated */
	ck_assert_int_eq(cgroup_host_open(&o, &h, &err), -1);
	ck_assert_msg(strstr(err.msg, "controller(s) cpu pids not available in") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "/svc/cgroup.controllers") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "Delegate=yes") != NULL, "%s", err.msg);
	ck_assert(!exists(dir, "service")); /* checked before moving anything */
}
END_TEST

/* As an unprivileged user, like a service without delegation.  The saved ids
 * stay 0 so that the teardown can remove the fake tree. */
static void become_nobody(void)
{
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		ck_assert_int_eq(setresgid(uid, uid, 0), 0);
		ck_assert_int_eq(setresuid(uid, uid, 0), 0);
	}
}

START_TEST(v2_readonly_subtree_control_explained)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;
	char dir[PATH_MAX], path[PATH_MAX];

	fake_v2("/svc", "");
	snprintf(dir, sizeof(dir), "%s/svc", fk.root);
	/* the leaf exists already and is ours; subtree_control is read-only */
	snprintf(path, sizeof(path), "%s/service", dir);
	ck_assert_int_eq(mkdir(path, 0777), 0);
	fake_hook(path, true, &fk);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/service/cgroup.procs", dir);
	chmod(path, 0666);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	chmod(path, 0444);
	become_nobody();
	ck_assert_int_eq(cgroup_host_open(&o, &h, &err), -1);
	ck_assert_int_eq(err.errnum, EACCES);
	ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "not delegated to tfjail") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "Delegate=yes") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "+memory +cpu +pids") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(v2_unwritable_parent_explained)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;

	fake_v2("/", "cpu memory pids\n");
	become_nobody();
	ck_assert_int_eq(cgroup_host_open(&o, &h, &err), -1);
	ck_assert_int_eq(err.errnum, EACCES);
	ck_assert_msg(strstr(err.msg, "mkdir ") != NULL && strstr(err.msg, "/tfjail") != NULL, "%s",
		      err.msg);
	ck_assert_msg(strstr(err.msg, "Delegate=yes") != NULL, "%s", err.msg);
}
END_TEST

/* --------------------------------------------------------------------- v1 */

static void v1_limits_and_layout(bool comount)
{
	struct cgroup_host_options o =
		opts_for(CGROUP_MODE_HYBRID, comount ? SELF_V1_COMOUNT : SELF_V1_SEPARATE, NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char want[PATH_MAX];
	const char *cpu_dir = comount ? "cpu,cpuacct" : "cpu";

	fake_v1(comount);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_host_mode(h), CGROUP_MODE_HYBRID);
	ck_assert_ptr_nonnull(strstr(cgroup_host_describe(h), "hybrid"));
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_job_dirfd(j), -1);

	/* below the own cgroup; an intermediate "tfjail" where that is the root */
	snprintf(want, sizeof(want), "%s/memory/process_api/abc/j", fk.root);
	ck_assert_str_eq(cgroup_job_path(j, "memory"), want);
	snprintf(want, sizeof(want), "%s/%s/tfjail/j", fk.root, cpu_dir);
	ck_assert_str_eq(cgroup_job_path(j, "cpu"), want);
	if (comount) {
		ck_assert_str_eq(cgroup_job_path(j, "cpuacct"), want);
	} else {
		snprintf(want, sizeof(want), "%s/cpuacct/tfjail/j", fk.root);
		ck_assert_str_eq(cgroup_job_path(j, "cpuacct"), want);
	}
	snprintf(want, sizeof(want), "%s/pids/tfjail/j", fk.root);
	ck_assert_str_eq(cgroup_job_path(j, "pids"), want);
	ck_assert_ptr_null(cgroup_job_path(j, "devices"));

	ck_file_eq(cgroup_job_path(j, "memory"), "memory.limit_in_bytes", "67108864");
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.memsw.limit_in_bytes", "67108864");
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.swappiness", "60"); /* memsw does it */
	ck_file_eq(cgroup_job_path(j, "cpu"), "cpu.cfs_quota_us", "10000");
	ck_file_eq(cgroup_job_path(j, "cpu"), "cpu.cfs_period_us", "100000");
	ck_file_eq(cgroup_job_path(j, "pids"), "pids.max", "8");
	/* no v2 file anywhere */
	ck_assert(!exists(cgroup_job_path(j, "memory"), "memory.max"));

	/* a process moves itself as one thread ("tasks"), never via cgroup.procs */
	ck_assert_msg(cgroup_job_attach_self(j, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < 4; i++) {
		const char *ctrl = (const char *[]){"memory", "cpu", "cpuacct", "pids"}[i];
		ck_file_eq(cgroup_job_path(j, ctrl), "tasks", "0");
		ck_file_eq(cgroup_job_path(j, ctrl), "cgroup.procs", "");
	}

	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	ck_assert(!exists(fk.root, "memory/process_api/abc/j"));
	ck_assert(!exists(fk.root, "pids/tfjail/j"));
	cgroup_host_free(h);
	/* intermediates tfjail made go; the service's own cgroup stays */
	ck_assert(!exists(fk.root, "pids/tfjail"));
	ck_assert(!exists(fk.root, comount ? "cpu,cpuacct/tfjail" : "cpu/tfjail"));
	ck_assert(!exists(fk.root, "cpuacct/tfjail"));
	ck_assert(exists(fk.root, "memory/process_api/abc"));
}

START_TEST(v1_separate_cpu_cpuacct)
{
	v1_limits_and_layout(false);
}
END_TEST

START_TEST(v1_comounted_cpu_cpuacct)
{
	v1_limits_and_layout(true);
}
END_TEST

START_TEST(v1_without_memsw_sets_swappiness)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V1, SELF_V1_SEPARATE, NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	struct cgroup_limits unl = {0};

	fk.memsw = false;
	fake_v1(false);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.swappiness", "0");
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "u", &unl, &j, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(j, "memory"), "memory.limit_in_bytes", "-1");
	ck_file_eq(cgroup_job_path(j, "cpu"), "cpu.cfs_quota_us", "-1");
	ck_file_eq(cgroup_job_path(j, "pids"), "pids.max", "max");
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v1_stats_parsed)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V1, SELF_V1_SEPARATE, NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct cgroup_stats st;
	struct tj_error err;

	fake_v1(false);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", &lim_all, &j, &err) == 0, "%s", err.msg);
	touch(cgroup_job_path(j, "memory"), "memory.oom_control",
	      "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	touch(cgroup_job_path(j, "memory"), "memory.max_usage_in_bytes", "33562624\n");
	touch(cgroup_job_path(j, "pids"), "pids.events", "max 4\n");
	touch(cgroup_job_path(j, "cpuacct"), "cpuacct.usage", "2500999\n");
	touch(cgroup_job_path(j, "cpu"), "cpu.stat",
	      "nr_periods 30\nnr_throttled 9\nthrottled_time 5\nnr_bursts 0\nburst_time 0\n");
	ck_assert_msg(cgroup_job_stats(j, &st, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(st.oom_kills, 3);
	ck_assert_uint_eq(st.memory_peak, 33562624);
	ck_assert_uint_eq(st.pids_max_hits, 4);
	ck_assert_uint_eq(st.cpu_usage_us, 2500); /* ns / 1000 */
	ck_assert_uint_eq(st.nr_throttled, 9);
	ck_assert_uint_eq(st.nr_periods, 30);
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(v1_missing_controller_named)
{
	struct cgroup_host_options o =
		opts_for(CGROUP_MODE_V1, "4:memory:/\n2:cpuacct:/\n1:cpu:/\n0::/\n", NULL);
	struct cgroup_host *h;
	struct tj_error err;

	fake_v1(false);
	ck_assert_int_eq(cgroup_host_open(&o, &h, &err), -1);
	ck_assert_msg(strstr(err.msg, "'pids' controller is not mounted") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(v1_unwritable_own_cgroup_explained)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V1, SELF_V1_SEPARATE, NULL);
	struct cgroup_host *h;
	struct tj_error err;

	fake_v1(false);
	become_nobody();
	ck_assert_int_eq(cgroup_host_open(&o, &h, &err), -1);
	ck_assert_msg(strstr(err.msg, "/memory/process_api/abc") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "chown") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(v1_explicit_parent)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V1, SELF_V1_COMOUNT, "/ops/tfjail");
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;
	char want[PATH_MAX];

	fake_v1(true);
	/* the operator made /ops in each hierarchy; tfjail makes the last level */
	ck_assert_int_eq(tj_mkdir_p(strcat(strcpy(want, fk.root), "/memory/ops"), 0755, &err), 0);
	ck_assert_int_eq(tj_mkdir_p(strcat(strcpy(want, fk.root), "/pids/ops"), 0755, &err), 0);
	ck_assert_int_eq(tj_mkdir_p(strcat(strcpy(want, fk.root), "/cpu,cpuacct/ops"), 0755, &err), 0);
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", NULL, &j, &err) == 0, "%s", err.msg);
	snprintf(want, sizeof(want), "%s/memory/ops/tfjail/j", fk.root);
	ck_assert_str_eq(cgroup_job_path(j, "memory"), want);
	snprintf(want, sizeof(want), "%s/cpu,cpuacct/ops/tfjail/j", fk.root);
	ck_assert_str_eq(cgroup_job_path(j, "cpuacct"), want);
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
	ck_assert(!exists(fk.root, "memory/ops/tfjail"));
	ck_assert(exists(fk.root, "memory/ops"));
}
END_TEST

START_TEST(attach_refuses_self)
{
	struct cgroup_host_options o = opts_for(CGROUP_MODE_V2, "0::/svc\n", NULL);
	struct cgroup_host *h;
	struct cgroup_job *j;
	struct tj_error err;

	fake_v2("/svc", "");
	ck_assert_msg(cgroup_host_open(&o, &h, &err) == 0, "%s", err.msg);
	ck_assert_msg(cgroup_job_create(h, "j", NULL, &j, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(cgroup_job_attach(j, getpid(), &err), -1);
	ck_assert_int_eq(cgroup_job_attach(j, 0, &err), -1);
	ck_assert_msg(cgroup_job_attach(j, 4242, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(j, NULL), "cgroup.procs", "4242");
	ck_assert_msg(cgroup_job_attach_self(j, &err) == 0, "%s", err.msg);
	ck_file_eq(cgroup_job_path(j, NULL), "cgroup.procs", "0");
	touch(cgroup_job_path(j, NULL), "cgroup.procs", ""); /* the fake "process" is gone */
	ck_assert_msg(cgroup_job_destroy(j, &err) == 0, "%s", err.msg);
	cgroup_host_free(h);
}
END_TEST

START_TEST(mode_names)
{
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_V2), "v2");
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_HYBRID), "hybrid");
	ck_assert_str_eq(cgroup_mode_name(CGROUP_MODE_V1), "v1");
}
END_TEST

Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *t = tcase_create("fake cgroupfs");

	tcase_add_checked_fixture(t, fake_setup, fake_teardown);
	tcase_add_test(t, job_names_validated);
	tcase_add_test(t, bad_limits_rejected);
	tcase_add_test(t, v2_parent_from_own_cgroup_moves_service_into_leaf);
	tcase_add_test(t, v2_service_in_root_gets_dedicated_parent);
	tcase_add_test(t, v2_enables_only_missing_controllers);
	tcase_add_test(t, v2_shared_own_cgroup_gets_dedicated_parent);
	tcase_add_test(t, v2_already_in_leaf_is_not_nested);
	tcase_add_test(t, v2_explicit_parent);
	tcase_add_test(t, v2_root_as_parent_refused);
	tcase_add_test(t, v2_limits_written);
	tcase_add_test(t, v2_stats_parsed);
	tcase_add_test(t, v2_kill_writes_cgroup_kill);
	tcase_add_test(t, v2_existing_job_cgroup_not_reused);
	tcase_add_test(t, v2_missing_controller_named);
	tcase_add_test(t, v2_readonly_subtree_control_explained);
	tcase_add_test(t, v2_unwritable_parent_explained);
	tcase_add_test(t, v1_separate_cpu_cpuacct);
	tcase_add_test(t, v1_comounted_cpu_cpuacct);
	tcase_add_test(t, v1_without_memsw_sets_swappiness);
	tcase_add_test(t, v1_stats_parsed);
	tcase_add_test(t, v1_missing_controller_named);
	tcase_add_test(t, v1_unwritable_own_cgroup_explained);
	tcase_add_test(t, v1_explicit_parent);
	tcase_add_test(t, attach_refuses_self);
	tcase_add_test(t, mode_names);
	suite_add_tcase(s, t);
	return s;
}
