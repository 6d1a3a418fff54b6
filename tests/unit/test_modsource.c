/* executor/modsource: module source addresses and version constraints,
 * checked against terraform's documented forms and go-version's behaviour. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "executor/modsource.h"

static void canon(const char *raw, enum modsrc_kind kind, const char *want)
{
	struct modsrc s;
	char why[256] = "";

	ck_assert_msg(modsrc_parse(raw, &s, why, sizeof(why)) == 0, "%s: %s", raw, why);
	ck_assert_msg(s.kind == kind, "%s: kind %d", raw, s.kind);
	ck_assert_str_eq(s.canonical, want);
}

static void refused(const char *raw)
{
	struct modsrc s;
	char why[256] = "";

	ck_assert_msg(modsrc_parse(raw, &s, why, sizeof(why)) < 0, "%s parsed as %s", raw, s.canonical);
	ck_assert_msg(*why, "%s: no reason", raw);
}

START_TEST(registry_addresses)
{
	struct modsrc s;

	canon("hashicorp/consul/aws", MODSRC_REGISTRY, "registry.terraform.io/hashicorp/consul/aws");
	canon("terraform-aws-modules/vpc/aws", MODSRC_REGISTRY,
	      "registry.terraform.io/terraform-aws-modules/vpc/aws");
	canon("Example.COM:443/Corp/net_work/aws", MODSRC_REGISTRY, "example.com/Corp/net_work/aws");
	canon("example.com:8443/corp/net/aws", MODSRC_REGISTRY, "example.com:8443/corp/net/aws");
	canon("hashicorp/consul/aws//modules/consul-cluster", MODSRC_REGISTRY,
	      "registry.terraform.io/hashicorp/consul/aws//modules/consul-cluster");
	canon("hashicorp/consul/aws//modules/./a/../b/", MODSRC_REGISTRY,
	      "registry.terraform.io/hashicorp/consul/aws//modules/b");
	ck_assert_int_eq(modsrc_parse("app.terraform.io/acme/vpc/aws//x", &s, NULL, 0), 0);
	ck_assert_str_eq(s.host, "app.terraform.io");
	ck_assert_str_eq(s.ns, "acme");
	ck_assert_str_eq(s.name, "vpc");
	ck_assert_str_eq(s.system, "aws");
	ck_assert_str_eq(s.subdir, "x");
	refused("hashicorp/consul/aws//../x");
	refused("hashicorp/-consul/aws");
	refused("hashicorp/consul/AWS");
	refused("localhost/hashicorp/consul/aws");
}
END_TEST

START_TEST(local_and_remote)
{
	canon("./modules/a/", MODSRC_LOCAL, "./modules/a");
	canon("./a/../b", MODSRC_LOCAL, "./b");
	canon("../shared//x", MODSRC_LOCAL, "../shared/x");
	canon(".\\win\\mod", MODSRC_LOCAL, "./win/mod");
	canon("./", MODSRC_LOCAL, "./.");
	canon("git::https://example.com/org/repo.git//sub/dir?ref=v1.2.3", MODSRC_GIT,
	      "git::https://example.com/org/repo.git//sub/dir?ref=v1.2.3");
	canon("git::https://example.com/org/repo.git?ref=main", MODSRC_GIT,
	      "git::https://example.com/org/repo.git?ref=main");
	canon("git::ssh://git@example.com/org/repo.git", MODSRC_GIT,
	      "git::ssh://git@example.com/org/repo.git");
	canon("github.com/hashicorp/example", MODSRC_GIT, "git::https://github.com/hashicorp/example.git");
	canon("github.com/hashicorp/example.git//sub?ref=v2", MODSRC_GIT,
	      "git::https://github.com/hashicorp/example.git//sub?ref=v2");
	canon("github.com/hashicorp/example/more//sub", MODSRC_GIT,
	      "git::https://github.com/hashicorp/example.git//more/sub");
	canon("https://example.com/module.zip", MODSRC_OTHER, "https://example.com/module.zip");
	canon("s3::https://s3.amazonaws.com/bucket/mod.zip", MODSRC_OTHER,
	      "s3::https://s3.amazonaws.com/bucket/mod.zip");
	refused("git::https://example.com/org/repo.git?ref=v1&depth=1");
	refused("git::https://example.com/org/repo.git//../up");
	refused("");
}
END_TEST

static void ver(const char *s, const char *want)
{
	struct modver v;
	char out[256];

	ck_assert_msg(modver_parse(s, &v) == 0, "%s", s);
	modver_string(&v, out, sizeof(out));
	ck_assert_str_eq(out, want);
}

static int vcmp(const char *a, const char *b)
{
	struct modver x, y;

	ck_assert_int_eq(modver_parse(a, &x), 0);
	ck_assert_int_eq(modver_parse(b, &y), 0);
	return modver_cmp(&x, &y);
}

START_TEST(versions)
{
	struct modver v;

	ver("1.2", "1.2.0");
	ver("v1.2.3", "1.2.3");
	ver("1.2.3.4", "1.2.3.4");
	ver("1.0.0-beta.1+build.5", "1.0.0-beta.1+build.5");
	ver("1.0.0beta", "1.0.0-beta");
	ck_assert_int_lt(modver_parse("1.x", &v), 0);
	ck_assert_int_lt(modver_parse("", &v), 0);
	ck_assert_int_lt(modver_parse("1.2.3 ", &v), 0);
	ck_assert_int_lt(modver_parse("99999999999999999999", &v), 0);
	ck_assert_int_eq(vcmp("1.2", "1.2.0"), 0);
	ck_assert_int_eq(vcmp("1.10.0", "1.9.9"), 1);
	ck_assert_int_eq(vcmp("1.0.0-beta", "1.0.0"), -1);
	ck_assert_int_eq(vcmp("1.0.0-beta.2", "1.0.0-beta.10"), -1);
	ck_assert_int_eq(vcmp("1.0.0-beta.2", "1.0.0-alpha.10"), 1);
	ck_assert_int_eq(vcmp("1.0.0-1", "1.0.0-alpha"), -1);
	ck_assert_int_eq(vcmp("1.0.0+a", "1.0.0+b"), 0);
	ck_assert_int_eq(vcmp("1.2.3.1", "1.2.3"), 1);
}
END_TEST

static bool meets(const char *constraint, const char *version)
{
	struct modconstraint c;
	struct modver v;

	ck_assert_msg(modconstraint_parse(constraint, &c) == 0, "constraint %s", constraint);
	ck_assert_msg(modver_parse(version, &v) == 0, "version %s", version);
	return modconstraint_check(&c, &v);
}

START_TEST(constraints)
{
	struct modconstraint c;

	/* go-version's own table, in substance */
	ck_assert(meets(">= 1.0", "1.0.0"));
	ck_assert(!meets(">= 1.0", "0.9.9"));
	ck_assert(meets("= 1.0", "1.0.0"));
	ck_assert(meets("1.0", "1.0.0"));
	ck_assert(!meets("!= 1.0", "1.0.0"));
	ck_assert(meets("!=1.0", "1.0.1"));
	ck_assert(meets("> 1.0", "1.0.1"));
	ck_assert(meets("< 1.0", "0.9"));
	ck_assert(meets("<= 1.0", "1.0"));
	ck_assert(meets(">= 1.0, < 1.4", "1.2"));
	ck_assert(!meets(">= 1.0, < 1.4", "1.4"));
	ck_assert(meets("~> 1.0", "1.9.9"));
	ck_assert(!meets("~> 1.0", "2.0.0"));
	ck_assert(meets("~> 1.2", "1.2.0"));
	ck_assert(!meets("~> 1.2", "1.1.9"));
	ck_assert(meets("~> 1.2.3", "1.2.9"));
	ck_assert(!meets("~> 1.2.3", "1.3.0"));
	ck_assert(!meets("~> 1.2.3", "1.2.2"));
	ck_assert(meets("~> 5.0", "5.21.0"));
	ck_assert(!meets("~> 5.0", "6.0.0"));
	ck_assert(meets("~>1.0.0-beta", "1.0.0-beta.2"));
	ck_assert(!meets("~> 1.0.0-beta", "1.0.0"));
	ck_assert(!meets(">= 1.0", "1.1.0-beta"));
	ck_assert(meets(">= 1.0.0-alpha", "1.0.0-beta"));
	ck_assert(!meets(">= 1.0.0-alpha", "1.0.1-beta"));
	ck_assert(meets(" >= 4.0 , != 4.2.0 , < 5 ", "4.3.1"));
	ck_assert(!meets(">= 4.0, != 4.2.0, < 5", "4.2.0"));
	ck_assert(meets("", "0.0.1"));
	ck_assert_int_lt(modconstraint_parse("~> one", &c), 0);
	ck_assert_int_lt(modconstraint_parse(">= 1.0,", &c), 0);
	ck_assert_int_lt(modconstraint_parse("=> 1.0", &c), 0);
}
END_TEST

START_TEST(prerelease_needs_exact_request)
{
	struct modconstraint c;
	struct modver v;

	ck_assert_int_eq(modver_parse("2.0.0-rc1", &v), 0);
	ck_assert_int_eq(modconstraint_parse(">= 1.0", &c), 0);
	ck_assert(!modconstraint_admits(&c, &v));
	ck_assert_int_eq(modconstraint_parse("2.0.0-rc1", &c), 0);
	ck_assert(modconstraint_admits(&c, &v));
	ck_assert(modconstraint_check(&c, &v));
	ck_assert_int_eq(modver_parse("2.0.0", &v), 0);
	ck_assert(modconstraint_admits(&c, &v));
}
END_TEST

Suite *modsource_suite(void)
{
	Suite *s = suite_create("modsource");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, registry_addresses);
	tcase_add_test(tc, local_and_remote);
	tcase_add_test(tc, versions);
	tcase_add_test(tc, constraints);
	tcase_add_test(tc, prerelease_needs_exact_request);
	suite_add_tcase(s, tc);
	return s;
}
