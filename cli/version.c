/* tfjail version: tfjail's version, the terraform it found (asked inside a
 * sandbox) and the cgroup layout it detected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "executor/job.h"
#include "policy/policy.h"
#include "runtime/sandbox.h"

static const struct option version_options[] = {
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static const struct cli_command version_command = {
    .name = "version",
    .options = version_options,
    .usage = "Usage: tfjail version [--output text|json]\n"
             "       tfjail --version | -v\n\n"
             "Prints tfjail's version, the terraform binary and provider mirror it found,\n"
             "terraform's version (asked inside a sandbox, so root is needed for it) and the\n"
             "cgroup layout of this host.\n\n"
             "Options:\n"
             "  --output text|json     json: {\"tfjail\":\"X.Y.Z\",\"terraform\":{\"path\",\"version\"},\n"
             "                         \"provider_mirror\",\"cgroups\"} (null where unknown)\n\n"
             "Exit status: 0, 2 when no terraform binary was found or on a usage error.\n",
};

/* What `version` found; NULL members are unknown. */
struct version_info {
	const char *terraform_path;
	const char *terraform_version;
	const char *plugin_dir;
	const char *cgroups;
	const char *note; /* why the terraform version is unknown */
};

static int print_json(const struct version_info *v)
{
	cJSON *j = cJSON_CreateObject(), *tf;
	char *s;

	if (!j)
		return -1;
	cJSON_AddStringToObject(j, "tfjail", TFJAIL_VERSION);
	if (v->terraform_path) {
		tf = cJSON_AddObjectToObject(j, "terraform");
		cJSON_AddStringToObject(tf, "path", v->terraform_path);
		if (v->terraform_version)
			cJSON_AddStringToObject(tf, "version", v->terraform_version);
		else
			cJSON_AddNullToObject(tf, "version");
	} else {
		cJSON_AddNullToObject(j, "terraform");
	}
	if (v->plugin_dir)
		cJSON_AddStringToObject(j, "provider_mirror", v->plugin_dir);
	else
		cJSON_AddNullToObject(j, "provider_mirror");
	if (v->cgroups)
		cJSON_AddStringToObject(j, "cgroups", v->cgroups);
	else
		cJSON_AddNullToObject(j, "cgroups");
	if (v->note)
		cJSON_AddStringToObject(j, "note", v->note);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return -1;
	puts(s);
	free(s);
	return 0;
}

static void print_text(const struct version_info *v)
{
	printf("tfjail %s\n", TFJAIL_VERSION);
	if (!v->terraform_path) {
		printf("terraform: not found (%s)\n", v->note);
		return;
	}
	if (v->terraform_version)
		printf("terraform %s (%s)\n", v->terraform_version, v->terraform_path);
	else
		printf("terraform %s (version %s)\n", v->terraform_path, v->note);
	if (v->plugin_dir)
		printf("provider mirror %s\n", v->plugin_dir);
	if (v->cgroups)
		printf("cgroups: %s\n", v->cgroups);
}

int cmd_version(int argc, char **argv)
{
	struct tj_policy *policy = NULL;
	struct sandbox_runtime *rt = NULL;
	struct job_tools tools;
	struct job_host host;
	struct tj_error err = {0};
	struct version_info v = {0};
	char version[64], note[512];
	bool json = false;
	struct cli_args a;
	int opt, rc = TJ_EXIT_OK;

	cli_args_init(&a, &version_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'o':
			if (strcmp(a.value, "json") != 0 && strcmp(a.value, "text") != 0)
				return cli_bad_value(&a, "text or json");
			json = strcmp(a.value, "json") == 0;
			break;
		}
	}
	if (tj_policy_load(NULL, &policy, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (cli_host_settings(&(struct cli_host_values){0}, &host, &err) < 0 ||
	    job_tools_discover(policy, &host, &tools, &err) < 0) {
		snprintf(note, sizeof(note), "%s", err.msg);
		v.note = note;
		rc = TJ_EXIT_USAGE;
	} else {
		v.terraform_path = tools.terraform;
		if (geteuid() != 0) {
			v.note = "not checked: it is only run inside a sandbox, which needs root";
		} else if (job_runtime_open(policy, &host, &rt, &err) < 0) {
			snprintf(note, sizeof(note), "unknown: %s", err.msg);
			v.note = note;
		} else {
			if (job_terraform_version(rt, &tools, version, sizeof(version), &err) == 0) {
				v.terraform_version = version;
			} else {
				snprintf(note, sizeof(note), "unknown: %s", err.msg);
				v.note = note;
			}
			v.plugin_dir = tools.plugin_dir;
			v.cgroups = sandbox_runtime_cgroup_describe(rt);
		}
	}
	if (json) {
		if (print_json(&v) < 0)
			rc = cli_usage_error("version: out of memory");
	} else {
		print_text(&v);
	}
	sandbox_runtime_free(rt);
	tj_policy_free(policy);
	return rc;
}
