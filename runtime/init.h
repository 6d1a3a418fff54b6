/* The sandbox's PID 1: tfjail's own code in the cloned child (never an exec
 * of the tfjail binary).  It sets the sandbox up, top to bottom, ending
 * unprivileged, then runs the host's commands one at a time and reaps every
 * process.  It talks to the host side (sandbox.c) only over the control
 * socket (ctl.h). */
#ifndef TFJAIL_RUNTIME_INIT_H
#define TFJAIL_RUNTIME_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "runtime/sandbox.h"
#include "runtime/seccomp.h"

/* What PID 1 takes over from the host at clone time. */
struct init_ctx {
	const struct sandbox_config *cfg;
	const struct seccomp_program *seccomp;
	struct cgroup_job *cg;
	int ctl;               /* PID 1's end of the control socket */
	int upload;            /* the host's detached read-only clone of the upload, or -1 */
	int *bind_fds;         /* per cfg->binds[i]: the host's clone of its tree, or -1 */
	bool joined_cgroup_ns; /* clone3 placed it in its cgroup and cgroup namespace */
	uid_t uid;             /* uid/gid inside for commands */
	gid_t gid;
	char *inspect; /* the workspace inspection's bytes, for READY */
	size_t inspect_len;
};

/* Runs in the cloned child; never returns. */
__attribute__((noreturn)) void init_main(struct init_ctx *c);

#endif
