/* terraform show -json, normalised: the top-level "timestamp" removed and
 * every "relevant_attributes" array sorted (terraform emits it in varying
 * order), so that the same upload gives byte-identical bytes every run. */
#ifndef TFJAIL_EXECUTOR_PLANJSON_H
#define TFJAIL_EXECUTOR_PLANJSON_H

#include <cJSON.h>
#include <stddef.h>

#include "common/error.h"

struct plan_summary {
	unsigned create, update, delete_, replace, read, no_op;
};

/* Parses and normalises; *out is the tree, *canonical its compact bytes and
 * sha256_hex their hash. */
int planjson_normalize(const char *text, size_t len, cJSON **out, char **canonical, char sha256_hex[65],
		       struct tj_error *err);
/* Counts resource_changes[].change.actions. */
void planjson_summary(const cJSON *plan, struct plan_summary *s);
cJSON *planjson_summary_to_json(const struct plan_summary *s);

#endif
