/* terraform's words put in the user's terms: the runner-owned files under
 * /run/tfjail are named as the user gave them (--var, --var-file FILE, the
 * request's variables), and advice to use what tfjail does not offer
 * (TF_VAR_ environment variables, -compact-warnings) is replaced by what
 * the user can do. */
#ifndef TFJAIL_EXECUTOR_WORDING_H
#define TFJAIL_EXECUTOR_WORDING_H

#include "executor/job.h"

/* A rewritten copy of text (malloc'd), or NULL when out of memory. */
char *wording_for_user(const struct job_request *req, const char *text);

#endif
