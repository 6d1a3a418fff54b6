/* The OpenAPI 3 description of the HTTP API (GET /openapi.json).
 *
 * The document is api/openapi.json, embedded at build time (mk/api.mk); its
 * info.version is filled in with tfjail's version once, on first use. */
#include "api/openapi.h"

#include <cJSON.h>
#include <pthread.h>

static const char embedded[] = {
#include "openapi_json.inc"
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *text;

static void build(void)
{
	cJSON *doc = cJSON_Parse(embedded);
	cJSON *info = cJSON_GetObjectItemCaseSensitive(doc, "info");

	if (info)
		cJSON_ReplaceItemInObjectCaseSensitive(info, "version", cJSON_CreateString(TFJAIL_VERSION));
	text = doc ? cJSON_Print(doc) : NULL;
	cJSON_Delete(doc);
}

const char *api_openapi_text(void)
{
	pthread_once(&once, build);
	/* the embedded text is valid JSON (a unit test parses it); without
	 * memory for the copy, serve it as it is */
	return text ? text : embedded;
}
