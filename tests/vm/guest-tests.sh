#!/usr/bin/env bash
# What `make test-vm` runs inside the cgroup v2 guest (tests/vm/vm.sh), from
# the top of the checkout: the Check suites that need a real cgroup v2 host,
# then `tfjail run` of a probe and one `tfjail plan`, to show the whole path.
# One "test-vm: PASS|FAIL <part>" line per part and a total; exit 1 on any failure.
set -uo pipefail  # no -e: every part runs and is reported

# The Check suites run here, one at a time (comma separated, as TFJAIL_SUITE).
SUITES=${TFJAIL_VM_SUITES:-cgroup_real,sandbox_cgroup}
# Environment of each suite run.  CK_FORK=no: in fork mode the runner stays
# behind in the part's cgroup while a forked child opens the cgroup host; the
# child cannot then enable controllers there (no internal processes), a
# situation the service itself never meets, as it is alone in its cgroup.
SUITE_ENV=${TFJAIL_VM_SUITE_ENV:-CK_FORK=no}
# Booted with systemd as PID 1 (vm.sh run --systemd), the guest also runs the
# installed systemd unit with a job of the aws fixture (tests/vm/guest-systemd.sh);
# that job is the aws provider's plan on cgroup v2, so the `tfjail plan` part
# then takes the provider-less fixture: the aws plan costs minutes under TCG.
if [ -d /run/systemd/system ]; then
    SYSTEMD_FIXTURE=${TFJAIL_VM_SYSTEMD_FIXTURE:-tests/fixtures/plan/aws-small}
    PLAN_FIXTURE=${TFJAIL_VM_PLAN_FIXTURE:-tests/fixtures/plan/tfdata-only}
else
    SYSTEMD_FIXTURE=
    PLAN_FIXTURE=${TFJAIL_VM_PLAN_FIXTURE:-tests/fixtures/plan/aws-small}
fi
# TCG is 5-20x slower than native: the plan gets a generous time budget.
PLAN_ARGS=${TFJAIL_VM_PLAN_ARGS:---timeout 1200}
PROBE=${TFJAIL_VM_PROBE:-probe}
PART_TIMEOUT=${TFJAIL_VM_PART_TIMEOUT:-1300}

BUILD=${BUILD:-build}
TESTBIN=${TFJAIL_TESTBIN:-$PWD/$BUILD/tests/tfjail-tests}
export TFJAIL_BIN=${TFJAIL_BIN:-$PWD/bin/tfjail}
export TFJAIL_PROBES=${TFJAIL_PROBES:-$PWD/$BUILD/probes}
export TFJAIL_SRCDIR=${TFJAIL_SRCDIR:-$PWD}

CG=/sys/fs/cgroup
SVC=$CG$(sed -n 's/^0:://p' /proc/self/cgroup)
OUT=$(mktemp -d /tmp/test-vm.XXXXXX)
passed=0 failed=0
results=()
verdict() {  # verdict PASS|FAIL PART [DETAIL]
    local line="test-vm: $1 $2${3:+ ($3)}"
    results+=("$line")
    echo "$line"
    if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

cgroup_tree() {  # every cgroup with its processes and enabled controllers
    local d
    while IFS= read -r d; do
        printf '#   %-50s procs=%-4s subtree=[%s]\n' "${d#"$CG"}/" "$(wc -l < "$d/cgroup.procs")" \
            "$(cat "$d/cgroup.subtree_control")"
    done < <(find "$CG" -type d | sort)
}

echo "# kernel $(uname -r); $(awk -v m=$CG '$2 == m { print $3, $4 }' /proc/mounts)"
echo "# started in ${SVC#"$CG"}, controllers available: $(cat "$SVC/cgroup.controllers")"
echo "# cgroup layout at the start:"
cgroup_tree

# Like a service manager, give every part a fresh delegated cgroup of its own
# (the tested program starts there alone, so it may move itself into a leaf
# and enable controllers for its job cgroups), and keep this script in a
# leaf beside them: a cgroup with processes cannot enable controllers.
if ! { mkdir -p "$SVC/harness" && echo $$ > "$SVC/harness/cgroup.procs" &&
    echo "+cpu +memory +pids" > "$SVC/cgroup.subtree_control"; }; then
    echo "test-vm: FAIL: cannot delegate ${SVC#"$CG"} to the parts" >&2
    exit 1
fi

# Kills and removes a part's cgroup tree, deepest first.
remove_tree() {
    echo 1 > "$1/cgroup.kill" 2>/dev/null
    local d
    for _ in $(seq 50); do
        while IFS= read -r d; do rmdir "$d" 2>/dev/null; done < <(find "$1" -depth -type d)
        [ -d "$1" ] || return 0
        sleep 0.1
    done
    return 1
}

# part NAME CMD...: runs CMD alone in a fresh cgroup $SVC/NAME, output in $OUT/NAME.
# Afterwards nothing may be left running in that cgroup, and no cgroup may
# remain below it but the leaf tfjail moves itself into ($SERVICE_LEAF):
# job cgroups must be gone.
SERVICE_LEAF=service
PART_RC=0
part() {
    local stream=1
    if [ "$1" = --quiet ]; then stream=0; shift; fi
    local name=$1 cg=$SVC/$1 left extra
    shift
    echo "# ---- $name: $*"
    mkdir "$cg"
    # Output goes to a file, streamed from there: a pipe would never see EOF
    # while a leftover process of the part still holds its end.
    # shellcheck disable=SC2016  # expanded by the inner shell
    timeout -k 10 "$PART_TIMEOUT" bash -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' \
        part "$cg" "$@" > "$OUT/$name" 2>&1 < /dev/null &
    local pid=$!
    [ $stream = 0 ] || tail -s 0.2 -n +1 -F --pid=$pid "$OUT/$name" 2>/dev/null &
    PART_RC=0
    wait $pid || PART_RC=$?
    wait  # for the streamer, which ends with the part
    [ "$PART_RC" != 124 ] || echo "# $name: timed out after ${PART_TIMEOUT}s"
    left=$(find "$cg" -name cgroup.procs -exec cat {} + | wc -l)
    extra=$(find "$cg" -mindepth 1 -type d ! -path "$cg/$SERVICE_LEAF" | sed "s|^$CG||" | tr '\n' ' ')
    if [ "$left" -gt 0 ] || [ -n "$extra" ]; then
        verdict FAIL "$name: leftovers" "$left processes still in ${cg#"$CG"}; cgroups left: ${extra:-none}"
    fi
    remove_tree "$cg" || verdict FAIL "$name: cleanup" "cannot remove ${cg#"$CG"}"
}

# --- the Check suites, each on its own: a missing one must not hide the others
if [ ! -x "$TESTBIN" ]; then
    verdict FAIL "suites" "no test binary $TESTBIN (make $BUILD/tests/tfjail-tests)"
else
    IFS=, read -r -a suite_list <<< "$SUITES"
    for s in "${suite_list[@]}"; do
        # shellcheck disable=SC2086  # SUITE_ENV is a list of NAME=VALUE words
        part "suite-$s" env TFJAIL_SUITE="$s" $SUITE_ENV "$TESTBIN"
        if [ "$PART_RC" = 0 ]; then
            verdict PASS "suite $s" "$(grep -a '^[0-9]*%: Checks' "$OUT/suite-$s" | tail -1)"
        elif [ "$PART_RC" = 2 ] && grep -aq 'no suite matches' "$OUT/suite-$s"; then
            verdict FAIL "suite $s" "missing suite: the test binary has no suite named $s"
        else
            verdict FAIL "suite $s" "status $PART_RC; $(grep -a '^[0-9]*%: Checks' "$OUT/suite-$s" | tail -1)"
        fi
    done
fi

# --- tfjail run of the probe, bound read-only into the sandbox
if [ ! -x "$TFJAIL_PROBES/$PROBE" ]; then
    verdict FAIL "tfjail run" "no probe program $TFJAIL_PROBES/$PROBE"
else
    part run-probe "$TFJAIL_BIN" run --ro-bind "$TFJAIL_PROBES:/probe" -- "/probe/$PROBE" status
    if [ "$PART_RC" = 0 ]; then verdict PASS "tfjail run /probe/$PROBE status"
    else verdict FAIL "tfjail run /probe/$PROBE status" "status $PART_RC"; fi
fi

# --- one whole job: scan, init, validate, plan, show inside one sandbox
if [ ! -d "$PLAN_FIXTURE" ]; then
    verdict FAIL "tfjail plan" "no fixture $PLAN_FIXTURE"
else
    # shellcheck disable=SC2086  # PLAN_ARGS is a list of options
    part --quiet plan "$TFJAIL_BIN" plan "$PLAN_FIXTURE" $PLAN_ARGS --output json
    # The plan JSON runs to tens of kB: show stderr and the response's outline.
    grep -av '^{' "$OUT/plan"
    # (the first of each top-level key: resources in plan_json may reuse the names)
    grep -aoE '"(status|error_type|error_message|execution_time_seconds)":[[:space:]]*("[^"]*"|[0-9.]+|null)|"summary":[[:space:]]*\{[^}]*\}|"name":"[^"]*","exit_code":-?[0-9]+,"duration_ms":[0-9]+' \
        "$OUT/plan" | awk -F: '/^"name"/ || !seen[$1]++ { print "# " $0 }'
    status=$(grep -aoE '"status":[[:space:]]*"[A-Z]+"' "$OUT/plan" | head -1 | tr -d ' ')
    if [ "$PART_RC" = 0 ] && [ "$status" = '"status":"SUCCESS"' ]; then
        verdict PASS "tfjail plan $PLAN_FIXTURE"
    else
        verdict FAIL "tfjail plan $PLAN_FIXTURE" "status $PART_RC; $(grep -aoE '"(error_type|error_message)"[[:space:]]*:[[:space:]]*("[^"]*"|null)' "$OUT/plan" | tr '\n' ' ')"
    fi
fi

# --- the installed systemd unit under systemd (docs/install.md)
if [ -n "$SYSTEMD_FIXTURE" ]; then
    part systemd tests/vm/guest-systemd.sh "$SYSTEMD_FIXTURE"
    while read -r v check; do verdict "$v" "systemd: $check"; done < <(grep -aE '^(PASS|FAIL) ' "$OUT/systemd")
    [ "$PART_RC" = 0 ] || grep -aq '^FAIL ' "$OUT/systemd" || verdict FAIL "systemd" "status $PART_RC"
fi

echo "# cgroup layout at the end:"
cgroup_tree
rm -rf "$OUT"
echo "# ---- summary"
printf '%s\n' "${results[@]}"
echo "test-vm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
