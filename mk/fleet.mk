# bench/fleet: the job store and a fleet of tfjail serve hosts on one Redis.

STORE_TIMER := $(BUILD)/bench/store-timer

$(STORE_TIMER): bench/store-timer.c $(BUILD)/libtfjail.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libtfjail.a $(PKG_LIBS)

.PHONY: bench-fleet
# JOBS=N: store calls and submissions per measurement; PLANS=N: plans per throughput run.
bench-fleet: $(BIN) $(STORE_TIMER)
	TFJAIL_BIN=$(abspath $(BIN)) STORE_TIMER=$(abspath $(STORE_TIMER)) bench/fleet $(if $(JOBS),-n $(JOBS)) $(if $(PLANS),-j $(PLANS))

bench: bench-fleet
