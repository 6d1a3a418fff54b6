#!/usr/bin/env bash
# Makes a Debian 12 base image locally, without a registry:
#   container/base.sh TAG-PREFIX PACKAGE...
# mmdebstrap --variant=minbase bookworm with PACKAGE... preinstalled, imported
# with `podman import` as TAG-PREFIX:KEY, where KEY is a hash of the package
# list and of BASE_RECIPE: a second run with the same list reuses the image.
# Prints the image's name on stdout.
set -euo pipefail
prefix=$1
shift
packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
# Change BASE_RECIPE when the image this script makes changes (suite,
# variant, sources, excluded paths): it invalidates every cached base.
BASE_RECIPE="bookworm minbase main+updates+security nodoc 1"
key=$(printf '%s\n%s\n' "$packages" "$BASE_RECIPE" | sha256sum | cut -c1-16)
image="$prefix:$key"
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
echo "base: building $image with mmdebstrap ($packages)" >&2
t0=$(date +%s)
tmp=$(mktemp -d /tmp/tfjail-base.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Documentation and translations are left out, as in Debian's slim images.
# The tarball is imported only when mmdebstrap succeeded, so a failed run
# never leaves a cached image behind.  mmdebstrap runs in a mount namespace
# of its own: the chroot's /proc and /dev mounts are never seen (and never
# held busy) by the rest of the host, and vanish with it; one retry.
debstrap() {
    unshare --mount --propagation private mmdebstrap --variant=minbase --quiet \
        --include="$(echo "$packages" | tr ' ' ',' | sed 's/,$//')" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$tmp/base.tar" \
        'deb http://deb.debian.org/debian bookworm main' \
        'deb http://deb.debian.org/debian bookworm-updates main' \
        'deb http://deb.debian.org/debian-security bookworm-security main'
}
debstrap || { rm -f "$tmp/base.tar"; debstrap; }
podman import --quiet --change 'CMD ["/bin/bash"]' "$tmp/base.tar" "$image" >/dev/null
# Bases of earlier package lists go, unless an image still uses them.
podman images --format '{{.Repository}}:{{.Tag}}' --filter reference="$prefix" | grep -vxF "$image" |
    xargs -r podman rmi >/dev/null 2>&1 || true
echo "base: $image built in $(($(date +%s) - t0)) s" >&2
echo "$image"
