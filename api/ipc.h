/* Frames between the HTTP server and the job launcher (a stream socketpair),
 * and between a worker and the launcher (a pipe): a fixed header (payload
 * length, message type, job id) and the payload (api/msg.h).  A frame may
 * carry one file descriptor beside it (SCM_RIGHTS; socketpairs only). */
#ifndef TFJAIL_API_IPC_H
#define TFJAIL_API_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct api_frame_header {
	uint32_t len;
	uint32_t type;
	uint64_t id;
};

#define API_FRAME_MAX (512u << 20)

/* Writes one frame (blocking; EINTR retried; no SIGPIPE), with pass_fd
 * beside it unless it is -1. */
int api_frame_write(int fd, uint32_t type, uint64_t id, const void *payload, size_t len, int pass_fd,
                    struct tj_error *err);
/* Reads one frame; *payload is NUL-terminated (caller frees); *got_fd (if
 * not NULL) is the descriptor that came with it or -1 (caller closes).
 * Returns 0, or 1 at a clean end of stream, or -1. */
int api_frame_read(int fd, struct api_frame_header *h, char **payload, int *got_fd, struct tj_error *err);

#endif
