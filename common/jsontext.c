/* JSON text checked and walked as bytes (see jsontext.h). */
#include "common/jsontext.h"

#include <string.h>

int tj_jsontext_check(const char *s, size_t len, struct tj_error *err)
{
	return tj_json_check(s, len, &tj_json_text_opts, NULL, err);
}

int tj_jsontext_value(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err)
{
	return tj_json_check_value(s, len, i, &tj_json_text_opts, end, err);
}

size_t tj_jsontext_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

int tj_jsontext_next(const char *s, size_t len, size_t *pos, struct tj_jsontext_item *it)
{
	size_t i = *pos;

	if (i >= len)
		return -1;
	if (s[i] == '}' || s[i] == ']') {
		*pos = i + 1;
		return 0;
	}
	if (s[i] == '{' || s[i] == '[') {
		size_t k = tj_jsontext_ws(s, len, i + 1);
		if (k < len && (s[k] == '}' || s[k] == ']')) {
			*pos = k + 1;
			return 0;
		}
	} else if (s[i] != ',') {
		return -1;
	}
	/* a member starts with a key and a ':' (an array element cannot) */
	i = tj_jsontext_ws(s, len, i + 1);
	memset(it, 0, sizeof(*it));
	if (i < len && s[i] == '"') {
		size_t key_end = i, k;
		if (tj_jsontext_value(s, len, i, &key_end, NULL) < 0)
			return -1;
		k = tj_jsontext_ws(s, len, key_end);
		if (k < len && s[k] == ':') {
			it->key = i;
			it->key_end = key_end;
			i = tj_jsontext_ws(s, len, k + 1);
		}
	}
	it->value = i;
	if (tj_jsontext_value(s, len, i, &it->value_end, NULL) < 0)
		return -1;
	*pos = tj_jsontext_ws(s, len, it->value_end);
	return 1;
}

bool tj_jsontext_key_is(const char *s, const struct tj_jsontext_item *it, const char *name)
{
	size_t n = strlen(name);

	return it->key_end - it->key == n + 2 && memcmp(s + it->key + 1, name, n) == 0;
}
