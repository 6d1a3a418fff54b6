#include "runtime/uidslot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* An flock()ed file named after the uid; -1 with errno EWOULDBLOCK if held. */
static int lock_uid(const char *lock_dir, uid_t uid, struct tj_error *err)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/uid-%u.lock", lock_dir, (unsigned)uid);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		tj_error_sys(err, "open uid lock %s", path);
		errno = err ? err->errnum : errno;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK)
		tj_error_sys(err, "lock uid %s", path);
	close(fd);
	return -1;
}

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
		uid_t root = base + 2 * s;
		int fd_root, fd_user;

		fd_root = lock_uid(lock_dir, root, err);
		if (fd_root < 0) {
			if (errno != EWOULDBLOCK)
				return -1;
			continue;
		}
		fd_user = lock_uid(lock_dir, root + 1, err);
		if (fd_user < 0) {
			int e = errno;
			close(fd_root);
			if (e != EWOULDBLOCK)
				return -1;
			continue;
		}
		out->lock_fd = fd_root;
		out->lock_fd_user = fd_user;
		out->slot = s;
		out->host_root = root;
		out->host_user = root + 1;
		next = s + 1;
		return 0;
	}
	return tj_error_set(err, EBUSY, "all %u uid slots in %s are in use", (unsigned)slots, lock_dir);
}

void uidslot_release(struct uidslot *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->lock_fd_user >= 0)
		close(s->lock_fd_user);
	s->lock_fd = s->lock_fd_user = -1;
}

/* ------------------------------------------------------------ range check */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* passwd/group: field 3 is the id; subuid/subgid: fields 2 and 3 are first
 * and count.  Lines that do not parse are not ids and are skipped. */
static int check_file(const char *path, bool sub, uint64_t base, uint64_t len, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;

	if (!path || tj_read_file(path, 16u << 20, &text, &n, NULL) < 0)
		return 0;
	for (char *line = text, *next; line && *line; line = next) {
		char *f[4] = {0}, *p = line, *end;
		unsigned long long first, count = 1;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		const char *idf = sub ? f[1] : f[2];
		if (!idf || !*idf || (sub && (!f[2] || !*f[2])))
			continue;
		first = strtoull(idf, &end, 10);
		if (*end)
			continue;
		if (sub) {
			count = strtoull(f[2], &end, 10);
			if (*end)
				continue;
		}
		if (overlaps(base, len, first, count))
			return tj_error_set(
			    err, EEXIST,
			    "the uid range %llu-%llu overlaps %s (%s: %llu%s%llu): choose another "
			    "TFJAIL_UID_RANGE",
			    (unsigned long long)base, (unsigned long long)(base + len - 1), path, f[0], first,
			    sub ? "+" : "", sub ? count : 0ull);
	}
	return 0;
}

int uidslot_check_range(uid_t base, uint32_t slots, const char *passwd_path, const char *group_path,
                        const char *subuid_path, const char *subgid_path, struct tj_error *err)
{
	uint64_t len = 2ull * slots;

	if (check_file(passwd_path, false, base, len, err) < 0 ||
	    check_file(group_path, false, base, len, err) < 0 ||
	    check_file(subuid_path, true, base, len, err) < 0 ||
	    check_file(subgid_path, true, base, len, err) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ namespace owner */

/* setresuid(2) for the calling thread only.  glibc's wrapper changes every
 * thread of the process (it signals each to follow); the raw system call
 * changes the caller's credentials, which are what clone() and kill() use,
 * so that another thread never runs, even briefly, as a slot's uid. */
static int thread_setresuid(uid_t r, uid_t e, uid_t s)
{
	return (int)syscall(SYS_setresuid, r, e, s);
}

static int saved_dumpable = -1;

int uidslot_enter(const struct uidslot *s, struct tj_error *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	saved_dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (thread_setresuid(s->host_root, s->host_root, 0) < 0)
		return tj_error_sys(err, "take uid %u", (unsigned)s->host_root);
	/* A uid change away from 0 clears the effective set; the permitted set
	 * stays with the saved uid 0: raise it again (cgroup and /proc access
	 * until the clone). */
	if (syscall(SYS_capget, &hdr, data) < 0 ||
	    (data[0].effective = data[0].permitted, data[1].effective = data[1].permitted,
	     syscall(SYS_capset, &hdr, data) < 0)) {
		tj_error_sys(err, "keep capabilities as uid %u", (unsigned)s->host_root);
		uidslot_leave(NULL);
		return -1;
	}
	return 0;
}

int uidslot_leave(struct tj_error *err)
{
	/* Back to uid 0: allowed by the saved uid; restores the effective set. */
	if (thread_setresuid(0, 0, 0) < 0)
		return tj_error_sys(err, "return to uid 0");
	if (saved_dumpable >= 0)
		prctl(PR_SET_DUMPABLE, saved_dumpable, 0, 0, 0);
	return 0;
}

int uidslot_kill(const struct uidslot *s, pid_t pid, int sig)
{
	int dumpable, rc, saved_errno;

	if (kill(pid, sig) == 0 || errno == ESRCH)
		return 0;
	if (errno != EPERM)
		return -1;
	dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (thread_setresuid(s->host_root, s->host_user, 0) < 0)
		return -1;
	rc = kill(pid, sig);
	saved_errno = rc < 0 && errno != ESRCH ? errno : 0;
	/* back to uid 0 (allowed by the saved uid), like uidslot_leave() */
	if (uidslot_leave(NULL) < 0)
		return -1;
	if (dumpable >= 0)
		prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
	errno = saved_errno;
	return saved_errno ? -1 : 0;
}
