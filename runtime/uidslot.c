#include "runtime/uidslot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/util.h"

int uidslot_acquire(const char *lock_dir, uid_t base, uint32_t slots, struct uidslot *out,
		    struct tj_error *err)
{
	static uint32_t next;
	uint32_t start;

	if (slots == 0 || (uint64_t)base + 2ull * slots > (uint64_t)UINT32_MAX - 1)
		return tj_error_set(err, EINVAL, "uid range %u + 2*%u does not fit in 32 bits",
				    (unsigned)base, (unsigned)slots);
	if (tj_mkdir_p(lock_dir, 0700, err) < 0)
		return -1;
	/* Start where this process left off, spread by pid, to keep lock
	 * contention between concurrent tfjail processes low. */
	start = (next + (uint32_t)getpid() * 7u) % slots;
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t s = (start + i) % slots;
		char path[4096];
		int fd;

		snprintf(path, sizeof(path), "%s/%u.lock", lock_dir, (unsigned)s);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return tj_error_sys(err, "open uid slot lock %s", path);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			out->lock_fd = fd;
			out->slot = s;
			out->host_root = base + 2 * s;
			out->host_user = base + 2 * s + 1;
			next = s + 1;
			return 0;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return tj_error_sys(err, "lock uid slot %s", path);
	}
	return tj_error_set(err, EBUSY, "all %u uid slots in %s are in use", (unsigned)slots, lock_dir);
}

void uidslot_release(struct uidslot *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}
