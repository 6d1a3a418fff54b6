/* rootfs/: the mount plan and the workspace copier (no sandbox needed). */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/common.h"
#include "rootfs/rootfs.h"
#include "rootfs/workspace.h"
#include "tests/testutil.h"

static const struct rootfs_op *find_op(const struct rootfs_plan *p, enum rootfs_op_kind k, const char *dst)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].kind == k && strcmp(p->ops[i].dst, dst) == 0)
			return &p->ops[i];
	return NULL;
}

static size_t op_index(const struct rootfs_plan *p, enum rootfs_op_kind k, const char *dst)
{
	const struct rootfs_op *op = find_op(p, k, dst);

	ck_assert_msg(op != NULL, "no op for %s", dst);
	return (size_t)(op - p->ops);
}

START_TEST(plan_has_the_fixed_layout)
{
	struct rootfs_bind binds[] = {{"/usr", NULL, -1}, {"/opt/tf-plugins", "/plugins", -1}};
	struct rootfs_spec spec = {.binds = binds, .n_binds = 2, .tmp_bytes = 1 << 20,
				   .workspace_bytes = 2 << 20, .uid = 1000, .gid = 1000};
	struct rootfs_plan plan;
	struct tj_error err;
	const struct rootfs_op *op;

	ck_assert_msg(rootfs_plan_build(&spec, &plan, &err) == 0, "%s", err.msg);
	/* the root tmpfs comes first; everything else is below it */
	ck_assert_int_eq(plan.ops[0].kind, ROOTFS_TMPFS);
	ck_assert_str_eq(plan.ops[0].dst, "/");
	op = find_op(&plan, ROOTFS_BIND_RO, "/usr");
	ck_assert_ptr_nonnull(op);
	ck_assert_str_eq(op->src, "/usr");
	op = find_op(&plan, ROOTFS_BIND_RO, "/plugins");
	ck_assert_ptr_nonnull(op);
	ck_assert_str_eq(op->src, "/opt/tf-plugins");
	/* size-limited scratch space, owned by the command's uid */
	op = find_op(&plan, ROOTFS_TMPFS, "/workspace");
	ck_assert_ptr_nonnull(op);
	ck_assert_str_eq(op->options, "size=2097152,mode=0755,uid=1000,gid=1000");
	ck_assert(op->flags & MS_NOSUID);
	ck_assert(op->flags & MS_NODEV);
	op = find_op(&plan, ROOTFS_TMPFS, "/tmp");
	ck_assert_str_eq(op->options, "size=1048576,mode=1777");
	/* only harmless devices, no tty */
	ck_assert_ptr_nonnull(find_op(&plan, ROOTFS_BIND_DEV, "/dev/null"));
	ck_assert_ptr_nonnull(find_op(&plan, ROOTFS_BIND_DEV, "/dev/urandom"));
	ck_assert_ptr_null(find_op(&plan, ROOTFS_BIND_DEV, "/dev/tty"));
	ck_assert_ptr_null(find_op(&plan, ROOTFS_BIND_DEV, "/dev/console"));
	/* /proc: mounted before its knobs are made read-only and masked */
	ck_assert_uint_lt(op_index(&plan, ROOTFS_PROC, "/proc"), op_index(&plan, ROOTFS_PROC_RO, "/proc/sys"));
	{
		static const char *const ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
						 "/proc/sysrq-trigger"};
		static const char *const masked[] = {"/proc/acpi", "/proc/asound", "/proc/kcore",
						     "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
						     "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
						     "/proc/config.gz", "/proc/cmdline"};
		for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
			ck_assert_msg(find_op(&plan, ROOTFS_PROC_RO, ro[i]), "%s", ro[i]);
		for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
			ck_assert_msg(find_op(&plan, ROOTFS_MASK, masked[i]), "%s", masked[i]);
	}
	/* /etc is generated, then read-only */
	ck_assert_uint_lt(op_index(&plan, ROOTFS_FILE, "/etc/passwd"), op_index(&plan, ROOTFS_REMOUNT_RO, "/etc"));
	ck_assert_ptr_nonnull(strstr(find_op(&plan, ROOTFS_FILE, "/etc/passwd")->src, ":1000:1000:"));
	ck_assert_str_eq(find_op(&plan, ROOTFS_FILE, "/etc/resolv.conf")->src, "");
	ck_assert_ptr_nonnull(find_op(&plan, ROOTFS_REMOUNT_RO, "/dev"));
	rootfs_plan_free(&plan);
}
END_TEST

START_TEST(plan_rejects_bad_binds)
{
	const char *bad_dst[] = {"relative", "/a/../etc", "/proc", "/proc/sys", "/dev/sda", "/etc/passwd",
				 "/", "/workspace", "/workspace/x", "/tmp/x", "/a//b", "/a/./b", "/a/"};
	struct tj_error err;

	for (size_t i = 0; i < sizeof(bad_dst) / sizeof(bad_dst[0]); i++) {
		struct rootfs_bind b = {"/usr", bad_dst[i], -1};
		struct rootfs_spec spec = {.binds = &b, .n_binds = 1};
		struct rootfs_plan plan;
		ck_assert_msg(rootfs_plan_build(&spec, &plan, &err) < 0, "accepted %s", bad_dst[i]);
		ck_assert_int_eq(err.errnum, EINVAL);
	}
	{
		struct rootfs_bind b = {"../usr", "/usr", -1};
		struct rootfs_spec spec = {.binds = &b, .n_binds = 1};
		struct rootfs_plan plan;
		ck_assert_int_lt(rootfs_plan_build(&spec, &plan, &err), 0);
	}
}
END_TEST

START_TEST(clean_paths)
{
	ck_assert(rootfs_path_is_clean("/"));
	ck_assert(rootfs_path_is_clean("/usr/local/bin"));
	ck_assert(rootfs_path_is_clean("/a/..b/c."));
	ck_assert(!rootfs_path_is_clean(""));
	ck_assert(!rootfs_path_is_clean("usr"));
	ck_assert(!rootfs_path_is_clean("/usr/"));
	ck_assert(!rootfs_path_is_clean("/usr/../etc"));
	ck_assert(!rootfs_path_is_clean("/./usr"));
}
END_TEST

START_TEST(symlink_containment)
{
	ck_assert(workspace_link_stays_inside("", "main.tf"));
	ck_assert(workspace_link_stays_inside("a/b", "../c.tf"));
	ck_assert(workspace_link_stays_inside("a/b", "../../c.tf"));
	ck_assert(!workspace_link_stays_inside("a/b", "../../../c.tf"));
	ck_assert(!workspace_link_stays_inside("", "../x"));
	ck_assert(!workspace_link_stays_inside("a", "/etc/shadow"));
	ck_assert(workspace_link_stays_inside("a", "./x/../y"));
	ck_assert(!workspace_link_stays_inside("a", "x/../../../y"));
	ck_assert(!workspace_link_stays_inside("a", ""));
}
END_TEST

struct ws {
	char src[64];
	char dst[64];
};

static void ws_make(struct ws *w)
{
	snprintf(w->src, sizeof(w->src), "/tmp/tfjail-src-XXXXXX");
	snprintf(w->dst, sizeof(w->dst), "/tmp/tfjail-dst-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(w->src));
	ck_assert_ptr_nonnull(tj_test_mkdtemp(w->dst));
}

static void ws_free(struct ws *w)
{
	tj_test_rm_rf(w->src);
	tj_test_rm_rf(w->dst);
}

static bool skip_terraform(const char *rel, const struct stat *st, void *ctx)
{
	(void)st;
	(void)ctx;
	return strcmp(rel, ".terraform") == 0 || strstr(rel, ".tfstate") != NULL;
}

START_TEST(copy_tree_with_exclusions)
{
	struct ws w;
	struct workspace_copy_opts o = {.exclude = skip_terraform, .uid = (uid_t)-1, .gid = (gid_t)-1};
	enum workspace_failure kind;
	struct tj_error err;
	char p[PATH_MAX];
	struct stat st;

	ws_make(&w);
	tj_test_write(w.src, "main.tf", "x");
	tj_test_write(w.src, "modules/vpc/main.tf", "y");
	tj_test_write(w.src, ".terraform/providers/p", "evil");
	tj_test_write(w.src, "terraform.tfstate", "{}");
	snprintf(p, sizeof(p), "%s/modules/link", w.src);
	ck_assert_int_eq(symlink("vpc", p), 0);
	ck_assert_msg(workspace_copy(w.src, w.dst, &o, &kind, &err) == 0, "%s", err.msg);
	snprintf(p, sizeof(p), "%s/modules/vpc/main.tf", w.dst);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 1);
	snprintf(p, sizeof(p), "%s/modules/link", w.dst);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	snprintf(p, sizeof(p), "%s/.terraform", w.dst);
	ck_assert_int_lt(lstat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/terraform.tfstate", w.dst);
	ck_assert_int_lt(lstat(p, &st), 0);
	ws_free(&w);
}
END_TEST

START_TEST(copy_refuses_escapes_and_limits)
{
	struct ws w;
	struct workspace_copy_opts o = {.uid = (uid_t)-1, .gid = (gid_t)-1};
	enum workspace_failure kind;
	struct tj_error err;
	char p[PATH_MAX], q[PATH_MAX];

	/* symlink out of the tree */
	ws_make(&w);
	snprintf(p, sizeof(p), "%s/x.tf", w.src);
	ck_assert_int_eq(symlink("../../etc/passwd", p), 0);
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_int_eq(kind, WORKSPACE_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "x.tf"));
	ws_free(&w);

	/* chained relative links: d/up -> .. stays inside, d/x -> up/.. looks
	 * inside lexically (d/up/.. = d) but resolves to the tree's parent */
	for (int variant = 0; variant < 3; variant++) {
		static const char *const x[] = {"up/..", "up/../..", "up/main.tf"};
		ws_make(&w);
		tj_test_write(w.src, "main.tf", "x");
		tj_test_write(w.src, "d/keep.tf", "x");
		snprintf(p, sizeof(p), "%s/d/up", w.src);
		ck_assert_int_eq(symlink("..", p), 0);
		snprintf(p, sizeof(p), "%s/d/x", w.src);
		ck_assert_int_eq(symlink(x[variant], p), 0);
		if (variant < 2) {
			ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
			ck_assert_int_eq(kind, WORKSPACE_INVALID);
			ck_assert_msg(strstr(err.msg, "d/x"), "%s", err.msg);
		} else {
			ck_assert_msg(workspace_copy(w.src, w.dst, &o, &kind, &err) == 0, "%s", err.msg);
		}
		ws_free(&w);
	}
	/* a chain through a link to a link */
	ws_make(&w);
	tj_test_write(w.src, "a/b/main.tf", "x");
	snprintf(p, sizeof(p), "%s/a/b/l1", w.src);
	ck_assert_int_eq(symlink("..", p), 0);  /* a */
	snprintf(p, sizeof(p), "%s/a/b/l2", w.src);
	ck_assert_int_eq(symlink("l1/..", p), 0); /* the root */
	snprintf(p, sizeof(p), "%s/a/b/l3", w.src);
	ck_assert_int_eq(symlink("l2/..", p), 0); /* outside, lexically a */
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_msg(strstr(err.msg, "a/b/l3"), "%s", err.msg);
	ws_free(&w);

	/* hardlink to a file outside the tree */
	ws_make(&w);
	tj_test_write(w.dst, "outside", "secret");
	snprintf(p, sizeof(p), "%s/outside", w.dst);
	snprintf(q, sizeof(q), "%s/h.tf", w.src);
	ck_assert_int_eq(link(p, q), 0);
	{
		char dst2[] = "/tmp/tfjail-dst2-XXXXXX";
		ck_assert_ptr_nonnull(tj_test_mkdtemp(dst2));
		ck_assert_int_lt(workspace_copy(w.src, dst2, &o, &kind, &err), 0);
		ck_assert_int_eq(kind, WORKSPACE_INVALID);
		ck_assert_ptr_nonnull(strstr(err.msg, "h.tf"));
		tj_test_rm_rf(dst2);
	}
	ws_free(&w);

	/* two links, both inside: fine */
	ws_make(&w);
	tj_test_write(w.src, "a.tf", "x");
	snprintf(p, sizeof(p), "%s/a.tf", w.src);
	snprintf(q, sizeof(q), "%s/b.tf", w.src);
	ck_assert_int_eq(link(p, q), 0);
	ck_assert_msg(workspace_copy(w.src, w.dst, &o, &kind, &err) == 0, "%s", err.msg);
	ws_free(&w);

	/* file size, count, depth */
	ws_make(&w);
	tj_test_write(w.src, "big.tf", "0123456789");
	o.max_file_bytes = 5;
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_int_eq(kind, WORKSPACE_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "big.tf"));
	ws_free(&w);
	o.max_file_bytes = 0;

	ws_make(&w);
	tj_test_write(w.src, "a/b/c/d/e.tf", "x");
	o.max_depth = 3;
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_int_eq(kind, WORKSPACE_INVALID);
	ws_free(&w);
	o.max_depth = 0;

	ws_make(&w);
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d.tf", i);
		tj_test_write(w.src, name, "x");
	}
	o.max_files = 4;
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_int_eq(kind, WORKSPACE_INVALID);
	ws_free(&w);
	o.max_files = 0;

	/* a fifo is not a file */
	ws_make(&w);
	snprintf(p, sizeof(p), "%s/pipe", w.src);
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	ck_assert_int_lt(workspace_copy(w.src, w.dst, &o, &kind, &err), 0);
	ck_assert_int_eq(kind, WORKSPACE_INVALID);
	ws_free(&w);
}
END_TEST

START_TEST(cpus_parsing)
{
	double v;

	ck_assert_int_eq(cli_parse_cpus("0.5", &v), 0);
	ck_assert(v == 0.5);
	ck_assert_int_eq(cli_parse_cpus("2", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("0", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("-1", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("1x", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("nan", &v), 0);
	ck_assert_int_lt(cli_parse_cpus("1e9", &v), 0);
}
END_TEST

Suite *rootfs_suite(void)
{
	Suite *s = suite_create("rootfs");
	TCase *tc = tcase_create("plan");

	tcase_add_test(tc, plan_has_the_fixed_layout);
	tcase_add_test(tc, plan_rejects_bad_binds);
	tcase_add_test(tc, clean_paths);
	tcase_add_test(tc, symlink_containment);
	tcase_add_test(tc, copy_tree_with_exclusions);
	tcase_add_test(tc, copy_refuses_escapes_and_limits);
	tcase_add_test(tc, cpus_parsing);
	suite_add_tcase(s, tc);
	return s;
}
