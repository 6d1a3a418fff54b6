/* policy/hcl_lex.c and policy/hcl_parse.c: the HCL native syntax lexer and
 * structural parser.  Inputs that matter to the scan were checked against
 * terraform 1.11.4 once (tests/fixtures/scan/verify-with-terraform.sh); for
 * example an indented closing marker ends a plain <<EOT heredoc in terraform
 * too, and a multi-line comment between a block type and its label is
 * accepted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/hcl.h"

/* Compact token codes of src: "I=N\n" style words separated by spaces. */
static const char *toks(const char *src)
{
	static char out[1024];
	struct hcl_lexer lx;
	struct hcl_token t;
	size_t n = 0;

	ck_assert_int_eq(hcl_lex_init(&lx, src, strlen(src), 16, 10000), 0);
	out[0] = '\0';
	do {
		const char *c;
		char lit[128];
		hcl_lex_next(&lx, &t);
		switch (t.type) {
		case HCL_T_EOF: c = "EOF"; break;
		case HCL_T_NEWLINE: c = "NL"; break;
		case HCL_T_IDENT: snprintf(lit, sizeof(lit), "I:%.*s", (int)t.len, t.start); c = lit; break;
		case HCL_T_NUMBER: snprintf(lit, sizeof(lit), "N:%.*s", (int)t.len, t.start); c = lit; break;
		case HCL_T_OP: snprintf(lit, sizeof(lit), "%.*s", (int)t.len, t.start); c = lit; break;
		case HCL_T_LBRACE: c = "{"; break;
		case HCL_T_RBRACE: c = "}"; break;
		case HCL_T_LBRACK: c = "["; break;
		case HCL_T_RBRACK: c = "]"; break;
		case HCL_T_LPAREN: c = "("; break;
		case HCL_T_RPAREN: c = ")"; break;
		case HCL_T_OQUOTE: c = "Q"; break;
		case HCL_T_CQUOTE: c = "q"; break;
		case HCL_T_OHEREDOC: c = "H"; break;
		case HCL_T_CHEREDOC: c = "h"; break;
		case HCL_T_LITERAL: snprintf(lit, sizeof(lit), "L:%s", t.text); c = lit; break;
		case HCL_T_TEMPLATE_INTERP: c = "${"; break;
		case HCL_T_TEMPLATE_CONTROL: c = "%{"; break;
		case HCL_T_TEMPLATE_SEQEND: c = "$}"; break;
		default: snprintf(lit, sizeof(lit), "ERR(%d:%d %s)", t.line, t.col, lx.errmsg); c = lit; break;
		}
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", n ? " " : "", c);
	} while (t.type != HCL_T_EOF && t.type != HCL_T_ERROR && n < sizeof(out) - 200);
	hcl_lex_free(&lx);
	return out;
}

START_TEST(lex_tokens)
{
	ck_assert_str_eq(toks("a = 1\n"), "I:a = N:1 NL EOF");
	ck_assert_str_eq(toks("a = [1, 2.5e3]"), "I:a = [ N:1 , N:2.5e3 ] EOF");
	ck_assert_str_eq(toks("x == y != z <= w >= v && u || !t ? s : r => q ... p :: o"),
			 "I:x == I:y != I:z <= I:w >= I:v && I:u || ! I:t ? I:s : I:r => I:q ... I:p :: I:o EOF");
	ck_assert_str_eq(toks("local-exec a_b-c"), "I:local-exec I:a_b-c EOF");
	ck_assert_str_eq(toks("a.0.b[1]"), "I:a . N:0 . I:b [ N:1 ] EOF");
}
END_TEST

START_TEST(lex_comments)
{
	ck_assert_str_eq(toks("a # x\nb // y\r\nc /* z\n w */ d"), "I:a NL I:b NL I:c I:d EOF");
	/* a block comment between a block type and its label is no newline */
	ck_assert_str_eq(toks("provisioner /*\n*/ \"x\" {}"), "I:provisioner Q L:x q { } EOF");
	ck_assert_str_eq(toks("a /* never closed"), "I:a ERR(1:3 unterminated /* comment)");
}
END_TEST

START_TEST(lex_strings_and_escapes)
{
	ck_assert_str_eq(toks("\"local\\u002dexec\""), "Q L:local-exec q EOF");
	ck_assert_str_eq(toks("\"\\U00000066ile\""), "Q L:file q EOF");
	ck_assert_str_eq(toks("\"a\\n\\t\\\"\\\\b\""), "Q L:a\n\t\"\\b q EOF");
	ck_assert_str_eq(toks("\"\\u00e9\\U0001F600\""), "Q L:\xc3\xa9\xf0\x9f\x98\x80 q EOF");
	ck_assert_str_eq(toks("\"$${x} %%{y}\""), "Q L:${x} %{y} q EOF");
	ck_assert_str_eq(toks("\"a$b%c\""), "Q L:a$b%c q EOF");
	ck_assert_str_eq(toks("\"\""), "Q q EOF");
	ck_assert_str_eq(toks("\"\\x\""), "Q ERR(1:2 invalid escape sequence in string)");
	ck_assert_str_eq(toks("\"\\uD800\""), "Q ERR(1:8 \\u or \\U escape is not a Unicode scalar value)");
	ck_assert_str_eq(toks("\"\\u12\""), "Q ERR(1:2 invalid \\u or \\U escape: expected hex digits)");
	ck_assert_str_eq(toks("\"abc"), "Q ERR(1:5 unterminated string)");
	ck_assert_str_eq(toks("\"ab\ncd\""), "Q ERR(1:4 unterminated string: quoted strings cannot span lines)");
}
END_TEST

START_TEST(lex_templates_nest)
{
	ck_assert_str_eq(toks("\"a${b}c\""), "Q L:a ${ I:b $} L:c q EOF");
	ck_assert_str_eq(toks("\"${\"${\"x\"}\"}\""), "Q ${ Q ${ Q L:x q $} q $} q EOF");
	ck_assert_str_eq(toks("\"%{ if a }b%{ endif }\""), "Q %{ I:if I:a $} L:b %{ I:endif $} q EOF");
	/* braces inside an interpolation are counted, not mistaken for its end */
	ck_assert_str_eq(toks("\"${ {a = 1}.a }\""), "Q ${ { I:a = N:1 } . I:a $} q EOF");
	ck_assert_str_eq(toks("\"${~ x ~}\""), "Q ${ I:x $} q EOF");
	ck_assert_str_eq(toks("\"${ x"), "Q ${ I:x ERR(1:6 unexpected end of file inside a template interpolation)");
}
END_TEST

START_TEST(lex_heredocs)
{
	ck_assert_str_eq(toks("a = <<EOT\nx ${y}\nEOT\nb"),
			 "I:a = H L:x  ${ I:y $} L:\n h NL I:b EOF");
	/* indented closing marker, <<- and CRLF */
	ck_assert_str_eq(toks("a = <<-EOT\r\n  x\r\n  EOT\r\n"), "I:a = H L:  x\n h NL EOF");
	/* the line is compared after trimming white space, Unicode spaces too,
	 * as HCL does (bytes.TrimSpace): terraform accepts all of these */
	ck_assert_str_eq(toks("<<EOT\nx\nEOT  \t\n"), "H L:x\n h NL EOF");
	ck_assert_str_eq(toks("<<EOT\nx\n\xc2\xa0" "EOT\xe3\x80\x80\r\n"), "H L:x\n h NL EOF");
	ck_assert_str_eq(toks("<<EOT\nx\nEOT\xc2\xa1\nEOT"), "H L:x\n L:EOT\xc2\xa1\n h EOF");
	/* the marker only ends the heredoc on a line of its own */
	ck_assert_str_eq(toks("<<EOT\nEOTX\nEOT"), "H L:EOTX\n h EOF");
	/* a marker inside an interpolation is not the end */
	ck_assert_str_eq(toks("<<EOT\n${\nEOT\n}\nEOT\n"), "H ${ NL I:EOT NL $} L:\n h NL EOF");
	ck_assert_str_eq(toks("<<EOT\nnever closed\n"), "H L:never closed\n ERR(3:1 unterminated heredoc)");
	ck_assert_str_eq(toks("<<EOT x\n"), "ERR(1:6 invalid heredoc: the marker must end the line)");
}
END_TEST

START_TEST(lex_bom_crlf_positions)
{
	struct hcl_lexer lx;
	struct hcl_token t;
	const char *src = "\xEF\xBB\xBF" "a = 1\r\n  bb = \"x\"\r\n";

	ck_assert_int_eq(hcl_lex_init(&lx, src, strlen(src), 8, 100), 0);
	hcl_lex_next(&lx, &t);
	ck_assert_int_eq(t.type, HCL_T_IDENT);
	ck_assert_int_eq(t.line, 1);
	ck_assert_int_eq(t.col, 1);
	hcl_lex_next(&lx, &t); /* = */
	hcl_lex_next(&lx, &t); /* 1 */
	hcl_lex_next(&lx, &t);
	ck_assert_int_eq(t.type, HCL_T_NEWLINE);
	hcl_lex_next(&lx, &t);
	ck_assert_int_eq(t.type, HCL_T_IDENT);
	ck_assert_int_eq(t.line, 2);
	ck_assert_int_eq(t.col, 3);
	hcl_lex_free(&lx);
	ck_assert_str_eq(toks("a\rb"), "I:a ERR(1:3 carriage return without line feed)");
	ck_assert_str_eq(toks("a @"), "I:a ERR(1:4 invalid character '@')");
}
END_TEST

START_TEST(lex_limits)
{
	struct hcl_lexer lx;
	struct hcl_token t;
	char *deep = malloc(300001);
	size_t n = 0;

	/* tokens */
	ck_assert_int_eq(hcl_lex_init(&lx, "a b c d e f", 11, 8, 3), 0);
	do
		hcl_lex_next(&lx, &t);
	while (t.type != HCL_T_EOF && t.type != HCL_T_ERROR);
	ck_assert_int_eq(t.type, HCL_T_ERROR);
	ck_assert(lx.limit_hit);
	hcl_lex_free(&lx);
	/* nested templates: "${"${"${ ... */
	for (int i = 0; i < 50000; i++)
		n += (size_t)sprintf(deep + n, "\"${");
	ck_assert_int_eq(hcl_lex_init(&lx, deep, n, 64, 0), 0);
	do
		hcl_lex_next(&lx, &t);
	while (t.type != HCL_T_EOF && t.type != HCL_T_ERROR);
	ck_assert_int_eq(t.type, HCL_T_ERROR);
	ck_assert(lx.limit_hit);
	hcl_lex_free(&lx);
	free(deep);
}
END_TEST

/* ---- parser ---- */

static struct hcl_file parse_ok(const char *src)
{
	struct hcl_file f;
	struct hcl_parse_error e;

	ck_assert_msg(hcl_parse(src, strlen(src), 64, 100000, &f, &e) == 0, "line %d: %s", e.line, e.msg);
	return f;
}

static struct hcl_parse_error parse_bad(const char *src)
{
	struct hcl_file f;
	struct hcl_parse_error e;

	ck_assert_msg(hcl_parse(src, strlen(src), 64, 100000, &f, &e) < 0, "accepted: %s", src);
	return e;
}

START_TEST(parse_blocks_and_labels)
{
	struct hcl_file f = parse_ok("resource aws_instance \"a\" {\n"
				     "  provisioner /* c\n */ local-exec {\n    command = \"id\"\n  }\n"
				     "  provisioner \"local\\u002dexec\" { command = \"x\" }\n"
				     "}\n"
				     "terraform {}\n");
	const struct hcl_block *r;

	ck_assert_uint_eq(f.body.n_blocks, 2);
	r = &f.body.blocks[0];
	ck_assert_str_eq(r->type, "resource");
	ck_assert_uint_eq(r->n_labels, 2);
	ck_assert_str_eq(r->labels[0], "aws_instance");
	ck_assert_str_eq(r->labels[1], "a");
	ck_assert_uint_eq(r->body.n_blocks, 2);
	ck_assert_str_eq(r->body.blocks[0].labels[0], "local-exec");
	ck_assert_int_eq(r->body.blocks[0].line, 2);
	ck_assert_str_eq(r->body.blocks[1].labels[0], "local-exec");
	ck_assert_int_eq(r->body.blocks[1].line, 6);
	ck_assert_uint_eq(r->body.blocks[1].body.n_attrs, 1);
	ck_assert_str_eq(f.body.blocks[1].type, "terraform");
	ck_assert_uint_eq(f.body.blocks[1].n_labels, 0);
	hcl_file_free(&f);
}
END_TEST

START_TEST(parse_expression_summaries)
{
	struct hcl_file f = parse_ok("a = \"hashicorp/aws\"\n"
				     "b = \"hashicorp/ext${\"ern\"}al\"\n"
				     "c = aws.west\n"
				     "d = { source = \"x/y\", version = \"1\"\n e = [1] }\n"
				     "g = <<EOT\nhashicorp/aws\nEOT\n"
				     "h = \"a\" + \"b\"\n"
				     "i = (\"a\")\n"
				     "j = provider::evil::run(1)\n"
				     "k = {for k, v in m : k => v}\n");
	const struct hcl_attr *a = f.body.attrs;

	ck_assert_uint_eq(f.body.n_attrs, 9);
	ck_assert_int_eq(a[0].value.kind, HCL_EXPR_STRING);
	ck_assert_str_eq(a[0].value.str, "hashicorp/aws");
	ck_assert_int_eq(a[1].value.kind, HCL_EXPR_TEMPLATE);
	ck_assert_int_eq(a[2].value.kind, HCL_EXPR_TRAVERSAL);
	ck_assert_str_eq(a[2].value.str, "aws");
	ck_assert_int_eq(a[3].value.kind, HCL_EXPR_OBJECT);
	ck_assert_uint_eq(a[3].value.n_items, 3);
	ck_assert_str_eq(a[3].value.items[0].name, "source");
	ck_assert_str_eq(a[3].value.items[0].value.str, "x/y");
	ck_assert_str_eq(a[3].value.items[2].name, "e");
	ck_assert_int_eq(a[3].value.items[2].line, 5);
	ck_assert_int_eq(a[4].value.kind, HCL_EXPR_TEMPLATE);
	ck_assert_int_eq(a[5].value.kind, HCL_EXPR_OTHER);
	ck_assert_int_eq(a[6].value.kind, HCL_EXPR_OTHER);
	ck_assert_int_eq(a[7].value.kind, HCL_EXPR_OTHER);
	ck_assert_int_eq(a[8].value.kind, HCL_EXPR_OTHER);
	ck_assert_uint_eq(f.n_fnrefs, 1);
	ck_assert_str_eq(f.fnrefs[0].provider, "evil");
	ck_assert_int_eq(f.fnrefs[0].line, 11);
	hcl_file_free(&f);
}
END_TEST

START_TEST(parse_strings_are_not_blocks)
{
	struct hcl_file f = parse_ok("locals {\n"
				     "  a = <<-EOT\n    provisioner \"local-exec\" {\n    }\n  EOT\n"
				     "  b = \"provisioner \\\"local-exec\\\" {\"\n"
				     "  c = \"${\"provisioner \\\"local-exec\\\" {\"}\"\n"
				     "  # provisioner \"local-exec\" {}\n"
				     "}\n");

	ck_assert_uint_eq(f.body.n_blocks, 1);
	ck_assert_uint_eq(f.body.blocks[0].body.n_blocks, 0);
	ck_assert_uint_eq(f.body.blocks[0].body.n_attrs, 3);
	hcl_file_free(&f);
}
END_TEST

START_TEST(parse_errors_have_lines)
{
	struct hcl_parse_error e;

	e = parse_bad("resource \"a\" \"b\" {\n  x = 1\n");
	ck_assert_int_eq(e.line, 3);
	ck_assert(!e.limit);
	ck_assert_ptr_nonnull(strstr(e.msg, "not closed"));
	e = parse_bad("a = 1\n}\n");
	ck_assert_int_eq(e.line, 2);
	e = parse_bad("a = (1\n");
	ck_assert_int_eq(e.line, 2);
	e = parse_bad("a = (1]\n");
	ck_assert_int_eq(e.line, 1);
	e = parse_bad("block \"${x}\" {}\n");
	ck_assert_ptr_nonnull(strstr(e.msg, "literal"));
	e = parse_bad("a b = 1\n");
	ck_assert_int_eq(e.line, 1);
	e = parse_bad("\n\n  x = \"\\q\"\n");
	ck_assert_int_eq(e.line, 3);
	ck_assert_int_eq(e.col, 8);
	e = parse_bad("= 1\n");
	ck_assert_int_eq(e.line, 1);
}
END_TEST

START_TEST(parse_limits)
{
	struct hcl_file f;
	struct hcl_parse_error e;
	size_t n = 300000;
	char *deep = malloc(2 * n + 8);

	/* 300k nested parentheses crash terraform's parser; here a limit */
	memcpy(deep, "a = ", 4);
	memset(deep + 4, '(', n);
	memset(deep + 4 + n, ')', n);
	deep[4 + 2 * n] = '\0';
	ck_assert_int_lt(hcl_parse(deep, strlen(deep), 128, 10000000, &f, &e), 0);
	ck_assert(e.limit);
	/* nested blocks */
	n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(deep + n, "b {\n");
	ck_assert_int_lt(hcl_parse(deep, n, 128, 10000000, &f, &e), 0);
	ck_assert(e.limit);
	/* token count */
	ck_assert_int_lt(hcl_parse("a = [1, 2, 3, 4, 5, 6]\n", 23, 128, 8, &f, &e), 0);
	ck_assert(e.limit);
	free(deep);
}
END_TEST

Suite *hcl_suite(void)
{
	Suite *s = suite_create("hcl");
	TCase *lex = tcase_create("lexer");
	TCase *parse = tcase_create("parser");

	tcase_add_test(lex, lex_tokens);
	tcase_add_test(lex, lex_comments);
	tcase_add_test(lex, lex_strings_and_escapes);
	tcase_add_test(lex, lex_templates_nest);
	tcase_add_test(lex, lex_heredocs);
	tcase_add_test(lex, lex_bom_crlf_positions);
	tcase_add_test(lex, lex_limits);
	tcase_set_timeout(lex, 30);
	tcase_add_test(parse, parse_blocks_and_labels);
	tcase_add_test(parse, parse_expression_summaries);
	tcase_add_test(parse, parse_strings_are_not_blocks);
	tcase_add_test(parse, parse_errors_have_lines);
	tcase_add_test(parse, parse_limits);
	tcase_set_timeout(parse, 30);
	suite_add_tcase(s, lex);
	suite_add_tcase(s, parse);
	return s;
}
