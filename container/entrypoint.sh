#!/bin/sh
# The image's entry point: hands tfjail the container's own cgroup, then
# execs `tfjail serve "$@"`.
#
# Container engines mount the cgroup filesystem read-only unless the container
# is privileged.  With CAP_SYS_ADMIN and a private cgroup namespace
# (docs/container.md) the mount shows only the container's own cgroup;
# remounting it read-write hands tfjail that subtree and nothing above it, so
# the job cgroups are created below the container's cgroup, inside its limits.
set -eu
fail() {
    echo "tfjail: $* (the container needs CAP_SYS_ADMIN and a private cgroup namespace, or --privileged; see docs/container.md)" >&2
    exit 2
}
for m in /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/cpu /sys/fs/cgroup/cpuacct \
         /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/pids; do
    opts=$(findmnt -n -o FSTYPE,VFS-OPTIONS --mountpoint "$m" 2>/dev/null) || continue
    case "$opts" in cgroup*' ro'*) ;; *) continue ;; esac
    mount -o remount,bind,rw "$m" 2>/dev/null || fail "$m is read-only and cannot be remounted read-write"
done
# cgroup v2 with a private cgroup namespace: the container's cgroup is the
# namespace's root and holds this process, so the no-internal-process rule
# keeps it from enabling controllers for children.  Move into tfjail's leaf
# (/tfjail/service) first; tfjail then uses /tfjail as the jobs' parent.
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && [ "$(cat /proc/self/cgroup)" = "0::/" ]; then
    mkdir -p /sys/fs/cgroup/tfjail/service
    echo $$ >/sys/fs/cgroup/tfjail/service/cgroup.procs || fail "cannot move into /sys/fs/cgroup/tfjail/service"
    echo "+memory +cpu +pids" >/sys/fs/cgroup/cgroup.subtree_control ||
        fail "cannot enable the memory, cpu and pids controllers in the container's cgroup"
fi
exec /usr/local/bin/tfjail serve "$@"
