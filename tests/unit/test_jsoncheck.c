/* common/jsoncheck.c: the one JSON checker, option by option, and the
 * wording and offsets of its errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsoncheck.h"
#include "common/util.h"

/* What request bodies are checked with (api/request.c), for a limit of 3. */
static const struct tj_json_opts strict = {.max_depth = 3,
                                           .depth_counts_values = true,
                                           .utf8 = true,
                                           .paired_surrogates = true,
                                           .unique_keys = true,
                                           .no_nul_keys = true,
                                           .no_nul_strings = true,
                                           .nul_ok_in = "variables",
                                           .words = TJ_JSON_WORDS_REQUEST};
static const struct tj_json_opts grammar = {.max_depth = 3};

static int check(const char *s, const struct tj_json_opts *o, struct tj_error *err)
{
	return tj_json_check(s, strlen(s), o, NULL, err);
}

/* The message for s, or "" if it passes. */
static const char *said(const char *s, const struct tj_json_opts *o)
{
	static struct tj_error err;

	tj_error_clear(&err);
	return check(s, o, &err) < 0 ? err.msg : "";
}

START_TEST(grammar_alone)
{
	static const char *const good[] = {"{}", " [ ] ", "0", "-0.5e+3", "1E-2", "\"a\\u00e9\\n\\/\"",
	                                   "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
	                                   /* what only the stricter options refuse */
	                                   "\"\xff\"", "\"\\ud800\"", "{\"a\":1,\"a\":2}",
	                                   "{\"\\u0000\":\"\\u0000\"}"};
	static const char *const bad[] = {
	    "",    " ",   "{",       "}",          "[1,]",   "{\"a\"}", "{\"a\":1,}", "01",
	    "1.",  "-",   ".5",      "1e",         "+1",     "\"a",     "\"\\x\"",    "\"\\u12\"",
	    "tru", "nul", "[1] [2]", "{\"a\":1}x", "\"\t\"", "{1:2}",   "[1 2]",      "'a'"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(check(good[i], &grammar, NULL) == 0, "refused: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(check(bad[i], &grammar, NULL) < 0, "accepted: %s", bad[i]);
	/* a NUL byte is never JSON, in a string or after the value */
	ck_assert_int_lt(tj_json_check("\"a\0b\"", 5, &grammar, NULL, NULL), 0);
	ck_assert_int_lt(tj_json_check("{}\0", 3, &grammar, NULL, NULL), 0);
}
END_TEST

/* max_depth counts nested arrays and objects; with depth_counts_values,
 * levels of values, a scalar included. */
START_TEST(depth_two_ways)
{
	struct tj_json_opts o = {.max_depth = 2};

	ck_assert_str_eq(said("[[1]]", &o), "");
	ck_assert_str_eq(said("{\"a\":{\"b\":1}}", &o), "");
	ck_assert_str_eq(said("[[[1]]]", &o), "invalid JSON at byte 2: nested too deeply");
	o.max_depth = 0;
	ck_assert_str_eq(said("1", &o), "");
	ck_assert_str_eq(said("[]", &o), "invalid JSON at byte 0: nested too deeply");

	o = (struct tj_json_opts){
	    .max_depth = 2, .depth_counts_values = true, .words = TJ_JSON_WORDS_REQUEST};
	ck_assert_str_eq(said("{\"a\":1}", &o), "");
	ck_assert_str_eq(said("{\"a\":{}}", &o), "");
	ck_assert_str_eq(said("[[]]", &o), "");
	ck_assert_str_eq(said("{\"a\":{\"b\":1}}", &o), "nesting deeper than 2 levels at byte 10");
	/* said where the value was due, before its whitespace */
	ck_assert_str_eq(said("[1, [2]]", &o), "nesting deeper than 2 levels at byte 5");
	o.max_depth = 1;
	ck_assert_str_eq(said(" 7 ", &o), "");
	ck_assert_str_eq(said("[]", &o), "");
	ck_assert_str_eq(said("[1]", &o), "nesting deeper than 1 levels at byte 1");
	o.max_depth = 0;
	ck_assert_str_eq(said("7", &o), "nesting deeper than 0 levels at byte 0");
}
END_TEST

START_TEST(deep_nesting_stops_at_the_bound)
{
	static char deep[200001];
	struct tj_json_opts o = {.max_depth = 512, .depth_counts_values = true};

	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	ck_assert_int_lt(tj_json_check(deep, 200000, &grammar, NULL, NULL), 0);
	ck_assert_int_lt(tj_json_check(deep, 200000, &tj_json_text_opts, NULL, NULL), 0);
	ck_assert_int_lt(tj_json_check(deep, 200000, &o, NULL, NULL), 0);
	/* 1000 nested arrays are text, 1001 are not */
	ck_assert_int_eq(tj_json_check(deep + 100000 - 1000, 2000, &tj_json_text_opts, NULL, NULL), 0);
	ck_assert_int_lt(tj_json_check(deep + 100000 - 1001, 2002, &tj_json_text_opts, NULL, NULL), 0);
}
END_TEST

START_TEST(utf8_option)
{
	static const char *const not_utf8[] = {
	    "\"\xff\"",        "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
	    "\"\xe0\x80\xaf\""};
	struct tj_json_opts o = {.max_depth = 3, .utf8 = true};

	ck_assert_str_eq(said("\"h\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \x7f\"", &o), "");
	for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++) {
		ck_assert_str_eq(said(not_utf8[i], &grammar), "");
		ck_assert_str_eq(said(not_utf8[i], &o), "invalid JSON at byte 1: not UTF-8");
	}
	o.words = TJ_JSON_WORDS_REQUEST;
	ck_assert_str_eq(said("[\"ab\xff\"]", &o), "invalid UTF-8 at byte 4");
}
END_TEST

START_TEST(surrogate_escapes)
{
	struct tj_json_opts o = strict;

	ck_assert_str_eq(said("\"\\ud83d\\ude00\"", &o), "");
	ck_assert_str_eq(said("\"\\ud800\"", &grammar), "");
	ck_assert_str_eq(said("\"\\udc00\"", &tj_json_text_opts), "");
	ck_assert_str_eq(said("\"\\ud800\"", &o), "a lone surrogate escape at byte 7");
	ck_assert_str_eq(said("\"\\udc00\\ud800\"", &o), "a lone surrogate escape at byte 7");
	ck_assert_str_eq(said("\"\\ud800\\u0041\"", &o), "a lone surrogate escape at byte 13");
	ck_assert_str_eq(said("\"\\ud800\\u00zz\"", &o), "an invalid \\u escape at byte 12");
	ck_assert_str_eq(said("\"\\ud800\\u00\"", &o), "a truncated \\u escape at byte 9");
}
END_TEST

/* Keys compare after unescaping, in every object, a pair of surrogate
 * escapes as the code point it stands for. */
START_TEST(unique_keys)
{
	struct tj_json_opts o = {.max_depth = 8, .unique_keys = true, .words = TJ_JSON_WORDS_REQUEST};

	ck_assert_str_eq(said("{\"a\":1,\"a\":2}", &grammar), "");
	ck_assert_str_eq(said("{\"a\":{\"a\":1},\"b\":[{\"a\":1},{\"a\":2}]}", &o), "");
	ck_assert_str_eq(said("{\"a\":1,\"a\":2}", &o), "a duplicate key 'a' at byte 10");
	ck_assert_str_eq(said("[{\"x\":1,\"\\u0078\":2}]", &o), "a duplicate key 'x' at byte 16");
	ck_assert_str_eq(said("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", &o),
	                 "a duplicate key '\xf0\x9f\x98\x80' at byte 24");
	ck_assert_str_eq(said("{\"\":1,\"\":2}", &o), "a duplicate key '' at byte 8");
	o.words = TJ_JSON_WORDS_TEXT;
	ck_assert_str_eq(said("{\"a\":1,\"a\":2}", &o), "invalid JSON at byte 10: a duplicate key 'a'");
}
END_TEST

/* \u0000 in keys and strings; one top-level member may hold it in its strings. */
START_TEST(nul_escapes)
{
	struct tj_json_opts o = strict;

	o.max_depth = 8;
	ck_assert_str_eq(said("{\"variables\":{\"a\":[\"x\\u0000\"]}}", &o), "");
	ck_assert_str_eq(said("{\"other\":\"\\u0000\"}", &o), "a string holds a NUL character at byte 17");
	ck_assert_str_eq(said("\"\\u0000\"", &o), "a string holds a NUL character at byte 8");
	ck_assert_str_eq(said("{\"variables\":{\"a\\u0000\":1}}", &o),
	                 "a key holds a NUL character at byte 23");
	ck_assert_str_eq(said("[{\"variables\":\"\\u0000\"}]", &o),
	                 "a string holds a NUL character at byte 22");
	o.no_nul_strings = false;
	ck_assert_str_eq(said("{\"other\":\"\\u0000\"}", &o), "");
	o.no_nul_keys = false;
	ck_assert_str_eq(said("{\"\\u0000\":1}", &o), "");
}
END_TEST

/* The same faults in the two wordings: the text one names where the token
 * starts, the request one where reading stopped. */
START_TEST(both_wordings)
{
	static const struct {
		const char *in, *text, *request;
	} cases[] = {
	    {"", "at byte 0: a value is missing", "a value was expected at byte 0"},
	    {"[1,]", "at byte 3: not a value", "a value was expected at byte 3"},
	    {"[-x]", "at byte 1: not a value", "an invalid number at byte 2"},
	    {"1.", "at byte 0: a number without digits after '.'", "an invalid number at byte 2"},
	    {"1e+", "at byte 0: a number without exponent digits", "an invalid number at byte 3"},
	    {"\"a\tb\"", "at byte 2: a control character in a string",
	     "a control character in a string at byte 2"},
	    {"[\"ab", "at byte 1: an unterminated string", "an unterminated string at byte 4"},
	    {"\"a\\", "at byte 0: an unterminated string", "an unterminated string at byte 3"},
	    {"\"a\\x\"", "at byte 2: an unknown escape", "an invalid escape at byte 3"},
	    {"\"a\\u12", "at byte 2: a \\u escape without four hex digits",
	     "a truncated \\u escape at byte 4"},
	    {"\"a\\u12g4\"", "at byte 2: a \\u escape without four hex digits",
	     "an invalid \\u escape at byte 7"},
	    {"{1:2}", "at byte 1: an object key must be a string", "a key was expected at byte 1"},
	    {"{\"a\" 1}", "at byte 5: ':' expected", "':' was expected at byte 5"},
	    {"{\"a\":1 \"b\"}", "at byte 7: ',' or '}' expected", "',' or '}' was expected at byte 7"},
	    {"{\"a\":1 ", "at byte 0: ',' or '}' expected", "',' or '}' was expected at byte 7"},
	    {"[1 2]", "at byte 3: ',' or ']' expected", "',' or ']' was expected at byte 3"},
	    {"{\"a\":1} x", "at byte 7: text after the value", "data after the JSON value at byte 8"},
	};
	struct tj_json_opts request = grammar;
	char want[128];

	request.words = TJ_JSON_WORDS_REQUEST;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "invalid JSON at byte %s", cases[i].text + strlen("at byte "));
		ck_assert_str_eq(said(cases[i].in, &grammar), want);
		ck_assert_str_eq(said(cases[i].in, &request), cases[i].request);
	}
}
END_TEST

/* The top-level object's members as byte spans, its type, the count. */
START_TEST(top_level_members)
{
	const char *s = " {\"job_id\": \"j\", \"v\": {\"a\": 1, \"b\": [2]}, \"n\": null, \"t\": true, "
	                "\"x\": -1.5, \"l\": [], "
	                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 0} ";
	static const enum tj_json_type types[] = {TJ_JSON_STRING, TJ_JSON_OBJECT, TJ_JSON_NULL,  TJ_JSON_BOOL,
	                                          TJ_JSON_NUMBER, TJ_JSON_ARRAY,  TJ_JSON_NUMBER};
	struct tj_json_opts o = strict;
	struct tj_json_doc doc;
	struct tj_buf b = {0};
	struct tj_error err;

	o.max_depth = 4;
	ck_assert_int_eq(tj_json_check(s, strlen(s), &o, &doc, &err), 0);
	ck_assert_int_eq(doc.type, TJ_JSON_OBJECT);
	ck_assert_uint_eq(doc.n, 7);
	for (size_t i = 0; i < doc.n; i++)
		ck_assert_int_eq(doc.m[i].type, types[i]);
	ck_assert_str_eq(doc.m[0].key, "job_id");
	ck_assert_int_eq(doc.m[1].end - doc.m[1].start, (int)strlen("{\"a\": 1, \"b\": [2]}"));
	ck_assert(memcmp(s + doc.m[1].start, "{\"a\": 1, \"b\": [2]}", doc.m[1].end - doc.m[1].start) == 0);
	ck_assert_uint_eq(doc.m[1].n_members, 2);
	ck_assert(!doc.m[5].key_truncated);
	ck_assert(doc.m[6].key_truncated);
	ck_assert_uint_eq(strlen(doc.m[6].key), 63);

	ck_assert_int_eq(tj_json_check("[1]", 3, &strict, &doc, &err), 0);
	ck_assert_int_eq(doc.type, TJ_JSON_ARRAY);
	ck_assert_uint_eq(doc.n, 0);

	tj_buf_printf(&b, "{");
	for (int i = 0; i < TJ_JSON_MAX_MEMBERS + 1; i++)
		tj_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	tj_buf_printf(&b, "}");
	ck_assert_int_eq(tj_json_check(b.data, b.len, &strict, NULL, &err), 0);
	ck_assert_int_lt(tj_json_check(b.data, b.len, &strict, &doc, &err), 0);
	ck_assert_str_eq(err.msg, "too many top-level keys at byte 131");
	tj_buf_free(&b);
}
END_TEST

START_TEST(one_value_at_an_offset)
{
	const char *s = "{\"a\": [1, \"x\"], \"b\": tru}";
	size_t end = 0;
	struct tj_error err;

	ck_assert_int_eq(tj_json_check_value(s, strlen(s), 6, &tj_json_text_opts, &end, &err), 0);
	ck_assert_uint_eq(end, 14);
	ck_assert_int_eq(tj_json_check_value(s, strlen(s), 1, &tj_json_text_opts, &end, &err), 0);
	ck_assert_uint_eq(end, 4);
	/* no whitespace before the value */
	ck_assert_int_lt(tj_json_check_value(s, strlen(s), 5, &tj_json_text_opts, &end, &err), 0);
	ck_assert_int_lt(tj_json_check_value(s, strlen(s), 21, &tj_json_text_opts, &end, &err), 0);
	ck_assert_str_eq(err.msg, "invalid JSON at byte 21: not a value");
}
END_TEST

/* The work (bytes read, key-table probes) is linear: many objects of many
 * keys, keys that differ only at their end, escaped keys, nesting at the
 * bound. */
START_TEST(check_is_linear)
{
	struct tj_json_opts o = strict;

	o.max_depth = 40;
	for (int n = 500; n <= 32000; n *= 8) {
		struct tj_buf b = {0};
		struct tj_json_doc doc;
		struct tj_error err;

		tj_buf_printf(&b, "{\"variables\":[");
		for (int i = 0; i < n; i++)
			tj_buf_printf(
			    &b,
			    "%s{\"a_common_prefix_%d\":1,\"a_common_prefix_\\u0078%d\":[\"\\ud83d\\ude00\"]}",
			    i ? "," : "", i, i);
		tj_buf_printf(&b, "],\"k\":{");
		for (int i = 0; i < n; i++)
			tj_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
		tj_buf_printf(&b, "},\"deep\":");
		for (int i = 0; i < 38; i++)
			tj_buf_printf(&b, "[");
		for (int i = 0; i < 38; i++)
			tj_buf_printf(&b, "]");
		tj_buf_printf(&b, "}");
		ck_assert_int_eq(tj_json_check(b.data, b.len, &o, &doc, &err), 0);
		ck_assert_uint_eq(doc.m[1].n_members, (size_t)n);
		ck_assert_msg(doc.steps < 3 * b.len, "%d: %zu steps for %zu bytes", n, doc.steps, b.len);
		tj_buf_free(&b);
	}
}
END_TEST

Suite *json_check_suite(void)
{
	Suite *s = suite_create("json_check");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, grammar_alone);
	tcase_add_test(tc, depth_two_ways);
	tcase_add_test(tc, deep_nesting_stops_at_the_bound);
	tcase_add_test(tc, utf8_option);
	tcase_add_test(tc, surrogate_escapes);
	tcase_add_test(tc, unique_keys);
	tcase_add_test(tc, nul_escapes);
	tcase_add_test(tc, both_wordings);
	tcase_add_test(tc, top_level_members);
	tcase_add_test(tc, one_value_at_an_offset);
	tcase_add_test(tc, check_is_linear);
	suite_add_tcase(s, tc);
	return s;
}
