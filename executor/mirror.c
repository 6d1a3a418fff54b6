/* The operator's module mirror (see mirror.h). */
#include "executor/mirror.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define GIT_INDEX_MAX (4u << 20)
#define MAX_ENTRIES   100000

static int cmp_version(const void *a, const void *b)
{
	return modver_cmp(&((const struct mirror_version *)a)->v, &((const struct mirror_version *)b)->v);
}

int mirror_versions(const char *mirror, const char *package, struct mirror_version **out, size_t *n,
                    struct tj_error *err)
{
	char path[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct mirror_version *l = NULL;
	size_t cap = 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (snprintf(path, sizeof(path), "%s/%s", mirror, package) >= (int)sizeof(path))
		return tj_error_set(err, ENAMETOOLONG, "module mirror: path too long for %s", package);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return tj_error_sys(err, "module mirror: open %s", path);
	}
	while ((de = readdir(d))) {
		struct stat st;
		struct mirror_version mv;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(mv.name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (modver_parse(de->d_name, &mv.v) < 0)
			continue;
		snprintf(mv.name, sizeof(mv.name), "%s", de->d_name);
		if (*n == cap) {
			struct mirror_version *nl;
			if (cap >= MAX_ENTRIES)
				break;
			cap = cap ? cap * 2 : 8;
			nl = reallocarray(l, cap, sizeof(*l));
			if (!nl) {
				free(l);
				return tj_error_set(err, ENOMEM, "module mirror: out of memory");
			}
			l = nl;
		}
		l[(*n)++] = mv;
	}
	if (*n)
		qsort(l, *n, sizeof(*l), cmp_version);
	*out = l;
	return 0;
}

/* A mirror-relative path: not empty, not absolute, no "." or ".." parts. */
static bool rel_path_ok(const char *p)
{
	if (!*p || *p == '/')
		return false;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return false;
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

/* The index, validated: {"git": [{"url": S, "ref": S (optional), "path": S}]} */
static int git_index(const char *mirror, cJSON **out, struct tj_error *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len, i = 0;
	cJSON *root, *arr, *e;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/%s", mirror, MIRROR_GIT_INDEX);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 1;
	if (tj_read_file(path, GIT_INDEX_MAX, &text, &len, err) < 0)
		return tj_error_prefix(err, "module mirror git index");
	root = cJSON_ParseWithLength(text, len);
	if (!root)
		return tj_error_set(err, EINVAL, "module mirror git index %s: not valid JSON", path);
	arr = cJSON_GetObjectItemCaseSensitive(root, "git");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(arr)) {
		cJSON_Delete(root);
		return tj_error_set(err, EINVAL, "module mirror git index %s: must be {\"git\": [...]}",
		                    path);
	}
	cJSON_ArrayForEach (e, arr) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "url");
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "ref");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
		if (!cJSON_IsString(u) || !*u->valuestring || (r && !cJSON_IsString(r)) ||
		    !cJSON_IsString(p) || !rel_path_ok(p->valuestring)) {
			cJSON_Delete(root);
			return tj_error_set(
			    err, EINVAL,
			    "module mirror git index %s: git[%zu] needs \"url\", an optional \"ref\" and "
			    "a \"path\" relative to the mirror (no \"..\")",
			    path, i);
		}
		i++;
	}
	*out = root;
	return 0;
}

int mirror_git_lookup(const char *mirror, const char *url, const char *ref, char *path, size_t len,
                      struct tj_error *err)
{
	cJSON *root = NULL, *e;
	int rc = git_index(mirror, &root, err);

	if (rc != 0)
		return rc;
	rc = 1;
	cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive(root, "git")) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "ref");
		if (strcmp(cJSON_GetObjectItemCaseSensitive(e, "url")->valuestring, url) == 0 &&
		    strcmp(r ? r->valuestring : "", ref) == 0) {
			snprintf(path, len, "%s", cJSON_GetObjectItemCaseSensitive(e, "path")->valuestring);
			rc = 0;
			break;
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* ---- listing ---- */

static int subdirs(const char *path, char ***names, size_t *n)
{
	_cleanup_closedir_ DIR *d = opendir(path);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (*n == cap) {
			char **nn = reallocarray(*names, cap ? cap * 2 : 8, sizeof(**names));
			if (!nn)
				return -1;
			*names = nn;
			cap = cap ? cap * 2 : 8;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			return -1;
		(*n)++;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* Walks HOST/NS/NAME/SYSTEM below the mirror; level 4 lists versions. */
static int list_level(const char *mirror, const char *rel, int level, cJSON *mods, struct tj_error *err)
{
	char path[PATH_MAX], sub[PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (level == 4) {
		struct mirror_version *v = NULL;
		size_t nv = 0;
		cJSON *o, *a;
		char s[300];
		if (mirror_versions(mirror, rel, &v, &nv, err) < 0)
			return -1;
		if (nv) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "source", rel);
			a = cJSON_AddArrayToObject(o, "versions");
			for (size_t i = 0; i < nv; i++) {
				modver_string(&v[i].v, s, sizeof(s));
				cJSON_AddItemToArray(a, cJSON_CreateString(s));
			}
			cJSON_AddItemToArray(mods, o);
		}
		free(v);
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s%s", mirror, *rel ? "/" : "", rel);
	if (subdirs(path, &names, &n) < 0) {
		free_names(names, n);
		return tj_error_sys(err, "module mirror: read %s", path);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (level == 0 && strcmp(names[i], "git") == 0)
			continue; /* git packages are listed from the index */
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		rc = list_level(mirror, sub, level + 1, mods, err);
	}
	free_names(names, n);
	return rc;
}

int mirror_list(const char *mirror, cJSON **out, struct tj_error *err)
{
	cJSON *o = cJSON_CreateObject(), *mods, *git = NULL, *e;
	int rc;

	if (!o)
		return tj_error_set(err, ENOMEM, "out of memory");
	cJSON_AddStringToObject(o, "mirror", mirror);
	mods = cJSON_AddArrayToObject(o, "modules");
	if (access(mirror, R_OK | X_OK) < 0) {
		cJSON_Delete(o);
		return tj_error_sys(err, "module mirror %s", mirror);
	}
	if (list_level(mirror, "", 0, mods, err) < 0) {
		cJSON_Delete(o);
		return -1;
	}
	rc = git_index(mirror, &git, err);
	if (rc < 0) {
		cJSON_Delete(o);
		return -1;
	}
	e = cJSON_AddArrayToObject(o, "git");
	if (git) {
		cJSON *g;
		cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive(git, "git")) {
			const cJSON *r = cJSON_GetObjectItemCaseSensitive(g, "ref");
			cJSON *x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "url",
			                        cJSON_GetObjectItemCaseSensitive(g, "url")->valuestring);
			cJSON_AddStringToObject(x, "ref", r ? r->valuestring : "");
			cJSON_AddStringToObject(x, "path",
			                        cJSON_GetObjectItemCaseSensitive(g, "path")->valuestring);
			cJSON_AddItemToArray(e, x);
		}
		cJSON_Delete(git);
	}
	*out = o;
	return 0;
}

/* ---- add-module ---- */

/* Whether a link at rel (relative to the tree) pointing to target stays
 * inside the tree, judged lexically as the kernel would resolve it from
 * inside the copy. */
static bool link_stays_inside(const char *rel, const char *target)
{
	long depth = 0;
	const char *p;

	if (target[0] == '/' || !*target)
		return false;
	for (p = rel; *p; p++) /* directories above the link */
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

struct copy {
	uint64_t files;
	struct tj_error *err;
};

static int copy_tree(struct copy *c, int sfd, int dfd, const char *rel)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(sfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return tj_error_sys(c->err, "read %s", *rel ? rel : ".");
	}
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* version control and terraform's own state are not module code */
		if (strcmp(de->d_name, ".git") == 0 || strcmp(de->d_name, ".terraform") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return tj_error_sys(c->err, "stat %s", sub);
		if (++c->files > MAX_ENTRIES)
			return tj_error_set(c->err, EFBIG, "more than %d files", MAX_ENTRIES);
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sfd, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				return tj_error_sys(c->err, "readlink %s", sub);
			target[n] = '\0';
			if (!link_stays_inside(sub, target))
				return tj_error_set(c->err, EPERM,
				                    "%s is a symbolic link that leaves the module (-> %s)",
				                    sub, target);
			if (symlinkat(target, dfd, de->d_name) < 0)
				return tj_error_sys(c->err, "symlink %s", sub);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int s2 = -1, d2 = -1;
			if (mkdirat(dfd, de->d_name, 0755) < 0)
				return tj_error_sys(c->err, "mkdir %s", sub);
			s2 = openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				return tj_error_sys(c->err, "open %s", sub);
			if (copy_tree(c, s2, d2, sub) < 0)
				return -1;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int in = openat(sfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int outfd = -1;
			char buf[65536];
			ssize_t r;
			if (in < 0)
				return tj_error_sys(c->err, "open %s", sub);
			outfd = openat(dfd, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			               (st.st_mode & 0111) ? 0755 : 0644);
			if (outfd < 0)
				return tj_error_sys(c->err, "create %s", sub);
			while ((r = read(in, buf, sizeof(buf))) > 0)
				if (tj_write_all(outfd, buf, (size_t)r) < 0)
					return tj_error_sys(c->err, "write %s", sub);
			if (r < 0)
				return tj_error_sys(c->err, "read %s", sub);
			fchmod(outfd, (st.st_mode & 0111)
			                  ? 0755
			                  : 0644); /* whatever the umask: the sandbox reads it */
		} else {
			return tj_error_set(c->err, EPERM, "%s is a special file (device, FIFO or socket)",
			                    sub);
		}
	}
	return 0;
}

int mirror_add_module(const char *mirror, const char *source, const char *version, const char *src,
                      char dest[PATH_MAX], struct tj_error *err)
{
	struct modsrc s;
	struct modver v;
	char why[256] = "", pkg[600], parent[PATH_MAX], tmpname[64], vname[256];
	_cleanup_close_ int sfd = -1, pfd = -1, tfd = -1;
	struct copy c = {.err = err};
	struct stat st;

	if (modsrc_parse(source, &s, why, sizeof(why)) < 0)
		return tj_error_set(err, EINVAL, "%s: not a module source: %s", source, why);
	if (s.kind != MODSRC_REGISTRY)
		return tj_error_set(
		    err, EINVAL,
		    "%s: add-module takes a registry address (HOSTNAME/NAMESPACE/NAME/SYSTEM); git "
		    "sources are listed in the mirror's %s",
		    source, MIRROR_GIT_INDEX);
	if (*s.subdir)
		return tj_error_set(err, EINVAL,
		                    "%s: give the package without //subdir; the whole package is mirrored",
		                    source);
	if (modver_parse(version, &v) < 0)
		return tj_error_set(err, EINVAL, "%s: not a version", version);
	modver_string(&v, vname, sizeof(vname));
	modsrc_package(&s, pkg, sizeof(pkg));
	if (snprintf(parent, sizeof(parent), "%s/%s", mirror, pkg) >= (int)sizeof(parent) ||
	    snprintf(dest, PATH_MAX, "%s/%s", parent, vname) >= PATH_MAX)
		return tj_error_set(err, ENAMETOOLONG, "%s: path too long", mirror);
	if (stat(mirror, &st) < 0 || !S_ISDIR(st.st_mode))
		return tj_error_sys(err, "module mirror %s", mirror);
	if (lstat(dest, &st) == 0)
		return tj_error_set(err, EEXIST, "%s %s is already in the mirror (%s)", pkg, vname, dest);
	sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return tj_error_sys(err, "module directory %s", src);
	if (tj_mkdir_p(parent, 0755, err) < 0)
		return -1;
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return tj_error_sys(err, "open %s", parent);
	/* copied beside the final name, renamed when complete: a job never sees half a module */
	snprintf(tmpname, sizeof(tmpname), ".add-%d", (int)getpid());
	tj_remove_tree_at(pfd, tmpname);
	if (mkdirat(pfd, tmpname, 0755) < 0 ||
	    (tfd = openat(pfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tj_error_sys(err, "create %s/%s", parent, tmpname);
	fchmod(tfd, 0755);
	if (copy_tree(&c, sfd, tfd, "") < 0) {
		tj_remove_tree_at(pfd, tmpname);
		return tj_error_prefix(err, "add-module %s", src);
	}
	if (renameat(pfd, tmpname, pfd, vname) < 0) {
		int e = errno;
		tj_remove_tree_at(pfd, tmpname);
		errno = e;
		return tj_error_sys(err, "rename into %s", dest);
	}
	return 0;
}
