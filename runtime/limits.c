#include "runtime/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Counters of the user namespace.  The kernel charges each one at every
 * level of the namespace chain: in the sandbox's namespace against these
 * values, above it against its owner, the slot's own host uid (uidslot.h). */
static const struct limits_entry userns_table[] = {
    {LIMITS_USERNS, "max_inotify_instances", 0, 32,
     "inotify instances; go's file watching needs a few, the host default is 128"},
    {LIMITS_USERNS, "max_inotify_watches", 0, 8192, "inotify watches (pinned kernel memory)"},
    {LIMITS_USERNS, "max_fanotify_groups", 0, 0, "fanotify_init is refused by seccomp as well"},
    {LIMITS_USERNS, "max_fanotify_marks", 0, 0, "fanotify_init is refused by seccomp as well"},
    {LIMITS_USERNS, "max_user_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_mnt_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_pid_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_net_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_ipc_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_uts_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_cgroup_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
    {LIMITS_USERNS, "max_time_namespaces", 0, 0, "new namespaces are refused by seccomp as well"},
};

#define MSGQUEUE_BYTES      (256u << 10)
#define SIGPENDING_MAX      1024u
#define NPROC_NO_PIDS_LIMIT 4096u

void limits_plan_build(const struct limits_spec *spec, struct limits_plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(userns_table) / sizeof(userns_table[0]); i++)
		plan->e[n++] = userns_table[i];
	plan->e[n++] = (struct limits_entry){LIMITS_RLIMIT, "RLIMIT_CORE", RLIMIT_CORE, 0,
	                                     "no core files of the sandbox's processes"};
	plan->e[n++] = (struct limits_entry){LIMITS_RLIMIT, "RLIMIT_NOFILE", RLIMIT_NOFILE,
	                                     spec->nofile ? spec->nofile : 1024, "open files per process"};
	plan->e[n++] =
	    (struct limits_entry){LIMITS_RLIMIT, "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE, MSGQUEUE_BYTES,
	                          "POSIX message-queue bytes (the host default, 800 KiB, is per user)"};
	plan->e[n++] = (struct limits_entry){LIMITS_RLIMIT, "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING,
	                                     SIGPENDING_MAX, "queued signals and POSIX timers"};
	plan->e[n++] = (struct limits_entry){
	    LIMITS_RLIMIT, "RLIMIT_FSIZE", RLIMIT_FSIZE, spec->fsize ? spec->fsize : UINT64_MAX,
	    "no file the sandbox writes, a host file passed as stdio included, grows past the "
	    "largest tmpfs"};
	/* The cgroup's pids.max is the bound; RLIMIT_NPROC is a second one,
	 * never the first to stop a fork, and the only one without pids.max. */
	plan->e[n++] = (struct limits_entry){LIMITS_RLIMIT, "RLIMIT_NPROC", RLIMIT_NPROC,
	                                     spec->pids ? 2 * spec->pids : NPROC_NO_PIDS_LIMIT,
	                                     "processes and threads of the sandbox's uid"};
	plan->n = n;
}

int limits_apply_userns(const struct limits_plan *plan, struct tj_error *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct limits_entry *e = &plan->e[i];
		char path[96], val[32];
		int fd, len;
		ssize_t w;

		if (e->kind != LIMITS_USERNS)
			continue;
		snprintf(path, sizeof(path), "/proc/sys/user/%s", e->name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0)
			return tj_error_sys(err, "open %s", path);
		len = snprintf(val, sizeof(val), "%llu", (unsigned long long)e->value);
		w = write(fd, val, (size_t)len);
		close(fd);
		if (w != len)
			return tj_error_sys(err, "write %s to %s", val, path);
	}
	return 0;
}

int limits_apply_rlimits(const struct limits_plan *plan, struct tj_error *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		const struct limits_entry *e = &plan->e[i];
		struct rlimit rl;
		rlim_t want;

		if (e->kind != LIMITS_RLIMIT)
			continue;
		if (getrlimit(e->resource, &rl) < 0)
			return tj_error_sys(err, "getrlimit %s", e->name);
		want = e->value == UINT64_MAX ? RLIM_INFINITY : (rlim_t)e->value;
		if (rl.rlim_max != RLIM_INFINITY && (want == RLIM_INFINITY || want > rl.rlim_max))
			want = rl.rlim_max;
		rl.rlim_cur = rl.rlim_max = want;
		if (setrlimit(e->resource, &rl) < 0)
			return tj_error_sys(err, "setrlimit %s %llu", e->name, (unsigned long long)want);
	}
	return 0;
}
