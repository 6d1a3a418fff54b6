/* The plan rules of a policy (plan_rules, policy/planrules.c) judged on a
 * plan: terraform show -json's output.  A pure function of the plan's text,
 * the policy and, for file and line, where the scan found each block. */
#ifndef TFJAIL_POLICY_PLANCHECK_H
#define TFJAIL_POLICY_PLANCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "policy/policy.h"
#include "policy/scan.h"

/* Whether the policy has any plan rule to judge (an empty plan_rules has none). */
bool tj_plan_rules_present(const struct tj_policy *p);

/* Judges the plan JSON (plan, len bytes: terraform show -json's output, or an
 * ExecutionResponse, whose plan_json is judged) with p's plan rules.  locs (from
 * tj_scan_dir of the upload, may be NULL) give each violation the file and
 * line of its block; root_dir is the root module's directory relative to
 * the upload ("" or the job's workdir).  Violations carry the rule, the
 * resource address, the file and line (".", 0 when unknown) and are in the
 * plan's order; suppressions of the policy apply by file.  -1 when the text
 * is not a plan (err). */
int tj_plan_check(const struct tj_policy *p, const char *plan, size_t len, const struct tj_block_loc *locs,
                  size_t n_locs, const char *root_dir, struct tj_scan_result **out, struct tj_error *err);

#endif
