# policy/: the embedded default policy, the fuzzers, corpus replay and the scan benchmark.

# policy/default.json becomes a C initialiser (one source of truth for the built-in default).
$(BUILD)/gen/default_json.inc: policy/default.json
	$(EMBED_TEXT)

$(BUILD)/policy/default_json.o: $(BUILD)/gen/default_json.inc
$(BUILD)/policy/default_json.o: CFLAGS_ALL += -I$(BUILD)/gen

# ---- fuzzing (clang + libFuzzer, ASan + UBSan) ----
# make fuzz                       build both targets into build-fuzz/
# make fuzz-run FUZZ_SECONDS=620  run both in parallel on copies of the seed corpus
FUZZ_CC      ?= clang
FUZZ_DIR     := build-fuzz
FUZZ_FLAGS   := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -I. $(shell pkg-config --cflags libcjson 2>/dev/null)
FUZZ_SECONDS ?= 620
FUZZ_HCL_SRC := policy/hcl_lex.c policy/hcl_parse.c common/util.c common/error.c
FUZZ_JSON_SRC := policy/tfjson.c $(FUZZ_HCL_SRC)

$(FUZZ_DIR)/fuzz_hcl: tests/fuzz/fuzz_hcl.c $(FUZZ_HCL_SRC) policy/hcl.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_hcl.c $(FUZZ_HCL_SRC) -lnettle

$(FUZZ_DIR)/fuzz_tfjson: tests/fuzz/fuzz_tfjson.c $(FUZZ_JSON_SRC) policy/hcl.h policy/tfjson.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ tests/fuzz/fuzz_tfjson.c $(FUZZ_JSON_SRC) \
	  $(shell pkg-config --libs libcjson 2>/dev/null) -lnettle

fuzz: $(FUZZ_DIR)/fuzz_hcl $(FUZZ_DIR)/fuzz_tfjson

.PHONY: fuzz-run
fuzz-run: fuzz
	@mkdir -p $(FUZZ_DIR)/corpus-hcl $(FUZZ_DIR)/corpus-tfjson tests/fuzz/crashes
	cp -n tests/fuzz/corpus/hcl/* $(FUZZ_DIR)/corpus-hcl/ 2>/dev/null || true
	cp -n tests/fuzz/corpus/tfjson/* $(FUZZ_DIR)/corpus-tfjson/ 2>/dev/null || true
	@# the scan fixtures seed the fuzzers too (flattened: DIR-FILE)
	for f in tests/fixtures/scan/*/*.tf tests/fixtures/scan/*/*.tf.json; do \
	  case $$f in *.tf.json) d=corpus-tfjson ;; *) d=corpus-hcl ;; esac; \
	  n=$$(echo "$${f#tests/fixtures/scan/}" | tr / -); cp -n "$$f" "$(FUZZ_DIR)/$$d/$$n"; \
	done
	$(FUZZ_DIR)/fuzz_hcl -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=tests/fuzz/crashes/ \
	  -dict=tests/fuzz/hcl.dict $(FUZZ_DIR)/corpus-hcl > $(FUZZ_DIR)/fuzz_hcl.log 2>&1 & \
	$(FUZZ_DIR)/fuzz_tfjson -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -artifact_prefix=tests/fuzz/crashes/ \
	  -dict=tests/fuzz/json.dict $(FUZZ_DIR)/corpus-tfjson > $(FUZZ_DIR)/fuzz_tfjson.log 2>&1 & \
	wait
	tail -n 3 $(FUZZ_DIR)/fuzz_hcl.log $(FUZZ_DIR)/fuzz_tfjson.log

# ---- scan benchmark ----
.PHONY: bench-scan
bench-scan: $(BIN)
	sh bench/scan $(BIN)

bench: bench-scan
