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
