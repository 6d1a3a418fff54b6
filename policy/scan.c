/* The static policy scan (see scan.h).
 *
 * Two passes over the upload:
 *  1. the upload walk: every entry, without following links, against the
 *     upload limits; links are resolved with openat2(RESOLVE_BENEATH), which
 *     fails with EXDEV for a link that leaves the upload, and special files
 *     are refused;
 *  2. the module walk: from the upload root, each module directory once
 *     (by device and inode), the files terraform loads parsed one at a time
 *     (memory follows the largest file, not the upload), facts extracted and
 *     the tree freed; local module calls are queued, with a depth limit.
 * Provider requirements are resolved per module once all its files are read,
 * because required_providers in any file names the provider of every
 * resource in the module. */
#include "policy/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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
#include "policy/hcl.h"
#include "policy/rules.h"
#include "policy/tfjson.h"

#define MAX_REL 4096

struct vlist {
	struct tj_violation *v;
	size_t n, cap;
};

struct pending {            /* a module directory to scan */
	char *dir;               /* relative to the upload, "" = root */
	size_t depth;
	char *call_file;         /* the module call that led here */
	int call_line;
};

struct req {                /* a required_providers entry */
	char *local;
	char *source;            /* NULL: implied hashicorp/<local> */
	char *file;
	int line;
};

struct use {                /* a provider named by local name */
	char *local;
	char *what;
	char *file;
	int line;
};

struct module {
	struct req *reqs;
	size_t n_reqs;
	struct use *uses;
	size_t n_uses;
};

struct loclist {
	struct tj_block_loc *v;
	size_t n, cap;
};

struct scan {
	const struct tj_policy *p;
	const struct tj_policy_rules *r;
	int rootfd;
	struct vlist out, supp;
	struct loclist locs;
	size_t files_scanned;
	struct pending *queue;
	size_t n_queue, queue_head;
	struct { dev_t dev; ino_t ino; } *seen;
	size_t n_seen;
	uint64_t walk_files, walk_dirs, walk_bytes;
	bool walk_stopped, total_reported;
	bool oom;
	cJSON *facts;            /* tj_scan_dir_facts only */
};

/* ---- facts (what the scan saw, for the differential test) ---- */

static void fact(struct scan *s, const char *dir, const char *list, const char *value)
{
	cJSON *mods, *m, *l;

	if (!s->facts)
		return;
	if (!(mods = cJSON_GetObjectItemCaseSensitive(s->facts, "modules")))
		mods = cJSON_AddObjectToObject(s->facts, "modules");
	if (!mods)
		goto oom;
	if (!dir) {
		l = cJSON_GetObjectItemCaseSensitive(s->facts, list);
		if (!l)
			l = cJSON_AddArrayToObject(s->facts, list);
	} else {
		if (!(m = cJSON_GetObjectItemCaseSensitive(mods, dir)))
			m = cJSON_AddObjectToObject(mods, dir);
		if (!m)
			goto oom;
		if (!(l = cJSON_GetObjectItemCaseSensitive(m, list)))
			l = cJSON_AddArrayToObject(m, list);
	}
	if (!l)
		goto oom;
	for (cJSON *e = l->child; e; e = e->next)
		if (strcmp(e->valuestring, value) == 0)
			return;
	if (cJSON_AddItemToArray(l, cJSON_CreateString(value)))
		return;
oom:
	s->oom = true;
}

/* ---- violations ---- */

static bool suppressed_by(const struct scan *s, enum tj_rule rule, const char *file, const char **reason)
{
	for (size_t i = 0; i < s->r->n_supp; i++)
		if (s->r->supp[i].rule == rule && fnmatch(s->r->supp[i].path, file, 0) == 0) {
			*reason = s->r->supp[i].reason;
			return true;
		}
	return false;
}

static void vpush(struct scan *s, struct vlist *l, const char *rule, const char *sev, const char *file,
		  int line, const char *msg, const char *reason)
{
	struct tj_violation *v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct tj_violation *nv = reallocarray(l->v, cap, sizeof(*nv));
		if (!nv) {
			s->oom = true;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	v = &l->v[l->n];
	memset(v, 0, sizeof(*v));
	v->rule = strdup(rule);
	v->severity = strdup(sev);
	v->file = strdup(*file ? file : ".");
	v->message = strdup(msg);
	v->reason = reason ? strdup(reason) : NULL;
	v->line = line;
	l->n++;
	if (!v->rule || !v->severity || !v->file || !v->message || (reason && !v->reason))
		s->oom = true;
}

static void violation(struct scan *s, enum tj_rule rule, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void violation(struct scan *s, enum tj_rule rule, const char *file, int line, const char *fmt, ...)
{
	enum tj_severity sev = s->r->severity[rule];
	const char *reason = NULL;
	char msg[768];
	va_list ap;

	if (sev == TJ_SEV_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (suppressed_by(s, rule, *file ? file : ".", &reason))
		vpush(s, &s->supp, tj_rule_info(rule)->id, tj_severity_name(sev), file, line, msg, reason);
	else
		vpush(s, &s->out, tj_rule_info(rule)->id, tj_severity_name(sev), file, line, msg, NULL);
}

/* ---- where blocks are (for the plan rules' file and line) ---- */

static void block_loc(struct scan *s, const char *dir, const struct hcl_block *b, const char *file)
{
	struct tj_block_loc *l;
	char address[600];

	if (strcmp(b->type, "module") == 0 && b->n_labels == 1)
		snprintf(address, sizeof(address), "module.%s", b->labels[0]);
	else if (strcmp(b->type, "resource") == 0 && b->n_labels == 2)
		snprintf(address, sizeof(address), "%s.%s", b->labels[0], b->labels[1]);
	else if ((strcmp(b->type, "data") == 0 || strcmp(b->type, "ephemeral") == 0) && b->n_labels == 2)
		snprintf(address, sizeof(address), "%s.%s.%s", b->type, b->labels[0], b->labels[1]);
	else
		return;
	if (s->locs.n == s->locs.cap) {
		size_t cap = s->locs.cap ? s->locs.cap * 2 : 32;
		struct tj_block_loc *nv = reallocarray(s->locs.v, cap, sizeof(*nv));
		if (!nv) {
			s->oom = true;
			return;
		}
		s->locs.v = nv;
		s->locs.cap = cap;
	}
	l = &s->locs.v[s->locs.n++];
	l->dir = strdup(dir);
	l->address = strdup(address);
	l->file = strdup(file);
	l->line = b->line;
	if (!l->dir || !l->address || !l->file)
		s->oom = true;
}

static void free_locs(struct tj_block_loc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].dir);
		free(v[i].address);
		free(v[i].file);
	}
	free(v);
}

/* ---- paths ---- */

static void join(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s%s%s", dir, *dir ? "/" : "", name);
}

/* Lexical join and clean of a local module path, as terraform's
 * filepath.Join: -1 when it climbs above the upload. */
int tj_module_dir_resolve(const char *dir, const char *src, char *out, size_t n)
{
	char buf[2 * MAX_REL + 2];
	char *parts[MAX_REL / 2];
	size_t np = 0, o = 0;
	char *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s/%s", dir, src) >= (int)sizeof(buf))
		return -1;
	for (char *c = buf; *c; c++)
		if (*c == '\\')
			*c = '/';
	for (char *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (np == 0)
				return -1;
			np--;
			continue;
		}
		if (np == sizeof(parts) / sizeof(parts[0]))
			return -1;
		parts[np++] = t;
	}
	out[0] = '\0';
	for (size_t i = 0; i < np; i++) {
		int w = snprintf(out + o, n - o, "%s%s", i ? "/" : "", parts[i]);
		if (w < 0 || (size_t)w >= n - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

static int open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
}

/* ---- pass 1: the upload walk ---- */

static void walk_upload(struct scan *s, int dirfd, const char *rel, size_t depth)
{
	_cleanup_closedir_ DIR *d = NULL;
	int fd = dup(dirfd);
	struct dirent *de;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		violation(s, TJ_RULE_UPLOAD_LIMIT, rel, 0, "cannot list directory: %s", strerror(errno));
		return;
	}
	while (!s->walk_stopped && (de = readdir(d))) {
		char path[MAX_REL];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		join(path, sizeof(path), rel, de->d_name);
		if (strlen(path) >= MAX_REL - 1) {
			violation(s, TJ_RULE_UPLOAD_LIMIT, rel, 0, "path longer than %d bytes", MAX_REL - 2);
			continue;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub;
			if (++s->walk_dirs > s->p->upload.max_files) {
				violation(s, TJ_RULE_UPLOAD_LIMIT, path, 0,
					  "more than %llu directories in the upload (upload.max_files)",
					  (unsigned long long)s->p->upload.max_files);
				s->walk_stopped = true;
				break;
			}
			if (depth + 1 > s->p->upload.max_depth) {
				violation(s, TJ_RULE_UPLOAD_LIMIT, path, 0,
					  "directory deeper than %llu levels (upload.max_depth)",
					  (unsigned long long)s->p->upload.max_depth);
				continue;
			}
			sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			walk_upload(s, sub, path, depth + 1);
			close(sub);
			continue;
		}
		if (++s->walk_files > s->p->upload.max_files) {
			violation(s, TJ_RULE_UPLOAD_LIMIT, path, 0, "more than %llu files in the upload (upload.max_files)",
				  (unsigned long long)s->p->upload.max_files);
			s->walk_stopped = true;
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			int fd2 = open_beneath(s->rootfd, path, O_PATH);
			if (fd2 >= 0)
				close(fd2);
			else if (errno == EXDEV || errno == ELOOP)
				violation(s, TJ_RULE_UPLOAD_SYMLINK, path, 0,
					  "symbolic link leaves the upload (or loops)");
			else if (errno == ENOSYS || errno == EPERM)
				violation(s, TJ_RULE_UPLOAD_SYMLINK, path, 0,
					  "symbolic link cannot be checked on this kernel (no openat2)");
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			violation(s, TJ_RULE_UPLOAD_SPECIAL_FILE, path, 0, "not a regular file, directory or link");
			continue;
		}
		if ((uint64_t)st.st_size > s->p->upload.max_file_bytes)
			violation(s, TJ_RULE_UPLOAD_LIMIT, path, 0, "file of %lld bytes exceeds upload.max_file_size (%llu)",
				  (long long)st.st_size, (unsigned long long)s->p->upload.max_file_bytes);
		s->walk_bytes += (uint64_t)st.st_size;
		if (s->walk_bytes > s->p->upload.max_total_bytes && !s->total_reported) {
			s->total_reported = true;
			violation(s, TJ_RULE_UPLOAD_LIMIT, "", 0, "upload larger than upload.max_total_size (%llu bytes)",
				  (unsigned long long)s->p->upload.max_total_bytes);
		}
	}
}

/* ---- pass 2: facts from one file ---- */

static bool in_list(char *const *l, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i], s) == 0 || strcmp(l[i], "*") == 0)
			return true;
	return false;
}

static void add_req(struct scan *s, struct module *m, const char *local, const char *source,
		    const char *file, int line)
{
	struct req *nr = reallocarray(m->reqs, m->n_reqs + 1, sizeof(*nr));

	if (!nr) {
		s->oom = true;
		return;
	}
	m->reqs = nr;
	nr = &m->reqs[m->n_reqs++];
	nr->local = strdup(local);
	nr->source = source ? strdup(source) : NULL;
	nr->file = strdup(file);
	nr->line = line;
	if (!nr->local || !nr->file || (source && !nr->source))
		s->oom = true;
}

static void add_use(struct scan *s, struct module *m, const char *local, size_t len, const char *what,
		    const char *file, int line)
{
	struct use *nu;

	/* one report per provider and file is enough */
	for (size_t i = 0; i < m->n_uses; i++)
		if (strlen(m->uses[i].local) == len && strncmp(m->uses[i].local, local, len) == 0 &&
		    strcmp(m->uses[i].file, file) == 0)
			return;
	nu = reallocarray(m->uses, m->n_uses + 1, sizeof(*nu));
	if (!nu) {
		s->oom = true;
		return;
	}
	m->uses = nu;
	nu = &m->uses[m->n_uses++];
	nu->local = strndup(local, len);
	nu->what = strdup(what);
	nu->file = strdup(file);
	nu->line = line;
	if (!nu->local || !nu->what || !nu->file)
		s->oom = true;
}

static void module_free(struct module *m)
{
	for (size_t i = 0; i < m->n_reqs; i++) {
		free(m->reqs[i].local);
		free(m->reqs[i].source);
		free(m->reqs[i].file);
	}
	free(m->reqs);
	for (size_t i = 0; i < m->n_uses; i++) {
		free(m->uses[i].local);
		free(m->uses[i].what);
		free(m->uses[i].file);
	}
	free(m->uses);
}

static const struct hcl_attr *find_attr(const struct hcl_body *b, const char *name)
{
	for (size_t i = 0; i < b->n_attrs; i++)
		if (strcmp(b->attrs[i].name, name) == 0)
			return &b->attrs[i];
	return NULL;
}

/* The provider local name of a `provider = NAME.alias` reference. */
static void provider_ref(struct scan *s, struct module *m, const struct hcl_expr *e, const char *what,
			 const char *file, int line)
{
	const char *v = e->str;
	size_t len;

	if (!v || (e->kind != HCL_EXPR_TRAVERSAL && e->kind != HCL_EXPR_STRING && e->kind != HCL_EXPR_TEMPLATE))
		return;
	/* .tf.json writes the reference as a string, possibly as "${name.alias}" */
	if (strncmp(v, "${", 2) == 0)
		v += 2;
	while (*v == ' ')
		v++;
	len = strcspn(v, ". }[");
	if (len)
		add_use(s, m, v, len, what, file, line);
}

static void check_provisioners(struct scan *s, const struct hcl_body *b, const char *file, const char *owner,
			       size_t depth, const char *dir, const char *address)
{
	if (depth > s->r->max_nesting)
		return;
	for (size_t i = 0; i < b->n_blocks; i++) {
		const struct hcl_block *blk = &b->blocks[i];
		if (strcmp(blk->type, "provisioner") == 0) {
			const char *type = blk->n_labels ? blk->labels[0] : "";
			if (s->facts && address && depth == 0) {
				char f[600];
				snprintf(f, sizeof(f), "%s:%s", address, type);
				fact(s, dir, "provisioners", f);
			}
			if (in_list(s->r->denied_provisioners, s->r->n_denied_provisioners, type))
				violation(s, TJ_RULE_PROVISIONER_BLOCKED, file, blk->line,
					  "provisioner \"%s\" in %s is not allowed", type, owner);
		}
		check_provisioners(s, &blk->body, file, owner, depth + 1, dir, address);
	}
}

static void check_data(struct scan *s, struct module *m, const struct hcl_block *blk, const char *file)
{
	const char *type = blk->n_labels ? blk->labels[0] : "";
	const struct hcl_attr *prov = find_attr(&blk->body, "provider");
	char what[300];

	snprintf(what, sizeof(what), "data source %.200s", type);
	if (in_list(s->r->denied_data_sources, s->r->n_denied_data_sources, type))
		violation(s, TJ_RULE_DATA_SOURCE_BLOCKED, file, blk->line, "data source \"%s\" is not allowed", type);
	if (prov)
		provider_ref(s, m, &prov->value, what, file, prov->line);
	else if (*type)
		add_use(s, m, type, strcspn(type, "_"), what, file, blk->line);
}

static void check_module_call(struct scan *s, const struct hcl_block *blk, const char *dir, size_t depth,
			      struct module *m, const char *file)
{
	const struct hcl_attr *src = find_attr(&blk->body, "source");
	const struct hcl_attr *provs = find_attr(&blk->body, "providers");
	const char *name = blk->n_labels ? blk->labels[0] : "";
	const char *v;
	char target[MAX_REL];

	if (provs && provs->value.kind == HCL_EXPR_OBJECT)
		for (size_t i = 0; i < provs->value.n_items; i++)
			provider_ref(s, m, &provs->value.items[i].value, "module providers", file,
				     provs->value.items[i].line);
	if (!src)
		return;
	if (src->value.kind != HCL_EXPR_STRING) {
		violation(s, TJ_RULE_SOURCE_NOT_LITERAL, file, src->line,
			  "module \"%s\": source must be a literal string, not an expression", name);
		return;
	}
	v = src->value.str;
	if (s->facts) {
		char f[MAX_REL];
		snprintf(f, sizeof(f), "%s=%s", name, v);
		fact(s, dir, "module_calls", f);
	}
	if (strncmp(v, "./", 2) == 0 || strncmp(v, "../", 3) == 0 || strncmp(v, ".\\", 2) == 0 ||
	    strncmp(v, "..\\", 3) == 0 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		struct pending *nq;
		if (!s->r->modules_allow_local) {
			violation(s, TJ_RULE_MODULE_SOURCE_NOT_ALLOWED, file, src->line,
				  "module \"%s\": local module sources are not allowed (\"%s\")", name, v);
			return;
		}
		if (tj_module_dir_resolve(dir, v, target, sizeof(target)) < 0) {
			violation(s, TJ_RULE_MODULE_SOURCE_NOT_ALLOWED, file, src->line,
				  "module \"%s\": source \"%s\" leaves the upload", name, v);
			return;
		}
		if (depth + 1 > s->r->max_module_depth) {
			violation(s, TJ_RULE_UPLOAD_LIMIT, file, src->line,
				  "module \"%s\": modules nested deeper than %llu (scan.max_module_depth)", name,
				  (unsigned long long)s->r->max_module_depth);
			return;
		}
		nq = reallocarray(s->queue, s->n_queue + 1, sizeof(*nq));
		if (!nq) {
			s->oom = true;
			return;
		}
		s->queue = nq;
		nq = &s->queue[s->n_queue++];
		nq->dir = strdup(target);
		nq->depth = depth + 1;
		nq->call_file = strdup(file);
		nq->call_line = src->line;
		if (!nq->dir || !nq->call_file)
			s->oom = true;
		return;
	}
	for (size_t i = 0; i < s->r->n_module_sources; i++)
		if (fnmatch(s->r->module_sources[i], v, 0) == 0)
			return;
	violation(s, TJ_RULE_MODULE_SOURCE_NOT_ALLOWED, file, src->line,
		  "module \"%s\": source \"%s\" is not allowed (only local paths inside the upload%s)", name, v,
		  s->r->n_module_sources ? " and modules.allowed_sources" : "");
}

static void check_terraform_block(struct scan *s, struct module *m, const struct hcl_block *tb, const char *file,
				  bool override)
{
	if (override)
		violation(s, TJ_RULE_OVERRIDE_TERRAFORM_BLOCK, file, tb->line,
			  "override file changes the terraform block");
	for (size_t i = 0; i < tb->body.n_blocks; i++) {
		const struct hcl_block *b = &tb->body.blocks[i];
		if (strcmp(b->type, "backend") == 0) {
			violation(s, TJ_RULE_BACKEND_BLOCKED, file, b->line, "backend \"%s\" is not allowed",
				  b->n_labels ? b->labels[0] : "");
		} else if (strcmp(b->type, "cloud") == 0) {
			violation(s, TJ_RULE_CLOUD_BLOCKED, file, b->line, "cloud block is not allowed");
		} else if (strcmp(b->type, "required_providers") == 0) {
			for (size_t j = 0; j < b->body.n_attrs; j++) {
				const struct hcl_attr *a = &b->body.attrs[j];
				const struct hcl_attr *src = NULL;
				if (a->value.kind == HCL_EXPR_OBJECT)
					for (size_t k = 0; k < a->value.n_items; k++)
						if (strcmp(a->value.items[k].name, "source") == 0)
							src = &a->value.items[k];
				if (src && src->value.kind != HCL_EXPR_STRING) {
					violation(s, TJ_RULE_SOURCE_NOT_LITERAL, file, src->line,
						  "required_providers.%s: source must be a literal string, not an expression",
						  a->name);
					/* still check the name's implied provider */
					add_req(s, m, a->name, NULL, file, a->line);
					continue;
				}
				add_req(s, m, a->name, src ? src->value.str : NULL, file, src ? src->line : a->line);
			}
		}
	}
}

static bool is_override(const char *name)
{
	size_t n = strlen(name);
	size_t ext = tj_str_has_suffix(name, ".tf.json") ? 8 : 3;

	n -= ext;
	return (n == 8 && strncmp(name, "override", 8) == 0) ||
	       (n >= 9 && strncmp(name + n - 9, "_override", 9) == 0);
}

static void analyze(struct scan *s, struct module *m, const struct hcl_file *f, const char *file, const char *dir,
		    size_t depth, bool override)
{
	for (size_t i = 0; i < f->body.n_blocks; i++) {
		const struct hcl_block *b = &f->body.blocks[i];
		const char *l0 = b->n_labels ? b->labels[0] : "";
		char what[300];

		if (strcmp(b->type, "terraform") == 0) {
			check_terraform_block(s, m, b, file, override);
		} else if (strcmp(b->type, "provider") == 0) {
			add_use(s, m, l0, strlen(l0), "provider block", file, b->line);
		} else if (strcmp(b->type, "resource") == 0 || strcmp(b->type, "ephemeral") == 0) {
			const struct hcl_attr *prov = find_attr(&b->body, "provider");
			snprintf(what, sizeof(what), "%s %.200s", b->type, l0);
			if (prov)
				provider_ref(s, m, &prov->value, what, file, prov->line);
			else if (*l0)
				add_use(s, m, l0, strcspn(l0, "_"), what, file, b->line);
		} else if (strcmp(b->type, "data") == 0) {
			check_data(s, m, b, file);
		} else if (strcmp(b->type, "check") == 0) {
			for (size_t j = 0; j < b->body.n_blocks; j++)
				if (strcmp(b->body.blocks[j].type, "data") == 0)
					check_data(s, m, &b->body.blocks[j], file);
		} else if (strcmp(b->type, "module") == 0) {
			check_module_call(s, b, dir, depth, m, file);
		} else if (strcmp(b->type, "import") == 0) {
			const struct hcl_attr *prov = find_attr(&b->body, "provider");
			if (prov)
				provider_ref(s, m, &prov->value, "import block", file, prov->line);
		}
		block_loc(s, dir, b, file);
		snprintf(what, sizeof(what), "%s%s%.200s%s", b->type, *l0 ? " \"" : "", l0, *l0 ? "\"" : "");
		{
			char address[600] = "";
			if (b->n_labels == 2 && strcmp(b->type, "resource") == 0)
				snprintf(address, sizeof(address), "%s.%s", b->labels[0], b->labels[1]);
			else if (b->n_labels == 2)
				snprintf(address, sizeof(address), "%s.%s.%s", b->type, b->labels[0], b->labels[1]);
			check_provisioners(s, &b->body, file, what, 0, dir, *address ? address : NULL);
		}
		if (strcmp(b->type, "provisioner") == 0 &&
		    in_list(s->r->denied_provisioners, s->r->n_denied_provisioners, l0))
			violation(s, TJ_RULE_PROVISIONER_BLOCKED, file, b->line, "provisioner \"%s\" is not allowed", l0);
	}
	for (size_t i = 0; i < f->n_fnrefs; i++)
		add_use(s, m, f->fnrefs[i].provider, strlen(f->fnrefs[i].provider), "provider function", file,
			f->fnrefs[i].line);
}

/* Provider requirements of one module, once all its files are read. */
static void resolve_providers(struct scan *s, struct module *m)
{
	char norm[600];

	for (size_t i = 0; i < m->n_reqs; i++) {
		const struct req *r = &m->reqs[i];
		const char *src = r->source ? r->source : r->local;
		if (tj_provider_normalize(src, norm, sizeof(norm)) < 0)
			violation(s, TJ_RULE_PROVIDER_NOT_ALLOWED, r->file, r->line,
				  "required_providers.%s: \"%s\" is not a valid provider source address", r->local, src);
		else if ((fact(s, NULL, "providers", norm), !tj_policy_provider_allowed(s->p, norm)))
			violation(s, TJ_RULE_PROVIDER_NOT_ALLOWED, r->file, r->line,
				  "provider %s (required_providers.%s) is not allowed", norm, r->local);
	}
	for (size_t i = 0; i < m->n_uses; i++) {
		const struct use *u = &m->uses[i];
		bool declared = false;
		for (size_t j = 0; j < m->n_reqs && !declared; j++)
			declared = strcmp(m->reqs[j].local, u->local) == 0;
		if (declared)
			continue; /* checked at its required_providers entry */
		if (tj_provider_normalize(u->local, norm, sizeof(norm)) < 0)
			violation(s, TJ_RULE_PROVIDER_NOT_ALLOWED, u->file, u->line,
				  "%s: \"%s\" is not a valid provider name", u->what, u->local);
		else if ((fact(s, NULL, "providers", norm), !tj_policy_provider_allowed(s->p, norm)))
			violation(s, TJ_RULE_PROVIDER_NOT_ALLOWED, u->file, u->line,
				  "%s uses provider %s, which is not allowed", u->what, norm);
	}
}

/* ---- pass 2: files and module directories ---- */

static bool terraform_loads(const char *name)
{
	/* configs.IsIgnoredFile: hidden files; suffixes are case-sensitive */
	if (name[0] == '.')
		return false;
	return tj_str_has_suffix(name, ".tf") || tj_str_has_suffix(name, ".tf.json");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Opens a configuration file of a module directory.  -1: skip (reported). */
static int open_config(struct scan *s, int dirfd, const char *name, const char *path)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0 && errno == ELOOP) {
		/* a link: followed only while it stays inside the upload */
		fd = open_beneath(s->rootfd, path, O_RDONLY | O_NONBLOCK);
		if (fd < 0 && (errno == EXDEV || errno == ELOOP || errno == ENOSYS))
			violation(s, TJ_RULE_UPLOAD_SYMLINK, path, 0,
				  "symbolic link leaves the upload (or loops): not followed");
	}
	return fd;
}

static void scan_file(struct scan *s, struct module *m, int dirfd, const char *name, const char *dir,
		      size_t depth)
{
	char path[MAX_REL];
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct hcl_file f;
	struct hcl_parse_error perr;
	struct stat st;
	ssize_t n;
	int rc;

	join(path, sizeof(path), dir, name);
	fd = open_config(s, dirfd, name, path);
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		return;
	if (!S_ISREG(st.st_mode)) {
		violation(s, TJ_RULE_UPLOAD_SPECIAL_FILE, path, 0, "configuration file is not a regular file");
		return;
	}
	if ((uint64_t)st.st_size > s->p->upload.max_file_bytes)
		return; /* reported by the upload walk; never parsed */
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		s->oom = true;
		return;
	}
	n = tj_read_all(fd, buf, (size_t)st.st_size + 1);
	if (n < 0 || (uint64_t)n > s->p->upload.max_file_bytes) {
		violation(s, TJ_RULE_UPLOAD_LIMIT, path, 0, "cannot read the file, or it grew while being read");
		return;
	}
	buf[n] = '\0';
	s->files_scanned++;
	if (tj_str_has_suffix(name, ".tf.json"))
		rc = tfjson_parse(buf, (size_t)n, s->r->max_nesting, &f, &perr);
	else
		rc = hcl_parse(buf, (size_t)n, s->r->max_nesting, s->r->max_tokens, &f, &perr);
	if (rc < 0) {
		if (perr.limit)
			violation(s, TJ_RULE_UPLOAD_LIMIT, path, perr.line, "%s (scan limits)", perr.msg);
		else
			violation(s, TJ_RULE_PARSE_ERROR, path, perr.line, "%s (column %d)", perr.msg, perr.col);
		return;
	}
	analyze(s, m, &f, path, dir, depth, is_override(name));
	hcl_file_free(&f);
}

static bool seen_before(struct scan *s, const struct stat *st)
{
	void *ns;

	for (size_t i = 0; i < s->n_seen; i++)
		if (s->seen[i].dev == st->st_dev && s->seen[i].ino == st->st_ino)
			return true;
	ns = reallocarray(s->seen, s->n_seen + 1, sizeof(*s->seen));
	if (!ns) {
		s->oom = true;
		return true;
	}
	s->seen = ns;
	s->seen[s->n_seen].dev = st->st_dev;
	s->seen[s->n_seen].ino = st->st_ino;
	s->n_seen++;
	return false;
}

static void scan_module(struct scan *s, const struct pending *pm)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_closedir_ DIR *d = NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct module m = {0};
	struct dirent *de;
	struct stat st;
	int fd;

	dirfd = open_beneath(s->rootfd, pm->dir, O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) {
		if (errno == EXDEV || errno == ELOOP || errno == ENOSYS)
			violation(s, TJ_RULE_UPLOAD_SYMLINK, pm->call_file, pm->call_line,
				  "module directory \"%s\" is reached through a link that leaves the upload", pm->dir);
		return; /* missing: terraform init reports it */
	}
	if (fstat(dirfd, &st) < 0 || seen_before(s, &st))
		return;
	fd = dup(dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (!terraform_loads(de->d_name))
			continue;
		if (s->files_scanned + n >= s->p->upload.max_files) {
			violation(s, TJ_RULE_UPLOAD_LIMIT, pm->dir, 0, "more than %llu configuration files",
				  (unsigned long long)s->p->upload.max_files);
			break;
		}
		if (n == cap) {
			char **nn = reallocarray(names, cap ? cap * 2 : 16, sizeof(*nn));
			if (!nn) {
				s->oom = true;
				break;
			}
			names = nn;
			cap = cap ? cap * 2 : 16;
		}
		if (!(names[n] = strdup(de->d_name))) {
			s->oom = true;
			break;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	else if (s->queue_head == 0)
		/* the directory terraform runs in: nothing to check, nothing to plan */
		violation(s, TJ_RULE_NO_CONFIGURATION, pm->dir, 0,
			  "no Terraform configuration files (.tf or .tf.json) in %s", *pm->dir ? pm->dir : "the upload's root");
	for (size_t i = 0; i < n && !s->oom; i++)
		scan_file(s, &m, dirfd, names[i], pm->dir, pm->depth);
	resolve_providers(s, &m);
	module_free(&m);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- results ---- */

static int cmp_violation(const void *a, const void *b)
{
	const struct tj_violation *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if ((c = strcmp(x->rule, y->rule)))
		return c;
	return strcmp(x->message, y->message);
}

static void free_violations(struct tj_violation *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rule);
		free(v[i].severity);
		free(v[i].file);
		free(v[i].message);
		free(v[i].reason);
		free(v[i].address);
	}
	free(v);
}

void tj_scan_result_free(struct tj_scan_result *r)
{
	if (!r)
		return;
	free_violations(r->v, r->n);
	free_violations(r->suppressed, r->n_suppressed);
	free_locs(r->locs, r->n_locs);
	free(r);
}

int tj_scan_result_add(struct tj_scan_result *r, const struct tj_violation *v, bool suppressed)
{
	struct tj_violation **lp = suppressed ? &r->suppressed : &r->v;
	size_t *np = suppressed ? &r->n_suppressed : &r->n;
	struct tj_violation *nv = reallocarray(*lp, *np + 1, sizeof(*nv)), *c;

	if (!nv)
		return -1;
	*lp = nv;
	c = &nv[*np];
	memset(c, 0, sizeof(*c));
	c->rule = strdup(v->rule);
	c->severity = strdup(v->severity);
	c->file = strdup(v->file);
	c->message = strdup(v->message);
	c->reason = v->reason ? strdup(v->reason) : NULL;
	c->address = v->address ? strdup(v->address) : NULL;
	c->line = v->line;
	(*np)++;
	if (!c->rule || !c->severity || !c->file || !c->message || (v->reason && !c->reason) ||
	    (v->address && !c->address))
		return -1;
	return 0;
}

bool tj_scan_has_errors(const struct tj_scan_result *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (strcmp(r->v[i].severity, "error") == 0)
			return true;
	return false;
}

cJSON *tj_violation_to_json(const struct tj_violation *v)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "rule", v->rule);
	cJSON_AddStringToObject(o, "severity", v->severity);
	cJSON_AddStringToObject(o, "file", v->file);
	cJSON_AddNumberToObject(o, "line", v->line);
	cJSON_AddStringToObject(o, "message", v->message);
	if (v->address)
		cJSON_AddStringToObject(o, "address", v->address);
	if (v->reason)
		cJSON_AddStringToObject(o, "reason", v->reason);
	return o;
}

cJSON *tj_scan_result_to_json(const struct tj_scan_result *r)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	a = cJSON_AddArrayToObject(o, "violations");
	for (size_t i = 0; a && i < r->n; i++)
		cJSON_AddItemToArray(a, tj_violation_to_json(&r->v[i]));
	cJSON_AddNumberToObject(o, "files_scanned", (double)r->files_scanned);
	if (r->n_suppressed) {
		a = cJSON_AddArrayToObject(o, "suppressed");
		for (size_t i = 0; a && i < r->n_suppressed; i++)
			cJSON_AddItemToArray(a, tj_violation_to_json(&r->suppressed[i]));
	}
	return o;
}

static int scan_dir(const struct tj_policy *p, const char *dir, const char *root, struct tj_scan_result **out,
                    cJSON *facts, struct tj_error *err)
{
	struct scan s = {.p = p, .r = p ? p->rules : NULL, .rootfd = -1, .facts = facts};
	struct tj_scan_result *res;
	struct stat st;
	int rc = 0;

	if (!p || !p->rules)
		return tj_error_set(err, EINVAL, "scan: no policy");
	s.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.rootfd < 0)
		return tj_error_sys(err, "scan: the upload cannot be opened");
	if (fstat(s.rootfd, &st) < 0) {
		rc = tj_error_sys(err, "scan: the upload cannot be examined");
		goto out;
	}
	walk_upload(&s, s.rootfd, "", 0);
	s.queue = calloc(1, sizeof(*s.queue));
	if (s.queue)
		s.n_queue = 1;
	if (!s.queue || !(s.queue[0].dir = strdup(root)) || !(s.queue[0].call_file = strdup(""))) {
		s.oom = true;
	} else {
		for (s.queue_head = 0; s.queue_head < s.n_queue && !s.oom; s.queue_head++) {
			struct pending pm = s.queue[s.queue_head]; /* the queue may move while scanning */
			scan_module(&s, &pm);
		}
	}
	if (s.oom) {
		rc = tj_error_set(err, ENOMEM, "scan: out of memory");
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		rc = tj_error_set(err, ENOMEM, "scan: out of memory");
		goto out;
	}
	if (s.out.n)
		qsort(s.out.v, s.out.n, sizeof(*s.out.v), cmp_violation);
	if (s.supp.n)
		qsort(s.supp.v, s.supp.n, sizeof(*s.supp.v), cmp_violation);
	res->v = TJ_STEAL_PTR(s.out.v);
	res->n = s.out.n;
	res->suppressed = TJ_STEAL_PTR(s.supp.v);
	res->n_suppressed = s.supp.n;
	res->files_scanned = s.files_scanned;
	res->locs = TJ_STEAL_PTR(s.locs.v);
	res->n_locs = s.locs.n;
	*out = res;
out:
	if (s.out.v)
		free_violations(s.out.v, s.out.n);
	if (s.supp.v)
		free_violations(s.supp.v, s.supp.n);
	if (s.locs.v)
		free_locs(s.locs.v, s.locs.n);
	for (size_t i = 0; s.queue && i < s.n_queue; i++) {
		free(s.queue[i].dir);
		free(s.queue[i].call_file);
	}
	free(s.queue);
	free(s.seen);
	close(s.rootfd);
	return rc;
}

int tj_scan_dir(const struct tj_policy *p, const char *dir, struct tj_scan_result **out, struct tj_error *err)
{
	return scan_dir(p, dir, "", out, NULL, err);
}

int tj_scan_dir_at(const struct tj_policy *p, const char *dir, const char *root, struct tj_scan_result **out,
                   struct tj_error *err)
{
	char clean[MAX_REL];

	if (!root || !*root)
		root = "";
	else if (tj_module_dir_resolve("", root, clean, sizeof(clean)) < 0)
		return tj_error_set(err, EINVAL, "scan: the root module %s leaves the upload", root);
	else
		root = clean;
	return scan_dir(p, dir, root, out, NULL, err);
}

int tj_scan_dir_facts(const struct tj_policy *p, const char *dir, cJSON **facts, struct tj_error *err)
{
	struct tj_scan_result *res = NULL;
	cJSON *f = cJSON_CreateObject();

	if (!f || !cJSON_AddArrayToObject(f, "providers") || !cJSON_AddObjectToObject(f, "modules")) {
		cJSON_Delete(f);
		return tj_error_set(err, ENOMEM, "scan: out of memory");
	}
	if (scan_dir(p, dir, "", &res, f, err) < 0) {
		cJSON_Delete(f);
		return -1;
	}
	tj_scan_result_free(res);
	*facts = f;
	return 0;
}
