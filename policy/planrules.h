/* Private to policy/: the plan_rules section of a policy file (the
 * vocabulary; policy/plancheck.c judges a plan with it). */
#ifndef TFJAIL_POLICY_PLANRULES_H
#define TFJAIL_POLICY_PLANRULES_H

#include <cJSON.h>

#include "policy/policy_load.h"
#include "policy/rules.h"

/* Empty rules: nothing is judged. */
void plan_rules_init(struct tj_plan_rules *pr);
/* Reads "plan_rules" (v) into pr; -1 after recording errors in pe. */
int plan_rules_load(struct tj_plan_rules *pr, const cJSON *v, struct policy_errors *pe);
/* The section as `policy show` prints it (every key, defaults filled in). */
cJSON *plan_rules_to_json(const struct tj_plan_rules *pr);
void plan_rules_free(struct tj_plan_rules *pr);

#endif
