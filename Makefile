# tfjail — build, test and run.  `make help` lists the targets.

CC       ?= gcc
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
BUILD    ?= build
PREFIX   ?= /usr/local
PKGS     := libnl-3.0 libnl-route-3.0 libseccomp mount libcjson libmicrohttpd nettle hiredis
DEB_PKGS := gcc make pkg-config libc6-dev libnl-3-dev libnl-route-3-dev libseccomp-dev \
            libmount-dev libcjson-dev libmicrohttpd-dev nettle-dev libhiredis-dev check \
            systemd man-db redis-server
# (check, systemd, man-db and redis-server for make test: the Check suites,
# systemd-analyze verify of the unit, man -l of the man pages, the Redis job
# store's suites, which start redis-server themselves)

# pkg-config is asked when make reads this file: `make test` and `make run`
# install what is missing first (make deps) and then run make again, so that
# these are the flags of the installed packages (see "Packages" below).
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wpointer-arith -Wcast-qual -Wno-unused-parameter \
        -Wvla -Wundef -Wno-format-truncation
HARDEN := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -fno-strict-overflow
OPT    ?= -O2 -g
SAN    ?=
CFLAGS_ALL  := -std=gnu11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) $(SAN) -I. $(PKG_CFLAGS) \
               -DTFJAIL_VERSION=\"$(VERSION)\" $(CFLAGS)
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now $(SAN) $(LDFLAGS)

LIB_DIRS := common runtime rootfs policy executor api
LIB_SRC  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)) cli/common.c
CLI_SRC  := $(filter-out cli/common.c,$(wildcard cli/*.c))
TEST_SRC := $(wildcard tests/unit/*.c tests/integration/*.c) tests/runner.c
PROBE_SRC := $(wildcard tests/probes/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
PROBES   := $(PROBE_SRC:tests/probes/%.c=$(BUILD)/probes/%)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# V=1 shows the compiler command lines.
Q        := $(if $(V),,@)

BIN      := bin/tfjail
ifneq ($(BUILD),build)
BIN      := $(BUILD)/bin/tfjail
endif
TESTBIN  := $(BUILD)/tests/tfjail-tests

.PHONY: sarif-validator docs all deps test test-unit asan run clean fmt lint help probes test-vm bench fuzz

all: $(BIN)

help:
	@echo "make          build $(BIN)"
	@echo "make deps     install missing Debian packages (apt-get)"
	@echo "make test     build and run every Check suite (unit + integration; root for the sandbox)"
	@echo "make asan     the same suites under ASan+UBSan (build-asan/)"
	@echo "make test-vm  the cgroup v2 integration tests inside a qemu guest"
	@echo "make run      build and start the service"
	@echo "make bench    run the benchmarks under bench/"
	@echo "make fmt / lint   clang-format / clang-tidy + cppcheck"
	@echo "make docs     regenerate the rule table of docs/policy.md"
	@echo "make sarif-validator   npm: the SARIF 2.1.0 schema and ajv for the SARIF test"

# The SARIF schema and validator the tests use (npm; tests/sarif/validate.js);
# make test installs them.
SARIF_NPM := ajv@6.12.6 @microsoft/jest-sarif@1.0.0-beta.0
sarif-validator:
	@test -f $(BUILD)/npm/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json || \
	  npm install --no-audit --no-fund --ignore-scripts --no-save --prefix $(BUILD)/npm $(SARIF_NPM)

# ---- Packages
# The Debian packages of DEB_PKGS (and EXTRA_DEB) that are not installed.
MISSING_DEBS = for p in $(DEB_PKGS) $(EXTRA_DEB); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || printf ' %s' $$p; \
	done
# apt-get waits for a dpkg lock another apt-get holds instead of failing.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends

# docs/policy.md's rule table is `tfjail rules --output markdown` (tests/integration/test_docs.c).
docs: $(BIN)
	$(Q)$(BIN) rules --output markdown > $(BUILD)/rules.md
	$(Q)awk -v f=$(BUILD)/rules.md '/<!-- rules:begin -->/ { print; while ((getline l < f) > 0) print l; skip = 1; next } \
	  /<!-- rules:end -->/ { skip = 0 } !skip' docs/policy.md > $(BUILD)/policy.md && mv $(BUILD)/policy.md docs/policy.md

deps:
	@missing="$$($(MISSING_DEBS))"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install$$missing" >&2; exit 2; fi; \
	  $(APT_INSTALL) $$missing || { apt-get -o DPkg::Lock::Timeout=600 update -q && $(APT_INSTALL) $$missing; }; \
	fi

# Every object waits for need-pkgs (order-only): when make was started
# without the build packages, it stops with one message naming them instead
# of a compiler error about a missing header.
PKG_PRESENT := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
CHECK_PRESENT := $(shell pkg-config --exists check 2>/dev/null && echo yes)
define NEED_PKGS
	@echo "make: pkg-config modules the build needs are missing:$$(for m in $(1); do pkg-config --exists $$m 2>/dev/null || printf ' %s' $$m; done)" >&2; \
	missing="$$($(MISSING_DEBS))"; \
	[ -z "$$missing" ] || echo "make: Debian packages not installed:$$missing" >&2; \
	echo "make: run 'make deps' as root (make test and make run do it themselves)" >&2; \
	exit 2
endef

.PHONY: need-pkgs need-check
need-pkgs:
ifneq ($(PKG_PRESENT),yes)
	$(call NEED_PKGS,$(PKGS))
endif
need-check: need-pkgs
ifneq ($(CHECK_PRESENT),yes)
	$(call NEED_PKGS,check)
endif

# A text file as a NUL-terminated C initialiser (policy/default.json, api/openapi.json).
EMBED_TEXT = @mkdir -p $(dir $@); \
	{ od -An -v -tx1 $< | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0x00'; } > $@.tmp && mv $@.tmp $@

# Suites are found by name (tests/gen-suites.sh), not declared in headers.
$(BUILD)/tests/%.o: CFLAGS_ALL += -Wno-missing-prototypes -Wno-cast-qual -Wno-write-strings
$(TEST_OBJ): | need-check

$(BUILD)/%.o: %.c | need-pkgs
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/libtfjail.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(BUILD)/libtfjail.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(BUILD)/libtfjail.a $(PKG_LIBS)

# Every `Suite *NAME_suite(void)` in tests/ is registered in the runner.
$(BUILD)/tests/suites.inc: $(filter-out tests/runner.c,$(TEST_SRC)) tests/gen-suites.sh
	@mkdir -p $(dir $@)
	sh tests/gen-suites.sh $(filter-out tests/runner.c,$(TEST_SRC)) > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/runner.o: tests/runner.c $(BUILD)/tests/suites.inc
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -I$(BUILD)/tests -MMD -MP -c $< -o $@

$(TESTBIN): $(TEST_OBJ) $(BUILD)/libtfjail.a
	$(CC) $(LDFLAGS_ALL) -o $@ $(TEST_OBJ) $(BUILD)/libtfjail.a $(PKG_LIBS) $(CHECK_LIBS)

# Probes run inside the sandbox, which has no libraries: static, no PIE.
$(BUILD)/probes/%: tests/probes/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

probes: $(PROBES)

# `make test` and `make run` on a fresh host: make deps installs the missing
# packages, then make runs again for the real target, with the pkg-config
# flags of what is now installed.
ifeq ($(TFJAIL_DEPS_DONE),)
test run: deps
	+@$(MAKE) --no-print-directory TFJAIL_DEPS_DONE=1 $@
else
test: $(BIN) $(TESTBIN) $(PROBES) sarif-validator
	TFJAIL_BIN=$(abspath $(BIN)) TFJAIL_PROBES=$(abspath $(BUILD)/probes) \
	TFJAIL_SRCDIR=$(CURDIR) TFJAIL_SARIF_NODE_MODULES=$(abspath $(BUILD)/npm/node_modules) $(TESTBIN)

# The HTTP service in the foreground (127.0.0.1:8001 unless ARGS say otherwise,
# e.g. ARGS="--config config/tfjail.json").
run: $(BIN)
	$(BIN) serve $(ARGS)
endif

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" test

clean:
	rm -rf build build-asan build-fuzz bin

fmt:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(wildcard */*.h) $(PROBE_SRC)

# clang-tidy parses with clang: gcc-only warning flags stay out; the generated
# headers must exist.
TIDY_FLAGS := -std=gnu11 -D_GNU_SOURCE -I. -I$(BUILD)/gen $(PKG_CFLAGS) -DTFJAIL_VERSION=\"$(VERSION)\" \
              -DTFJAIL_SECCOMP_PREBUILT

lint: $(BUILD)/gen/default_json.inc $(BUILD)/gen/openapi_json.inc $(BUILD)/gen/seccomp_prebuilt.inc
	clang-tidy --quiet $(LIB_SRC) $(CLI_SRC) -- $(TIDY_FLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem -D_GNU_SOURCE -I. \
	  $(shell pkg-config --cflags-only-I libcjson) $(LIB_DIRS) cli

-include $(DEPS)
-include mk/*.mk
