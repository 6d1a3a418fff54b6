/* policy/policy.c: loading, validation (every kind of error names the file,
 * the JSON path and why), defaults, printing, provider addresses. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/policy.h"
#include "policy/rules.h"
#include "tests/testutil.h"

static struct tj_policy *load_ok(const char *text)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	ck_assert_msg(tj_policy_load_text(text, strlen(text), "p.json", &p, &err) == 0, "%s", err.msg);
	return p;
}

START_TEST(defaults_from_the_table)
{
	struct tj_policy *p = load_ok("{\"version\": 1, \"name\": \"mini\"}");

	ck_assert_str_eq(p->name, "mini");
	ck_assert_uint_eq(p->limits.memory_bytes, 1536ull << 20);
	ck_assert(p->limits.cpus == 2.0);
	ck_assert_uint_eq(p->limits.pids, 512);
	ck_assert_uint_eq(p->limits.workspace_bytes, 256ull << 20);
	ck_assert_uint_eq(p->limits.tmp_bytes, 256ull << 20);
	ck_assert_uint_eq(p->limits.step_timeout_s, 300);
	ck_assert_uint_eq(p->limits.job_timeout_s, 600);
	ck_assert_uint_eq(p->limits.output_bytes, 16ull << 20);
	ck_assert_uint_eq(p->limits.nofile, 4096);
	ck_assert_uint_eq(p->upload.max_files, 1000);
	ck_assert_uint_eq(p->upload.max_total_bytes, 64ull << 20);
	ck_assert_uint_eq(p->upload.max_file_bytes, 8ull << 20);
	ck_assert_uint_eq(p->upload.max_depth, 16);
	ck_assert_str_eq(p->mounts.terraform, "");
	ck_assert_str_eq(p->mounts.plugin_dir, "");
	ck_assert_uint_eq(p->mounts.n_ro_binds, 0);
	ck_assert_str_eq(p->seccomp.profile, "default");
	ck_assert_uint_eq(p->rules->n_providers, 2);
	ck_assert_uint_eq(p->rules->n_denied_provisioners, 3);
	ck_assert_uint_eq(p->rules->n_denied_data_sources, 3);
	ck_assert(p->rules->modules_allow_local);
	for (int r = 0; r < TJ_RULE__COUNT; r++)
		ck_assert_int_eq(p->rules->severity[r], TJ_SEV_ERROR);
	ck_assert_int_eq(strlen(p->sha256), 64);
	tj_policy_free(p);
}
END_TEST

/* policy/default.json is the table's defaults written out: the built-in
 * default, a minimal file with the same name and the shipped file all print
 * the same effective policy, and `policy show` of it is the file itself. */
START_TEST(default_json_is_the_table)
{
	char *text;
	size_t len;
	struct tj_error err;
	struct tj_policy *builtin = NULL, *mini;
	cJSON *file, *a, *b;

	ck_assert_msg(tj_read_file(tj_test_src("policy/default.json"), 1 << 20, &text, &len, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(text, tj_policy_default_text());
	file = cJSON_Parse(text);
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(tj_policy_load(NULL, &builtin, &err), 0);
	ck_assert_ptr_null(builtin->path);
	ck_assert_str_eq(builtin->name, "tfjail-default");
	{
		char hex[65];
		tj_sha256_hex(text, len, hex);
		ck_assert_str_eq(builtin->sha256, hex);
	}
	mini = load_ok("{\"version\": 1, \"name\": \"tfjail-default\", \"description\": "
		       "\"tfjail's shipped policy: plan-only jobs with the AWS provider, local modules, "
		       "no provisioners, no backends.\"}");
	a = tj_policy_to_json(builtin);
	b = tj_policy_to_json(mini);
	ck_assert_msg(cJSON_Compare(a, file, true), "policy show of the built-in default differs from default.json");
	ck_assert_msg(cJSON_Compare(b, file, true), "the defaults table differs from default.json");
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(file);
	tj_policy_free(builtin);
	tj_policy_free(mini);
	free(text);
}
END_TEST

START_TEST(show_output_loads_back)
{
	struct tj_policy *p = load_ok("{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": 100000000, "
				      "\"cpus\": 0.5}, \"rules\": {\"cloud-blocked\": {\"severity\": \"warning\"}},"
				      " \"suppressions\": [{\"rule\": \"provisioner-blocked\", \"path\": \"legacy/*\","
				      " \"reason\": \"reviewed by the platform team\"}]}");
	cJSON *j = tj_policy_to_json(p), *j2;
	char *s = cJSON_Print(j);
	struct tj_policy *q = load_ok(s);

	j2 = tj_policy_to_json(q);
	ck_assert(cJSON_Compare(j, j2, true));
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "limits"), "memory")));
	ck_assert_int_eq(q->rules->severity[TJ_RULE_CLOUD_BLOCKED], TJ_SEV_WARNING);
	ck_assert_uint_eq(q->rules->n_supp, 1);
	ck_assert_str_eq(q->rules->supp[0].path, "legacy/*");
	ck_assert(q->limits.cpus == 0.5);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	free(s);
	tj_policy_free(p);
	tj_policy_free(q);
}
END_TEST

START_TEST(sizes_accept_strings)
{
	struct tj_policy *p = load_ok("{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": \"2GiB\", "
				      "\"workspace_size\": \"1G\", \"output_size\": 8192}}");

	ck_assert_uint_eq(p->limits.memory_bytes, 2ull << 30);
	ck_assert_uint_eq(p->limits.workspace_bytes, 1ull << 30);
	ck_assert_uint_eq(p->limits.output_bytes, 8192);
	tj_policy_free(p);
}
END_TEST

static const struct {
	const char *json;
	const char *path;     /* the JSON path the message must name */
	const char *why;      /* and a piece of the reason */
} bad[] = {
	{"[]", "(top level)", "JSON object"},
	{"{\"name\": \"x\"}", "version", "missing"},
	{"{\"version\": 2, \"name\": \"x\"}", "version", "unsupported"},
	{"{\"version\": \"1\", \"name\": \"x\"}", "version", "unsupported"},
	{"{\"version\": 1}", "name", "required"},
	{"{\"version\": 1, \"name\": \"a b\"}", "name", "[A-Za-z0-9._-]"},
	{"{\"version\": 1, \"name\": \"x\", \"colour\": 1}", "colour", "unknown key"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"memroy\": 1}}", "limits.memroy", "unknown key"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": 5}", "limits", "must be an object"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": true}}", "limits.memory", "size in bytes"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": \"lots\"}}", "limits.memory", "not a size"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": 1024}}", "limits.memory", "out of range"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"memory\": -5}}", "limits.memory", "size in bytes"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"pids\": 1.5}}", "limits.pids", "non-negative integer"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"pids\": 0}}", "limits.pids", "out of range"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"cpus\": 0}}", "limits.cpus", "out of range"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"cpus\": \"2\"}}", "limits.cpus", "number of CPUs"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"step_timeout\": 900}}", "limits.job_timeout",
	 "shorter than limits.step_timeout"},
	{"{\"version\": 1, \"name\": \"x\", \"upload\": {\"max_file_size\": \"128MiB\"}}", "upload.max_file_size",
	 "larger than upload.max_total_size"},
	{"{\"version\": 1, \"name\": \"x\", \"upload\": {\"max_total_size\": \"512MiB\", \"max_file_size\": \"1MiB\"}}",
	 "upload.max_total_size", "limits.workspace_size"},
	{"{\"version\": 1, \"name\": \"x\", \"upload\": {\"max_depth\": 0}}", "upload.max_depth", "out of range"},
	{"{\"version\": 1, \"name\": \"x\", \"providers\": {\"allowed\": \"aws\"}}", "providers.allowed",
	 "array of strings"},
	{"{\"version\": 1, \"name\": \"x\", \"providers\": {\"allowed\": [1]}}", "providers.allowed", "[0] must be a string"},
	{"{\"version\": 1, \"name\": \"x\", \"providers\": {\"allowed\": [\"a/b/c/d\"]}}", "providers.allowed",
	 "not a provider source address"},
	{"{\"version\": 1, \"name\": \"x\", \"providers\": {\"allowed\": [\"aws\", \"hashicorp/AWS\"]}}",
	 "providers.allowed", "listed twice"},
	{"{\"version\": 1, \"name\": \"x\", \"provisioners\": {\"denied\": [\"\"]}}", "provisioners.denied",
	 "non-empty"},
	{"{\"version\": 1, \"name\": \"x\", \"modules\": {\"allow_local\": \"yes\"}}", "modules.allow_local",
	 "true or false"},
	{"{\"version\": 1, \"name\": \"x\", \"mounts\": {\"terraform\": \"terraform\"}}", "mounts.terraform",
	 "absolute path"},
	{"{\"version\": 1, \"name\": \"x\", \"mounts\": {\"ro_binds\": [\"/a:b\"]}}", "mounts.ro_binds",
	 "absolute paths"},
	{"{\"version\": 1, \"name\": \"x\", \"seccomp\": {\"deny\": [\"Ptrace\"]}}", "seccomp.deny", "syscall name"},
	{"{\"version\": 1, \"name\": \"x\", \"seccomp\": {\"profile\": \"\"}}", "seccomp.profile", "1-128"},
	{"{\"version\": 1, \"name\": \"x\", \"scan\": {\"max_nesting\": 1000000}}", "scan.max_nesting", "out of range"},
	{"{\"version\": 1, \"name\": \"x\", \"rules\": []}", "rules", "must be an object"},
	{"{\"version\": 1, \"name\": \"x\", \"rules\": {\"no-such-rule\": {}}}", "rules.no-such-rule", "unknown rule id"},
	{"{\"version\": 1, \"name\": \"x\", \"rules\": {\"backend-blocked\": {\"severity\": \"fatal\"}}}",
	 "rules.backend-blocked", "severity must be"},
	{"{\"version\": 1, \"name\": \"x\", \"rules\": {\"backend-blocked\": {\"level\": \"error\"}}}",
	 "rules.backend-blocked", "unknown key 'level'"},
	{"{\"version\": 1, \"name\": \"x\", \"rules\": {\"parse-error\": {\"severity\": \"warning\"}}}",
	 "rules.parse-error", "cannot be relaxed"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": {}}", "suppressions", "must be an array"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": [{\"rule\": \"backend-blocked\", \"path\": \"*\"}]}",
	 "suppressions[0]", "reason"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": [{\"rule\": \"nope\", \"path\": \"*\", \"reason\": \"abc\"}]}",
	 "suppressions[0]", "unknown rule id"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": [{\"rule\": \"upload-symlink\", \"path\": \"*\", "
	 "\"reason\": \"abc\"}]}", "suppressions[0]", "cannot be suppressed"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": [{\"rule\": \"backend-blocked\", \"path\": \"\", "
	 "\"reason\": \"abc\"}]}", "suppressions[0]", "non-empty glob"},
	{"{\"version\": 1, \"name\": \"x\", \"suppressions\": [{\"rule\": \"backend-blocked\", \"path\": \"*\", "
	 "\"reason\": \"abc\", \"by\": \"me\"}]}", "suppressions[0]", "unknown key 'by'"},
	{"{\"version\": 1, \"name\": \"x\", \"limits\": {\"pids\": 64}, \"limits\": {\"nofile\": 100}}", "limits",
	 "appears twice"},
	{"{\"version\": 1, \"name\": \"x\", \"name\": \"y\"}", "name", "appears twice"},
};

START_TEST(validation_errors)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	char want[256];
	const char *json = bad[_i].json;

	ck_assert_msg(tj_policy_load_text(json, strlen(json), "p.json", &p, &err) < 0, "accepted %s", json);
	ck_assert_ptr_null(p);
	snprintf(want, sizeof(want), "p.json: %s: ", bad[_i].path);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "'%s' does not start with '%s'", err.msg, want);
	ck_assert_msg(strstr(err.msg, bad[_i].why) != NULL, "'%s' does not say '%s'", err.msg, bad[_i].why);
}
END_TEST

START_TEST(file_errors_name_the_file)
{
	char dir[] = "/tmp/tfjail-policy-XXXXXX";
	char path[128];
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	tj_test_write(dir, "bad.json", "{\n  \"version\": 1,\n  \"name\": \"x\",\n}\n");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	ck_assert_int_lt(tj_policy_load(path, &p, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	ck_assert_ptr_nonnull(strstr(err.msg, "line 4"));
	ck_assert_ptr_nonnull(strstr(err.msg, "not valid JSON"));
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	ck_assert_int_lt(tj_policy_load(path, &p, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	tj_test_write(dir, "ok.json", "{\"version\": 1, \"name\": \"ok\"}");
	snprintf(path, sizeof(path), "%s/ok.json", dir);
	ck_assert_int_eq(tj_policy_load(path, &p, &err), 0);
	ck_assert_str_eq(p->path, path);
	tj_policy_free(p);
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(provider_addresses)
{
	char out[600];
	struct tj_policy *p = load_ok("{\"version\": 1, \"name\": \"x\"}");

	ck_assert_int_eq(tj_provider_normalize("aws", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "registry.terraform.io/hashicorp/aws");
	ck_assert_int_eq(tj_provider_normalize("HashiCorp/AWS", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "registry.terraform.io/hashicorp/aws");
	ck_assert_int_eq(tj_provider_normalize("Registry.Terraform.IO:443/hashicorp/aws", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "registry.terraform.io/hashicorp/aws");
	ck_assert_int_eq(tj_provider_normalize("terraform", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "terraform.io/builtin/terraform");
	ck_assert_int_eq(tj_provider_normalize("example.com/acme/thing", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "example.com/acme/thing");
	ck_assert_int_lt(tj_provider_normalize("", out, sizeof(out)), 0);
	ck_assert_int_lt(tj_provider_normalize("a/b/c/d", out, sizeof(out)), 0);
	ck_assert_int_lt(tj_provider_normalize("hashicorp/", out, sizeof(out)), 0);
	ck_assert_int_lt(tj_provider_normalize("hashi corp/aws", out, sizeof(out)), 0);
	ck_assert_int_lt(tj_provider_normalize("hashicorp/ext${x}", out, sizeof(out)), 0);

	ck_assert(tj_policy_provider_allowed(p, "aws"));
	ck_assert(tj_policy_provider_allowed(p, "hashicorp/aws"));
	ck_assert(tj_policy_provider_allowed(p, "registry.terraform.io/hashicorp/aws"));
	ck_assert(tj_policy_provider_allowed(p, "terraform"));
	ck_assert(tj_policy_provider_allowed(p, "terraform.io/builtin/terraform"));
	ck_assert(!tj_policy_provider_allowed(p, "external"));
	ck_assert(!tj_policy_provider_allowed(p, "attacker/aws"));
	ck_assert(!tj_policy_provider_allowed(p, "evil.example/hashicorp/aws"));
	ck_assert(!tj_policy_provider_allowed(p, "hashicorp/terraform"));
	tj_policy_free(p);
}
END_TEST

START_TEST(rule_ids_are_stable)
{
	static const char *const ids[] = {"provisioner-blocked", "backend-blocked", "cloud-blocked",
		"provider-not-allowed", "data-source-blocked", "module-source-not-allowed",
		"override-terraform-block", "source-not-literal", "upload-limit", "upload-symlink",
		"upload-special-file", "parse-error", "no-configuration", "plan-resource-type-denied", "plan-resource-type-not-allowed",
		"plan-action-denied", "plan-tag-missing", "plan-change-limit", "plan-data-source-denied"};

	ck_assert_int_eq(sizeof(ids) / sizeof(ids[0]), TJ_RULE__COUNT);
	for (int i = 0; i < TJ_RULE__COUNT; i++) {
		const struct tj_rule_info *r = tj_rule_info((enum tj_rule)i);
		ck_assert_str_eq(r->id, ids[i]);
		ck_assert_int_eq(tj_rule_by_id(ids[i]), i);
		/* one sentence */
		ck_assert(strlen(r->rationale) > 20);
		ck_assert_int_eq(r->rationale[strlen(r->rationale) - 1], '.');
		ck_assert(r->finds && *r->finds && r->example && *r->example);
		ck_assert_int_eq(r->stage, strncmp(r->id, "plan-", 5) == 0 ? TJ_STAGE_PLAN : TJ_STAGE_STATIC);
	}
	ck_assert_int_eq(tj_rule_by_id("Provisioner-Blocked"), -1);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, defaults_from_the_table);
	tcase_add_test(tc, default_json_is_the_table);
	tcase_add_test(tc, show_output_loads_back);
	tcase_add_test(tc, sizes_accept_strings);
	tcase_add_loop_test(tc, validation_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, file_errors_name_the_file);
	tcase_add_test(tc, provider_addresses);
	tcase_add_test(tc, rule_ids_are_stable);
	suite_add_tcase(s, tc);
	return s;
}
