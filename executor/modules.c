/* Registry and git modules from the mirror (see modules.h).
 *
 * The resolution walks the module tree breadth first, one module directory
 * at a time, like terraform's installer: every *.tf and *.tf.json file the
 * configuration loader reads (override files last, replacing a call's source
 * or version), every `module` block with its literal source and version.
 * Directories are opened with openat2(RESOLVE_BENEATH) from the upload or
 * the package they belong to, so that no link leads the walk elsewhere. */
#include "executor/modules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "executor/mirror.h"
#include "executor/modsource.h"
#include "policy/hcl.h"
#include "policy/tfjson.h"

#define MAX_MODULES 1000 /* manifest entries */
#define MAX_DEPTH   32   /* nested module calls */
#define MAX_FILE    (8u << 20)
#define MAX_NESTING 128 /* the parser's limits: the scan has already held the files to the policy's */
#define MAX_TOKENS  2000000
#define LINE        4096

struct call {
	char *name, *source, *version;
	bool source_literal, version_literal, has_version;
	char file[LINE];
	int line;
};

struct item { /* a module directory to read */
	char *key;
	int pkg;   /* -1: the upload */
	char *rel; /* relative to the upload or the package root; "" = root */
	char *dir; /* the manifest's Dir */
	int depth;
};

struct parsed {      /* the calls of one module directory, read once */
	char *where; /* "<package label>/<rel>", or "/<rel>" for the upload */
	struct call *calls;
	size_t n;
};

struct resolver {
	const char *mirror;
	char mirror_real[PATH_MAX]; /* its real path: packages must stay beneath it */
	int upload_fd;
	int *pkg_fd;
	struct modules_plan *mp;
	struct item *q;
	size_t nq, head;
	struct parsed *memo; /* a directory called from many modules is parsed once */
	size_t n_memo;
	struct tj_error *err;
	enum modules_outcome oc;
};

static enum modules_outcome invalid(struct resolver *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum modules_outcome invalid(struct resolver *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err->msg, sizeof(r->err->msg), fmt, ap);
	va_end(ap);
	r->err->errnum = EINVAL;
	return r->oc = MODULES_INVALID;
}

static enum modules_outcome failed(struct resolver *r)
{
	return r->oc = MODULES_FAILED;
}

static int open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
}

/* ---- reading the module calls of one directory ---- */

/* The files terraform's loader reads: *.tf and *.tf.json, not hidden, not
 * editor backups.  1 = an override file. */
static int config_file_kind(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || name[n - 1] == '~' || (name[0] == '#' && name[n - 1] == '#'))
		return -1;
	if (!tj_str_has_suffix(name, ".tf") && !tj_str_has_suffix(name, ".tf.json"))
		return -1;
	return strcmp(name, "override.tf") == 0 || strcmp(name, "override.tf.json") == 0 ||
	       tj_str_has_suffix(name, "_override.tf") || tj_str_has_suffix(name, "_override.tf.json");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void calls_free(struct call *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].source);
		free(c[i].version);
	}
	free(c);
}

static char *expr_str(const struct hcl_expr *e)
{
	return strdup(e->kind == HCL_EXPR_STRING && e->str ? e->str : "");
}

/* Adds or (override) updates the calls of one parsed file. */
static int take_calls(struct call **calls, size_t *n, const struct hcl_file *f, const char *label,
                      bool override)
{
	for (size_t b = 0; b < f->body.n_blocks; b++) {
		const struct hcl_block *blk = &f->body.blocks[b];
		struct call *c = NULL;
		if (strcmp(blk->type, "module") != 0 || blk->n_labels != 1)
			continue;
		for (size_t i = 0; i < *n; i++)
			if (strcmp((*calls)[i].name, blk->labels[0]) == 0)
				c = &(*calls)[i];
		if (!c) {
			struct call *nc;
			if (override)
				continue; /* terraform reports an override of a missing block */
			nc = reallocarray(*calls, *n + 1, sizeof(**calls));
			if (!nc)
				return -1;
			*calls = nc;
			c = &nc[(*n)++];
			memset(c, 0, sizeof(*c));
			if (!(c->name = strdup(blk->labels[0])))
				return -1;
			snprintf(c->file, sizeof(c->file), "%s", label);
			c->line = blk->line;
		}
		for (size_t a = 0; a < blk->body.n_attrs; a++) {
			const struct hcl_attr *at = &blk->body.attrs[a];
			if (strcmp(at->name, "source") == 0) {
				free(c->source);
				c->source = expr_str(&at->value);
				c->source_literal = at->value.kind == HCL_EXPR_STRING;
				if (!c->source)
					return -1;
			} else if (strcmp(at->name, "version") == 0) {
				free(c->version);
				c->version = expr_str(&at->value);
				c->version_literal = at->value.kind == HCL_EXPR_STRING;
				c->has_version = true;
				if (!c->version)
					return -1;
			}
		}
	}
	return 0;
}

/* Reads every module call of the directory rel beneath rootfd.  prefix
 * names files in messages ("" for the upload, "<label>/" for a package). */
static enum modules_outcome read_calls(struct resolver *r, int rootfd, const char *rel, const char *prefix,
                                       struct call **calls, size_t *n)
{
	_cleanup_close_ int dfd = open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0;
	enum modules_outcome oc = MODULES_RESOLVED;

	*calls = NULL;
	*n = 0;
	if (dfd < 0 && errno == ENOENT && !*prefix)
		return MODULES_RESOLVED; /* a missing local module of the upload: terraform names it */
	if (dfd < 0)
		return invalid(r, "module directory %s%s%s cannot be read: %s", prefix, *rel ? rel : ".",
		               errno == EXDEV ? " (reached through a link that leaves it)" : "",
		               strerror(errno));
	{
		int fd = dup(dfd);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			tj_error_sys(r->err, "read %s%s", prefix, rel);
			return failed(r);
		}
	}
	while ((de = readdir(d))) {
		char **nl;
		if (config_file_kind(de->d_name) < 0)
			continue;
		nl = reallocarray(names, nn + 1, sizeof(*names));
		if (!nl || !(nl[nn] = strdup(de->d_name))) {
			free(nl ? nl : names);
			tj_error_set(r->err, ENOMEM, "out of memory");
			return failed(r);
		}
		names = nl;
		nn++;
	}
	if (nn)
		qsort(names, nn, sizeof(*names), cmp_str);
	for (int pass = 0; pass < 2 && oc == MODULES_RESOLVED; pass++)
		for (size_t i = 0; i < nn && oc == MODULES_RESOLVED; i++) {
			_cleanup_free_ char *text = NULL;
			struct hcl_file f = {0};
			struct hcl_parse_error perr = {0};
			char label[LINE];
			size_t len;
			int rc, fd;
			if (config_file_kind(names[i]) != pass)
				continue;
			snprintf(label, sizeof(label), "%s%s%s%s", prefix, rel, *rel ? "/" : "", names[i]);
			fd = open_beneath(dfd, names[i], O_RDONLY | O_NOFOLLOW);
			if (fd < 0) {
				oc = invalid(r, "%s cannot be read: %s", label, strerror(errno));
				break;
			}
			{
				char self[64]; /* the file opened beneath the root, read through its fd */
				snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
				rc = tj_read_file(self, MAX_FILE, &text, &len, r->err);
			}
			close(fd);
			if (rc < 0) {
				oc = invalid(r, "%s cannot be read: %s", label, r->err->msg);
				break;
			}
			rc = tj_str_has_suffix(names[i], ".json")
			         ? tfjson_parse(text, len, MAX_NESTING, &f, &perr)
			         : hcl_parse(text, len, MAX_NESTING, MAX_TOKENS, &f, &perr);
			if (rc < 0) {
				oc = invalid(r, "%s:%d: %s", label, perr.line, perr.msg);
				break;
			}
			if (take_calls(calls, n, &f, label, pass == 1) < 0) {
				tj_error_set(r->err, ENOMEM, "out of memory");
				oc = failed(r);
			}
			hcl_file_free(&f);
		}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return oc;
}

/* ---- the plan ---- */

static int add_record(struct modules_plan *mp, const char *key, const char *source, const char *version,
                      const char *dir)
{
	struct modules_record *nr = reallocarray(mp->rec, mp->n_rec + 1, sizeof(*nr));

	if (!nr)
		return -1;
	mp->rec = nr;
	nr = &nr[mp->n_rec++];
	nr->key = strdup(key);
	nr->source = strdup(source);
	nr->version = version ? strdup(version) : NULL;
	nr->dir = strdup(dir);
	return nr->key && nr->source && nr->dir && (!version || nr->version) ? 0 : -1;
}

static int push(struct resolver *r, const char *key, int pkg, const char *rel, const char *dir, int depth)
{
	struct item *nq = reallocarray(r->q, r->nq + 1, sizeof(*nq));

	if (!nq)
		return -1;
	r->q = nq;
	nq = &nq[r->nq++];
	nq->key = strdup(key);
	nq->pkg = pkg;
	nq->rel = strdup(rel);
	nq->dir = strdup(dir);
	nq->depth = depth;
	return nq->key && nq->rel && nq->dir ? 0 : -1;
}

static void call_path(const char *key, char *out, size_t len)
{
	size_t w = 0;

	out[0] = '\0';
	for (const char *p = key; *p && w < len;) {
		size_t n = strcspn(p, ".");
		w += (size_t)snprintf(out + w, len - w, "%smodule.%.*s", w ? "." : "", (int)n, p);
		p += n + (p[n] == '.');
	}
}

/* Adds a package of the mirror for key and queues its module directory. */
static enum modules_outcome add_package(struct resolver *r, const struct item *it, const struct call *c,
                                        const char *key, const char *mirror_rel, const struct modsrc *s,
                                        const char *version)
{
	char path[PATH_MAX], real[PATH_MAX], dir[PATH_MAX * 2], call[LINE];
	size_t root_len;
	struct modules_package *np;
	int *nfd, fd;
	_cleanup_close_ int sub = -1;

	if (!r->mirror_real[0] && !realpath(r->mirror, r->mirror_real)) {
		tj_error_sys(r->err, "module mirror");
		return failed(r);
	}
	root_len = strlen(r->mirror_real);

	if (r->mp->n_pkg >= MODULES_MAX_PACKAGES)
		return invalid(r, "module \"%s\" (%s:%d): more than %d mirrored modules in one configuration",
		               c->name, c->file, c->line, MODULES_MAX_PACKAGES);
	snprintf(path, sizeof(path), "%s/%s", r->mirror, mirror_rel);
	if (!realpath(path, real)) {
		tj_error_sys(r->err, "module mirror: %s", mirror_rel);
		return failed(r);
	}
	/* terraform reads the package where the sandbox sees the mirror: a
	 * link inside the mirror must not lead out of it */
	if (strncmp(real, r->mirror_real, root_len) != 0 || real[root_len] != '/') {
		tj_error_set(r->err, EXDEV, "module mirror: %s is a link that leaves the mirror", mirror_rel);
		return failed(r);
	}
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tj_error_sys(r->err, "module mirror: open %s", real);
		return failed(r);
	}
	sub = open_beneath(fd, s->subdir, O_RDONLY | O_DIRECTORY);
	if (sub < 0) {
		close(fd);
		return invalid(r, "module \"%s\" (%s:%d): the mirrored package %s has no directory \"%s\"",
		               c->name, c->file, c->line, mirror_rel, s->subdir);
	}
	np = reallocarray(r->mp->pkg, r->mp->n_pkg + 1, sizeof(*np));
	nfd = np ? reallocarray(r->pkg_fd, r->mp->n_pkg + 1, sizeof(*nfd)) : NULL;
	if (np)
		r->mp->pkg = np;
	if (nfd)
		r->pkg_fd = nfd;
	if (!np || !nfd) {
		close(fd);
		tj_error_set(r->err, ENOMEM, "out of memory");
		return failed(r);
	}
	r->pkg_fd[r->mp->n_pkg] = fd;
	call_path(key, call, sizeof(call));
	np = &r->mp->pkg[r->mp->n_pkg++];
	np->key = strdup(key);
	np->dir = strdup(real);
	np->label = strdup(mirror_rel);
	np->subdir = strdup(s->subdir);
	np->call = strdup(call);
	snprintf(dir, sizeof(dir), MODULES_MIRROR_DIR "/%s%s%s", real + root_len + 1, *s->subdir ? "/" : "",
	         s->subdir);
	if (!np->key || !np->dir || !np->label || !np->subdir || !np->call ||
	    add_record(r->mp, key, s->canonical, version, dir) < 0 ||
	    push(r, key, (int)r->mp->n_pkg - 1, s->subdir, dir, it->depth + 1) < 0) {
		tj_error_set(r->err, ENOMEM, "out of memory");
		return failed(r);
	}
	return MODULES_RESOLVED;
}

static enum modules_outcome resolve_registry(struct resolver *r, const struct item *it, const struct call *c,
                                             const char *key, const struct modsrc *s)
{
	struct modconstraint cons;
	struct mirror_version *vs = NULL;
	size_t nv = 0;
	const struct mirror_version *best = NULL;
	char pkg[600], list[1024] = "", rel[PATH_MAX], vstr[300];
	const char *constraint = c->has_version ? c->version : NULL;
	enum modules_outcome oc;

	modsrc_package(s, pkg, sizeof(pkg));
	if (c->has_version && !c->version_literal)
		return invalid(r, "module \"%s\" (%s:%d): version must be a literal string", c->name, c->file,
		               c->line);
	if (modconstraint_parse(constraint, &cons) < 0)
		return invalid(r, "module \"%s\" (%s:%d): \"%s\" is not a valid version constraint", c->name,
		               c->file, c->line, constraint);
	if (!*r->mirror)
		return invalid(
		    r,
		    "module \"%s\" (%s:%d): source \"%s\" version \"%s\": registry modules come from the "
		    "module mirror, and the policy names none (modules.mirror)",
		    c->name, c->file, c->line, c->source, constraint ? constraint : "any");
	if (mirror_versions(r->mirror, pkg, &vs, &nv, r->err) < 0)
		return failed(r);
	for (size_t i = 0; i < nv; i++) {
		size_t w = strlen(list);
		modver_string(&vs[i].v, vstr, sizeof(vstr));
		if (w + strlen(vstr) + 8 < sizeof(list))
			snprintf(list + w, sizeof(list) - w, "%s%s", w ? ", " : "", vstr);
		if (modconstraint_admits(&cons, &vs[i].v) && modconstraint_check(&cons, &vs[i].v) &&
		    (!best || modver_cmp(&vs[i].v, &best->v) > 0))
			best = &vs[i];
	}
	if (!nv) {
		free(vs);
		return invalid(
		    r,
		    "module \"%s\" (%s:%d): source \"%s\" version \"%s\" is not in the module mirror "
		    "(it has no version of %s)",
		    c->name, c->file, c->line, c->source, constraint ? constraint : "any", pkg);
	}
	if (!best) {
		oc =
		    invalid(r,
		            "module \"%s\" (%s:%d): source \"%s\": no version in the module mirror meets the "
		            "constraint \"%s\" (the mirror has %s)",
		            c->name, c->file, c->line, c->source, constraint ? constraint : "", list);
		free(vs);
		return oc;
	}
	modver_string(&best->v, vstr, sizeof(vstr));
	snprintf(rel, sizeof(rel), "%s/%s", pkg, best->name);
	free(vs);
	return add_package(r, it, c, key, rel, s, vstr);
}

static enum modules_outcome resolve_git(struct resolver *r, const struct item *it, const struct call *c,
                                        const char *key, const struct modsrc *s)
{
	char rel[PATH_MAX];
	int rc;

	if (c->has_version)
		return invalid(
		    r, "module \"%s\" (%s:%d): version applies to registry modules only, not to \"%s\"",
		    c->name, c->file, c->line, c->source);
	if (!*r->mirror)
		return invalid(
		    r,
		    "module \"%s\" (%s:%d): source \"%s\": git modules come from the module mirror, and "
		    "the policy names none (modules.mirror)",
		    c->name, c->file, c->line, c->source);
	rc = mirror_git_lookup(r->mirror, s->url, s->ref, rel, sizeof(rel), r->err);
	if (rc < 0)
		return failed(r);
	if (rc > 0)
		return invalid(
		    r,
		    "module \"%s\" (%s:%d): source \"%s\" is not in the module mirror (its %s has no "
		    "entry for url \"%s\" ref \"%s\")",
		    c->name, c->file, c->line, c->source, MIRROR_GIT_INDEX, s->url, s->ref);
	return add_package(r, it, c, key, rel, s, NULL);
}

static enum modules_outcome resolve_call(struct resolver *r, const struct item *it, const struct call *c)
{
	struct modsrc s;
	char why[256] = "", key[LINE], rel[PATH_MAX], joined[PATH_MAX * 2], dir[PATH_MAX];

	if (!c->source || !c->source_literal)
		return invalid(r, "module \"%s\" (%s:%d): source must be a literal string", c->name, c->file,
		               c->line);
	if (modsrc_parse(c->source, &s, why, sizeof(why)) < 0)
		return invalid(r, "module \"%s\" (%s:%d): source \"%s\" is not valid: %s", c->name, c->file,
		               c->line, c->source, why);
	if (snprintf(key, sizeof(key), "%s%s%s", it->key, *it->key ? "." : "", c->name) >= (int)sizeof(key))
		return invalid(r, "module \"%s\" (%s:%d): nested too deeply", c->name, c->file, c->line);
	if (it->depth + 1 > MAX_DEPTH || r->mp->n_rec >= MAX_MODULES)
		return invalid(r, "module \"%s\" (%s:%d): more than %d levels or %d modules", c->name,
		               c->file, c->line, MAX_DEPTH, MAX_MODULES);
	switch (s.kind) {
	case MODSRC_LOCAL:
		if (c->has_version)
			return invalid(r, "module \"%s\" (%s:%d): a local module takes no version", c->name,
			               c->file, c->line);
		snprintf(joined, sizeof(joined), "%s%s%s", it->rel, *it->rel ? "/" : "", s.path);
		modsrc_path_clean(joined, rel, sizeof(rel));
		if (strcmp(rel, "..") == 0 || strncmp(rel, "../", 3) == 0)
			return invalid(r, "module \"%s\" (%s:%d): source \"%s\" leaves the %s", c->name,
			               c->file, c->line, c->source,
			               it->pkg < 0 ? "upload" : "module package");
		snprintf(joined, sizeof(joined), "%s/%s", it->dir, s.path);
		modsrc_path_clean(joined, dir, sizeof(dir));
		if (add_record(r->mp, key, s.canonical, NULL, dir) < 0 ||
		    push(r, key, it->pkg, strcmp(rel, ".") == 0 ? "" : rel, dir, it->depth + 1) < 0) {
			tj_error_set(r->err, ENOMEM, "out of memory");
			return failed(r);
		}
		return MODULES_RESOLVED;
	case MODSRC_REGISTRY: return resolve_registry(r, it, c, key, &s);
	case MODSRC_GIT: return resolve_git(r, it, c, key, &s);
	default:
		return invalid(
		    r,
		    "module \"%s\" (%s:%d): source \"%s\" cannot be fetched: jobs have no network, and "
		    "only registry and git sources come from the module mirror",
		    c->name, c->file, c->line, c->source);
	}
}

/* The module calls of the item's directory, parsed at its first visit: a
 * directory that many modules call (the same package or local path) costs
 * one parse, not one per call.  NULL once the resolution has failed. */
static const struct parsed *calls_of(struct resolver *r, const struct item *it)
{
	char prefix[PATH_MAX + 1] = "";
	_cleanup_free_ char *where = NULL;
	struct parsed *np;
	struct call *calls = NULL;
	size_t n = 0;
	int fd = it->pkg < 0 ? r->upload_fd : r->pkg_fd[it->pkg];

	if (it->pkg >= 0)
		snprintf(prefix, sizeof(prefix), "%s/", r->mp->pkg[it->pkg].label);
	if (asprintf(&where, "%s/%s", it->pkg >= 0 ? r->mp->pkg[it->pkg].label : "", it->rel) < 0) {
		where = NULL;
		tj_error_set(r->err, ENOMEM, "out of memory");
		failed(r);
		return NULL;
	}
	for (size_t i = 0; i < r->n_memo; i++)
		if (strcmp(r->memo[i].where, where) == 0)
			return &r->memo[i];
	if (read_calls(r, fd, it->rel, prefix, &calls, &n) != MODULES_RESOLVED) {
		calls_free(calls, n);
		return NULL;
	}
	np = reallocarray(r->memo, r->n_memo + 1, sizeof(*np));
	if (!np) {
		calls_free(calls, n);
		tj_error_set(r->err, ENOMEM, "out of memory");
		failed(r);
		return NULL;
	}
	r->memo = np;
	np = &np[r->n_memo++];
	*np = (struct parsed){.where = where, .calls = calls, .n = n};
	where = NULL;
	return np;
}

void modules_plan_free(struct modules_plan *mp)
{
	if (!mp)
		return;
	for (size_t i = 0; i < mp->n_rec; i++) {
		free(mp->rec[i].key);
		free(mp->rec[i].source);
		free(mp->rec[i].version);
		free(mp->rec[i].dir);
	}
	for (size_t i = 0; i < mp->n_pkg; i++) {
		free(mp->pkg[i].key);
		free(mp->pkg[i].dir);
		free(mp->pkg[i].label);
		free(mp->pkg[i].subdir);
		free(mp->pkg[i].call);
	}
	free(mp->rec);
	free(mp->pkg);
	free(mp);
}

enum modules_outcome modules_resolve(const char *mirror, int upload_fd, const char *workdir,
                                     struct modules_plan **out, struct tj_error *err)
{
	struct resolver r = {.mirror = mirror ? mirror : "", .upload_fd = -1, .err = err};
	char root[PATH_MAX];

	*out = NULL;
	r.mp = calloc(1, sizeof(*r.mp));
	if (!r.mp) {
		tj_error_set(err, ENOMEM, "out of memory");
		return MODULES_FAILED;
	}
	r.upload_fd = open_beneath(upload_fd, "", O_RDONLY | O_DIRECTORY);
	if (r.upload_fd < 0) {
		tj_error_sys(err, "open the upload");
		r.oc = MODULES_FAILED;
		goto out;
	}
	modsrc_path_clean(workdir && *workdir ? workdir : ".", root, sizeof(root));
	if (add_record(r.mp, "", "", NULL, ".") < 0 ||
	    push(&r, "", -1, strcmp(root, ".") ? root : "", ".", 0) < 0) {
		tj_error_set(err, ENOMEM, "out of memory");
		r.oc = MODULES_FAILED;
		goto out;
	}
	for (r.head = 0; r.head < r.nq && r.oc == MODULES_RESOLVED; r.head++) {
		struct item it = r.q[r.head]; /* the queue moves while calls are added */
		const struct parsed *pd = calls_of(&r, &it);
		for (size_t i = 0; pd && i < pd->n && r.oc == MODULES_RESOLVED; i++)
			resolve_call(&r, &it, &pd->calls[i]);
	}
out:
	for (size_t i = 0; i < r.nq; i++) {
		free(r.q[i].key);
		free(r.q[i].rel);
		free(r.q[i].dir);
	}
	free(r.q);
	for (size_t i = 0; i < r.n_memo; i++) {
		free(r.memo[i].where);
		calls_free(r.memo[i].calls, r.memo[i].n);
	}
	free(r.memo);
	for (size_t i = 0; r.pkg_fd && i < r.mp->n_pkg; i++)
		close(r.pkg_fd[i]);
	free(r.pkg_fd);
	if (r.upload_fd >= 0)
		close(r.upload_fd);
	if (r.oc != MODULES_RESOLVED) {
		modules_plan_free(r.mp);
		return r.oc;
	}
	*out = r.mp;
	return MODULES_RESOLVED;
}

cJSON *modules_manifest_json(const struct modules_plan *mp)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *mods = root ? cJSON_AddArrayToObject(root, "Modules") : NULL;

	if (!mods) {
		cJSON_Delete(root);
		return NULL;
	}
	for (size_t i = 0; i < mp->n_rec; i++) {
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(mods, o)) {
			cJSON_Delete(o);
			cJSON_Delete(root);
			return NULL;
		}
		cJSON_AddStringToObject(o, "Key", mp->rec[i].key);
		cJSON_AddStringToObject(o, "Source", mp->rec[i].source);
		if (mp->rec[i].version)
			cJSON_AddStringToObject(o, "Version", mp->rec[i].version);
		cJSON_AddStringToObject(o, "Dir", mp->rec[i].dir);
	}
	return root;
}

/* ---- the scan of the mirrored packages ---- */

static int append_violations(struct tj_violation **dst, size_t *n, const struct tj_violation *v, size_t nv,
                             const struct modules_package *pkg)
{
	struct tj_violation *nd;

	if (!nv)
		return 0;
	nd = reallocarray(*dst, *n + nv, sizeof(*nd));
	if (!nd)
		return -1;
	*dst = nd;
	for (size_t i = 0; i < nv; i++) {
		struct tj_violation *o = &nd[*n];
		memset(o, 0, sizeof(*o));
		(*n)++;
		o->rule = strdup(v[i].rule);
		o->severity = strdup(v[i].severity);
		o->line = v[i].line;
		o->reason = v[i].reason ? strdup(v[i].reason) : NULL;
		if (asprintf(&o->file, "%s/%s", pkg->label, v[i].file) < 0)
			o->file = NULL;
		if (asprintf(&o->message, "%s (mirrored %s): %s", pkg->call, pkg->label, v[i].message) < 0)
			o->message = NULL;
		if (!o->rule || !o->severity || !o->file || !o->message)
			return -1;
	}
	return 0;
}

int modules_scan(const struct tj_policy *p, const struct modules_plan *mp, struct tj_scan_result **out,
                 struct tj_error *err)
{
	struct tj_scan_result *res = calloc(1, sizeof(*res));

	if (!res)
		return tj_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < mp->n_pkg; i++) {
		const struct modules_package *pk = &mp->pkg[i];
		struct tj_scan_result *one = NULL;
		bool dup = false;
		int rc;
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(mp->pkg[j].dir, pk->dir) == 0 &&
			      strcmp(mp->pkg[j].subdir, pk->subdir) == 0;
		if (dup)
			continue;
		if (tj_scan_dir_at(p, pk->dir, pk->subdir, &one, err) < 0) {
			tj_scan_result_free(res);
			return tj_error_prefix(err, "scan of the mirrored module %s", pk->label);
		}
		res->files_scanned += one->files_scanned;
		rc = append_violations(&res->v, &res->n, one->v, one->n, pk);
		if (rc == 0)
			rc = append_violations(&res->suppressed, &res->n_suppressed, one->suppressed,
			                       one->n_suppressed, pk);
		tj_scan_result_free(one);
		if (rc < 0) {
			tj_scan_result_free(res);
			return tj_error_set(err, ENOMEM, "out of memory");
		}
	}
	*out = res;
	return 0;
}

/* ---- the manifest ---- */

int modules_write_manifest(const struct modules_plan *mp, const char *data_dir, struct tj_error *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *manifest = NULL;
	cJSON *j = modules_manifest_json(mp);

	manifest = j ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!manifest)
		return tj_error_set(err, ENOMEM, "out of memory");
	if (snprintf(path, sizeof(path), "%s/modules", data_dir) >= (int)sizeof(path))
		return tj_error_set(err, ENAMETOOLONG, "module data directory: path too long");
	if (tj_mkdir_p(path, 0755, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/modules/modules.json", data_dir);
	return tj_write_file(path, manifest, strlen(manifest), 0644, err);
}
