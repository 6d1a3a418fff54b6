/* Module source addresses and version constraints as terraform reads them.
 *
 * Pure functions, no I/O: they parse a `module` block's `source` and
 * `version` the way terraform 1.x does (internal/addrs, internal/getmodules,
 * terraform-registry-address, go-version), so that the module mirror picks
 * the same module and the manifest records the same normalised source that
 * terraform compares against the configuration. */
#ifndef TFJAIL_EXECUTOR_MODSOURCE_H
#define TFJAIL_EXECUTOR_MODSOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum modsrc_kind {
	MODSRC_LOCAL,    /* ./ or ../ (also with backslashes) */
	MODSRC_REGISTRY, /* [HOSTNAME/]NAMESPACE/NAME/SYSTEM[//SUBDIR] */
	MODSRC_GIT,      /* git::URL[//SUBDIR][?ref=REF], github.com/ORG/REPO shorthand */
	MODSRC_OTHER,    /* anything terraform would fetch by other means (http, s3, gcs, hg...) */
};

#define MODSRC_MAX 2048

struct modsrc {
	enum modsrc_kind kind;
	char host[256]; /* registry: lower case, without :443 */
	char ns[65], name[65], system[65];
	char url[MODSRC_MAX];           /* git: the repository URL, without git::, subdir and query */
	char ref[256];                  /* git: ?ref=, "" = the default branch */
	char subdir[MODSRC_MAX];        /* registry and git: cleaned, "" = none */
	char path[MODSRC_MAX];          /* local: cleaned, "./x" or "../x" */
	char canonical[MODSRC_MAX * 2]; /* terraform's String() of the address: the manifest's Source */
};

/* Parses a module source; -1 with a reason in why when terraform would
 * reject it (or it is too long). */
int modsrc_parse(const char *raw, struct modsrc *out, char *why, size_t whylen);

/* Go's path.Clean (lexical: "a/./b/../c" -> "a/c", "" -> "."). */
void modsrc_path_clean(const char *path, char *out, size_t len);

/* "registry.terraform.io/ns/name/system" (no subdir) into out. */
int modsrc_package(const struct modsrc *s, char *out, size_t len);

/* ---- versions (go-version) ---- */

#define MODVER_SEGMENTS 8

struct modver {
	int64_t seg[MODVER_SEGMENTS];
	int nseg;       /* segments kept: at least 3 (padded with zeros) */
	int given;      /* segments written */
	char pre[128];  /* prerelease, without '-' */
	char meta[128]; /* build metadata, without '+' */
};

int modver_parse(const char *s, struct modver *v);
/* -1, 0, 1; metadata is ignored. */
int modver_cmp(const struct modver *a, const struct modver *b);
/* "1.2.0", "1.2.0-beta1+x" */
void modver_string(const struct modver *v, char *out, size_t len);

enum modcons_op {
	MODCONS_EQ,
	MODCONS_NE,
	MODCONS_GT,
	MODCONS_LT,
	MODCONS_GE,
	MODCONS_LE,
	MODCONS_PESSIMISTIC
};

#define MODCONS_MAX 32

struct modconstraint {
	struct {
		enum modcons_op op;
		struct modver v;
	} c[MODCONS_MAX];
	size_t n; /* 0 = any version */
};

/* Parses "~> 1.2, != 1.2.5" (comma-separated, each [op] version).  An empty
 * or NULL string is "no constraint".  -1 when malformed. */
int modconstraint_parse(const char *s, struct modconstraint *c);
/* go-version's Constraints.Check. */
bool modconstraint_check(const struct modconstraint *c, const struct modver *v);
/* Whether the module installer considers v at all: a prerelease only when a
 * constraint names a prerelease of the same core version exactly. */
bool modconstraint_admits(const struct modconstraint *c, const struct modver *v);

#endif
