/* What of the upload the workspace copy leaves out, and opening beneath it. */
#include "executor/job.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int job_upload_openat(int upload_fd, const char *rel, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, upload_fd, *rel ? rel : ".", &how, sizeof(how));
}
