
#include "tests/testutil.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void tj_test_rm_rf(const char *path)
{
	nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void tj_test_write(const char *dir, const char *relpath, const char *content)
{
	char path[PATH_MAX];
	char *slash;
	struct tj_error err;

	snprintf(path, sizeof(path), "%s/%s", dir, relpath);
	slash = strrchr(path, '/');
	*slash = '\0';
	ck_assert_msg(tj_mkdir_p(path, 0755, &err) == 0, "%s", err.msg);
	*slash = '/';
	ck_assert_msg(tj_write_file(path, content, strlen(content), 0644, &err) == 0, "%s", err.msg);
}

bool tj_test_is_root(void)
{
	return geteuid() == 0;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

const char *tj_test_probe(const char *name)
{
	static __thread char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", env_or("TFJAIL_PROBES", "build/probes"), name);
	return buf;
}

const char *tj_test_bin(void)
{
	return env_or("TFJAIL_BIN", "bin/tfjail");
}

const char *tj_test_src(const char *rel)
{
	static __thread char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", env_or("TFJAIL_SRCDIR", "."), rel);
	return buf;
}

static char *slurp_fd(int fd)
{
	struct tj_buf b = {0};
	char tmp[4096];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		tj_buf_append(&b, tmp, (size_t)n);
	tj_buf_append(&b, "", 0);
	close(fd);
	return b.data;
}

int tj_test_spawn(char *const argv[], char **out, char **err)
{
	int po[2], pe[2], status = -1;
	pid_t pid;

	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* stderr is small in every use; read stdout first, then stderr */
	*out = slurp_fd(po[0]);
	*err = slurp_fd(pe[0]);
	waitpid(pid, &status, 0);
	return status;
}
