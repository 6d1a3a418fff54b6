/* What GET /api/v1/jobs/{id} (and the 202 of POST /api/v1/jobs) answers for
 * a job in the store: a pure function of the stored job.
 *
 *   queued / running   {"job_id", "status": "QUEUED"|"RUNNING", "queued_at",
 *                       "started_at", "finished_at", "host", "attempts",
 *                       "cancel_requested"}
 *   done               the ExecutionResponse, with those keys added
 *                       ("status" stays the job's SUCCESS/FAILED/TIMEOUT)
 *   cancelled          {"job_id", "status": "CANCELLED", ...the same keys}
 *
 * Times are RFC 3339 UTC with milliseconds ("2026-11-30T00:12:47.123Z"), or
 * null when not reached yet. */
#ifndef TFJAIL_API_JOBDOC_H
#define TFJAIL_API_JOBDOC_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "api/store.h"

/* NULL only when out of memory, or when a stored result is not JSON. */
cJSON *api_jobdoc_build(const struct api_store_job *j);
/* "2026-11-30T00:12:47.123Z" from Unix ms (buf >= 25). */
void api_jobdoc_time(uint64_t unix_ms, char *buf, size_t len);

#endif
