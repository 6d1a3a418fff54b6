
#include "tests/testutil.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/job.h"
#include "executor/planjson.h"
#include "executor/sandboxpaths.h"

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

/* Who a path is: its inode and its birth time (an inode number is reused
 * at once by a namesake made after a removal; the birth time is not). */
static int identity(const char *path, char *buf, size_t len, bool *is_dir)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_TYPE | STATX_BTIME, &sx) < 0)
		return -1;
	if (is_dir)
		*is_dir = S_ISDIR(sx.stx_mode);
	snprintf(buf, len, "%u:%u:%llu:%lld.%09u", sx.stx_dev_major, sx.stx_dev_minor,
	         (unsigned long long)sx.stx_ino,
	         (sx.stx_mask & STATX_BTIME) ? (long long)sx.stx_btime.tv_sec : -1LL,
	         (sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_nsec : 0u);
	return 0;
}

/* One line per path: "IDENTITY PATH", so that the runner removes what the
 * test made and never a later namesake.  Appends are single writes. */
void tj_test_track(const char *path)
{
	const char *list = getenv("TFJAIL_TEST_LEFTOVERS");
	char line[PATH_MAX + 128], id[96];
	int fd, n;

	if (!list || !*list || identity(path, id, sizeof(id), NULL) < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s\n", id, path);
	fd = open(list, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return;
	if (n > 0 && (size_t)n < sizeof(line) && write(fd, line, (size_t)n) != n)
		fprintf(stderr, "tests: cannot note %s in %s\n", path, list);
	close(fd);
}

char *tj_test_mkdtemp(char *tmpl)
{
	char *dir = mkdtemp(tmpl);

	if (dir)
		tj_test_track(dir);
	return dir;
}

int tj_test_mkstemps(char *tmpl, int suffixlen)
{
	int fd = mkstemps(tmpl, suffixlen);

	if (fd >= 0)
		tj_test_track(tmpl);
	return fd;
}

/* Whether a mount point lies at or below path (a test that died with a
 * bind mount in its directory): removing through it could reach anything. */
static bool holds_mount(const char *path)
{
	char *info = NULL, *line, *save = NULL;
	struct tj_error err;
	size_t len = strlen(path);
	bool found = false;

	if (tj_read_file("/proc/self/mountinfo", 16 << 20, &info, NULL, &err) < 0)
		return true;
	for (line = strtok_r(info, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		char mnt[PATH_MAX];
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; spaces in it are \040, so
		 * a prefix match on the escaped form is enough for our paths */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strncmp(mnt, path, len) == 0 &&
		    (mnt[len] == '\0' || mnt[len] == '/'))
			found = true;
	}
	free(info);
	return found;
}

size_t tj_test_remove_tracked(const char *list)
{
	char *text = NULL, *line, *save = NULL;
	struct tj_error err;
	size_t removed = 0;

	if (tj_read_file(list, 64 << 20, &text, NULL, &err) < 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strchr(line, ' '), id[96];
		bool is_dir;

		if (!path)
			continue;
		*path++ = '\0';
		if (identity(path, id, sizeof(id), &is_dir) < 0 || strcmp(id, line) != 0)
			continue;
		if (holds_mount(path)) {
			fprintf(stderr, "tests: %s is left: a mount point is below it\n", path);
			continue;
		}
		if (is_dir)
			tj_test_rm_rf(path);
		else
			unlink(path);
		removed++;
	}
	free(text);
	return removed;
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

char *tj_test_member_bytes(const char *json, const char *key)
{
	struct tj_jsontext_item it;
	size_t len = json ? strlen(json) : 0, pos = tj_jsontext_ws(json, len, 0);

	if (!json || tj_jsontext_check(json, len, NULL) < 0)
		return NULL;
	while (tj_jsontext_next(json, len, &pos, &it) == 1)
		if (tj_jsontext_key_is(json, &it, key))
			return strndup(json + it.value, it.value_end - it.value);
	return NULL;
}

/* Runs terraform with an environment of nothing but these. */
static int bare_terraform(const char *terraform, const char *home, char *const args[], char **out, char **err)
{
	char e_path[] = "PATH=/usr/local/bin:/usr/bin:/bin", e_cp[] = "CHECKPOINT_DISABLE=1",
	     e_cli[] = "TF_CLI_CONFIG_FILE=/dev/null", e_in[] = "TF_IN_AUTOMATION=1";
	char e_home[PATH_MAX + 8], e_data[PATH_MAX + 32];
	char *argv[40] = {"/usr/bin/env", "-i", e_path, e_home, e_data, e_cp, e_cli, e_in, (char *)terraform};
	size_t n = 9;

	snprintf(e_home, sizeof(e_home), "HOME=%s", home);
	snprintf(e_data, sizeof(e_data), "TF_DATA_DIR=%s/.tfdata", home);
	for (size_t i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return tj_test_spawn(argv, out, err);
}

/* home (a fresh temporary directory) / work: a copy of a flat fixture. */
static void bare_copy(const char *fixture_dir, char *home, char *work, size_t len)
{
	DIR *d;
	struct dirent *de;
	struct tj_error e = {0};

	snprintf(home, len, "/tmp/tfjail-bare-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(home));
	snprintf(work, len, "%s/work", home);
	ck_assert_int_eq(mkdir(work, 0755), 0);
	ck_assert_ptr_nonnull(d = opendir(fixture_dir));
	while ((de = readdir(d))) {
		char from[PATH_MAX], *data = NULL;
		if (de->d_type != DT_REG)
			continue;
		snprintf(from, sizeof(from), "%s/%s", fixture_dir, de->d_name);
		ck_assert_int_eq(tj_read_file(from, 1 << 20, &data, NULL, &e), 0);
		tj_test_write(work, de->d_name, data);
		free(data);
	}
	closedir(d);
}

char *tj_test_lock_file(const char *fixture_dir)
{
	struct job_tools tools;
	struct tj_error e = {0};
	char home[PATH_MAX], work[PATH_MAX], chdir_arg[PATH_MAX + 16], mirror[PATH_MAX + 16],
	    path[PATH_MAX + 32];
	char *out = NULL, *err = NULL, *lock = NULL;
	char *args[] = {chdir_arg, "providers", "lock", "-no-color", mirror, "-platform=" MIRROR_PLATFORM,
	                NULL};
	int st;

	ck_assert_msg(job_tools_discover(NULL, NULL, &tools, &e) == 0, "%s", e.msg);
	bare_copy(fixture_dir, home, work, PATH_MAX);
	snprintf(chdir_arg, sizeof(chdir_arg), "-chdir=%s", work);
	snprintf(mirror, sizeof(mirror), "-fs-mirror=%s", tools.plugin_dir);
	st = bare_terraform(tools.terraform, home, args, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "terraform providers lock: %s", err);
	snprintf(path, sizeof(path), "%s/.terraform.lock.hcl", work);
	ck_assert_int_eq(tj_read_file(path, 1 << 20, &lock, NULL, &e), 0);
	free(out);
	free(err);
	tj_test_rm_rf(home);
	return lock;
}

char *tj_test_bare_plan(const char *fixture_dir, const char *const *plan_args)
{
	struct job_tools tools;
	struct tj_error e = {0};
	char home[PATH_MAX], work[PATH_MAX], chdir_arg[PATH_MAX + 16], plugin[PATH_MAX + 16];
	char planfile[PATH_MAX + 8], *out = NULL, *err = NULL, *canonical = NULL, sha[65];
	size_t len;

	ck_assert_msg(job_tools_discover(NULL, NULL, &tools, &e) == 0, "%s", e.msg);
	bare_copy(fixture_dir, home, work, PATH_MAX);
	snprintf(chdir_arg, sizeof(chdir_arg), "-chdir=%s", work);
	snprintf(plugin, sizeof(plugin), "-plugin-dir=%s", tools.plugin_dir);
	snprintf(planfile, sizeof(planfile), "-out=%s/plan", home);
	{
		char *init[] = {chdir_arg, "init", "-input=false", "-no-color", "-backend=false",
		                plugin,    NULL};
		int st = bare_terraform(tools.terraform, home, init, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare terraform init: %s", err);
		free(out);
		free(err);
	}
	{
		char *plan[40] = {chdir_arg, "plan", "-input=false", "-no-color", "-lock=false", planfile};
		size_t n = 6;
		int st;
		for (size_t i = 0; plan_args && plan_args[i] && n < 39; i++)
			plan[n++] = (char *)plan_args[i];
		plan[n] = NULL;
		st = bare_terraform(tools.terraform, home, plan, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare terraform plan: %s", err);
		free(out);
		free(err);
	}
	{
		char *show[] = {chdir_arg, "show", "-json", "-no-color", planfile + 5, NULL};
		int st = bare_terraform(tools.terraform, home, show, &out, &err);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "bare terraform show: %s", err);
		ck_assert_msg(planjson_normalize(out, strlen(out), &canonical, &len, sha, &e) == 0, "%s",
		              e.msg);
		free(out);
		free(err);
	}
	tj_test_rm_rf(home);
	return canonical;
}
