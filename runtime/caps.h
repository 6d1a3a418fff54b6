/* Privilege drop: every capability set emptied, no_new_privs. */
#ifndef TFJAIL_RUNTIME_CAPS_H
#define TFJAIL_RUNTIME_CAPS_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* Drops the bounding and ambient sets, switches to uid/gid (with no
 * supplementary groups possible: setgroups is denied in the user namespace),
 * then empties the effective, permitted and inheritable sets and sets
 * no_new_privs.  The process stays non-dumpable. */
int caps_drop_all(uid_t uid, gid_t gid, struct tj_error *err);

#endif
