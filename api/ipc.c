#include "api/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

int api_frame_write(int fd, uint32_t type, uint64_t id, const void *payload, size_t len, struct tj_error *err)
{
	struct api_frame_header h = {.len = (uint32_t)len, .type = type, .id = id};
	const char *parts[2] = {(const char *)&h, payload};
	size_t lens[2] = {sizeof(h), len};

	if (len > API_FRAME_MAX)
		return tj_error_set(err, EFBIG, "frame of %zu bytes is too large", len);
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return tj_error_sys(err, "send a frame");
			off += (size_t)n;
		}
	}
	return 0;
}

static int read_exact(int fd, void *buf, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, (char *)buf + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -1 : 0;
		*got += (size_t)n;
	}
	return 0;
}

int api_frame_read(int fd, struct api_frame_header *h, char **payload, struct tj_error *err)
{
	size_t got;
	char *p;

	*payload = NULL;
	if (read_exact(fd, h, sizeof(*h), &got) < 0)
		return tj_error_sys(err, "read a frame");
	if (got == 0)
		return 1;
	if (got < sizeof(*h))
		return tj_error_set(err, EPROTO, "truncated frame header");
	if (h->len > API_FRAME_MAX)
		return tj_error_set(err, EPROTO, "frame of %u bytes is too large", h->len);
	p = malloc((size_t)h->len + 1);
	if (!p)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (read_exact(fd, p, h->len, &got) < 0 || got < h->len) {
		free(p);
		return tj_error_set(err, EPROTO, "truncated frame");
	}
	p[h->len] = '\0';
	*payload = p;
	return 0;
}
