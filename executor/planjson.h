/* terraform show -json, normalised as bytes.  The canonical form of a plan
 * (what `plan_json` holds and `plan_sha256` hashes) is terraform's own text
 * with exactly these changes:
 *   - whitespace outside strings removed (terraform writes none but the
 *     final newline);
 *   - the top-level "timestamp" member removed;
 *   - the elements of every array under a "relevant_attributes" key sorted
 *     by their bytes (terraform emits them in varying order).
 * Every number token, string escape (\u0000 included) and key order is
 * terraform's, byte for byte: nothing passes through a double or a C
 * string.  Keys are matched as written ("timestamp", no escapes), which is
 * how terraform writes them. */
#ifndef TFJAIL_EXECUTOR_PLANJSON_H
#define TFJAIL_EXECUTOR_PLANJSON_H

#include <cJSON.h>
#include <stddef.h>

#include "common/error.h"

struct plan_summary {
	unsigned create, update, delete_, replace, read, no_op;
};

/* Checks the text strictly and normalises it: *canonical (malloc'd,
 * NUL-terminated, *canonical_len bytes) and sha256_hex over those bytes. */
int planjson_normalize(const char *text, size_t len, char **canonical, size_t *canonical_len,
                       char sha256_hex[65], struct tj_error *err);

/* Counts resource_changes[].change.actions of a canonical plan. */
int planjson_summary(const char *canonical, size_t len, struct plan_summary *s, struct tj_error *err);
cJSON *planjson_summary_to_json(const struct plan_summary *s);

#endif
