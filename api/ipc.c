#include "api/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

/* Room for one descriptor beside a frame. */
union fd_ctl {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* Sends buf; the first sendmsg carries pass_fd when it is >= 0. */
static int send_all(int fd, const char *buf, size_t len, int pass_fd)
{
	size_t off = 0;

	while (off < len) {
		struct iovec iov = {.iov_base = (void *)(uintptr_t)(buf + off), .iov_len = len - off};
		union fd_ctl ctl;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (pass_fd >= 0) {
			struct cmsghdr *cm;
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
		}
		n = pass_fd >= 0 ? sendmsg(fd, &mh, MSG_NOSIGNAL) : write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		pass_fd = -1;
		off += (size_t)n;
	}
	return 0;
}

int api_frame_write(int fd, uint32_t type, uint64_t id, const void *payload, size_t len, int pass_fd,
                    struct tj_error *err)
{
	struct api_frame_header h = {.len = (uint32_t)len, .type = type, .id = id};

	if (len > API_FRAME_MAX)
		return tj_error_set(err, EFBIG, "frame of %zu bytes is too large", len);
	if (send_all(fd, (const char *)&h, sizeof(h), pass_fd) < 0 || send_all(fd, payload, len, -1) < 0)
		return tj_error_sys(err, "send a frame");
	return 0;
}

/* Reads len bytes; the descriptor that comes with them, if any, in *got_fd. */
static int read_exact(int fd, void *buf, size_t len, size_t *got, int *got_fd)
{
	*got = 0;
	while (*got < len) {
		struct iovec iov = {.iov_base = (char *)buf + *got, .iov_len = len - *got};
		union fd_ctl ctl;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n;

		if (got_fd) {
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		} else {
			n = read(fd, iov.iov_base, iov.iov_len);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOTSOCK && got_fd) {
			got_fd = NULL;
			continue;
		}
		if (n <= 0)
			return n < 0 ? -1 : 0;
		if (got_fd)
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
					int f;
					memcpy(&f, CMSG_DATA(cm), sizeof(f));
					if (*got_fd >= 0)
						close(f);
					else
						*got_fd = f;
				}
		*got += (size_t)n;
	}
	return 0;
}

int api_frame_read(int fd, struct api_frame_header *h, char **payload, int *got_fd, struct tj_error *err)
{
	size_t got;
	int passed = -1;
	char *p;

	*payload = NULL;
	if (got_fd)
		*got_fd = -1;
	if (read_exact(fd, h, sizeof(*h), &got, got_fd ? &passed : NULL) < 0) {
		if (passed >= 0)
			close(passed);
		return tj_error_sys(err, "read a frame");
	}
	if (got == 0)
		return 1;
	if (got < sizeof(*h) || h->len > API_FRAME_MAX) {
		if (passed >= 0)
			close(passed);
		return got < sizeof(*h) ? tj_error_set(err, EPROTO, "truncated frame header")
		                        : tj_error_set(err, EPROTO, "frame of %u bytes is too large", h->len);
	}
	p = malloc((size_t)h->len + 1);
	if (!p || read_exact(fd, p, h->len, &got, NULL) < 0 || got < h->len) {
		free(p);
		if (passed >= 0)
			close(passed);
		return tj_error_set(err, EPROTO, "truncated frame");
	}
	p[h->len] = '\0';
	*payload = p;
	if (got_fd)
		*got_fd = passed;
	return 0;
}
