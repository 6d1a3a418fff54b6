/* .tf.json -> the HCL tree (see tfjson.h).
 *
 * Which properties are blocks depends on terraform's schema; the table below
 * holds the parts the scan needs (top-level block types and their label
 * counts, and the nested blocks that matter: provisioner, backend, cloud,
 * required_providers, scoped data sources).  Everything else becomes an
 * attribute whose value is summarised like an HCL expression. */
#include "policy/tfjson.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block_kind {
	const char *parent;   /* enclosing block type, "" = top level */
	const char *type;
	int labels;
};

static const struct block_kind kinds[] = {
	{"", "resource", 2}, {"", "data", 2}, {"", "ephemeral", 2}, {"", "provider", 1},
	{"", "module", 1}, {"", "variable", 1}, {"", "output", 1}, {"", "check", 1},
	{"", "terraform", 0}, {"", "locals", 0}, {"", "moved", 0}, {"", "import", 0},
	{"", "removed", 0},
	{"resource", "provisioner", 1}, {"resource", "lifecycle", 0}, {"resource", "connection", 0},
	{"removed", "provisioner", 1}, {"removed", "lifecycle", 0}, {"removed", "connection", 0},
	{"ephemeral", "lifecycle", 0}, {"data", "lifecycle", 0},
	{"terraform", "backend", 1}, {"terraform", "cloud", 0}, {"terraform", "required_providers", 0},
	{"terraform", "provider_meta", 1},
	{"check", "data", 2}, {"check", "assert", 0},
};

struct keyline {
	const cJSON *item;
	int line;
};

struct reader {
	struct hcl_file *file;
	struct hcl_parse_error *err;
	struct keyline *lines;
	size_t n_lines;
	size_t max_nesting;
	bool failed;
};

static int fail(struct reader *r, int line, bool limit, const char *msg)
{
	if (!r->failed) {
		r->failed = true;
		r->err->line = line;
		r->err->col = 1;
		r->err->limit = limit;
		snprintf(r->err->msg, sizeof(r->err->msg), "%s", msg);
	}
	return -1;
}

/* ---- lines: the n-th key in the text is the n-th keyed item in pre-order ---- */

static size_t text_key_lines(const char *s, size_t len, int *out, size_t max)
{
	size_t n = 0;
	int line = 1;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n') {
			line++;
		} else if (s[i] == '"') {
			int start = line;
			size_t j = i + 1;
			while (j < len && s[j] != '"') {
				if (s[j] == '\\')
					j++;
				j++;
			}
			i = j;
			for (j = i + 1; j < len && strchr(" \t\r\n", s[j]); j++)
				if (s[j] == '\n')
					line++;
			if (j < len && s[j] == ':') {
				if (n < max && out)
					out[n] = start;
				n++;
			}
			i = j - 1;
		}
	}
	return n;
}

/* Pre-order, as the keys appear in the text.  Depth is bounded by cJSON's
 * nesting limit (CJSON_NESTING_LIMIT). */
static void collect_items(const cJSON *it, struct keyline *kl, size_t *n, size_t max, const int *lines,
			  size_t n_text)
{
	for (const cJSON *c = it->child; c; c = c->next) {
		if (c->string && *n < max) {
			kl[*n].item = c;
			kl[*n].line = *n < n_text ? lines[*n] : 0;
			(*n)++;
		}
		collect_items(c, kl, n, max, lines, n_text);
	}
}

static int cmp_kl(const void *a, const void *b)
{
	const cJSON *x = ((const struct keyline *)a)->item, *y = ((const struct keyline *)b)->item;
	return x < y ? -1 : x > y;
}

static int line_of(const struct reader *r, const cJSON *item)
{
	struct keyline key = {item, 0}, *f;

	if (!r->lines)
		return 1;
	f = bsearch(&key, r->lines, r->n_lines, sizeof(key), cmp_kl);
	return f && f->line ? f->line : 1;
}

/* ---- values ---- */

/* A JSON string is a template: ${ and %{ interpolate, $${ and %%{ escape them. */
static int string_expr(struct reader *r, const char *s, int line, struct hcl_expr *e)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n + 1);

	e->line = line;
	if (!out)
		return fail(r, line, true, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if ((s[i] == '$' || s[i] == '%') && s[i + 1] == s[i] && s[i + 2] == '{') {
			out[o++] = s[i];
			out[o++] = '{';
			i += 2;
			continue;
		}
		if ((s[i] == '$' || s[i] == '%') && s[i + 1] == '{') {
			/* provider::NAME:: inside an interpolation runs that provider */
			const char *q = s + i;
			while ((q = strstr(q, "provider::")) != NULL) {
				const char *nm = q + 10, *end = nm;
				while (*end && *end != ':' && *end != '(' && *end != ' ')
					end++;
				if (end > nm && hcl_file_add_fnref(r->file, nm, (size_t)(end - nm), line) < 0) {
					free(out);
					return fail(r, line, true, "out of memory");
				}
				q = end;
			}
			free(out);
			e->kind = HCL_EXPR_TEMPLATE;
			e->str = strdup(s);
			return e->str ? 0 : fail(r, line, true, "out of memory");
		}
		out[o++] = s[i];
	}
	out[o] = '\0';
	e->kind = HCL_EXPR_STRING;
	e->str = out;
	return 0;
}

static int value_expr(struct reader *r, const cJSON *v, int line, struct hcl_expr *e, size_t depth)
{
	const cJSON *c;

	e->line = line;
	if (depth > r->max_nesting)
		return fail(r, line, true, "JSON nested too deeply");
	if (cJSON_IsString(v))
		return string_expr(r, v->valuestring, line, e);
	if (cJSON_IsArray(v)) {
		/* elements may be templates with provider:: references */
		cJSON_ArrayForEach(c, v) {
			struct hcl_expr tmp = {0};
			int rc = value_expr(r, c, line, &tmp, depth + 1);
			hcl_expr_free(&tmp);
			if (rc < 0)
				return -1;
		}
		e->kind = HCL_EXPR_OTHER;
		return 0;
	}
	if (!cJSON_IsObject(v)) {
		e->kind = HCL_EXPR_OTHER;
		return 0;
	}
	e->kind = HCL_EXPR_OBJECT;
	cJSON_ArrayForEach(c, v) {
		struct hcl_attr *it = hcl_expr_add_item(e, c->string, line_of(r, c));
		if (!it)
			return fail(r, line, true, "out of memory");
		if (value_expr(r, c, it->line, &it->value, depth + 1) < 0)
			return -1;
	}
	return 0;
}

/* ---- bodies ---- */

static const struct block_kind *kind_of(const char *parent, const char *type)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].parent, parent) == 0 && strcmp(kinds[i].type, type) == 0)
			return &kinds[i];
	return NULL;
}

static int body(struct reader *r, const cJSON *obj, const char *type, struct hcl_body *out, size_t depth);

/* The value of a block property: labels to peel, then one body or an array
 * of bodies.  `labels` holds the labels collected so far. */
static int block_value(struct reader *r, const cJSON *v, const char *type, int want, const char **labels,
		       int have, int line, struct hcl_body *out, size_t depth)
{
	const cJSON *c;

	if (depth > r->max_nesting)
		return fail(r, line, true, "JSON nested too deeply");
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(c, v)
			if (block_value(r, c, type, want, labels, have, line, out, depth + 1) < 0)
				return -1;
		return 0;
	}
	if (!cJSON_IsObject(v)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "a '%.60s' block must be a JSON object", type);
		return fail(r, line, false, msg);
	}
	if (have < want) {
		cJSON_ArrayForEach(c, v) {
			labels[have] = c->string;
			if (block_value(r, c, type, want, labels, have + 1, line_of(r, c), out, depth + 1) < 0)
				return -1;
		}
		return 0;
	}
	{
		struct hcl_block *blk = hcl_body_add_block(out, type, line, 1);
		if (!blk)
			return fail(r, line, true, "out of memory");
		for (int i = 0; i < have; i++)
			if (hcl_block_add_label(blk, labels[i]) < 0)
				return fail(r, line, true, "out of memory");
		return body(r, v, type, &blk->body, depth + 1);
	}
}

static int body(struct reader *r, const cJSON *obj, const char *type, struct hcl_body *out, size_t depth)
{
	const cJSON *c;

	if (depth > r->max_nesting)
		return fail(r, line_of(r, obj), true, "JSON nested too deeply");
	cJSON_ArrayForEach(c, obj) {
		const struct block_kind *k;
		int line = line_of(r, c);

		if (strcmp(c->string, "//") == 0)
			continue;
		k = kind_of(type, c->string);
		if (!k && !*type) {
			/* unknown top-level property: terraform rejects it; scan it as a block */
			static const struct block_kind unknown = {"", "", 0};
			k = &unknown;
		}
		if (k) {
			const char *labels[2] = {NULL, NULL};
			if (block_value(r, c, c->string, k->labels, labels, 0, line, out, depth + 1) < 0)
				return -1;
		} else {
			struct hcl_attr *a = hcl_body_add_attr(out, c->string, line, 1);
			if (!a)
				return fail(r, line, true, "out of memory");
			if (value_expr(r, c, line, &a->value, depth + 1) < 0)
				return -1;
		}
	}
	return 0;
}

static size_t count_keyed(const cJSON *it)
{
	size_t n = 0;

	for (const cJSON *c = it->child; c; c = c->next)
		n += (c->string != NULL) + count_keyed(c);
	return n;
}

int tfjson_parse(const char *src, size_t len, size_t max_nesting, struct hcl_file *out,
		 struct hcl_parse_error *perr)
{
	struct reader r = {.file = out, .err = perr, .max_nesting = max_nesting ? max_nesting : 1};
	const char *end = NULL;
	cJSON *root;
	int *text_lines = NULL;
	size_t n_text, n_items;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(perr, 0, sizeof(*perr));
	root = cJSON_ParseWithLengthOpts(src, len, &end, 0);
	if (!root) {
		int line = 1;
		const char *at = end ? end : cJSON_GetErrorPtr();
		if (at && at >= src && at <= src + len)
			for (const char *c = src; c < at; c++)
				line += *c == '\n';
		return fail(&r, line, false, "not valid JSON");
	}
	if (end && (size_t)(end - src) < len) {
		/* trailing content after the value */
		for (const char *c = end; c < src + len; c++)
			if (!strchr(" \t\r\n", *c) || !*c) {
				int line = 1;
				for (const char *d = src; d < c; d++)
					line += *d == '\n';
				cJSON_Delete(root);
				return fail(&r, line, false, "unexpected content after the JSON value");
			}
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return fail(&r, 1, false, "a .tf.json file must hold one JSON object");
	}
	n_text = text_key_lines(src, len, NULL, 0);
	n_items = count_keyed(root);
	text_lines = calloc(n_text + 1, sizeof(int));
	r.lines = calloc(n_items + 1, sizeof(*r.lines));
	if (!text_lines || !r.lines) {
		free(text_lines);
		free(r.lines);
		cJSON_Delete(root);
		return fail(&r, 1, true, "out of memory");
	}
	text_key_lines(src, len, text_lines, n_text);
	collect_items(root, r.lines, &r.n_lines, n_items, text_lines, n_text);
	if (n_text != n_items) {
		/* should not happen for JSON cJSON accepted; lines would be wrong */
		memset(r.lines, 0, (n_items + 1) * sizeof(*r.lines));
		r.n_lines = 0;
	}
	if (r.n_lines)
		qsort(r.lines, r.n_lines, sizeof(*r.lines), cmp_kl);
	rc = body(&r, root, "", &out->body, 0);
	free(text_lines);
	free(r.lines);
	cJSON_Delete(root);
	if (rc < 0)
		hcl_file_free(out);
	return rc;
}
