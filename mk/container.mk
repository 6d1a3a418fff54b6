# The container image (Dockerfile) and its test (container/, docs/container.md).
# podman with the repository's containers.conf; the base images are made
# locally with mmdebstrap and kept between runs (keyed on their package lists).

CONTAINER_IMAGE ?= localhost/tfjail:latest

# The kubernetes suite of make test reads the manifests with PyYAML.
EXTRA_DEB += python3 python3-yaml

# What the image's build stage installs: the Makefile's packages without
# those only make test uses.
CONTAINER_BUILD_DEBS := $(filter-out check systemd man-db redis-server,$(DEB_PKGS))

.PHONY: container-image test-container print-CONTAINER_BUILD_DEBS

print-CONTAINER_BUILD_DEBS:
	@echo $(CONTAINER_BUILD_DEBS)

container-image:
	container/image.sh $(CONTAINER_IMAGE)

test-container: $(PROBES)
	@t0=$$(date +%s); TFJAIL_PROBES=$(abspath $(BUILD)/probes) container/test.sh $(CONTAINER_IMAGE); rc=$$?; \
	echo "test-container: total wall time $$(( $$(date +%s) - t0 )) s (status $$rc)"; exit $$rc
