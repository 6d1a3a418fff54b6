/* One JSON checker (RFC 8259) for every caller, and a walker over the
 * text it has checked.  It builds nothing: where the bytes themselves matter
 * (terraform's plan JSON, the variables a client sends, a helper's answer
 * embedded with cJSON_CreateRaw) the text is checked and then copied or
 * walked, and numbers and strings stay the tokens they were (cJSON would
 * lose 9007199254740993, 1e400 and \u0000).  Time and memory are linear in
 * the input; the nesting, and so the recursion, is bounded.
 *
 * The options say how strict: the grammar alone (helpers' answers), plus
 * well-formed UTF-8 (variables files, plans), plus unique keys, no NUL,
 * paired surrogate escapes and the top-level members as byte spans
 * (request bodies). */
#ifndef TFJAIL_COMMON_JSONCHECK_H
#define TFJAIL_COMMON_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* How an error reads, and which byte it names. */
enum tj_json_words {
	TJ_JSON_WORDS_TEXT,    /* "invalid JSON at byte N: a value is missing", N where the
	                        * faulty token starts */
	TJ_JSON_WORDS_REQUEST, /* "a value was expected at byte N", N where reading stopped */
};

struct tj_json_opts {
	/* How deep arrays and objects may nest (0: not at all).  With
	 * depth_counts_values, how many levels of values instead: the
	 * top-level value is level 1 and a scalar is a level too, so that 2
	 * takes {"a":1} and {"a":{}} but not {"a":{"b":1}}. */
	unsigned max_depth;
	bool depth_counts_values;
	bool utf8;              /* strings are well-formed UTF-8 (common/utf8.h) */
	bool paired_surrogates; /* \uD800-\uDFFF escapes only as a high-low pair */
	bool unique_keys;       /* no key twice in an object, compared after unescaping */
	bool no_nul_keys;       /* no \u0000 in any key */
	bool no_nul_strings;    /* no \u0000 in any string ... */
	const char *nul_ok_in;  /* ... but in the value of this top-level member */
	enum tj_json_words words;
};

/* Variables files and terraform's plan JSON: the grammar, UTF-8, and no
 * deeper than cJSON's own limit. */
#define TJ_JSONTEXT_MAX_DEPTH 1000
extern const struct tj_json_opts tj_json_text_opts;

#define TJ_JSON_MAX_MEMBERS 16

enum tj_json_type {
	TJ_JSON_NULL,
	TJ_JSON_BOOL,
	TJ_JSON_NUMBER,
	TJ_JSON_STRING,
	TJ_JSON_ARRAY,
	TJ_JSON_OBJECT
};

/* One member of the top-level object. */
struct tj_json_member {
	char key[64]; /* unescaped, cut on a code point boundary */
	bool key_truncated;
	enum tj_json_type type;
	size_t start, end; /* the value's bytes: s[start, end) */
	size_t n_members;  /* objects: how many members */
};

struct tj_json_doc {
	enum tj_json_type type; /* of the value */
	struct tj_json_member m[TJ_JSON_MAX_MEMBERS];
	size_t n;     /* the top-level object's members (more is an error) */
	size_t steps; /* work done: bytes read and key-table probes */
};

/* Checks that s[0, len) is one JSON value with whitespace around it allowed.
 * doc (NULL: none wanted) receives the value's type and, for an object, its
 * members; then more than TJ_JSON_MAX_MEMBERS of them is an error.  0, or -1
 * with err naming the byte offset. */
int tj_json_check(const char *s, size_t len, const struct tj_json_opts *o, struct tj_json_doc *doc,
                  struct tj_error *err);

/* Checks the value that starts at s[i] and sets *end just past it. */
int tj_json_check_value(const char *s, size_t len, size_t i, const struct tj_json_opts *o, size_t *end,
                        struct tj_error *err);

/* True if s[0..len) is one JSON value (the grammar, whitespace around it
 * allowed, strings of well-formed UTF-8) with no more than max_depth nested
 * arrays and objects: for
 * bytes that a less privileged process produced and that the host only
 * passes on, so that they cannot break the framing of the document they are
 * embedded in.  Allocates nothing. */
bool tj_json_valid(const char *s, size_t len, int max_depth);

/* ---- text checked with tj_json_text_opts, and walked as bytes */

/* tj_json_check(s, len, &tj_json_text_opts, NULL, err) */
int tj_jsontext_check(const char *s, size_t len, struct tj_error *err);
/* tj_json_check_value(s, len, i, &tj_json_text_opts, end, err) */
int tj_jsontext_value(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err);

/* The first byte at or after i that is not JSON whitespace. */
size_t tj_jsontext_ws(const char *s, size_t len, size_t i);

/* One member of an object (key_end > key) or element of an array (key ==
 * key_end == 0); offsets into the text, *_end exclusive.  key spans the
 * quoted key token. */
struct tj_jsontext_item {
	size_t key, key_end;
	size_t value, value_end;
};

/* Walks a checked container.  *pos starts at its '{' or '['; each call
 * yields the next item (1) or ends (0, *pos then just past the closing
 * bracket); -1 if the text is malformed. */
int tj_jsontext_next(const char *s, size_t len, size_t *pos, struct tj_jsontext_item *it);

/* Whether the key token at it is exactly "name" (no escapes). */
bool tj_jsontext_key_is(const char *s, const struct tj_jsontext_item *it, const char *name);

#endif
