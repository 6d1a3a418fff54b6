/* cli/: one option parser for every subcommand.  bin/tfjail is run as a
 * process; every usage error is checked word for word, with its exit code. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "api/openapi.h"
#include "common/util.h"
#include "policy/rules.h"
#include "tests/testutil.h"

struct cli_run {
	int status;
	char *out, *err;
};

/* Runs bin/tfjail with the arguments (NULL terminated). */
static void cli(struct cli_run *r, const char *const *args)
{
	char *argv[32];
	size_t n = 0;
	int st;

	argv[n++] = (char *)tj_test_bin();
	while (args[n - 1] && n < 31) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	st = tj_test_spawn(argv, &r->out, &r->err);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void cli_free(struct cli_run *r)
{
	free(r->out);
	free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct {
	const char *const *args;
	const char *stderr_line;
} usage_errors[] = {
    /* the argument is named as typed, at its place: no reordering first */
    {ARGS("plan", "DIR", "-json"), "tfjail: plan: unknown option '-json' (see tfjail plan --help)\n"},
    {ARGS("scan", "DIR", "-json"), "tfjail: scan: unknown option '-json' (see tfjail scan --help)\n"},
    {ARGS("plan", "--bogus", "DIR"), "tfjail: plan: unknown option '--bogus' (see tfjail plan --help)\n"},
    {ARGS("scan", "--bogus", "DIR"), "tfjail: scan: unknown option '--bogus' (see tfjail scan --help)\n"},
    {ARGS("serve", "--bogus"), "tfjail: serve: unknown option '--bogus' (see tfjail serve --help)\n"},
    {ARGS("run", "--bogus", "--", "true"), "tfjail: run: unknown option '--bogus' (see tfjail run --help)\n"},
    {ARGS("version", "-x"), "tfjail: version: unknown option '-x' (see tfjail version --help)\n"},
    {ARGS("plan", "DIR", "--policy"),
     "tfjail: plan: option '--policy' needs a value (see tfjail plan --help)\n"},
    {ARGS("scan", "DIR", "--policy"),
     "tfjail: scan: option '--policy' needs a value (see tfjail scan --help)\n"},
    {ARGS("scan", "--help=yes"),
     "tfjail: scan: option '--help=yes' takes no value (see tfjail scan --help)\n"},
    {ARGS("plan"), "tfjail: plan: missing DIR (see tfjail plan --help)\n"},
    {ARGS("scan"), "tfjail: scan: missing DIR (see tfjail scan --help)\n"},
    {ARGS("run"), "tfjail: run: missing CMD (see tfjail run --help)\n"},
    {ARGS("policy", "check"), "tfjail: policy check: missing FILE (see tfjail policy check --help)\n"},
    {ARGS("plan", "a", "b"), "tfjail: plan: unexpected argument 'b' (see tfjail plan --help)\n"},
    {ARGS("scan", "a", "b"), "tfjail: scan: unexpected argument 'b' (see tfjail scan --help)\n"},
    {ARGS("version", "extra"), "tfjail: version: unexpected argument 'extra' (see tfjail version --help)\n"},
    {ARGS("serve", "extra"), "tfjail: serve: unexpected argument 'extra' (see tfjail serve --help)\n"},
    {ARGS("policy", "show", "a", "b"),
     "tfjail: policy show: unexpected argument 'b' (see tfjail policy show --help)\n"},
    {ARGS("plan", "DIR", "--output", "xml"),
     "tfjail: plan: --output wants text, json, sarif or junit, not 'xml'\n"},
    {ARGS("scan", "DIR", "--output=xml"),
     "tfjail: scan: --output wants text, json, sarif or junit, not 'xml'\n"},
    {ARGS("version", "--output", "xml"), "tfjail: version: --output wants text or json, not 'xml'\n"},
    {ARGS("plan", "DIR", "--timeout", "0"),
     "tfjail: plan: --timeout wants a number of seconds between 1 and 604800, not '0'\n"},
    {ARGS("run", "--timeout", "0", "true"),
     "tfjail: run: --timeout wants a number of seconds between 1 and 604800, not '0'\n"},
    {ARGS("-x"), "tfjail: unknown option '-x' (see tfjail --help)\n"},
    {ARGS("frob"), "tfjail: unknown command 'frob' (see tfjail --help)\n"},
    {ARGS("policy", "test", "p.json"),
     "tfjail: policy test: missing PLAN.json (see tfjail policy test --help)\n"},
    {ARGS("policy", "diff", "old.json"),
     "tfjail: policy diff: missing NEW (see tfjail policy diff --help)\n"},
    {ARGS("rules", "--output", "xml"), "tfjail: rules: --output wants text, json or markdown, not 'xml'\n"},
    {ARGS("rules", "extra"), "tfjail: rules: unexpected argument 'extra' (see tfjail rules --help)\n"},
    {ARGS("policy", "frob"), "tfjail: policy: unknown subcommand 'frob' (see tfjail policy --help)\n"},
};

START_TEST(usage_error_words)
{
	struct cli_run r;

	cli(&r, usage_errors[_i].args);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, usage_errors[_i].stderr_line);
	ck_assert_str_eq(r.out, "");
	cli_free(&r);
}
END_TEST

static const char *const help_commands[][3] = {
    {"run", NULL},     {"plan", NULL},   {"scan", NULL},      {"serve", NULL},
    {"version", NULL}, {"policy", NULL}, {"policy", "check"}, {"policy", "show"},
};

START_TEST(help_per_subcommand)
{
	const char *const *c = help_commands[_i];
	struct cli_run r;
	char want[64];

	snprintf(want, sizeof(want), "Usage: tfjail %s%s%s", c[0], c[1] ? " " : "", c[1] ? c[1] : "");
	if (c[1])
		cli(&r, ARGS(c[0], c[1], "--help"));
	else
		cli(&r, ARGS(c[0], "--help"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strncmp(r.out, want, strlen(want)) == 0, "%s --help: %s", c[0], r.out);
	ck_assert_str_eq(r.err, "");
	cli_free(&r);
	/* -h after an operand, too */
	if (strcmp(c[0], "plan") == 0 || strcmp(c[0], "scan") == 0) {
		cli(&r, ARGS(c[0], "x", "-h"));
		ck_assert_int_eq(r.status, 0);
		ck_assert(strncmp(r.out, want, strlen(want)) == 0);
		cli_free(&r);
	}
}
END_TEST

START_TEST(top_level_help_has_exit_codes)
{
	struct cli_run r;

	cli(&r, ARGS("--help"));
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "warning-severity violations are reported and still exit 0"));
	ck_assert_ptr_nonnull(strstr(r.out, "  2  usage error"));
	cli_free(&r);
}
END_TEST

/* -v, --version and version print the same; --output json is one object */
START_TEST(version_forms)
{
	struct cli_run a, b, c, j;
	cJSON *o;

	cli(&a, ARGS("version"));
	cli(&b, ARGS("--version"));
	cli(&c, ARGS("-v"));
	ck_assert_int_eq(a.status, 0);
	ck_assert_int_eq(b.status, 0);
	ck_assert_int_eq(c.status, 0);
	ck_assert_msg(strncmp(a.out, "tfjail ", 7) == 0, "%s", a.out);
	/* the first line, tfjail's version, is the same in all three */
	ck_assert_int_eq(strncmp(a.out, b.out, strcspn(a.out, "\n")), 0);
	ck_assert_int_eq(strncmp(a.out, c.out, strcspn(a.out, "\n")), 0);
	cli(&j, ARGS("version", "--output", "json"));
	ck_assert_int_eq(j.status, 0);
	o = cJSON_Parse(j.out);
	ck_assert_ptr_nonnull(o);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "tfjail")));
	ck_assert_ptr_nonnull(strstr(a.out, cJSON_GetObjectItemCaseSensitive(o, "tfjail")->valuestring));
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "terraform")));
	ck_assert(cJSON_IsString(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "terraform"), "path")));
	if (tj_test_is_root()) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(o, "terraform"), "version");
		ck_assert(cJSON_IsString(v));
		ck_assert_ptr_nonnull(strstr(a.out, v->valuestring));
	}
	cJSON_Delete(o);
	cli_free(&a);
	cli_free(&b);
	cli_free(&c);
	cli_free(&j);
}
END_TEST

/* run keeps the command's own options for the command */
START_TEST(run_command_line_untouched)
{
	struct cli_run r;

	if (!tj_test_is_root())
		return;
	cli(&r, ARGS("run", "--timeout", "20", "/bin/sh", "-c", "echo \"$0\" -x; exit 3", "--help"));
	ck_assert_int_eq(r.status, 3);
	ck_assert_str_eq(r.out, "--help -x\n");
	cli_free(&r);
}
END_TEST

/* every rule of the catalogue, static and plan, with all its fields */
START_TEST(rules_catalogue_json)
{
	struct cli_run r;
	cJSON *a, *e;
	int n = 0, plan = 0;

	cli(&r, ARGS("rules", "--output", "json"));
	ck_assert_int_eq(r.status, 0);
	a = cJSON_Parse(r.out);
	ck_assert(cJSON_IsArray(a));
	cJSON_ArrayForEach (e, a) {
		static const char *const keys[] = {"id",    "stage",   "severity",
		                                   "finds", "example", "rationale"};
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			ck_assert_msg(cJSON_IsString(cJSON_GetObjectItem(e, keys[k])), "%s", keys[k]);
		ck_assert(cJSON_IsBool(cJSON_GetObjectItem(e, "suppressible")));
		plan += strcmp(cJSON_GetObjectItem(e, "stage")->valuestring, "plan") == 0;
		n++;
	}
	ck_assert_int_eq(n, TJ_RULE__COUNT);
	ck_assert_int_eq(plan, 6);
	ck_assert_ptr_nonnull(strstr(r.out, "\"id\":\t\"plan-action-denied\""));
	cJSON_Delete(a);
	cli_free(&r);
}
END_TEST

static const char *write_tmp(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	FILE *f;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "/tmp/tfjail-cli-%d-%s", (int)getpid(), name);
	f = fopen(path[k], "w");
	ck_assert_ptr_nonnull(f);
	tj_test_track(path[k]);
	fputs(text, f);
	fclose(f);
	return path[k];
}

START_TEST(policy_check_diff_exit_codes)
{
	const char *bad =
	    write_tmp("bad.json", "{\"version\": 1, \"name\": \"x y\", \"limits\": {\"pids\": \"1\"},"
	                          " \"rules\": {\"backend-blocked\": \"warn\"}}");
	const char *warn = write_tmp(
	    "warn.json", "{\"version\": 1, \"name\": \"w\", \"providers\": {\"allowed\": [\"aws\"]}}");
	struct cli_run r;

	cli(&r, ARGS("policy", "check", bad));
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, ": name: error: "));
	ck_assert_ptr_nonnull(strstr(r.err, ": limits.pids: error: "));
	ck_assert_ptr_nonnull(strstr(r.err, ": rules.backend-blocked: error: "));
	ck_assert_ptr_nonnull(strstr(r.err, "invalid policy (3 errors)"));
	cli_free(&r);
	cli(&r, ARGS("policy", "check", warn));
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, ": providers.allowed: warning: "));
	ck_assert_ptr_nonnull(strstr(r.out, "valid (policy w, sha256 "));
	cli_free(&r);
	/* the allowlist lost a provider: NEW forbids more, allows nothing new */
	cli(&r, ARGS("policy", "diff", tj_test_src("policy/default.json"), warn));
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(
	    strstr(r.out, "forbids  providers.allowed: provider \"terraform.io/builtin/terraform\" removed"));
	cli_free(&r);
	cli(&r, ARGS("policy", "diff", warn, tj_test_src("policy/default.json"), "--output", "json"));
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.out, "\"effect\":\"allows\",\"path\":\"providers.allowed\""));
	cli_free(&r);
	unlink(bad);
	unlink(warn);
}
END_TEST

/* ------------------------------------------------------------ the endpoint lists */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted "METHOD /path" lines (malloc'd) of items[0..n). */
static char *sorted_lines(char **items, size_t n)
{
	struct tj_buf b = {0};
	char *out;

	qsort(items, n, sizeof(*items), cmp_str);
	for (size_t i = 0; i < n; i++) {
		tj_buf_printf(&b, "%s\n", items[i]);
		free(items[i]);
	}
	out = strdup(b.data ? b.data : "");
	tj_buf_free(&b);
	return out;
}

/* Every endpoint a text names on a line of its own: "  GET    /health  ..."
 * in `serve --help`, ".B GET /health" in tfjail(1). */
static char *endpoints_in(const char *text)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
	char *items[64];
	size_t n = 0;

	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n'), *p = line + strspn(line, " ");
		size_t mlen = 0;

		if (strncmp(p, ".B ", 3) == 0)
			p += 3;
		for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]) && !mlen; i++)
			if (strncmp(p, methods[i], strlen(methods[i])) == 0 && p[strlen(methods[i])] == ' ')
				mlen = strlen(methods[i]);
		if (mlen && p[mlen + strspn(p + mlen, " ")] == '/') {
			const char *path = p + mlen + strspn(p + mlen, " ");
			ck_assert_uint_lt(n, 64);
			ck_assert_int_gt(
			    asprintf(&items[n++], "%.*s %.*s", (int)mlen, p, (int)strcspn(path, " \n"), path),
			    0);
		}
		line = *end ? end + 1 : end;
	}
	return sorted_lines(items, n);
}

/* Every path and method of the OpenAPI document the server serves. */
static char *endpoints_in_openapi(void)
{
	cJSON *doc = cJSON_Parse(api_openapi_text());
	const cJSON *path, *op;
	char *items[64];
	size_t n = 0;

	ck_assert_ptr_nonnull(doc);
	cJSON_ArrayForEach (path, cJSON_GetObjectItemCaseSensitive(doc, "paths")) {
		cJSON_ArrayForEach (op, path) {
			char method[16];
			size_t i;
			if (strlen(op->string) >= sizeof(method) || strcmp(op->string, "parameters") == 0)
				continue;
			for (i = 0; op->string[i]; i++)
				method[i] = (char)(op->string[i] -
				                   ('a' <= op->string[i] && op->string[i] <= 'z' ? 32 : 0));
			method[i] = '\0';
			ck_assert_uint_lt(n, 64);
			ck_assert_int_gt(asprintf(&items[n++], "%s %s", method, path->string), 0);
		}
	}
	cJSON_Delete(doc);
	return sorted_lines(items, n);
}

/* `serve --help` and tfjail(1) list exactly the endpoints of /openapi.json. */
START_TEST(serve_help_lists_every_endpoint)
{
	char *want = endpoints_in_openapi(), *help, *man = NULL;
	struct cli_run r;
	struct tj_error err;

	ck_assert_ptr_nonnull(strstr(want, "DELETE /api/v1/jobs/{job_id}\n"));
	ck_assert_ptr_nonnull(strstr(want, "GET /ready\n"));
	cli(&r, ARGS("serve", "--help"));
	ck_assert_int_eq(r.status, 0);
	help = endpoints_in(r.out);
	ck_assert_str_eq(help, want);
	ck_assert_int_eq(tj_read_file(tj_test_src("packaging/man/tfjail.1"), 1 << 20, &man, NULL, &err), 0);
	free(help);
	help = endpoints_in(man);
	ck_assert_str_eq(help, want);
	free(help);
	free(man);
	free(want);
	cli_free(&r);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, usage_error_words, 0, sizeof(usage_errors) / sizeof(usage_errors[0]));
	tcase_add_loop_test(tc, help_per_subcommand, 0, sizeof(help_commands) / sizeof(help_commands[0]));
	tcase_add_test(tc, top_level_help_has_exit_codes);
	tcase_add_test(tc, version_forms);
	tcase_add_test(tc, run_command_line_untouched);
	tcase_add_test(tc, rules_catalogue_json);
	tcase_add_test(tc, policy_check_diff_exit_codes);
	tcase_add_test(tc, serve_help_lists_every_endpoint);
	suite_add_tcase(s, tc);
	return s;
}
