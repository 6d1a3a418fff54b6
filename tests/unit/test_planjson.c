/* executor/planjson.c and common/jsontext.c: terraform's plan JSON
 * normalised as bytes.  Two property tests feed random documents through the
 * normaliser: one against a reference built on cJSON (for documents cJSON
 * represents exactly), one against the generator's own compact text (for
 * tokens cJSON cannot represent: big integers, long decimals, exponents,
 * -0, \u0000 and other escapes). */
#include <check.h>
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/planjson.h"

#define PROPERTY_RUNS 3000

static char *norm(const char *text, char sha[65])
{
	char *out = NULL;
	size_t len;
	struct tj_error err = {0};

	ck_assert_msg(planjson_normalize(text, strlen(text), &out, &len, sha, &err) == 0, "%s: %s", text,
	              err.msg);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

START_TEST(check_accepts_and_refuses)
{
	static const char *const good[] = {
	    "{}",
	    "[]",
	    " {\"a\" : [1, -0, 0.5e-3, 1E+400, true, false, null]}\n",
	    "\"\\u0000\\ud83d\\ude00\\/\"",
	    "123456789012345678901234567890",
	    "\"é中😀\"",
	    "[[[]]]",
	};
	static const char *const bad[] = {
	    "",
	    "{",
	    "{\"a\"}",
	    "{\"a\":1,}",
	    "[1,]",
	    "01",
	    "1.",
	    ".5",
	    "1e",
	    "-",
	    "+1",
	    "tru",
	    "nul",
	    "\"\\x\"",
	    "\"\\u12\"",
	    "\"a\nb\"",
	    "\"\xc3\"",
	    "\"\xc0\xaf\"",
	    "\"\xed\xa0\x80\"",
	    "{} {}",
	    "{\"a\":1}x",
	    "NaN",
	    "[1 2]",
	    "{1:2}",
	};
	struct tj_error err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(tj_jsontext_check(good[i], strlen(good[i]), &err) == 0, "%s: %s", good[i],
		              err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tj_jsontext_check(bad[i], strlen(bad[i]), &err) < 0, "accepted: %s", bad[i]);
	/* a NUL byte is never JSON */
	ck_assert_int_lt(tj_jsontext_check("\"a\0b\"", 5, &err), 0);
	ck_assert_int_lt(tj_jsontext_check("{}\0", 3, &err), 0);
}
END_TEST

START_TEST(deep_nesting_refused)
{
	size_t n = TJ_JSONTEXT_MAX_DEPTH + 1;
	_cleanup_free_ char *s = malloc(2 * n + 1);
	struct tj_error err;

	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	ck_assert_int_lt(tj_jsontext_check(s, 2 * n, &err), 0);
	ck_assert_int_eq(tj_jsontext_check(s + 1, 2 * n - 2, &err), 0);
}
END_TEST

START_TEST(tokens_pass_through)
{
	char sha[65], want_sha[65];
	const char *in =
	    "{\"format_version\":\"1.2\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"v\":{"
	    "\"big\":9007199254740993,\"huge\":12345678901234567890,\"dec\":0."
	    "1000000000000000055511151231257827,"
	    "\"exp\":1E+400,\"tiny\":1e-400,\"negzero\":-0,\"nul\":\"a\\u0000b\",\"html\":\"\\u003c\\u0026\","
	    "\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"utf8\":\"é中😀\",\"pair\":\"\\ud83d\\ude00\"}}\n";
	const char *want =
	    "{\"format_version\":\"1.2\",\"v\":{"
	    "\"big\":9007199254740993,\"huge\":12345678901234567890,\"dec\":0."
	    "1000000000000000055511151231257827,"
	    "\"exp\":1E+400,\"tiny\":1e-400,\"negzero\":-0,\"nul\":\"a\\u0000b\",\"html\":\"\\u003c\\u0026\","
	    "\"esc\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"utf8\":\"é中😀\",\"pair\":\"\\ud83d\\ude00\"}}";
	_cleanup_free_ char *out = norm(in, sha);

	ck_assert_str_eq(out, want);
	tj_sha256_hex(want, strlen(want), want_sha);
	ck_assert_str_eq(sha, want_sha);
}
END_TEST

START_TEST(only_the_top_level_timestamp_goes)
{
	char sha[65];
	_cleanup_free_ char *a = norm("{\"timestamp\":\"x\",\"a\":{\"timestamp\":1}}", sha);
	_cleanup_free_ char *b = norm("{\"a\":1,\"timestamp\":\"x\"}", sha);
	_cleanup_free_ char *c = norm("{ \"timestamp\" : \"x\" }", sha);

	ck_assert_str_eq(a, "{\"a\":{\"timestamp\":1}}");
	ck_assert_str_eq(b, "{\"a\":1}");
	ck_assert_str_eq(c, "{}");
}
END_TEST

START_TEST(relevant_attributes_sorted)
{
	char sha1[65], sha2[65];
	_cleanup_free_ char *a =
	    norm("{\"relevant_attributes\":[{\"resource\":\"b\",\"attribute\":[\"x\"]},"
	         "{\"resource\":\"a\",\"attribute\":[\"y\"]}, {\"resource\":\"a\",\"attribute\":[1]}]}",
	         sha1);
	_cleanup_free_ char *b =
	    norm("{\"relevant_attributes\":[{\"resource\":\"a\",\"attribute\":[1]},"
	         "{\"resource\":\"b\",\"attribute\":[\"x\"]},{\"resource\":\"a\",\"attribute\":[\"y\"]}]}",
	         sha2);
	_cleanup_free_ char *c =
	    norm("{\"x\":{\"relevant_attributes\":[3,1,2]},\"relevant_attributes\":{\"k\":[2,1]}}", sha1);

	ck_assert_str_eq(
	    a, "{\"relevant_attributes\":[{\"resource\":\"a\",\"attribute\":[\"y\"]},"
	       "{\"resource\":\"a\",\"attribute\":[1]},{\"resource\":\"b\",\"attribute\":[\"x\"]}]}");
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(sha1 + 0, sha1);
	ck_assert_str_eq(c,
	                 "{\"x\":{\"relevant_attributes\":[1,2,3]},\"relevant_attributes\":{\"k\":[2,1]}}");
}
END_TEST

START_TEST(not_a_plan_refused)
{
	static const char *const bad[] = {"[]", "1", "{\"a\":01}", "{\"a\":\"\xff\"}", "", "{} x"};
	char *out = NULL, sha[65];
	size_t len;
	struct tj_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(planjson_normalize(bad[i], strlen(bad[i]), &out, &len, sha, &err) < 0, "%s",
		              bad[i]);
}
END_TEST

START_TEST(summary_counts_actions)
{
	const char *plan =
	    "{\"resource_changes\":[{\"change\":{\"actions\":[\"create\"]}},"
	    "{\"change\":{\"actions\":[\"delete\",\"create\"]}},{\"change\":{\"actions\":[\"no-op\"]}},"
	    "{\"change\":{\"actions\":[\"update\"],\"after\":1e400}}],\"x\":1}";
	struct plan_summary s;
	struct tj_error err;

	ck_assert_int_eq(planjson_summary(plan, strlen(plan), &s, &err), 0);
	ck_assert_uint_eq(s.create, 1);
	ck_assert_uint_eq(s.replace, 1);
	ck_assert_uint_eq(s.no_op, 1);
	ck_assert_uint_eq(s.update, 1);
	ck_assert_int_eq(planjson_summary("{}", 2, &s, &err), 0);
	ck_assert_uint_eq(s.create, 0);
}
END_TEST

/* ------------------------------------------------------------ property: against cJSON */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: reproducible from the seed printed on failure */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static const char *const pieces[] = {"a",    "Z",    " ", "\"", "\\", "/", "\n", "\t",
                                     "\x01", "\x1f", "é", "中", "😀",  "<", "&",  "0"};

static void rnd_string(char *buf, size_t cap)
{
	size_t n = rnd(8), len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))];
		if (len + strlen(p) + 1 >= cap)
			break;
		memcpy(buf + len, p, strlen(p) + 1);
		len += strlen(p);
	}
}

static cJSON *rnd_tree(int depth, bool top);

static cJSON *rnd_container(int depth, bool object, bool top)
{
	cJSON *c = object ? cJSON_CreateObject() : cJSON_CreateArray();
	int n = (int)rnd(depth > 4 ? 2 : 5);

	for (int i = 0; i < n; i++) {
		char key[64], s[48];
		cJSON *v;

		if (!object) {
			cJSON_AddItemToArray(c, rnd_tree(depth + 1, false));
			continue;
		}
		switch (rnd(6)) {
		case 0: snprintf(key, sizeof(key), "timestamp"); break;
		case 1: snprintf(key, sizeof(key), "relevant_attributes"); break;
		default: rnd_string(s, sizeof(s)); snprintf(key, sizeof(key), "%s", s);
		}
		if (cJSON_GetObjectItemCaseSensitive(c, key))
			snprintf(key + strlen(key), sizeof(key) - strlen(key), "#%d",
			         i); /* keys stay unique */
		v = strcmp(key, "relevant_attributes") == 0 && rnd(3) ? rnd_container(depth + 1, false, false)
		                                                      : rnd_tree(depth + 1, false);
		cJSON_AddItemToObject(c, key, v);
	}
	(void)top;
	return c;
}

static cJSON *rnd_tree(int depth, bool top)
{
	static const double numbers[] = {0, 1, -1, 0.5, 1e10, 123456789, -2.25, 1e-7, 3.14159, 1e21};
	char s[48];

	if (top)
		return rnd_container(depth, true, true);
	switch (rnd(depth > 5 ? 5 : 7)) {
	case 0: return cJSON_CreateNull();
	case 1: return cJSON_CreateBool(rnd(2));
	case 2: return cJSON_CreateNumber(numbers[rnd(sizeof(numbers) / sizeof(numbers[0]))]);
	case 3: return cJSON_CreateNumber((double)rnd(100000) - 50000);
	case 4: rnd_string(s, sizeof(s)); return cJSON_CreateString(s);
	case 5: return rnd_container(depth, true, false);
	default: return rnd_container(depth, false, false);
	}
}

/* The reference: the normalisation done on a cJSON tree, as tfjail once did
 * (exact for documents cJSON prints as it reads them). */
static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void ref_sort(cJSON *node)
{
	cJSON *child;

	cJSON_ArrayForEach (child, node) {
		if (child->string && strcmp(child->string, "relevant_attributes") == 0 &&
		    cJSON_IsArray(child)) {
			int n = cJSON_GetArraySize(child);
			char **texts = calloc((size_t)n + 1, sizeof(*texts));
			for (int i = 0; i < n; i++)
				texts[i] = cJSON_PrintUnformatted(cJSON_GetArrayItem(child, i));
			qsort(texts, (size_t)n, sizeof(*texts), cmp_text);
			while (cJSON_GetArraySize(child))
				cJSON_DeleteItemFromArray(child, 0);
			for (int i = 0; i < n; i++) {
				cJSON_AddItemToArray(child, cJSON_Parse(texts[i]));
				free(texts[i]);
			}
			free(texts);
		} else if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
			ref_sort(child);
		}
	}
}

static char *reference(const char *text)
{
	_cleanup_cjson_ cJSON *root = cJSON_Parse(text);

	ck_assert_ptr_nonnull(root);
	cJSON_DeleteItemFromObjectCaseSensitive(root, "timestamp");
	ref_sort(root);
	return cJSON_PrintUnformatted(root);
}

START_TEST(property_matches_reference)
{
	uint64_t seed = 0x7f4a7c159e3779b9ull;

	rng_state = seed;
	for (int run = 0; run < PROPERTY_RUNS; run++) {
		_cleanup_cjson_ cJSON *doc = rnd_tree(0, true);
		/* formatted: tabs and newlines between the tokens */
		_cleanup_free_ char *text = rnd(2) ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
		_cleanup_free_ char *want = reference(text);
		char sha[65], want_sha[65];
		_cleanup_free_ char *got = norm(text, sha);

		ck_assert_msg(strcmp(got, want) == 0, "seed %llx run %d:\n in: %s\nout: %s\nref: %s",
		              (unsigned long long)seed, run, text, got, want);
		tj_sha256_hex(want, strlen(want), want_sha);
		ck_assert_str_eq(sha, want_sha);
	}
}
END_TEST

/* ------------------------------------------------------------ property: tokens cJSON cannot hold */

static void gen_number(struct tj_buf *b)
{
	static const char *const forms[] = {"9007199254740993",
	                                    "12345678901234567890",
	                                    "-0",
	                                    "0",
	                                    "-0.0",
	                                    "0.1000000000000000055511151231257827",
	                                    "1e400",
	                                    "-1E-400",
	                                    "1E+2",
	                                    "123456789012345678901234567890.5",
	                                    "-7",
	                                    "2.50"};
	const char *f = forms[rnd(sizeof(forms) / sizeof(forms[0]))];

	tj_buf_printf(b, "%s", f);
	/* more digits (not after a lone zero: no leading zeros in JSON) */
	if (rnd(3) == 0 && strcmp(f, "0") != 0 && strcmp(f, "-0") != 0) {
		for (uint32_t i = 0, n = 1 + rnd(40); i < n; i++)
			tj_buf_printf(b, "%c", '0' + (int)rnd(10));
	}
}

static void gen_string(struct tj_buf *b)
{
	static const char *const parts[] = {"a",   "\\u0000", "\\u001f", "\\ud83d\\ude00",  "\\u003c",
	                                    "\\/", "\\\"",    "\\\\",    "\\b\\f\\n\\r\\t", "é",
	                                    "中",  "😀",       " ",       "\\uFFFF",         "x"};
	tj_buf_printf(b, "\"");
	for (uint32_t i = 0, n = rnd(6); i < n; i++)
		tj_buf_printf(b, "%s", parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
	tj_buf_printf(b, "\"");
}

static void gen_ws(struct tj_buf *b, bool on)
{
	static const char *const ws[] = {"", " ", "\n", "\t", "\r\n  "};

	if (on)
		tj_buf_printf(b, "%s", ws[rnd(sizeof(ws) / sizeof(ws[0]))]);
}

/* A random value written twice at once: compact into c, with whitespace into w. */
static void gen_value(struct tj_buf *c, struct tj_buf *w, int depth, bool object_only)
{
	uint32_t kind = object_only ? 5 : rnd(depth > 5 ? 5 : 7);
	size_t c0 = c->len;

	switch (kind) {
	case 0: tj_buf_printf(c, "null"); break;
	case 1: tj_buf_printf(c, rnd(2) ? "true" : "false"); break;
	case 2:
	case 3: gen_number(c); break;
	case 4: gen_string(c); break;
	default: {
		bool object = kind == 5;
		uint32_t n = rnd(5);
		tj_buf_printf(c, object ? "{" : "[");
		tj_buf_printf(w, object ? "{" : "[");
		for (uint32_t i = 0; i < n; i++) {
			if (i) {
				tj_buf_printf(c, ",");
				gen_ws(w, true);
				tj_buf_printf(w, ",");
			}
			gen_ws(w, true);
			if (object) {
				size_t k0 = c->len;
				/* keys never "timestamp"/"relevant_attributes": no member is special */
				gen_string(c);
				tj_buf_printf(c, ":");
				tj_buf_append(w, c->data + k0, c->len - k0 - 1);
				gen_ws(w, true);
				tj_buf_printf(w, ":");
				gen_ws(w, true);
			}
			gen_value(c, w, depth + 1, false);
		}
		gen_ws(w, true);
		tj_buf_printf(c, object ? "}" : "]");
		tj_buf_printf(w, object ? "}" : "]");
		return;
	}
	}
	tj_buf_append(w, c->data + c0, c->len - c0);
}

START_TEST(property_tokens_preserved)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;

	rng_state = seed;
	for (int run = 0; run < PROPERTY_RUNS; run++) {
		struct tj_buf c = {0}, w = {0};
		char sha[65];
		char *got;

		gen_value(&c, &w, 0, true);
		gen_ws(&w, true);
		got = norm(w.data, sha);
		ck_assert_msg(strcmp(got, c.data) == 0, "seed %llx run %d:\n in: %s\nout: %s\nwant: %s",
		              (unsigned long long)seed, run, w.data, got, c.data);
		free(got);
		tj_buf_free(&c);
		tj_buf_free(&w);
	}
}
END_TEST

Suite *planjson_suite(void)
{
	Suite *s = suite_create("planjson");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, check_accepts_and_refuses);
	tcase_add_test(tc, deep_nesting_refused);
	tcase_add_test(tc, tokens_pass_through);
	tcase_add_test(tc, only_the_top_level_timestamp_goes);
	tcase_add_test(tc, relevant_attributes_sorted);
	tcase_add_test(tc, not_a_plan_refused);
	tcase_add_test(tc, summary_counts_actions);
	tcase_add_test(tc, property_matches_reference);
	tcase_add_test(tc, property_tokens_preserved);
	suite_add_tcase(s, tc);
	return s;
}
