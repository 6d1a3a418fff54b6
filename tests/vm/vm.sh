#!/usr/bin/env bash
# vm.sh - run a command inside a throw-away qemu guest that is a pure cgroup v2
# host, on a read-only overlay of this machine's root filesystem.
#
# Hosts with a hybrid or v1 cgroup layout cannot exercise tfjail's cgroup v2
# code path; this guest can.  It boots Debian's own kernel (fetched with
# apt-get download, never installed) with a busybox initramfs, exports the
# host's / read-only over 9p, overlays it with a tmpfs in the guest and
# switch_roots into it, so binaries built on the host (and terraform) run
# unchanged, in the same working directory.
#
#   vm.sh fetch                       download and unpack the kernel into the cache
#   vm.sh build                       build the base initramfs (fetches if needed)
#   vm.sh run [--timeout S] [--env K=V]... [--cgroup PATH] [--systemd] -- CMD [ARG...]
#                                     boot, run CMD in $PWD, exit with its status;
#                                     --systemd: the host's systemd is PID 1 and
#                                     CMD runs as the service tfjail-vm.service
#   vm.sh selftest                    boot and check cgroup v2, OOM, user namespaces
#   vm.sh clean                       remove the cache
#
# Exit status of run/selftest: the command's own status (0..255), or 125 when
# the harness itself failed (no kernel, qemu error, guest crash, timeout); a
# 125 always comes with one stderr line "vm: INFRASTRUCTURE FAILURE: <reason>"
# and the path of the kept console log.
#
# Environment (all optional):
#   TFJAIL_VM_CACHE    cache folder (default /var/cache/tfjail-vm)
#   TFJAIL_VM_MEM      guest memory in MiB (default 4096)
#   TFJAIL_VM_SMP      vCPUs (default 2)
#   TFJAIL_VM_TIMEOUT  seconds for one boot-to-result (default 600; --timeout wins)
#   TFJAIL_VM_ACCEL    auto|tcg|kvm (auto: kvm only with vmx/svm in the CPU flags)
#   TFJAIL_VM_KERNEL_PKG  linux-image-* package (default: linux-image-amd64's)
#   TFJAIL_VM_KERNEL   boot this kernel image instead of the cached one
#   TFJAIL_VM_CGROUP   cgroup CMD starts in (default /system.slice/tfjail-vm.service;
#                      "/" = the root cgroup)
#   TFJAIL_VM_LOG      also write the console log to this file
#   TFJAIL_VM_LOGDIR   where failed runs keep their console log (default $CACHE/logs)
#   TFJAIL_VM_QUIET=1  do not stream the guest console
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${TFJAIL_VM_CACHE:-/var/cache/tfjail-vm}
KDIR=$CACHE/kernel
MEM=${TFJAIL_VM_MEM:-4096}
SMP=${TFJAIL_VM_SMP:-2}
TIMEOUT=${TFJAIL_VM_TIMEOUT:-600}
LOGDIR=${TFJAIL_VM_LOGDIR:-$CACHE/logs}
QEMU=qemu-system-x86_64
# Loaded in this order in the guest; their own dependencies are resolved from
# each module's .modinfo (the .deb carries no modules.dep).
MODULES=(virtio_pci 9pnet_virtio 9p overlay)

say() { echo "vm: $*" >&2; }
# A harness failure: one line that says so, and the distinct status 125.
infra() {
    say "INFRASTRUCTURE FAILURE: $*"
    exit 125
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# Single-quote for a POSIX shell: the guest reads job.env with busybox sh.
shq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

need_tools() {
    local p missing=()
    command -v "$QEMU" >/dev/null || missing+=(qemu-system-x86)
    # the initramfs needs a busybox that runs with no libraries at all
    dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing+=(busybox-static)
    command -v xz >/dev/null || missing+=(xz-utils)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || infra "missing packages: ${missing[*]}"
    say "installing ${missing[*]}"
    for p in 1 2; do
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 && return 0
        [ "$p" = 1 ] && apt-get update -q >&2
    done
    infra "cannot install ${missing[*]}"
}

lock_cache() {
    mkdir -p "$CACHE" || infra "cannot create $CACHE"
    exec 8>"$CACHE/.lock"
    flock 8  # parallel runs share one kernel and one initramfs
}

# ---------------------------------------------------------------- kernel
cmd_fetch() {
    [ -f "$KDIR/VERSION" ] && return 0
    local t0 pkg tmp deb ver
    t0=$(now)
    pkg=${TFJAIL_VM_KERNEL_PKG:-}
    if [ -z "$pkg" ]; then
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
        if [ -z "$pkg" ]; then
            apt-get update -q >&2 || true
            pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
        fi
    fi
    [ -n "$pkg" ] || infra "no linux-image-* package behind linux-image-amd64 in the apt sources"
    say "fetching $pkg"
    rm -rf "$CACHE"/fetch.*
    tmp=$(mktemp -d "$CACHE/fetch.XXXXXX")
    # _apt cannot write into a root-only folder; download as root instead
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) || infra "apt-get download $pkg failed"
    deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -1)
    mkdir "$tmp/x"
    # Only what the guest needs: 47 MB of the 400 MB package.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards \
        './boot/vmlinuz-*' './boot/config-*' './lib/modules/*/modules.builtin' \
        './lib/modules/*/kernel/fs/9p' './lib/modules/*/kernel/fs/overlayfs' \
        './lib/modules/*/kernel/fs/netfs' './lib/modules/*/kernel/fs/fscache' \
        './lib/modules/*/kernel/net/9p' './lib/modules/*/kernel/drivers/virtio' 2>/dev/null ||
        [ -n "$(find "$tmp/x/boot" -name 'vmlinuz-*' 2>/dev/null)" ] || infra "cannot unpack $deb"
    ver=$(find "$tmp/x/boot" -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | head -1)
    [ -n "$ver" ] || infra "no kernel image in $deb"
    rm -rf "$KDIR"
    mkdir -p "$KDIR"
    mv "$tmp/x/boot/vmlinuz-$ver" "$KDIR/vmlinuz"
    mv "$tmp/x/boot/config-$ver" "$KDIR/config"
    mv "$tmp/x/lib/modules/$ver" "$KDIR/modules"
    unpack_vmlinux
    echo "$pkg $(dpkg-deb -f "$deb" Version)" > "$KDIR/PACKAGE"
    echo "$ver" > "$KDIR/VERSION"  # written last: marks a complete fetch
    rm -rf "$tmp"
    say "kernel $ver cached in $KDIR ($(since "$t0") s)"
}

# Under TCG the guest needs ~9 s just to decompress an xz bzImage.  Debian
# builds with CONFIG_PVH=y, so qemu can boot the uncompressed ELF directly:
# unpack it once here.  Without it the bzImage still works, only slower.
unpack_vmlinux() {
    local off
    grep -q '^CONFIG_PVH=y' "$KDIR/config" || return 0
    for off in $(LC_ALL=C grep -abo $'\xfd7zXZ' "$KDIR/vmlinuz" | cut -d: -f1 | head -3); do
        tail -c +$((off + 1)) "$KDIR/vmlinuz" | xz -dcq --single-stream > "$KDIR/vmlinux.tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$KDIR/vmlinux.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
            mv "$KDIR/vmlinux.tmp" "$KDIR/vmlinux"
            return 0
        fi
    done
    rm -f "$KDIR/vmlinux.tmp"
    say "note: no ELF vmlinux inside the bzImage; booting the bzImage (slower)"
}

# ---------------------------------------------------------------- initramfs
declare -A MOD_PATH=() MOD_SEEN=()
MOD_ORDER=()
mod_resolve() {  # depth first, so that dependencies load first
    local name=${1//-/_} dep
    [ -n "${MOD_SEEN[$name]:-}" ] && return 0
    MOD_SEEN[$name]=1
    grep -qE "/${name//_/[-_]}\.ko" "$KDIR/modules/modules.builtin" 2>/dev/null && return 0
    [ -n "${MOD_PATH[$name]:-}" ] || infra "kernel module $name missing from the cached kernel"
    for dep in $(modinfo_depends "${MOD_PATH[$name]}"); do mod_resolve "$dep"; done
    MOD_ORDER+=("$name")
}
mod_cat() { case $1 in *.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *) cat "$1" ;; esac; }
modinfo_depends() { mod_cat "$1" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' '; }

base_key() {
    { cat "$KDIR/VERSION" "$HERE/guest-init" /bin/busybox; echo "${MODULES[*]}"; } | sha256sum | cut -c1-16
}

cmd_build() {
    lock_cache
    cmd_fetch
    BASE=$CACHE/base-$(base_key).cpio
    [ -f "$BASE" ] && return 0
    local t0 st f n m
    t0=$(now)
    rm -rf "$CACHE"/build.*
    st=$(mktemp -d "$CACHE/build.XXXXXX")
    mkdir -p "$st"/{bin,dev,proc,sys,host,rw,newroot,etc,lib/modules}
    cp /bin/busybox "$st/bin/busybox"
    for n in $(/bin/busybox --list); do [ "$n" = busybox ] || ln -s busybox "$st/bin/$n"; done
    install -m 755 "$HERE/guest-init" "$st/init"
    while IFS= read -r f; do
        n=${f##*/}; n=${n%%.ko*}
        MOD_PATH[${n//-/_}]=$f
    done < <(find "$KDIR/modules/kernel" -name '*.ko*')
    for m in "${MODULES[@]}"; do mod_resolve "$m"; done
    for m in "${MOD_ORDER[@]}"; do
        mod_cat "${MOD_PATH[$m]}" > "$st/lib/modules/$m.ko"
        echo "$m" >> "$st/lib/modules/order"
    done
    # busybox cpio: the cpio package is not needed; the kernel wants newc
    (cd "$st" && find . -mindepth 1 | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) > "$st.cpio" ||
        infra "cannot write the initramfs"
    find "$CACHE" -maxdepth 1 -name 'base-*.cpio' -delete
    mv "$st.cpio" "$BASE"
    rm -rf "$st"
    say "initramfs built: $(du -h "$BASE" | cut -f1), modules ${MOD_ORDER[*]} ($(since "$t0") s)"
}

# ---------------------------------------------------------------- boot
pick_accel() {
    case ${TFJAIL_VM_ACCEL:-auto} in
    tcg | kvm) echo "$TFJAIL_VM_ACCEL"; return ;;
    esac
    # /dev/kvm alone is not enough: a nested host may offer it without
    # hardware virtualisation and run a stock kernel ~1000x slower than TCG.
    if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then echo kvm; else echo tcg; fi
}

RUNDIR=
QPID=
cleanup() {
    if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; wait "$QPID" 2>/dev/null || true; fi
    QPID=
    if [ -n "$RUNDIR" ]; then rm -rf "$RUNDIR"; fi
    RUNDIR=
}

# Keeps the console of a failed run and says where it is.
keep_log() {
    local dst
    mkdir -p "$LOGDIR" 2>/dev/null || LOGDIR=${TMPDIR:-/tmp}
    # keep the newest 20, so that a failing CI machine does not fill up
    find "$LOGDIR" -maxdepth 1 -name 'console-*.log' -printf '%T@ %p\n' 2>/dev/null |
        sort -rn | tail -n +20 | cut -d' ' -f2- | xargs -r rm -f
    dst=$LOGDIR/console-$(date +%Y%m%d-%H%M%S)-$$.log
    tr -d '\r' < "$RUNDIR/console.log" > "$dst" 2>/dev/null && say "console log kept: $dst"
}

# boot WORKDIR CMDSTRING: sets RC (the command's status, or 125)
boot() {
    local workdir=$1 cmd=$2 nonce kimg accel t0 qrc line e
    RC=125 BOOT='' CMDTIME='' WALL=''
    cmd_build  # holds the cache lock until the initrd is assembled below
    kimg=${TFJAIL_VM_KERNEL:-$KDIR/vmlinux}
    [ -n "${TFJAIL_VM_KERNEL:-}" ] || [ -f "$kimg" ] || kimg=$KDIR/vmlinuz
    [ -r "$kimg" ] || infra "no kernel image at $kimg"
    accel=$(pick_accel)
    RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/tfjail-vm.XXXXXX")
    trap cleanup EXIT
    trap 'cleanup; exit 130' INT TERM
    nonce=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    mkdir -p "$RUNDIR/job/tfjail-vm"
    {
        echo "VM_NONCE=$(shq "$nonce")"
        echo "VM_WORKDIR=$(shq "$workdir")"
        echo "VM_CMD=$(shq "$cmd")"
        echo "VM_CGROUP=$(shq "${TFJAIL_VM_CGROUP-/system.slice/tfjail-vm.service}")"
        echo "VM_SYSTEMD=$SYSTEMD"
        echo "VM_SYSTEMD_MASK=$(shq "$SYSTEMD_MASK")"
        # the guest gets the host's user-namespace settings; a kernel without
        # the Debian sysctl (like a newer upstream host) allows them outright
        echo "VM_USERNS_CLONE=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)"
        echo "VM_MAX_USERNS=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)"
        for e in "${ENVS[@]}"; do echo "export $(shq "$e")"; done
    } > "$RUNDIR/job/tfjail-vm/job.env"
    # The kernel unpacks concatenated cpio archives: base + this run's job.
    (cd "$RUNDIR/job" && find . -mindepth 1 | /bin/busybox cpio -o -H newc 2>/dev/null) > "$RUNDIR/job.cpio"
    cat "$BASE" "$RUNDIR/job.cpio" > "$RUNDIR/initrd"
    flock -u 8  # a parallel build may now replace the base archive

    local qargs=(-nodefaults -no-user-config -display none -no-reboot -monitor none
        -m "$MEM" -smp "$SMP" -kernel "$kimg" -initrd "$RUNDIR/initrd"
        -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init$APPEND"
        -chardev "stdio,id=con,signal=off" -serial chardev:con
        # readonly=on: the host refuses writes itself, whatever the guest does
        -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap")
    if [ "$accel" = kvm ]; then
        qargs+=(-accel kvm -cpu host)
    else
        # shellcheck disable=SC2054  # the commas belong to one qemu option value
        qargs+=(-accel tcg,thread=multi,tb-size=512 -cpu max)
    fi
    say "booting ${TFJAIL_VM_KERNEL:-$(cat "$KDIR/VERSION")} ($accel, $MEM MiB, $SMP vCPU, timeout ${TIMEOUT}s) in $workdir"
    t0=$(now)
    # qemu's stdout is the serial console: kept in a file for the result
    # line, and streamed live with the CRs dropped (sed -u: no buffering).
    timeout -k 10 "$TIMEOUT" "$QEMU" "${qargs[@]}" < /dev/null 2> "$RUNDIR/qemu.err" > "$RUNDIR/console.log" &
    QPID=$!
    if [ "${TFJAIL_VM_QUIET:-0}" != 1 ]; then
        tail -s 0.2 -n +1 -F --pid="$QPID" "$RUNDIR/console.log" 2>/dev/null | sed -u 's/\r$//' &
    fi
    qrc=0
    wait "$QPID" || qrc=$?
    QPID=
    wait  # for the console streamer
    WALL=$(since "$t0")
    [ -z "${TFJAIL_VM_LOG:-}" ] || tr -d '\r' < "$RUNDIR/console.log" > "$TFJAIL_VM_LOG" || true
    line=$(tr -d '\r' < "$RUNDIR/console.log" | grep -a "^@@TFJAIL-VM $nonce " | tail -1 || true)
    case $line in
    *" rc="*)
        [[ $line =~ \ rc=([0-9]+) ]] && RC=${BASH_REMATCH[1]}
        [[ $line =~ \ boot=([0-9.]+) ]] && BOOT=${BASH_REMATCH[1]}
        [[ $line =~ \ cmd=([0-9.]+) ]] && CMDTIME=${BASH_REMATCH[1]}
        say "guest result: status $RC; boot ${BOOT:-?} s (guest uptime at command start), command ${CMDTIME:-?} s, wall $WALL s"
        [ "$RC" = 0 ] || keep_log
        return 0
        ;;
    *" infra="*)
        keep_log
        line=${line#* infra=}
        infra "guest: ${line%@@}" ;;
    esac
    keep_log
    [ ! -s "$RUNDIR/qemu.err" ] || sed 's/^/qemu: /' "$RUNDIR/qemu.err" >&2
    case $qrc in
    124 | 137) infra "timeout: no result after ${TIMEOUT}s" ;;
    esac
    if grep -aq 'Kernel panic' "$RUNDIR/console.log"; then
        infra "guest kernel panic: $(grep -a 'Kernel panic' "$RUNDIR/console.log" | head -1 | tr -d '\r')"
    fi
    infra "qemu exited with status $qrc after $WALL s and no result line"
}

# ---------------------------------------------------------------- commands
ENVS=()
SYSTEMD=0
APPEND=
# Units the host may have enabled that a test guest does not need (they only
# slow the boot down under TCG).
SYSTEMD_MASK="systemd-timesyncd.service systemd-pstore.service podman.socket e2scrub_reap.service
  systemd-journal-flush.service systemd-update-utmp.service systemd-random-seed.service"
cmd_run() {
    local cmd a
    while [ $# -gt 0 ]; do
        case $1 in
        --timeout) [ $# -ge 2 ] || infra "run: --timeout needs seconds"; TIMEOUT=$2; shift 2 ;;
        --env)
            [[ $# -ge 2 && $2 == [A-Za-z_]*=* ]] || infra "run: --env needs NAME=VALUE"
            ENVS+=("$2"); shift 2 ;;
        --cgroup) [ $# -ge 2 ] || infra "run: --cgroup needs a path"; TFJAIL_VM_CGROUP=$2; shift 2 ;;
        --systemd)
            [ -x /lib/systemd/systemd ] || infra "run --systemd: no /lib/systemd/systemd on the host"
            # pure cgroup v2: no v1 hierarchy may be mounted, by systemd or anyone
            SYSTEMD=1 APPEND=" systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
            shift ;;
        --) shift; break ;;
        -*) infra "run: unknown option $1" ;;
        *) break ;;
        esac
    done
    [ $# -gt 0 ] || infra "run: no command (vm.sh run [options] -- CMD...)"
    [[ $TIMEOUT =~ ^[0-9]+$ ]] || infra "run: --timeout wants whole seconds, not '$TIMEOUT'"
    # exec: the command itself, not a shell waiting for it, is the only
    # process in its cgroup (a service may not enable controllers for its
    # children while it has processes of its own)
    cmd="exec"
    for a in "$@"; do cmd+=" $(shq "$a")"; done
    boot "$PWD" "$cmd"
    return "$RC"
}

cmd_selftest() {
    boot "$HERE" "exec ./selftest.sh"
    if [ "$RC" = 0 ]; then echo "vm selftest: PASS (wall $WALL s)"; else echo "vm selftest: FAIL (status $RC)"; fi
    return "$RC"
}

main() {
    local sub=${1:-help}
    [ $# -eq 0 ] || shift
    case $sub in
    fetch) need_tools; lock_cache; cmd_fetch ;;
    build) need_tools; cmd_build ;;
    run) need_tools; cmd_run "$@" ;;
    selftest) need_tools; cmd_selftest ;;
    clean) rm -rf "$CACHE" ;;
    help | -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) infra "unknown command '$sub' (vm.sh --help)" ;;
    esac
}
main "$@"
