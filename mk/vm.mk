# The cgroup v2 tests in a qemu guest (tests/vm/, docs/vm-tests.md).
# Everything is built on the host; the guest runs the host's binaries on a
# read-only overlay of the host's root, with the host's systemd as PID 1 (the
# installed unit is tested there: tests/vm/guest-systemd.sh).  Exit status 125 from vm.sh means the
# VM itself failed (no kernel, qemu error, timeout), not a test.

VM_SH      := tests/vm/vm.sh
# boot-to-result budget for the whole guest run (TCG is slow)
VM_TIMEOUT ?= 1500
# extra vm.sh run options, e.g. VM_ARGS="--env TFJAIL_VM_SUITES=cgroup_real"
VM_ARGS    ?=

.PHONY: vm-selftest vm-fetch

test-vm: $(BIN) $(TESTBIN) $(PROBES)
	@t0=$$(date +%s); \
	$(VM_SH) run --systemd --timeout $(VM_TIMEOUT) \
	  --env BUILD=$(BUILD) \
	  --env TFJAIL_BIN=$(abspath $(BIN)) \
	  --env TFJAIL_TESTBIN=$(abspath $(TESTBIN)) \
	  --env TFJAIL_PROBES=$(abspath $(BUILD)/probes) \
	  --env TFJAIL_SRCDIR=$(CURDIR) \
	  $(VM_ARGS) -- tests/vm/guest-tests.sh; rc=$$?; \
	echo "test-vm: total wall time $$(( $$(date +%s) - t0 )) s (status $$rc$$([ $$rc = 125 ] && echo ', VM infrastructure failure'))"; \
	exit $$rc

vm-selftest:
	$(VM_SH) selftest

vm-fetch:
	$(VM_SH) build
