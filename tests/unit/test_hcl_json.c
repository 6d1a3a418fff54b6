/* policy/tfjson.c: .tf.json mapped onto the HCL tree as terraform maps it,
 * and the replay of the fuzz seed corpus (tests/fuzz/corpus) through both
 * parsers. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/hcl.h"
#include "policy/tfjson.h"
#include "tests/testutil.h"

static struct hcl_file json_ok(const char *src)
{
	struct hcl_file f;
	struct hcl_parse_error e;

	ck_assert_msg(tfjson_parse(src, strlen(src), 64, &f, &e) == 0, "line %d: %s", e.line, e.msg);
	return f;
}

START_TEST(json_blocks_labels_arrays)
{
	struct hcl_file f = json_ok("{\n"
				    " \"resource\": {\"aws_instance\": {\"a\": {\"ami\": \"x\"}, \"b\": [{}, {}]}},\n"
				    " \"resource\": [{\"terraform_data\": {\"c\": {\"provisioner\": [\n"
				    "   {\"local\\u002dexec\": {\"command\": \"id\"}},\n"
				    "   {\"file\": [{\"source\": \"a\"}, {\"source\": \"b\"}]}]}}}],\n"
				    " \"//\": {\"resource\": {\"x\": {\"y\": {}}}},\n"
				    " \"terraform\": {\"backend\": {\"s3\": {}}}\n"
				    "}\n");
	const struct hcl_body *b = &f.body;

	/* a, b twice (array), c, and terraform: the "//" property is a comment */
	ck_assert_uint_eq(b->n_blocks, 5);
	ck_assert_str_eq(b->blocks[0].labels[1], "a");
	ck_assert_int_eq(b->blocks[0].line, 2);
	ck_assert_uint_eq(b->blocks[0].body.n_attrs, 1);
	ck_assert_str_eq(b->blocks[1].labels[1], "b");
	ck_assert_str_eq(b->blocks[2].labels[1], "b");
	ck_assert_str_eq(b->blocks[3].labels[0], "terraform_data");
	ck_assert_uint_eq(b->blocks[3].body.n_blocks, 3);
	ck_assert_str_eq(b->blocks[3].body.blocks[0].type, "provisioner");
	ck_assert_str_eq(b->blocks[3].body.blocks[0].labels[0], "local-exec");
	ck_assert_int_eq(b->blocks[3].body.blocks[0].line, 4);
	ck_assert_str_eq(b->blocks[3].body.blocks[2].labels[0], "file");
	ck_assert_int_eq(b->blocks[3].body.blocks[2].line, 5);
	ck_assert_str_eq(b->blocks[4].type, "terraform");
	ck_assert_str_eq(b->blocks[4].body.blocks[0].type, "backend");
	ck_assert_str_eq(b->blocks[4].body.blocks[0].labels[0], "s3");
	hcl_file_free(&f);
}
END_TEST

START_TEST(json_templates)
{
	struct hcl_file f = json_ok("{\"module\": {\"m\": {\"source\": \"./a\", \"x\": \"${var.a}\", \"y\": \"$${lit}\","
				    " \"z\": \"%{ if a }b%{ endif }\", \"w\": \"${provider::evil::f(1)}\","
				    " \"providers\": {\"aws\": \"aws.west\"}}}}");
	const struct hcl_body *m = &f.body.blocks[0].body;

	ck_assert_uint_eq(m->n_attrs, 6);
	ck_assert_int_eq(m->attrs[0].value.kind, HCL_EXPR_STRING);
	ck_assert_str_eq(m->attrs[0].value.str, "./a");
	ck_assert_int_eq(m->attrs[1].value.kind, HCL_EXPR_TEMPLATE);
	ck_assert_int_eq(m->attrs[2].value.kind, HCL_EXPR_STRING);
	ck_assert_str_eq(m->attrs[2].value.str, "${lit}");
	ck_assert_int_eq(m->attrs[3].value.kind, HCL_EXPR_TEMPLATE);
	ck_assert_int_eq(m->attrs[5].value.kind, HCL_EXPR_OBJECT);
	ck_assert_str_eq(m->attrs[5].value.items[0].value.str, "aws.west");
	ck_assert_uint_eq(f.n_fnrefs, 1);
	ck_assert_str_eq(f.fnrefs[0].provider, "evil");
	hcl_file_free(&f);
}
END_TEST

START_TEST(json_errors)
{
	struct hcl_file f;
	struct hcl_parse_error e;
	char *deep;
	size_t n = 0;

	ck_assert_int_lt(tfjson_parse("{\n\"a\": \n}", 10, 64, &f, &e), 0);
	ck_assert_int_eq(e.line, 3);
	ck_assert_int_lt(tfjson_parse("[1]", 3, 64, &f, &e), 0);
	ck_assert_int_lt(tfjson_parse("{} {}", 5, 64, &f, &e), 0);
	ck_assert_int_lt(tfjson_parse("{\"resource\": \"x\"}", 17, 64, &f, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "object"));
	/* nesting: cJSON's own limit or ours, never a stack overflow */
	deep = malloc(400010);
	n += (size_t)sprintf(deep, "{\"locals\": {\"a\": ");
	for (int i = 0; i < 100000; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100000; i++)
		deep[n++] = ']';
	n += (size_t)sprintf(deep + n, "}}");
	ck_assert_int_lt(tfjson_parse(deep, n, 64, &f, &e), 0);
	n = (size_t)sprintf(deep, "{\"locals\": {\"a\": ");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	n += (size_t)sprintf(deep + n, "}}");
	ck_assert_int_lt(tfjson_parse(deep, n, 64, &f, &e), 0);
	ck_assert(e.limit);
	free(deep);
}
END_TEST

/* `make test` replays the fuzzers' seeds: the corpus in tests/fuzz/corpus and
 * every configuration file of tests/fixtures/scan (which seed the fuzzers
 * too, see mk/policy.mk).  Every file must go through the parser without a
 * crash or leak (ASan in `make asan`). */
static int replay_file(const char *path, bool json)
{
	char *buf;
	size_t len;
	struct tj_error err;
	struct hcl_file f;
	struct hcl_parse_error e;

	ck_assert_msg(tj_read_file(path, 1 << 20, &buf, &len, &err) == 0, "%s", err.msg);
	if ((json ? tfjson_parse(buf, len, 64, &f, &e) : hcl_parse(buf, len, 64, 100000, &f, &e)) == 0)
		hcl_file_free(&f);
	free(buf);
	return 1;
}

/* Files of dir (and, with depth, of its subdirectories) whose name ends in
 * .tf.json (json) or .tf (not json). */
static int replay_dir(const char *dir, bool json, int depth)
{
	char path[4096];
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "corpus %s", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			if (depth > 0)
				n += replay_dir(path, json, depth - 1);
		} else if (json ? tj_str_has_suffix(de->d_name, ".tf.json")
				: tj_str_has_suffix(de->d_name, ".tf")) {
			n += replay_file(path, json);
		}
	}
	closedir(d);
	return n;
}

static void replay(const char *corpus, bool json)
{
	int n = replay_dir(tj_test_src(corpus), json, 0);

	ck_assert_int_gt(n, 0);
	n = replay_dir(tj_test_src("tests/fixtures/scan"), json, 2);
	ck_assert_int_gt(n, 0);
}

START_TEST(corpus_replay_hcl)
{
	replay("tests/fuzz/corpus/hcl", false);
}
END_TEST

START_TEST(corpus_replay_tfjson)
{
	replay("tests/fuzz/corpus/tfjson", true);
}
END_TEST

Suite *hcl_json_suite(void)
{
	Suite *s = suite_create("hcl_json");
	TCase *tc = tcase_create("tfjson");
	TCase *corpus = tcase_create("corpus");

	tcase_add_test(tc, json_blocks_labels_arrays);
	tcase_add_test(tc, json_templates);
	tcase_add_test(tc, json_errors);
	tcase_set_timeout(tc, 30);
	tcase_add_test(corpus, corpus_replay_hcl);
	tcase_add_test(corpus, corpus_replay_tfjson);
	tcase_set_timeout(corpus, 60);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, corpus);
	return s;
}
