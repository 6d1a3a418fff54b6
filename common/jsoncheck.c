/* One JSON checker for every caller (see jsoncheck.h). */
#include "common/jsoncheck.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

const struct tj_json_opts tj_json_text_opts = {.max_depth = TJ_JSONTEXT_MAX_DEPTH, .utf8 = true};

/* Every way text fails, in the words of each wording.  The offsets differ
 * too: the text wording names where the token starts, the request wording
 * where reading stopped; each fault() call passes both. */
enum fault {
	F_MISSING,
	F_NOT_VALUE,
	F_NUMBER,
	F_FRACTION,
	F_EXPONENT,
	F_CONTROL,
	F_UNTERMINATED,
	F_ESCAPE,
	F_HEX_SHORT,
	F_HEX,
	F_SURROGATE,
	F_UTF8,
	F_DEPTH,
	F_KEY,
	F_COLON,
	F_OBJECT_NEXT,
	F_ARRAY_NEXT,
	F_TRAILING,
	F_NUL_KEY,
	F_NUL_STRING,
	F_DUPLICATE,
	F_MEMBERS,
	F_MEMORY,
};

static const struct {
	const char *text, *request;
} words[] = {
    [F_MISSING] = {"a value is missing", "a value was expected"},
    [F_NOT_VALUE] = {"not a value", "a value was expected"},
    [F_NUMBER] = {"not a value", "an invalid number"},
    [F_FRACTION] = {"a number without digits after '.'", "an invalid number"},
    [F_EXPONENT] = {"a number without exponent digits", "an invalid number"},
    [F_CONTROL] = {"a control character in a string", "a control character in a string"},
    [F_UNTERMINATED] = {"an unterminated string", "an unterminated string"},
    [F_ESCAPE] = {"an unknown escape", "an invalid escape"},
    [F_HEX_SHORT] = {"a \\u escape without four hex digits", "a truncated \\u escape"},
    [F_HEX] = {"a \\u escape without four hex digits", "an invalid \\u escape"},
    [F_SURROGATE] = {"a lone surrogate escape", "a lone surrogate escape"},
    [F_UTF8] = {"not UTF-8", "invalid UTF-8"},
    [F_DEPTH] = {"nested too deeply", NULL}, /* "nesting deeper than N levels" */
    [F_KEY] = {"an object key must be a string", "a key was expected"},
    [F_COLON] = {"':' expected", "':' was expected"},
    [F_OBJECT_NEXT] = {"',' or '}' expected", "',' or '}' was expected"},
    [F_ARRAY_NEXT] = {"',' or ']' expected", "',' or ']' was expected"},
    [F_TRAILING] = {"text after the value", "data after the JSON value"},
    [F_NUL_KEY] = {"a key holds a NUL character", "a key holds a NUL character"},
    [F_NUL_STRING] = {"a string holds a NUL character", "a string holds a NUL character"},
    [F_DUPLICATE] = {"a duplicate key", "a duplicate key"}, /* (the key is quoted) */
    [F_MEMBERS] = {"too many top-level keys", "too many top-level keys"},
    [F_MEMORY] = {"out of memory", "out of memory"},
};

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

struct ck {
	const unsigned char *p;
	size_t len, pos;
	const struct tj_json_opts *o;
	struct tj_json_doc *doc; /* the top-level members go here (NULL: nowhere) */
	struct tj_error *err;
	bool failed;
	bool keep_keys; /* keys are unescaped into the arena */
	char *arena;
	size_t arena_len, arena_cap;
	size_t probes; /* of the key tables */
};

/* The first fault is the one reported; detail (may be NULL) follows the words. */
static int fault_detail(struct ck *c, enum fault f, size_t text_at, size_t request_at, const char *detail)
{
	int errnum = f == F_MEMORY ? ENOMEM : EINVAL;

	if (c->failed)
		return -1;
	c->failed = true;
	if (c->o->words == TJ_JSON_WORDS_REQUEST) {
		if (f == F_DEPTH)
			return tj_error_set(c->err, errnum, "nesting deeper than %u levels at byte %zu",
			                    c->o->max_depth, request_at);
		return tj_error_set(c->err, errnum, "%s%s at byte %zu", words[f].request,
		                    detail ? detail : "", request_at);
	}
	return tj_error_set(c->err, errnum, "invalid JSON at byte %zu: %s%s", text_at, words[f].text,
	                    detail ? detail : "");
}

static int fault(struct ck *c, enum fault f, size_t text_at, size_t request_at)
{
	return fault_detail(c, f, text_at, request_at, NULL);
}

static int arena_put(struct ck *c, const void *b, size_t n)
{
	if (c->arena_len + n > c->arena_cap) {
		size_t cap = c->arena_cap ? c->arena_cap : 256;
		char *a;
		while (cap < c->arena_len + n)
			cap *= 2;
		a = realloc(c->arena, cap);
		if (!a)
			return fault(c, F_MEMORY, c->pos, c->pos);
		c->arena = a;
		c->arena_cap = cap;
	}
	memcpy(c->arena + c->arena_len, b, n);
	c->arena_len += n;
	return 0;
}

static bool is_ws(unsigned char b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

static void skip_ws(struct ck *c)
{
	while (c->pos < c->len && is_ws(c->p[c->pos]))
		c->pos++;
}

static bool is_digit_at(const struct ck *c, size_t i)
{
	return i < c->len && c->p[i] >= '0' && c->p[i] <= '9';
}

static unsigned hex_value(unsigned char b)
{
	return b >= '0' && b <= '9'   ? b - '0'
	       : b >= 'a' && b <= 'f' ? b - 'a' + 10
	       : b >= 'A' && b <= 'F' ? b - 'A' + 10
	                              : 16;
}

/* The four hex digits at c->pos of the \u escape whose backslash is at bs. */
static int hex4(struct ck *c, size_t bs, uint32_t *out)
{
	*out = 0;
	if (c->len - c->pos < 4)
		return fault(c, F_HEX_SHORT, bs, c->pos);
	for (int i = 0; i < 4; i++) {
		unsigned v = hex_value(c->p[c->pos++]);
		if (v == 16)
			return fault(c, F_HEX, bs, c->pos);
		*out = *out << 4 | v;
	}
	return 0;
}

/* Whether a \u escape of a low surrogate follows at c->pos (*lo: it). */
static bool low_follows(const struct ck *c, uint32_t *lo)
{
	*lo = 0;
	if (c->len - c->pos < 6 || c->p[c->pos] != '\\' || c->p[c->pos + 1] != 'u')
		return false;
	for (int i = 2; i < 6; i++) {
		unsigned v = hex_value(c->p[c->pos + i]);
		if (v == 16)
			return false;
		*lo = *lo << 4 | v;
	}
	return *lo >= 0xdc00 && *lo <= 0xdfff;
}

static int put_code_point(struct ck *c, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6), u[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12), u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18), u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return arena_put(c, u, n);
}

/* The \u escape whose backslash is at bs (c->pos past its 'u'). */
static int unicode_escape(struct ck *c, size_t bs, bool keep, bool *nul)
{
	uint32_t cp, lo;

	if (hex4(c, bs, &cp) < 0)
		return -1;
	if (c->o->paired_surrogates) {
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fault(c, F_SURROGATE, bs, c->pos);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (c->len - c->pos < 2 || c->p[c->pos] != '\\' || c->p[c->pos + 1] != 'u')
				return fault(c, F_SURROGATE, bs, c->pos);
			c->pos += 2;
			if (hex4(c, c->pos - 2, &lo) < 0)
				return -1;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fault(c, F_SURROGATE, bs, c->pos);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
	} else if (keep && cp >= 0xd800 && cp <= 0xdbff && low_follows(c, &lo)) {
		/* a pair is one code point, as a key compares */
		c->pos += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		*nul = true;
	return keep ? put_code_point(c, cp) : 0;
}

/* The escape at c->pos (its backslash) in the string opened at quote. */
static int escape(struct ck *c, size_t quote, bool keep, bool *nul)
{
	static const char simple[][2] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'b', '\b'},
	                                 {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'}};
	size_t bs = c->pos;
	unsigned char e;

	if (++c->pos >= c->len)
		return fault(c, F_UNTERMINATED, quote, c->pos);
	e = c->p[c->pos++];
	if (e == 'u')
		return unicode_escape(c, bs, keep, nul);
	for (size_t k = 0; k < sizeof(simple) / sizeof(simple[0]); k++)
		if (e == (unsigned char)simple[k][0])
			return keep ? arena_put(c, &simple[k][1], 1) : 0;
	c->pos--;
	return fault(c, F_ESCAPE, bs, c->pos);
}

/* The string at c->pos (its opening quote).  keep: its unescaped bytes are
 * appended to the arena.  *nul: it holds U+0000. */
static int string(struct ck *c, bool keep, bool *nul)
{
	size_t quote = c->pos;

	*nul = false;
	c->pos++;
	for (;;) {
		unsigned char b;
		size_t n;

		if (c->pos >= c->len)
			return fault(c, F_UNTERMINATED, quote, c->pos);
		b = c->p[c->pos];
		if (b == '"') {
			c->pos++;
			return 0;
		}
		if (b < 0x20)
			return fault(c, F_CONTROL, c->pos, c->pos);
		if (b == '\\') {
			if (escape(c, quote, keep, nul) < 0)
				return -1;
			continue;
		}
		n = c->o->utf8 ? tj_utf8_seq(c->p + c->pos, c->len - c->pos) : 1;
		if (!n)
			return fault(c, F_UTF8, c->pos, c->pos);
		if (keep && arena_put(c, c->p + c->pos, n) < 0)
			return -1;
		c->pos += n;
	}
}

static int number(struct ck *c)
{
	size_t start = c->pos;

	if (c->p[c->pos] == '-')
		c->pos++;
	if (c->pos < c->len && c->p[c->pos] == '0')
		c->pos++;
	else if (is_digit_at(c, c->pos))
		while (is_digit_at(c, c->pos))
			c->pos++;
	else
		return fault(c, F_NUMBER, start, c->pos);
	if (c->pos < c->len && c->p[c->pos] == '.') {
		c->pos++;
		if (!is_digit_at(c, c->pos))
			return fault(c, F_FRACTION, start, c->pos);
		while (is_digit_at(c, c->pos))
			c->pos++;
	}
	if (c->pos < c->len && (c->p[c->pos] == 'e' || c->p[c->pos] == 'E')) {
		c->pos++;
		if (c->pos < c->len && (c->p[c->pos] == '+' || c->p[c->pos] == '-'))
			c->pos++;
		if (!is_digit_at(c, c->pos))
			return fault(c, F_EXPONENT, start, c->pos);
		while (is_digit_at(c, c->pos))
			c->pos++;
	}
	return 0;
}

static uint32_t hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Adds the key at arena[off, off+len) to ks: 0, 1 if it was there already,
 * -1 out of memory. */
static int keyset_add(struct ck *c, struct keyset *ks, size_t off, size_t len)
{
	uint32_t h = hash(c->arena + off, len);
	size_t i;

	if (2 * (ks->n + 1) > ks->cap) {
		size_t cap = ks->cap ? 2 * ks->cap : 8;
		struct slot *s = calloc(cap, sizeof(*s));
		if (!s)
			return fault(c, F_MEMORY, c->pos, c->pos);
		for (size_t k = 0; k < ks->cap; k++)
			if (ks->slots[k].used) {
				for (i = ks->slots[k].hash & (cap - 1); s[i].used; i = (i + 1) & (cap - 1))
					c->probes++;
				s[i] = ks->slots[k];
			}
		free(ks->slots);
		ks->slots = s;
		ks->cap = cap;
	}
	for (i = h & (ks->cap - 1); ks->slots[i].used && ++c->probes; i = (i + 1) & (ks->cap - 1))
		if (ks->slots[i].hash == h && ks->slots[i].len == len &&
		    (len == 0 || memcmp(c->arena + ks->slots[i].off, c->arena + off, len) == 0))
			return 1;
	ks->slots[i] = (struct slot){.hash = h, .len = (uint32_t)len, .off = off, .used = true};
	ks->n++;
	return 0;
}

static enum tj_json_type type_at(unsigned char b)
{
	return b == '{'               ? TJ_JSON_OBJECT
	       : b == '['             ? TJ_JSON_ARRAY
	       : b == '"'             ? TJ_JSON_STRING
	       : b == 'n'             ? TJ_JSON_NULL
	       : b == 't' || b == 'f' ? TJ_JSON_BOOL
	                              : TJ_JSON_NUMBER;
}

static int value(struct ck *c, unsigned level, bool nul_ok, bool top, size_t *n_members);

/* A value where one is due at c->pos, whitespace before it allowed. */
static int element(struct ck *c, unsigned level, bool nul_ok, bool top, size_t *n_members)
{
	if (c->o->depth_counts_values && level > c->o->max_depth)
		return fault(c, F_DEPTH, c->pos, c->pos);
	skip_ws(c);
	return value(c, level, nul_ok, top, n_members);
}

/* The object at c->pos; top: the document's own. */
static int object(struct ck *c, unsigned level, bool nul_ok, bool top, size_t *n_members)
{
	const struct tj_json_opts *o = c->o;
	struct keyset ks = {0};
	size_t open = c->pos;
	int rc = 0;

	c->pos++;
	skip_ws(c);
	if (c->pos < c->len && c->p[c->pos] == '}') {
		c->pos++;
		return 0;
	}
	for (;;) {
		size_t off = c->arena_len, klen, members = 0;
		bool nul, ok = nul_ok;
		struct tj_json_member *m = NULL;

		skip_ws(c);
		if (c->pos >= c->len || c->p[c->pos] != '"') {
			rc = fault(c, F_KEY, c->pos, c->pos);
			break;
		}
		if (string(c, c->keep_keys, &nul) < 0) {
			rc = -1;
			break;
		}
		klen = c->arena_len - off;
		if (nul && o->no_nul_keys) {
			rc = fault(c, F_NUL_KEY, c->pos, c->pos);
			break;
		}
		if (o->unique_keys && keyset_add(c, &ks, off, klen) != 0) {
			char detail[80];
			snprintf(detail, sizeof(detail), " '%.*s'",
			         (int)tj_utf8_cut(c->arena + off, klen, 64), c->arena + off);
			rc = fault_detail(c, F_DUPLICATE, c->pos, c->pos, detail);
			break;
		}
		skip_ws(c);
		if (c->pos >= c->len || c->p[c->pos] != ':') {
			rc = fault(c, F_COLON, c->pos, c->pos);
			break;
		}
		c->pos++;
		skip_ws(c);
		if (top && o->nul_ok_in && klen == strlen(o->nul_ok_in) &&
		    memcmp(c->arena + off, o->nul_ok_in, klen) == 0)
			ok = true;
		if (top && c->doc) {
			if (c->doc->n >= TJ_JSON_MAX_MEMBERS) {
				rc = fault(c, F_MEMBERS, c->pos, c->pos);
				break;
			}
			m = &c->doc->m[c->doc->n++];
			memset(m, 0, sizeof(*m));
			snprintf(m->key, sizeof(m->key), "%.*s",
			         (int)tj_utf8_cut(c->arena + off, klen, sizeof(m->key) - 1), c->arena + off);
			m->key_truncated = klen >= sizeof(m->key);
			m->start = c->pos;
		}
		if (element(c, level + 1, ok, false, &members) < 0) {
			rc = -1;
			break;
		}
		if (m) {
			m->end = c->pos;
			m->type = type_at(c->p[m->start]);
			m->n_members = members;
		}
		(*n_members)++;
		skip_ws(c);
		if (c->pos < c->len && c->p[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->pos < c->len && c->p[c->pos] == '}') {
			c->pos++;
			break;
		}
		rc = fault(c, F_OBJECT_NEXT, c->pos < c->len ? c->pos : open, c->pos);
		break;
	}
	free(ks.slots);
	return rc;
}

static int array(struct ck *c, unsigned level, bool nul_ok)
{
	size_t open = c->pos;

	c->pos++;
	skip_ws(c);
	if (c->pos < c->len && c->p[c->pos] == ']') {
		c->pos++;
		return 0;
	}
	for (;;) {
		size_t ignored = 0;
		if (element(c, level + 1, nul_ok, false, &ignored) < 0)
			return -1;
		skip_ws(c);
		if (c->pos < c->len && c->p[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->pos < c->len && c->p[c->pos] == ']') {
			c->pos++;
			return 0;
		}
		return fault(c, F_ARRAY_NEXT, c->pos < c->len ? c->pos : open, c->pos);
	}
}

/* The value at c->pos, at level (the top-level value is 1).  n_members: an
 * object counts its members there. */
static int value(struct ck *c, unsigned level, bool nul_ok, bool top, size_t *n_members)
{
	static const char *const literals[] = {"true", "false", "null"};
	unsigned char b;

	if (c->pos >= c->len)
		return fault(c, F_MISSING, c->pos, c->pos);
	b = c->p[c->pos];
	if (b == '{' || b == '[') {
		if (!c->o->depth_counts_values && level > c->o->max_depth)
			return fault(c, F_DEPTH, c->pos, c->pos);
		return b == '{' ? object(c, level, nul_ok, top, n_members) : array(c, level, nul_ok);
	}
	if (b == '"') {
		bool nul;
		if (string(c, false, &nul) < 0)
			return -1;
		return nul && c->o->no_nul_strings && !nul_ok ? fault(c, F_NUL_STRING, c->pos, c->pos) : 0;
	}
	if (b == '-' || (b >= '0' && b <= '9'))
		return number(c);
	for (size_t k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
		size_t n = strlen(literals[k]);
		if (c->len - c->pos >= n && memcmp(c->p + c->pos, literals[k], n) == 0) {
			c->pos += n;
			return 0;
		}
	}
	return fault(c, F_NOT_VALUE, c->pos, c->pos);
}

static struct ck checker(const char *s, size_t len, size_t i, const struct tj_json_opts *o,
                         struct tj_json_doc *doc, struct tj_error *err)
{
	return (struct ck){.p = (const unsigned char *)s,
	                   .len = len,
	                   .pos = i,
	                   .o = o,
	                   .doc = doc,
	                   .err = err,
	                   .keep_keys = o->unique_keys || o->nul_ok_in || doc};
}

int tj_json_check(const char *s, size_t len, const struct tj_json_opts *o, struct tj_json_doc *doc,
                  struct tj_error *err)
{
	struct ck c = checker(s, len, 0, o, doc, err);
	size_t members = 0, end;
	int rc;

	if (doc)
		memset(doc, 0, sizeof(*doc));
	skip_ws(&c);
	if (doc && c.pos < len)
		doc->type = type_at(c.p[c.pos]);
	rc = element(&c, 1, false, true, &members);
	if (rc == 0) {
		end = c.pos;
		skip_ws(&c);
		if (c.pos != len)
			rc = fault(&c, F_TRAILING, end, c.pos);
	}
	free(c.arena);
	if (doc)
		doc->steps = c.probes + c.pos;
	return rc;
}

int tj_json_check_value(const char *s, size_t len, size_t i, const struct tj_json_opts *o, size_t *end,
                        struct tj_error *err)
{
	struct ck c = checker(s, len, i, o, NULL, err);
	size_t members = 0;
	int rc;

	if (o->depth_counts_values && o->max_depth < 1)
		rc = fault(&c, F_DEPTH, i, i);
	else
		rc = value(&c, 1, false, false, &members);
	free(c.arena);
	if (rc == 0)
		*end = c.pos;
	return rc;
}

bool tj_json_valid(const char *s, size_t len, int max_depth)
{
	/* the grammar alone refuses a NUL byte anywhere; the bytes go into
	 * responses, which are UTF-8 */
	const struct tj_json_opts o = {.max_depth = max_depth > 0 ? (unsigned)max_depth : 0, .utf8 = true};

	return s && tj_json_check(s, len, &o, NULL, NULL) == 0;
}

/* ---- text checked with tj_json_text_opts, and walked as bytes */

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
	while (i < len && is_ws((unsigned char)s[i]))
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
