/* make install / make uninstall into a temporary prefix and a DESTDIR: the
 * files land where docs/install.md says, an operator's edited configuration
 * survives both, the installed systemd unit passes `systemd-analyze verify`,
 * the man pages render without warnings and the bash completion completes.
 * (The unit running under a real systemd: tests/vm/guest-systemd.sh.) */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/testutil.h"

static char root[PATH_MAX];

/* Runs a shell command line; returns its exit status, stdout in *out (freed by the caller). */
static int shell(char **out, const char *fmt, ...)
{
	char cmd[8192], *o = NULL, *e = NULL;
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char *const argv[] = {"/bin/sh", "-c", cmd, NULL};
	st = tj_test_spawn(argv, &o, &e);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "install: `%s` failed:\n%s%s", cmd, o, e);
	free(e);
	if (out)
		*out = o;
	else
		free(o);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* make -C SRCDIR TARGET ARGS, with the binary the suites test, never rebuilt. */
static int make(const char *target, const char *args)
{
	const char *bin = tj_test_bin();
	return shell(NULL, "make -s --no-print-directory -C '%s' -o '%s' BIN='%s' %s %s", tj_test_src(""),
	             bin, bin, target, args);
}

static char *slurp(const char *dir, const char *rel)
{
	char path[PATH_MAX], *s = NULL;
	struct tj_error err;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	ck_assert_msg(tj_read_file(path, 1 << 24, &s, NULL, &err) == 0, "%s: %s", path, err.msg);
	return s;
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s%s", dir, rel);
	return access(path, F_OK) == 0;
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/tfjail-install.XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(root));
}

static void teardown(void)
{
	tj_test_rm_rf(root);
}

static const char *const installed[] = {
    "/bin/tfjail",
    "/lib/systemd/system/tfjail.service",
    "/share/man/man1/tfjail.1",
    "/share/man/man5/tfjail-policy.5",
    "/share/bash-completion/completions/tfjail",
    "/share/tfjail/policy.json",
    "/share/tfjail/tfjail.json",
    "/etc/tfjail/policy.json",
    "/etc/tfjail/tfjail.json",
};

START_TEST(install_into_prefix_then_uninstall)
{
	char args[PATH_MAX * 2 + 64], *unit, *conf, *out = NULL;

	snprintf(args, sizeof(args), "PREFIX=%s SYSCONFDIR=%s/etc", root, root);
	ck_assert_int_eq(make("install", args), 0);
	for (size_t i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
		ck_assert_msg(exists(root, installed[i]), "%s not installed", installed[i]);

	/* the unit and the configuration name the installed paths */
	unit = slurp(root, "/lib/systemd/system/tfjail.service");
	{
		char want[PATH_MAX * 2 + 64];
		snprintf(want, sizeof(want),
		         "\nExecStart=%s/bin/tfjail serve --config %s/etc/tfjail/tfjail.json\n", root, root);
		ck_assert_msg(strstr(unit, want), "unit lacks %s", want);
	}
	for (const char *const *l = (const char *const[]){"\nDelegate=yes\n", "\nKillMode=mixed\n",
	                                                  "\nRestart=on-failure\n", NULL};
	     *l; l++)
		ck_assert_msg(strstr(unit, *l), "unit lacks %s", *l);
	free(unit);
	conf = slurp(root, "/etc/tfjail/tfjail.json");
	ck_assert_ptr_nonnull(strstr(conf, "/etc/tfjail/policy.json\""));
	free(conf);
	/* the installed binary reads the installed policy */
	ck_assert_int_eq(shell(&out, "'%s/bin/tfjail' policy check '%s/etc/tfjail/policy.json'", root, root),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, "valid (policy tfjail-default"));
	free(out);

	ck_assert_int_eq(make("uninstall", args), 0);
	for (size_t i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
		ck_assert_msg(!exists(root, installed[i]), "%s left by uninstall", installed[i]);
	ck_assert(!exists(root, "/etc/tfjail"));
}
END_TEST

START_TEST(edited_configuration_is_never_overwritten)
{
	char args[PATH_MAX * 2 + 64], path[PATH_MAX], *before, *after;
	FILE *f;

	snprintf(args, sizeof(args), "PREFIX=%s SYSCONFDIR=%s/etc", root, root);
	ck_assert_int_eq(make("install", args), 0);
	snprintf(path, sizeof(path), "%s/etc/tfjail/tfjail.json", root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"listen\": \"127.0.0.1:9999\"}\n", f);
	fclose(f);
	before = slurp(root, "/etc/tfjail/tfjail.json");

	/* a second install keeps the edit and puts this version's file beside it */
	ck_assert_int_eq(make("install", args), 0);
	after = slurp(root, "/etc/tfjail/tfjail.json");
	ck_assert_str_eq(after, before);
	free(after);
	ck_assert(exists(root, "/etc/tfjail/tfjail.json.dist"));
	/* the unedited policy.json was replaced, no .dist for it */
	ck_assert(!exists(root, "/etc/tfjail/policy.json.dist"));

	/* uninstall removes everything but the edited file */
	ck_assert_int_eq(make("uninstall", args), 0);
	after = slurp(root, "/etc/tfjail/tfjail.json");
	ck_assert_str_eq(after, before);
	free(after);
	free(before);
	ck_assert(!exists(root, "/etc/tfjail/policy.json"));
	ck_assert(!exists(root, "/etc/tfjail/tfjail.json.dist"));
	ck_assert(!exists(root, "/bin/tfjail"));
}
END_TEST

START_TEST(destdir_stages_without_its_prefix_in_the_files)
{
	char args[PATH_MAX + 64], *unit;

	snprintf(args, sizeof(args), "DESTDIR=%s PREFIX=/usr", root);
	ck_assert_int_eq(make("install", args), 0);
	ck_assert(exists(root, "/usr/bin/tfjail"));
	ck_assert(exists(root, "/etc/tfjail/tfjail.json"));
	ck_assert(exists(root, "/usr/share/man/man1/tfjail.1"));
	unit = slurp(root, "/usr/lib/systemd/system/tfjail.service");
	ck_assert_ptr_nonnull(
	    strstr(unit, "\nExecStart=/usr/bin/tfjail serve --config /etc/tfjail/tfjail.json\n"));
	ck_assert_ptr_null(strstr(unit, root));
	free(unit);
	ck_assert_int_eq(make("uninstall", args), 0);
	ck_assert(!exists(root, "/usr/bin/tfjail"));
	ck_assert(!exists(root, "/etc/tfjail"));
}
END_TEST

/* systemd-analyze verify loads the unit as systemd would: every directive
 * known, ExecStart executable, the man pages of Documentation= found. */
START_TEST(systemd_unit_verifies)
{
	char args[PATH_MAX * 2 + 64], *out = NULL;

	snprintf(args, sizeof(args), "PREFIX=%s SYSCONFDIR=%s/etc", root, root);
	ck_assert_int_eq(make("install", args), 0);
	ck_assert_int_eq(
	    shell(
	        &out,
	        "MANPATH='%s/share/man:' systemd-analyze verify '%s/lib/systemd/system/tfjail.service' 2>&1",
	        root, root),
	    0);
	ck_assert_msg(out[0] == '\0', "systemd-analyze verify said: %s", out);
	free(out);
}
END_TEST

START_TEST(man_pages_render_without_warnings)
{
	static const char *const pages[][2] = {{"packaging/man/tfjail.1", "TFJAIL(1)"},
	                                       {"packaging/man/tfjail-policy.5", "TFJAIL-POLICY(5)"}};
	for (size_t i = 0; i < 2; i++) {
		char *out = NULL;
		ck_assert_int_eq(
		    shell(&out, "MANWIDTH=80 man --warnings -E UTF-8 -l '%s' 2>&1 >'%s/page'; cat '%s/page'",
		          tj_test_src(pages[i][0]), root, root),
		    0);
		ck_assert_msg(strncmp(out, pages[i][1], strlen(pages[i][1])) == 0,
		              "%s: warnings or no header:\n%.400s", pages[i][0], out);
		ck_assert_ptr_nonnull(strstr(out, "\nSYNOPSIS\n"));
		free(out);
	}
}
END_TEST

START_TEST(bash_completion_completes)
{
	char *out = NULL;

	ck_assert_int_eq(shell(&out,
	                       "bash -c '. \"$0\"; t() { COMP_WORDS=(\"$@\"); "
	                       "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); "
	                       "_tfjail; echo \"${COMPREPLY[*]}\"; }; t tfjail \"\"; t tfjail plan --o; t "
	                       "tfjail plan --output \"\"; "
	                       "t tfjail policy \"\"; t tfjail serve --' '%s'",
	                       tj_test_src("packaging/bash-completion/tfjail")),
	                 0);
	ck_assert_str_eq(
	    out, "run plan scan policy rules mirror serve version --help --version\n--output\n"
	         "text json sarif junit\ncheck show test diff\n--config --listen --print-config --help\n");
	free(out);
}
END_TEST

Suite *install_suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, install_into_prefix_then_uninstall);
	tcase_add_test(tc, edited_configuration_is_never_overwritten);
	tcase_add_test(tc, destdir_stages_without_its_prefix_in_the_files);
	tcase_add_test(tc, systemd_unit_verifies);
	tcase_add_test(tc, man_pages_render_without_warnings);
	tcase_add_test(tc, bash_completion_completes);
	suite_add_tcase(s, tc);
	return s;
}
