/* executor/lockfile.c, the upload exclusions and policy providers.lock_file:
 * what a job does with the upload's .terraform.lock.hcl. */
#include <check.h>
#include <string.h>

#include "executor/job.h"
#include "executor/lockfile.h"
#include "policy/policy.h"

START_TEST(parse_reads_provider_blocks)
{
	static const char text[] = "# This file is maintained automatically by \"terraform init\".\n"
	                           "provider \"registry.terraform.io/hashicorp/aws\" {\n"
	                           "  version     = \"5.100.0\"\n"
	                           "  constraints = \"~> 5.0\"\n"
	                           "  hashes = [\n"
	                           "    \"h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=\",\n"
	                           "    \"zh:0a1b\",\n"
	                           "    \"zh:2c3d\",\n"
	                           "  ]\n"
	                           "}\n\n"
	                           "provider \"registry.terraform.io/hashicorp/random\" {\n"
	                           "  version = \"3.6.0\"\n"
	                           "}\n";
	struct lockfile_entry e[4];
	size_t n;

	ck_assert_int_eq(lockfile_parse(text, strlen(text), e, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(e[0].addr, "registry.terraform.io/hashicorp/aws");
	ck_assert_str_eq(e[0].version, "5.100.0");
	ck_assert_str_eq(e[0].kinds, "h1:, zh:");
	ck_assert_str_eq(e[1].addr, "registry.terraform.io/hashicorp/random");
	ck_assert_str_eq(e[1].version, "3.6.0");
	ck_assert_str_eq(e[1].kinds, "");
	/* not HCL */
	ck_assert_int_lt(lockfile_parse("provider \"x", 12, e, 4, &n), 0);
}
END_TEST

START_TEST(lock_file_kept_only_when_honoured)
{
	struct tj_policy *p = NULL, *q = NULL;
	struct tj_error err;
	static const char ignore[] =
	    "{\"version\": 1, \"name\": \"x\", \"providers\": {\"lock_file\": \"ignore\"}}";
	static const char bad[] =
	    "{\"version\": 1, \"name\": \"x\", \"providers\": {\"lock_file\": \"maybe\"}}";

	ck_assert(!job_upload_excluded(".terraform.lock.hcl", true));
	ck_assert(job_upload_excluded(".terraform.lock.hcl", false));
	ck_assert(!job_upload_excluded("examples/a/.terraform.lock.hcl", true));
	/* what changes what terraform installs or runs stays out either way */
	ck_assert(job_upload_excluded(".terraform", true));
	ck_assert(job_upload_excluded("terraform.d", true));
	ck_assert(job_upload_excluded("terraform.tfstate", true));
	ck_assert(job_upload_excluded(".terraformrc", true));

	ck_assert_int_eq(tj_policy_load(NULL, &p, &err), 0);
	ck_assert_int_eq(p->providers.lock_file, TJ_LOCK_FILE_HONOR); /* the default */
	ck_assert(!job_upload_exclude_cb(".terraform.lock.hcl", NULL, p));
	ck_assert_int_eq(tj_policy_load_text(ignore, strlen(ignore), "ignore", &q, &err), 0);
	ck_assert_int_eq(q->providers.lock_file, TJ_LOCK_FILE_IGNORE);
	ck_assert(job_upload_exclude_cb(".terraform.lock.hcl", NULL, q));
	{
		cJSON *j = tj_policy_to_json(q);
		ck_assert_str_eq(cJSON_GetStringValue(
		                     cJSON_GetObjectItem(cJSON_GetObjectItem(j, "providers"), "lock_file")),
		                 "ignore");
		cJSON_Delete(j);
	}
	tj_policy_free(q);
	q = NULL;
	ck_assert_int_lt(tj_policy_load_text(bad, strlen(bad), "bad", &q, &err), 0);
	ck_assert_msg(strstr(err.msg, "providers.lock_file") && strstr(err.msg, "\"honor\" or \"ignore\""),
	              "%s", err.msg);
	tj_policy_free(p);
}
END_TEST

Suite *lockfile_suite(void)
{
	Suite *s = suite_create("lockfile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_reads_provider_blocks);
	tcase_add_test(tc, lock_file_kept_only_when_honoured);
	suite_add_tcase(s, tc);
	return s;
}
