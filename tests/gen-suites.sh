#!/bin/sh
# Emits the suite registry for tests/runner.c: every function of the form
#   Suite *NAME_suite(void)
# found in the given test sources becomes one srunner_add_suite() call.
set -eu
names=$(grep -ho '^Suite \*[a-z0-9_]*_suite(void)' "$@" | sed 's/^Suite \*\([a-z0-9_]*\)(void)/\1/' | sort)
for n in $names; do echo "Suite *$n(void);"; done
echo "#define TFJAIL_ADD_SUITES(sr) do { \\"
for n in $names; do echo "	tj_add_suite((sr), \"${n%_suite}\", $n); \\"; done
echo "} while (0)"
