/* A policy mapped onto the sandbox runtime: the runtime's options, and the
 * limits every sandbox of a job (or of `tfjail run`) gets. */
#include "executor/job.h"

#include <errno.h>
#include <stdlib.h>

int job_host_parse_uid_range(const char *s, struct job_host *h, struct tj_error *err)
{
	char *end;
	unsigned long long base, slots;

	errno = 0;
	base = strtoull(s, &end, 10);
	if (*end != ':' || end == s || base < 65536 || errno)
		return tj_error_set(err, EINVAL, "uid range '%s': want BASE:SLOTS with BASE >= 65536", s);
	slots = strtoull(end + 1, &end, 10);
	if (*end || slots == 0 || errno || base + 2 * slots > 4294967294ull)
		return tj_error_set(err, EINVAL, "uid range '%s': want BASE:SLOTS within 32-bit uids", s);
	h->uid_base = (uid_t)base;
	h->uid_slots = (uint32_t)slots;
	return 0;
}

int job_runtime_open(const struct tj_policy *policy, const struct job_host *host, struct sandbox_runtime **rt,
                     struct tj_error *err)
{
	struct sandbox_runtime_options ro = {.cgroup = {.force_mode = -1}};

	if (host) {
		if (host->cgroup_parent && *host->cgroup_parent)
			ro.cgroup.parent = host->cgroup_parent;
		ro.uid_base = host->uid_base;
		ro.uid_slots = host->uid_slots;
	}
	ro.seccomp_deny = (const char *const *)policy->seccomp.deny;
	ro.n_seccomp_deny = policy->seccomp.n_deny;
	return sandbox_runtime_open(&ro, rt, err);
}

void job_sandbox_limits(const struct tj_policy *p, struct sandbox_config *cfg)
{
	cfg->copy_max_files = p->upload.max_files;
	cfg->copy_max_total_bytes = p->upload.max_total_bytes;
	cfg->copy_max_file_bytes = p->upload.max_file_bytes;
	cfg->copy_max_depth = p->upload.max_depth;
	cfg->memory_bytes = p->limits.memory_bytes;
	cfg->cpus = p->limits.cpus;
	cfg->pids = p->limits.pids;
	cfg->workspace_bytes = p->limits.workspace_bytes;
	cfg->tmp_bytes = p->limits.tmp_bytes;
	cfg->nofile = p->limits.nofile;
}
