/* tfjail version: tfjail's version, the terraform it found (asked inside a
 * sandbox) and the cgroup layout it detected. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "executor/job.h"
#include "policy/policy.h"
#include "runtime/sandbox.h"

int cmd_version(int argc, char **argv)
{
	struct tj_policy *policy = NULL;
	struct sandbox_runtime *rt = NULL;
	struct job_tools tools;
	struct tj_error err = {0};
	char version[64];

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("Usage: tfjail version\n\nPrints tfjail's version, the terraform binary and provider mirror it\n"
		     "found, terraform's version (asked inside a sandbox, so root is needed for it) and\n"
		     "the cgroup layout of this host.");
		return TJ_EXIT_OK;
	}
	printf("tfjail %s\n", TFJAIL_VERSION);
	if (tj_policy_load(NULL, &policy, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (job_tools_discover(policy, &tools, &err) < 0) {
		printf("terraform: not found (%s)\n", err.msg);
		tj_policy_free(policy);
		return TJ_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		printf("terraform %s (version not checked: it is only run inside a sandbox, which needs root)\n",
		       tools.terraform);
	} else if (job_runtime_open(policy, &rt, &err) < 0) {
		printf("terraform %s (version unknown: %s)\n", tools.terraform, err.msg);
	} else {
		if (job_terraform_version(rt, &tools, version, sizeof(version), &err) == 0)
			printf("terraform %s (%s)\n", version, tools.terraform);
		else
			printf("terraform %s (version unknown: %s)\n", tools.terraform, err.msg);
		printf("provider mirror %s\n", tools.plugin_dir);
		printf("cgroups: %s\n", sandbox_runtime_cgroup_describe(rt));
	}
	sandbox_runtime_free(rt);
	tj_policy_free(policy);
	return TJ_EXIT_OK;
}
