# Benchmarks under bench/: `make bench` runs them all; each prints ratios
# against baselines measured in the same run.

BENCH_TIMER := $(BUILD)/bench/spawn-timer

$(BENCH_TIMER): bench/spawn-timer.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -o $@ $<

.PHONY: bench-spawn
# RUNS=N overrides the number of runs per variant (default 200).
bench-spawn: $(BIN) $(BENCH_TIMER)
	TFJAIL_BIN=$(abspath $(BIN)) SPAWN_TIMER=$(abspath $(BENCH_TIMER)) bench/spawn $(if $(RUNS),-n $(RUNS))

bench: bench-spawn

.PHONY: bench-pipeline bench-memory-floor
# The whole job against the naive four-step flow (bare and in bwrap).
bench-pipeline: $(BIN)
	TFJAIL_BIN=$(abspath $(BIN)) bench/pipeline $(if $(RUNS),-n $(RUNS))

# The smallest memory limit at which the aws fixture plans reliably.
bench-memory-floor: $(BIN)
	TFJAIL_BIN=$(abspath $(BIN)) bench/memory-floor $(if $(RUNS),-n $(RUNS))

bench: bench-pipeline

.PHONY: bench-api
API_LOAD := $(BUILD)/bench/api-load

$(API_LOAD): bench/api-load.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $<

# GET /health req/s and p99, idle and with 200 slow clients and two jobs.
bench-api: $(BIN) $(API_LOAD)
	TFJAIL_BIN=$(abspath $(BIN)) API_LOAD=$(abspath $(API_LOAD)) bench/api $(if $(RUNS),-n $(RUNS))

bench: bench-api

.PHONY: bench-planjson
BENCH_PLANJSON := $(BUILD)/bench/planjson-timer
$(BENCH_PLANJSON): bench/planjson-timer.c $(BUILD)/libtfjail.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libtfjail.a $(LDFLAGS_ALL) $(PKG_LIBS)

# The plan normaliser on the aws fixture's plan JSON, against cJSON.
bench-planjson: $(BIN) $(BENCH_PLANJSON)
	TFJAIL_BIN=$(abspath $(BIN)) PLANJSON_TIMER=$(abspath $(BENCH_PLANJSON)) bench/planjson $(RUNS)

bench: bench-planjson

.PHONY: bench-modules
# A job with modules from the module mirror against the same modules vendored.
bench-modules: $(BIN)
	TFJAIL_BIN=$(abspath $(BIN)) bench/modules $(if $(RUNS),-n $(RUNS))

bench: bench-modules
