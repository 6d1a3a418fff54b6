/* Carries out a rootfs plan (rootfs/rootfs.h) with libmount, inside the
 * sandbox's own mount namespace.  Nothing here ever runs in the host's, but
 * mount_clone_tree_ro(), which only makes a detached copy. */
#ifndef TFJAIL_RUNTIME_MOUNT_H
#define TFJAIL_RUNTIME_MOUNT_H

#include "common/error.h"
#include "rootfs/rootfs.h"

/* Makes every mount private (recursively), so that nothing propagates back to
 * the host. */
int mount_make_rprivate(struct tj_error *err);
/* Mounts a tmpfs at path. */
int mount_tmpfs(const char *path, const char *options, unsigned long flags, struct tj_error *err);
/* Bind mount src at dst, read-only, nosuid, nodev, recursively. */
int mount_bind_ro(const char *src, const char *dst, struct tj_error *err);
/* Clones the mount of path (below dirfd; "" = dirfd itself), without the
 * mounts below it, as a detached, read-only, nosuid, nodev, noexec tree:
 * the host hands it to a sandbox, which attaches it in its own mount
 * namespace, where no path of the host is resolved again.  Returns the
 * tree's fd. */
int mount_clone_tree_ro(int dirfd, const char *path, struct tj_error *err);
/* Clones path's mount and every mount below it (path resolved here, links
 * followed) as a detached, read-only, nosuid, nodev tree, executables kept:
 * a bind the host opens for a sandbox.  Returns the tree's fd. */
int mount_clone_bind_ro(const char *path, struct tj_error *err);
/* Attaches a tree from mount_clone_tree_ro() at dst. */
int mount_attach_tree(int tree_fd, const char *dst, struct tj_error *err);
/* Applies a plan: destinations below newroot, bind sources below oldroot. */
int mount_apply_plan(const struct rootfs_plan *plan, const char *newroot, const char *oldroot,
		     struct tj_error *err);
/* Sets the mount at path (and, if recursive, every mount below) read-only. */
int mount_set_readonly(const char *path, bool recursive, struct tj_error *err);
/* pivot_root into newroot and detach the old root entirely. */
int mount_pivot_root(const char *newroot, struct tj_error *err);

#endif
