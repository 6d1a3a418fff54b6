/* The control socket between the host side of a sandbox and its PID 1: a
 * SOCK_SEQPACKET socketpair, one message per request or answer, file
 * descriptors passed with SCM_RIGHTS.  Every message type is defined here. */
#ifndef TFJAIL_RUNTIME_CTL_H
#define TFJAIL_RUNTIME_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define CTL_MAX_MSG (256 * 1024)

enum msg_type {
	MSG_GO = 1,
	MSG_READY,
	MSG_SETUP_ERR,
	MSG_EXEC,
	MSG_RESULT,
};

struct msg_ready {
	uint32_t type;
	uint32_t len; /* followed by len bytes of the workspace inspection */
};

struct msg_setup_err {
	uint32_t type;
	uint32_t step; /* enum sandbox_setup_step */
	int32_t errnum;
	uint32_t extra_len; /* followed by extra_len bytes: a failed upload's inspection */
	char msg[TJ_ERROR_MSG_MAX];
};

#define EXEC_HAS_STDIN  1u
#define EXEC_HAS_STDOUT 2u
#define EXEC_HAS_STDERR 4u
#define EXEC_BACKGROUND 8u /* answer at once; the process lives until the sandbox ends */

struct msg_exec {
	uint32_t type;
	uint32_t flags; /* which stdio fds travel with the message */
	uint32_t argc;
	uint32_t envc;
	/* followed by cwd\0 argv[0]\0 ... envp[0]\0 ... */
};

struct msg_result {
	uint32_t type;
	int32_t wait_status;
	int32_t exec_errno;
};

/* Sends one message with up to 3 fds; 0 or -1 (errno). */
int ctl_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds);
/* Receives one message; up to 3 fds land in fds[] (the rest of fds[] = -1),
 * or are closed when fds is NULL.  Returns its length or -1 (errno). */
ssize_t ctl_recv(int fd, void *buf, size_t len, int fds[3]);

#endif
