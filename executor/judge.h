/* The job's plan judged with the policy's plan rules (policy/plancheck.h). */
#ifndef TFJAIL_EXECUTOR_JUDGE_H
#define TFJAIL_EXECUTOR_JUDGE_H

#include <stddef.h>

#include "executor/jobstate.h"

/* Adds the plan rules' violations to the response's list; an error-severity
 * one ends the job FAILED / PolicyViolation (plan_json stays in the
 * response, so that the user sees what was refused). */
void job_judge_plan(struct job *j, const char *plan, size_t len);

#endif
