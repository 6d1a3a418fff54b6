/* Registry and git modules from the module mirror, for real: `tfjail plan`
 * with real terraform on the uploads of tests/fixtures/modules/, against the
 * fixture mirror tests/fixtures/modules/mirror (small provider-less modules
 * written for these tests).  Needs root and terraform, like the plan suite.
 *
 * The registry job is compared with bare terraform on the same module: the
 * module installed where terraform's installer puts it, with its manifest,
 * then init -get=false, plan and show -json outside any sandbox. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "executor/planjson.h"
#include "tests/testutil.h"

static char workdir[PATH_MAX], policy_file[PATH_MAX], mirror[PATH_MAX];

static void setup(void)
{
	char text[PATH_MAX + 512];

	ck_assert_ptr_nonnull(realpath(tj_test_src("tests/fixtures/modules/mirror"), mirror));
	snprintf(workdir, sizeof(workdir), "/tmp/tfjail-modplan-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(workdir));
	snprintf(
	    text, sizeof(text),
	    "{\"version\": 1, \"name\": \"modules-test\", \"modules\": {\"allowed_sources\": [\"acme/*\", "
	    "\"registry.terraform.io/acme/*\", \"git::https://git.example.com/acme/*\"], \"mirror\": "
	    "\"%s\"}}\n",
	    mirror);
	tj_test_write(workdir, "policy.json", text);
	snprintf(policy_file, sizeof(policy_file), "%s/policy.json", workdir);
}

static void teardown(void)
{
	tj_test_rm_rf(workdir);
}

/* tfjail plan tests/fixtures/modules/NAME --policy POLICY --output json */
static cJSON *plan(const char *name, const char *policy)
{
	char rel[256];
	char *out = NULL, *err = NULL;
	cJSON *j;
	int st;

	snprintf(rel, sizeof(rel), "tests/fixtures/modules/%s", name);
	{
		char *argv[] = {(char *)tj_test_bin(),
		                "plan",
		                (char *)tj_test_src(rel),
		                "--policy",
		                (char *)policy,
		                "--output",
		                "json",
		                NULL};
		st = tj_test_spawn(argv, &out, &err);
	}
	j = cJSON_Parse(out);
	ck_assert_msg(j, "%s: no JSON (exit %d): %s", name, WEXITSTATUS(st), err);
	free(out);
	free(err);
	return j;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_outcome(const cJSON *r, const char *status, const char *error_type)
{
	ck_assert_msg(strcmp(str(r, "status"), status) == 0, "status %s (%s: %s)", str(r, "status"),
	              str(r, "error_type"), str(r, "error_message"));
	if (error_type)
		ck_assert_str_eq(str(r, "error_type"), error_type);
	else
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "error_type")));
}

/* The planned `input` of a terraform_data resource, by address. */
static const char *planned_input(const cJSON *r, const char *address)
{
	const cJSON *rc;

	cJSON_ArrayForEach (rc, cJSON_GetObjectItemCaseSensitive(
	                            cJSON_GetObjectItemCaseSensitive(r, "plan_json"), "resource_changes")) {
		if (strcmp(str(rc, "address"), address) == 0)
			return str(cJSON_GetObjectItemCaseSensitive(
			               cJSON_GetObjectItemCaseSensitive(rc, "change"), "after"),
			           "input");
	}
	ck_abort_msg("no resource %s in the plan", address);
	return NULL;
}

static const cJSON *module_call(const cJSON *r, const char *name)
{
	const cJSON *pj = cJSON_GetObjectItemCaseSensitive(r, "plan_json");
	const cJSON *root = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(pj, "configuration"), "root_module");
	const cJSON *c =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "module_calls"), name);

	ck_assert_msg(c, "no module call %s in the plan's configuration", name);
	return c;
}

/* terraform on PATH, as the job finds it */
static char *terraform_path(void)
{
	static char found[PATH_MAX];
	char *path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/local/bin:/usr/bin");

	for (char *save = NULL, *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(found, sizeof(found), "%s/terraform", d);
		if (access(found, X_OK) == 0)
			break;
		found[0] = '\0';
	}
	free(path);
	ck_assert_msg(found[0], "terraform not on PATH");
	return found;
}

/* Bare terraform on the same module, installed as its installer would. */
static void bare_terraform_sha(char sha[65])
{
	char dir[PATH_MAX], modules[PATH_MAX], manifest[PATH_MAX * 2], chdir_arg[PATH_MAX + 16],
	    out_arg[PATH_MAX + 16];
	char *out = NULL, *err = NULL, *canonical = NULL;
	FILE *src;
	char tf[4096];
	size_t n;
	size_t canonical_len = 0;
	struct tj_error e = {0};
	int st;

	snprintf(dir, sizeof(dir), "%s/bare", workdir);
	src = fopen(tj_test_src("tests/fixtures/modules/registry-pessimistic/main.tf"), "r");
	ck_assert_ptr_nonnull(src);
	n = fread(tf, 1, sizeof(tf) - 1, src);
	tf[n] = '\0';
	fclose(src);
	tj_test_write(dir, "main.tf", tf);
	snprintf(modules, sizeof(modules), "%s/.terraform/modules", dir);
	snprintf(manifest, sizeof(manifest),
	         "{\"Modules\":[{\"Key\":\"\",\"Source\":\"\",\"Dir\":\".\"},{\"Key\":\"greet\",\"Source\":"
	         "\"registry.terraform.io/acme/greet/null\",\"Version\":\"1.2.0\",\"Dir\":\"%s/"
	         "registry.terraform.io/"
	         "acme/greet/null/1.2.0\"}]}",
	         mirror);
	tj_test_write(modules, "modules.json", manifest);
	snprintf(chdir_arg, sizeof(chdir_arg), "-chdir=%s", dir);
	snprintf(out_arg, sizeof(out_arg), "-out=%s/plan", dir);
	{
		char *init[] = {terraform_path(), chdir_arg,      "init",      "-get=false",
		                "-backend=false", "-input=false", "-no-color", NULL};
		char *planv[] = {terraform_path(), chdir_arg,     "plan",  "-input=false",
		                 "-no-color",      "-lock=false", out_arg, NULL};
		char *show[] = {terraform_path(), chdir_arg, "show", "-json", "plan", NULL};
		st = tj_test_spawn(init, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare init: %s %s", out, err);
		free(out);
		free(err);
		st = tj_test_spawn(planv, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare plan: %s", err);
		free(out);
		free(err);
		st = tj_test_spawn(show, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare show: %s", err);
	}
	ck_assert_msg(planjson_normalize(out, strlen(out), &canonical, &canonical_len, sha, &e) == 0, "%s",
	              e.msg);
	free(canonical);
	free(out);
	free(err);
}

START_TEST(registry_module_with_pessimistic_constraint)
{
	cJSON *r = plan("registry-pessimistic", policy_file);
	const cJSON *call;
	char sha[65];

	assert_outcome(r, "SUCCESS", NULL);
	/* ~> 1.0 chooses 1.2.0, the newest 1.x of the mirror, not 2.0.0 */
	ck_assert_str_eq(planned_input(r, "module.greet.terraform_data.greeting"),
	                 "hello tfjail from greet 1.2.0");
	call = module_call(r, "greet");
	ck_assert_str_eq(str(call, "source"), "acme/greet/null");
	ck_assert_str_eq(str(call, "version_constraint"), "~> 1.0");
	bare_terraform_sha(sha);
	ck_assert_str_eq(str(r, "plan_sha256"), sha);
	cJSON_Delete(r);
}
END_TEST

START_TEST(nested_registry_and_local_calls)
{
	cJSON *r = plan("nested", policy_file);

	assert_outcome(r, "SUCCESS", NULL);
	/* a registry call inside a mirrored module, resolved against the mirror */
	ck_assert_str_eq(planned_input(r, "module.stack.module.greet.terraform_data.greeting"),
	                 "hello stack from greet 1.0.0");
	/* local calls inside the package: ./modules/inner, then ../shared from there */
	ck_assert_str_eq(planned_input(r, "module.stack.module.inner.module.shared.terraform_data.shared"),
	                 "inner-shared");
	/* a registry call inside a local module of the upload */
	ck_assert_str_eq(planned_input(r, "module.local.module.greet.terraform_data.greeting"),
	                 "hello local from greet 1.0.0");
	ck_assert_str_eq(str(module_call(r, "stack"), "source"), "registry.terraform.io/acme/stack/null");
	cJSON_Delete(r);
}
END_TEST

START_TEST(subdir_source)
{
	cJSON *r = plan("subdir", policy_file);

	assert_outcome(r, "SUCCESS", NULL);
	ck_assert_str_eq(planned_input(r, "module.part.terraform_data.part[1]"), "part 1");
	ck_assert_str_eq(str(module_call(r, "part"), "source"), "acme/parts/null//modules/part");
	cJSON_Delete(r);
}
END_TEST

START_TEST(git_source_through_the_index)
{
	cJSON *r = plan("git", policy_file);

	assert_outcome(r, "SUCCESS", NULL);
	ck_assert_str_eq(planned_input(r, "module.repo.terraform_data.from_git"), "from git v1.0.0");
	ck_assert_str_eq(str(module_call(r, "repo"), "source"),
	                 "git::https://git.example.com/acme/repo.git//sub?ref=v1.0.0");
	cJSON_Delete(r);
}
END_TEST

START_TEST(missing_module_and_unmet_constraint_fail_fast)
{
	cJSON *r = plan("missing", policy_file);

	assert_outcome(r, "FAILED", "ValidationError");
	ck_assert_str_eq(
	    str(r, "error_message"),
	    "module \"gone\" (main.tf:1): source \"acme/gone/null\" version \"~> 1.0\" is not in the module "
	    "mirror (it has no version of registry.terraform.io/acme/gone/null)");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "steps")),
	                 0); /* terraform never ran */
	cJSON_Delete(r);

	r = plan("unmet", policy_file);
	assert_outcome(r, "FAILED", "ValidationError");
	ck_assert_str_eq(
	    str(r, "error_message"),
	    "module \"greet\" (main.tf:1): source \"acme/greet/null\": no version in the module mirror meets "
	    "the constraint \"~> 3.0\" (the mirror has 1.0.0, 1.2.0, 2.0.0)");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "steps")), 0);
	cJSON_Delete(r);
}
END_TEST

START_TEST(mirrored_provisioner_is_a_policy_violation)
{
	cJSON *r = plan("evil", policy_file);
	const cJSON *v;

	assert_outcome(r, "FAILED", "PolicyViolation");
	v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "violations"), 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(str(v, "rule"), "provisioner-blocked");
	ck_assert_str_eq(str(v, "file"), "registry.terraform.io/acme/evil/null/1.0.0/main.tf");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(v, "line")->valueint, 5);
	ck_assert_ptr_nonnull(strstr(str(v, "message"), "module.evil"));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r, "steps")), 0);
	cJSON_Delete(r);
}
END_TEST

START_TEST(source_not_allowed_is_a_policy_violation)
{
	cJSON *r = plan("not-allowed", policy_file);
	const cJSON *v;

	assert_outcome(r, "FAILED", "PolicyViolation");
	v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "violations"), 0);
	ck_assert_str_eq(str(v, "rule"), "module-source-not-allowed");
	ck_assert_str_eq(str(v, "file"), "main.tf");
	cJSON_Delete(r);
}
END_TEST

/* The one aws job: a mirrored module under the aws provider, which the job
 * starts once and reattaches (with the manifest of the mirrored modules
 * read-only in the data directory). */
START_TEST(aws_provider_in_a_mirrored_module)
{
	cJSON *r = plan("aws", policy_file);
	const cJSON *rc;
	bool found = false;

	assert_outcome(r, "SUCCESS", NULL);
	cJSON_ArrayForEach (rc, cJSON_GetObjectItemCaseSensitive(
	                            cJSON_GetObjectItemCaseSensitive(r, "plan_json"), "resource_changes")) {
		if (strcmp(str(rc, "address"), "module.bucket.aws_s3_bucket.this") == 0) {
			ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(
			                         cJSON_GetObjectItemCaseSensitive(rc, "change"), "after"),
			                     "bucket"),
			                 "tfjail-mirrored-bucket");
			found = true;
		}
	}
	ck_assert(found);
	cJSON_Delete(r);
}
END_TEST

/* ---- the host never opens the upload's files or the mirror's ---- */

struct opens {
	int fan;
	ino_t ino[256]; /* the files and directories watched */
	size_t n_ino;
	int by_host;  /* opens by the tfjail process itself */
	int by_other; /* opens by anything else (the sandbox's processes) */
	char first_host[PATH_MAX];
};

/* Every directory below path (itself included) and its direct children
 * report FAN_OPEN and FAN_ACCESS with the opener's pid. */
static void watch_tree(struct opens *o, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	struct stat st;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(fanotify_mark(o->fan, FAN_MARK_ADD,
	                               FAN_OPEN | FAN_ACCESS | FAN_ONDIR | FAN_EVENT_ON_CHILD, AT_FDCWD,
	                               path),
	                 0);
	ck_assert_int_eq(stat(path, &st), 0);
	if (o->n_ino < 256)
		o->ino[o->n_ino++] = st.st_ino;
	while ((de = readdir(d))) {
		char child[PATH_MAX * 2];
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (lstat(child, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			watch_tree(o, child);
		else if (o->n_ino < 256)
			o->ino[o->n_ino++] = st.st_ino;
	}
	closedir(d);
}

static void drain(struct opens *o, pid_t host)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	ssize_t n;

	while ((n = read(o->fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct stat st;
			bool ours = false;
			if (m->fd >= 0 && fstat(m->fd, &st) == 0)
				for (size_t i = 0; i < o->n_ino && !ours; i++)
					ours = o->ino[i] == st.st_ino;
			if (ours && m->pid == host) {
				char self[64];
				ssize_t l;
				snprintf(self, sizeof(self), "/proc/self/fd/%d", m->fd);
				if (o->by_host++ == 0 &&
				    (l = readlink(self, o->first_host, sizeof(o->first_host) - 1)) > 0)
					o->first_host[l] = '\0';
			} else if (ours) {
				o->by_other++;
			}
			if (m->fd >= 0)
				close(m->fd);
		}
	}
}

/* tfjail plan DIR --policy POLICY --output json, watched; its response. */
static cJSON *plan_watched(const char *dir, const char *policy, struct opens *o)
{
	char *argv[] = {(char *)tj_test_bin(), "plan",     (char *)dir, "--policy",
	                (char *)policy,        "--output", "json",      NULL};
	char out_path[PATH_MAX + 16], *text = NULL;
	struct tj_error err = {0};
	size_t len;
	int st, fd;
	pid_t pid;
	cJSON *j;

	snprintf(out_path, sizeof(out_path), "%s/out.json", workdir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	drain(o, pid);
	ck_assert_int_eq(tj_read_file(out_path, 16 << 20, &text, &len, &err), 0);
	j = cJSON_Parse(text);
	ck_assert_msg(j, "no JSON: %s", text);
	free(text);
	return j;
}

/* The upload's files (module calls, lock file) and the mirror's packages are
 * read only in the sandbox: the tfjail process itself opens none of them,
 * neither to resolve the modules nor to scan them nor to explain a failed
 * init with the lock file (its pid is never the opener; the sandbox's
 * processes are, which shows the watch works). */
START_TEST(host_never_opens_the_upload_or_the_mirror)
{
	struct opens o = {0};
	char up[PATH_MAX + 16], honor[PATH_MAX + 16];
	cJSON *r;

	o.fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	ck_assert_int_ge(o.fan, 0);
	watch_tree(&o, tj_test_src("tests/fixtures/modules/nested"));
	watch_tree(&o, mirror);
	r = plan_watched(tj_test_src("tests/fixtures/modules/nested"), policy_file, &o);
	assert_outcome(r, "SUCCESS", NULL);
	cJSON_Delete(r);

	/* a lock file terraform rejects: init fails, and the job says why */
	snprintf(up, sizeof(up), "%s/upload", workdir);
	tj_test_write(up, "main.tf", "locals {\n  x = 1\n}\noutput \"x\" {\n  value = local.x\n}\n");
	tj_test_write(
	    up, ".terraform.lock.hcl",
	    "provider \"registry.terraform.io/hashicorp/null\" {\n  version = \"3.2.2\"\n  hashes = [\n"
	    "    \"h1:aaaa\",\n    \"zh:bbbb\",\n  ]\n}\n");
	watch_tree(&o, up);
	snprintf(honor, sizeof(honor), "%s/honor.json", workdir);
	tj_test_write(workdir, "honor.json",
	              "{\"version\": 1, \"name\": \"honor\", \"providers\": {\"lock_file\": \"honor\"}}\n");
	r = plan_watched(up, honor, &o);
	assert_outcome(r, "FAILED", "ValidationError");
	ck_assert_msg(
	    strstr(str(r, "error_message"),
	           ".terraform.lock.hcl locks registry.terraform.io/hashicorp/null 3.2.2 (checksums "
	           "h1:, zh:), which the provider mirror does not have"),
	    "%s", str(r, "error_message"));
	cJSON_Delete(r);

	ck_assert_msg(o.by_host == 0, "the tfjail process opened %d watched files, first %s", o.by_host,
	              o.first_host);
	ck_assert_int_gt(o.by_other, 0);
	close(o.fan);
}
END_TEST

START_TEST(cli_mirror_list_and_policy_show)
{
	char *out = NULL, *err = NULL;
	char *list[] = {(char *)tj_test_bin(), "mirror", "list", "--policy", policy_file, NULL};
	char *show[] = {(char *)tj_test_bin(), "policy", "show", policy_file, NULL};
	char *none[] = {(char *)tj_test_bin(), "mirror", "list", NULL};
	int st;
	cJSON *j;
	const cJSON *contents;

	st = tj_test_spawn(list, &out, &err);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_ptr_nonnull(strstr(out, "registry.terraform.io/acme/greet/null: 1.0.0 1.2.0 2.0.0\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "git::https://git.example.com/acme/repo.git?ref=v1.0.0 -> git/acme-repo/v1.0.0"));
	free(out);
	free(err);
	st = tj_test_spawn(show, &out, &err);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	j = cJSON_Parse(out);
	contents = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "modules"),
	                                            "mirror_contents");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(contents, "modules")), 5);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(j, "modules"), "mirror"), mirror);
	cJSON_Delete(j);
	free(out);
	free(err);
	st = tj_test_spawn(none, &out, &err);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	free(out);
	free(err);
}
END_TEST

Suite *modules_plan_suite(void)
{
	Suite *s = suite_create("modules_plan");
	TCase *tc = tcase_create("mirror");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, registry_module_with_pessimistic_constraint);
	tcase_add_test(tc, nested_registry_and_local_calls);
	tcase_add_test(tc, subdir_source);
	tcase_add_test(tc, git_source_through_the_index);
	tcase_add_test(tc, missing_module_and_unmet_constraint_fail_fast);
	tcase_add_test(tc, mirrored_provisioner_is_a_policy_violation);
	tcase_add_test(tc, source_not_allowed_is_a_policy_violation);
	tcase_add_test(tc, cli_mirror_list_and_policy_show);
	tcase_add_test(tc, host_never_opens_the_upload_or_the_mirror);
	tcase_add_test(tc, aws_provider_in_a_mirrored_module);
	suite_add_tcase(s, tc);
	return s;
}
