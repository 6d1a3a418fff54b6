/* What of the upload the workspace copy leaves out. */
#include "executor/job.h"

#include <string.h>

bool job_upload_excluded(const char *rel)
{
	const char *base = strrchr(rel, '/');

	base = base ? base + 1 : rel;
	/* each of these changes what terraform installs or executes: THREATS 3, 4, 5, 13 */
	return strcmp(base, ".terraform") == 0 || strcmp(base, "terraform.d") == 0 ||
	       strcmp(base, ".terraform.lock.hcl") == 0 || strstr(base, ".tfstate") != NULL ||
	       strcmp(base, ".terraformrc") == 0 || strcmp(base, "terraform.rc") == 0;
}

bool job_upload_exclude_cb(const char *rel, const struct stat *st, void *ctx)
{
	(void)st;
	(void)ctx;
	return job_upload_excluded(rel);
}
