/* The auditor's tools on policies: policy check's one pass (every error with
 * its JSON path, warnings for likely mistakes), the severity string form,
 * policy diff. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policydiff.h"
#include "policy/rules.h"

static struct tj_policy *load(const char *text)
{
	struct tj_policy *p = NULL;
	struct tj_error err = {0};

	ck_assert_msg(tj_policy_load_text(text, strlen(text), "t.json", &p, &err) == 0, "%s", err.msg);
	return p;
}

static const char eight_mistakes[] =
    "{\"version\": 1, \"name\": \"bad policy!\",\n"
    " \"providers\": {\"allowed\": [\"hashicorp/aws\"]},\n"
    " \"limits\": {\"memory\": \"1KiB\", \"pids\": \"512\", \"cpus\": 0},\n"
    " \"modules\": {\"allow_local\": \"yes\"},\n"
    " \"upload\": {\"max_files\": 0},\n"
    " \"rules\": {\"parse-error\": \"warning\", \"backend-blocked\": \"warning\", \"nope\": \"off\"},\n"
    " \"suppressions\": [{\"rule\": \"provisioner-blocked\", \"path\": \"*\", \"reason\": \"all of it\"},\n"
    "                  {\"rule\": \"upload-limit\", \"path\": \"x\", \"reason\": \"big\"}],\n"
    " \"bogus\": 1}\n";

START_TEST(every_error_in_one_pass)
{
	static const char *const errors[] = {
	    "name",
	    "limits.memory",
	    "limits.pids",
	    "limits.cpus",
	    "modules.allow_local",
	    "upload.max_files",
	    "rules.parse-error",
	    "rules.nope",
	    "suppressions[1]",
	    "bogus",
	};
	struct tj_policy_issues is;
	struct tj_policy *p = NULL;
	struct tj_error err = {0};
	size_t e = 0, w = 0;

	ck_assert_int_eq(tj_policy_check_text(eight_mistakes, strlen(eight_mistakes), "t.json", &is, &err),
	                 0);
	for (size_t i = 0; i < is.n; i++) {
		if (is.v[i].warning) {
			w++;
			continue;
		}
		ck_assert_uint_lt(e, sizeof(errors) / sizeof(errors[0]));
		ck_assert_str_eq(is.v[i].path, errors[e++]);
	}
	ck_assert_uint_eq(e, sizeof(errors) / sizeof(errors[0]));
	ck_assert_uint_eq(is.n_errors, e);
	/* the wildcard suppression and the dropped built-in provider */
	ck_assert_uint_eq(w, 2);
	tj_policy_issues_free(&is);
	/* loading stops at the first, with the same words */
	ck_assert_int_eq(tj_policy_load_text(eight_mistakes, strlen(eight_mistakes), "t.json", &p, &err), -1);
	ck_assert_str_eq(err.msg, "t.json: name: 'bad policy!' must be 1-128 characters of [A-Za-z0-9._-]");
}
END_TEST

START_TEST(not_json_is_one_error)
{
	struct tj_policy_issues is;
	struct tj_error err = {0};

	ck_assert_int_eq(tj_policy_check_text("{\n  \"version\": 1,,\n}", 19, "t.json", &is, &err), 0);
	ck_assert_uint_eq(is.n_errors, 1);
	ck_assert_str_eq(is.v[0].message, "line 2, column 17: not valid JSON");
	tj_policy_issues_free(&is);
}
END_TEST

START_TEST(severity_as_a_string)
{
	struct tj_policy *p =
	    load("{\"version\": 1, \"name\": \"s\", \"rules\": {\"backend-blocked\": \"warning\","
	         " \"cloud-blocked\": \"off\", \"provisioner-blocked\": {\"severity\": \"warning\"},"
	         " \"plan-tag-missing\": \"warning\"}}");
	struct tj_error err = {0};
	struct tj_policy *q = NULL;

	ck_assert_int_eq(p->rules->severity[TJ_RULE_BACKEND_BLOCKED], TJ_SEV_WARNING);
	ck_assert_int_eq(p->rules->severity[TJ_RULE_CLOUD_BLOCKED], TJ_SEV_OFF);
	ck_assert_int_eq(p->rules->severity[TJ_RULE_PROVISIONER_BLOCKED], TJ_SEV_WARNING);
	ck_assert_int_eq(p->rules->severity[TJ_RULE_PLAN_TAG_MISSING], TJ_SEV_WARNING);
	tj_policy_free(p);
	/* a mandatory rule stays error, in either form */
	ck_assert_int_eq(
	    tj_policy_load_text("{\"version\":1,\"name\":\"s\",\"rules\":{\"parse-error\":\"warning\"}}", 58,
	                        "t", &q, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "rules.parse-error: this rule cannot be relaxed"));
	ck_assert_int_eq(
	    tj_policy_load_text("{\"version\":1,\"name\":\"s\",\"rules\":{\"cloud-blocked\":\"fatal\"}}", 58,
	                        "t", &q, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "rules.cloud-blocked: severity must be"));
}
END_TEST

static size_t warnings(const char *text)
{
	struct tj_policy_issues is;
	struct tj_error err = {0};
	size_t n;

	ck_assert_int_eq(tj_policy_check_text(text, strlen(text), "t", &is, &err), 0);
	ck_assert_uint_eq(is.n_errors, 0);
	n = is.n;
	tj_policy_issues_free(&is);
	return n;
}

START_TEST(builtin_provider_dropped_is_a_warning)
{
	ck_assert_uint_eq(warnings("{\"version\": 1, \"name\": \"a\"}"), 0);
	ck_assert_uint_eq(
	    warnings("{\"version\": 1, \"name\": \"a\", \"providers\": {\"allowed\": [\"aws\"]}}"), 1);
	ck_assert_uint_eq(
	    warnings(
	        "{\"version\": 1, \"name\": \"a\", \"providers\": {\"allowed\": [\"aws\", \"terraform\"]}}"),
	    0);
	ck_assert_uint_eq(
	    warnings(
	        "{\"version\": 1, \"name\": \"a\", \"plan_rules\": {\"resource_types\": {\"allowed\": []}}}"),
	    1);
	ck_assert_uint_eq(warnings("{\"version\": 1, \"name\": \"a\", \"plan_rules\": {\"required_tags\": "
	                           "{\"types\": [\"a*\"]}}}"),
	                  1);
}
END_TEST

/* "EFFECT PATH" per difference */
static void diff_lines(const char *a, const char *b, char *out, size_t n)
{
	struct tj_policy *p = load(a), *q = load(b);
	cJSON *d = tj_policy_diff(p, q), *e;
	size_t o = 0;

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	cJSON_ArrayForEach (e, d)
		o +=
		    (size_t)snprintf(out + o, n - o, "%s %s\n", cJSON_GetObjectItem(e, "effect")->valuestring,
		                     cJSON_GetObjectItem(e, "path")->valuestring);
	cJSON_Delete(d);
	tj_policy_free(p);
	tj_policy_free(q);
}

START_TEST(diff_says_what_is_allowed_or_forbidden)
{
	char out[4096];

	diff_lines("{\"version\": 1, \"name\": \"a\"}", "{\"version\": 1, \"name\": \"a\"}", out,
	           sizeof(out));
	ck_assert_str_eq(out, "");
	diff_lines("{\"version\": 1, \"name\": \"a\", \"plan_rules\": {\"max_changes\": {\"delete\": 3}}}",
	           "{\"version\": 1, \"name\": \"b\",\n"
	           " \"providers\": {\"allowed\": [\"aws\", \"terraform\", \"hashicorp/random\"]},\n"
	           " \"data_sources\": {\"denied\": [\"external\", \"http\", \"terraform_remote_state\", "
	           "\"dns\"]},\n"
	           " \"provisioners\": {\"denied\": [\"local-exec\"]},\n"
	           " \"limits\": {\"memory\": \"2GiB\", \"pids\": 100},\n"
	           " \"rules\": {\"cloud-blocked\": \"warning\"},\n"
	           " \"plan_rules\": {\"resource_types\": {\"allowed\": [\"aws_*\"]}, \"max_changes\": "
	           "{\"delete\": 5}}}",
	           out, sizeof(out));
	ck_assert_str_eq(out, "changes name\n"
	                      "allows providers.allowed\n"
	                      "forbids data_sources.denied\n"
	                      "allows provisioners.denied\n"
	                      "allows provisioners.denied\n"
	                      "allows limits.memory\n"
	                      "forbids limits.pids\n"
	                      "allows rules.cloud-blocked\n"
	                      "forbids plan_rules.resource_types.allowed\n"
	                      "allows plan_rules.max_changes.delete\n");
	/* the reverse turns every allows into forbids */
	diff_lines(
	    "{\"version\": 1, \"name\": \"a\", \"rules\": {\"cloud-blocked\": \"off\"},"
	    " \"suppressions\": [{\"rule\": \"backend-blocked\", \"path\": \"x/*\", \"reason\": \"reviewed\"}]}",
	    "{\"version\": 1, \"name\": \"a\"}", out, sizeof(out));
	ck_assert_str_eq(out, "forbids rules.cloud-blocked\nforbids suppressions\n");
}
END_TEST

Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_test(tc, every_error_in_one_pass);
	tcase_add_test(tc, not_json_is_one_error);
	tcase_add_test(tc, severity_as_a_string);
	tcase_add_test(tc, builtin_provider_dropped_is_a_warning);
	tcase_add_test(tc, diff_says_what_is_allowed_or_forbidden);
	suite_add_tcase(s, tc);
	return s;
}
