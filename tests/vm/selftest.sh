#!/usr/bin/env bash
# shellcheck disable=SC2016  # the single-quoted scripts are expanded by the inner shells
# Runs inside the guest (vm.sh selftest): proves that the guest is the cgroup v2
# host tfjail's tests need, before any tfjail code is blamed for a failure.
# One "ok"/"not ok" line per check, then "N passed, N failed"; exit 0 iff all passed.
set -uo pipefail  # no -e: every check runs and reports

CG=/sys/fs/cgroup
passed=0 failed=0
check() {  # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $what"; else failed=$((failed + 1)); echo "not ok - $what"; fi
}
field() { awk -v k="$1" '$1 == k { print $2 }' "$2" 2>/dev/null; }
# Kills what is left in a cgroup and removes it.
drop_cgroup() {
    echo 1 > "$1/cgroup.kill" 2>/dev/null
    for _ in $(seq 50); do rmdir "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
# Runs CMD... as a process that starts inside cgroup $1.
run_in() { local cg=$1; shift; sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cg" "$@"; }

mount_line=$(awk -v m=$CG '$2 == m' /proc/mounts)
echo "# $mount_line"
check "cgroup2 mounted at $CG" test "$(awk '{ print $3 }' <<< "$mount_line")" = cgroup2
check "mounted with nsdelegate" grep -q nsdelegate <<< "$mount_line"
check "no v1 hierarchy mounted" test -z "$(awk '$3 == "cgroup"' /proc/mounts)"

# --- delegation: start in a service cgroup, move into a leaf, then own children
self=$CG$(sed -n 's/^0:://p' /proc/self/cgroup)
echo "# started in ${self#"$CG"}; controllers: $(cat "$self/cgroup.controllers")"
check "self cgroup is not the root" test "$self" != "$CG/"
for c in memory cpu pids; do
    check "controller $c delegated to ${self#"$CG"}" grep -qw $c "$self/cgroup.controllers"
done
check "enabling controllers is refused while the service has processes (no internal processes)" \
    bash -c "! echo +memory > '$self/cgroup.subtree_control' 2>/dev/null"
mkdir -p "$self/leaf" && echo $$ > "$self/leaf/cgroup.procs"
check "service moved into its leaf" grep -q "/leaf\$" /proc/self/cgroup
check "controllers enabled below the service" \
    sh -c "echo '+memory +cpu +pids' > '$self/cgroup.subtree_control'"

# --- memory.max and the OOM kill
M=$self/job-mem
mkdir "$M" && echo 64M > "$M/memory.max" && echo 0 > "$M/memory.swap.max"
check "memory.max=64M set" test "$(cat "$M/memory.max")" = 67108864
run_in "$M" tail /dev/zero  # tail keeps the whole never-ending "line": grows without bound
rc=$?
echo "# hog status $rc; memory.events: $(tr '\n' ' ' < "$M/memory.events")"
check "hog killed with SIGKILL (status 137, got $rc)" test $rc = 137
check "memory.events oom_kill >= 1" test "$(field oom_kill "$M/memory.events")" -ge 1
check "memory cgroup removed" drop_cgroup "$M"

# --- pids.max and cgroup.kill
P=$self/job-pids
mkdir "$P" && echo 8 > "$P/pids.max"
run_in "$P" sh -c 'for i in $(seq 20); do sleep 30 & done; wait' 2>/dev/null &
sleep 2
echo "# pids.current $(cat "$P/pids.current"); pids.events: $(tr '\n' ' ' < "$P/pids.events")"
check "pids.max=8 refused forks (pids.events max >= 1)" test "$(field max "$P/pids.events")" -ge 1
check "pids.current stays <= 8" test "$(cat "$P/pids.current")" -le 8
check "cgroup.kill empties the cgroup and it is removed" drop_cgroup "$P"
wait

# --- cpu.max throttling (relative bounds only: TCG timing swings with load)
C=$self/job-cpu
mkdir "$C" && echo "10000 100000" > "$C/cpu.max"
run_in "$C" timeout 3 sh -c 'while :; do :; done'
echo "# cpu.stat: $(tr '\n' ' ' < "$C/cpu.stat")"
check "cpu.max=10%: nr_throttled > 0" test "$(field nr_throttled "$C/cpu.stat")" -gt 0
check "cpu.max=10%: usage_usec <= quota x periods" \
    test "$(field usage_usec "$C/cpu.stat")" -le $(( ($(field nr_periods "$C/cpu.stat") + 2) * 12000 ))
check "cpu cgroup removed" drop_cgroup "$C"

# --- namespaces, as tfjail uses them
echo "# unprivileged_userns_clone=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo n/a)" \
    "max_user_namespaces=$(cat /proc/sys/user/max_user_namespaces)"
out=$(unshare -U -r -m -p -n -i -u -f --mount-proc sh -c 'echo "$(id -u) $$"' 2>&1)
check "root: unshare -U -r -m -p -n -i -u -f works after switch_root ($out)" test "$out" = "0 1"
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups unshare -U -r -m -p -f --mount-proc \
    sh -c 'echo "$(id -u) $$"' 2>&1)
check "uid 65534: unshare -U -r -m -p -f ($out)" test "$out" = "0 1"

# --- the writable places tfjail and its tests use
check "/run is a writable tmpfs" sh -c 'mkdir -p /run/tfjail && touch /run/tfjail/.probe'
check "the overlay root is writable" sh -c 'touch /.tfjail-vm/probe'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
