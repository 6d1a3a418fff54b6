# tfjail in a container: `tfjail serve` on 0.0.0.0:8001.
#
#   make container-image            # local base images (mmdebstrap), no registry
#   podman build --format docker -t tfjail .   # from debian:bookworm-slim
#
# Nothing is downloaded for terraform or the providers: terraform comes from
# the build context (container/dist/terraform, or --build-arg TERRAFORM=path),
# the provider mirror from a read-only volume at run time.  The uploads volume
# is mounted read-only at /var/lib/tfjail/uploads.  The privileges the sandbox
# needs at run time are in docs/container.md.

# Debian 12.  make container-image passes bases made with mmdebstrap that hold
# the packages already; from stock debian:bookworm-slim they are installed.
ARG BASE=docker.io/library/debian:bookworm-slim
ARG BUILD_BASE=${BASE}

FROM ${BUILD_BASE} AS build
LABEL org.tfjail.stage=build
WORKDIR /src
COPY . .
# make deps installs only what the base lacks (nothing with BUILD_BASE), and
# only the packages of the build (not those that only make test uses).
RUN rm -rf container/dist bin build \
 && { command -v make >/dev/null || { apt-get update -q && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make; }; } \
 && make deps DEB_PKGS="$(make -s --no-print-directory print-CONTAINER_BUILD_DEBS)" EXTRA_DEB= \
 && make -j"$(nproc)" all \
 && strip --strip-debug bin/tfjail

FROM ${BASE} AS runtime
LABEL org.tfjail.stage=runtime
COPY container/runtime.packages /usr/share/tfjail/runtime.packages
RUN set -e; missing=""; \
    for p in $(grep -v '^#' /usr/share/tfjail/runtime.packages); do \
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update -q && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing && \
      rm -rf /var/lib/apt/lists/*; \
    fi
ARG TERRAFORM=container/dist/terraform
COPY ${TERRAFORM} /usr/local/bin/terraform
COPY --from=build /src/bin/tfjail /usr/local/bin/tfjail
COPY container/entrypoint.sh /usr/local/lib/tfjail/entrypoint
COPY container/tfjail.json /etc/tfjail/tfjail.json
COPY policy/default.json /etc/tfjail/policy.json
# The provider mirror (terraform's filesystem-mirror layout), read-only:
#   -v /opt/tf-plugins:/usr/local/share/terraform/plugins:ro
# The uploads, read-only: <upload_id>/ directories of .tf files:
#   -v /srv/tfjail/uploads:/var/lib/tfjail/uploads:ro
RUN mkdir -p /usr/local/share/terraform/plugins /var/lib/tfjail/uploads /run/tfjail
EXPOSE 8001
# /health without curl: 200 when terraform, the mirror, cgroups, the uploads
# directory and the job launcher are all usable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8001 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && read -r _ code _ <&3 && [ \"$code\" = 200 ]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/lib/tfjail/entrypoint"]
CMD ["--config", "/etc/tfjail/tfjail.json"]
