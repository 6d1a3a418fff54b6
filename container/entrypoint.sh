#!/bin/sh
# The image's entry point: makes the container's own cgroup writable, then
# execs `tfjail serve "$@"`.
#
# Container engines mount the cgroup filesystem read-only unless the container
# is privileged.  With CAP_SYS_ADMIN and a private cgroup namespace
# (docs/container.md) the mount shows only the container's own cgroup, and
# remounting it read-write hands tfjail that subtree and nothing above it: the
# job cgroups are created below the container's cgroup, inside its limits.
set -eu
for m in /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/cpu /sys/fs/cgroup/cpuacct \
         /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/pids; do
    opts=$(findmnt -n -o FSTYPE,VFS-OPTIONS --mountpoint "$m" 2>/dev/null) || continue
    case "$opts" in cgroup*' ro'*) ;; *) continue ;; esac
    mount -o remount,bind,rw "$m" 2>/dev/null || {
        echo "tfjail: $m is read-only and cannot be remounted read-write (the container needs CAP_SYS_ADMIN and a private cgroup namespace, or --privileged; see docs/container.md)" >&2
        exit 2
    }
done
exec /usr/local/bin/tfjail serve "$@"
