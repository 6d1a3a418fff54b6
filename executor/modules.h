/* Registry and git modules for a job, from the operator's module mirror.
 *
 * terraform's own module installer needs the network.  Instead, the job
 * resolves every module call of the configuration the way the installer
 * would (registry addresses with //subdir, version constraints choosing the
 * newest matching version, git sources through the mirror's index, nested
 * calls of mirrored modules, local paths relative to their module), all as
 * data: a module plan holding terraform's module manifest (Key, Source,
 * Version, Dir) and the packages it needs.
 *
 * All of it runs inside the job's sandbox, in the worker that copies and
 * scans the upload (scanbox.h), as the sandbox's unprivileged uid under
 * seccomp: the upload's files and the mirror's are parsed there and never on
 * the host.  The mirror is bound read-only at MODULES_MIRROR_DIR; then
 *
 *   1. modules_scan: the mirrored packages get the static policy scan of the
 *      upload (a provisioner in a mirrored module is a violation, named with
 *      the module's path in the mirror);
 *   2. modules_write_manifest: terraform's manifest goes to the job's data
 *      directory, whose Dir entries name the packages where the sandbox sees
 *      them (MODULES_MIRROR_DIR/<path in the mirror>); the sandbox's PID 1
 *      makes that directory read-only before any command runs;
 *   3. terraform runs `init -get=false`: it installs nothing and reads the
 *      modules from the read-only mirror.
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

/* Where the sandbox sees the module mirror (read-only): the manifest's Dir
 * entries start here, wherever the resolution reads the mirror from. */
#define MODULES_MIRROR_DIR "/module-mirror"
/* Mirrored packages in one configuration, at most. */
#define MODULES_MAX_PACKAGES 255

struct modules_record { /* one entry of terraform's modules.json */
	char *key;      /* "" root, "vpc", "vpc.subnets" */
	char *source;   /* terraform's normalised source address */
	char *version;  /* registry modules: the version chosen; else NULL */
	char *dir;      /* as terraform reads it, inside the sandbox */
};

struct modules_package { /* a mirrored package, used by one module key */
	char *key;
	char *dir;    /* real path of the package where the resolution read it */
	char *label;  /* its path relative to the mirror, for reports */
	char *subdir; /* the module's directory inside the package ("" = its root) */
	char *call;   /* "module.a.module.b", for reports */
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
 * against the mirror read at `mirror` (the policy's modules.mirror, or where
 * it is bound; "" = none: any registry or git call is then
 * MODULES_INVALID).  The message of a MODULES_INVALID names the module call,
 * its file and line, the source, the constraint and the versions the mirror
 * has. */
enum modules_outcome modules_resolve(const char *mirror, int upload_fd, const char *workdir,
                                     struct modules_plan **out, struct tj_error *err);
void modules_plan_free(struct modules_plan *mp);

/* terraform's manifest: {"Modules": [{"Key","Source","Version","Dir"}...]} */
cJSON *modules_manifest_json(const struct modules_plan *mp);

/* The static scan of every mirrored package (each once), files named
 * "<label>/<file>" and messages prefixed with the module call. */
int modules_scan(const struct tj_policy *p, const struct modules_plan *mp, struct tj_scan_result **out,
                 struct tj_error *err);

/* Writes terraform's manifest to <data_dir>/modules/modules.json, creating
 * the directories (0755, the file 0644). */
int modules_write_manifest(const struct modules_plan *mp, const char *data_dir, struct tj_error *err);

#endif
