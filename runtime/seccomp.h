/* The seccomp filter of every sandboxed command.
 *
 * An allowlist in the spirit of Docker's default profile: what is not listed
 * fails with EPERM; a few calls carry argument filters (clone without
 * namespace flags, socket for four families, personality for five values,
 * ioctl without TIOCSTI/TIOCLINUX); clone3 and every syscall newer than the
 * profile fail with ENOSYS so that libcs and Go fall back to older calls.
 * A foreign architecture (i386 via int 0x80) kills the process.
 * docs/seccomp.md is the profile as a security team reads it.
 *
 * The filter is built once per process with libseccomp and kept as BPF, so
 * that installing it in a forked child right before execve needs neither
 * malloc nor libseccomp.  The default profile's BPF is compiled at build
 * time and embedded, so that a process that starts one sandbox does not pay
 * for libseccomp's BPF generation. */
#ifndef TFJAIL_RUNTIME_SECCOMP_H
#define TFJAIL_RUNTIME_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

struct seccomp_program;
struct sock_filter;

/* Builds the filter.  extra_deny: syscall names (from the policy) refused
 * with EPERM even if the profile allows them; a name libseccomp does not know
 * is an error naming it. */
int seccomp_program_build(const char *const *extra_deny, size_t n_extra, struct seccomp_program **out,
			  struct tj_error *err);

/* The same, always compiled by libseccomp now, never the filter embedded at
 * build time (which seccomp_program_build() uses when extra_deny is empty):
 * for the generator of that filter and the test that the two agree. */
int seccomp_program_compile(const char *const *extra_deny, size_t n_extra,
			    struct seccomp_program **out, struct tj_error *err);

/* Installs the program in the calling thread.  Async-signal-safe (no malloc,
 * no libseccomp): for a forked child just before execve.  no_new_privs must
 * already be set (EPERM otherwise).  Returns -1 with errno. */
int seccomp_program_load(const struct seccomp_program *prog);

void seccomp_program_free(struct seccomp_program *prog);

enum seccomp_rule_action {
	SECCOMP_RULE_ALLOW = 0,  /* allowed whatever the arguments */
	SECCOMP_RULE_ALLOW_IF,   /* allowed when `cond` holds, EPERM otherwise */
	SECCOMP_RULE_ERRNO,      /* refused with errnum */
};

/* One row of the profile as built (for tests and docs). */
struct seccomp_rule {
	const char *name;        /* syscall name */
	int nr;                  /* native syscall number */
	enum seccomp_rule_action action;
	int errnum;              /* SECCOMP_RULE_ERRNO: the errno returned */
	const char *group;       /* which group of the profile ("policy" for extra_deny) */
	const char *cond;        /* SECCOMP_RULE_ALLOW_IF: the argument filter, readable */
};

/* The rule table in profile order; *rules stays valid while prog lives. */
size_t seccomp_program_rules(const struct seccomp_program *prog, const struct seccomp_rule **rules);
/* Looks a syscall up in the table; NULL when it is not listed (default EPERM). */
const struct seccomp_rule *seccomp_program_rule(const struct seccomp_program *prog, const char *name);
/* Number of BPF instructions of the exported filter. */
size_t seccomp_program_size(const struct seccomp_program *prog);
/* The instructions themselves (seccomp_program_size() of them). */
const struct sock_filter *seccomp_program_insns(const struct seccomp_program *prog);
/* True when the program is the filter embedded at build time. */
bool seccomp_program_is_prebuilt(const struct seccomp_program *prog);

#endif
