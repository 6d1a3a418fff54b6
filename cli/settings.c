/* The host settings of every subcommand (executor/job.h struct job_host):
 * the service's configuration file first, then the documented environment
 * overrides, which are read here and nowhere else in tfjail. */
#include <stddef.h>
#include <stdlib.h>

#include "cli/common.h"

static const struct {
	const char *env;
	size_t off;
} overrides[] = {
    {"TFJAIL_TERRAFORM", offsetof(struct cli_host_values, terraform)},
    {"TFJAIL_PLUGIN_DIR", offsetof(struct cli_host_values, plugin_dir)},
    {"TFJAIL_CGROUP_PARENT", offsetof(struct cli_host_values, cgroup_parent)},
    {"TFJAIL_UID_RANGE", offsetof(struct cli_host_values, uid_range)},
};

int cli_host_settings(struct cli_host_values *v, struct job_host *h, struct tj_error *err)
{
	const char *range_source = "uid_range";

	for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
		const char *e = getenv(overrides[i].env);
		if (e && *e) {
			*(const char **)((char *)v + overrides[i].off) = e;
			if (overrides[i].off == offsetof(struct cli_host_values, uid_range))
				range_source = "TFJAIL_UID_RANGE";
		}
	}
	*h = (struct job_host){
	    .terraform = v->terraform, .plugin_dir = v->plugin_dir, .cgroup_parent = v->cgroup_parent};
	if (v->uid_range && job_host_parse_uid_range(v->uid_range, h, err) < 0)
		return tj_error_prefix(err, "%s", range_source);
	return 0;
}
