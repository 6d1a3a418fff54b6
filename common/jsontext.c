/* JSON text checked and walked as bytes (see jsontext.h). */
#include "common/jsontext.h"

#include <errno.h>
#include <string.h>

size_t tj_jsontext_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the well-formed UTF-8 sequence at p (Unicode 3.9 table 3-7:
 * no overlong forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

bool tj_utf8_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f || !(n = utf8_len(p + i, len - i)))
			return false;
	}
	return true;
}

static int bad(struct tj_error *err, size_t at, const char *what)
{
	return tj_error_set(err, EINVAL, "invalid JSON at byte %zu: %s", at, what);
}

static int string_end(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err)
{
	size_t start = i;

	for (i++; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n;

		if (c == '"') {
			*end = i + 1;
			return 0;
		}
		if (c < 0x20)
			return bad(err, i, "a control character in a string");
		if (c == '\\') {
			if (i + 1 >= len)
				break;
			switch (s[i + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't': i += 2; continue;
			case 'u':
				if (i + 5 >= len || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) ||
				    !is_hex(s[i + 4]) || !is_hex(s[i + 5]))
					return bad(err, i, "a \\u escape without four hex digits");
				i += 6;
				continue;
			default: return bad(err, i, "an unknown escape");
			}
		}
		if (!(n = utf8_len((const unsigned char *)s + i, len - i)))
			return bad(err, i, "not UTF-8");
		i += n;
	}
	return bad(err, start, "an unterminated string");
}

static int number_end(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err)
{
	size_t start = i;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && s[i] >= '1' && s[i] <= '9')
		while (i < len && is_digit(s[i]))
			i++;
	else
		return bad(err, start, "not a value");
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return bad(err, start, "a number without digits after '.'");
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return bad(err, start, "a number without exponent digits");
		while (i < len && is_digit(s[i]))
			i++;
	}
	*end = i;
	return 0;
}

static int value_end(const char *s, size_t len, size_t i, size_t *end, int depth, struct tj_error *err)
{
	static const char *const literals[] = {"true", "false", "null"};

	if (i >= len)
		return bad(err, i, "a value is missing");
	switch (s[i]) {
	case '"': return string_end(s, len, i, end, err);
	case '{':
	case '[': {
		bool object = s[i] == '{';
		char close = object ? '}' : ']';
		size_t start = i;

		if (depth >= TJ_JSONTEXT_MAX_DEPTH)
			return bad(err, i, "nested too deeply");
		i = tj_jsontext_ws(s, len, i + 1);
		if (i < len && s[i] == close) {
			*end = i + 1;
			return 0;
		}
		for (;;) {
			if (object) {
				if (i >= len || s[i] != '"')
					return bad(err, i, "an object key must be a string");
				if (string_end(s, len, i, &i, err) < 0)
					return -1;
				i = tj_jsontext_ws(s, len, i);
				if (i >= len || s[i] != ':')
					return bad(err, i, "':' expected");
				i = tj_jsontext_ws(s, len, i + 1);
			}
			if (value_end(s, len, i, &i, depth + 1, err) < 0)
				return -1;
			i = tj_jsontext_ws(s, len, i);
			if (i < len && s[i] == ',') {
				i = tj_jsontext_ws(s, len, i + 1);
				continue;
			}
			if (i < len && s[i] == close) {
				*end = i + 1;
				return 0;
			}
			return bad(err, i < len ? i : start,
			           object ? "',' or '}' expected" : "',' or ']' expected");
		}
	}
	default:
		for (size_t k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
			size_t n = strlen(literals[k]);
			if (len - i >= n && memcmp(s + i, literals[k], n) == 0) {
				*end = i + n;
				return 0;
			}
		}
		return number_end(s, len, i, end, err);
	}
}

int tj_jsontext_value(const char *s, size_t len, size_t i, size_t *end, struct tj_error *err)
{
	return value_end(s, len, i, end, 0, err);
}

int tj_jsontext_check(const char *s, size_t len, struct tj_error *err)
{
	size_t i = tj_jsontext_ws(s, len, 0), end;

	if (value_end(s, len, i, &end, 0, err) < 0)
		return -1;
	if (tj_jsontext_ws(s, len, end) != len)
		return bad(err, end, "text after the value");
	return 0;
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
		if (string_end(s, len, i, &key_end, NULL) < 0)
			return -1;
		k = tj_jsontext_ws(s, len, key_end);
		if (k < len && s[k] == ':') {
			it->key = i;
			it->key_end = key_end;
			i = tj_jsontext_ws(s, len, k + 1);
		}
	}
	it->value = i;
	if (value_end(s, len, i, &it->value_end, 0, NULL) < 0)
		return -1;
	*pos = tj_jsontext_ws(s, len, it->value_end);
	return 1;
}

bool tj_jsontext_key_is(const char *s, const struct tj_jsontext_item *it, const char *name)
{
	size_t n = strlen(name);

	return it->key_end - it->key == n + 2 && memcmp(s + it->key + 1, name, n) == 0;
}

int tj_jsontext_compact(const char *s, size_t i, size_t end, struct tj_buf *out)
{
	size_t run = i;

	while (i < end) {
		if (s[i] == '"') {
			/* a checked string: skip to its closing quote */
			for (i++; s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			if (tj_buf_append(out, s + run, i - run) < 0)
				return -1;
			i = tj_jsontext_ws(s, end, i);
			run = i;
		} else {
			i++;
		}
	}
	return tj_buf_append(out, s + run, end - run);
}
