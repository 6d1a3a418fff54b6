/* The sandbox's network: a new network namespace with only loopback, up. */
#ifndef TFJAIL_RUNTIME_NET_H
#define TFJAIL_RUNTIME_NET_H

#include "common/error.h"

/* Brings "lo" up in the calling process's network namespace (rtnetlink
 * through libnl-route-3). */
int net_loopback_up(struct tj_error *err);

#endif
