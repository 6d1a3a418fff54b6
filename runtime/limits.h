/* Bounds on kernel resources that the kernel counts per user or host-wide,
 * as data: limits_plan_build() is pure (the tests check it without root),
 * limits_apply_userns() and limits_apply_rlimits() carry it out in the
 * sandbox's PID 1.
 *
 * Per-user-namespace counters (/proc/sys/user/max_*) are written in the
 * sandbox's own user namespace while PID 1 is still root there; commands,
 * without CAP_SYS_RESOURCE, cannot raise them.  The rlimits are set before
 * the commands run and can only be lowered by them.  SECURITY.md lists every
 * such resource with its bound. */
#ifndef TFJAIL_RUNTIME_LIMITS_H
#define TFJAIL_RUNTIME_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct limits_spec {
	uint64_t pids;   /* the cgroup's pids.max; 0 = none */
	uint64_t nofile; /* RLIMIT_NOFILE; 0 = 1024 */
	uint64_t fsize;  /* RLIMIT_FSIZE in bytes; 0 = unlimited */
};

enum limits_kind {
	LIMITS_USERNS, /* /proc/sys/user/<name> of the sandbox's user namespace */
	LIMITS_RLIMIT, /* setrlimit(resource), soft = hard */
};

struct limits_entry {
	enum limits_kind kind;
	const char *name; /* sysctl file name, or the rlimit's name */
	int resource;     /* LIMITS_RLIMIT */
	uint64_t value;   /* UINT64_MAX = unlimited */
	const char *why;
};

#define LIMITS_MAX 24

struct limits_plan {
	struct limits_entry e[LIMITS_MAX];
	size_t n;
};

void limits_plan_build(const struct limits_spec *spec, struct limits_plan *plan);
/* Writes the LIMITS_USERNS entries; a file the kernel does not have (older
 * kernels) is skipped.  Needs CAP_SYS_RESOURCE in the current user ns. */
int limits_apply_userns(const struct limits_plan *plan, struct tj_error *err);
/* Sets the LIMITS_RLIMIT entries, each clamped to the current hard limit
 * (raising it would need host privilege). */
int limits_apply_rlimits(const struct limits_plan *plan, struct tj_error *err);

#endif
