/* The operator's module mirror: a read-only directory tree that holds
 * registry modules in the registry's own address layout
 *
 *   <mirror>/<hostname>/<namespace>/<name>/<system>/<version>/   (the module's source tree)
 *
 * and git sources through an index written by the operator, <mirror>/git.json:
 *
 *   {"git": [{"url": "https://git.example.com/org/repo.git", "ref": "v1.2.3",
 *             "path": "git/example/repo/v1.2.3"}, ...]}
 *
 * (path relative to the mirror; ref "" is the default branch).  Nothing here
 * fetches anything: the mirror is filled by `tfjail mirror add-module` or by
 * hand. */
#ifndef TFJAIL_EXECUTOR_MIRROR_H
#define TFJAIL_EXECUTOR_MIRROR_H

#include <cJSON.h>
#include <limits.h>
#include <stddef.h>

#include "common/error.h"
#include "executor/modsource.h"

#define MIRROR_GIT_INDEX "git.json"

struct mirror_version {
	struct modver v;
	char name[256]; /* the directory's name as written ("1.2.0", "v1.2.0") */
};

/* The versions the mirror holds of a registry package ("HOST/NS/NAME/SYSTEM"),
 * sorted oldest first.  A missing package is 0 versions, not an error. */
int mirror_versions(const char *mirror, const char *package, struct mirror_version **out, size_t *n,
                    struct tj_error *err);

/* The mirror-relative path of a git (url, ref) from the index; 0 found,
 * 1 not in the index, -1 error (an unreadable or invalid index). */
int mirror_git_lookup(const char *mirror, const char *url, const char *ref, char *path, size_t len,
                      struct tj_error *err);

/* What the mirror holds:
 * {"mirror": DIR, "modules": [{"source": "HOST/NS/NAME/SYSTEM", "versions": [...]}],
 *  "git": [{"url","ref","path"}]} */
int mirror_list(const char *mirror, cJSON **out, struct tj_error *err);

/* Copies the module checked out in src into <mirror>/<package>/<version>/
 * (registry sources only).  Refuses a symbolic link that leaves src, special
 * files, and a version that is already there.  *dest gets the new directory. */
int mirror_add_module(const char *mirror, const char *source, const char *version, const char *src,
                      char dest[PATH_MAX], struct tj_error *err);

#endif
