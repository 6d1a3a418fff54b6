#include "runtime/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int v = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = CAP_LAST_CAP;
		fclose(f);
	}
	return v;
}

int caps_drop_all(uid_t uid, gid_t gid, struct tj_error *err)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {{0}};
	int last = last_cap();

	/* The bounding set needs CAP_SETPCAP: empty it while we still have it. */
	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return tj_error_sys(err, "drop capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return tj_error_sys(err, "clear the ambient capabilities");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return tj_error_sys(err, "clear keepcaps");
	if (setresgid(gid, gid, gid) < 0)
		return tj_error_sys(err, "setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return tj_error_sys(err, "setresuid %u", (unsigned)uid);
	/* A uid change to non-zero already cleared them; uid 0 keeps them, so
	 * empty them explicitly in every case. */
	if (syscall(SYS_capset, &hdr, data) < 0)
		return tj_error_sys(err, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return tj_error_sys(err, "set no_new_privs");
	/* A credential change resets dumpability: keep /proc/1 unreadable. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return tj_error_sys(err, "set non-dumpable");
	return 0;
}
