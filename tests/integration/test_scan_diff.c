/* Differential test of the scan against terraform itself.
 *
 * For fixtures that terraform can plan offline (the built-in terraform_data
 * resource, local modules, provisioners; one fixture with the aws provider
 * from the mirror), what the scanner finds must equal what
 * `terraform show -json` reports in its "configuration" section:
 *   - the provider source addresses (configuration.provider_config[*].full_name),
 *   - per module directory, the provisioners ("ADDRESS:TYPE") and the module
 *     calls ("NAME=SOURCE"), module directories found by resolving each
 *     call's source against its parent's directory.
 * Needs terraform on PATH and the mirror in /opt/tf-plugins (TF_PLUGIN_DIR). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/policy.h"
#include "policy/scan.h"
#include "tests/testutil.h"

static void add_unique(cJSON *arr, const char *s)
{
	for (cJSON *e = arr->child; e; e = e->next)
		if (strcmp(e->valuestring, s) == 0)
			return;
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

static cJSON *module_entry(cJSON *mods, const char *dir)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(mods, dir);

	if (!m) {
		m = cJSON_AddObjectToObject(mods, dir);
		cJSON_AddArrayToObject(m, "provisioners");
		cJSON_AddArrayToObject(m, "module_calls");
	}
	return m;
}

/* dir/source, cleaned lexically (sources in these fixtures stay inside) */
static void child_dir(const char *dir, const char *src, char *out, size_t n)
{
	char buf[PATH_MAX], *parts[256], *save = NULL;
	size_t np = 0, o = 0;

	snprintf(buf, sizeof(buf), "%s/%s", dir, src);
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			ck_assert_uint_gt(np, 0);
			np--;
			continue;
		}
		parts[np++] = t;
	}
	out[0] = '\0';
	for (size_t i = 0; i < np; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s", i ? "/" : "", parts[i]);
}

static void walk_tf_module(const cJSON *mod, const char *dir, cJSON *mods)
{
	cJSON *m = module_entry(mods, dir);
	const cJSON *r, *calls;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(mod, "resources")) {
		const cJSON *pv;
		cJSON_ArrayForEach(pv, cJSON_GetObjectItemCaseSensitive(r, "provisioners")) {
			char f[512];
			snprintf(f, sizeof(f), "%s:%s", cJSON_GetObjectItem(r, "address")->valuestring,
				 cJSON_GetObjectItem(pv, "type")->valuestring);
			add_unique(cJSON_GetObjectItem(m, "provisioners"), f);
		}
	}
	calls = cJSON_GetObjectItemCaseSensitive(mod, "module_calls");
	for (const cJSON *c = calls ? calls->child : NULL; c; c = c->next) {
		const char *src = cJSON_GetObjectItem(c, "source")->valuestring;
		char f[512], sub[PATH_MAX];
		snprintf(f, sizeof(f), "%s=%s", c->string, src);
		add_unique(cJSON_GetObjectItem(m, "module_calls"), f);
		child_dir(dir, src, sub, sizeof(sub));
		walk_tf_module(cJSON_GetObjectItem(c, "module"), sub, mods);
	}
}

/* terraform's view, in the shape of tj_scan_dir_facts */
static cJSON *terraform_facts(const char *fixture)
{
	char work[] = "/tmp/tfjail-diff-XXXXXX";
	char cmd[8192], path[PATH_MAX];
	const char *plugins = getenv("TF_PLUGIN_DIR") ? getenv("TF_PLUGIN_DIR") : "/opt/tf-plugins";
	char *text;
	size_t len;
	struct tj_error err;
	cJSON *show, *conf, *facts, *provs, *mods;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(work));
	snprintf(cmd, sizeof(cmd),
		 "cp -a '%s/.' '%s/src' 2>/dev/null || { mkdir -p '%s/src' && cp -a '%s/.' '%s/src'; } && cd '%s/src' && "
		 "export TF_CLI_CONFIG_FILE=/dev/null TF_DATA_DIR='%s/data' TF_IN_AUTOMATION=1 TF_INPUT=0 "
		 "CHECKPOINT_DISABLE=1 HOME='%s' && "
		 "terraform init -backend=false -input=false -no-color -plugin-dir='%s' > '%s/log' 2>&1 && "
		 "terraform plan -refresh=false -input=false -no-color -out='%s/plan' >> '%s/log' 2>&1 && "
		 "terraform show -json '%s/plan' > '%s/show.json' 2>> '%s/log'",
		 fixture, work, work, fixture, work, work, work, work, plugins, work, work, work, work, work, work);
	if (system(cmd) != 0) {
		snprintf(path, sizeof(path), "%s/log", work);
		ck_assert_msg(tj_read_file(path, 1 << 20, &text, &len, &err) == 0, "%s", err.msg);
		ck_abort_msg("terraform failed on %s:\n%s", fixture, text);
	}
	snprintf(path, sizeof(path), "%s/show.json", work);
	ck_assert_msg(tj_read_file(path, 64 << 20, &text, &len, &err) == 0, "%s", err.msg);
	show = cJSON_Parse(text);
	free(text);
	tj_test_rm_rf(work);
	ck_assert_ptr_nonnull(show);
	conf = cJSON_GetObjectItem(show, "configuration");
	ck_assert_ptr_nonnull(conf);

	facts = cJSON_CreateObject();
	provs = cJSON_AddArrayToObject(facts, "providers");
	mods = cJSON_AddObjectToObject(facts, "modules");
	for (const cJSON *pc = cJSON_GetObjectItem(conf, "provider_config") ?
			       cJSON_GetObjectItem(conf, "provider_config")->child : NULL; pc; pc = pc->next)
		add_unique(provs, cJSON_GetObjectItem(pc, "full_name")->valuestring);
	walk_tf_module(cJSON_GetObjectItem(conf, "root_module"), "", mods);
	cJSON_Delete(show);
	return facts;
}

static int cmp_items(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->valuestring, (*(cJSON *const *)b)->valuestring);
}

/* Sorted copy of every array, empty lists and empty modules dropped. */
static char *canonical(const cJSON *facts)
{
	struct tj_buf b = {0};
	const cJSON *m;
	cJSON *items[256];

	tj_buf_append(&b, "", 0);
	{
		int n = 0;
		for (cJSON *e = cJSON_GetObjectItem(facts, "providers")->child; e && n < 256; e = e->next)
			items[n++] = e;
		qsort(items, (size_t)n, sizeof(*items), cmp_items);
		for (int i = 0; i < n; i++)
			tj_buf_printf(&b, "provider %s\n", items[i]->valuestring);
	}
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(facts, "modules")) {
		static const char *const lists[] = {"provisioners", "module_calls"};
		for (int l = 0; l < 2; l++) {
			const cJSON *arr = cJSON_GetObjectItem(m, lists[l]);
			int n = 0;
			for (cJSON *e = arr ? arr->child : NULL; e && n < 256; e = e->next)
				items[n++] = e;
			qsort(items, (size_t)n, sizeof(*items), cmp_items);
			for (int i = 0; i < n; i++)
				tj_buf_printf(&b, "[%s] %s %s\n", m->string, lists[l], items[i]->valuestring);
		}
	}
	/* module order differs between the two sources: sort the lines */
	{
		char *lines[1024], *save = NULL, *copy = strdup(b.data);
		size_t n = 0;
		struct tj_buf out = {0};
		for (char *l = strtok_r(copy, "\n", &save); l && n < 1024; l = strtok_r(NULL, "\n", &save))
			lines[n++] = l;
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
				char *t = lines[j];
				lines[j] = lines[j - 1];
				lines[j - 1] = t;
			}
		tj_buf_append(&out, "", 0);
		for (size_t i = 0; i < n; i++)
			tj_buf_printf(&out, "%s\n", lines[i]);
		free(copy);
		tj_buf_free(&b);
		return out.data;
	}
}

static void differential(const char *name, int min_lines)
{
	char fixture[PATH_MAX];
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	cJSON *mine = NULL, *theirs;
	char *a, *b;
	int lines = 0;

	snprintf(fixture, sizeof(fixture), "%s", tj_test_src(name));
	ck_assert_int_eq(tj_policy_load(NULL, &p, &err), 0);
	ck_assert_msg(tj_scan_dir_facts(p, fixture, &mine, &err) == 0, "%s", err.msg);
	theirs = terraform_facts(fixture);
	a = canonical(mine);
	b = canonical(theirs);
	ck_assert_msg(strcmp(a, b) == 0, "%s:\n--- scanner\n%s--- terraform show -json\n%s", name, a, b);
	for (const char *c = a; *c; c++)
		lines += *c == '\n';
	/* a differential over nothing proves nothing */
	ck_assert_int_ge(lines, min_lines);
	free(a);
	free(b);
	cJSON_Delete(mine);
	cJSON_Delete(theirs);
	tj_policy_free(p);
}

START_TEST(diff_modules)
{
	differential("tests/fixtures/scan/diff-modules", 12);
}
END_TEST

START_TEST(diff_aws)
{
	differential("tests/fixtures/scan/diff-aws", 4);
}
END_TEST

START_TEST(diff_provisioner_fixtures)
{
	/* the evasion fixtures that plan offline double as differential cases */
	static const char *const names[] = {
		"tests/fixtures/scan/provisioner-quoted", "tests/fixtures/scan/provisioner-bare-label",
		"tests/fixtures/scan/provisioner-comment-label", "tests/fixtures/scan/provisioner-unicode-escape",
		"tests/fixtures/scan/json-escaped-key", "tests/fixtures/scan/json-duplicate-keys",
		"tests/fixtures/scan/bom-crlf", "tests/fixtures/scan/heredoc-marker-whitespace",
		"tests/fixtures/scan/template-nesting", "tests/fixtures/scan/file-filter",
	};

	differential(names[_i], 1);
}
END_TEST

Suite *scan_diff_suite(void)
{
	Suite *s = suite_create("scan_diff");
	TCase *tc = tcase_create("terraform");

	tcase_add_test(tc, diff_modules);
	tcase_add_test(tc, diff_aws);
	tcase_add_loop_test(tc, diff_provisioner_fixtures, 0, 10);
	tcase_set_timeout(tc, 180);
	suite_add_tcase(s, tc);
	return s;
}
