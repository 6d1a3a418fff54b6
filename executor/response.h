/* The ExecutionResponse: one constructor for every producer (a job, the API
 * when a job process failed), so its keys are written in one place. */
#ifndef TFJAIL_EXECUTOR_RESPONSE_H
#define TFJAIL_EXECUTOR_RESPONSE_H

#include <cJSON.h>

#include "policy/policy.h"

/* Every key of the contract, as a FAILED response without an error type;
 * NULL when out of memory. */
cJSON *job_response_new(const char *job_id, const struct tj_policy *p);

/* status, error_type (NULL = null) and error_message (NULL = left as is). */
void job_response_set_outcome(cJSON *r, const char *status, const char *error_type, const char *message);

void job_response_set_seconds(cJSON *r, double seconds);

#endif
