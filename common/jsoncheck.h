/* A JSON syntax check (RFC 8259) that builds nothing and allocates nothing:
 * for bytes that a less privileged process produced and that the host only
 * passes on (cJSON_CreateRaw), so that they cannot break the framing of the
 * document they are embedded in.  Linear in the input; the nesting depth is
 * bounded (the recursion too). */
#ifndef TFJAIL_COMMON_JSONCHECK_H
#define TFJAIL_COMMON_JSONCHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is exactly one JSON value (surrounding whitespace
 * allowed), with no more than max_depth nested arrays and objects and no
 * NUL byte. */
bool tj_json_valid(const char *s, size_t len, int max_depth);

#endif
