/* Module source addresses and version constraints (see modsource.h).
 *
 * Written from terraform's documented behaviour and its sources' semantics:
 * a source is local when it starts with ./ or ../, else a registry address
 * when it has that shape, else a remote package.  Versions and constraints
 * follow go-version: "1.2" is 1.2.0, prereleases sort before their release,
 * `~> 1.2` means >= 1.2 and < 2.0, `~> 1.2.3` >= 1.2.3 and < 1.3. */
#include "executor/modsource.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Go's path.Clean, into out (truncated to len). */
void modsrc_path_clean(const char *path, char *out, size_t len)
{
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	bool rooted = n && path[0] == '/';

#define PUT(c)                                                                                               \
	do {                                                                                                 \
		if (w + 1 < len)                                                                             \
			out[w] = (c);                                                                        \
		w++;                                                                                         \
	} while (0)
	if (len == 0)
		return;
	if (rooted) {
		PUT('/');
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					PUT('/');
				PUT('.');
				PUT('.');
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				PUT('/');
			for (; r < n && path[r] != '/'; r++)
				PUT(path[r]);
		}
	}
	if (w == 0)
		PUT('.');
#undef PUT
	out[w < len ? w : len - 1] = '\0';
}

/* terraform-registry-address's sourceDirSubdir + path.Clean of the subdir:
 * "proto://host/path//sub?q" -> "proto://host/path?q", "sub". */
static int split_subdir(const char *raw, char *pkg, size_t pkglen, char *sub, size_t sublen)
{
	size_t stop = strcspn(raw, "?"), offset = 0;
	const char *scheme, *dbl = NULL;
	char tmp[MODSRC_MAX];

	sub[0] = '\0';
	scheme = strstr(raw, "://");
	if (scheme && (size_t)(scheme - raw) < stop)
		offset = (size_t)(scheme - raw) + 3;
	for (size_t i = offset; i + 1 < stop; i++)
		if (raw[i] == '/' && raw[i + 1] == '/') {
			dbl = raw + i;
			break;
		}
	if (!dbl)
		return snprintf(pkg, pkglen, "%s", raw) < (int)pkglen ? 0 : -1;
	if (snprintf(pkg, pkglen, "%.*s%s", (int)(dbl - raw), raw, raw + stop) >= (int)pkglen)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%.*s", (int)(raw + stop - dbl - 2), dbl + 2) >= (int)sizeof(tmp))
		return -1;
	if (*tmp)
		modsrc_path_clean(tmp, sub, sublen);
	return 0;
}

static bool registry_name_ok(const char *s, size_t n)
{
	if (n < 1 || n > 64 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static bool registry_system_ok(const char *s, size_t n)
{
	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* svchost.ForComparison for ASCII names: lower case, the default https
 * port dropped, other ports kept. */
static int host_normalize(const char *s, size_t n, char *out, size_t len)
{
	size_t port = n;

	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ':') {
			port = i;
			break;
		}
	if (port == 0)
		return -1;
	for (size_t i = 0; i < port; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return -1;
	if (port < n) {
		if (port + 1 == n)
			return -1;
		for (size_t i = port + 1; i < n; i++)
			if (!isdigit((unsigned char)s[i]))
				return -1;
		if (n - port - 1 == 3 && memcmp(s + port + 1, "443", 3) == 0)
			n = port;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	if (strstr(out, "--"))
		return -1; /* punycode is refused: names are written in unicode */
	return 0;
}

static int parse_registry(const char *raw, struct modsrc *o, char *why, size_t whylen)
{
	char pkg[MODSRC_MAX];
	const char *part[5];
	size_t plen[5], n = 0;
	const char *p;

	if (split_subdir(raw, pkg, sizeof(pkg), o->subdir, sizeof(o->subdir)) < 0)
		return fail(why, whylen, "too long");
	if (strncmp(o->subdir, "../", 3) == 0 || strcmp(o->subdir, "..") == 0)
		return fail(why, whylen, "subdirectory path \"%s\" leads outside of the module package",
		            o->subdir);
	for (p = pkg;; n++) {
		const char *slash = strchr(p, '/');
		if (n == 4)
			return fail(why, whylen, "a module registry source address has three or four parts");
		part[n] = p;
		plen[n] = slash ? (size_t)(slash - p) : strlen(p);
		if (!slash) {
			n++;
			break;
		}
		p = slash + 1;
	}
	if (n != 3 && n != 4)
		return fail(why, whylen, "a module registry source address has three or four parts");
	snprintf(o->host, sizeof(o->host), "registry.terraform.io");
	if (n == 4) {
		if (host_normalize(part[0], plen[0], o->host, sizeof(o->host)) < 0)
			return fail(why, whylen, "invalid module registry hostname \"%.*s\"", (int)plen[0],
			            part[0]);
		if (!strchr(o->host, '.'))
			return fail(why, whylen,
			            "invalid module registry hostname: must contain at least one dot");
		if (strcmp(o->host, "github.com") == 0 || strcmp(o->host, "bitbucket.org") == 0)
			return fail(why, whylen, "%s is reserved for version control repositories", o->host);
		memmove(part, part + 1, 3 * sizeof(*part));
		memmove(plen, plen + 1, 3 * sizeof(*plen));
	}
	if (!registry_name_ok(part[0], plen[0]))
		return fail(why, whylen, "invalid namespace \"%.*s\"", (int)plen[0], part[0]);
	if (!registry_name_ok(part[1], plen[1]))
		return fail(why, whylen, "invalid module name \"%.*s\"", (int)plen[1], part[1]);
	if (!registry_system_ok(part[2], plen[2]))
		return fail(why, whylen, "invalid target system \"%.*s\"", (int)plen[2], part[2]);
	snprintf(o->ns, sizeof(o->ns), "%.*s", (int)plen[0], part[0]);
	snprintf(o->name, sizeof(o->name), "%.*s", (int)plen[1], part[1]);
	snprintf(o->system, sizeof(o->system), "%.*s", (int)plen[2], part[2]);
	o->kind = MODSRC_REGISTRY;
	snprintf(o->canonical, sizeof(o->canonical), "%s/%s/%s/%s%s%s", o->host, o->ns, o->name, o->system,
	         *o->subdir ? "//" : "", o->subdir);
	return 0;
}

/* git::URL[//SUBDIR][?ref=REF] and github.com/ORG/REPO[/MORE][//SUBDIR][?ref=REF] */
static int parse_git(const char *raw, struct modsrc *o, char *why, size_t whylen)
{
	char pkg[MODSRC_MAX], more[MODSRC_MAX] = "";
	const char *q, *body;
	bool github = strncmp(raw, "github.com/", 11) == 0;

	if (split_subdir(raw, pkg, sizeof(pkg), o->subdir, sizeof(o->subdir)) < 0)
		return fail(why, whylen, "too long");
	body = github ? pkg : pkg + 5;
	q = strchr(body, '?');
	if (q) {
		const char *v = q + 1;
		if (strncmp(v, "ref=", 4) != 0 || strchr(v, '&') || !v[4])
			return fail(why, whylen, "only a ?ref= query is supported for git sources");
		if (snprintf(o->ref, sizeof(o->ref), "%s", v + 4) >= (int)sizeof(o->ref))
			return fail(why, whylen, "ref too long");
	}
	if (github) {
		/* the GitHub shorthand: github.com/ORG/REPO, the rest is a subdirectory */
		const char *org = body + 11, *repo = strchr(org, '/'), *end = q ? q : body + strlen(body);
		const char *rest;
		size_t rlen;
		if (!repo || repo == org || repo + 1 >= end)
			return fail(why, whylen, "GitHub shorthand must be github.com/ORG/REPO");
		rest = memchr(repo + 1, '/', (size_t)(end - repo - 1));
		rlen = (size_t)((rest ? rest : end) - repo - 1);
		if (rlen > 4 && memcmp(repo + 1 + rlen - 4, ".git", 4) == 0)
			rlen -= 4;
		snprintf(o->url, sizeof(o->url), "https://github.com/%.*s/%.*s.git", (int)(repo - org), org,
		         (int)rlen, repo + 1);
		if (rest && rest + 1 < end) {
			char joined[MODSRC_MAX * 2];
			snprintf(more, sizeof(more), "%.*s", (int)(end - rest - 1), rest + 1);
			snprintf(joined, sizeof(joined), "%s%s%s", more, *o->subdir ? "/" : "", o->subdir);
			modsrc_path_clean(joined, o->subdir, sizeof(o->subdir));
		}
	} else {
		size_t ulen = q ? (size_t)(q - body) : strlen(body);
		if (ulen == 0 || ulen >= sizeof(o->url))
			return fail(why, whylen, "git source without a URL");
		snprintf(o->url, sizeof(o->url), "%.*s", (int)ulen, body);
	}
	if (strncmp(o->subdir, "../", 3) == 0 || strcmp(o->subdir, "..") == 0)
		return fail(why, whylen, "subdirectory path \"%s\" leads outside of the module package",
		            o->subdir);
	for (const char *c = o->url; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fail(why, whylen, "git URL with a space or control character");
	o->kind = MODSRC_GIT;
	snprintf(o->canonical, sizeof(o->canonical), "git::%s%s%s%s%s", o->url, *o->subdir ? "//" : "",
	         o->subdir, *o->ref ? "?ref=" : "", o->ref);
	return 0;
}

int modsrc_parse(const char *raw, struct modsrc *out, char *why, size_t whylen)
{
	char tmp[MODSRC_MAX];

	memset(out, 0, sizeof(*out));
	if (!raw || !*raw)
		return fail(why, whylen, "empty module source");
	if (strlen(raw) >= MODSRC_MAX)
		return fail(why, whylen, "module source longer than %d bytes", MODSRC_MAX - 1);
	if (strncmp(raw, "./", 2) == 0 || strncmp(raw, "../", 3) == 0 || strncmp(raw, ".\\", 2) == 0 ||
	    strncmp(raw, "..\\", 3) == 0) {
		char clean[MODSRC_MAX];
		snprintf(tmp, sizeof(tmp), "%s", raw);
		for (char *c = tmp; *c; c++)
			if (*c == '\\')
				*c = '/';
		modsrc_path_clean(tmp, clean, sizeof(clean));
		snprintf(out->path, sizeof(out->path), "%s%s", strncmp(clean, "../", 3) == 0 ? "" : "./",
		         clean);
		out->kind = MODSRC_LOCAL;
		snprintf(out->canonical, sizeof(out->canonical), "%s", out->path);
		return 0;
	}
	if (!strstr(raw, "::") && parse_registry(raw, out, NULL, 0) == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	if (strncmp(raw, "git::", 5) == 0 || strncmp(raw, "github.com/", 11) == 0)
		return parse_git(raw, out, why, whylen);
	/* no other source reaches the mirror: say why a registry reading failed
	 * when the address looks like one */
	if (!strstr(raw, "::") && !strstr(raw, "://") && parse_registry(raw, out, why, whylen) < 0 &&
	    strchr(raw, '/') && !strchr(raw, '.')) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (split_subdir(raw, tmp, sizeof(tmp), out->subdir, sizeof(out->subdir)) < 0)
		return fail(why, whylen, "too long");
	if (strncmp(out->subdir, "../", 3) == 0 || strcmp(out->subdir, "..") == 0)
		return fail(why, whylen, "subdirectory path \"%s\" leads outside of the module package",
		            out->subdir);
	memset(out, 0, sizeof(*out));
	out->kind = MODSRC_OTHER;
	snprintf(out->canonical, sizeof(out->canonical), "%s", raw);
	return 0;
}

int modsrc_package(const struct modsrc *s, char *out, size_t len)
{
	if (s->kind != MODSRC_REGISTRY)
		return -1;
	return snprintf(out, len, "%s/%s/%s/%s", s->host, s->ns, s->name, s->system) < (int)len ? 0 : -1;
}

/* ---- versions ---- */

static bool pre_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '~';
}

/* ( "." [0-9A-Za-z-~]+ )* after a first part; returns the end. */
static const char *dotted_parts(const char *p)
{
	while (*p == '.' && pre_char(p[1])) {
		p++;
		while (pre_char(*p))
			p++;
	}
	return p;
}

int modver_parse(const char *s, struct modver *v)
{
	const char *p = s, *pre = NULL, *pre_end = NULL;

	memset(v, 0, sizeof(*v));
	if (!s)
		return -1;
	if (*p == 'v')
		p++;
	for (;;) {
		int64_t n = 0;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*p++ - '0');
		}
		if (v->given == MODVER_SEGMENTS)
			return -1;
		v->seg[v->given++] = n;
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			p++;
			continue;
		}
		break;
	}
	v->nseg = v->given < 3 ? 3 : v->given;
	/* prerelease: -NUM..., or -?ALPHA... */
	if (*p == '-' && isdigit((unsigned char)p[1])) {
		pre = ++p;
		while (pre_char(*p))
			p++;
		p = pre_end = dotted_parts(p);
	} else if ((*p == '-' && pre_char(p[1])) || isalpha((unsigned char)*p) || *p == '~') {
		if (*p == '-' && (isalpha((unsigned char)p[1]) || p[1] == '-' || p[1] == '~'))
			p++;
		pre = p;
		if (!isalpha((unsigned char)*p) && *p != '-' && *p != '~')
			return -1;
		while (isalpha((unsigned char)*p) || *p == '-' || *p == '~')
			p++;
		while (pre_char(*p))
			p++;
		p = pre_end = dotted_parts(p);
	}
	if (pre) {
		if ((size_t)(pre_end - pre) >= sizeof(v->pre))
			return -1;
		memcpy(v->pre, pre, (size_t)(pre_end - pre));
	}
	if (*p == '+') {
		const char *m = ++p;
		if (!pre_char(*p))
			return -1;
		while (pre_char(*p))
			p++;
		p = dotted_parts(p);
		if ((size_t)(p - m) >= sizeof(v->meta))
			return -1;
		memcpy(v->meta, m, (size_t)(p - m));
	}
	return *p ? -1 : 0;
}

static bool all_numeric(const char *s, int64_t *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !*end && errno == 0 && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+');
}

/* go-version's comparePart */
static int cmp_part(const char *a, const char *b)
{
	int64_t ai = 0, bi = 0;
	bool an, bn;

	if (strcmp(a, b) == 0)
		return 0;
	an = all_numeric(a, &ai);
	bn = all_numeric(b, &bi);
	if (!*a)
		return bn ? -1 : 1;
	if (!*b)
		return an ? 1 : -1;
	if (an && !bn)
		return -1;
	if (!an && bn)
		return 1;
	if (!an && !bn)
		return strcmp(a, b) > 0 ? 1 : -1;
	return ai > bi ? 1 : -1;
}

static int cmp_pre(const char *a, const char *b)
{
	char pa[128], pb[128];
	const char *ia = a, *ib = b;

	if (strcmp(a, b) == 0)
		return 0;
	while (*ia || *ib) {
		size_t na = strcspn(ia, "."), nb = strcspn(ib, ".");
		int c;
		snprintf(pa, sizeof(pa), "%.*s", (int)na, ia);
		snprintf(pb, sizeof(pb), "%.*s", (int)nb, ib);
		c = cmp_part(pa, pb);
		if (c)
			return c;
		ia += na + (ia[na] == '.');
		ib += nb + (ib[nb] == '.');
	}
	return 0;
}

static bool equal_segments(const struct modver *a, const struct modver *b)
{
	if (a->nseg != b->nseg)
		return false;
	for (int i = 0; i < a->nseg; i++)
		if (a->seg[i] != b->seg[i])
			return false;
	return true;
}

int modver_cmp(const struct modver *a, const struct modver *b)
{
	int n = a->nseg > b->nseg ? a->nseg : b->nseg;

	if (equal_segments(a, b)) {
		if (!*a->pre && !*b->pre)
			return 0;
		if (!*a->pre)
			return 1;
		if (!*b->pre)
			return -1;
		return cmp_pre(a->pre, b->pre);
	}
	for (int i = 0; i < n; i++) {
		int64_t x = i < a->nseg ? a->seg[i] : 0, y = i < b->nseg ? b->seg[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void modver_string(const struct modver *v, char *out, size_t len)
{
	size_t w = 0;

	out[0] = '\0';
	for (int i = 0; i < v->nseg && w < len; i++)
		w += (size_t)snprintf(out + w, len - w, "%s%" PRId64, i ? "." : "", v->seg[i]);
	if (*v->pre && w < len)
		w += (size_t)snprintf(out + w, len - w, "-%s", v->pre);
	if (*v->meta && w < len)
		snprintf(out + w, len - w, "+%s", v->meta);
}

/* ---- constraints ---- */

static const struct {
	const char *text;
	enum modcons_op op;
} ops[] = {
    /* longest first, as the alternation in go-version's expression */
    {"<=", MODCONS_LE}, {">=", MODCONS_GE}, {"!=", MODCONS_NE}, {"~>", MODCONS_PESSIMISTIC},
    {"<", MODCONS_LT},  {">", MODCONS_GT},  {"=", MODCONS_EQ},
};

int modconstraint_parse(const char *s, struct modconstraint *c)
{
	const char *p = s;

	memset(c, 0, sizeof(*c));
	if (!s || !*s)
		return 0;
	for (;;) {
		size_t n = strcspn(p, ","), b = 0, e = n;
		char one[256];
		enum modcons_op op = MODCONS_EQ;
		if (c->n == MODCONS_MAX)
			return -1;
		while (b < e && isspace((unsigned char)p[b]))
			b++;
		while (e > b && isspace((unsigned char)p[e - 1]))
			e--;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			size_t ol = strlen(ops[i].text);
			if (e - b >= ol && strncmp(p + b, ops[i].text, ol) == 0) {
				op = ops[i].op;
				b += ol;
				break;
			}
		}
		while (b < e && isspace((unsigned char)p[b]))
			b++;
		if (e - b >= sizeof(one))
			return -1;
		snprintf(one, sizeof(one), "%.*s", (int)(e - b), p + b);
		if (modver_parse(one, &c->c[c->n].v) < 0)
			return -1;
		c->c[c->n++].op = op;
		if (!p[n])
			break;
		p += n + 1;
	}
	return 0;
}

static bool prerelease_check(const struct modver *v, const struct modver *c)
{
	if (*c->pre && *v->pre)
		return equal_segments(v, c);
	if (!*c->pre && *v->pre)
		return false;
	return true;
}

static bool check_one(enum modcons_op op, const struct modver *v, const struct modver *c)
{
	int cmp = modver_cmp(v, c);

	switch (op) {
	case MODCONS_EQ: return cmp == 0;
	case MODCONS_NE: return cmp != 0;
	case MODCONS_GT: return prerelease_check(v, c) && cmp > 0;
	case MODCONS_LT: return prerelease_check(v, c) && cmp < 0;
	case MODCONS_GE: return prerelease_check(v, c) && cmp >= 0;
	case MODCONS_LE: return prerelease_check(v, c) && cmp <= 0;
	case MODCONS_PESSIMISTIC:
		if (!prerelease_check(v, c) || (*c->pre && !*v->pre) || cmp < 0)
			return false;
		if (c->nseg > v->nseg)
			return false;
		for (int i = 0; i < c->given - 1; i++)
			if (v->seg[i] != c->seg[i])
				return false;
		return c->seg[c->nseg - 1] <= v->seg[c->nseg - 1];
	}
	return false;
}

bool modconstraint_check(const struct modconstraint *c, const struct modver *v)
{
	for (size_t i = 0; i < c->n; i++)
		if (!check_one(c->c[i].op, v, &c->c[i].v))
			return false;
	return true;
}

bool modconstraint_admits(const struct modconstraint *c, const struct modver *v)
{
	if (!*v->pre)
		return true;
	for (size_t i = 0; i < c->n; i++)
		if (*c->c[i].v.pre && equal_segments(v, &c->c[i].v) && strcmp(v->pre, c->c[i].v.pre) == 0 &&
		    (c->c[i].op == MODCONS_EQ || c->c[i].op == MODCONS_GE || c->c[i].op == MODCONS_LE ||
		     c->c[i].op == MODCONS_PESSIMISTIC))
			return true;
	return false;
}
