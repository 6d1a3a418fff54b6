/* tfjail scan DIR [--policy FILE] [--output text|json|sarif|junit] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "policy/policy.h"
#include "policy/scan.h"

static const struct option scan_options[] = {
    {"policy", required_argument, NULL, 'P'},
    {"output", required_argument, NULL, 'o'},
    {"workdir", required_argument, NULL, 'w'},
    {NULL, 0, NULL, 0},
};

static const char *const scan_operands[] = {"DIR", NULL};

static const struct cli_command scan_command = {
    .name = "scan",
    .options = scan_options,
    .operands = scan_operands,
    .min_operands = 1,
    .usage = "Usage: tfjail scan DIR [--policy FILE] [--workdir SUBDIR] [--output text|json|sarif|junit]\n\n"
             "Static policy scan of a Terraform upload: no sandbox, no terraform.\n"
             "Reads the files terraform would load (*.tf, *.tf.json, override files) and the\n"
             "local modules they call, and reports every policy violation with its file and line.\n\n"
             "Options:\n"
             "  --policy FILE          policy to apply (default: the built-in default policy)\n"
             "  --workdir SUBDIR       the root module is DIR/SUBDIR (as plan --workdir); the upload\n"
             "                         limits still cover the whole of DIR\n"
             "  --output FORMAT        text (default), json ({\"violations\":[...],\"files_scanned\":N}),\n"
             "                         sarif (SARIF 2.1.0) or junit (JUnit XML, one test case per rule)\n\n"
             "Exit status: 0 no error-severity violation (warnings are listed, exit 0), 1 violations\n"
             "of severity error, 2 usage or policy error.\n",
};

int cmd_scan(int argc, char **argv)
{
	const char *dir, *policy_path = NULL, *workdir = NULL;
	enum cli_format format = CLI_FORMAT_TEXT;
	struct tj_policy *p = NULL;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	int opt, rc;

	cli_args_init(&a, &scan_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'P': policy_path = a.value; break;
		case 'w': workdir = a.value; break;
		case 'o':
			if (cli_parse_format(a.value,
			                     CLI_FORMAT_TEXT | CLI_FORMAT_JSON | CLI_FORMAT_SARIF |
			                         CLI_FORMAT_JUNIT,
			                     &format) < 0)
				return cli_bad_value(&a, "text, json, sarif or junit");
			break;
		}
	}
	dir = a.operand[0];
	if (tj_policy_load(policy_path, &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (tj_scan_dir_at(p, dir, workdir, &res, &err) < 0) {
		tj_policy_free(p);
		return cli_usage_error("%s: %s", dir, err.msg);
	}
	if (format == CLI_FORMAT_JSON) {
		cJSON *j = tj_scan_result_to_json(res);
		char *s = j ? cJSON_PrintUnformatted(j) : NULL;
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(j);
	} else if (cli_print_findings(res, p, format, "scan") == 0 && format == CLI_FORMAT_TEXT) {
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
