/* policy/plancheck.c: plan rules judged on saved plans.
 *
 * Every tests/fixtures/planrules/NAME/ is an upload with the plan.json that
 * terraform 1.11.4 made of it (tests/fixtures/planrules/generate.sh):
 * modules/ (provider-less: a local module with a counted resource and a data
 * source), changes/ (planned against applied state: a no-op, a replace, a
 * delete and a create), aws-tags/ (offline aws provider with default_tags). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/plancheck.h"
#include "policy/policy.h"
#include "policy/scan.h"
#include "tests/testutil.h"

struct judged {
	struct tj_scan_result *scan, *res;
	char lines[4096]; /* "RULE ADDRESS FILE:LINE SEVERITY\n" per violation */
};

static struct tj_policy *policy_with(const char *plan_rules, const char *extra)
{
	char text[4096];
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	snprintf(text, sizeof(text), "{\"version\": 1, \"name\": \"t\", \"plan_rules\": %s%s%s}", plan_rules,
	         extra ? ", " : "", extra ? extra : "");
	ck_assert_msg(tj_policy_load_text(text, strlen(text), "test", &p, &err) == 0, "%s", err.msg);
	return p;
}

static void judge(struct judged *j, const char *fixture, const struct tj_policy *p)
{
	char dir[512], rel[512];
	char *plan = NULL;
	size_t len, o = 0;
	struct tj_error err = {0};

	snprintf(rel, sizeof(rel), "tests/fixtures/planrules/%s", fixture);
	snprintf(dir, sizeof(dir), "%s", tj_test_src(rel));
	snprintf(rel, sizeof(rel), "%s/plan.json", dir);
	ck_assert_msg(tj_read_file(rel, 1 << 24, &plan, &len, &err) == 0, "%s", err.msg);
	ck_assert_msg(tj_scan_dir(p, dir, &j->scan, &err) == 0, "%s", err.msg);
	ck_assert_msg(tj_plan_check(p, plan, len, j->scan->locs, j->scan->n_locs, "", &j->res, &err) == 0,
	              "%s", err.msg);
	j->lines[0] = '\0';
	for (size_t i = 0; i < j->res->n; i++) {
		const struct tj_violation *v = &j->res->v[i];
		o += (size_t)snprintf(j->lines + o, sizeof(j->lines) - o, "%s %s %s:%d %s\n", v->rule,
		                      v->address ? v->address : "-", v->file, v->line, v->severity);
	}
	free(plan);
}

static void judged_free(struct judged *j)
{
	tj_scan_result_free(j->scan);
	tj_scan_result_free(j->res);
}

START_TEST(types_located_through_local_modules)
{
	struct tj_policy *p = policy_with("{\"resource_types\": {\"denied\": [\"terraform_*\"]}}", NULL);
	struct judged j;

	judge(&j, "modules", p);
	ck_assert_str_eq(
	    j.lines, "plan-resource-type-denied terraform_data.root main.tf:3 error\n"
	             "plan-resource-type-denied module.net.terraform_data.subnet[0] net/main.tf:1 error\n"
	             "plan-resource-type-denied module.net.terraform_data.subnet[1] net/main.tf:1 error\n");
	ck_assert_ptr_nonnull(
	    strstr(j.res->v[0].message, "plan_rules.resource_types.denied \"terraform_*\""));
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(allowlist_of_types)
{
	struct tj_policy *p = policy_with("{\"resource_types\": {\"allowed\": [\"aws_s3_*\"]}}", NULL);
	struct judged j;

	judge(&j, "aws-tags", p);
	ck_assert_str_eq(j.lines, "plan-resource-type-not-allowed aws_iam_access_key.k main.tf:32 error\n");
	judged_free(&j);
	tj_policy_free(p);
	/* an allowlist that covers everything judges nothing */
	p = policy_with("{\"resource_types\": {\"allowed\": [\"aws_*\"]}}", NULL);
	judge(&j, "aws-tags", p);
	ck_assert_str_eq(j.lines, "");
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(data_sources_of_modules)
{
	struct tj_policy *p = policy_with("{\"data_sources\": {\"denied\": [\"terraform_remote_*\"]}}", NULL);
	struct judged j;

	judge(&j, "modules", p);
	ck_assert_str_eq(
	    j.lines,
	    "plan-data-source-denied module.net.data.terraform_remote_state.shared net/main.tf:6 error\n");
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(actions_denied)
{
	struct tj_policy *p =
	    policy_with("{\"actions\": [{\"types\": [\"aws_*\"], \"denied\": [\"create\"]},"
	                " {\"types\": [\"terraform_d*\"], \"denied\": [\"delete\", \"replace\"]}]}",
	                NULL);
	struct judged j;

	judge(&j, "changes", p);
	/* gone is no longer in the configuration: no file, no line */
	ck_assert_str_eq(j.lines, "plan-action-denied terraform_data.gone .:0 error\n"
	                          "plan-action-denied terraform_data.swap main.tf:7 error\n");
	ck_assert_ptr_nonnull(strstr(j.res->v[1].message, "replace of terraform_data is denied"));
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(change_counts)
{
	struct tj_policy *p =
	    policy_with("{\"max_changes\": {\"total\": 2, \"create\": 1, \"delete\": 0}}", NULL);
	struct judged j;

	judge(&j, "changes", p);
	/* delete 1 > 0 and total 3 > 2; create 1 is within its limit; no-op counts nowhere */
	ck_assert_str_eq(j.lines, "plan-change-limit - .:0 error\nplan-change-limit - .:0 error\n");
	ck_assert_ptr_nonnull(strstr(j.res->v[0].message, "1 resource change of action delete"));
	ck_assert_ptr_nonnull(strstr(j.res->v[1].message, "3 resource changes of action total"));
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(required_tags)
{
	struct tj_policy *p = policy_with("{\"required_tags\": {\"keys\": [\"owner\", \"team\"]}}", NULL);
	struct judged j;

	judge(&j, "aws-tags", p);
	/* team comes from the provider's default_tags (tags_all); the access key has no tags */
	ck_assert_str_eq(j.lines, "plan-tag-missing aws_s3_bucket.untagged main.tf:28 error\n");
	ck_assert_ptr_nonnull(strstr(j.res->v[0].message, "required tag \"owner\" missing"));
	judged_free(&j);
	tj_policy_free(p);
	/* types narrows the rule */
	p = policy_with("{\"required_tags\": {\"keys\": [\"owner\"], \"types\": [\"aws_instance\"]}}", NULL);
	judge(&j, "aws-tags", p);
	ck_assert_str_eq(j.lines, "");
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(severity_and_suppressions)
{
	struct tj_policy *p = policy_with("{\"resource_types\": {\"denied\": [\"terraform_data\"]}}",
	                                  "\"rules\": {\"plan-resource-type-denied\": \"warning\"},"
	                                  " \"suppressions\": [{\"rule\": \"plan-resource-type-denied\", "
	                                  "\"path\": \"net/*\", \"reason\": \"the network team's module\"}]");
	struct judged j;

	judge(&j, "modules", p);
	ck_assert_str_eq(j.lines, "plan-resource-type-denied terraform_data.root main.tf:3 warning\n");
	ck_assert_uint_eq(j.res->n_suppressed, 2);
	ck_assert_str_eq(j.res->suppressed[0].reason, "the network team's module");
	ck_assert(!tj_scan_has_errors(j.res));
	judged_free(&j);
	tj_policy_free(p);
	p = policy_with("{\"resource_types\": {\"denied\": [\"terraform_data\"]}}",
	                "\"rules\": {\"plan-resource-type-denied\": {\"severity\": \"off\"}}");
	judge(&j, "modules", p);
	ck_assert_str_eq(j.lines, "");
	ck_assert_uint_eq(j.res->n_suppressed, 0);
	judged_free(&j);
	tj_policy_free(p);
}
END_TEST

START_TEST(not_a_plan)
{
	struct tj_policy *p = policy_with("{}", NULL);
	struct tj_scan_result *r = NULL;
	struct tj_error err = {0};

	ck_assert(!tj_plan_rules_present(p));
	ck_assert_int_eq(tj_plan_check(p, "{\"a\": 1}", 8, NULL, 0, "", &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a plan"));
	ck_assert_int_eq(tj_plan_check(p, "[", 1, NULL, 0, "", &r, &err), -1);
	ck_assert_ptr_null(r);
	tj_policy_free(p);
	p = policy_with("{\"max_changes\": {\"total\": 0}}", NULL);
	ck_assert(tj_plan_rules_present(p));
	/* an ExecutionResponse is judged by its plan_json */
	{
		static const char resp[] =
		    "{\"status\": \"SUCCESS\", \"plan_json\": {\"format_version\": \"1.2\","
		    " \"resource_changes\": [{\"address\": \"terraform_data.a\", \"mode\": \"managed\","
		    " \"type\": \"terraform_data\", \"change\": {\"actions\": [\"create\"]}}]}}";
		ck_assert_int_eq(tj_plan_check(p, resp, strlen(resp), NULL, 0, "", &r, &err), 0);
		ck_assert_uint_eq(r->n, 1);
		ck_assert_str_eq(r->v[0].rule, "plan-change-limit");
		tj_scan_result_free(r);
	}
	tj_policy_free(p);
}
END_TEST

/* plan_rules mistakes: every one reported with its JSON path in one pass */
START_TEST(plan_rules_every_error)
{
	static const char text[] =
	    "{\"version\": 1, \"name\": \"t\", \"plan_rules\": {"
	    "\"resource_types\": {\"denied\": [\"a\", \"a\"], \"alowed\": []},"
	    "\"actions\": [{\"types\": [\"x\"], \"denied\": [\"destroy\"]}, {\"denied\": [\"delete\"]}],"
	    "\"max_changes\": {\"create\": -1, \"creates\": 3},"
	    "\"required_tags\": {\"keys\": \"owner\"}, \"bogus\": 1}}";
	static const char *const paths[] = {
	    "plan_rules.resource_types.denied", "plan_rules.resource_types.alowed",
	    "plan_rules.actions[0].denied",     "plan_rules.actions[1].types",
	    "plan_rules.max_changes.create",    "plan_rules.max_changes.creates",
	    "plan_rules.required_tags.keys",    "plan_rules.bogus",
	};
	struct tj_policy_issues is;
	struct tj_error err = {0};

	ck_assert_int_eq(tj_policy_check_text(text, strlen(text), "t.json", &is, &err), 0);
	ck_assert_uint_eq(is.n_errors, sizeof(paths) / sizeof(paths[0]));
	for (size_t i = 0; i < is.n; i++)
		ck_assert_str_eq(is.v[i].path, paths[i]);
	tj_policy_issues_free(&is);
}
END_TEST

/* the job's working directory is the root module of the scan too */
START_TEST(scan_starts_at_the_working_directory)
{
	char tmp[] = "/tmp/tfjail-workdir-XXXXXX";
	struct tj_policy *p = policy_with("{}", NULL);
	struct tj_scan_result *r = NULL;
	struct tj_error err = {0};

	ck_assert_ptr_nonnull(tj_test_mkdtemp(tmp));
	tj_test_write(tmp, "sub/main.tf",
	              "resource \"terraform_data\" \"x\" {\n  provisioner \"local-exec\" {\n"
	              "    command = \"id\"\n  }\n}\n");
	ck_assert_int_eq(tj_scan_dir(p, tmp, &r, &err), 0);
	/* the upload's root has no configuration */
	ck_assert_uint_eq(r->n, 1);
	ck_assert_str_eq(r->v[0].rule, "no-configuration");
	tj_scan_result_free(r);
	ck_assert_int_eq(tj_scan_dir_at(p, tmp, "sub", &r, &err), 0);
	ck_assert_uint_eq(r->n, 1);
	ck_assert_str_eq(r->v[0].rule, "provisioner-blocked");
	ck_assert_str_eq(r->v[0].file, "sub/main.tf");
	ck_assert_int_eq(r->v[0].line, 2);
	ck_assert_uint_eq(r->n_locs, 1);
	ck_assert_str_eq(r->locs[0].dir, "sub");
	tj_scan_result_free(r);
	ck_assert_int_eq(tj_scan_dir_at(p, tmp, "./sub/", &r, &err), 0);
	ck_assert_uint_eq(r->n, 1);
	tj_scan_result_free(r);
	ck_assert_int_eq(tj_scan_dir_at(p, tmp, "../etc", &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "leaves the upload"));
	tj_test_rm_rf(tmp);
	tj_policy_free(p);
}
END_TEST

Suite *plancheck_suite(void)
{
	Suite *s = suite_create("plancheck");
	TCase *tc = tcase_create("plancheck");

	tcase_add_test(tc, types_located_through_local_modules);
	tcase_add_test(tc, allowlist_of_types);
	tcase_add_test(tc, data_sources_of_modules);
	tcase_add_test(tc, actions_denied);
	tcase_add_test(tc, change_counts);
	tcase_add_test(tc, required_tags);
	tcase_add_test(tc, severity_and_suppressions);
	tcase_add_test(tc, not_a_plan);
	tcase_add_test(tc, plan_rules_every_error);
	tcase_add_test(tc, scan_starts_at_the_working_directory);
	suite_add_tcase(s, tc);
	return s;
}
