#include "common/jsoncheck.h"

#include <string.h>

struct jc {
	const unsigned char *p, *end;
	int depth, max;
};

static void skip_ws(struct jc *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool digits(struct jc *j)
{
	const unsigned char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool string(struct jc *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = *j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (j->p >= j->end)
			return false;
		c = *j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (j->p >= j->end || !is_hex(*j->p))
					return false;
		} else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
			return false;
		}
	}
	return false;
}

static bool number(struct jc *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p >= j->end || *j->p < '1' || *j->p > '9' || !digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return false;
	}
	return true;
}

static bool literal(struct jc *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool value(struct jc *j);

/* array or object: open, items separated by commas, close */
static bool container(struct jc *j, bool object)
{
	if (++j->depth > j->max)
		return false;
	j->p++;
	skip_ws(j);
	if (j->p < j->end && *j->p == (object ? '}' : ']')) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		skip_ws(j);
		if (object) {
			if (!string(j))
				return false;
			skip_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!value(j))
			return false;
		skip_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != (object ? '}' : ']'))
			return false;
		j->depth--;
		return true;
	}
}

static bool value(struct jc *j)
{
	skip_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{': return container(j, true);
	case '[': return container(j, false);
	case '"': return string(j);
	case 't': return literal(j, "true");
	case 'f': return literal(j, "false");
	case 'n': return literal(j, "null");
	default: return number(j);
	}
}

bool tj_json_valid(const char *s, size_t len, int max_depth)
{
	struct jc j;

	if (!s || memchr(s, '\0', len))
		return false;
	j = (struct jc){(const unsigned char *)s, (const unsigned char *)s + len, 0, max_depth};
	if (!value(&j))
		return false;
	skip_ws(&j);
	return j.p == j.end;
}
