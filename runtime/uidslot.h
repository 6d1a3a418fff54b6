/* Host uid slots: two sandboxes running at the same time never share a host
 * uid.  Slot s maps inside uid 0 to base+2s and the command uid to base+2s+1.
 * Each of the two host uids is held by an flock()ed file named after the uid
 * (not the slot) for the sandbox's lifetime, so two tfjail processes never
 * share a uid whatever ranges they were given.
 *
 * The slot's first uid also owns the sandbox's user namespace
 * (uidslot_enter() around the clone): the kernel charges a namespace's
 * per-user counters (inotify, fanotify, message-queue bytes, pending
 * signals, processes, namespaces) up the chain to the namespace's owner, so
 * a sandbox can exhaust only its own slot's, never host root's. */
#ifndef TFJAIL_RUNTIME_UIDSLOT_H
#define TFJAIL_RUNTIME_UIDSLOT_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct uidslot {
	int lock_fd;      /* lock of host_root */
	int lock_fd_user; /* lock of host_user */
	uint32_t slot;
	uid_t host_root; /* host uid of inside uid 0 */
	uid_t host_user; /* host uid of the command uid */
};

int uidslot_acquire(const char *lock_dir, uid_t base, uint32_t slots, struct uidslot *out,
                    struct tj_error *err);
void uidslot_release(struct uidslot *s);

/* Refuses a range [base, base + 2*slots) that overlaps a subordinate range
 * of subuid_path or subgid_path ("name:first:count" lines), or a uid of
 * passwd_path or a gid of group_path: those ids belong to someone else.  A
 * missing file overlaps nothing. */
int uidslot_check_range(uid_t base, uint32_t slots, const char *passwd_path, const char *group_path,
                        const char *subuid_path, const char *subgid_path, struct tj_error *err);

/* The calling thread (host root) takes the slot's host_root as its real and
 * effective uid (the other threads of the process keep theirs), keeping uid 0 saved and its capabilities
 * effective, so that a user namespace it clones now is owned by that uid.
 * uidslot_leave() returns to uid 0 (and the dumpable flag it had). */
int uidslot_enter(const struct uidslot *s, struct tj_error *err);
int uidslot_leave(struct tj_error *err);

/* kill(pid, sig) for a process of the slot (its PID 1, a command, a helper
 * running as one of its uids).  The slot's uids own the sandbox's user
 * namespace and run its processes, so host root without CAP_KILL (a
 * container's root, docs/container.md) may signal them only as one of those
 * uids: on EPERM the call is repeated with the real uid host_root and the
 * effective uid host_user (the kernel accepts either against the target's
 * uid), then returns to uid 0; like uidslot_enter(), only the calling
 * thread changes its uid. */
int uidslot_kill(const struct uidslot *s, pid_t pid, int sig);

#endif
