/* UTF-8 as Unicode 3.9 table 3-7 has it: no overlong forms, no surrogates,
 * nothing past U+10FFFF.  For JSON strings (common/jsoncheck.c), text a less
 * privileged process returned, and every HTTP answer. */
#ifndef TFJAIL_COMMON_UTF8_H
#define TFJAIL_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the well-formed sequence at p (at most avail bytes, avail
 * > 0), or 0. */
size_t tj_utf8_seq(const unsigned char *p, size_t avail);

/* Whether s[0, len) is well-formed UTF-8. */
bool tj_utf8_valid(const char *s, size_t len);

/* Whether s[0, len) is well-formed UTF-8 without control characters (C0
 * and DEL): text a less privileged process returned, fit to be shown. */
bool tj_utf8_text(const char *s, size_t len);

/* The longest prefix of s[0, len) that ends on a code point boundary and is
 * at most max bytes long (a byte that is not UTF-8 counts as one). */
size_t tj_utf8_cut(const char *s, size_t len, size_t max);

/* Replaces every byte of *data that is not UTF-8 with U+FFFD (reallocating
 * *data, NUL-terminated, when there is one).  0, or -1 out of memory. */
int tj_utf8_repair(char **data, size_t *len);

#endif
