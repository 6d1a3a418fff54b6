/* A strict, linear JSON validator for request bodies (RFC 8259 and more):
 * UTF-8 only (no overlong forms, surrogates or code points past U+10FFFF,
 * no lone surrogate escapes), no duplicate keys in any object (compared
 * after unescaping), nothing but whitespace after the value, nesting no
 * deeper than a limit, no NUL (\u0000) in any key, nor in any string outside
 * the value of one named top-level member.  Time and memory are linear in
 * the length of the input.  It does not build a tree: the members of the
 * top-level object are reported as byte spans, so that a caller can pass a
 * value on byte for byte. */
#ifndef TFJAIL_API_STRICTJSON_H
#define TFJAIL_API_STRICTJSON_H

#include <stdbool.h>
#include <stddef.h>

#define API_JSON_MAX_MEMBERS 16

enum api_json_type {
	API_JSON_NULL,
	API_JSON_BOOL,
	API_JSON_NUMBER,
	API_JSON_STRING,
	API_JSON_ARRAY,
	API_JSON_OBJECT
};

struct api_json_member {
	char key[64]; /* truncated; keys are compared whole */
	bool key_truncated;
	enum api_json_type type;
	size_t start, end; /* the value's bytes: body[start, end) */
	size_t n_members;  /* objects: how many members */
};

struct api_json_doc {
	enum api_json_type type;
	struct api_json_member m[API_JSON_MAX_MEMBERS];
	size_t n;     /* top-level object members (more is an error) */
	size_t steps; /* work done: bytes read and key-table probes */
};

/* Validates body.  nul_ok_in names the top-level member whose string values
 * may hold NUL (NULL: none).  On error returns -1 with one sentence in msg
 * (naming the byte offset). */
int api_json_validate(const char *body, size_t len, unsigned max_depth, const char *nul_ok_in,
                      struct api_json_doc *doc, char *msg, size_t msglen);

/* Whether s[0, len) is valid UTF-8 (the rules above). */
bool api_utf8_valid(const char *s, size_t len);
/* The longest prefix of s[0, len) that ends on a code point boundary and
 * is at most max bytes long. */
size_t api_utf8_cut(const char *s, size_t len, size_t max);
/* Replaces every invalid byte of b (in place, growing it) with U+FFFD. */
int api_utf8_repair(char **data, size_t *len);

#endif
