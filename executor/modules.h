/* Registry and git modules for a job, from the operator's module mirror.
 *
 * terraform's own module installer needs the network.  Instead, before the
 * sandbox starts, the job resolves every module call of the configuration
 * the way the installer would (registry addresses with //subdir, version
 * constraints choosing the newest matching version, git sources through the
 * mirror's index, nested calls of mirrored modules, local paths relative to
 * their module), all as data: a module plan holding terraform's module
 * manifest (Key, Source, Version, Dir) and the packages it needs.  Then:
 *
 *   1. modules_scan: the mirrored packages get the static policy scan of the
 *      upload (a provisioner in a mirrored module is a violation, named with
 *      the module's path in the mirror);
 *   2. modules_stage: a runner-owned data directory is written on the host,
 *      with the manifest; the job mounts it read-only at MODULES_DATA_DIR
 *      and each package read-only at MODULES_DATA_DIR/modules/<key> (where
 *      terraform's installer would have put it);
 *   3. terraform runs with TF_DATA_DIR=MODULES_DATA_DIR and `init -get=false`.
 *
 * A job whose modules are all local needs none of this: modules_resolve then
 * returns a plan with no packages. */
#ifndef TFJAIL_EXECUTOR_MODULES_H
#define TFJAIL_EXECUTOR_MODULES_H

#include <cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "policy/policy.h"
#include "policy/scan.h"
#include "runtime/sandbox.h"

/* The data directory inside the sandbox when mirrored modules are used. */
#define MODULES_DATA_DIR "/tfdata"
/* Packages mounted into one job, at most (one bind each). */
#define MODULES_MAX_BINDS 256

struct modules_record { /* one entry of terraform's modules.json */
	char *key;      /* "" root, "vpc", "vpc.subnets" */
	char *source;   /* terraform's normalised source address */
	char *version;  /* registry modules: the version chosen; else NULL */
	char *dir;      /* as terraform reads it, inside the sandbox */
};

struct modules_package { /* a mirrored package, mounted for one module key */
	char *key;
	char *host_dir; /* real path of the package in the mirror */
	char *label;    /* its path relative to the mirror, for reports */
	char *subdir;   /* the module's directory inside the package ("" = its root) */
	char *call;     /* "module.a.module.b", for reports */
};

struct modules_plan {
	struct modules_record *rec;
	size_t n_rec;
	struct modules_package *pkg;
	size_t n_pkg; /* 0: the configuration uses no mirrored module */
};

enum modules_outcome {
	MODULES_RESOLVED = 0,
	MODULES_INVALID, /* the configuration's fault: ValidationError */
	MODULES_FAILED,  /* tfjail's or the mirror's fault: InternalError */
};

/* Resolves the module tree of the configuration in <upload>/<workdir>
 * (upload_fd: the upload's directory, opened by the caller; workdir relative)
 * against the mirror (policy modules.mirror; "" = none: any registry or git
 * call is then MODULES_INVALID).  The message of a MODULES_INVALID names the
 * module call, its file and line, the source, the constraint and the
 * versions the mirror has. */
enum modules_outcome modules_resolve(const struct tj_policy *p, int upload_fd, const char *workdir,
                                     struct modules_plan **out, struct tj_error *err);
void modules_plan_free(struct modules_plan *mp);

/* terraform's manifest: {"Modules": [{"Key","Source","Version","Dir"}...]} */
cJSON *modules_manifest_json(const struct modules_plan *mp);

/* The static scan of every mirrored package (each once), files named
 * "<label>/<file>" and messages prefixed with the module call. */
int modules_scan(const struct tj_policy *p, const struct modules_plan *mp, struct tj_scan_result **out,
                 struct tj_error *err);

/* The host side of the data directory, and the binds that mount it. */
struct modules_stage {
	char dir[PATH_MAX];         /* host directory, removed by modules_stage_remove */
	struct sandbox_bind *binds; /* [0] the data dir, then one per package */
	size_t n_binds;
	char **strs; /* storage of the binds' paths (the stage outlives the plan) */
	char *unresolved; /* a module call the mirror cannot serve: reported after
	                   * the scan, so that a policy violation wins (malloc'd) */
};

int modules_stage_create(const struct modules_plan *mp, struct modules_stage *st, struct tj_error *err);
void modules_stage_remove(struct modules_stage *st);

#endif
