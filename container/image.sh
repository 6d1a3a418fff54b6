#!/usr/bin/env bash
# Builds the tfjail image with podman from local base images, without a
# registry or the internet:  container/image.sh [TAG]   (default localhost/tfjail:latest)
#
# - the bases: container/base.sh (mmdebstrap), cached by package list;
# - terraform: $TERRAFORM, else the one on PATH, staged in container/dist/;
# - podman runs with container/containers.conf (CONTAINERS_CONF), the
#   chroot isolation and runc, which work on hybrid cgroup hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-localhost/tfjail:latest}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/container/containers.conf}

build_pkgs=$(make -s --no-print-directory print-CONTAINER_BUILD_DEBS)
runtime_pkgs=$(grep -v '^#' container/runtime.packages)
build_base=$(container/base.sh localhost/tfjail-base-build $build_pkgs)
runtime_base=$(container/base.sh localhost/tfjail-base-runtime $runtime_pkgs)

terraform=${TERRAFORM:-$(command -v terraform || true)}
[ -x "$terraform" ] || { echo "image: no terraform (set TERRAFORM=/path/to/terraform)" >&2; exit 2; }
mkdir -p container/dist
cmp -s "$terraform" container/dist/terraform || cp "$terraform" container/dist/terraform

t0=$(date +%s)
podman build --quiet --isolation chroot --runtime runc --format docker --pull=never \
    --build-arg BASE="$runtime_base" --build-arg BUILD_BASE="$build_base" \
    -t "$tag" . >/dev/null
# Earlier builds (untagged build stages and images) are not kept.
podman image prune -f --filter label=org.tfjail.stage >/dev/null
echo "image: $tag built in $(($(date +%s) - t0)) s ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{printf "%d MB", $1/1e6}'))" >&2
