/* executor/modules and executor/mirror without a sandbox: the module plan
 * (terraform's manifest) resolved from the fixture mirror in
 * tests/fixtures/modules/mirror, the scan of mirrored packages, the failures
 * a job reports, and the operator's add-module and list. */
#include <check.h>
#include <dirent.h>
#include <cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "executor/mirror.h"
#include "executor/modules.h"
#include "policy/policy.h"
#include "policy/scan.h"
#include "tests/testutil.h"

static char mirror[PATH_MAX];

static struct tj_policy *policy(const char *mirror_dir)
{
	char text[PATH_MAX + 512];
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	snprintf(
	    text, sizeof(text),
	    "{\"version\": 1, \"name\": \"modules-test\", \"modules\": {\"allowed_sources\": [\"acme/*\", "
	    "\"registry.terraform.io/acme/*\", \"git::https://git.example.com/acme/*\"], \"mirror\": "
	    "\"%s\"}}",
	    mirror_dir);
	ck_assert_msg(tj_policy_load_text(text, strlen(text), "test", &p, &err) == 0, "%s", err.msg);
	return p;
}

static enum modules_outcome resolve(const char *fixture, const char *mirror_dir, struct modules_plan **mp,
                                    struct tj_error *err)
{
	char rel[256];
	int fd;
	enum modules_outcome oc;

	if (!mirror[0])
		ck_assert_ptr_nonnull(realpath(tj_test_src("tests/fixtures/modules/mirror"), mirror));
	snprintf(rel, sizeof(rel), "tests/fixtures/modules/%s", fixture);
	fd = open(tj_test_src(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	oc = modules_resolve(mirror_dir, fd, NULL, mp, err);
	close(fd);
	return oc;
}

static const struct modules_record *record(const struct modules_plan *mp, const char *key)
{
	for (size_t i = 0; i < mp->n_rec; i++)
		if (strcmp(mp->rec[i].key, key) == 0)
			return &mp->rec[i];
	ck_abort_msg("no manifest record %s", key);
	return NULL;
}

static void assert_record(const struct modules_plan *mp, const char *key, const char *source,
                          const char *version, const char *dir)
{
	const struct modules_record *r = record(mp, key);

	ck_assert_str_eq(r->source, source);
	if (version)
		ck_assert_str_eq(r->version, version);
	else
		ck_assert_ptr_null(r->version);
	ck_assert_str_eq(r->dir, dir);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(realpath(tj_test_src("tests/fixtures/modules/mirror"), mirror));
}

START_TEST(nested_manifest_is_terraforms)
{
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};
	cJSON *m;
	char *text;

	ck_assert_msg(resolve("nested", mirror, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	ck_assert_uint_eq(mp->n_rec, 7);
	assert_record(mp, "", "", NULL, ".");
	assert_record(mp, "stack", "registry.terraform.io/acme/stack/null", "0.3.1",
	              "/module-mirror/registry.terraform.io/acme/stack/null/0.3.1");
	/* ">= 1.0, < 2.0, != 1.2.0": the newest that meets all three */
	assert_record(mp, "stack.greet", "registry.terraform.io/acme/greet/null", "1.0.0",
	              "/module-mirror/registry.terraform.io/acme/greet/null/1.0.0");
	assert_record(mp, "stack.inner", "./modules/inner", NULL,
	              "/module-mirror/registry.terraform.io/acme/stack/null/0.3.1/modules/inner");
	assert_record(mp, "stack.inner.shared", "../shared", NULL,
	              "/module-mirror/registry.terraform.io/acme/stack/null/0.3.1/modules/shared");
	assert_record(mp, "local", "./local", NULL, "local");
	assert_record(mp, "local.greet", "registry.terraform.io/acme/greet/null", "1.0.0",
	              "/module-mirror/registry.terraform.io/acme/greet/null/1.0.0");
	ck_assert_uint_eq(mp->n_pkg, 3);
	m = modules_manifest_json(mp);
	text = cJSON_PrintUnformatted(m);
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "{\"Key\":\"stack\",\"Source\":\"registry.terraform.io/acme/stack/null\","
	    "\"Version\":\"0.3.1\",\"Dir\":\"/module-mirror/registry.terraform.io/acme/stack/null/0.3.1\"}"));
	free(text);
	cJSON_Delete(m);
	modules_plan_free(mp);
}
END_TEST

START_TEST(newest_match_subdir_and_git)
{
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};

	ck_assert_msg(resolve("registry-pessimistic", mirror, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	assert_record(mp, "greet", "registry.terraform.io/acme/greet/null", "1.2.0",
	              "/module-mirror/registry.terraform.io/acme/greet/null/1.2.0");
	ck_assert_str_eq(mp->pkg[0].label, "registry.terraform.io/acme/greet/null/1.2.0");
	modules_plan_free(mp);

	ck_assert_msg(resolve("subdir", mirror, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	assert_record(mp, "part", "registry.terraform.io/acme/parts/null//modules/part", "1.1.0",
	              "/module-mirror/registry.terraform.io/acme/parts/null/1.1.0/modules/part");
	ck_assert_str_eq(mp->pkg[0].subdir, "modules/part");
	modules_plan_free(mp);

	ck_assert_msg(resolve("git", mirror, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	assert_record(mp, "repo", "git::https://git.example.com/acme/repo.git//sub?ref=v1.0.0", NULL,
	              "/module-mirror/git/acme-repo/v1.0.0/sub");
	ck_assert_str_eq(mp->pkg[0].label, "git/acme-repo/v1.0.0");
	modules_plan_free(mp);
}
END_TEST

START_TEST(failures_name_call_file_source_constraint_versions)
{
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};

	ck_assert_int_eq(resolve("unmet", mirror, &mp, &err), MODULES_INVALID);
	ck_assert_ptr_null(mp);
	ck_assert_str_eq(err.msg,
	                 "module \"greet\" (main.tf:1): source \"acme/greet/null\": no version in the module "
	                 "mirror meets the constraint \"~> 3.0\" (the mirror has 1.0.0, 1.2.0, 2.0.0)");
	ck_assert_int_eq(resolve("missing", mirror, &mp, &err), MODULES_INVALID);
	ck_assert_str_eq(
	    err.msg, "module \"gone\" (main.tf:1): source \"acme/gone/null\" version \"~> 1.0\" is not in "
	             "the module mirror (it has no version of registry.terraform.io/acme/gone/null)");
	ck_assert_int_eq(resolve("registry-pessimistic", "", &mp, &err), MODULES_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "the policy names none (modules.mirror)"));
	ck_assert_ptr_nonnull(strstr(err.msg, "module \"greet\" (main.tf:1)"));
}
END_TEST

START_TEST(local_only_needs_no_mirror)
{
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};
	char dir[] = "/tmp/tfjail-modtest-XXXXXX";
	int fd;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	tj_test_write(dir, "main.tf", "module \"a\" {\n  source = \"./a\"\n}\n");
	tj_test_write(dir, "a/main.tf", "output \"x\" {\n  value = 1\n}\n");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(modules_resolve("", fd, NULL, &mp, &err), MODULES_RESOLVED);
	ck_assert_uint_eq(mp->n_pkg, 0);
	modules_plan_free(mp);
	/* a missing local module is terraform's to report, with its diagnostics */
	tj_test_write(dir, "main.tf", "module \"a\" {\n  source = \"./gone\"\n}\n");
	ck_assert_int_eq(modules_resolve("", fd, NULL, &mp, &err), MODULES_RESOLVED);
	ck_assert_uint_eq(mp->n_pkg, 0);
	modules_plan_free(mp);
	/* a local path out of the upload is refused, as the scan refuses it */
	tj_test_write(dir, "main.tf", "module \"a\" {\n  source = \"../../etc\"\n}\n");
	ck_assert_int_eq(modules_resolve("", fd, NULL, &mp, &err), MODULES_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "leaves the upload"));
	close(fd);
	tj_test_rm_rf(dir);
}
END_TEST

/* terraform reads a package where the sandbox sees the mirror: a version
 * that is a link out of the mirror is refused; the manifest is written
 * where terraform's data directory expects it. */
START_TEST(package_link_leaving_the_mirror_and_the_manifest)
{
	char root[] = "/tmp/tfjail-modlink-XXXXXX", m[PATH_MAX + 16], path[PATH_MAX * 2],
	     outside[PATH_MAX + 16];
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};
	char *text = NULL;
	size_t len;
	int fd;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(root));
	snprintf(m, sizeof(m), "%s/mirror", root);
	snprintf(outside, sizeof(outside), "%s/outside", root);
	tj_test_write(outside, "main.tf", "output \"x\" {\n  value = 1\n}\n");
	tj_test_write(root, "mirror/registry.terraform.io/acme/greet/null/1.0.0/main.tf",
	              "output \"x\" {\n  value = 1\n}\n");
	snprintf(path, sizeof(path), "%s/registry.terraform.io/acme/greet/null/2.0.0", m);
	ck_assert_int_eq(symlink(outside, path), 0);
	tj_test_write(root, "upload/main.tf",
	              "module \"g\" {\n  source  = \"acme/greet/null\"\n  version = \"2.0.0\"\n}\n");
	snprintf(path, sizeof(path), "%s/upload", root);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(modules_resolve(m, fd, NULL, &mp, &err), MODULES_FAILED);
	ck_assert_msg(strstr(err.msg, "is a link that leaves the mirror"), "%s", err.msg);
	tj_test_write(root, "upload/main.tf",
	              "module \"g\" {\n  source  = \"acme/greet/null\"\n  version = \"1.0.0\"\n}\n");
	ck_assert_msg(modules_resolve(m, fd, NULL, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	close(fd);
	snprintf(path, sizeof(path), "%s/data", root);
	ck_assert_msg(modules_write_manifest(mp, path, &err) == 0, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/data/modules/modules.json", root);
	ck_assert_int_eq(tj_read_file(path, 1 << 20, &text, &len, &err), 0);
	ck_assert_str_eq(text, "{\"Modules\":[{\"Key\":\"\",\"Source\":\"\",\"Dir\":\".\"},{\"Key\":\"g\","
	                       "\"Source\":\"registry.terraform.io/acme/greet/null\",\"Version\":\"1.0.0\","
	                       "\"Dir\":\"/module-mirror/registry.terraform.io/acme/greet/null/1.0.0\"}]}");
	free(text);
	modules_plan_free(mp);
	tj_test_rm_rf(root);
}
END_TEST

/* One local module called from 300 places: 300 manifest records, each with
 * its own key and the same directory (the directory is parsed once). */
START_TEST(fan_in_of_one_local_module)
{
	char dir[] = "/tmp/tfjail-modfan-XXXXXX";
	struct modules_plan *mp = NULL;
	struct tj_error err = {0};
	struct tj_buf main_tf = {0};
	int fd;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	for (int i = 0; i < 300; i++)
		tj_buf_printf(&main_tf, "module \"m%d\" {\n  source = \"./shared\"\n}\n", i);
	tj_test_write(dir, "main.tf", main_tf.data);
	tj_test_write(dir, "shared/main.tf", "module \"leaf\" {\n  source = \"../leaf\"\n}\n");
	tj_test_write(dir, "leaf/main.tf", "output \"x\" {\n  value = 1\n}\n");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(modules_resolve("", fd, NULL, &mp, &err) == MODULES_RESOLVED, "%s", err.msg);
	ck_assert_uint_eq(mp->n_rec, 601);
	assert_record(mp, "m0", "./shared", NULL, "shared");
	assert_record(mp, "m299", "./shared", NULL, "shared");
	assert_record(mp, "m299.leaf", "../leaf", NULL, "leaf");
	modules_plan_free(mp);
	close(fd);
	free(main_tf.data);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(mirrored_provisioner_is_reported_with_its_path)
{
	struct modules_plan *mp = NULL;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	struct tj_policy *p = policy(mirror);

	ck_assert_int_eq(resolve("evil", mirror, &mp, &err), MODULES_RESOLVED);
	ck_assert_int_eq(modules_scan(p, mp, &res, &err), 0);
	ck_assert(tj_scan_has_errors(res));
	ck_assert_uint_eq(res->n, 1);
	ck_assert_str_eq(res->v[0].rule, "provisioner-blocked");
	ck_assert_str_eq(res->v[0].file, "registry.terraform.io/acme/evil/null/1.0.0/main.tf");
	ck_assert_int_eq(res->v[0].line, 5);
	ck_assert_ptr_nonnull(strstr(res->v[0].message, "module.evil"));
	tj_scan_result_free(res);
	modules_plan_free(mp);
	/* the clean packages of the nested fixture: nothing to report */
	ck_assert_int_eq(resolve("nested", mirror, &mp, &err), MODULES_RESOLVED);
	ck_assert_int_eq(modules_scan(p, mp, &res, &err), 0);
	ck_assert_uint_eq(res->n, 0);
	ck_assert_uint_gt(res->files_scanned, 3);
	tj_scan_result_free(res);
	modules_plan_free(mp);
	tj_policy_free(p);
}
END_TEST

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

START_TEST(add_module_and_list)
{
	char root[] = "/tmp/tfjail-mirror-XXXXXX", m[PATH_MAX], src[PATH_MAX], dest[PATH_MAX], link[PATH_MAX];
	struct tj_error err = {0};
	cJSON *l = NULL;
	char *text;
	struct stat st;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(root));
	snprintf(m, sizeof(m), "%s/mirror", root);
	snprintf(src, sizeof(src), "%s/checkout", root);
	ck_assert_int_eq(mkdir(m, 0755), 0);
	tj_test_write(src, "main.tf", "output \"x\" {\n  value = 1\n}\n");
	tj_test_write(src, "modules/sub/main.tf", "output \"y\" {\n  value = 2\n}\n");
	tj_test_write(src, ".git/config", "[core]\n");
	snprintf(link, sizeof(link), "%s/modules/sub/up.tf", src);
	ck_assert_int_eq(symlink("../../main.tf", link), 0); /* stays inside: copied as a link */
	ck_assert_msg(mirror_add_module(m, "acme/net/aws", "v1.4", src, dest, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(dest + strlen(m), "/registry.terraform.io/acme/net/aws/1.4.0");
	snprintf(link, sizeof(link), "%s/modules/sub/up.tf", dest);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	snprintf(link, sizeof(link), "%s/.git", dest);
	ck_assert_int_lt(lstat(link, &st), 0);
	/* the same version twice, a git source, a link that leaves the checkout */
	ck_assert_int_lt(mirror_add_module(m, "acme/net/aws", "1.4.0", src, dest, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "already in the mirror"));
	ck_assert_int_lt(mirror_add_module(m, "git::https://x.example/r.git", "1.0.0", src, dest, &err), 0);
	snprintf(link, sizeof(link), "%s/leak.tf", src);
	ck_assert_int_eq(symlink("../../../etc/passwd", link), 0);
	ck_assert_int_lt(mirror_add_module(m, "example.com/acme/net/aws", "2.0.0", src, dest, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "leak.tf is a symbolic link that leaves the module"));
	snprintf(link, sizeof(link), "%s/example.com/acme/net/aws", m);
	ck_assert_int_eq(entries(link), 0); /* nothing half-copied is left */

	ck_assert_int_eq(mirror_list(m, &l, &err), 0);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(l, "modules"));
	ck_assert_str_eq(text,
	                 "[{\"source\":\"registry.terraform.io/acme/net/aws\",\"versions\":[\"1.4.0\"]}]");
	free(text);
	cJSON_Delete(l);
	tj_test_rm_rf(root);
}
END_TEST

START_TEST(policy_mirror_key)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	const char *relative = "{\"version\": 1, \"name\": \"x\", \"modules\": {\"mirror\": \"mods\"}}";
	const char *info = "{\"version\": 1, \"name\": \"x\", \"modules\": {\"mirror\": \"/srv/mods\", "
	                   "\"mirror_contents\": {\"modules\": []}}}";
	cJSON *shown;

	/* absent: no mirror */
	ck_assert_int_eq(tj_policy_load(NULL, &p, &err), 0);
	ck_assert_str_eq(p->module_mirror, "");
	tj_policy_free(p);
	ck_assert_int_lt(tj_policy_load_text(relative, strlen(relative), "t", &p, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "modules.mirror"));
	/* what `policy show` adds is read back without effect */
	ck_assert_msg(tj_policy_load_text(info, strlen(info), "t", &p, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(p->module_mirror, "/srv/mods");
	shown = tj_policy_to_json(p);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(shown, "modules"), "mirror_contents"));
	cJSON_Delete(shown);
	tj_policy_free(p);
}
END_TEST

Suite *modules_suite(void)
{
	Suite *s = suite_create("modules");
	TCase *tc = tcase_create("mirror");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, nested_manifest_is_terraforms);
	tcase_add_test(tc, newest_match_subdir_and_git);
	tcase_add_test(tc, failures_name_call_file_source_constraint_versions);
	tcase_add_test(tc, local_only_needs_no_mirror);
	tcase_add_test(tc, fan_in_of_one_local_module);
	tcase_add_test(tc, mirrored_provisioner_is_reported_with_its_path);
	tcase_add_test(tc, package_link_leaving_the_mirror_and_the_manifest);
	tcase_add_test(tc, add_module_and_list);
	tcase_add_test(tc, policy_mirror_key);
	suite_add_tcase(s, tc);
	return s;
}
