/* What a policy change allows or forbids: `tfjail policy diff OLD NEW`. */
#ifndef TFJAIL_POLICY_POLICYDIFF_H
#define TFJAIL_POLICY_POLICYDIFF_H

#include <cJSON.h>

#include "policy/policy.h"

/* The differences between two effective policies, in the order of the
 * policy's keys, as an array of {"effect": "allows"|"forbids"|"changes",
 * "path": "providers.allowed", "old": ..., "new": ..., "what": "..."}:
 * "allows" when NEW permits something OLD refused (an entry added to an
 * allowlist, removed from a denylist, a larger limit, a rule relaxed, a
 * suppression added), "forbids" for the reverse, "changes" when neither
 * (a name, a path).  NULL when out of memory. */
cJSON *tj_policy_diff(const struct tj_policy *old_p, const struct tj_policy *new_p);

#endif
