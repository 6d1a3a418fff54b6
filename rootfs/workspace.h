/* Copies a directory tree (the upload) into the sandbox's /workspace.
 *
 * Runs inside the sandbox during setup.  Never follows a symlink: a relative
 * symlink that stays inside the tree is recreated as a symlink, any other is
 * refused; hardlinks are refused unless every link is inside the tree;
 * devices, fifos and sockets are refused.  Every limit names the file that
 * broke it. */
#ifndef TFJAIL_ROOTFS_WORKSPACE_H
#define TFJAIL_ROOTFS_WORKSPACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"

enum workspace_failure {
	WORKSPACE_OK = 0,
	WORKSPACE_INVALID,    /* the tree breaks a rule or a limit (the upload's fault) */
	WORKSPACE_NOSPACE,    /* the workspace tmpfs is full */
	WORKSPACE_UNREADABLE, /* the copying uid may not read an entry: "<rel> (mode 0NNN)" */
	WORKSPACE_IO,         /* anything else */
};

struct workspace_copy_opts {
	bool (*exclude)(const char *rel, const struct stat *st, void *ctx);
	void *ctx;
	uint64_t max_files; /* 0 = unlimited */
	uint64_t max_total_bytes;
	uint64_t max_file_bytes;
	uint64_t max_depth;
	uid_t uid; /* owner of the copies; (uid_t)-1 = unchanged */
	gid_t gid;
};

/* Copies src_dir into dst_dir (which exists).  On failure fills err and, if
 * kind is non-NULL, why. */
int workspace_copy(const char *src_dir, const char *dst_dir, const struct workspace_copy_opts *opts,
                   enum workspace_failure *kind, struct tj_error *err);

/* Lexically resolves a relative symlink target against the link's directory
 * (both relative to the tree's root); true if it stays inside. */
bool workspace_link_stays_inside(const char *link_dir_rel, const char *target);

#endif
