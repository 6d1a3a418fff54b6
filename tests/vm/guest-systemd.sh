#!/usr/bin/env bash
# The systemd unit under a real systemd on a pure cgroup v2 guest (run by
# tests/vm/guest-tests.sh when the guest booted with `vm.sh run --systemd`):
#   make install -> systemctl start tfjail -> /health 200 -> the fixture's job
#   SUCCEEDS through the API, its cgroup below tfjail.service with the
#   policy's limits -> SIGKILL to the service: systemd restarts it -> a second
#   job is running when `systemctl stop tfjail` comes: it is answered
#   (drained), and no cgroup or process is left.
# One "PASS|FAIL <check>" line per check on stdout; exit 1 on any failure.
set -uo pipefail

FIXTURE=${1:-tests/fixtures/plan/aws-small}
DRAIN_FIXTURE=tests/fixtures/plan/tfdata-only
CG=/sys/fs/cgroup
SVC=$CG/system.slice/tfjail.service
URL=http://127.0.0.1:8001
POLICY=/etc/tfjail/policy.json
UPLOADS=/var/lib/tfjail/uploads
SLOT_UID=1500000000  # the lowest sandbox uid (TFJAIL_UID_RANGE's default base)
# limits the job's cgroup must show: the installed policy, edited like an
# operator would (TCG is 5-20x slower than native: longer timeouts)
MEM=1200MiB MEM_BYTES=1258291200 CPUS=1.5 CPU_MAX="150000 100000" PIDS=300
failed=0

journal() {
    echo "# journal of tfjail.service:"
    journalctl -u tfjail --no-pager -n 60 | sed 's/^/#   /'
}
check() {  # check NAME CONDITION-STATUS [DETAIL]
    if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1${3:+ ($3)}"; failed=$((failed + 1)); fi
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "$URL$1"; }
json_status() { grep -aoE '"status":[[:space:]]*"[A-Z]+"' "$1" | head -1 | sed 's/.*"\([A-Z]*\)"$/\1/'; }
# job cgroups: every cgroup below the service but its own leaf "service"
job_cgroups() { find "$SVC" -mindepth 1 -maxdepth 1 -type d ! -name service 2>/dev/null; }
has_job() { [ -n "$(job_cgroups)" ]; }
healthy() { [ "$(http_code /health)" = 200 ]; }
sandbox_pids() { ps -eo uid=,pid= | awk -v b=$SLOT_UID '$1 >= b { print $2 }'; }
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.5
    done
}
execute() {  # execute JOB_ID UPLOAD_ID OUTFILE
    curl -s -o "$3" -w '%{http_code}' -X POST "$URL/api/v1/execute" \
        -H 'Content-Type: application/json' -d "{\"job_id\": \"$1\", \"upload_id\": \"$2\"}"
}

# --- make install, as on a bare host (into the guest's overlay)
make -s install PREFIX=/usr/local > /tmp/install.log 2>&1
check "make install" $? "$(tail -3 /tmp/install.log)"
sed -i -e "s/\"memory\": \"[^\"]*\"/\"memory\": \"$MEM\"/" -e "s/\"cpus\": [0-9.]*/\"cpus\": $CPUS/" \
    -e "s/\"pids\": [0-9]*/\"pids\": $PIDS/" -e 's/"step_timeout": [0-9]*/"step_timeout": 1200/' \
    -e 's/"job_timeout": [0-9]*/"job_timeout": 1500/' $POLICY
tfjail policy check $POLICY > /dev/null
check "edited policy valid" $?
systemctl daemon-reload

# --- start: /health 200
t0=$SECONDS
systemctl start tfjail
check "systemctl start tfjail" $? "$(systemctl status tfjail --no-pager 2>&1 | tail -5)"
wait_for 180 healthy
check "GET /health 200" $? "$(http_code /health) after $((SECONDS - t0)) s"
echo "# /health answered after $((SECONDS - t0)) s: $(curl -s $URL/health)"
if [ $failed -gt 0 ]; then
    journal
    exit 1
fi
[ -d "$UPLOADS" ]
check "uploads directory $UPLOADS made by the unit" $?
cp -r "$FIXTURE" "$UPLOADS/job" && cp -r "$DRAIN_FIXTURE" "$UPLOADS/drain"

# --- one job through the API; its cgroup is below the service's, with the limits
t0=$SECONDS
execute vm-job job /tmp/job.json > /tmp/job.code &
job=$!
job_or_end() { has_job || ! kill -0 $job 2>/dev/null; }
wait_for 600 job_or_end
has_job
check "job cgroup below tfjail.service" $? "$(find "$SVC" -type d)"
cg=$(job_cgroups | head -1)
if [ -n "$cg" ]; then
    echo "# job cgroup ${cg#"$CG"}: memory.max=$(cat "$cg/memory.max") cpu.max=$(cat "$cg/cpu.max") pids.max=$(cat "$cg/pids.max") procs=$(wc -l < "$cg/cgroup.procs")"
    [ "$(cat "$cg/memory.max")" = $MEM_BYTES ] && [ "$(cat "$cg/cpu.max")" = "$CPU_MAX" ] &&
        [ "$(cat "$cg/pids.max")" = $PIDS ]
    check "the policy's limits on the job cgroup" $?
    # the sandbox's processes (uids of a slot) are all in it
    sandbox_or_end() { [ -n "$(sandbox_pids)" ] || ! kill -0 $job 2>/dev/null; }
    wait_for 300 sandbox_or_end
    inside=0 outside=0
    for p in $(sandbox_pids); do
        if grep -q "^0::${cg#"$CG"}" "/proc/$p/cgroup" 2>/dev/null; then inside=$((inside + 1)); else outside=$((outside + 1)); fi
    done
    [ $inside -gt 0 ] && [ $outside = 0 ]
    check "the sandbox's processes in the job cgroup" $? "$inside inside, $outside outside"
fi
wait $job
status=$(json_status /tmp/job.json)
grep -aoE '"(status|error_type|error_message)":[[:space:]]*("[^"]*"|null)|"name":"[^"]*","exit_code":-?[0-9]+,"duration_ms":[0-9]+' /tmp/job.json | sed 's/^/# /'
[ "$(cat /tmp/job.code)" = 200 ] && [ "$status" = SUCCESS ]
check "job $FIXTURE SUCCESS" $? "HTTP $(cat /tmp/job.code), status ${status:-none} after $((SECONDS - t0)) s"
echo "# the job took $((SECONDS - t0)) s"
no_job() { ! has_job; }
wait_for 30 no_job
check "job cgroup removed after the job" $?

# --- a crash: Restart=on-failure brings the service back
pid0=$(systemctl show -p MainPID --value tfjail)
t0=$SECONDS
systemctl kill -s KILL --kill-whom=main tfjail
restarted() {
    local p
    p=$(systemctl show -p MainPID --value tfjail)
    [ "$p" != 0 ] && [ "$p" != "$pid0" ] && healthy
}
wait_for 150 restarted
check "restarted after SIGKILL (Restart=on-failure)" $? "NRestarts=$(systemctl show -p NRestarts --value tfjail)"
echo "# healthy again $((SECONDS - t0)) s after the kill"

# --- stop while a job runs: the job is answered, nothing is left
execute vm-drain drain /tmp/drain.json > /tmp/drain.code &
job=$!
wait_for 300 job_or_end
has_job
check "second job running before the stop" $?
t0=$SECONDS
systemctl stop tfjail
check "systemctl stop tfjail" $?
echo "# systemctl stop took $((SECONDS - t0)) s"
wait $job
status=$(json_status /tmp/drain.json)
[ "$(cat /tmp/drain.code)" = 200 ] && [ "$status" = SUCCESS ]
check "running job drained (200, SUCCESS)" $? "HTTP $(cat /tmp/drain.code), status ${status:-none}"
result=$(systemctl show -p Result --value tfjail)
state=$(systemctl show -p ActiveState --value tfjail)
[ "$result" = success ] && [ "$state" = inactive ]
check "service stopped cleanly" $? "ActiveState=$state Result=$result"
[ ! -e "$SVC" ]
check "no cgroup left" $? "$(find "$SVC" -type d 2>/dev/null | tr '\n' ' ')"
left=$(find $CG -name 'tfjail-[0-9]*' 2>/dev/null)
[ -z "$left" ]
check "no job cgroup anywhere" $? "$left"
n=$(sandbox_pids | wc -l)
procs=$(pgrep -c -x tfjail)
[ "$n" = 0 ] && [ "$procs" = 0 ]
check "no process left" $? "$n sandbox processes, $procs tfjail processes"

[ $failed = 0 ] || journal
[ $failed = 0 ]
