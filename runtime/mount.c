#include "runtime/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static void mnt_context_freep(struct libmnt_context **cxt)
{
	if (*cxt)
		mnt_free_context(*cxt);
}
#define _cleanup_mnt_context_ __attribute__((cleanup(mnt_context_freep)))

/* One mount(2) through libmount: no fstab, no mtab/utab, no /sbin helpers,
 * no path canonicalisation (the sandbox's paths are already exact). */
static int do_mount(const char *source, const char *target, const char *fstype, const char *options,
		    unsigned long mflags, struct tj_error *err)
{
	_cleanup_mnt_context_ struct libmnt_context *cxt = mnt_new_context();
	int rc;

	if (!cxt)
		return tj_error_set(err, ENOMEM, "mount %s: out of memory", target);
	mnt_context_disable_mtab(cxt, 1);
	mnt_context_disable_helpers(cxt, 1);
	mnt_context_disable_canonicalize(cxt, 1);
	mnt_context_disable_swapmatch(cxt, 1);
	mnt_context_set_optsmode(cxt, MNT_OMODE_IGNORE);
	if (mnt_context_set_source(cxt, source ? source : "none") < 0 ||
	    mnt_context_set_target(cxt, target) < 0 ||
	    (fstype && mnt_context_set_fstype(cxt, fstype) < 0) ||
	    (options && mnt_context_set_options(cxt, options) < 0) ||
	    (mflags && mnt_context_set_mflags(cxt, mflags) < 0))
		return tj_error_set(err, EINVAL, "mount %s: bad mount parameters", target);
	rc = mnt_context_mount(cxt);
	if (rc != 0) {
		int e = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;
		if (e) {
			errno = e;
			return tj_error_sys(err, "mount %s%s%s on %s", fstype ? fstype : "",
					    fstype ? " " : "", source ? source : "", target);
		}
		return tj_error_set(err, EINVAL, "mount %s on %s: libmount error %d", source ? source : "",
				    target, rc);
	}
	return 0;
}

int mount_make_rprivate(struct tj_error *err)
{
	return do_mount(NULL, "/", NULL, NULL, MS_REC | MS_PRIVATE, err);
}

int mount_tmpfs(const char *path, const char *options, unsigned long flags, struct tj_error *err)
{
	return do_mount("tmpfs", path, "tmpfs", options, flags, err);
}

int mount_set_readonly(const char *path, bool recursive, struct tj_error *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};

	/* mount_setattr (5.12) changes a whole subtree in one call; libmount
	 * 2.38 would remount only the top of a recursive bind read-only. */
	if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof(attr)) == 0)
		return 0;
	if (errno != ENOSYS)
		return tj_error_sys(err, "make %s read-only", path);
	/* Older kernels: remount the top mount, keeping the flags the kernel
	 * locked on it (a user namespace may not clear them). */
	return do_mount(NULL, path, NULL, "remount,bind,ro,nosuid,nodev", 0, err);
}

int mount_bind_ro(const char *src, const char *dst, struct tj_error *err)
{
	if (do_mount(src, dst, NULL, "rbind", 0, err) < 0)
		return -1;
	return mount_set_readonly(dst, true, err);
}

/* Creates the mount point for src at dst: a directory for a directory, an
 * empty file for anything else. */
static int make_mountpoint(const char *dst, bool dir, struct tj_error *err)
{
	char parent[PATH_MAX];
	char *slash;
	int fd;

	snprintf(parent, sizeof(parent), "%s", dst);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (tj_mkdir_p(parent, 0755, err) < 0)
			return -1;
	}
	if (dir)
		return tj_mkdir_p(dst, 0755, err);
	fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno != EEXIST)
		return tj_error_sys(err, "create mount point %s", dst);
	if (fd >= 0)
		close(fd);
	return 0;
}

static int apply_op(const struct rootfs_op *op, const char *newroot, const char *oldroot,
		    struct tj_error *err)
{
	char dst[PATH_MAX], src[PATH_MAX];
	struct stat st;

	if (strcmp(op->dst, "/") == 0)
		snprintf(dst, sizeof(dst), "%s", newroot);
	else
		snprintf(dst, sizeof(dst), "%s%s", newroot, op->dst);

	switch (op->kind) {
	case ROOTFS_TMPFS:
		if (tj_mkdir_p(dst, 0755, err) < 0)
			return -1;
		return mount_tmpfs(dst, op->options, op->flags, err);

	case ROOTFS_BIND_RO:
	case ROOTFS_BIND_DEV:
		if (op->kind == ROOTFS_BIND_RO && op->tree_fd > 0) {
			/* the host's read-only clone of the source, already resolved */
			if (fstat(op->tree_fd, &st) < 0)
				return tj_error_sys(err, "bind source %s", op->src);
			if (make_mountpoint(dst, S_ISDIR(st.st_mode), err) < 0)
				return -1;
			if (move_mount(op->tree_fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
				return tj_error_sys(err, "attach %s at %s", op->src, op->dst);
			return 0;
		}
		snprintf(src, sizeof(src), "%s%s", oldroot, op->src);
		/* usrmerge: /bin -> usr/bin and the like are recreated as the same
		 * relative symlink, so that the sandbox's layout matches the host's */
		if (op->kind == ROOTFS_BIND_RO && lstat(src, &st) == 0 && S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(src, target, sizeof(target) - 1);
			if (n > 0 && target[0] != '/') {
				target[n] = '\0';
				if (make_mountpoint(dst, false, err) < 0 || unlink(dst) < 0)
					return tj_error_sys(err, "prepare symlink %s", op->dst);
				if (symlink(target, dst) < 0)
					return tj_error_sys(err, "symlink %s -> %s", op->dst, target);
				return 0;
			}
		}
		if (stat(src, &st) < 0) {
			if (op->optional && errno == ENOENT)
				return 0;
			return tj_error_sys(err, "bind source %s", op->src);
		}
		if (make_mountpoint(dst, S_ISDIR(st.st_mode), err) < 0)
			return -1;
		if (op->kind == ROOTFS_BIND_DEV)
			return do_mount(src, dst, NULL, "bind", 0, err);
		return mount_bind_ro(src, dst, err);

	case ROOTFS_PROC:
		if (tj_mkdir_p(dst, 0555, err) < 0)
			return -1;
		return do_mount("proc", dst, "proc", NULL, op->flags, err);

	case ROOTFS_PROC_RO:
		if (lstat(dst, &st) < 0) {
			if (op->optional && errno == ENOENT)
				return 0;
			return tj_error_sys(err, "stat %s", op->dst);
		}
		if (do_mount(dst, dst, NULL, "rbind", 0, err) < 0)
			return -1;
		return mount_set_readonly(dst, true, err);

	case ROOTFS_MASK:
		if (lstat(dst, &st) < 0) {
			if (op->optional && errno == ENOENT)
				return 0;
			return tj_error_sys(err, "stat %s", op->dst);
		}
		if (S_ISDIR(st.st_mode))
			return mount_tmpfs(dst, "size=0,mode=0555", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, err);
		snprintf(src, sizeof(src), "%s/dev/null", oldroot);
		return do_mount(src, dst, NULL, "bind", 0, err);

	case ROOTFS_SYMLINK:
		if (symlink(op->src, dst) < 0)
			return tj_error_sys(err, "symlink %s", op->dst);
		return 0;

	case ROOTFS_FILE:
		if (tj_write_file(dst, op->src, strlen(op->src), op->mode, err) < 0)
			return -1;
		if (chmod(dst, op->mode) < 0)
			return tj_error_sys(err, "chmod %s", op->dst);
		return 0;

	case ROOTFS_REMOUNT_RO:
		return mount_set_readonly(dst, false, err);
	}
	return tj_error_set(err, EINVAL, "mount plan: unknown operation %d", (int)op->kind);
}

int mount_apply_plan(const struct rootfs_plan *plan, const char *newroot, const char *oldroot,
		     struct tj_error *err)
{
	for (size_t i = 0; i < plan->n; i++)
		if (apply_op(&plan->ops[i], newroot, oldroot, err) < 0)
			return -1;
	return 0;
}

int mount_pivot_root(const char *newroot, struct tj_error *err)
{
	/* pivot_root(".", ".") stacks the old root on top of the new one; a lazy
	 * detach of "." then drops the whole old tree (pivot_root(2), NOTES). */
	if (chdir(newroot) < 0)
		return tj_error_sys(err, "chdir %s", newroot);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return tj_error_sys(err, "pivot_root %s", newroot);
	if (umount2(".", MNT_DETACH) < 0)
		return tj_error_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return tj_error_sys(err, "chdir /");
	return 0;
}

int mount_clone_tree_ro(int dirfd, const char *path, struct tj_error *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	};
	int fd = open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (*path ? 0 : AT_EMPTY_PATH));

	if (fd < 0)
		return tj_error_sys(err, "clone the mount of %s", *path ? path : "the upload");
	if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
		tj_error_sys(err, "make the clone of %s read-only", *path ? path : "the upload");
		close(fd);
		return -1;
	}
	return fd;
}

int mount_clone_bind_ro(const char *path, struct tj_error *err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return tj_error_sys(err, "bind source %s", path);
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		tj_error_sys(err, "make the bind of %s read-only", path);
		close(fd);
		return -1;
	}
	return fd;
}

int mount_attach_tree(int tree_fd, const char *dst, struct tj_error *err)
{
	if (move_mount(tree_fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return tj_error_sys(err, "attach the upload at %s", dst);
	return 0;
}
