#include "runtime/net.h"

#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

int net_loopback_up(struct tj_error *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *lo = NULL, *change = NULL;
	int rc = -1, nlerr;

	if (!sk)
		return tj_error_set(err, ENOMEM, "netlink: out of memory");
	if ((nlerr = nl_connect(sk, NETLINK_ROUTE)) < 0) {
		tj_error_set(err, EPROTO, "netlink connect: %s", nl_geterror(nlerr));
		goto out;
	}
	if ((nlerr = rtnl_link_get_kernel(sk, 0, "lo", &lo)) < 0) {
		tj_error_set(err, ENODEV, "netlink: look up lo: %s", nl_geterror(nlerr));
		goto out;
	}
	change = rtnl_link_alloc();
	if (!change) {
		tj_error_set(err, ENOMEM, "netlink: out of memory");
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	if ((nlerr = rtnl_link_change(sk, lo, change, 0)) < 0) {
		tj_error_set(err, EPERM, "netlink: bring lo up: %s", nl_geterror(nlerr));
		goto out;
	}
	rc = 0;
out:
	if (change)
		rtnl_link_put(change);
	if (lo)
		rtnl_link_put(lo);
	nl_socket_free(sk);
	return rc;
}
