/* The one Check runner: every suite in tests/unit and tests/integration.
 *
 *   TFJAIL_SUITE=name[,name]  run only these suites
 *   CK_RUN_CASE, CK_FORK, CK_VERBOSITY work as Check documents.
 * Ends with Check's summary line; exit status 0 only when everything passed.
 *
 * A failed assertion ends its test at once, before the test's own clean-up
 * (in fork mode Check's child exits; neither a checked teardown nor an
 * atexit handler runs).  The tests' temporary paths (tj_test_mkdtemp etc.)
 * are listed in a file of this process, and whatever of them is still
 * there after the run is removed here. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "suites.inc"

static bool suite_selected(const char *name)
{
	const char *sel = getenv("TFJAIL_SUITE");
	size_t len = strlen(name);

	if (!sel || !*sel)
		return true;
	for (const char *p = sel; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p += n + (end ? 1 : 0);
	}
	return false;
}

static SRunner *runner;

static void tj_add_suite(SRunner *sr, const char *name, Suite *(*make)(void))
{
	Suite *s;

	(void)sr;
	if (!suite_selected(name))
		return;
	s = make();
	if (!runner)
		runner = srunner_create(s);
	else
		srunner_add_suite(runner, s);
}

int main(void)
{
	char list[] = "/tmp/tfjail-tests-paths-XXXXXX";
	int failed, fd;
	size_t left;

	TFJAIL_ADD_SUITES(NULL);
	if (!runner) {
		fprintf(stderr, "no suite matches TFJAIL_SUITE=%s\n", getenv("TFJAIL_SUITE"));
		return 2;
	}
	fd = mkstemp(list);
	if (fd < 0 || setenv("TFJAIL_TEST_LEFTOVERS", list, 1) < 0) {
		perror("tests: the list of temporary paths");
		return 2;
	}
	close(fd);
	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	left = tj_test_remove_tracked(list);
	if (left)
		fprintf(stderr, "tests: removed %zu temporary path(s) that tests left behind\n", left);
	unlink(list);
	return failed == 0 ? 0 : 1;
}
