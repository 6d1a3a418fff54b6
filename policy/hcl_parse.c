/* HCL native syntax: the structural parser.
 *
 * Bodies are parsed exactly (attributes, blocks, quoted or bare labels);
 * expressions are consumed with a bracket stack and summarised (literal
 * string, template, traversal, object constructor, other), which is all the
 * static scan needs: it never evaluates.  An expression ends at a newline
 * outside brackets, as in HCL.  Block nesting and the bracket stack are both
 * bounded by max_nesting; the lexer bounds the token count. */
#include "policy/hcl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

struct parser {
	struct hcl_lexer lx;
	struct hcl_token tok;      /* current token */
	struct hcl_token peek;     /* lookahead */
	bool have_peek;
	size_t max_nesting;
	struct hcl_file *file;
	struct hcl_parse_error *err;
	enum hcl_tok *stack;       /* open brackets while skipping an expression */
	size_t depth;
	bool failed;
};

static void fail(struct parser *p, const struct hcl_token *at, bool limit, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct parser *p, const struct hcl_token *at, bool limit, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	if (at->type == HCL_T_ERROR) {
		snprintf(p->err->msg, sizeof(p->err->msg), "%s", p->lx.errmsg);
		p->err->limit = p->lx.limit_hit;
		p->err->line = p->lx.err_line;
		p->err->col = p->lx.err_col;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	p->err->limit = limit;
	p->err->line = at->line;
	p->err->col = at->col;
}

static void oom(struct parser *p)
{
	fail(p, &p->tok, true, "out of memory");
}

/* Advances to the next token; LITERAL text is copied only where needed. */
static void next(struct parser *p)
{
	if (p->have_peek) {
		p->tok = p->peek;
		p->have_peek = false;
	} else {
		hcl_lex_next(&p->lx, &p->tok);
	}
	if (p->tok.type == HCL_T_ERROR)
		fail(p, &p->tok, false, "lexer error");
}

/* Peeking is only used where the current token is not a LITERAL (whose text
 * lives in the lexer's buffer). */
static const struct hcl_token *peek(struct parser *p)
{
	if (!p->have_peek) {
		hcl_lex_next(&p->lx, &p->peek);
		p->have_peek = true;
	}
	return &p->peek;
}

static bool is_op(const struct hcl_token *t, const char *op)
{
	return t->type == HCL_T_OP && t->len == strlen(op) && memcmp(t->start, op, t->len) == 0;
}

static char *tokdup(const struct hcl_token *t)
{
	return strndup(t->start, t->len);
}

/* ---- tree building ---- */

static void *grow(void *arr, size_t n, size_t size)
{
	/* capacity doubles at powers of two */
	if (n && (n & (n - 1)))
		return arr;
	return reallocarray(arr, n ? n * 2 : 1, size);
}

struct hcl_attr *hcl_body_add_attr(struct hcl_body *b, const char *name, int line, int col)
{
	struct hcl_attr *na = grow(b->attrs, b->n_attrs, sizeof(*na)), *a;

	if (!na)
		return NULL;
	b->attrs = na;
	a = &b->attrs[b->n_attrs];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	if (!a->name)
		return NULL;
	a->line = line;
	a->col = col;
	a->value.line = line;
	b->n_attrs++;
	return a;
}

struct hcl_block *hcl_body_add_block(struct hcl_body *b, const char *type, int line, int col)
{
	struct hcl_block *nb = grow(b->blocks, b->n_blocks, sizeof(*nb)), *blk;

	if (!nb)
		return NULL;
	b->blocks = nb;
	blk = &b->blocks[b->n_blocks];
	memset(blk, 0, sizeof(*blk));
	blk->type = strdup(type);
	if (!blk->type)
		return NULL;
	blk->line = line;
	blk->col = col;
	b->n_blocks++;
	return blk;
}

int hcl_block_add_label(struct hcl_block *blk, const char *label)
{
	char **nl;

	if (!label)
		return -1;
	nl = grow(blk->labels, blk->n_labels, sizeof(*nl));
	if (!nl)
		return -1;
	blk->labels = nl;
	blk->labels[blk->n_labels] = strdup(label);
	if (!blk->labels[blk->n_labels])
		return -1;
	blk->n_labels++;
	return 0;
}

struct hcl_attr *hcl_expr_add_item(struct hcl_expr *e, const char *name, int line)
{
	struct hcl_attr *ni = grow(e->items, e->n_items, sizeof(*ni)), *a;

	if (!ni)
		return NULL;
	e->items = ni;
	a = &e->items[e->n_items];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	if (!a->name)
		return NULL;
	a->line = a->value.line = line;
	e->n_items++;
	return a;
}

int hcl_file_add_fnref(struct hcl_file *f, const char *provider, size_t len, int line)
{
	struct hcl_fnref *nr = grow(f->fnrefs, f->n_fnrefs, sizeof(*nr));

	if (!nr)
		return -1;
	f->fnrefs = nr;
	f->fnrefs[f->n_fnrefs].provider = strndup(provider, len);
	if (!f->fnrefs[f->n_fnrefs].provider)
		return -1;
	f->fnrefs[f->n_fnrefs].line = line;
	f->n_fnrefs++;
	return 0;
}

void hcl_expr_free(struct hcl_expr *e)
{
	free(e->str);
	for (size_t i = 0; i < e->n_items; i++) {
		free(e->items[i].name);
		hcl_expr_free(&e->items[i].value);
	}
	free(e->items);
	memset(e, 0, sizeof(*e));
}

void hcl_body_free(struct hcl_body *b)
{
	for (size_t i = 0; i < b->n_attrs; i++) {
		free(b->attrs[i].name);
		hcl_expr_free(&b->attrs[i].value);
	}
	free(b->attrs);
	for (size_t i = 0; i < b->n_blocks; i++) {
		struct hcl_block *blk = &b->blocks[i];
		free(blk->type);
		for (size_t j = 0; j < blk->n_labels; j++)
			free(blk->labels[j]);
		free(blk->labels);
		hcl_body_free(&blk->body);
	}
	free(b->blocks);
	memset(b, 0, sizeof(*b));
}

void hcl_file_free(struct hcl_file *f)
{
	hcl_body_free(&f->body);
	for (size_t i = 0; i < f->n_fnrefs; i++)
		free(f->fnrefs[i].provider);
	free(f->fnrefs);
	memset(f, 0, sizeof(*f));
}

/* ---- expressions ---- */

enum { STOP_NEWLINE = 1, STOP_COMMA = 2, STOP_ASSIGN = 4 };

static enum hcl_tok closer_of(enum hcl_tok open)
{
	switch (open) {
	case HCL_T_LBRACE: return HCL_T_RBRACE;
	case HCL_T_LBRACK: return HCL_T_RBRACK;
	case HCL_T_LPAREN: return HCL_T_RPAREN;
	case HCL_T_OQUOTE: return HCL_T_CQUOTE;
	case HCL_T_OHEREDOC: return HCL_T_CHEREDOC;
	default: return HCL_T_TEMPLATE_SEQEND;
	}
}

static bool is_open(enum hcl_tok t)
{
	return t == HCL_T_LBRACE || t == HCL_T_LBRACK || t == HCL_T_LPAREN || t == HCL_T_OQUOTE ||
	       t == HCL_T_OHEREDOC || t == HCL_T_TEMPLATE_INTERP || t == HCL_T_TEMPLATE_CONTROL;
}

static bool is_close(enum hcl_tok t)
{
	return t == HCL_T_RBRACE || t == HCL_T_RBRACK || t == HCL_T_RPAREN || t == HCL_T_CQUOTE ||
	       t == HCL_T_CHEREDOC || t == HCL_T_TEMPLATE_SEQEND;
}

/* At depth 0, does the current token end the expression? */
static bool at_stop(const struct parser *p, int stop)
{
	const struct hcl_token *t = &p->tok;

	if (t->type == HCL_T_EOF || t->type == HCL_T_ERROR)
		return true;
	if (t->type == HCL_T_RBRACE || t->type == HCL_T_RBRACK || t->type == HCL_T_RPAREN)
		return true;
	if ((stop & STOP_NEWLINE) && t->type == HCL_T_NEWLINE)
		return true;
	if ((stop & STOP_COMMA) && is_op(t, ","))
		return true;
	if ((stop & STOP_ASSIGN) && (is_op(t, "=") || is_op(t, ":")))
		return true;
	return false;
}

/* Consumes tokens until a stop at depth 0, keeping brackets balanced and
 * noting provider::NAME:: function references.  Returns the number of tokens
 * consumed. */
static size_t skip_tokens(struct parser *p, int stop, bool one_group)
{
	size_t n = 0, base = p->depth;

	for (;;) {
		const struct hcl_token *t = &p->tok;
		if (p->failed)
			return n;
		if (p->depth == base && (one_group ? n > 0 : at_stop(p, stop)))
			return n;
		if (t->type == HCL_T_EOF) {
			fail(p, t, false, "unexpected end of file: unclosed bracket or template");
			return n;
		}
		if (is_open(t->type)) {
			if (p->depth >= p->max_nesting) {
				fail(p, t, true, "expression nested deeper than %zu", p->max_nesting);
				return n;
			}
			p->stack[p->depth++] = t->type;
		} else if (is_close(t->type)) {
			if (p->depth == base || closer_of(p->stack[p->depth - 1]) != t->type) {
				fail(p, t, false, "unexpected %s", hcl_tok_name(t->type));
				return n;
			}
			p->depth--;
		} else if (t->type == HCL_T_IDENT && t->len == 8 && memcmp(t->start, "provider", 8) == 0) {
			/* provider::NAME::function(...) runs the provider NAME */
			next(p);
			n++;
			if (is_op(&p->tok, "::")) {
				next(p);
				n++;
				if (p->tok.type == HCL_T_IDENT &&
				    hcl_file_add_fnref(p->file, p->tok.start, p->tok.len, p->tok.line) < 0)
					oom(p);
			}
			continue;
		}
		next(p);
		n++;
	}
}

static size_t skip_expr(struct parser *p, int stop)
{
	return skip_tokens(p, stop, false);
}

static void parse_expr(struct parser *p, int stop, struct hcl_expr *e);

/* { key = value, ... } with the current token at '{'. */
static void parse_object(struct parser *p, struct hcl_expr *e)
{
	if (p->depth >= p->max_nesting)
		return fail(p, &p->tok, true, "expression nested deeper than %zu", p->max_nesting);
	p->stack[p->depth++] = HCL_T_LBRACE;
	e->kind = HCL_EXPR_OBJECT;
	next(p);
	while (!p->failed) {
		struct hcl_expr key = {0};
		struct hcl_attr *item;
		int line;

		while (p->tok.type == HCL_T_NEWLINE || is_op(&p->tok, ","))
			next(p);
		if (p->tok.type == HCL_T_RBRACE)
			break;
		line = p->tok.line;
		parse_expr(p, STOP_NEWLINE | STOP_COMMA | STOP_ASSIGN, &key);
		if (p->failed) {
			hcl_expr_free(&key);
			return;
		}
		if (!is_op(&p->tok, "=") && !is_op(&p->tok, ":")) {
			/* not a key = value item (e.g. a for expression): keep it opaque */
			hcl_expr_free(&key);
			e->kind = HCL_EXPR_OTHER;
			if (p->tok.type == HCL_T_RBRACE)
				break;
			if (p->tok.type != HCL_T_NEWLINE && !is_op(&p->tok, ","))
				return fail(p, &p->tok, false, "unexpected %s in object", hcl_tok_name(p->tok.type));
			continue;
		}
		next(p);
		item = hcl_expr_add_item(e, key.kind == HCL_EXPR_STRING || key.kind == HCL_EXPR_TRAVERSAL
					 ? key.str : "", line);
		hcl_expr_free(&key);
		if (!item)
			return oom(p);
		parse_expr(p, STOP_NEWLINE | STOP_COMMA, &item->value);
	}
	if (p->failed)
		return;
	p->depth--;
	next(p); /* the '}' */
}

/* A quoted template with the current token at the opening quote. */
static void parse_quoted(struct parser *p, struct hcl_expr *e)
{
	struct tj_buf_lite { char *d; size_t n; } s = {NULL, 0};
	bool interp = false;

	e->kind = HCL_EXPR_STRING;
	next(p);
	while (!p->failed && p->tok.type != HCL_T_CQUOTE) {
		if (p->tok.type == HCL_T_LITERAL) {
			char *nd = realloc(s.d, s.n + p->tok.text_len + 1);
			if (!nd) {
				free(s.d);
				return oom(p);
			}
			s.d = nd;
			memcpy(s.d + s.n, p->tok.text, p->tok.text_len);
			s.n += p->tok.text_len;
			s.d[s.n] = '\0';
			next(p);
		} else if (p->tok.type == HCL_T_TEMPLATE_INTERP || p->tok.type == HCL_T_TEMPLATE_CONTROL) {
			interp = true;
			skip_tokens(p, 0, true); /* through the matching SEQEND */
		} else {
			fail(p, &p->tok, false, "unexpected %s in string", hcl_tok_name(p->tok.type));
		}
	}
	if (p->failed) {
		free(s.d);
		return;
	}
	next(p); /* the closing quote */
	if (interp) {
		e->kind = HCL_EXPR_TEMPLATE;
		free(s.d);
	} else {
		e->str = s.d ? s.d : strdup("");
		if (!e->str)
			oom(p);
	}
}

static void parse_expr(struct parser *p, int stop, struct hcl_expr *e)
{
	e->line = p->tok.line;
	if (p->tok.type == HCL_T_LBRACE) {
		parse_object(p, e);
	} else if (p->tok.type == HCL_T_OQUOTE) {
		parse_quoted(p, e);
	} else if (p->tok.type == HCL_T_IDENT && !(p->tok.len == 8 && !memcmp(p->tok.start, "provider", 8))) {
		e->kind = HCL_EXPR_TRAVERSAL;
		e->str = tokdup(&p->tok);
		if (!e->str)
			return oom(p);
		next(p);
		while (!p->failed && is_op(&p->tok, ".")) {
			next(p);
			if (p->tok.type != HCL_T_IDENT)
				break;
			next(p);
		}
	} else if (p->tok.type == HCL_T_OHEREDOC) {
		e->kind = HCL_EXPR_TEMPLATE;
		skip_expr(p, stop);
		return;
	}
	if (p->failed)
		return;
	/* anything after the recognised head makes it an opaque expression */
	if (skip_expr(p, stop) > 0 || e->kind == HCL_EXPR_OTHER) {
		if (e->kind != HCL_EXPR_OTHER)
			hcl_expr_free(e);
		e->kind = HCL_EXPR_OTHER;
	}
}

/* ---- bodies ---- */

static void parse_body(struct parser *p, struct hcl_body *body, size_t level, bool closing);

static void parse_block(struct parser *p, struct hcl_body *body, size_t level)
{
	struct hcl_block *blk = hcl_body_add_block(body, "", p->tok.line, p->tok.col);

	if (!blk)
		return oom(p);
	free(blk->type);
	blk->type = tokdup(&p->tok);
	if (!blk->type)
		return oom(p);
	next(p);
	for (;;) {
		if (p->failed)
			return;
		if (p->tok.type == HCL_T_IDENT) {
			char *l = tokdup(&p->tok);
			int rc = l ? hcl_block_add_label(blk, l) : -1;
			free(l);
			if (rc < 0)
				return oom(p);
			next(p);
		} else if (p->tok.type == HCL_T_OQUOTE) {
			struct hcl_expr lab = {0};
			struct hcl_token at = p->tok;
			parse_quoted(p, &lab);
			if (p->failed)
				return hcl_expr_free(&lab);
			if (lab.kind != HCL_EXPR_STRING) {
				hcl_expr_free(&lab);
				return fail(p, &at, false, "block labels must be literal strings, without ${ } or %%{ }");
			}
			if (hcl_block_add_label(blk, lab.str) < 0) {
				hcl_expr_free(&lab);
				return oom(p);
			}
			hcl_expr_free(&lab);
		} else if (p->tok.type == HCL_T_LBRACE) {
			break;
		} else {
			return fail(p, &p->tok, false, "expected a block label or '{' after '%s', found %s",
				    blk->type, hcl_tok_name(p->tok.type));
		}
	}
	if (level + 1 >= p->max_nesting)
		return fail(p, &p->tok, true, "blocks nested deeper than %zu", p->max_nesting);
	next(p);
	parse_body(p, &blk->body, level + 1, true);
}

static void parse_body(struct parser *p, struct hcl_body *body, size_t level, bool closing)
{
	while (!p->failed) {
		while (p->tok.type == HCL_T_NEWLINE)
			next(p);
		if (p->failed)
			return;
		if (p->tok.type == HCL_T_EOF) {
			if (closing)
				fail(p, &p->tok, false, "unexpected end of file: a block is not closed");
			return;
		}
		if (p->tok.type == HCL_T_RBRACE) {
			if (!closing)
				return fail(p, &p->tok, false, "unexpected '}'");
			next(p);
			return;
		}
		if (p->tok.type != HCL_T_IDENT)
			return fail(p, &p->tok, false, "expected an argument or a block, found %s",
				    hcl_tok_name(p->tok.type));
		{
			const struct hcl_token *nx = peek(p);
			if (is_op(nx, "=")) {
				struct hcl_attr *a = hcl_body_add_attr(body, "", p->tok.line, p->tok.col);
				if (!a)
					return oom(p);
				free(a->name);
				a->name = tokdup(&p->tok);
				if (!a->name)
					return oom(p);
				next(p); /* name */
				next(p); /* = */
				parse_expr(p, STOP_NEWLINE, &a->value);
				if (p->failed)
					return;
				if (p->tok.type == HCL_T_RBRACK || p->tok.type == HCL_T_RPAREN ||
				    (p->tok.type == HCL_T_RBRACE && !closing))
					return fail(p, &p->tok, false, "unexpected %s", hcl_tok_name(p->tok.type));
				if (p->tok.type == HCL_T_ERROR)
					return fail(p, &p->tok, false, "lexer error");
			} else if (nx->type == HCL_T_IDENT || nx->type == HCL_T_OQUOTE || nx->type == HCL_T_LBRACE) {
				parse_block(p, body, level);
			} else {
				next(p);
				return fail(p, &p->tok, false, "expected '=' or a block after an identifier, found %s",
					    hcl_tok_name(p->tok.type));
			}
		}
	}
}

int hcl_parse(const char *src, size_t len, size_t max_nesting, uint64_t max_tokens,
	      struct hcl_file *out, struct hcl_parse_error *perr)
{
	struct parser p;

	memset(out, 0, sizeof(*out));
	memset(perr, 0, sizeof(*perr));
	memset(&p, 0, sizeof(p));
	p.max_nesting = max_nesting ? max_nesting : 1;
	p.file = out;
	p.err = perr;
	if (hcl_lex_init(&p.lx, src, len, p.max_nesting, max_tokens) < 0 ||
	    !(p.stack = calloc(p.max_nesting, sizeof(*p.stack)))) {
		hcl_lex_free(&p.lx);
		snprintf(perr->msg, sizeof(perr->msg), "out of memory");
		perr->limit = true;
		return -1;
	}
	next(&p);
	parse_body(&p, &out->body, 0, false);
	hcl_lex_free(&p.lx);
	free(p.stack);
	if (p.failed) {
		hcl_file_free(out);
		return -1;
	}
	return 0;
}
