/* Host uid slots: two sandboxes running at the same time never share a host
 * uid.  Slot s maps inside uid 0 to base+2s and the command uid to base+2s+1.
 * A slot is held by an flock()ed file for the sandbox's lifetime, so the
 * allocation also holds across tfjail processes. */
#ifndef TFJAIL_RUNTIME_UIDSLOT_H
#define TFJAIL_RUNTIME_UIDSLOT_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct uidslot {
	int lock_fd;
	uint32_t slot;
	uid_t host_root;   /* host uid of inside uid 0 */
	uid_t host_user;   /* host uid of the command uid */
};

int uidslot_acquire(const char *lock_dir, uid_t base, uint32_t slots, struct uidslot *out,
		    struct tj_error *err);
void uidslot_release(struct uidslot *s);

#endif
