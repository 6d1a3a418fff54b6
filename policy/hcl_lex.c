/* HCL native syntax lexer.
 *
 * A stack of modes mirrors HCL's scanner: expression mode (with a brace
 * counter when it was entered by ${ or %{), quoted-template mode and heredoc
 * mode.  Literal text in templates is decoded (escapes, $${ and %%{) into a
 * buffer owned by the lexer.  Every loop advances pos, the mode stack has a
 * fixed bound and the token count is capped: no input can make it recurse,
 * loop forever or grow without bound. */
#include "policy/hcl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode_kind { M_EXPR, M_TEMPLATE_EXPR, M_QUOTED, M_HEREDOC };

struct hcl_lex_mode {
	enum mode_kind kind;
	size_t braces;            /* M_TEMPLATE_EXPR: open { inside ${ } */
	const char *marker;       /* M_HEREDOC */
	size_t marker_len;
	bool line_start;          /* M_HEREDOC: at the start of a line */
};

static const char *const tok_names[] = {
	"end of file", "newline", "identifier", "number", "operator", "'{'", "'}'", "'['", "']'",
	"'('", "')'", "opening quote", "closing quote", "heredoc", "heredoc end", "string",
	"'${'", "'%{'", "'}'", "error",
};

const char *hcl_tok_name(enum hcl_tok t)
{
	return (unsigned)t < sizeof(tok_names) / sizeof(tok_names[0]) ? tok_names[t] : "?";
}

int hcl_lex_init(struct hcl_lexer *lx, const char *src, size_t len, size_t max_nesting,
		 uint64_t max_tokens)
{
	memset(lx, 0, sizeof(*lx));
	lx->src = src;
	lx->len = len;
	lx->line = 1;
	lx->max_modes = max_nesting ? max_nesting : 1;
	lx->max_tokens = max_tokens;
	lx->modes = calloc(lx->max_modes, sizeof(*lx->modes));
	if (!lx->modes)
		return -1;
	lx->modes[0].kind = M_EXPR;
	lx->n_modes = 1;
	/* A UTF-8 byte order mark is accepted and ignored. */
	if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
		lx->pos = lx->line_start = 3;
	return 0;
}

void hcl_lex_free(struct hcl_lexer *lx)
{
	free(lx->modes);
	tj_buf_free(&lx->lit);
	lx->modes = NULL;
}

static int peekc(const struct hcl_lexer *lx, size_t off)
{
	return lx->pos + off < lx->len ? (unsigned char)lx->src[lx->pos + off] : -1;
}

static void set_error(struct hcl_lexer *lx, struct hcl_token *t, bool limit, const char *msg)
{
	if (!lx->errmsg[0]) {
		snprintf(lx->errmsg, sizeof(lx->errmsg), "%s", msg);
		lx->err_line = lx->line;
		lx->err_col = (int)(lx->pos - lx->line_start) + 1;
		lx->limit_hit = limit;
	}
	t->type = HCL_T_ERROR;
	t->line = lx->err_line;
	t->col = lx->err_col;
}

static void newline(struct hcl_lexer *lx)
{
	lx->line++;
	lx->line_start = lx->pos;
}

static bool push_mode(struct hcl_lexer *lx, struct hcl_token *t, enum mode_kind k)
{
	if (lx->n_modes >= lx->max_modes) {
		set_error(lx, t, true, "templates nested too deeply");
		return false;
	}
	memset(&lx->modes[lx->n_modes], 0, sizeof(lx->modes[0]));
	lx->modes[lx->n_modes++].kind = k;
	return true;
}

static int lit_put(struct hcl_lexer *lx, const char *s, size_t n)
{
	return tj_buf_append(&lx->lit, s, n);
}

static int lit_put_utf8(struct hcl_lexer *lx, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	return lit_put(lx, b, n);
}

static bool is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_cont(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9') || c == '-';
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static void emit(struct hcl_lexer *lx, struct hcl_token *t, enum hcl_tok type, size_t start)
{
	t->type = type;
	t->start = lx->src + start;
	t->len = lx->pos - start;
}

/* A backslash escape in a quoted template: pos is at the backslash. */
static bool lex_escape(struct hcl_lexer *lx, struct hcl_token *t)
{
	int c = peekc(lx, 1);
	size_t digits = 0;
	unsigned long cp = 0;

	/* pairs of escape letter and value */
	static const char simple[] = "n\nr\rt\t\"\"\\\\";

	for (const char *e = simple; *e; e += 2)
		if (c == e[0]) {
			lx->pos += 2;
			if (lit_put(lx, e + 1, 1) < 0) {
				set_error(lx, t, true, "out of memory");
				return false;
			}
			return true;
		}
	if (c == 'u' || c == 'U') {
		digits = c == 'u' ? 4 : 8;
	} else {
		set_error(lx, t, false, "invalid escape sequence in string");
		return false;
	}
	for (size_t i = 0; i < digits; i++) {
		int h = peekc(lx, 2 + i);
		cp <<= 4;
		if (h >= '0' && h <= '9')
			cp |= (unsigned long)(h - '0');
		else if (h >= 'a' && h <= 'f')
			cp |= (unsigned long)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			cp |= (unsigned long)(h - 'A' + 10);
		else {
			set_error(lx, t, false, "invalid \\u or \\U escape: expected hex digits");
			return false;
		}
	}
	lx->pos += 2 + digits;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		set_error(lx, t, false, "\\u or \\U escape is not a Unicode scalar value");
		return false;
	}
	if (lit_put_utf8(lx, cp) < 0) {
		set_error(lx, t, true, "out of memory");
		return false;
	}
	return true;
}

/* Length of a Unicode white space character (Go's unicode.IsSpace) at s,
 * or 0. */
static size_t space_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 1 && (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r')))
		return 1;
	if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0))
		return 2;
	if (n >= 3 && u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80)
		return 3;                                   /* U+1680 */
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
	    (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF) && u[2] >= 0x80)
		return 3;                                   /* U+2000-200A, 2028, 2029, 202F */
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F)
		return 3;                                   /* U+205F */
	if (n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80)
		return 3;                                   /* U+3000 */
	return 0;
}

static size_t space_prefix(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = space_at(s + i, n - i)))
		i += k;
	return i;
}

/* Trailing white space: scan forward, remembering where the last run began. */
static size_t space_suffix(const char *s, size_t n)
{
	size_t i = 0, run = n;

	while (i < n) {
		size_t k = space_at(s + i, n - i);
		if (k) {
			if (run == n)
				run = i;
			i += k;
		} else {
			run = n;
			i++;
		}
	}
	return n - run;
}

/* Template text (quoted or heredoc) up to the next ${, %{, closing quote or
 * (heredoc) end of line.  Returns false on error. */
static void lex_template(struct hcl_lexer *lx, struct hcl_token *t, struct hcl_lex_mode *m)
{
	bool quoted = m->kind == M_QUOTED;
	size_t start = lx->pos;
	int c;

	/* heredoc: a line holding only the marker ends it.  HCL compares the
	 * line after bytes.TrimSpace, which also trims trailing blanks, \r and
	 * Unicode spaces such as U+00A0: so must we, or a line terraform takes
	 * for the end would hide the blocks after it. */
	if (!quoted && m->line_start) {
		const char *line = lx->src + lx->pos;
		const char *nl = memchr(line, '\n', lx->len - lx->pos);
		size_t e = nl ? (size_t)(nl - lx->src) : lx->len;
		size_t b = lx->pos, n;

		b += space_prefix(lx->src + b, e - b);
		n = e - b;
		n -= space_suffix(lx->src + b, n);
		if (n == m->marker_len && memcmp(lx->src + b, m->marker, n) == 0) {
			lx->pos = e;
			lx->n_modes--;
			emit(lx, t, HCL_T_CHEREDOC, start);
			return;
		}
	}
	if (quoted && peekc(lx, 0) == '"') {
		lx->pos++;
		lx->n_modes--;
		emit(lx, t, HCL_T_CQUOTE, start);
		return;
	}
	if ((peekc(lx, 0) == '$' || peekc(lx, 0) == '%') && peekc(lx, 1) == '{') {
		enum hcl_tok type = peekc(lx, 0) == '$' ? HCL_T_TEMPLATE_INTERP : HCL_T_TEMPLATE_CONTROL;
		lx->pos += 2;
		if (peekc(lx, 0) == '~')
			lx->pos++;
		m->line_start = false;
		if (push_mode(lx, t, M_TEMPLATE_EXPR))
			emit(lx, t, type, start);
		return;
	}
	lx->lit.len = 0;
	if (lit_put(lx, "", 0) < 0)
		return set_error(lx, t, true, "out of memory");
	m->line_start = false;
	for (;;) {
		c = peekc(lx, 0);
		if (c < 0)
			return set_error(lx, t, false, quoted ? "unterminated string" : "unterminated heredoc");
		if (quoted && c == '"')
			break;
		if ((c == '$' || c == '%') && peekc(lx, 1) == '{')
			break;
		/* $${ and %%{ are a literal ${ and %{ */
		if ((c == '$' || c == '%') && peekc(lx, 1) == c && peekc(lx, 2) == '{') {
			char esc[2] = {(char)c, '{'};
			lx->pos += 3;
			if (lit_put(lx, esc, 2) < 0)
				return set_error(lx, t, true, "out of memory");
			continue;
		}
		if (quoted && c == '\\') {
			if (!lex_escape(lx, t))
				return;
			continue;
		}
		if (c == '\n' || (c == '\r' && peekc(lx, 1) == '\n')) {
			if (quoted)
				return set_error(lx, t, false, "unterminated string: quoted strings cannot span lines");
			lx->pos += c == '\r' ? 2 : 1;
			if (lit_put(lx, "\n", 1) < 0)
				return set_error(lx, t, true, "out of memory");
			newline(lx);
			m->line_start = true;
			break;
		}
		if (c == '\r' && quoted)
			return set_error(lx, t, false, "carriage return in string");
		{
			char ch = (char)c;
			lx->pos++;
			if (lit_put(lx, &ch, 1) < 0)
				return set_error(lx, t, true, "out of memory");
		}
	}
	emit(lx, t, HCL_T_LITERAL, start);
	t->text = lx->lit.data;
	t->text_len = lx->lit.len;
}

static void lex_expr(struct hcl_lexer *lx, struct hcl_token *t, struct hcl_lex_mode *m)
{
	static const char *const ops2[] = {"==", "!=", "<=", ">=", "&&", "||", "=>", "::"};
	size_t start;
	int c;

	/* blanks and comments */
	for (;;) {
		c = peekc(lx, 0);
		if (c == ' ' || c == '\t') {
			lx->pos++;
		} else if (c == '#' || (c == '/' && peekc(lx, 1) == '/')) {
			while (lx->pos < lx->len && lx->src[lx->pos] != '\n' &&
			       !(lx->src[lx->pos] == '\r' && peekc(lx, 1) == '\n'))
				lx->pos++;
		} else if (c == '/' && peekc(lx, 1) == '*') {
			const char *end;
			int sline = lx->line, scol = (int)(lx->pos - lx->line_start) + 1;
			lx->pos += 2;
			for (;;) {
				end = lx->pos < lx->len ? memchr(lx->src + lx->pos, '*', lx->len - lx->pos) : NULL;
				/* count the lines crossed on the way */
				for (const char *p = lx->src + lx->pos, *stop = end ? end : lx->src + lx->len;
				     p < stop; p++)
					if (*p == '\n') {
						lx->pos = (size_t)(p - lx->src) + 1;
						newline(lx);
					}
				if (!end) {
					lx->pos = lx->len;
					lx->line = sline;
					lx->line_start = lx->len; /* report at the comment's start */
					snprintf(lx->errmsg, sizeof(lx->errmsg), "unterminated /* comment");
					lx->err_line = sline;
					lx->err_col = scol;
					t->type = HCL_T_ERROR;
					t->line = sline;
					t->col = scol;
					return;
				}
				lx->pos = (size_t)(end - lx->src) + 1;
				if (peekc(lx, 0) == '/') {
					lx->pos++;
					break;
				}
			}
		} else {
			break;
		}
	}
	start = lx->pos;
	t->line = lx->line;
	t->col = (int)(start - lx->line_start) + 1;
	if (c < 0)
		return emit(lx, t, HCL_T_EOF, start);
	if (c == '\n' || (c == '\r' && peekc(lx, 1) == '\n')) {
		lx->pos += c == '\r' ? 2 : 1;
		emit(lx, t, HCL_T_NEWLINE, start);
		newline(lx);
		return;
	}
	if (is_ident_start(c)) {
		while (is_ident_cont(peekc(lx, 0)))
			lx->pos++;
		return emit(lx, t, HCL_T_IDENT, start);
	}
	if (is_digit(c)) {
		while (is_digit(peekc(lx, 0)))
			lx->pos++;
		if (peekc(lx, 0) == '.' && is_digit(peekc(lx, 1))) {
			lx->pos++;
			while (is_digit(peekc(lx, 0)))
				lx->pos++;
		}
		if ((peekc(lx, 0) == 'e' || peekc(lx, 0) == 'E') &&
		    (is_digit(peekc(lx, 1)) ||
		     ((peekc(lx, 1) == '+' || peekc(lx, 1) == '-') && is_digit(peekc(lx, 2))))) {
			lx->pos += 2;
			while (is_digit(peekc(lx, 0)))
				lx->pos++;
		}
		return emit(lx, t, HCL_T_NUMBER, start);
	}
	switch (c) {
	case '"':
		lx->pos++;
		if (push_mode(lx, t, M_QUOTED))
			emit(lx, t, HCL_T_OQUOTE, start);
		return;
	case '{':
		lx->pos++;
		m->braces++;
		return emit(lx, t, HCL_T_LBRACE, start);
	case '}':
		lx->pos++;
		if (m->kind == M_TEMPLATE_EXPR && m->braces == 0) {
			lx->n_modes--;
			return emit(lx, t, HCL_T_TEMPLATE_SEQEND, start);
		}
		if (m->braces)
			m->braces--;
		return emit(lx, t, HCL_T_RBRACE, start);
	case '~':
		if (m->kind == M_TEMPLATE_EXPR && m->braces == 0 && peekc(lx, 1) == '}') {
			lx->pos += 2;
			lx->n_modes--;
			return emit(lx, t, HCL_T_TEMPLATE_SEQEND, start);
		}
		lx->pos++;
		return set_error(lx, t, false, "invalid character '~'");
	case '[': lx->pos++; return emit(lx, t, HCL_T_LBRACK, start);
	case ']': lx->pos++; return emit(lx, t, HCL_T_RBRACK, start);
	case '(': lx->pos++; return emit(lx, t, HCL_T_LPAREN, start);
	case ')': lx->pos++; return emit(lx, t, HCL_T_RPAREN, start);
	case '<':
		if (peekc(lx, 1) == '<') {
			size_t p = lx->pos + 2, mstart;
			if (p < lx->len && lx->src[p] == '-')
				p++;
			mstart = p;
			if (p >= lx->len || !is_ident_start((unsigned char)lx->src[p])) {
				lx->pos = p;
				return set_error(lx, t, false, "invalid heredoc: expected a marker after <<");
			}
			while (p < lx->len && is_ident_cont((unsigned char)lx->src[p]))
				p++;
			if (p < lx->len && lx->src[p] == '\r' && p + 1 < lx->len && lx->src[p + 1] == '\n')
				p++;
			if (p >= lx->len || lx->src[p] != '\n') {
				lx->pos = p;
				return set_error(lx, t, false, "invalid heredoc: the marker must end the line");
			}
			if (!push_mode(lx, t, M_HEREDOC))
				return;
			{
				struct hcl_lex_mode *hm = &lx->modes[lx->n_modes - 1];
				hm->marker = lx->src + mstart;
				hm->marker_len = (size_t)(p - mstart) - (lx->src[p - 1] == '\r');
				hm->line_start = true;
			}
			lx->pos = p + 1;
			emit(lx, t, HCL_T_OHEREDOC, start);
			newline(lx);
			return;
		}
		break;
	default:
		break;
	}
	if (c == '.' && peekc(lx, 1) == '.' && peekc(lx, 2) == '.') {
		lx->pos += 3;
		return emit(lx, t, HCL_T_OP, start);
	}
	for (size_t i = 0; i < sizeof(ops2) / sizeof(ops2[0]); i++)
		if (c == ops2[i][0] && peekc(lx, 1) == ops2[i][1]) {
			lx->pos += 2;
			return emit(lx, t, HCL_T_OP, start);
		}
	if (c && strchr("=<>+-*/%!?:.,", c)) {
		lx->pos++;
		return emit(lx, t, HCL_T_OP, start);
	}
	lx->pos++;
	if (c == '\r')
		return set_error(lx, t, false, "carriage return without line feed");
	{
		char msg[64];
		if (c >= 0x20 && c < 0x7f)
			snprintf(msg, sizeof(msg), "invalid character '%c'", c);
		else
			snprintf(msg, sizeof(msg), "invalid character 0x%02x", (unsigned)c);
		set_error(lx, t, false, msg);
	}
}

void hcl_lex_next(struct hcl_lexer *lx, struct hcl_token *t)
{
	struct hcl_lex_mode *m;

	memset(t, 0, sizeof(*t));
	if (lx->errmsg[0]) {
		t->type = HCL_T_ERROR;
		t->line = lx->err_line;
		t->col = lx->err_col;
		return;
	}
	if (lx->max_tokens && ++lx->n_tokens > lx->max_tokens)
		return set_error(lx, t, true, "too many tokens");
	m = &lx->modes[lx->n_modes - 1];
	t->line = lx->line;
	t->col = (int)(lx->pos - lx->line_start) + 1;
	if (m->kind == M_QUOTED || m->kind == M_HEREDOC) {
		if (lx->pos >= lx->len)
			return set_error(lx, t, false, m->kind == M_QUOTED ? "unterminated string"
									  : "unterminated heredoc");
		lex_template(lx, t, m);
		if (t->type == HCL_T_ERROR)
			return;
		return;
	}
	lex_expr(lx, t, m);
	if (t->type == HCL_T_EOF && lx->n_modes > 1)
		set_error(lx, t, false, "unexpected end of file inside a template interpolation");
}
