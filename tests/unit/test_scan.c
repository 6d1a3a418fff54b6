/* policy/scan.c: the static scan.
 *
 * Every directory in tests/fixtures/scan is an upload with an EXPECT file
 * ("RULE FILE LINE" per violation, nothing for a clean upload).  Each fixture
 * was confirmed as configuration terraform 1.11.4 accepts (or, for
 * parse-error, rejects) by running tests/fixtures/scan/verify-with-terraform.sh
 * once (terraform init -backend=false -plugin-dir=/opt/tf-plugins, then
 * validate); fixtures needing a provider other than aws or a remote module
 * get as far as "configuration loaded" offline.  Links, special files and
 * limits are built in temporary directories here, since git does not carry
 * them well. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/policy.h"
#include "policy/scan.h"
#include "tests/testutil.h"

static struct tj_policy *policy_text(const char *text)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	if (!text)
		ck_assert_msg(tj_policy_load(NULL, &p, &err) == 0, "%s", err.msg);
	else
		ck_assert_msg(tj_policy_load_text(text, strlen(text), "test", &p, &err) == 0, "%s", err.msg);
	return p;
}

/* "RULE FILE LINE\n" for every violation, in the scanner's (sorted) order. */
static char *scan_lines(const struct tj_policy *p, const char *dir, struct tj_scan_result **keep)
{
	struct tj_scan_result *r = NULL;
	struct tj_error err = {0};
	struct tj_buf b = {0};

	ck_assert_msg(tj_scan_dir(p, dir, &r, &err) == 0, "%s", err.msg);
	tj_buf_append(&b, "", 0);
	for (size_t i = 0; i < r->n; i++)
		tj_buf_printf(&b, "%s %s %d\n", r->v[i].rule, r->v[i].file, r->v[i].line);
	if (keep)
		*keep = r;
	else
		tj_scan_result_free(r);
	return b.data;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of s, for an order-independent comparison. */
static char *sorted(const char *s)
{
	char *copy = strdup(s), *save = NULL, *lines[256];
	size_t n = 0;
	struct tj_buf b = {0};

	for (char *l = strtok_r(copy, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
		if (*l)
			lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_lines);
	tj_buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		tj_buf_printf(&b, "%s\n", lines[i]);
	free(copy);
	return b.data;
}

static char *fixture_names[128];
static int n_fixtures;

static void list_fixtures(void)
{
	DIR *d;
	struct dirent *de;

	if (n_fixtures)
		return;
	d = opendir(tj_test_src("tests/fixtures/scan"));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && n_fixtures < 128) {
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s/EXPECT", tj_test_src("tests/fixtures/scan"), de->d_name);
		if (de->d_name[0] != '.' && stat(p, &st) == 0)
			fixture_names[n_fixtures++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(fixture_names, (size_t)n_fixtures, sizeof(char *), cmp_lines);
}

START_TEST(fixtures_match_expect)
{
	struct tj_policy *p = policy_text(NULL);
	char dir[4096], exp_path[4096];
	int checked = 0;

	list_fixtures();
	ck_assert_int_ge(n_fixtures, 25);
	for (int i = 0; i < n_fixtures; i++) {
		char *expect, *got, *es, *gs;
		size_t len;
		struct tj_error err;
		snprintf(dir, sizeof(dir), "%s/%s", tj_test_src("tests/fixtures/scan"), fixture_names[i]);
		snprintf(exp_path, sizeof(exp_path), "%s/EXPECT", dir);
		ck_assert_msg(tj_read_file(exp_path, 65536, &expect, &len, &err) == 0, "%s", err.msg);
		got = scan_lines(p, dir, NULL);
		es = sorted(expect);
		gs = sorted(got);
		ck_assert_msg(strcmp(es, gs) == 0, "fixture %s:\n--- expected\n%s--- scanned\n%s", fixture_names[i], es, gs);
		free(expect);
		free(got);
		free(es);
		free(gs);
		checked++;
	}
	ck_assert_int_eq(checked, n_fixtures);
	tj_policy_free(p);
}
END_TEST

/* ---- temporary uploads ---- */

static char tmp[64];

static void tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/tfjail-scan-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(tmp));
}

static void tmp_teardown(void)
{
	tj_test_rm_rf(tmp);
}

static const char *at(const char *rel)
{
	static char buf[4][4096];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

static const char *PROVISIONER = "resource \"terraform_data\" \"a\" {\n  provisioner \"local-exec\" {\n"
				 "    command = \"id\"\n  }\n}\n";

START_TEST(symlinks_out_of_the_upload)
{
	struct tj_policy *p = policy_text(NULL);
	char *got;

	tj_test_write(tmp, "up/main.tf", "module \"m\" {\n  source = \"./linked\"\n}\n");
	tj_test_write(tmp, "outside/main.tf", PROVISIONER);
	tj_test_write(tmp, "up/inside/x.tf", PROVISIONER);
	ck_assert_int_eq(symlink("../outside", at("up/linked")), 0);
	ck_assert_int_eq(symlink("/etc/passwd", at("up/passwd")), 0);
	ck_assert_int_eq(symlink("../outside/main.tf", at("up/evil.tf")), 0);
	/* a link inside the upload is followed, and what it shows is scanned */
	ck_assert_int_eq(symlink("inside/x.tf", at("up/alias.tf")), 0);
	ck_assert_int_eq(symlink("loop", at("up/loop")), 0);
	got = scan_lines(p, at("up"), NULL);
	ck_assert_str_eq(got, "provisioner-blocked alias.tf 2\n"
			      "upload-symlink evil.tf 0\n"
			      "upload-symlink evil.tf 0\n"
			      "upload-symlink linked 0\n"
			      "upload-symlink loop 0\n"
			      "upload-symlink main.tf 2\n"
			      "upload-symlink passwd 0\n");
	free(got);
	tj_policy_free(p);
}
END_TEST

START_TEST(special_files_do_not_block)
{
	struct tj_policy *p = policy_text(NULL);
	char *got;

	tj_test_write(tmp, "main.tf", "resource \"terraform_data\" \"a\" {}\n");
	ck_assert_int_eq(mkfifo(at("pipe.tf"), 0644), 0);
	ck_assert_int_eq(mkfifo(at("data.fifo"), 0644), 0);
	got = scan_lines(p, tmp, NULL);
	ck_assert_str_eq(got, "upload-special-file data.fifo 0\n"
			      "upload-special-file pipe.tf 0\n"
			      "upload-special-file pipe.tf 0\n");
	free(got);
	tj_policy_free(p);
}
END_TEST

START_TEST(upload_limits)
{
	struct tj_policy *p = policy_text("{\"version\": 1, \"name\": \"small\", \"upload\": {\"max_files\": 5, "
					  "\"max_total_size\": 3000, \"max_file_size\": 2000, \"max_depth\": 2}, "
					  "\"scan\": {\"max_nesting\": 16, \"max_tokens\": 1000}}");
	char big[2100];
	char *got;
	struct tj_buf deep = {0};

	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tj_test_write(tmp, "big.tf", big);
	tj_test_write(tmp, "a/b/c/deep.tf", "x = 1\n");
	for (int i = 0; i < 20; i++)
		tj_buf_printf(&deep, "b {\n");
	tj_test_write(tmp, "nest.tf", deep.data);
	tj_buf_free(&deep);
	/* 1,600 tokens in 1,606 bytes: under the file size, over scan.max_tokens */
	tj_buf_printf(&deep, "a = [");
	for (int i = 0; i < 800; i++)
		tj_buf_printf(&deep, "1,");
	tj_buf_printf(&deep, "]\n");
	tj_test_write(tmp, "tokens.tf", deep.data);
	tj_buf_free(&deep);
	got = scan_lines(p, tmp, NULL);
	ck_assert_msg(strstr(got, "upload-limit big.tf 0\n"), "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "upload-limit a/b/c 0\n"));
	ck_assert_ptr_nonnull(strstr(got, "upload-limit nest.tf 16\n"));
	ck_assert_msg(strstr(got, "upload-limit tokens.tf 1\n"), "%s", got);
	ck_assert_ptr_null(strstr(got, "parse-error"));
	ck_assert_msg(strstr(got, "upload-limit . 0\n"), "total size not reported: %s", got);
	free(got);
	tj_policy_free(p);
	tj_test_rm_rf(tmp);
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	/* the file count stops the walk */
	p = policy_text("{\"version\": 1, \"name\": \"few\", \"upload\": {\"max_files\": 5}}");
	tj_test_write(tmp, "main.tf", ""); /* a configuration, so that only the limit is reported */
	for (int i = 0; i < 12; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d.txt", i);
		tj_test_write(tmp, name, "x");
	}
	{
		struct tj_scan_result *r;
		free(scan_lines(p, tmp, &r));
		ck_assert_uint_eq(r->n, 1);
		ck_assert_str_eq(r->v[0].rule, "upload-limit");
		ck_assert_ptr_nonnull(strstr(r->v[0].message, "more than 5 files"));
		tj_scan_result_free(r);
	}
	tj_policy_free(p);
}
END_TEST

START_TEST(suppressions_and_severities)
{
	struct tj_policy *p = policy_text(
		"{\"version\": 1, \"name\": \"s\", \"rules\": {\"backend-blocked\": {\"severity\": \"warning\"}, "
		"\"cloud-blocked\": {\"severity\": \"off\"}}, \"suppressions\": [{\"rule\": \"provisioner-blocked\", "
		"\"path\": \"legacy/*\", \"reason\": \"reviewed: runs only in the sandbox\"}]}");
	struct tj_scan_result *r;
	char *got;
	cJSON *j;

	tj_test_write(tmp, "main.tf", "terraform {\n  backend \"s3\" {}\n  cloud {}\n}\n"
				      "module \"l\" {\n  source = \"./legacy/m\"\n}\n"
				      "# tfjail:ignore provisioner-blocked  (comments never suppress)\n");
	tj_test_write(tmp, "x.tf", PROVISIONER);
	tj_test_write(tmp, "legacy/m/main.tf", PROVISIONER);
	got = scan_lines(p, tmp, &r);
	ck_assert_str_eq(got, "backend-blocked main.tf 2\nprovisioner-blocked x.tf 2\n");
	ck_assert_str_eq(r->v[0].severity, "warning");
	ck_assert_str_eq(r->v[1].severity, "error");
	ck_assert(tj_scan_has_errors(r));
	ck_assert_uint_eq(r->n_suppressed, 1);
	ck_assert_str_eq(r->suppressed[0].file, "legacy/m/main.tf");
	ck_assert_str_eq(r->suppressed[0].reason, "reviewed: runs only in the sandbox");
	ck_assert_uint_eq(r->files_scanned, 3);
	j = tj_scan_result_to_json(r);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "violations")), 2);
	ck_assert_int_eq(cJSON_GetObjectItem(j, "files_scanned")->valueint, 3);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "suppressed")), 1);
	{
		cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "violations"), 0);
		ck_assert_str_eq(cJSON_GetObjectItem(v, "rule")->valuestring, "backend-blocked");
		ck_assert_str_eq(cJSON_GetObjectItem(v, "severity")->valuestring, "warning");
		ck_assert_str_eq(cJSON_GetObjectItem(v, "file")->valuestring, "main.tf");
		ck_assert_int_eq(cJSON_GetObjectItem(v, "line")->valueint, 2);
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(v, "message")));
		ck_assert_ptr_null(cJSON_GetObjectItem(v, "reason"));
	}
	cJSON_Delete(j);
	tj_scan_result_free(r);
	free(got);
	tj_policy_free(p);
	/* only warnings: no errors */
	p = policy_text("{\"version\": 1, \"name\": \"w\", \"rules\": {\"provisioner-blocked\": {\"severity\": \"warning\"}}}");
	tj_test_rm_rf(at("legacy"));
	unlink(at("main.tf"));
	got = scan_lines(p, tmp, &r);
	ck_assert_str_eq(got, "provisioner-blocked x.tf 2\n");
	ck_assert(!tj_scan_has_errors(r));
	tj_scan_result_free(r);
	free(got);
	tj_policy_free(p);
}
END_TEST

START_TEST(policy_lists_drive_the_rules)
{
	struct tj_policy *p = policy_text(
		"{\"version\": 1, \"name\": \"open\", \"providers\": {\"allowed\": [\"hashicorp/aws\", \"terraform\", "
		"\"hashicorp/external\"]}, \"data_sources\": {\"denied\": []}, \"provisioners\": {\"denied\": [\"*\"]}, "
		"\"modules\": {\"allow_local\": false, \"allowed_sources\": [\"git::https://git.example.com/*\"]}}");
	char *got;

	tj_test_write(tmp, "main.tf", "data \"external\" \"x\" {\n  program = [\"id\"]\n}\n"
				      "module \"ok\" {\n  source = \"git::https://git.example.com/m.git\"\n}\n"
				      "module \"local\" {\n  source = \"./m\"\n}\n"
				      "resource \"terraform_data\" \"a\" {\n  provisioner \"chef\" {}\n}\n");
	got = scan_lines(p, tmp, NULL);
	ck_assert_str_eq(got, "module-source-not-allowed main.tf 8\nprovisioner-blocked main.tf 11\n");
	free(got);
	tj_policy_free(p);
}
END_TEST

START_TEST(module_cycles_and_depth)
{
	struct tj_policy *p = policy_text("{\"version\": 1, \"name\": \"d\", \"scan\": {\"max_module_depth\": 3}}");
	char *got;

	/* a module calling itself is scanned once */
	tj_test_write(tmp, "main.tf", "module \"self\" {\n  source = \"./\"\n}\nmodule \"a\" {\n  source = \"./a\"\n}\n");
	tj_test_write(tmp, "a/main.tf", "module \"b\" {\n  source = \"./b\"\n}\n");
	tj_test_write(tmp, "a/b/main.tf", "module \"c\" {\n  source = \"./c\"\n}\n");
	tj_test_write(tmp, "a/b/c/main.tf", "module \"d\" {\n  source = \"./d\"\n}\n");
	tj_test_write(tmp, "a/b/c/d/main.tf", PROVISIONER);
	got = scan_lines(p, tmp, NULL);
	ck_assert_str_eq(got, "upload-limit a/b/c/main.tf 2\n");
	free(got);
	tj_policy_free(p);
}
END_TEST

/* ---- the CLI: exit codes and output ---- */

static int run_cli(const char *args, char *out, size_t outlen)
{
	char cmd[8192];
	FILE *f;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", tj_test_bin(), args);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An upload that cannot be opened is an error whose message names no host
 * path (it reaches API clients and plan --output json); the scan command
 * adds the path its own user gave. */
START_TEST(cannot_scan_is_an_error)
{
	struct tj_policy *p = policy_text(NULL);
	struct tj_scan_result *r = NULL;
	struct tj_error err = {0};
	const char *dirs[] = {"/nonexistent/upload", at("file.tf")};
	char out[4096], args[4096 + 16];

	tj_test_write(tmp, "file.tf", "locals {}\n");
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_lt(tj_scan_dir(p, dirs[i], &r, &err), 0);
		ck_assert_ptr_null(r);
		ck_assert_msg(strstr(err.msg, "the upload cannot be opened"), "%s", err.msg);
		ck_assert_msg(!strchr(err.msg, '/'), "host path in: %s", err.msg);
		ck_assert_int_lt(tj_scan_dir_at(p, dirs[i], "modules/a", &r, &err), 0);
		ck_assert_msg(!strchr(err.msg, '/'), "host path in: %s", err.msg);
	}
	snprintf(args, sizeof(args), "scan %s", dirs[1]);
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, dirs[1]) && strstr(out, "the upload cannot be opened"), "%s", out);
	tj_policy_free(p);
}
END_TEST

START_TEST(cli_scan_and_policy)
{
	static char out[65536];
	char args[4096];
	cJSON *j;

	tj_test_write(tmp, "clean/main.tf", "resource \"terraform_data\" \"a\" {}\n");
	tj_test_write(tmp, "dirty/main.tf", PROVISIONER);
	tj_test_write(tmp, "dirty/b.tf", "terraform {\n  backend \"local\" {}\n}\n");
	tj_test_write(tmp, "bad.json", "{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": \"1KiB\"}}");

	snprintf(args, sizeof(args), "scan %s", at("clean"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "1 file scanned, 0 violations"));
	snprintf(args, sizeof(args), "scan %s --output json", at("dirty"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 1);
	j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "violations")), 2);
	/* sorted by file: b.tf before main.tf */
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "violations"), 0), "file")
			 ->valuestring, "b.tf");
	ck_assert_int_eq(cJSON_GetObjectItem(j, "files_scanned")->valueint, 2);
	cJSON_Delete(j);
	snprintf(args, sizeof(args), "scan %s --policy %s", at("dirty"), at("bad.json"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "limits.memory"));
	ck_assert_int_eq(run_cli("scan", out, sizeof(out)), 2);
	snprintf(args, sizeof(args), "scan %s --output yaml", at("clean"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 2);
	ck_assert_int_eq(run_cli("scan /nonexistent/dir", out, sizeof(out)), 2);

	snprintf(args, sizeof(args), "policy check %s", at("bad.json"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, at("bad.json")));
	ck_assert_ptr_nonnull(strstr(out, "limits.memory"));
	snprintf(args, sizeof(args), "policy check %s", tj_test_src("policy/default.json"));
	ck_assert_int_eq(run_cli(args, out, sizeof(out)), 0);
	ck_assert_int_eq(run_cli("policy show", out, sizeof(out)), 0);
	j = cJSON_Parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rules"), "parse-error"),
					     "severity")->valuestring, "error");
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rules"),
									 "provisioner-blocked"), "rationale")));
	cJSON_Delete(j);
	ck_assert_int_eq(run_cli("policy frobnicate", out, sizeof(out)), 2);
}
END_TEST

Suite *scan_suite(void)
{
	Suite *s = suite_create("scan");
	TCase *fx = tcase_create("fixtures");
	TCase *tc = tcase_create("uploads");

	tcase_add_test(fx, fixtures_match_expect);
	tcase_set_timeout(fx, 60);
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, symlinks_out_of_the_upload);
	tcase_add_test(tc, special_files_do_not_block);
	tcase_add_test(tc, upload_limits);
	tcase_add_test(tc, suppressions_and_severities);
	tcase_add_test(tc, policy_lists_drive_the_rules);
	tcase_add_test(tc, module_cycles_and_depth);
	tcase_add_test(tc, cannot_scan_is_an_error);
	tcase_add_test(tc, cli_scan_and_policy);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, fx);
	suite_add_tcase(s, tc);
	return s;
}
