/* JSON as bytes: strict validation and walking of JSON text without
 * converting it.  cJSON turns numbers into doubles and strings into C
 * strings, which loses digits (9007199254740993), range (1e400) and NULs
 * (\u0000); where the bytes themselves matter (terraform's plan JSON, the
 * variables a client sends) the text is checked and copied with these
 * instead, and numbers and strings stay the tokens they were. */
#ifndef TFJAIL_COMMON_JSONTEXT_H
#define TFJAIL_COMMON_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/util.h"

/* Deeper documents are refused (cJSON's own limit). */
#define TJ_JSONTEXT_MAX_DEPTH 1000

/* The first byte at or after i that is not JSON whitespace. */
size_t tj_jsontext_ws(const char *s, size_t len, size_t i);

/* Checks the value that starts at s[i] (RFC 8259 grammar, strings well-formed
 * UTF-8 without raw control characters) and sets *end just past it.  0, or
 * -1 with err naming the byte offset. */
int tj_jsontext_value(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err);

/* Whether s[0..len) is well-formed UTF-8 without control characters (C0
 * and DEL): text a less privileged process returned, fit to be shown. */
bool tj_utf8_text(const char *s, size_t len);

/* A whole document: one value, whitespace around it allowed, nothing else. */
int tj_jsontext_check(const char *s, size_t len, struct tj_error *err);

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

/* Appends the checked value s[i..end) without insignificant whitespace;
 * every token is copied byte for byte. */
int tj_jsontext_compact(const char *s, size_t i, size_t end, struct tj_buf *out);

#endif
