/* common/: size parsing, buffers, hashing, file helpers. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jsoncheck.h"
#include "common/util.h"
#include "tests/testutil.h"

START_TEST(parse_size_units)
{
	uint64_t v;

	ck_assert_int_eq(tj_parse_size("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(tj_parse_size("512M", &v), 0);
	ck_assert_uint_eq(v, 512ull << 20);
	ck_assert_int_eq(tj_parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ull << 30);
	ck_assert_int_eq(tj_parse_size("64k", &v), 0);
	ck_assert_uint_eq(v, 64ull << 10);
	ck_assert_int_eq(tj_parse_size("100B", &v), 0);
	ck_assert_uint_eq(v, 100);
}
END_TEST

START_TEST(parse_size_rejects)
{
	uint64_t v;
	const char *bad[] = {"", "M", "-1", "1.5G", "12X", "99999999999999999999", "16777216T", " 1", "1 "};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tj_parse_size(bad[i], &v) < 0, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(sha256_known_vector)
{
	char hex[65];

	tj_sha256_hex("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(buf_grows)
{
	struct tj_buf b = {0};

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(tj_buf_printf(&b, "%04d", i), 0);
	ck_assert_uint_eq(b.len, 4000);
	ck_assert(memcmp(b.data + 3996, "0999", 4) == 0);
	ck_assert_int_eq(b.data[b.len], '\0');
	tj_buf_free(&b);
}
END_TEST

START_TEST(read_file_cap)
{
	char dir[] = "/tmp/tfjail-test-XXXXXX";
	char path[64];
	char *data = NULL;
	size_t len;
	struct tj_error err;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	ck_assert_int_eq(tj_write_file(path, "hello world", 11, 0600, &err), 0);
	ck_assert_int_eq(tj_read_file(path, 100, &data, &len, &err), 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_str_eq(data, "hello world");
	free(data);
	ck_assert_int_lt(tj_read_file(path, 5, &data, &len, &err), 0);
	ck_assert_int_eq(err.errnum, EFBIG);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	tj_test_rm_rf(dir);
}
END_TEST

START_TEST(json_syntax_check)
{
	static const char *const good[] = {"{}", " [ ] ", "0", "-0.5e+3", "\"a\\u00e9\\n\"",
					   "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
					   "\"\xc3\xa9\""};
	static const char *const bad[] = {"", "{", "}", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", "-",
					  ".5", "1e", "\"a", "\"\\x\"", "\"\\u12\"", "tru", "nul",
					  "[1] [2]", "{\"a\":1}x", "\"\t\"", "{1:2}", "[1 2]",
					  "\"\xc3\"", "\"\xff\"", "\"\xed\xa0\x80\""};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(tj_json_valid(good[i], strlen(good[i]), 8), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!tj_json_valid(bad[i], strlen(bad[i]), 8), "%s", bad[i]);
	ck_assert(!tj_json_valid("[[[1]]]", 7, 2));
	ck_assert(tj_json_valid("[[[1]]]", 7, 3));
	ck_assert(!tj_json_valid("[\"\0\"]", 5, 3));
	{
		/* deep nesting stops at the bound, not at the stack */
		static char deep[200001];
		memset(deep, '[', 100000);
		memset(deep + 100000, ']', 100000);
		ck_assert(!tj_json_valid(deep, 200000, 512));
	}
}
END_TEST

/* The runner's clean-up of what a failed test left: a tracked directory is
 * removed, a namesake made after the test's own removal is not, nor a
 * directory with a mount point below it. */
START_TEST(tracked_paths_are_removed)
{
	char list[] = "/tmp/tfjail-tracked-XXXXXX", kept[] = "/tmp/tfjail-tracked-XXXXXX";
	char gone[] = "/tmp/tfjail-tracked-XXXXXX", mounted[] = "/tmp/tfjail-tracked-XXXXXX";
	char *saved = getenv("TFJAIL_TEST_LEFTOVERS") ? strdup(getenv("TFJAIL_TEST_LEFTOVERS")) : NULL;
	char sub[64];
	int fd = tj_test_mkstemps(list, 0);
	struct stat st;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(setenv("TFJAIL_TEST_LEFTOVERS", list, 1), 0);
	ck_assert_ptr_nonnull(tj_test_mkdtemp(gone));
	tj_test_write(gone, "a/b/c.tf", "locals {}\n");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(kept));
	/* removed by its test; later (past the file system's clock tick) a
	 * namesake, very likely on the same inode number */
	ck_assert_int_eq(rmdir(kept), 0);
	usleep(30000);
	ck_assert_int_eq(mkdir(kept, 0700), 0);
	ck_assert_ptr_nonnull(tj_test_mkdtemp(mounted));
	snprintf(sub, sizeof(sub), "%s/m", mounted);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(mount("tmpfs", sub, "tmpfs", 0, "size=64k"), 0);
	if (saved)
		setenv("TFJAIL_TEST_LEFTOVERS", saved, 1);
	else
		unsetenv("TFJAIL_TEST_LEFTOVERS");
	free(saved);

	ck_assert_uint_eq(tj_test_remove_tracked(list), 1);
	ck_assert_int_lt(lstat(gone, &st), 0);
	ck_assert_int_eq(lstat(kept, &st), 0);
	ck_assert_int_eq(lstat(sub, &st), 0);
	ck_assert_int_eq(umount(sub), 0);
	ck_assert_uint_eq(tj_test_remove_tracked(list), 1);
	ck_assert_int_lt(lstat(mounted, &st), 0);
	rmdir(kept);
	unlink(list);
}
END_TEST

Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_size_units);
	tcase_add_test(tc, parse_size_rejects);
	tcase_add_test(tc, sha256_known_vector);
	tcase_add_test(tc, tracked_paths_are_removed);
	tcase_add_test(tc, buf_grows);
	tcase_add_test(tc, json_syntax_check);
	tcase_add_test(tc, read_file_cap);
	suite_add_tcase(s, tc);
	return s;
}
