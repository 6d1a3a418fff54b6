/* The docs stay true: docs/policy.md's rule table is `tfjail rules --output
 * markdown`, each of its JSON examples is a policy `policy check` accepts and
 * together they show every key, its walkthrough's commands run and print
 * what the page says, and README.md, SECURITY.md and docs/ name no file that
 * does not exist.  The walkthrough runs `tfjail plan` (root, terraform). */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/util.h"
#include "policy/policy.h"
#include "tests/testutil.h"

static char *read_doc(const char *rel)
{
	char *text = NULL;
	size_t len;
	struct tj_error err = {0};

	ck_assert_msg(tj_read_file(tj_test_src(rel), 1 << 22, &text, &len, &err) == 0, "%s", err.msg);
	return text;
}

/* The fenced blocks of a language: each block's text, NULL terminated. */
static char **blocks(const char *doc, const char *lang, size_t *n)
{
	char fence[32], **out = NULL;
	const char *p = doc;

	snprintf(fence, sizeof(fence), "\n```%s\n", lang);
	*n = 0;
	while ((p = strstr(p, fence))) {
		const char *start = p + strlen(fence), *end = strstr(start, "\n```");
		ck_assert_ptr_nonnull(end);
		out = realloc(out, (*n + 2) * sizeof(*out));
		out[(*n)++] = strndup(start, (size_t)(end - start + 1));
		out[*n] = NULL;
		p = end + 4;
	}
	return out;
}

static void blocks_free(char **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i]);
	free(b);
}

/* The output of argv (stdout and stderr joined), and its exit status. */
static int capture(char *const argv[], char **all)
{
	char *out = NULL, *err = NULL;
	int st = tj_test_spawn(argv, &out, &err);
	size_t a = strlen(out), b = strlen(err);

	*all = malloc(a + b + 1);
	memcpy(*all, out, a);
	memcpy(*all + a, err, b + 1);
	free(out);
	free(err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(rule_table_is_current)
{
	char *doc = read_doc("docs/policy.md"), *table = NULL;
	char *argv[] = {(char *)tj_test_bin(), "rules", "--output", "markdown", NULL};
	const char *b = strstr(doc, "<!-- rules:begin -->\n"), *e = strstr(doc, "<!-- rules:end -->");

	ck_assert_int_eq(capture(argv, &table), 0);
	ck_assert_msg(b && e && e > b, "docs/policy.md has no rules:begin/rules:end markers");
	b += strlen("<!-- rules:begin -->\n");
	ck_assert_msg(strlen(table) == (size_t)(e - b) && strncmp(b, table, (size_t)(e - b)) == 0,
	              "docs/policy.md's rule table is out of date: run make docs");
	free(table);
	free(doc);
}
END_TEST

/* Leaf key paths of a JSON object ("limits.memory"); arrays are leaves. */
static void key_paths(const cJSON *o, const char *prefix, char *out, size_t n)
{
	const cJSON *e;

	cJSON_ArrayForEach (e, o) {
		char path[256];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", e->string);
		if (cJSON_IsObject(e) && e->child && strcmp(path, "rules") != 0) {
			key_paths(e, path, out, n);
		} else if (strlen(out) + strlen(path) + 3 < n) {
			strcat(out, " ");
			strcat(out, path);
			strcat(out, " ");
		}
	}
}

START_TEST(json_examples_are_valid_and_show_every_key)
{
	char *doc = read_doc("docs/policy.md");
	static char seen[1 << 16], all[1 << 16];
	size_t n;
	char **b = blocks(doc, "json", &n);
	struct tj_policy *def = NULL;
	struct tj_error err = {0};
	cJSON *dj;
	char *save = NULL;

	ck_assert_uint_ge(n, 8);
	seen[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct tj_policy *p = NULL;
		cJSON *j = cJSON_Parse(b[i]);
		ck_assert_msg(tj_policy_load_text(b[i], strlen(b[i]), "example", &p, &err) == 0, "%s\n%s",
		              err.msg, b[i]);
		key_paths(j, "", seen, sizeof(seen));
		cJSON_Delete(j);
		tj_policy_free(p);
	}
	/* every key of the effective default policy (rules and suppressions have their own examples) */
	ck_assert_int_eq(tj_policy_load(NULL, &def, &err), 0);
	dj = tj_policy_to_json(def);
	all[0] = '\0';
	key_paths(dj, "", all, sizeof(all));
	for (char *k = strtok_r(all, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
		char needle[300], prefix[300];
		snprintf(needle, sizeof(needle), " %s ", k);
		snprintf(prefix, sizeof(prefix), " %s.", k); /* an empty object: one of its keys */
		ck_assert_msg(strstr(seen, needle) || strstr(seen, prefix),
		              "no example in docs/policy.md shows %s", k);
	}
	ck_assert_ptr_nonnull(strstr(seen, " plan_rules.max_changes.total "));
	ck_assert_ptr_nonnull(strstr(seen, " suppressions "));
	ck_assert_ptr_nonnull(strstr(seen, " rules "));
	/* the severity string form, as the page says */
	ck_assert_ptr_nonnull(strstr(doc, "\"backend-blocked\": \"warning\""));
	cJSON_Delete(dj);
	tj_policy_free(def);
	blocks_free(b, n);
	free(doc);
}
END_TEST

/* Whether every expected line is in the output: "..." ends a prefix. */
static void expect_lines(const char *cmd, const char *expected, const char *out)
{
	char *copy = strdup(expected), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *dots = strstr(l, "...");
		if (strcmp(l, "...") == 0)
			continue;
		if (dots)
			*dots = '\0';
		ck_assert_msg(strstr(out, l), "`%s` does not print\n%s\nbut:\n%.1500s", cmd, l, out);
	}
	free(copy);
}

START_TEST(walkthrough_commands_run)
{
	char *doc = read_doc("docs/policy.md");
	const char *walk = strstr(doc, "## A policy audit, step by step");
	size_t n, ran = 0;
	char **b;
	char bindir[PATH_MAX], path[8192];

	ck_assert_ptr_nonnull(walk);
	b = blocks(walk, "console", &n);
	ck_assert_uint_ge(n, 5);
	snprintf(bindir, sizeof(bindir), "%s", tj_test_bin());
	*strrchr(bindir, '/') = '\0';
	if (bindir[0] != '/') {
		char cwd[PATH_MAX];
		ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
		snprintf(path, sizeof(path), "%s/%s", cwd, bindir);
		snprintf(bindir, sizeof(bindir), "%s", path);
	}
	snprintf(path, sizeof(path), "PATH=%s:%s", bindir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	for (size_t i = 0; i < n; i++) {
		char *p = b[i];
		while (p && *p) {
			char *nl = strchr(p, '\n'), *next, *cmd, *out = NULL, *hash;
			int want = 0;
			ck_assert_msg(strncmp(p, "$ ", 2) == 0, "a console block must start with `$ `: %s",
			              p);
			*nl = '\0';
			cmd = strdup(p + 2);
			next = strstr(nl + 1, "\n$ ");
			next = next ? next + 1 : NULL;
			if (next)
				next[-1] = '\0';
			if ((hash = strstr(cmd, "  # exit "))) {
				want = atoi(hash + 9);
				*hash = '\0';
			}
			{
				char *argv[] = {"/usr/bin/env", path, "/bin/sh", "-c", NULL, NULL};
				char script[8192];
				snprintf(script, sizeof(script), "cd '%s' && %s", tj_test_src("."), cmd);
				argv[4] = script;
				ck_assert_msg(capture(argv, &out) == want, "`%s` did not exit %d:\n%.1500s",
				              cmd, want, out);
			}
			expect_lines(cmd, nl + 1, out);
			free(out);
			free(cmd);
			ran++;
			p = next;
		}
	}
	ck_assert_uint_ge(ran, 8);
	blocks_free(b, n);
	free(doc);
}
END_TEST

/* Files the page names: [text](target) links, and words like docs/api.md,
 * THREATS.md or config/tfjail.json (a name with a '/' below a directory of
 * the source tree, or ending in .md), relative to the page or the top. */
static bool exists_near(const char *doc_rel, const char *target)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", doc_rel);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (*dir && stat(tj_test_src(path), &st) == 0)
		return true;
	return stat(tj_test_src(target), &st) == 0;
}

static bool top_dir(const char *word)
{
	char first[256];
	struct stat st;
	size_t n = strcspn(word, "/");

	if (!word[n] || n == 0 || n >= sizeof(first))
		return false;
	snprintf(first, sizeof(first), "%.*s", (int)n, word);
	return stat(tj_test_src(first), &st) == 0 && S_ISDIR(st.st_mode);
}

static void check_doc_links(const char *rel, char *dead, size_t dead_len)
{
	char *doc = read_doc(rel);

	for (char *p = doc; *p; p++) {
		char word[512];
		size_t n;
		bool link = false;
		if (p[0] == ']' && p[1] == '(') {
			p += 2;
			n = strcspn(p, ")# ");
			link = true;
		} else if ((p == doc || strchr(" `(\n", p[-1])) &&
		           (isalnum((unsigned char)*p) || *p == '.')) {
			n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-");
		} else {
			continue;
		}
		if (n == 0 || n >= sizeof(word))
			continue;
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		while (n && strchr(".,:;", word[n - 1]))
			word[--n] = '\0';
		p += n ? n - 1 : 0;
		if (link && (strstr(word, "://") || strncmp(word, "mailto:", 7) == 0 || !*word))
			continue;
		/* words: a .md page, or a file with an extension below a top directory (not
		 * "deploy/tfjail", kubectl's name of a Deployment) */
		if (!link &&
		    !(tj_str_has_suffix(word, ".md") || (top_dir(word) && strchr(strrchr(word, '/'), '.'))))
			continue;
		if (strchr(word, '*') || strchr(word, '<'))
			continue;
		if (!exists_near(rel, word) && strlen(dead) + strlen(word) + strlen(rel) + 8 < dead_len)
			snprintf(dead + strlen(dead), dead_len - strlen(dead), "%s: %s\n", rel, word);
	}
	free(doc);
}

START_TEST(no_dead_links)
{
	static char dead[8192];
	DIR *d = opendir(tj_test_src("docs"));
	struct dirent *de;

	dead[0] = '\0';
	check_doc_links("README.md", dead, sizeof(dead));
	check_doc_links("SECURITY.md", dead, sizeof(dead));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char rel[512];
		if (!tj_str_has_suffix(de->d_name, ".md"))
			continue;
		snprintf(rel, sizeof(rel), "docs/%s", de->d_name);
		check_doc_links(rel, dead, sizeof(dead));
	}
	closedir(d);
	ck_assert_msg(!*dead, "files named in the docs that do not exist:\n%s", dead);
}
END_TEST

Suite *docs_suite(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rule_table_is_current);
	tcase_add_test(tc, json_examples_are_valid_and_show_every_key);
	tcase_add_test(tc, walkthrough_commands_run);
	tcase_add_test(tc, no_dead_links);
	suite_add_tcase(s, tc);
	return s;
}
