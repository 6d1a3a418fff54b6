/* tfjail scan DIR [--policy FILE] [--output text|json] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "policy/policy.h"
#include "policy/scan.h"

static void scan_usage(FILE *f)
{
	fputs("Usage: tfjail scan DIR [--policy FILE] [--output text|json]\n\n"
	      "Static policy scan of a Terraform upload: no sandbox, no terraform.\n"
	      "Reads the files terraform would load (*.tf, *.tf.json, override files) and the\n"
	      "local modules they call, and reports every policy violation with its file and line.\n\n"
	      "  --policy FILE   policy to apply (default: the built-in default policy)\n"
	      "  --output FMT    text (default) or json: {\"violations\":[...],\"files_scanned\":N}\n\n"
	      "Exit status: 0 no error-severity violation, 1 violations found, 2 usage or policy error.\n",
	      f);
}

int cmd_scan(int argc, char **argv)
{
	const char *dir = NULL, *policy_path = NULL, *output = "text";
	struct tj_policy *p = NULL;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			scan_usage(stdout);
			return TJ_EXIT_OK;
		} else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
			policy_path = argv[++i];
		} else if (strncmp(argv[i], "--policy=", 9) == 0) {
			policy_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
			output = argv[++i];
		} else if (strncmp(argv[i], "--output=", 9) == 0) {
			output = argv[i] + 9;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("scan: unknown or incomplete option '%s' (see tfjail scan --help)", argv[i]);
		} else if (!dir) {
			dir = argv[i];
		} else {
			return cli_usage_error("scan: more than one directory given");
		}
	}
	if (!dir)
		return cli_usage_error("scan: missing DIR (see tfjail scan --help)");
	if (strcmp(output, "text") != 0 && strcmp(output, "json") != 0)
		return cli_usage_error("scan: --output must be text or json, not '%s'", output);
	if (tj_policy_load(policy_path, &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (tj_scan_dir(p, dir, &res, &err) < 0) {
		tj_policy_free(p);
		return cli_usage_error("%s", err.msg);
	}
	if (strcmp(output, "json") == 0) {
		cJSON *j = tj_scan_result_to_json(res);
		char *s = j ? cJSON_PrintUnformatted(j) : NULL;
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(j);
	} else {
		for (size_t i = 0; i < res->n; i++) {
			const struct tj_violation *v = &res->v[i];
			printf("%s:%d: %s [%s] %s\n", v->file, v->line, v->severity, v->rule, v->message);
		}
		for (size_t i = 0; i < res->n_suppressed; i++) {
			const struct tj_violation *v = &res->suppressed[i];
			printf("%s:%d: suppressed [%s] %s (policy: %s)\n", v->file, v->line, v->rule, v->message,
			       v->reason);
		}
		printf("%zu file%s scanned, %zu violation%s (policy %s)\n", res->files_scanned,
		       res->files_scanned == 1 ? "" : "s", res->n, res->n == 1 ? "" : "s", p->name);
	}
	rc = tj_scan_has_errors(res) ? TJ_EXIT_FAIL : TJ_EXIT_OK;
	if (fflush(stdout) != 0)
		rc = cli_usage_error("scan: cannot write the result");
	tj_scan_result_free(res);
	tj_policy_free(p);
	return rc;
}
