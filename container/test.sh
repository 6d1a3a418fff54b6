#!/usr/bin/env bash
# make test-container: the image, built with podman from local bases, serves
# jobs with the privileges docs/container.md documents, and leaves nothing
# behind when it stops.
#
#   container/test.sh [IMAGE]        (default localhost/tfjail:latest)
#
# 1. container/image.sh builds IMAGE (base images cached by package list);
# 2. the container starts with the documented privileges, the host's provider
#    mirror and an uploads directory as read-only volumes, and a memory limit;
# 3. /health answers 200 (and `podman healthcheck run` agrees), the aws
#    fixture job ends SUCCESS, a local-exec upload FAILED / PolicyViolation,
#    an unknown upload 404; the job cgroups were created inside the
#    container's own cgroup; the probe finds the sandbox's layers intact in a
#    sandbox started in the container;
# 4. podman stop (SIGTERM) with a job running: the job is answered (drain),
#    tfjail exits 0; after podman rm no container, cgroup, process or mount of
#    it is left on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/tfjail:latest}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/container/containers.conf}
name=tfjail-test-$$
fail() { echo "test-container: FAIL: $*" >&2; exit 1; }
step() { echo "test-container: $*" >&2; }

plugins=${TFJAIL_PLUGIN_DIR:-}
if [ -z "$plugins" ]; then
    for d in /usr/local/share/terraform/plugins /usr/share/terraform/plugins /opt/tf-plugins; do
        [ -d "$d" ] && { plugins=$d; break; }
    done
fi
[ -d "$plugins" ] || fail "no provider mirror on the host (set TFJAIL_PLUGIN_DIR)"
# the static probe of the sandbox suites (make probes), mounted for step 3
probes=${TFJAIL_PROBES:-$PWD/build/probes}
[ -x "$probes/probe" ] || fail "no $probes/probe (make probes)"

t0=$(date +%s)
container/image.sh "$image"
t_build=$(($(date +%s) - t0))

work=$(mktemp -d /tmp/tfjail-container-test.XXXXXX)
id=""
cleanup() {
    [ -n "$id" ] && podman rm -f -t 0 "$id" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# The uploads volume as the gateway fills it: <upload_id>/ directories,
# readable by everyone (the sandbox's unprivileged uid copies them).
mkdir -p "$work/uploads"
cp -r tests/fixtures/plan/aws-small "$work/uploads/aws-small"
cp -r tests/fixtures/plan/local-exec "$work/uploads/local-exec"
cp -r tests/fixtures/plan/aws-offline-data "$work/uploads/aws-offline-data"
chmod -R a+rX "$work/uploads"
# uid slots are shared with every tfjail on this host (docs/container.md)
mkdir -p /run/tfjail/slots
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The documented privileges (docs/container.md), nothing more.
id=$(podman run -d --name "$name" \
    --cap-drop ALL --cap-add SYS_ADMIN,SETUID,SETGID \
    --security-opt 'unmask=/proc/*' --cgroupns private \
    --memory 2g --memory-swap 2g --pids-limit 4096 \
    -p "127.0.0.1:$port:8001" \
    -v "$plugins:/usr/local/share/terraform/plugins:ro" \
    -v "$work/uploads:/var/lib/tfjail/uploads:ro" \
    -v /run/tfjail/slots:/run/tfjail/slots \
    -v "$probes:/probes:ro" \
    "$image" 2>"$work/run.err") || { cat "$work/run.err" >&2; fail "podman run"; }
step "container ${id:0:12} on 127.0.0.1:$port"
base="http://127.0.0.1:$port"

code=""
for _ in $(seq 1 120); do
    code=$(curl -s -o "$work/health" -w '%{http_code}' "$base/health" || true)
    [ "$code" = 200 ] && break
    [ "$(podman inspect -f '{{.State.Running}}' "$id")" = true ] || break
    sleep 0.5
done
[ "$code" = 200 ] || { podman logs "$id" >&2 || true; fail "/health answered '$code'"; }
python3 - "$work/health" <<'PY' || fail "/health: $(cat "$work/health")"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["status"] == "healthy", h
assert all(h["checks"].values()), h["checks"]
PY
podman healthcheck run "$id" >/dev/null 2>&1 || fail "the image's HEALTHCHECK failed"
code=$(curl -s -o "$work/ready" -w '%{http_code}' "$base/ready" || true)
[ "$code" = 200 ] || fail "/ready answered '$code': $(cat "$work/ready")"
step "/health 200, HEALTHCHECK healthy, /ready 200"

execute() { # JOB_ID UPLOAD_ID -> response in $work/JOB_ID, HTTP code on stdout
    curl -s -m 300 -o "$work/$1" -w '%{http_code}' -X POST "$base/api/v1/execute" \
        -H 'Content-Type: application/json' -d "{\"job_id\": \"$1\", \"upload_id\": \"$2\"}"
}
expect() { # JOB_ID STATUS ERROR_TYPE [RULE]
    python3 - "$work/$1" "$2" "$3" "${4:-}" <<'PY'
import json, sys
path, status, error_type, rule = sys.argv[1:]
r = json.load(open(path))
error_type = None if error_type == "null" else error_type
ok = r["status"] == status and r["error_type"] == error_type
if rule:
    ok = ok and any(v["rule"] == rule for v in r["violations"])
if status == "SUCCESS":
    ok = ok and r["plan_json"] is not None and len(r["plan_sha256"]) == 64 \
        and r["summary"]["create"] > 0
if not ok:
    sys.exit("%s: %s / %s: %s" % (r["job_id"], r["status"], r["error_type"], r["error_message"]))
PY
}
t1=$(date +%s)
[ "$(execute job-aws aws-small)" = 200 ] || fail "aws job: HTTP $(cat "$work/job-aws")"
expect job-aws SUCCESS null || fail "aws job"
step "aws-small: SUCCESS in $(($(date +%s) - t1)) s"
[ "$(execute job-exec local-exec)" = 200 ] || fail "local-exec job: HTTP $(cat "$work/job-exec")"
expect job-exec FAILED PolicyViolation provisioner-blocked || fail "local-exec job"
step "local-exec: FAILED / PolicyViolation (provisioner-blocked)"
[ "$(execute job-none no-such-upload)" = 404 ] || fail "unknown upload: not 404"

# The job cgroups live below the container's own cgroup (its limits hold
# them): tfjail's intermediate directory is there, and empty between jobs.
cg=$(find /sys/fs/cgroup/memory -maxdepth 3 -type d -name "*$id*" | head -1)
[ -n "$cg" ] && [ -d "$cg/tfjail" ] || fail "no tfjail cgroup below the container's memory cgroup ($cg)"
[ -z "$(find "$cg/tfjail" -mindepth 1 -type d)" ] || fail "job cgroups left in $cg/tfjail"
step "job cgroups below $cg (container memory peak $(($(cat "$cg/memory.max_usage_in_bytes") >> 20)) MiB)"

# The sandbox's layers, checked from inside a sandbox started in the
# container, with the probe of the sandbox suites (tests/probes/probe.c).
in_sandbox() { podman exec "$id" /usr/local/bin/tfjail run --ro-bind /probes:/probe "$@" 2>&1; }
for check in "status" "syscalls" "netifs" "pid1 --init-comm tfjail-init --max-pids 2" \
             "write-fail / /usr /etc /dev /probe"; do
    # shellcheck disable=SC2086 # a probe command and its arguments
    out=$(in_sandbox -- /probe/probe $check) || fail "probe $check in the container: $out"
done
out=$(in_sandbox -- /probe/probe uid) || fail "probe uid: $out"
host_uid=$(awk '$1 == "uid_map" && $2 == 1000 {print $3}' <<<"$out")
[ -n "$host_uid" ] && [ "$host_uid" -ge 65536 ] || fail "sandbox uid maps to host uid '$host_uid': $out"
out=$(in_sandbox --memory 67108864 -- /probe/probe memhog 512) && fail "memhog under 64 MiB exited 0: $out"
grep -q '^tfjail: .*memory' <<<"$out" || fail "memhog under 64 MiB: no out-of-memory line: $out"
step "in a sandbox in the container: no capabilities, no_new_privs, seccomp; blocked calls refused; only loopback; own init; read-only root; host uid $host_uid; out of memory at 64 MiB"

# SIGTERM with a job running: tfjail answers it within shutdown_grace (its
# log says so), then exits 0.  The client's copy of that answer is not
# asserted: tfjail serve stops its HTTP daemon right after the last answer
# is queued, and podman removes the container's network namespace as soon as
# tfjail exits, so the answer can be cut on the wire.
execute job-drain aws-offline-data >"$work/drain.code" &
drain=$!
running() { [[ $(curl -s "$base/health") == *'"running_jobs":1'* ]]; }
for _ in $(seq 1 100); do
    running && break
    sleep 0.1
done
running || fail "the drain job did not start"
podman stop -t 60 "$id" >/dev/null
wait "$drain" || true
podman logs "$id" >"$work/log" 2>&1
grep 'job-drain' "$work/log" | grep -E '(status=| )200 ' >/dev/null ||
    { cat "$work/log" >&2; fail "the job running at SIGTERM was not answered"; }
step "SIGTERM with a job running: answered (client got HTTP $(cat "$work/drain.code")), then tfjail stopped"
status=$(podman inspect -f '{{.State.ExitCode}}' "$id")
[ "$status" = 0 ] || { cat "$work/log" >&2; fail "tfjail serve exited $status after SIGTERM"; }
grep -q 'tfjail: serving on 0.0.0.0:8001' "$work/log" || fail "no start-up line in the log"
podman rm "$id" >/dev/null
podman container exists "$id" && fail "container $id still exists"
left=$(find /sys/fs/cgroup -maxdepth 4 -name "*$id*" 2>/dev/null || true)
[ -z "$left" ] || fail "cgroups left: $left"
procs=$(grep -l "$id" /proc/[0-9]*/cgroup 2>/dev/null || true)
[ -z "$procs" ] || fail "processes left: $procs"
grep -q "$id" /proc/self/mountinfo && fail "mounts left"
procs=$(grep -l "$id" /proc/[0-9]*/cmdline 2>/dev/null || true)
[ -z "$procs" ] || fail "podman processes left: $procs"
id=""
step "stopped with status 0; no container, cgroup, process or mount left"
step "image build $t_build s, run $(($(date +%s) - t0 - t_build)) s"
