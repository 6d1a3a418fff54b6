/* What of the upload the workspace copy leaves out. */
#include "executor/job.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

bool job_upload_excluded(const char *rel, bool keep_lock_file)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	/* each of these changes what terraform installs or executes: THREATS 3, 4, 5, 13 */
	return strcmp(base, ".terraform") == 0 || strcmp(base, "terraform.d") == 0 ||
	       (!keep_lock_file && strcmp(base, ".terraform.lock.hcl") == 0) ||
	       strstr(base, ".tfstate") != NULL || strcmp(base, ".terraformrc") == 0 ||
	       strcmp(base, "terraform.rc") == 0;
}

bool job_upload_exclude_cb(const char *rel, const struct stat *st, void *ctx)
{
	const struct tj_policy *p = ctx;

	(void)st;
	return job_upload_excluded(rel, p && p->providers.lock_file == TJ_LOCK_FILE_HONOR);
}

/* The workspace copy reads the upload as the sandbox's unprivileged uid,
 * which is "other" to every file of it: each file it copies needs o+r, each
 * directory o+rx.  Checked here, as root, so that the job can name the path
 * (relative to the upload) and the fix, instead of failing inside the
 * sandbox setup. */
static int find_unreadable(int dirfd, const char *rel, unsigned depth, unsigned max_depth, char *out,
                           size_t len, mode_t *mode)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (depth > max_depth)
		return 0; /* the scan reports the depth */
	fd = dup(dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		_cleanup_close_ int sub = -1;
		int rc;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		    (int)sizeof(path))
			continue; /* the scan reports the length */
		if (job_upload_excluded(path, true) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && !(st.st_mode & S_IROTH)) {
			snprintf(out, len, "%s", path);
			*mode = st.st_mode & 07777;
			return 1;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if ((st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)) {
			snprintf(out, len, "%s/", path);
			*mode = st.st_mode & 07777;
			return 1;
		}
		sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0 && (rc = find_unreadable(sub, path, depth + 1, max_depth, out, len, mode)) != 0)
			return rc;
	}
	return 0;
}

int job_upload_openat(int upload_fd, const char *rel, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, upload_fd, *rel ? rel : ".", &how, sizeof(how));
}

int job_upload_unreadable(int upload_fd, unsigned max_depth, char *rel, size_t len, mode_t *mode)
{
	_cleanup_close_ int root = job_upload_openat(upload_fd, "", O_RDONLY | O_DIRECTORY);
	struct stat st;

	if (root < 0 || fstat(root, &st) < 0)
		return -1;
	if ((st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)) {
		snprintf(rel, len, "./");
		*mode = st.st_mode & 07777;
		return 1;
	}
	return find_unreadable(root, "", 1, max_depth, rel, len, mode);
}
