/* terraform's plan JSON normalised as bytes (see planjson.h). */
#include "executor/planjson.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"

struct span {
	size_t off, len;
	const char *base;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int c = memcmp(x->base + x->off, y->base + y->off, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int put(struct tj_buf *out, const void *p, size_t n)
{
	return tj_buf_append(out, p, n);
}

static int norm_value(const char *s, size_t len, size_t i, size_t *end, struct tj_buf *out, int depth,
                      bool plain);

/* The array at s[i] with its elements (compacted) in byte order. */
static int sorted_array(const char *s, size_t len, size_t i, size_t *end, struct tj_buf *out, int depth)
{
	struct tj_buf tmp = {0};
	_cleanup_free_ struct span *el = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	i = tj_jsontext_ws(s, len, i + 1);
	while (s[i] != ']') {
		size_t start = tmp.len, e;
		if (n == cap) {
			struct span *g = realloc(el, (cap = cap ? 2 * cap : 16) * sizeof(*el));
			if (!g)
				goto out;
			el = g;
		}
		if (norm_value(s, len, i, &e, &tmp, depth + 1, true) < 0)
			goto out;
		el[n++] = (struct span){start, tmp.len - start, NULL};
		i = tj_jsontext_ws(s, len, e);
		if (s[i] == ',')
			i = tj_jsontext_ws(s, len, i + 1);
	}
	for (size_t k = 0; k < n; k++)
		el[k].base = tmp.data;
	if (n)
		qsort(el, n, sizeof(*el), cmp_span);
	if (put(out, "[", 1) < 0)
		goto out;
	for (size_t k = 0; k < n; k++)
		if ((k && put(out, ",", 1) < 0) || put(out, tmp.data + el[k].off, el[k].len) < 0)
			goto out;
	if (put(out, "]", 1) < 0)
		goto out;
	*end = i + 1;
	rc = 0;
out:
	tj_buf_free(&tmp);
	return rc;
}

/* Copies the checked value at s[i] into out, normalised; *end just past it.
 * plain: no member is special (inside a sorted element). */
static int norm_value(const char *s, size_t len, size_t i, size_t *end, struct tj_buf *out, int depth,
                      bool plain)
{
	char close;
	bool first = true;

	if (s[i] != '{' && s[i] != '[') {
		if (tj_jsontext_value(s, len, i, end, NULL) < 0)
			return -1;
		return put(out, s + i, *end - i);
	}
	close = s[i] == '{' ? '}' : ']';
	if (put(out, s + i, 1) < 0)
		return -1;
	i = tj_jsontext_ws(s, len, i + 1);
	while (s[i] != close) {
		size_t mark = out->len, e;
		struct tj_jsontext_item it = {0};
		bool drop = false, sort = false;

		if (!first && put(out, ",", 1) < 0)
			return -1;
		if (close == '}') {
			it.key = i;
			if (tj_jsontext_value(s, len, i, &it.key_end, NULL) < 0 ||
			    put(out, s + i, it.key_end - i) < 0 || put(out, ":", 1) < 0)
				return -1;
			i = tj_jsontext_ws(s, len, tj_jsontext_ws(s, len, it.key_end) + 1);
			drop = !plain && depth == 0 && tj_jsontext_key_is(s, &it, "timestamp");
			sort = !plain && s[i] == '[' && tj_jsontext_key_is(s, &it, "relevant_attributes");
		}
		if ((sort ? sorted_array(s, len, i, &e, out, depth)
		          : norm_value(s, len, i, &e, out, depth + 1, plain)) < 0)
			return -1;
		if (drop)
			out->len = mark;
		else
			first = false;
		i = tj_jsontext_ws(s, len, e);
		if (s[i] == ',')
			i = tj_jsontext_ws(s, len, i + 1);
	}
	*end = i + 1;
	return put(out, &close, 1);
}

int planjson_normalize(const char *text, size_t len, char **canonical, size_t *canonical_len,
                       char sha256_hex[65], struct tj_error *err)
{
	struct tj_buf out = {0};
	size_t i = tj_jsontext_ws(text, len, 0), end;

	if (tj_jsontext_check(text, len, err) < 0)
		return tj_error_prefix(err, "terraform show -json did not print valid JSON");
	if (i >= len || text[i] != '{')
		return tj_error_set(err, EINVAL, "terraform show -json did not print a JSON object");
	if (tj_buf_append(&out, "", 0) < 0 || norm_value(text, len, i, &end, &out, 0, false) < 0) {
		tj_buf_free(&out);
		return tj_error_set(err, ENOMEM, "out of memory normalising the plan");
	}
	tj_sha256_hex(out.data, out.len, sha256_hex);
	*canonical = out.data;
	*canonical_len = out.len;
	return 0;
}

int planjson_summary(const char *canonical, size_t len, struct plan_summary *s, struct tj_error *err)
{
	_cleanup_cjson_ cJSON *rc = NULL;
	const cJSON *item;
	struct tj_jsontext_item it;
	size_t pos = 0;
	int more;

	memset(s, 0, sizeof(*s));
	/* only resource_changes is parsed: the actions are plain strings */
	while ((more = tj_jsontext_next(canonical, len, &pos, &it)) == 1)
		if (tj_jsontext_key_is(canonical, &it, "resource_changes"))
			break;
	if (more < 0)
		return tj_error_set(err, EINVAL, "the plan is not a JSON object");
	if (more == 0)
		return 0;
	rc = cJSON_ParseWithLength(canonical + it.value, it.value_end - it.value);
	if (!rc)
		return tj_error_set(err, ENOMEM, "out of memory reading the plan's resource_changes");
	cJSON_ArrayForEach (item, rc) {
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
	return 0;
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
