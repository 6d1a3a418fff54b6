/* tfjail policy check | show | test | diff */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli/cli.h"
#include "cli/common.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "executor/mirror.h"
#include "policy/plancheck.h"
#include "policy/policydiff.h"
#include "policy/policy.h"
#include "policy/scan.h"

static const char policy_usage[] =
    "Usage: tfjail policy check FILE [--output text|json]\n"
    "       tfjail policy show [FILE]\n"
    "       tfjail policy test POLICY PLAN.json [--dir DIR] [--output text|json|sarif|junit]\n"
    "       tfjail policy diff OLD NEW [--output text|json]\n\n"
    "check  validates a policy file: every error with its JSON path, and warnings about\n"
    "       likely mistakes.\n"
    "show   prints the effective policy (defaults filled in, every rule with its\n"
    "       severity and rationale) as JSON; without FILE, the built-in default.\n"
    "test   judges a saved plan (terraform show -json) with the policy's plan rules.\n"
    "diff   what NEW allows or forbids that OLD did not.\n\n"
    "`tfjail policy SUBCOMMAND --help` describes a subcommand.\n\n"
    "Exit status: 0 valid / nothing found, 1 test: error-severity violations, diff: NEW allows\n"
    "more, 2 usage error or invalid policy.\n";

static const struct option output_option[] = {
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static const char *const file_operand[] = {"FILE", NULL};

static const struct cli_command check_command = {
    .name = "policy check",
    .options = output_option,
    .operands = file_operand,
    .min_operands = 1,
    .usage = "Usage: tfjail policy check FILE [--output text|json]\n\n"
             "Validates a policy file and reports every error in one pass, each as\n"
             "FILE: JSON.PATH: error: why, then warnings about likely mistakes (a providers.allowed\n"
             "without the built-in terraform provider, a suppression of every file, ...).\n\n"
             "Options:\n"
             "  --output text|json     json: {\"file\",\"valid\",\"errors\":[{\"path\",\"message\"}],\n"
             "                         \"warnings\":[...]}\n\n"
             "Exit status: 0 valid (warnings included), 2 usage error, unreadable or invalid policy.\n",
};

static const struct cli_command show_command = {
    .name = "policy show",
    .operands = file_operand,
    .min_operands = 0,
    .usage = "Usage: tfjail policy show [FILE]\n\n"
             "Prints the effective policy (defaults filled in, every rule with its severity and\n"
             "rationale) as JSON; without FILE, the built-in default.  With a module mirror\n"
             "(modules.mirror), modules.mirror_contents lists what it holds.\n\n"
             "Exit status: 0, 2 usage error or invalid policy.\n",
};

static const struct option test_options[] = {
    {"dir", required_argument, NULL, 'd'},
    {"workdir", required_argument, NULL, 'w'},
    {"output", required_argument, NULL, 'o'},
    {NULL, 0, NULL, 0},
};

static const char *const test_operands[] = {"POLICY", "PLAN.json", NULL};

static const struct cli_command test_command = {
    .name = "policy test",
    .options = test_options,
    .operands = test_operands,
    .min_operands = 2,
    .usage = "Usage: tfjail policy test POLICY PLAN.json [--dir DIR [--workdir SUBDIR]]\n"
             "                          [--output text|json|sarif|junit]\n\n"
             "Judges a saved plan (the output of terraform show -json, or a whole result of\n"
             "tfjail plan --output json, whose plan_json is judged) with the plan rules of POLICY,\n"
             "without a sandbox or terraform.  With --dir, the configuration the plan was made\n"
             "from (the upload, terraform run in SUBDIR of it) gives each violation its file and\n"
             "line.\n\n"
             "Options:\n"
             "  --dir DIR              the upload the plan was made from\n"
             "  --workdir SUBDIR       the root module's directory inside DIR\n"
             "  --output FORMAT        text (default), json ({\"violations\":[...]}), sarif (2.1.0),\n"
             "                         junit\n\n"
             "Exit status: 0 no error-severity violation (warnings are listed, exit 0), 1 violations\n"
             "of severity error, 2 usage error, invalid policy or unreadable plan.\n",
};

static int policy_test(int argc, char **argv)
{
	struct tj_policy *p = NULL;
	struct tj_scan_result *scan = NULL, *res = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	_cleanup_free_ char *plan = NULL;
	const char *dir = NULL, *workdir = "";
	enum cli_format format = CLI_FORMAT_TEXT;
	size_t len;
	int opt, rc = TJ_EXIT_USAGE;

	cli_args_init(&a, &test_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'd': dir = a.value; break;
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
	if (tj_policy_load(a.operand[0], &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (tj_read_file(a.operand[1], 1u << 30, &plan, &len, &err) < 0) {
		rc = cli_usage_error("policy test: %s", err.msg);
		goto out;
	}
	if (dir && tj_scan_dir_at(p, dir, workdir, &scan, &err) < 0) {
		rc = cli_usage_error("policy test: %s: %s", dir, err.msg);
		goto out;
	}
	if (tj_plan_check(p, plan, len, scan ? scan->locs : NULL, scan ? scan->n_locs : 0, workdir, &res,
	                  &err) < 0) {
		rc = cli_usage_error("policy test: %s: %s", a.operand[1], err.msg);
		goto out;
	}
	if (cli_print_findings(res, p, format, "policy test") < 0) {
		rc = cli_usage_error("policy test: cannot write the result");
		goto out;
	}
	if (format == CLI_FORMAT_TEXT)
		printf("%zu violation%s, %zu suppressed (policy %s)\n", res->n, res->n == 1 ? "" : "s",
		       res->n_suppressed, p->name);
	rc = tj_scan_has_errors(res) ? TJ_EXIT_FAIL : TJ_EXIT_OK;
out:
	tj_scan_result_free(res);
	tj_scan_result_free(scan);
	tj_policy_free(p);
	return rc;
}

static const char *const diff_operands[] = {"OLD", "NEW", NULL};

static const struct cli_command diff_command = {
    .name = "policy diff",
    .options = output_option,
    .operands = diff_operands,
    .min_operands = 2,
    .usage = "Usage: tfjail policy diff OLD NEW [--output text|json]\n\n"
             "What NEW allows or forbids that OLD did not, key by key, on the effective\n"
             "policies (defaults filled in): one line per difference, starting with\n"
             "  allows   NEW permits what OLD refused (a provider added to providers.allowed, a\n"
             "           data source removed from data_sources.denied, a larger limit, a rule\n"
             "           relaxed, a suppression added, a plan rule removed)\n"
             "  forbids  the reverse\n"
             "  changes  neither (name, description, paths)\n\n"
             "Options:\n"
             "  --output text|json     json: [{\"effect\",\"path\",\"old\",\"new\",\"what\"}...]\n\n"
             "Exit status: 0 NEW allows nothing that OLD refused, 1 NEW allows more (a review is\n"
             "due), 2 usage error or an invalid policy.\n",
};

static int policy_diff(int argc, char **argv)
{
	struct tj_policy *o = NULL, *n = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	cJSON *d = NULL;
	const cJSON *e;
	bool json = false, allows = false;
	int opt, rc = TJ_EXIT_USAGE;

	cli_args_init(&a, &diff_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'o':
			if (strcmp(a.value, "text") != 0 && strcmp(a.value, "json") != 0)
				return cli_bad_value(&a, "text or json");
			json = strcmp(a.value, "json") == 0;
			break;
		}
	}
	if (tj_policy_load(a.operand[0], &o, &err) < 0 || tj_policy_load(a.operand[1], &n, &err) < 0) {
		rc = cli_usage_error("%s", err.msg);
		goto out;
	}
	if (!(d = tj_policy_diff(o, n))) {
		rc = cli_usage_error("policy diff: out of memory");
		goto out;
	}
	cJSON_ArrayForEach (e, d)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "effect")), "allows") ==
		    0)
			allows = true;
	if (json) {
		char *s = cJSON_PrintUnformatted(d);
		if (s)
			puts(s);
		free(s);
	} else {
		cJSON_ArrayForEach (e, d)
			printf("%-8s %s: %s\n",
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "effect")),
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "path")),
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "what")));
		printf("%d difference%s; %s\n", cJSON_GetArraySize(d), cJSON_GetArraySize(d) == 1 ? "" : "s",
		       allows ? "NEW allows what OLD refused" : "NEW allows nothing that OLD refused");
	}
	rc = fflush(stdout) != 0 ? cli_usage_error("policy diff: cannot write the result")
	     : allows            ? TJ_EXIT_FAIL
	                         : TJ_EXIT_OK;
out:
	cJSON_Delete(d);
	tj_policy_free(o);
	tj_policy_free(n);
	return rc;
}

/* Reads the options of a policy subcommand that has none but --help. */
static int parse_operands(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv)
{
	int opt;

	cli_args_init(a, cmd, argc, argv);
	while ((opt = cli_args_next(a)) != CLI_END)
		if (opt == CLI_EXIT)
			return -1;
	return 0;
}

static cJSON *issues_json(const struct tj_policy_issues *is, bool warnings)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < is->n; i++) {
		cJSON *o;
		if (is->v[i].warning != warnings)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "path", is->v[i].path);
		cJSON_AddStringToObject(o, "message", is->v[i].message);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static int policy_check(int argc, char **argv)
{
	struct tj_policy_issues is;
	struct tj_error err = {0};
	struct cli_args a;
	_cleanup_free_ char *text = NULL;
	const char *file;
	bool json = false;
	size_t len;
	int opt;

	cli_args_init(&a, &check_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'o':
			if (strcmp(a.value, "text") != 0 && strcmp(a.value, "json") != 0)
				return cli_bad_value(&a, "text or json");
			json = strcmp(a.value, "json") == 0;
			break;
		}
	}
	file = a.operand[0];
	if (tj_read_file(file, 1 << 20, &text, &len, &err) < 0 ||
	    tj_policy_check_text(text, len, file, &is, &err) < 0)
		return cli_usage_error("policy: %s", err.msg);
	if (json) {
		cJSON *o = cJSON_CreateObject();
		char *s;
		cJSON_AddStringToObject(o, "file", file);
		cJSON_AddBoolToObject(o, "valid", is.n_errors == 0);
		cJSON_AddItemToObject(o, "errors", issues_json(&is, false));
		cJSON_AddItemToObject(o, "warnings", issues_json(&is, true));
		s = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (s)
			puts(s);
		free(s);
	} else {
		size_t nw = is.n - is.n_errors;
		for (size_t i = 0; i < is.n; i++)
			fprintf(is.v[i].warning ? stdout : stderr, "%s: %s: %s: %s\n", file, is.v[i].path,
			        is.v[i].warning ? "warning" : "error", is.v[i].message);
		if (is.n_errors) {
			fprintf(stderr, "tfjail: %s: invalid policy (%zu error%s)\n", file, is.n_errors,
			        is.n_errors == 1 ? "" : "s");
		} else {
			struct tj_policy *p = NULL;
			if (tj_policy_load_text(text, len, file, &p, &err) < 0) {
				tj_policy_issues_free(&is);
				return cli_usage_error("%s", err.msg);
			}
			printf("%s: valid (policy %s, sha256 %s)", file, p->name, p->sha256);
			if (nw)
				printf(", %zu warning%s", nw, nw == 1 ? "" : "s");
			putchar('\n');
			tj_policy_free(p);
		}
	}
	opt = is.n_errors ? TJ_EXIT_USAGE : TJ_EXIT_OK;
	tj_policy_issues_free(&is);
	return opt;
}

static int policy_show(int argc, char **argv)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	struct cli_args a;
	cJSON *j;
	char *s;

	if (parse_operands(&a, &show_command, argc, argv) < 0)
		return a.exit_code;
	if (tj_policy_load(a.operand[0], &p, &err) < 0)
		return cli_usage_error("%s", err.msg);
	j = tj_policy_to_json(p);
	if (j && p->module_mirror && *p->module_mirror) {
		/* what the mirror holds, for the reader (ignored when the policy is loaded) */
		cJSON *l = NULL;
		cJSON *mods = cJSON_GetObjectItemCaseSensitive(j, "modules");
		if (mirror_list(p->module_mirror, &l, &err) < 0)
			l = cJSON_CreateString(err.msg);
		cJSON_DeleteItemFromObjectCaseSensitive(l, "mirror");
		cJSON_AddItemToObject(mods, "mirror_contents", l);
	}
	s = j ? cJSON_Print(j) : NULL;
	tj_policy_free(p);
	cJSON_Delete(j);
	if (!s)
		return cli_usage_error("policy show: out of memory");
	puts(s);
	free(s);
	return TJ_EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
    {"check", policy_check},
    {"show", policy_show},
    {"test", policy_test},
    {"diff", policy_diff},
};

int cmd_policy(int argc, char **argv)
{
	if (argc < 2)
		return fputs(policy_usage, stderr), TJ_EXIT_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return fputs(policy_usage, stdout), TJ_EXIT_OK;
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].fn(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error("policy: unknown option '%s' (see tfjail policy --help)", argv[1]);
	return cli_usage_error("policy: unknown subcommand '%s' (see tfjail policy --help)", argv[1]);
}
