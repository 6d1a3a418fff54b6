/* Frames between the HTTP server and the job launcher (a stream socketpair):
 * a fixed header (payload length, type, request id) and the payload. */
#ifndef TFJAIL_API_IPC_H
#define TFJAIL_API_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum api_frame_type {
	/* launcher -> server */
	API_FRAME_HELLO = 1,     /* JSON: {"ok": bool, "error", "terraform_version", "cgroup_mode", ...} */
	API_FRAME_STARTED,       /* the job left the queue; payload: the worker's pid */
	API_FRAME_RESULT,        /* payload: the ExecutionResponse JSON */
	API_FRAME_CRASHED,       /* the worker died without a result; payload: why */
	API_FRAME_ABORTED,       /* not run, or killed, because the service is stopping */
	/* server -> launcher */
	API_FRAME_RUN = 16,      /* JSON: {"job_id", "upload_dir", "variables"} */
	API_FRAME_SHUTDOWN,      /* payload: grace period in ms */
};

struct api_frame_header {
	uint32_t len;
	uint32_t type;
	uint64_t id;
};

#define API_FRAME_MAX (512u << 20)

/* Writes one frame (blocking; EINTR retried; no SIGPIPE). */
int api_frame_write(int fd, uint32_t type, uint64_t id, const void *payload, size_t len, struct tj_error *err);
/* Reads one frame; *payload is NUL-terminated (caller frees).  Returns 0, or
 * 1 at a clean end of stream, or -1. */
int api_frame_read(int fd, struct api_frame_header *h, char **payload, struct tj_error *err);

#endif
