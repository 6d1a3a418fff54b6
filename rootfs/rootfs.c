#include "rootfs/rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

/* Destinations a caller may not bind over: they are built by the plan. */
static const char *const reserved[] = {"/", "/proc", "/dev", "/etc", "/tmp", "/workspace", ROOTFS_RUNNER_DIR};

bool rootfs_path_is_clean(const char *path)
{
	const char *p = path;

	if (!path || path[0] != '/')
		return false;
	if (strcmp(path, "/") == 0)
		return true;
	while (*p) {
		const char *start = ++p; /* skip '/' */
		size_t n;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.') || (n == 2 && start[0] == '.' && start[1] == '.'))
			return false;
	}
	return true;
}

static bool is_reserved(const char *dst)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		size_t n = strlen(reserved[i]);
		if (strcmp(dst, reserved[i]) == 0)
			return true;
		/* the plan owns these trees; a bind below them would be hidden or
		 * would change what the sandbox's generated files say */
		if (n > 1 && strncmp(dst, reserved[i], n) == 0 && dst[n] == '/')
			return true;
	}
	return false;
}

static int add(struct rootfs_plan *plan, enum rootfs_op_kind kind, const char *src, const char *dst,
	       const char *options, unsigned long flags, mode_t mode, bool optional)
{
	struct rootfs_op *op;

	if (plan->n == plan->cap) {
		size_t ncap = plan->cap ? plan->cap * 2 : 32;
		struct rootfs_op *nops = realloc(plan->ops, ncap * sizeof(*nops));
		if (!nops)
			return -1;
		plan->ops = nops;
		plan->cap = ncap;
	}
	op = &plan->ops[plan->n];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->flags = flags;
	op->mode = mode;
	op->optional = optional;
	if ((src && !(op->src = strdup(src))) || (dst && !(op->dst = strdup(dst))) ||
	    (options && !(op->options = strdup(options)))) {
		free(op->src);
		free(op->dst);
		free(op->options);
		return -1;
	}
	plan->n++;
	return 0;
}

int rootfs_etc_passwd(char *buf, size_t len, uid_t uid, gid_t gid)
{
	int n;

	if (uid == 0)
		n = snprintf(buf, len, "root:x:0:0:root:/workspace:/bin/sh\n"
				       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	else
		n = snprintf(buf, len,
			     "root:x:0:0:root:/root:/usr/sbin/nologin\n"
			     "tfjail:x:%u:%u:tfjail:/workspace:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
			     (unsigned)uid, (unsigned)gid);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int rootfs_etc_group(char *buf, size_t len, gid_t gid)
{
	int n;

	if (gid == 0)
		n = snprintf(buf, len, "root:x:0:\nnogroup:x:65534:\n");
	else
		n = snprintf(buf, len, "root:x:0:\ntfjail:x:%u:\nnogroup:x:65534:\n", (unsigned)gid);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int rootfs_plan_build(const struct rootfs_spec *spec, struct rootfs_plan *plan, struct tj_error *err)
{
	static const char *const devices[] = {"null", "zero", "full", "random", "urandom"};
	/* What OCI runtimes (runc, crun: Docker's default spec) make read-only
	 * and mask, plus the host's kernel configuration and command line. */
	static const char *const proc_ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					      "/proc/sysrq-trigger"};
	static const char *const proc_mask[] = {
		"/proc/acpi",      "/proc/asound",      "/proc/kcore",       "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi",      "/proc/config.gz",   "/proc/cmdline"};
	char opts[128], text[512];
	const unsigned long tmpfs_flags = MS_NOSUID | MS_NODEV;

	memset(plan, 0, sizeof(*plan));

	/* The new root: a small tmpfs, read-only once everything is in place. */
	if (add(plan, ROOTFS_TMPFS, NULL, "/", "size=1m,mode=0755", tmpfs_flags, 0, false) < 0)
		goto nomem;

	for (size_t i = 0; i < spec->n_binds; i++) {
		const char *src = spec->binds[i].src;
		const char *dst = spec->binds[i].dst ? spec->binds[i].dst : src;
		if (!rootfs_path_is_clean(src)) {
			rootfs_plan_free(plan);
			return tj_error_set(err, EINVAL, "bind source '%s' must be an absolute, normalised path", src);
		}
		if (!rootfs_path_is_clean(dst)) {
			rootfs_plan_free(plan);
			return tj_error_set(err, EINVAL, "bind destination '%s' must be an absolute, normalised path", dst);
		}
		if (is_reserved(dst)) {
			rootfs_plan_free(plan);
			return tj_error_set(err, EINVAL, "bind destination '%s' is reserved by the sandbox", dst);
		}
		if (add(plan, ROOTFS_BIND_RO, src, dst, NULL, 0, 0, false) < 0)
			goto nomem;
		plan->ops[plan->n - 1].tree_fd = spec->binds[i].tree_fd;
	}

	/* /etc: generated, never the host's. */
	if (add(plan, ROOTFS_TMPFS, NULL, "/etc", "size=64k,mode=0755", tmpfs_flags | MS_NOEXEC, 0, false) < 0)
		goto nomem;
	if (rootfs_etc_passwd(text, sizeof(text), spec->uid, spec->gid) < 0 ||
	    add(plan, ROOTFS_FILE, text, "/etc/passwd", NULL, 0, 0644, false) < 0)
		goto nomem;
	if (rootfs_etc_group(text, sizeof(text), spec->gid) < 0 ||
	    add(plan, ROOTFS_FILE, text, "/etc/group", NULL, 0, 0644, false) < 0)
		goto nomem;
	snprintf(text, sizeof(text), "127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost\n",
		 spec->hostname ? spec->hostname : "tfjail");
	if (add(plan, ROOTFS_FILE, text, "/etc/hosts", NULL, 0, 0644, false) < 0 ||
	    add(plan, ROOTFS_FILE, "", "/etc/resolv.conf", NULL, 0, 0644, false) < 0 ||
	    add(plan, ROOTFS_FILE, "passwd: files\ngroup: files\nhosts: files\n", "/etc/nsswitch.conf",
		NULL, 0, 0644, false) < 0 ||
	    add(plan, ROOTFS_REMOUNT_RO, NULL, "/etc", NULL, 0, 0, false) < 0)
		goto nomem;

	/* /dev: a tmpfs with the harmless device nodes bound from the host (no
	 * mknod in a user namespace), no tty. */
	if (add(plan, ROOTFS_TMPFS, NULL, "/dev", "size=64k,mode=0755", MS_NOSUID | MS_NOEXEC, 0, false) < 0)
		goto nomem;
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		char src[32], dst[32];
		snprintf(src, sizeof(src), "/dev/%s", devices[i]);
		snprintf(dst, sizeof(dst), "/dev/%s", devices[i]);
		if (add(plan, ROOTFS_BIND_DEV, src, dst, NULL, 0, 0, false) < 0)
			goto nomem;
	}
	if (add(plan, ROOTFS_SYMLINK, "/proc/self/fd", "/dev/fd", NULL, 0, 0, false) < 0 ||
	    add(plan, ROOTFS_SYMLINK, "/proc/self/fd/0", "/dev/stdin", NULL, 0, 0, false) < 0 ||
	    add(plan, ROOTFS_SYMLINK, "/proc/self/fd/1", "/dev/stdout", NULL, 0, 0, false) < 0 ||
	    add(plan, ROOTFS_SYMLINK, "/proc/self/fd/2", "/dev/stderr", NULL, 0, 0, false) < 0 ||
	    add(plan, ROOTFS_REMOUNT_RO, NULL, "/dev", NULL, 0, 0, false) < 0)
		goto nomem;

	/* /proc: fresh for the new pid namespace; the kernel knobs read-only,
	 * the leaky files masked. */
	if (add(plan, ROOTFS_PROC, NULL, "/proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, false) < 0)
		goto nomem;
	for (size_t i = 0; i < sizeof(proc_ro) / sizeof(proc_ro[0]); i++)
		if (add(plan, ROOTFS_PROC_RO, NULL, proc_ro[i], NULL, 0, 0, true) < 0)
			goto nomem;
	for (size_t i = 0; i < sizeof(proc_mask) / sizeof(proc_mask[0]); i++)
		if (add(plan, ROOTFS_MASK, NULL, proc_mask[i], NULL, 0, 0, true) < 0)
			goto nomem;

	/* Files the runner hands to the command (configuration, variables):
	 * read-only, so that nothing in the sandbox can change them. */
	if (spec->n_files > 0) {
		size_t total = 0;
		char path[256];
		for (size_t i = 0; i < spec->n_files; i++) {
			const char *name = spec->files[i].name;
			if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
				rootfs_plan_free(plan);
				return tj_error_set(err, EINVAL, "runner file name '%s' is not a plain file name", name);
			}
			total += strlen(spec->files[i].content) + 4096;
		}
		snprintf(opts, sizeof(opts), "size=%zu,mode=0755", total + 65536);
		if (add(plan, ROOTFS_TMPFS, NULL, ROOTFS_RUNNER_DIR, opts, tmpfs_flags | MS_NOEXEC, 0, false) < 0)
			goto nomem;
		for (size_t i = 0; i < spec->n_files; i++) {
			snprintf(path, sizeof(path), ROOTFS_RUNNER_DIR "/%s", spec->files[i].name);
			if (add(plan, ROOTFS_FILE, spec->files[i].content, path, NULL, 0,
				spec->files[i].mode ? spec->files[i].mode : 0644, false) < 0)
				goto nomem;
		}
		if (add(plan, ROOTFS_REMOUNT_RO, NULL, ROOTFS_RUNNER_DIR, NULL, 0, 0, false) < 0)
			goto nomem;
	}

	/* Writable scratch space, size-limited. */
	snprintf(opts, sizeof(opts), "size=%llu,mode=1777",
		 (unsigned long long)(spec->tmp_bytes ? spec->tmp_bytes : 64ull << 20));
	if (add(plan, ROOTFS_TMPFS, NULL, "/tmp", opts, tmpfs_flags, 0, false) < 0)
		goto nomem;
	snprintf(opts, sizeof(opts), "size=%llu,mode=0755,uid=%u,gid=%u",
		 (unsigned long long)(spec->workspace_bytes ? spec->workspace_bytes : 64ull << 20),
		 (unsigned)spec->uid, (unsigned)spec->gid);
	if (add(plan, ROOTFS_TMPFS, NULL, "/workspace", opts, tmpfs_flags, 0, false) < 0)
		goto nomem;
	return 0;

nomem:
	rootfs_plan_free(plan);
	return tj_error_set(err, ENOMEM, "mount plan: out of memory");
}

void rootfs_plan_free(struct rootfs_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->ops[i].src);
		free(plan->ops[i].dst);
		free(plan->ops[i].options);
	}
	free(plan->ops);
	memset(plan, 0, sizeof(*plan));
}
