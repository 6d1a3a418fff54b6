# The default seccomp filter, compiled by libseccomp once at build time and
# embedded in runtime/seccomp.o: libseccomp's BPF generation costs 1-6 ms,
# which every `tfjail run` would otherwise pay.  The generator links its own
# copy of runtime/seccomp.c, built without the embedded filter.

SECCOMP_GEN := $(BUILD)/gen/seccomp-bpf
SECCOMP_INC := $(BUILD)/gen/seccomp_prebuilt.inc

$(BUILD)/gen/seccomp.o: runtime/seccomp.c | need-pkgs
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/gen/seccomp_bpf.o: runtime/gen/seccomp_bpf.c | need-pkgs
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(SECCOMP_GEN): $(BUILD)/gen/seccomp_bpf.o $(BUILD)/gen/seccomp.o $(BUILD)/common/error.o
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(SECCOMP_INC): $(SECCOMP_GEN)
	$(SECCOMP_GEN) > $@.tmp && mv $@.tmp $@

# private: the generator's objects, prerequisites of the .inc, must not
# inherit the flag that makes seccomp.c include it.
$(BUILD)/runtime/seccomp.o: $(SECCOMP_INC)
$(BUILD)/runtime/seccomp.o: private CFLAGS_ALL += -DTFJAIL_SECCOMP_PREBUILT -I$(BUILD)/gen

-include $(BUILD)/gen/*.d
