/* tfjail serve: the HTTP API (libmicrohttpd, a thread per connection).
 *
 *   POST /api/v1/execute   run a job synchronously (ExecutionRequest in,
 *                          ExecutionResponse out)
 *   GET  /health           {"status": "healthy"|"unhealthy", ...}
 *   GET  /                 service name, version, links
 *   GET  /openapi.json     OpenAPI 3 description
 *   GET  /metrics          Prometheus text exposition
 *
 * Jobs never run in this process (it has threads): api/launcher.h. */
#ifndef TFJAIL_API_SERVER_H
#define TFJAIL_API_SERVER_H

#include "api/config.h"
#include "api/launcher.h"
#include "common/error.h"

/* Serves until SIGTERM or SIGINT, then shuts down gracefully.  Returns 0
 * after a clean shutdown, -1 (err) when the service could not start: invalid
 * policy, terraform missing, no sandbox runtime, address in use. */
int api_serve(const struct api_config *cfg, struct tj_error *err);

#endif
