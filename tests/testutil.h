/* Helpers shared by the test suites. */
#ifndef TFJAIL_TESTS_TESTUTIL_H
#define TFJAIL_TESTS_TESTUTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* Removes a directory tree (no symlink following). */
void tj_test_rm_rf(const char *path);

/* Temporary files and directories of the tests.  A failed assertion ends a
 * test at once (Check's forked child exits without its clean-up, and
 * without a checked fixture's teardown), so every path made here is also
 * written to the list of the runner (TFJAIL_TEST_LEFTOVERS), which removes
 * whatever of it is still there once the suites have run. */
char *tj_test_mkdtemp(char *tmpl);
int tj_test_mkstemps(char *tmpl, int suffixlen);
/* A path made otherwise (a fixed name), for the same clean-up. */
void tj_test_track(const char *path);
/* The runner's half: removes every listed path still there (the same
 * inode; never below a mount point); returns how many. */
size_t tj_test_remove_tracked(const char *list);
/* Creates dir/relpath (and parents) with the given content. */
void tj_test_write(const char *dir, const char *relpath, const char *content);
/* True when running as root (the sandbox tests need it). */
bool tj_test_is_root(void);
/* Path of a built probe (TFJAIL_PROBES/name) or of bin/tfjail (TFJAIL_BIN). */
const char *tj_test_probe(const char *name);
const char *tj_test_bin(void);
/* Path below the source tree (TFJAIL_SRCDIR, default "."). */
const char *tj_test_src(const char *rel);

/* Runs argv (no shell), captures stdout and stderr (NUL-terminated, caller
 * frees); returns the wait status. */
int tj_test_spawn(char *const argv[], char **out, char **err);

/* The bytes of member key of a JSON object's text, as they are (malloc'd),
 * or NULL. */
char *tj_test_member_bytes(const char *json, const char *key);

/* terraform init, plan (with plan_args) and show -json run bare, outside
 * any sandbox, on a copy of a fixture directory with an environment of
 * nothing, providers from the same mirror; the show output normalised as
 * tfjail does (malloc'd).  Only for fixtures that read nothing of the host. */
char *tj_test_bare_plan(const char *fixture_dir, const char *const *plan_args);

/* The dependency lock file an operator makes for a fixture against the
 * provider mirror (`terraform providers lock -fs-mirror=MIRROR
 * -platform=...`, run bare), as text (malloc'd). */
char *tj_test_lock_file(const char *fixture_dir);
#endif
