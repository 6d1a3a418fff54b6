/* tfjail plan: the whole job pipeline on a directory. */
#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/util.h"
#include "executor/job.h"
#include "policy/policy.h"
#include "rootfs/rootfs.h"
#include "runtime/sandbox.h"

#define MAX_VARS      256
#define MAX_VAR_FILES 6

static const struct option plan_options[] = {
    {"policy", required_argument, NULL, 'P'},   {"var", required_argument, NULL, 'v'},
    {"var-file", required_argument, NULL, 'f'}, {"workdir", required_argument, NULL, 'w'},
    {"timeout", required_argument, NULL, 't'},  {"job-id", required_argument, NULL, 'j'},
    {"output", required_argument, NULL, 'o'},   {"quiet", no_argument, NULL, 'q'},
    {"progress", no_argument, NULL, 'p'},       {NULL, 0, NULL, 0},
};

static const char *const plan_operands[] = {"DIR", NULL};

static const struct cli_command plan_command = {
    .name = "plan",
    .options = plan_options,
    .operands = plan_operands,
    .min_operands = 1,
    .shortopts = "q",
    .usage = "Usage: tfjail plan DIR [OPTIONS]\n\n"
             "Runs the job pipeline on the Terraform upload in DIR: the static policy scan, then\n"
             "terraform init, plan and show -json inside one sandbox, then the policy's plan\n"
             "rules on the plan.  DIR is never written.\n\n"
             "Options:\n"
             "  --policy FILE          policy file (default: the built-in policy/default.json)\n"
             "  --var NAME=VALUE       a string variable; repeatable\n"
             "  --var-file FILE        a .tfvars or .tfvars.json file; repeatable (at most 6)\n"
             "  --workdir SUBDIR       run terraform in DIR/SUBDIR (the whole of DIR is copied)\n"
             "  --timeout SECONDS      job time limit (default: the policy's limits.job_timeout)\n"
             "  --job-id ID            job id in the result (default: generated)\n"
             "  --output FORMAT        text (default: status, violations, the resource addresses by\n"
             "                         action), json (exactly one ExecutionResponse object), sarif\n"
             "                         (SARIF 2.1.0 of the violations) or junit\n"
             "  --progress             show each step on stderr as it starts and ends (the default\n"
             "                         when stderr is a terminal)\n"
             "  -q, --quiet            no progress on stderr\n\n"
             "Variables given here override the upload's terraform.tfvars and *.auto.tfvars:\n"
             "--var-file files in the order given, then --var values.\n\n"
             "Exit status: 0 SUCCESS (warnings included), 1 FAILED or TIMEOUT, 2 usage, policy or\n"
             "prerequisite error.\n",
};

/* The resource addresses of the plan, by action, in the plan's order. */
static void print_addresses(const cJSON *plan)
{
	static const struct {
		const char *action, *mark;
	} order[] = {{"create", "+"}, {"update", "~"}, {"replace", "-/+"}, {"delete", "-"}, {"read", "<="}};
	const cJSON *rc;

	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		cJSON_ArrayForEach (rc, cJSON_GetObjectItemCaseSensitive(plan, "resource_changes")) {
			const cJSON *acts = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(rc, "change"), "actions");
			const char *a0 = cJSON_GetStringValue(cJSON_GetArrayItem(acts, 0));
			const char *action = cJSON_GetArraySize(acts) == 2 ? "replace" : a0 ? a0 : "";
			if (strcmp(action, order[k].action) == 0)
				printf("  %-3s %-7s %s\n", order[k].mark, action,
				       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc, "address")));
		}
}

static void print_text(const cJSON *r)
{
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "status"));
	const char *etype = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error_type"));
	const char *emsg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error_message"));
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(r, "summary");
	const cJSON *v;

	printf("%s %s in %.2f s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "job_id")),
	       status, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "execution_time_seconds")));
	if (etype)
		printf("%s: %s\n", etype, emsg ? emsg : "");
	cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive(r, "violations"))
		printf("  %s:%d: %s [%s, %s]\n",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "file")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(v, "line")),
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "message")),
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "rule")),
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "severity")));
	if (cJSON_IsObject(sum)) {
		printf("Plan: %d to create, %d to update, %d to replace, %d to delete, %d to read, %d "
		       "unchanged.\n",
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "create")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "update")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "replace")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "delete")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "read")),
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(sum, "no_op")));
		const cJSON *pj = cJSON_GetObjectItemCaseSensitive(r, "plan_json");
		/* the response carries terraform's bytes as a raw item */
		cJSON *parsed = cJSON_IsRaw(pj) ? cJSON_Parse(pj->valuestring) : NULL;
		print_addresses(parsed ? parsed : pj);
		cJSON_Delete(parsed);
		printf("plan sha256: %s\n",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "plan_sha256")));
	}
}

/* Progress on stderr: "tfjail: plan: init ..." as a step starts,
 * "tfjail: plan: init done in 3.1 s" (or "failed") as it ends. */
static void show_step(void *ctx, const char *step, bool done, int exit_code, uint64_t ms)
{
	(void)ctx;
	if (!done)
		fprintf(stderr, "tfjail: plan: %s ...\n", step);
	else
		fprintf(stderr, "tfjail: plan: %s %s in %.1f s\n", step, exit_code == 0 ? "done" : "failed",
		        (double)ms / 1000.0);
}

int cmd_plan(int argc, char **argv)
{
	const char *policy_path = NULL, *workdir = NULL, *job_id = NULL, *dir = NULL;
	const char *var_files[MAX_VAR_FILES];
	struct job_var vars[MAX_VARS];
	size_t n_vars = 0, n_var_files = 0;
	uint64_t timeout_s = 0;
	enum cli_format format = CLI_FORMAT_TEXT;
	int progress = -1; /* -1: when stderr is a terminal */
	struct tj_policy *policy = NULL;
	struct sandbox_runtime *rt = NULL;
	struct job_tools tools;
	struct job_host host;
	struct tj_error err = {0};
	cJSON *resp = NULL;
	char real_dir[PATH_MAX];
	struct cli_args a;
	int opt, rc = TJ_EXIT_USAGE;

	cli_args_init(&a, &plan_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'P': policy_path = a.value; break;
		case 'v': {
			char *eq = strchr(a.value, '=');
			if (!eq || eq == a.value)
				return cli_bad_value(&a, "NAME=VALUE");
			if (n_vars >= MAX_VARS)
				return cli_command_error(&plan_command, "at most %d --var options", MAX_VARS);
			*eq = '\0';
			vars[n_vars++] = (struct job_var){a.value, eq + 1};
			break;
		}
		case 'f':
			if (n_var_files >= MAX_VAR_FILES)
				return cli_command_error(&plan_command, "at most %d --var-file options",
				                         MAX_VAR_FILES);
			var_files[n_var_files++] = a.value;
			break;
		case 'w': workdir = a.value; break;
		case 't':
			if (tj_parse_u64(a.value, 7 * 24 * 3600, &timeout_s) < 0 || timeout_s == 0)
				return cli_bad_value(&a, "a number of seconds between 1 and 604800");
			break;
		case 'j':
			if (!job_id_valid(a.value))
				return cli_bad_value(&a, "1-128 characters of [A-Za-z0-9._-]");
			job_id = a.value;
			break;
		case 'o':
			if (cli_parse_format(a.value,
			                     CLI_FORMAT_TEXT | CLI_FORMAT_JSON | CLI_FORMAT_SARIF |
			                         CLI_FORMAT_JUNIT,
			                     &format) < 0)
				return cli_bad_value(&a, "text, json, sarif or junit");
			break;
		case 'q': progress = 0; break;
		case 'p': progress = 1; break;
		}
	}
	dir = a.operand[0];
	{
		struct stat st;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !realpath(dir, real_dir))
			return cli_usage_error("plan: %s is not a readable directory", dir);
	}
	if (workdir) {
		char abs[PATH_MAX];
		snprintf(abs, sizeof(abs), "/%s", workdir);
		if (!*workdir || !rootfs_path_is_clean(abs))
			return cli_usage_error(
			    "plan: --workdir wants a relative path inside DIR without '..', not '%s'",
			    workdir);
	}
	if (tj_policy_load(policy_path, &policy, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (cli_host_settings(&(struct cli_host_values){0}, &host, &err) < 0 ||
	    job_tools_discover(policy, &host, &tools, &err) < 0) {
		rc = cli_usage_error("%s", err.msg);
		goto out;
	}
	if (job_runtime_open(policy, &host, &rt, &err) < 0) {
		rc = cli_usage_error("%s", err.msg);
		goto out;
	}
	{
		struct job_request req = {
		    .job_id = job_id,
		    .upload_dir = real_dir,
		    .upload_fd = -1, /* job_run opens it once */
		    .workdir = workdir,
		    .policy = policy,
		    .var_files = var_files,
		    .n_var_files = n_var_files,
		    .vars = vars,
		    .n_vars = n_vars,
		    .timeout_s = timeout_s,
		    .on_step = (progress < 0 ? isatty(2) : progress) ? show_step : NULL,
		};
		const char *status;
		cli_cancel_on_signals();
		if (job_run(rt, &tools, &req, &resp, &err) < 0) {
			rc = cli_usage_error("%s", err.msg);
			goto out;
		}
		if (format == CLI_FORMAT_JSON) {
			char *text = cJSON_PrintUnformatted(resp);
			if (!text) {
				rc = cli_usage_error("out of memory printing the result");
				goto out;
			}
			puts(text);
			free(text);
		} else if (format == CLI_FORMAT_TEXT) {
			print_text(resp);
		} else if (cli_print_report(cJSON_GetObjectItemCaseSensitive(resp, "violations"), NULL,
		                            policy, format, "plan") < 0) {
			rc = cli_usage_error("plan: cannot write the result");
			goto out;
		}
		status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "status"));
		rc = status && strcmp(status, "SUCCESS") == 0 ? TJ_EXIT_OK : TJ_EXIT_FAIL;
	}
out:
	cJSON_Delete(resp);
	sandbox_runtime_free(rt);
	tj_policy_free(policy);
	return rc;
}
