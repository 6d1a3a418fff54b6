#!/usr/bin/env bash
# Makes a Debian 12 base image locally, without a registry:
#   container/base.sh TAG-PREFIX PACKAGE...
# mmdebstrap --variant=minbase bookworm with PACKAGE... preinstalled, imported
# with `podman import` as TAG-PREFIX:KEY, where KEY is a hash of this script and
# the package list: a second run with the same list reuses the image.  Prints
# the image's name on stdout.
set -euo pipefail
prefix=$1
shift
packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
key=$(printf '%s\n%s\n' "$packages" "$(sha256sum <"$0")" | sha256sum | cut -c1-16)
image="$prefix:$key"
if podman image exists "$image"; then
    echo "$image"
    exit 0
fi
echo "base: building $image with mmdebstrap ($packages)" >&2
t0=$(date +%s)
# Documentation and translations are left out, as in Debian's slim images.
mmdebstrap --variant=minbase --quiet \
    --include="$(echo "$packages" | tr ' ' ',' | sed 's/,$//')" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm - \
    'deb http://deb.debian.org/debian bookworm main' \
    'deb http://deb.debian.org/debian bookworm-updates main' \
    'deb http://deb.debian.org/debian-security bookworm-security main' |
    podman import --quiet --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "base: $image built in $(($(date +%s) - t0)) s" >&2
echo "$image"
