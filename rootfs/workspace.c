#include "rootfs/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

struct inode_seen {
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
	nlink_t seen;
	char *rel;
};

struct copy_state {
	const struct workspace_copy_opts *o;
	int root; /* the upload's root: every open is beneath it */
	uint64_t files;
	uint64_t bytes;
	struct inode_seen *links;
	size_t n_links, cap_links;
	enum workspace_failure kind;
	struct tj_error *err;
};

bool workspace_link_stays_inside(const char *link_dir_rel, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/' || target[0] == '\0')
		return false;
	/* depth of the directory holding the link */
	for (p = link_dir_rel; *p;) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		if (p > s)
			depth++;
		while (*p == '/')
			p++;
	}
	for (p = target; *p;) {
		const char *s = p;
		size_t n;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (n > 0 && !(n == 1 && s[0] == '.')) {
			depth++;
		}
		while (*p == '/')
			p++;
	}
	return true;
}

/* Opens rel beneath root: no symlink, no magic link, no other mount on the
 * way, so nothing swapped into the tree while it is copied leads out. */
static int open_beneath(int root, const char *rel, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};

	return (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
}

#define MAX_LINK_HOPS 40

/* Resolves a relative symlink target the way the kernel will, following
 * the symlinks of the tree that it passes through (d/up -> .., then
 * d/x -> up/..): true if every step stays inside the tree.  A component that
 * does not exist ends the look-up (the rest is checked lexically). */
static bool link_resolves_inside(int root, const char *link_dir_rel, const char *target)
{
	char cur[PATH_MAX], rest[2 * PATH_MAX];
	int hops = 0;
	bool exists = true;

	if (target[0] == '/' || !target[0] || !workspace_link_stays_inside(link_dir_rel, target))
		return false;
	if (snprintf(cur, sizeof(cur), "%s", link_dir_rel) >= (int)sizeof(cur) ||
	    snprintf(rest, sizeof(rest), "%s", target) >= (int)sizeof(rest))
		return false;
	while (rest[0]) {
		char comp[NAME_MAX + 1], *slash = strchr(rest, '/');
		size_t n = slash ? (size_t)(slash - rest) : strlen(rest);

		if (n > NAME_MAX)
			return false;
		memcpy(comp, rest, n);
		comp[n] = '\0';
		memmove(rest, rest + n + (slash ? 1 : 0), strlen(rest + n + (slash ? 1 : 0)) + 1);
		if (n == 0 || strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *up = strrchr(cur, '/');
			if (!cur[0])
				return false; /* above the tree's root */
			if (up)
				*up = '\0';
			else
				cur[0] = '\0';
			continue;
		}
		{
			size_t len = strlen(cur);
			if (len + n + 2 > sizeof(cur))
				return false;
			if (len)
				cur[len++] = '/';
			memcpy(cur + len, comp, n + 1);
		}
		if (!exists)
			continue;
		{
			char link[PATH_MAX], joined[2 * PATH_MAX + 1];
			struct stat st;
			ssize_t ln;
			int fd = open_beneath(root, cur, O_PATH);
			if (fd < 0) {
				exists = false; /* dangling from here on */
				continue;
			}
			if (fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode)) {
				close(fd);
				continue;
			}
			ln = readlinkat(fd, "", link, sizeof(link) - 1);
			close(fd);
			if (ln <= 0 || ++hops > MAX_LINK_HOPS)
				return false;
			link[ln] = '\0';
			if (link[0] == '/')
				return false;
			/* the link's target replaces it, relative to its directory */
			{
				char *up = strrchr(cur, '/');
				if (up)
					*up = '\0';
				else
					cur[0] = '\0';
			}
			if (snprintf(joined, sizeof(joined), "%s%s%s", link, rest[0] ? "/" : "", rest) >=
			    (int)sizeof(rest))
				return false;
			memcpy(rest, joined, strlen(joined) + 1);
		}
	}
	return true;
}

static int fail(struct copy_state *cs, enum workspace_failure kind, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct copy_state *cs, enum workspace_failure kind, int errnum, const char *fmt, ...)
{
	va_list ap;

	cs->kind = kind;
	cs->err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(cs->err->msg, sizeof(cs->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_errno(struct copy_state *cs, const char *what, const char *rel)
{
	int e = errno;

	if (e == ENOSPC || e == EDQUOT)
		return fail(cs, WORKSPACE_NOSPACE, e, "workspace is full while copying %s", rel);
	return fail(cs, WORKSPACE_IO, e, "%s %s: %s", what, rel, strerror(e));
}

/* An entry the copying uid may not read, named relative to the tree (a
 * directory with a trailing slash, the root as "./") with its mode. */
static int unreadable(struct copy_state *cs, const char *rel, bool dir, mode_t mode)
{
	return fail(cs, WORKSPACE_UNREADABLE, EACCES, "%s%s (mode %04o)", *rel ? rel : ".", dir ? "/" : "",
	            (unsigned)(mode & 07777));
}

static bool denied(int e)
{
	return e == EACCES || e == EPERM;
}

static int note_hardlink(struct copy_state *cs, const struct stat *st, const char *rel)
{
	for (size_t i = 0; i < cs->n_links; i++)
		if (cs->links[i].dev == st->st_dev && cs->links[i].ino == st->st_ino) {
			cs->links[i].seen++;
			return 0;
		}
	if (cs->n_links == cs->cap_links) {
		size_t ncap = cs->cap_links ? cs->cap_links * 2 : 16;
		struct inode_seen *n = realloc(cs->links, ncap * sizeof(*n));
		if (!n)
			return fail(cs, WORKSPACE_IO, ENOMEM, "out of memory");
		cs->links = n;
		cs->cap_links = ncap;
	}
	cs->links[cs->n_links] = (struct inode_seen){st->st_dev, st->st_ino, st->st_nlink, 1, strdup(rel)};
	if (!cs->links[cs->n_links].rel)
		return fail(cs, WORKSPACE_IO, ENOMEM, "out of memory");
	cs->n_links++;
	return 0;
}

static int copy_file(struct copy_state *cs, int ddir, const char *name, const char *rel,
                     const struct stat *lst)
{
	_cleanup_close_ int in = -1, out = -1;
	char buf[65536];
	uint64_t copied = 0;
	struct stat fst;
	const struct stat *st = &fst;

	/* The checks hold for the file that was opened: a hardlink or a
	 * special file swapped in after the directory was read is caught. */
	in = open_beneath(cs->root, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (in < 0)
		return errno == ELOOP || errno == EXDEV
		           ? fail(cs, WORKSPACE_INVALID, errno, "%s changed into a link while it was copied",
		                  rel)
		       : denied(errno) ? unreadable(cs, rel, false, lst->st_mode)
		                       : fail_errno(cs, "open", rel);
	if (fstat(in, &fst) < 0)
		return fail_errno(cs, "stat", rel);
	if (!S_ISREG(fst.st_mode) || fst.st_ino != lst->st_ino || fst.st_dev != lst->st_dev)
		return fail(cs, WORKSPACE_INVALID, EPERM, "%s changed while it was copied", rel);
	if (fst.st_nlink > 1 && note_hardlink(cs, &fst, rel) < 0)
		return -1;
	if (cs->o->max_file_bytes && (uint64_t)st->st_size > cs->o->max_file_bytes)
		return fail(cs, WORKSPACE_INVALID, EFBIG, "%s is %lld bytes, over the limit of %llu", rel,
		            (long long)st->st_size, (unsigned long long)cs->o->max_file_bytes);
	cs->bytes += (uint64_t)st->st_size;
	if (cs->o->max_total_bytes && cs->bytes > cs->o->max_total_bytes)
		return fail(cs, WORKSPACE_INVALID, EFBIG, "the upload exceeds %llu bytes at %s",
		            (unsigned long long)cs->o->max_total_bytes, rel);
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	             (st->st_mode & 0111) ? 0755 : 0644);
	if (out < 0)
		return fail_errno(cs, "create", rel);
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno(cs, "read", rel);
		}
		if (n == 0)
			break;
		copied += (uint64_t)n;
		/* the file may grow while we copy it: the limit holds on bytes read */
		if (cs->o->max_file_bytes && copied > cs->o->max_file_bytes)
			return fail(cs, WORKSPACE_INVALID, EFBIG, "%s grew over the limit of %llu bytes", rel,
			            (unsigned long long)cs->o->max_file_bytes);
		if (tj_write_all(out, buf, (size_t)n) < 0)
			return fail_errno(cs, "write", rel);
	}
	if (cs->o->uid != (uid_t)-1 && fchown(out, cs->o->uid, cs->o->gid) < 0)
		return fail_errno(cs, "chown", rel);
	return 0;
}

static int copy_dir(struct copy_state *cs, int sdir, int ddir, const char *rel, uint64_t depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	int dupfd;
	struct dirent *de;

	if (cs->o->max_depth && depth > cs->o->max_depth)
		return fail(cs, WORKSPACE_INVALID, ELOOP, "%s is nested deeper than %llu directories", rel,
		            (unsigned long long)cs->o->max_depth);
	dupfd = fcntl(sdir, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0 || !(d = fdopendir(dupfd))) {
		if (dupfd >= 0)
			close(dupfd);
		return fail_errno(cs, "read directory", *rel ? rel : ".");
	}
	while ((errno = 0, de = readdir(d))) {
		char crel[PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(crel, sizeof(crel), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(crel))
			return fail(cs, WORKSPACE_INVALID, ENAMETOOLONG, "path too long: %s", crel);
		if (fstatat(sdir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			struct stat self;
			/* a directory we may list but not search */
			if (denied(errno) && fstat(sdir, &self) == 0)
				return unreadable(cs, rel, true, self.st_mode);
			return fail_errno(cs, "stat", crel);
		}
		if (cs->o->exclude && cs->o->exclude(crel, &st, cs->o->ctx))
			continue;
		if (++cs->files > cs->o->max_files && cs->o->max_files)
			return fail(cs, WORKSPACE_INVALID, EMFILE,
			            "the upload has more than %llu entries (at %s)",
			            (unsigned long long)cs->o->max_files, crel);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s2 = -1, d2 = -1;
			if (mkdirat(ddir, de->d_name, 0755) < 0)
				return fail_errno(cs, "mkdir", crel);
			struct stat dst;
			s2 = open_beneath(cs->root, crel, O_RDONLY | O_DIRECTORY);
			d2 = openat(ddir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 && denied(errno))
				return unreadable(cs, crel, true, st.st_mode);
			if (s2 < 0 || d2 < 0)
				return fail_errno(cs, "open directory", crel);
			if (fstat(s2, &dst) < 0 || dst.st_ino != st.st_ino || dst.st_dev != st.st_dev)
				return fail(cs, WORKSPACE_INVALID, EPERM, "%s changed while it was copied",
				            crel);
			if (cs->o->uid != (uid_t)-1 && fchown(d2, cs->o->uid, cs->o->gid) < 0)
				return fail_errno(cs, "chown", crel);
			if (copy_dir(cs, s2, d2, crel, depth + 1) < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			if (copy_file(cs, ddir, de->d_name, crel, &st) < 0)
				return -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			_cleanup_close_ int lfd = open_beneath(cs->root, crel, O_PATH);
			struct stat lst;
			ssize_t n;
			if (lfd < 0)
				return fail_errno(cs, "open", crel);
			if (fstat(lfd, &lst) < 0 || !S_ISLNK(lst.st_mode) || lst.st_ino != st.st_ino)
				return fail(cs, WORKSPACE_INVALID, EPERM, "%s changed while it was copied",
				            crel);
			n = readlinkat(lfd, "", target, sizeof(target) - 1);
			if (n < 0)
				return fail_errno(cs, "readlink", crel);
			target[n] = '\0';
			if (!link_resolves_inside(cs->root, rel, target))
				return fail(cs, WORKSPACE_INVALID, EXDEV,
				            "%s is a symlink that leaves the upload (-> %s)", crel, target);
			if (symlinkat(target, ddir, de->d_name) < 0)
				return fail_errno(cs, "symlink", crel);
			if (cs->o->uid != (uid_t)-1 &&
			    fchownat(ddir, de->d_name, cs->o->uid, cs->o->gid, AT_SYMLINK_NOFOLLOW) < 0)
				return fail_errno(cs, "chown", crel);
		} else {
			return fail(cs, WORKSPACE_INVALID, EPERM,
			            "%s is not a regular file, directory or symlink", crel);
		}
	}
	if (errno)
		return fail_errno(cs, "read directory", *rel ? rel : ".");
	return 0;
}

int workspace_copy(const char *src_dir, const char *dst_dir, const struct workspace_copy_opts *opts,
                   enum workspace_failure *kind, struct tj_error *err)
{
	struct copy_state cs = {.o = opts, .kind = WORKSPACE_OK, .err = err};
	_cleanup_close_ int s = -1, d = -1;
	int rc = 0;

	s = open(src_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s < 0) {
		struct stat st;
		if (denied(errno) && stat(src_dir, &st) == 0)
			rc = unreadable(&cs, "", true, st.st_mode);
		else
			rc = fail_errno(&cs, "open upload", src_dir);
		goto out;
	}
	cs.root = s;
	d = open(dst_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		rc = fail_errno(&cs, "open workspace", dst_dir);
		goto out;
	}
	rc = copy_dir(&cs, s, d, "", 1);
	/* A hardlink whose other names are outside the tree carries content the
	 * upload does not own (e.g. a link to a host file on the same volume). */
	for (size_t i = 0; rc == 0 && i < cs.n_links; i++)
		if (cs.links[i].seen < cs.links[i].nlink)
			rc = fail(&cs, WORKSPACE_INVALID, EXDEV,
			          "%s is a hardlink to a file outside the upload", cs.links[i].rel);
out:
	for (size_t i = 0; i < cs.n_links; i++)
		free(cs.links[i].rel);
	free(cs.links);
	if (kind)
		*kind = cs.kind;
	return rc;
}
