/* What the sandbox's root filesystem holds, as an ordered mount plan.
 *
 * The plan is data (tested on its own); runtime/mount.c carries it out in the
 * sandbox's mount namespace.  Paths in the plan are inside the new root;
 * bind sources are host paths, read through the old root during setup, or
 * trees the host opened (tree_fd), attached as they are. */
#ifndef TFJAIL_ROOTFS_ROOTFS_H
#define TFJAIL_ROOTFS_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum rootfs_op_kind {
	ROOTFS_TMPFS,      /* mount tmpfs at dst with options */
	ROOTFS_BIND_RO,    /* bind host src at dst: recursive, read-only, nosuid, nodev */
	ROOTFS_BIND_DEV,   /* bind a host device node at dst (read-write, no nodev) */
	ROOTFS_PROC,       /* mount a fresh proc at dst */
	ROOTFS_PROC_RO,    /* make dst (inside /proc) a read-only bind of itself */
	ROOTFS_MASK,       /* hide dst: /dev/null over a file, an empty ro tmpfs over a dir */
	ROOTFS_SYMLINK,    /* symlink dst -> src */
	ROOTFS_FILE,       /* write content (src) to dst, mode */
	ROOTFS_REMOUNT_RO, /* remount the mount at dst read-only (keeps nosuid/nodev) */
};

struct rootfs_op {
	enum rootfs_op_kind kind;
	char *src;
	char *dst;
	char *options;     /* tmpfs: "size=...,mode=...,uid=...,gid=..." */
	unsigned long flags; /* MS_NOSUID | MS_NODEV | MS_NOEXEC for tmpfs */
	mode_t mode;
	bool optional;     /* a missing source (or /proc entry) is skipped, not an error */
	int tree_fd;       /* ROOTFS_BIND_RO: > 0, the source's detached tree to attach
	                    * (src then only names it); else src is read through the old root */
};

struct rootfs_plan {
	struct rootfs_op *ops;
	size_t n;
	size_t cap;
};

struct rootfs_bind {
	const char *src;
	const char *dst;   /* NULL = src */
	int tree_fd;       /* > 0: a read-only clone of src's tree, opened by the host */
};

/* A runner-owned file, placed read-only below ROOTFS_RUNNER_DIR. */
struct rootfs_file {
	const char *name;  /* file name, no '/' */
	const char *content; /* text */
	mode_t mode;
};

#define ROOTFS_RUNNER_DIR "/run/tfjail"

struct rootfs_spec {
	const struct rootfs_bind *binds;
	size_t n_binds;
	uint64_t tmp_bytes;
	uint64_t workspace_bytes;
	uid_t uid;         /* owner of /workspace, user in /etc/passwd */
	gid_t gid;
	const char *hostname;
	const struct rootfs_file *files; /* -> ROOTFS_RUNNER_DIR/<name>, read-only */
	size_t n_files;
};

/* Builds the plan: tmpfs root, the caller's binds, /etc (generated), /dev
 * (tmpfs with null, zero, full, random, urandom), /proc (fresh, with sys,
 * sysrq-trigger, irq, bus read-only and kcore, keys, timer_list, sched_debug
 * masked), /tmp and /workspace (size-limited tmpfs).  Rejects relative,
 * non-normalised or reserved destinations. */
int rootfs_plan_build(const struct rootfs_spec *spec, struct rootfs_plan *plan, struct tj_error *err);
void rootfs_plan_free(struct rootfs_plan *plan);

/* Text of the generated /etc files. */
int rootfs_etc_passwd(char *buf, size_t len, uid_t uid, gid_t gid);
int rootfs_etc_group(char *buf, size_t len, gid_t gid);

/* True if path is absolute, has no "." / ".." / empty components and no
 * trailing slash (except "/" itself). */
bool rootfs_path_is_clean(const char *path);

#endif
