/* The OpenAPI 3 description of the HTTP API, served at /openapi.json. */
#ifndef TFJAIL_API_OPENAPI_H
#define TFJAIL_API_OPENAPI_H

/* JSON text. */
const char *api_openapi_text(void);

#endif
