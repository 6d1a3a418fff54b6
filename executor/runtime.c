/* A policy mapped onto the sandbox runtime: the runtime's options, and the
 * limits every sandbox of a job (or of `tfjail run`) gets. */
#include "executor/job.h"

#include <stdlib.h>

int job_runtime_open(const struct tj_policy *policy, struct sandbox_runtime **rt, struct tj_error *err)
{
	struct sandbox_runtime_options ro = {.cgroup = {.force_mode = -1}};
	const char *parent = getenv("TFJAIL_CGROUP_PARENT");

	if (parent && *parent)
		ro.cgroup.parent = parent;
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
