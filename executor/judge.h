/* The job's plan judged with the policy's plan rules (policy/plancheck.h),
 * in the parsing helper (runtime/helper.h): terraform's plan JSON is read
 * only there, without host privilege; the host checks the helper's answer
 * field by field before anything of it reaches the response. */
#ifndef TFJAIL_EXECUTOR_JUDGE_H
#define TFJAIL_EXECUTOR_JUDGE_H

#include <stddef.h>

#include "executor/jobstate.h"
#include "policy/plancheck.h"
#include "runtime/helper.h"

/* What the host accepts of one violation. */
#define JUDGE_RULE_MAX       64
#define JUDGE_ADDRESS_MAX    1024
#define JUDGE_FILE_MAX       4096
#define JUDGE_MESSAGE_MAX    1024
#define JUDGE_LINE_MAX       (1 << 24)
#define JUDGE_VIOLATIONS_MAX 4096

/* Adds the plan rules' violations to the response's list; an error-severity
 * one ends the job FAILED / PolicyViolation (plan_json stays in the
 * response, so that the user sees what was refused). */
void job_judge_plan(struct job *j, const struct sandbox *sb, const char *plan, size_t len);

/* tj_plan_check's arguments and result, with the evaluation run in sb's
 * parsing helper; the first JUDGE_VIOLATIONS_MAX violations.  -1 (err)
 * when the text is not a plan, the helper failed or its answer is malformed. */
int judge_plan_rules(const struct sandbox *sb, const struct tj_policy *p, const char *plan, size_t len,
                     const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                     struct tj_scan_result **out, struct tj_error *err);

/* The helper's answer, checked field by field: "E message" (-1, err), or
 * "V count\n" and per violation six netstrings ("len:bytes,"): rule id
 * ([a-z0-9-]), severity ("error" | "warning"), address (may be empty), file
 * ("." or a relative path), line (decimal, 0..JUDGE_LINE_MAX), message;
 * text fields UTF-8 without control characters and within the bounds above. */
int judge_answer_read(const char *a, size_t len, struct tj_scan_result **out, struct tj_error *err);

/* The evaluation the helper runs (tj_plan_check); tests replace it to see
 * where it runs. */
extern int (*judge_plan_check)(const struct tj_policy *p, const char *plan, size_t len,
                               const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                               struct tj_scan_result **out, struct tj_error *err);

#endif
