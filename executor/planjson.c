#include "executor/planjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct keyed {
	char *key;
	cJSON *item;
};

static int cmp_keyed(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key, ((const struct keyed *)b)->key);
}

/* Sorts an array by each element's compact JSON text. */
static int sort_array(cJSON *arr)
{
	int n = cJSON_GetArraySize(arr);
	struct keyed *k;
	int rc = 0;

	if (n < 2)
		return 0;
	k = calloc((size_t)n, sizeof(*k));
	if (!k)
		return -1;
	for (int i = 0; i < n; i++) {
		k[i].item = cJSON_DetachItemFromArray(arr, 0);
		k[i].key = cJSON_PrintUnformatted(k[i].item);
		if (!k[i].key)
			rc = -1;
	}
	if (rc == 0)
		qsort(k, (size_t)n, sizeof(*k), cmp_keyed);
	for (int i = 0; i < n; i++) {
		cJSON_AddItemToArray(arr, k[i].item);
		free(k[i].key);
	}
	free(k);
	return rc;
}

static int sort_relevant_attributes(cJSON *node, int depth)
{
	cJSON *child;

	if (depth > 64)
		return 0;
	cJSON_ArrayForEach(child, node)
	{
		if (child->string && strcmp(child->string, "relevant_attributes") == 0 && cJSON_IsArray(child)) {
			if (sort_array(child) < 0)
				return -1;
		} else if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
			if (sort_relevant_attributes(child, depth + 1) < 0)
				return -1;
		}
	}
	return 0;
}

int planjson_normalize(const char *text, size_t len, cJSON **out, char **canonical, char sha256_hex[65],
		       struct tj_error *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	char *bytes;

	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return tj_error_set(err, EINVAL, "terraform show -json did not print a JSON object");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(root, "timestamp");
	if (sort_relevant_attributes(root, 0) < 0) {
		cJSON_Delete(root);
		return tj_error_set(err, ENOMEM, "out of memory normalising the plan");
	}
	bytes = cJSON_PrintUnformatted(root);
	if (!bytes) {
		cJSON_Delete(root);
		return tj_error_set(err, ENOMEM, "out of memory printing the plan");
	}
	tj_sha256_hex(bytes, strlen(bytes), sha256_hex);
	*out = root;
	if (canonical)
		*canonical = bytes;
	else
		free(bytes);
	return 0;
}

void planjson_summary(const cJSON *plan, struct plan_summary *s)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(plan, "resource_changes");
	const cJSON *item;

	memset(s, 0, sizeof(*s));
	cJSON_ArrayForEach(item, rc)
	{
		const cJSON *change = cJSON_GetObjectItemCaseSensitive(item, "change");
		const cJSON *actions = cJSON_GetObjectItemCaseSensitive(change, "actions");
		const char *a0, *a1;
		int n = cJSON_GetArraySize(actions);

		if (n < 1)
			continue;
		a0 = cJSON_GetStringValue(cJSON_GetArrayItem(actions, 0));
		a1 = n > 1 ? cJSON_GetStringValue(cJSON_GetArrayItem(actions, 1)) : NULL;
		if (!a0)
			continue;
		if (n == 2 && a1 &&
		    ((strcmp(a0, "delete") == 0 && strcmp(a1, "create") == 0) ||
		     (strcmp(a0, "create") == 0 && strcmp(a1, "delete") == 0)))
			s->replace++;
		else if (n == 1 && strcmp(a0, "create") == 0)
			s->create++;
		else if (n == 1 && strcmp(a0, "update") == 0)
			s->update++;
		else if (n == 1 && strcmp(a0, "delete") == 0)
			s->delete_++;
		else if (n == 1 && strcmp(a0, "read") == 0)
			s->read++;
		else if (n == 1 && strcmp(a0, "no-op") == 0)
			s->no_op++;
	}
}

cJSON *planjson_summary_to_json(const struct plan_summary *s)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "create", s->create);
	cJSON_AddNumberToObject(o, "update", s->update);
	cJSON_AddNumberToObject(o, "delete", s->delete_);
	cJSON_AddNumberToObject(o, "replace", s->replace);
	cJSON_AddNumberToObject(o, "read", s->read);
	cJSON_AddNumberToObject(o, "no_op", s->no_op);
	return o;
}
