/* HCL native syntax: a lexer (hcl_lex_*) and a structural parser of bodies
 * (hcl_parse).  Terraform's configuration language without evaluation: the
 * parser keeps attributes and blocks with their labels and positions, and
 * summarises each attribute value just enough for the static scan (is it a
 * literal string? a traversal? an object constructor?).  It never evaluates
 * anything.  Limits on nesting and token count make hostile input an error,
 * not a crash or a hang.  tfjson.h maps .tf.json onto the same tree. */
#ifndef TFJAIL_POLICY_HCL_H
#define TFJAIL_POLICY_HCL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

enum hcl_tok {
	HCL_T_EOF,
	HCL_T_NEWLINE,
	HCL_T_IDENT,
	HCL_T_NUMBER,
	HCL_T_OP,             /* = == != < <= > >= + - * / % && || ! ? : :: . , ... => */
	HCL_T_LBRACE, HCL_T_RBRACE, HCL_T_LBRACK, HCL_T_RBRACK, HCL_T_LPAREN, HCL_T_RPAREN,
	HCL_T_OQUOTE,         /* "  opens a quoted template */
	HCL_T_CQUOTE,         /* "  closes it */
	HCL_T_OHEREDOC,       /* <<EOF or <<-EOF and its newline */
	HCL_T_CHEREDOC,       /* the closing marker */
	HCL_T_LITERAL,        /* template literal text; `text` is the decoded value */
	HCL_T_TEMPLATE_INTERP,  /* ${ */
	HCL_T_TEMPLATE_CONTROL, /* %{ */
	HCL_T_TEMPLATE_SEQEND,  /* } closing ${ or %{ */
	HCL_T_ERROR,          /* see hcl_lexer.errmsg */
};

struct hcl_token {
	enum hcl_tok type;
	const char *start;    /* into the source */
	size_t len;
	const char *text;     /* LITERAL: decoded, NUL-terminated (valid until the next token) */
	size_t text_len;
	int line, col;        /* 1-based; col counts bytes */
};

struct hcl_lex_mode;

struct hcl_lexer {
	const char *src;
	size_t len, pos;
	int line;
	size_t line_start;
	struct hcl_lex_mode *modes;
	size_t n_modes, max_modes;
	uint64_t n_tokens, max_tokens;
	struct tj_buf lit;    /* decoded literal text */
	bool limit_hit;       /* the error is a limit, not a syntax error */
	char errmsg[200];
	int err_line, err_col;
};

/* max_nesting bounds nested templates; max_tokens the tokens of the file. */
int hcl_lex_init(struct hcl_lexer *lx, const char *src, size_t len, size_t max_nesting,
		 uint64_t max_tokens);
/* Next token; after HCL_T_EOF or HCL_T_ERROR it keeps returning the same. */
void hcl_lex_next(struct hcl_lexer *lx, struct hcl_token *t);
void hcl_lex_free(struct hcl_lexer *lx);
const char *hcl_tok_name(enum hcl_tok t);

/* ---- the tree ---- */

enum hcl_expr_kind {
	HCL_EXPR_OTHER,      /* anything else (never evaluated) */
	HCL_EXPR_STRING,     /* a quoted string with no interpolation: str is its value */
	HCL_EXPR_TEMPLATE,   /* a string with ${ } or %{ }, or a heredoc (str: raw text from .tf.json, else NULL) */
	HCL_EXPR_TRAVERSAL,  /* name(.name)*: str is the root name */
	HCL_EXPR_OBJECT,     /* { k = v, ... }: items */
};

struct hcl_attr;

struct hcl_expr {
	enum hcl_expr_kind kind;
	char *str;
	struct hcl_attr *items;
	size_t n_items;
	int line;
};

struct hcl_attr {
	char *name;
	struct hcl_expr value;
	int line, col;
};

struct hcl_block;

struct hcl_body {
	struct hcl_attr *attrs;
	size_t n_attrs;
	struct hcl_block *blocks;
	size_t n_blocks;
};

struct hcl_block {
	char *type;
	char **labels;
	size_t n_labels;
	struct hcl_body body;
	int line, col;
};

/* `provider::NAME::fn(...)` seen in an expression. */
struct hcl_fnref {
	char *provider;
	int line;
};

struct hcl_file {
	struct hcl_body body;
	struct hcl_fnref *fnrefs;
	size_t n_fnrefs;
};

struct hcl_parse_error {
	bool limit;          /* a nesting/token/size limit rather than a syntax error */
	int line, col;
	char msg[240];
};

/* Parses a whole .tf file.  0, or -1 with *perr filled (out then holds nothing). */
int hcl_parse(const char *src, size_t len, size_t max_nesting, uint64_t max_tokens,
	      struct hcl_file *out, struct hcl_parse_error *perr);
void hcl_file_free(struct hcl_file *f);
void hcl_body_free(struct hcl_body *b);
void hcl_expr_free(struct hcl_expr *e);

/* Tree building, shared with the .tf.json reader.  NULL/-1 on ENOMEM. */
struct hcl_attr *hcl_body_add_attr(struct hcl_body *b, const char *name, int line, int col);
struct hcl_block *hcl_body_add_block(struct hcl_body *b, const char *type, int line, int col);
int hcl_block_add_label(struct hcl_block *blk, const char *label);
struct hcl_attr *hcl_expr_add_item(struct hcl_expr *e, const char *name, int line);
int hcl_file_add_fnref(struct hcl_file *f, const char *provider, size_t len, int line);

#endif
