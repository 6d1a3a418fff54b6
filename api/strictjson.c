#include "api/strictjson.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ UTF-8 */

/* The length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool api_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

size_t api_utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		if (!n)
			n = 1;
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

int api_utf8_repair(char **data, size_t *len)
{
	const unsigned char *p = (const unsigned char *)*data;
	size_t bad = 0, o = 0;
	char *out;

	for (size_t i = 0; i < *len;) {
		size_t n = utf8_seq(p + i, *len - i);
		bad += !n;
		i += n ? n : 1;
	}
	if (!bad)
		return 0;
	out = malloc(*len + 2 * bad + 1);
	if (!out)
		return -1;
	for (size_t i = 0; i < *len;) {
		size_t n = utf8_seq(p + i, *len - i);
		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	free(*data);
	*data = out;
	*len = o;
	return 0;
}

/* ------------------------------------------------------------ the validator */

/* The keys seen in one object: an open-addressing table of (hash, offset,
 * length) into the arena of unescaped keys. */
struct keyset {
	struct slot {
		uint32_t hash, len;
		size_t off;
		bool used;
	} * slots;
	size_t cap, n;
};

struct parser {
	const unsigned char *p;
	size_t len, pos;
	unsigned max_depth;
	const char *nul_ok_in;
	char *msg;
	size_t msglen;
	char *arena; /* unescaped keys, and the current string */
	size_t arena_len, arena_cap;
	bool failed;
	size_t *steps; /* probes of the key tables */
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (ps->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ps->msg, ps->msglen, "the request body is not valid: %s at byte %zu", what, ps->pos);
	ps->failed = true;
	return -1;
}

static int arena_put(struct parser *ps, const void *b, size_t n)
{
	if (ps->arena_len + n > ps->arena_cap) {
		size_t cap = ps->arena_cap ? ps->arena_cap : 256;
		char *a;
		while (cap < ps->arena_len + n)
			cap *= 2;
		a = realloc(ps->arena, cap);
		if (!a)
			return fail(ps, "out of memory");
		ps->arena = a;
		ps->arena_cap = cap;
	}
	memcpy(ps->arena + ps->arena_len, b, n);
	ps->arena_len += n;
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->pos < ps->len && (ps->p[ps->pos] == ' ' || ps->p[ps->pos] == '\t' ||
	                             ps->p[ps->pos] == '\n' || ps->p[ps->pos] == '\r'))
		ps->pos++;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	*out = 0;
	if (ps->len - ps->pos < 4)
		return fail(ps, "a truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		unsigned char c = ps->p[ps->pos++];
		unsigned v = c >= '0' && c <= '9'   ? c - '0'
		             : c >= 'a' && c <= 'f' ? c - 'a' + 10
		             : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                    : 16;
		if (v == 16)
			return fail(ps, "an invalid \\u escape");
		*out = *out << 4 | v;
	}
	return 0;
}

/* A string at ps->pos (the opening quote).  With keep, its unescaped bytes
 * are appended to the arena.  *has_nul: it holds U+0000. */
static int string(struct parser *ps, bool keep, bool *has_nul)
{
	*has_nul = false;
	ps->pos++;
	for (;;) {
		unsigned char c;
		if (ps->pos >= ps->len)
			return fail(ps, "an unterminated string");
		c = ps->p[ps->pos];
		if (c == '"') {
			ps->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(ps, "a control character in a string");
		if (c == '\\') {
			char one;
			uint32_t cp;
			unsigned char u[4];
			size_t n;
			if (++ps->pos >= ps->len)
				return fail(ps, "an unterminated string");
			c = ps->p[ps->pos++];
			switch (c) {
			case '"':
			case '\\':
			case '/': one = (char)c; break;
			case 'b': one = '\b'; break;
			case 'f': one = '\f'; break;
			case 'n': one = '\n'; break;
			case 'r': one = '\r'; break;
			case 't': one = '\t'; break;
			case 'u':
				if (hex4(ps, &cp) < 0)
					return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(ps, "a lone surrogate escape");
				if (cp >= 0xd800 && cp <= 0xdbff) {
					uint32_t lo;
					if (ps->len - ps->pos < 2 || ps->p[ps->pos] != '\\' ||
					    ps->p[ps->pos + 1] != 'u')
						return fail(ps, "a lone surrogate escape");
					ps->pos += 2;
					if (hex4(ps, &lo) < 0)
						return -1;
					if (lo < 0xdc00 || lo > 0xdfff)
						return fail(ps, "a lone surrogate escape");
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				}
				if (cp == 0)
					*has_nul = true;
				if (!keep)
					continue;
				if (cp < 0x80)
					u[0] = (unsigned char)cp, n = 1;
				else if (cp < 0x800)
					u[0] = (unsigned char)(0xc0 | cp >> 6),
					u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
				else if (cp < 0x10000)
					u[0] = (unsigned char)(0xe0 | cp >> 12),
					u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
					u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
				else
					u[0] = (unsigned char)(0xf0 | cp >> 18),
					u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f)),
					u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)),
					u[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
				if (arena_put(ps, u, n) < 0)
					return -1;
				continue;
			default: ps->pos--; return fail(ps, "an invalid escape");
			}
			if (keep && arena_put(ps, &one, 1) < 0)
				return -1;
			continue;
		}
		{
			size_t n = utf8_seq(ps->p + ps->pos, ps->len - ps->pos);
			if (!n)
				return fail(ps, "invalid UTF-8");
			if (keep && arena_put(ps, ps->p + ps->pos, n) < 0)
				return -1;
			ps->pos += n;
		}
	}
}

static int number(struct parser *ps)
{
	size_t start = ps->pos;
	const unsigned char *p = ps->p;

#define DIGIT(i) ((i) < ps->len && p[i] >= '0' && p[i] <= '9')
	if (ps->pos < ps->len && p[ps->pos] == '-')
		ps->pos++;
	if (ps->pos < ps->len && p[ps->pos] == '0')
		ps->pos++;
	else if (DIGIT(ps->pos))
		while (DIGIT(ps->pos))
			ps->pos++;
	else
		return fail(ps, "an invalid number");
	if (ps->pos < ps->len && p[ps->pos] == '.') {
		ps->pos++;
		if (!DIGIT(ps->pos))
			return fail(ps, "an invalid number");
		while (DIGIT(ps->pos))
			ps->pos++;
	}
	if (ps->pos < ps->len && (p[ps->pos] == 'e' || p[ps->pos] == 'E')) {
		ps->pos++;
		if (ps->pos < ps->len && (p[ps->pos] == '+' || p[ps->pos] == '-'))
			ps->pos++;
		if (!DIGIT(ps->pos))
			return fail(ps, "an invalid number");
		while (DIGIT(ps->pos))
			ps->pos++;
	}
#undef DIGIT
	return ps->pos > start ? 0 : fail(ps, "an invalid number");
}

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Adds the key at arena[off, off+len) to ks; 1 if it was there already. */
static int keyset_add(struct parser *ps, struct keyset *ks, size_t off, size_t len)
{
	uint32_t h = hash(ps->arena + off, len);
	size_t i;

	if (2 * (ks->n + 1) > ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 8;
		struct slot *s = calloc(cap, sizeof(*s));
		if (!s)
			return fail(ps, "out of memory");
		for (size_t k = 0; k < ks->cap; k++)
			if (ks->slots[k].used) {
				for (i = ks->slots[k].hash & (cap - 1); s[i].used; i = (i + 1) & (cap - 1))
					++*ps->steps;
				s[i] = ks->slots[k];
			}
		free(ks->slots);
		ks->slots = s;
		ks->cap = cap;
	}
	for (i = h & (ks->cap - 1); ks->slots[i].used && ++*ps->steps; i = (i + 1) & (ks->cap - 1))
		if (ks->slots[i].hash == h && ks->slots[i].len == len &&
		    memcmp(ps->arena + ks->slots[i].off, ps->arena + off, len) == 0)
			return 1;
	ks->slots[i] = (struct slot){.hash = h, .len = (uint32_t)len, .off = off, .used = true};
	ks->n++;
	return 0;
}

static int value(struct parser *ps, unsigned depth, bool nul_ok, struct api_json_doc *doc, size_t *n_members);

static int object(struct parser *ps, unsigned depth, bool nul_ok, struct api_json_doc *doc, size_t *n_members)
{
	struct keyset ks = {0};
	int rc = 0;

	ps->pos++;
	skip_ws(ps);
	if (ps->pos < ps->len && ps->p[ps->pos] == '}') {
		ps->pos++;
		return 0;
	}
	for (;;) {
		size_t off = ps->arena_len, klen, members = 0;
		bool has_nul;
		struct api_json_member *m = NULL;

		skip_ws(ps);
		if (ps->pos >= ps->len || ps->p[ps->pos] != '"') {
			rc = fail(ps, "a key was expected");
			break;
		}
		if (string(ps, true, &has_nul) < 0) {
			rc = -1;
			break;
		}
		klen = ps->arena_len - off;
		if (has_nul) {
			rc = fail(ps, "a key holds a NUL character");
			break;
		}
		if (keyset_add(ps, &ks, off, klen) != 0) {
			rc = fail(ps, "a duplicate key '%.*s'", (int)api_utf8_cut(ps->arena + off, klen, 64),
			          ps->arena + off);
			break;
		}
		skip_ws(ps);
		if (ps->pos >= ps->len || ps->p[ps->pos] != ':') {
			rc = fail(ps, "':' was expected");
			break;
		}
		ps->pos++;
		skip_ws(ps);
		if (doc) {
			if (doc->n >= API_JSON_MAX_MEMBERS) {
				rc = fail(ps, "too many top-level keys");
				break;
			}
			m = &doc->m[doc->n++];
			memset(m, 0, sizeof(*m));
			snprintf(m->key, sizeof(m->key), "%.*s",
			         (int)api_utf8_cut(ps->arena + off, klen, sizeof(m->key) - 1),
			         ps->arena + off);
			m->key_truncated = klen >= sizeof(m->key);
			m->start = ps->pos;
		}
		if (value(ps, depth + 1,
		          nul_ok || (doc && ps->nul_ok_in && !m->key_truncated &&
		                     strcmp(m->key, ps->nul_ok_in) == 0),
		          NULL, &members) < 0) {
			rc = -1;
			break;
		}
		if (m) {
			unsigned char c = ps->p[m->start];
			m->end = ps->pos;
			m->type = c == '{'               ? API_JSON_OBJECT
			          : c == '['             ? API_JSON_ARRAY
			          : c == '"'             ? API_JSON_STRING
			          : c == 'n'             ? API_JSON_NULL
			          : c == 't' || c == 'f' ? API_JSON_BOOL
			                                 : API_JSON_NUMBER;
			m->n_members = members;
		}
		(*n_members)++;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
			ps->pos++;
			continue;
		}
		if (ps->pos < ps->len && ps->p[ps->pos] == '}') {
			ps->pos++;
			break;
		}
		rc = fail(ps, "',' or '}' was expected");
		break;
	}
	free(ks.slots);
	return rc;
}

static int value(struct parser *ps, unsigned depth, bool nul_ok, struct api_json_doc *doc, size_t *n_members)
{
	unsigned char c;

	if (depth > ps->max_depth)
		return fail(ps, "nesting deeper than %u levels", ps->max_depth);
	skip_ws(ps);
	if (ps->pos >= ps->len)
		return fail(ps, "a value was expected");
	c = ps->p[ps->pos];
	if (c == '{')
		return object(ps, depth, nul_ok, doc, n_members);
	if (c == '[') {
		ps->pos++;
		skip_ws(ps);
		if (ps->pos < ps->len && ps->p[ps->pos] == ']') {
			ps->pos++;
			return 0;
		}
		for (;;) {
			size_t ignored = 0;
			if (value(ps, depth + 1, nul_ok, NULL, &ignored) < 0)
				return -1;
			skip_ws(ps);
			if (ps->pos < ps->len && ps->p[ps->pos] == ',') {
				ps->pos++;
				continue;
			}
			if (ps->pos < ps->len && ps->p[ps->pos] == ']') {
				ps->pos++;
				return 0;
			}
			return fail(ps, "',' or ']' was expected");
		}
	}
	if (c == '"') {
		bool has_nul;
		if (string(ps, false, &has_nul) < 0)
			return -1;
		return has_nul && !nul_ok ? fail(ps, "a string holds a NUL character") : 0;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(ps);
	for (const char *const *lit = (const char *const[]){"true", "false", "null", NULL}; *lit; lit++) {
		size_t n = strlen(*lit);
		if (ps->len - ps->pos >= n && memcmp(ps->p + ps->pos, *lit, n) == 0) {
			ps->pos += n;
			return 0;
		}
	}
	return fail(ps, "a value was expected");
}

int api_json_validate(const char *body, size_t len, unsigned max_depth, const char *nul_ok_in,
                      struct api_json_doc *doc, char *msg, size_t msglen)
{
	struct parser ps = {.p = (const unsigned char *)body,
	                    .len = len,
	                    .max_depth = max_depth,
	                    .nul_ok_in = nul_ok_in,
	                    .msg = msg,
	                    .msglen = msglen};
	size_t members = 0;
	int rc;

	memset(doc, 0, sizeof(*doc));
	ps.steps = &doc->steps;
	skip_ws(&ps);
	doc->type = ps.pos < len && body[ps.pos] == '{' ? API_JSON_OBJECT : API_JSON_NULL;
	rc = value(&ps, 1, false, doc->type == API_JSON_OBJECT ? doc : NULL, &members);
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.pos != len)
			rc = fail(&ps, "data after the JSON value");
	}
	free(ps.arena);
	doc->steps += ps.pos;
	return rc;
}
