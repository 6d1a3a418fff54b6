/* Job cgroups: one per sandbox, below the service's own (delegated) cgroup.
 *
 * The host layout is detected once (statfs on the cgroup mount):
 *   v2      /sys/fs/cgroup is cgroup2 with the memory/cpu/pids controllers;
 *   hybrid  v1 controllers under /sys/fs/cgroup/<controller> plus a cgroup2
 *           mount at /sys/fs/cgroup/unified (treated as v1);
 *   v1      v1 controllers only.
 * On a v2 host tfjail never touches v1 files and vice versa.  Behind this
 * header there is one table of operations per layout. */
#ifndef TFJAIL_RUNTIME_CGROUP_H
#define TFJAIL_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum cgroup_mode {
	CGROUP_MODE_V2 = 0,
	CGROUP_MODE_HYBRID,
	CGROUP_MODE_V1,
};

const char *cgroup_mode_name(enum cgroup_mode mode); /* "v2", "hybrid", "v1" */

struct cgroup_host_options {
	const char *root;        /* mount point, default "/sys/fs/cgroup" */
	const char *parent;      /* v2: delegated parent below root, e.g. "/tfjail.slice";
	                            v1: path below each controller; NULL = derive from
	                            /proc/self/cgroup (the service's own cgroup) */
	int force_mode;          /* -1 = detect (statfs); tests on a fake cgroupfs set it */
	const char *self_cgroup; /* contents of /proc/self/cgroup; NULL = read it (tests) */
	/* Tests on a fake cgroupfs only (NULL in production): called after each
	 * cgroup directory tfjail creates (created = true) and just before each
	 * one it removes (created = false), so that the test can play the
	 * kernel's part: create the interface files, or remove them again. */
	void (*fs_hook)(const char *path, bool created, void *arg);
	void *fs_hook_arg;
};

struct cgroup_limits {
	uint64_t memory_max;     /* bytes, 0 = unlimited; swap is always 0 */
	uint64_t cpu_quota_us;   /* per period, 0 = unlimited */
	uint64_t cpu_period_us;  /* default 100000 */
	uint64_t pids_max;       /* 0 = unlimited */
};

struct cgroup_stats {
	uint64_t oom_kills;      /* v2 memory.events oom_kill; v1 memory.oom_control oom_kill */
	uint64_t pids_max_hits;  /* pids.events "max" */
	uint64_t cpu_usage_us;   /* v2 cpu.stat usage_usec; v1 cpuacct.usage / 1000 */
	uint64_t nr_throttled;   /* cpu.stat nr_throttled */
	uint64_t nr_periods;     /* cpu.stat nr_periods (usage <= quota * periods) */
	uint64_t memory_peak;    /* v2 memory.peak (if present); v1 memory.max_usage_in_bytes */
};

struct cgroup_host;
struct cgroup_job;

/* Detects the layout and prepares the parent cgroup(s).  On v2 this may move
 * the calling process into a leaf "<parent>/service" so that the parent can
 * enable controllers for its children (no-internal-process rule); it never
 * uses the root cgroup itself as the parent.  Errors name the file and say
 * what delegation is missing. */
int cgroup_host_open(const struct cgroup_host_options *opts, struct cgroup_host **out,
		     struct tj_error *err);
void cgroup_host_free(struct cgroup_host *host);
enum cgroup_mode cgroup_host_mode(const struct cgroup_host *host);
/* Human-readable description of the parent(s) for logs. */
const char *cgroup_host_describe(const struct cgroup_host *host);

/* Removes the empty job cgroups named prefix* for which stale(name) is true
 * (those of a tfjail process that was killed before it could clean up).
 * Returns how many were removed. */
int cgroup_host_sweep(struct cgroup_host *host, const char *prefix, bool (*stale)(const char *name));

/* Creates "<parent>/<name>" (in every controller on v1) and writes the limits.
 * name: 1..128 characters of [A-Za-z0-9_.@:-], not "." or "..".  An existing
 * cgroup of that name is an error (EEXIST), never reused.  cpu_quota_us, when
 * set, must be >= 1000 and cpu_period_us (0 = 100000) within 1000..1000000. */
int cgroup_job_create(struct cgroup_host *host, const char *name, const struct cgroup_limits *lim,
		      struct cgroup_job **out, struct tj_error *err);
/* v2: an O_DIRECTORY fd of the job cgroup for clone3(CLONE_INTO_CGROUP); -1 on v1. */
int cgroup_job_dirfd(const struct cgroup_job *job);
/* Moves pid into the job cgroup (v1, or v2 when clone3 is unavailable).
 * Refuses the calling process itself: a kill would take the service down. */
int cgroup_job_attach(struct cgroup_job *job, pid_t pid, struct tj_error *err);
/* Opens, with the caller's credentials (host root), the files through which
 * cgroup_job_attach_self() moves a process: the kernel checks a write to them
 * against the opener's credentials, and the sandbox's PID 1 has none on the
 * host.  A fork inherits them; cgroup_job_attach_close() closes them. */
int cgroup_job_attach_open(struct cgroup_job *job, struct tj_error *err);
void cgroup_job_attach_close(struct cgroup_job *job);
/* Moves the calling process into the job cgroup through the files that
 * cgroup_job_attach_open() opened (or, where it was not called, files it
 * opens now with its own credentials), then closes them.  The caller must be
 * single-threaded and must not be the service (the sandbox's PID 1 before it
 * runs anything of the sandbox's).  v1 writes "0" to each tasks file: a
 * thread that moves itself skips the global lock that a write to
 * cgroup.procs takes, and that lock's write side waits for an RCU grace
 * period (10-15 ms on a busy host).  v2 writes "0" to cgroup.procs. */
int cgroup_job_attach_self(struct cgroup_job *job, struct tj_error *err);
int cgroup_job_stats(struct cgroup_job *job, struct cgroup_stats *st, struct tj_error *err);
/* Kills every process in the job cgroup (v2 cgroup.kill; v1 signals each pid
 * in cgroup.procs until it is empty). */
int cgroup_job_kill(struct cgroup_job *job, struct tj_error *err);
/* Kills what is left, removes the cgroup directories (retrying while the
 * kernel still lists exiting tasks), frees job.  Returns -1 if a directory
 * could not be removed (it is named in err). */
int cgroup_job_destroy(struct cgroup_job *job, struct tj_error *err);
/* Path of the job cgroup for a controller ("memory", "cpu", "pids"; on v2 any
 * name gives the one directory). */
const char *cgroup_job_path(const struct cgroup_job *job, const char *controller);

#endif
