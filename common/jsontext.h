/* JSON as bytes: the text of variables files and terraform's plan JSON,
 * checked with tj_json_text_opts (common/jsoncheck.h) and then walked
 * without converting it. */
#ifndef TFJAIL_COMMON_JSONTEXT_H
#define TFJAIL_COMMON_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/jsoncheck.h"
#include "common/utf8.h"

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
