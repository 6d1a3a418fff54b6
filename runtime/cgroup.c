/* Job cgroups, cgroup v2 and v1/hybrid.
 *
 * Layout detection happens once in cgroup_host_open(); after that every
 * operation goes through one table of function pointers (cgroup_ops_v2 or
 * cgroup_ops_v1), so a v2 host never sees a v1 file name and vice versa.
 *
 * A job is one directory on v2 and one directory per mounted hierarchy on v1
 * (memory, cpu, cpuacct, pids; cpu and cpuacct may share a hierarchy). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
#define CGROUP_V2_DEDICATED "/tfjail" /* parent when the service sits in the root */
#define CGROUP_V2_LEAF "service"      /* where the service moves itself on v2 */
#define CGROUP_V1_INTERMEDIATE "tfjail"
#define CGROUP_NAME_MAX 128
#define CGROUP_FILE_MAX (64 * 1024)
/* Exiting tasks linger in cgroup.procs for a moment, longer under emulation:
 * wait this long for a cgroup to empty (kill) and to be removable (rmdir). */
#define CGROUP_SETTLE_MS 5000

/* Controller bits. */
enum {
	CG_MEMORY = 1u << 0,
	CG_CPU = 1u << 1,
	CG_CPUACCT = 1u << 2,
	CG_PIDS = 1u << 3,
	CG_ALL = CG_MEMORY | CG_CPU | CG_CPUACCT | CG_PIDS,
};

static const struct {
	const char *name;
	unsigned bit;
} cg_controllers[] = {
	{"memory", CG_MEMORY},
	{"cpu", CG_CPU},
	{"cpuacct", CG_CPUACCT},
	{"pids", CG_PIDS},
};
#define CG_NCONTROLLERS (sizeof(cg_controllers) / sizeof(cg_controllers[0]))

/* One hierarchy: the whole tree on v2, one mount on v1. */
struct cgroup_dir {
	unsigned mask;       /* controllers in this hierarchy that tfjail uses */
	char *parent;        /* absolute path of the parent of the job cgroups */
	char *ctrls;         /* v1: the hierarchy's /proc/self/cgroup list, "cpu,cpuacct" */
	bool created_parent; /* tfjail made it (removed again if empty) */
};

struct cgroup_ops;

struct cgroup_host {
	enum cgroup_mode mode;
	const struct cgroup_ops *ops;
	size_t ndirs;
	struct cgroup_dir dirs[CG_NCONTROLLERS];
	void (*fs_hook)(const char *path, bool created, void *arg);
	void *fs_hook_arg;
	char describe[1024];
};

struct cgroup_job {
	struct cgroup_host *host;
	size_t ndirs;
	char *paths[CG_NCONTROLLERS]; /* parallel to host->dirs */
	int dirfd;                    /* v2 only */
	int attach_fds[CG_NCONTROLLERS]; /* cgroup_job_attach_open(); -1 = closed */
};

struct cgroup_ops {
	int (*host_open)(struct cgroup_host *host, const struct cgroup_host_options *opts,
			 const char *root, const char *self, struct tj_error *err);
	int (*set_limits)(struct cgroup_job *job, const struct cgroup_limits *lim,
			  struct tj_error *err);
	int (*stats)(struct cgroup_job *job, struct cgroup_stats *st, struct tj_error *err);
	int (*kill)(struct cgroup_job *job, struct tj_error *err);
};

/* ---------------------------------------------------------------- helpers */

static char *cg_join(const char *a, const char *b)
{
	char *out = NULL;

	while (*b == '/')
		b++;
	if (*b == '\0')
		return strdup(a);
	if (asprintf(&out, "%s%s%s", a, tj_str_has_suffix(a, "/") ? "" : "/", b) < 0)
		return NULL;
	return out;
}

static int cg_oom(struct tj_error *err)
{
	return tj_error_set(err, ENOMEM, "cgroup: out of memory");
}

/* Writes value to dir/file: one write, as cgroupfs wants; never creates
 * (a missing file means a missing controller).  O_TRUNC is what a shell's
 * "echo >" does; cgroupfs ignores it. */
static int cg_write(const char *dir, const char *file, const char *value, struct tj_error *err)
{
	_cleanup_free_ char *path = cg_join(dir, file);
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (!path)
		return cg_oom(err);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return tj_error_sys(err, "open %s", path);
	do
		n = write(fd, value, strlen(value));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tj_error_sys(err, "write '%s' to %s", value, path);
	return 0;
}

static int cg_write_u64(const char *dir, const char *file, uint64_t v, const char *unlimited,
			struct tj_error *err)
{
	char buf[32];

	if (v == 0)
		return cg_write(dir, file, unlimited, err);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return cg_write(dir, file, buf, err);
}

static int cg_read(const char *dir, const char *file, char **out, struct tj_error *err)
{
	_cleanup_free_ char *path = cg_join(dir, file);

	if (!path)
		return cg_oom(err);
	return tj_read_file(path, CGROUP_FILE_MAX, out, NULL, err);
}

/* Finds "key N" in a flat-keyed file's text. */
static int cg_parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char num[32];
		size_t n;

		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		n = strcspn(line + klen + 1, "\n");
		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, line + klen + 1, n);
		num[n] = '\0';
		return tj_parse_u64(num, UINT64_MAX, out);
	}
	return -1;
}

/* Reads "key N" from dir/file.  A missing file is fine when optional (the
 * value stays 0): older kernels lack memory.peak, for instance. */
static int cg_read_keyed(const char *dir, const char *file, const char *key, bool optional,
			 uint64_t *out, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;

	*out = 0;
	if (cg_read(dir, file, &text, err) < 0)
		return optional && err && err->errnum == ENOENT ? 0 : -1;
	if (cg_parse_keyed(text, key, out) < 0)
		return tj_error_set(err, EINVAL, "parse %s/%s: no valid '%s' line", dir, file, key);
	return 0;
}

/* Reads a file holding one number (memory.peak, cpuacct.usage, ...). */
static int cg_read_u64(const char *dir, const char *file, bool optional, uint64_t *out,
		       struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;

	*out = 0;
	if (cg_read(dir, file, &text, err) < 0 || !text)
		return optional && err && err->errnum == ENOENT ? 0 : -1;
	text[strcspn(text, "\n")] = '\0';
	if (tj_parse_u64(text, UINT64_MAX, out) < 0)
		return tj_error_set(err, EINVAL, "parse %s/%s: '%s' is not a number", dir, file, text);
	return 0;
}

static void cg_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void cg_hook(const struct cgroup_host *host, const char *path, bool created)
{
	if (host && host->fs_hook)
		host->fs_hook(path, created, host->fs_hook_arg);
}

/* mkdir that tolerates EEXIST; *created says whether this call made it. */
static int cg_mkdir(const struct cgroup_host *host, const char *path, bool *created,
		    struct tj_error *err)
{
	if (created)
		*created = false;
	if (mkdir(path, 0755) == 0) {
		if (created)
			*created = true;
		cg_hook(host, path, true);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return tj_error_sys(err, "mkdir %s", path);
}

/* Extra advice when the kernel refuses a write or mkdir for lack of rights. */
static const char *cg_delegation_hint(int errnum, enum cgroup_mode mode)
{
	if (errnum != EACCES && errnum != EPERM && errnum != EROFS && errnum != ENOENT)
		return "";
	if (mode == CGROUP_MODE_V2)
		return " (the cgroup is not delegated to tfjail: run it as a systemd service with "
		       "Delegate=yes, or have the operator prepare a parent cgroup with "
		       "+memory +cpu +pids in its cgroup.subtree_control and pass it as the "
		       "cgroup parent; see docs/cgroups.md)";
	return " (tfjail needs write access below its own cgroup in the memory, cpu, cpuacct "
	       "and pids hierarchies: run it as root, or have the operator create the parent "
	       "directories and chown them to the service user; see docs/cgroups.md)";
}

static int cg_add_hint(struct tj_error *err, enum cgroup_mode mode)
{
	size_t len;

	if (!err)
		return -1;
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, "%s", cg_delegation_hint(err->errnum, mode));
	return -1;
}

/* The path of hierarchy `want` in /proc/self/cgroup text: want "" is the v2
 * line ("0::/path"); otherwise a v1 controller name, matched against the
 * comma-separated list.  *ctrls (optional) gets that list. */
static int cg_self_path(const char *self, const char *want, char **path, char **ctrls)
{
	for (const char *line = self; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *c1 = strchr(line, ':'), *c2, *end = line + strcspn(line, "\n");
		bool match = false;

		if (!c1 || c1 > end || !(c2 = strchr(c1 + 1, ':')) || c2 > end)
			continue;
		if (*want == '\0') {
			match = c2 == c1 + 1;
		} else {
			for (const char *p = c1 + 1; p < c2;) {
				size_t n = strcspn(p, ",:");
				if (n == strlen(want) && strncmp(p, want, n) == 0)
					match = true;
				p += n + 1;
			}
		}
		if (!match)
			continue;
		*path = strndup(c2 + 1, (size_t)(end - c2 - 1));
		if (ctrls)
			*ctrls = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
		if (!*path || (ctrls && !*ctrls)) {
			free(*path);
			if (ctrls)
				free(*ctrls);
			return -ENOMEM;
		}
		return 0;
	}
	return -ENOENT;
}

/* A parent given by the operator: absolute, no "." or ".." components. */
static bool cg_valid_rel_path(const char *p)
{
	if (!p || p[0] != '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n;
		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
	}
	return true;
}

static bool cg_valid_name(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > CGROUP_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr("_.@:-", *c)))
			return false;
	}
	return true;
}

/* Reads cgroup.procs of dir into a malloc'd array (n may be 0). */
static int cg_read_pids(const char *dir, pid_t **out, size_t *n, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	size_t count = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (cg_read(dir, "cgroup.procs", &text, err) < 0)
		return -1;
	for (char *save = NULL, *tok = strtok_r(text, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		uint64_t v;
		if (tj_parse_u64(tok, INT_MAX, &v) < 0 || v == 0)
			continue;
		if (count == cap) {
			pid_t *np = realloc(pids, (cap = cap ? cap * 2 : 16) * sizeof(*pids));
			if (!np)
				return cg_oom(err);
			pids = np;
		}
		pids[count++] = (pid_t)v;
	}
	*out = TJ_STEAL_PTR(pids);
	*n = count;
	return 0;
}

static bool cg_pid_listed(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* One round of "SIGKILL everything in dir/cgroup.procs".  A pid read from the
 * file may exit and be reused outside the cgroup before the signal: pin each
 * one with a pidfd, read the file again, and signal only the pidfds whose pid
 * is still listed (a pinned, live process cannot lose its number). */
static int cg_kill_round(const char *dir, size_t *seen, struct tj_error *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ pid_t *again = NULL;
	_cleanup_free_ int *fds = NULL;
	size_t n, n2;
	pid_t self = getpid();

	if (cg_read_pids(dir, &pids, &n, err) < 0)
		return -1;
	*seen = n;
	if (n == 0)
		return 0;
	fds = calloc(n, sizeof(*fds));
	if (!fds)
		return cg_oom(err);
	/* -1: gone or ourselves; -2: no pidfd_open (before 5.3), plain kill() */
	for (size_t i = 0; i < n; i++) {
		fds[i] = pids[i] == self ? -1 : (int)syscall(SYS_pidfd_open, pids[i], 0);
		if (fds[i] < 0 && errno == ENOSYS)
			fds[i] = -2;
	}
	if (cg_read_pids(dir, &again, &n2, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (pids[i] == self || !cg_pid_listed(again, n2, pids[i]))
			continue;
		if (fds[i] >= 0)
			syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
		else if (fds[i] == -2)
			kill(pids[i], SIGKILL);
	}
out:
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return again ? 0 : -1;
}

/* Kills until every job directory's cgroup.procs is empty, or gives up after
 * CGROUP_SETTLE_MS.  signal_each = false only waits (v2 after cgroup.kill). */
static int cg_kill_and_wait(struct cgroup_job *job, bool signal_each, struct tj_error *err)
{
	uint64_t deadline = tj_now_ms() + CGROUP_SETTLE_MS;
	unsigned delay = 1;

	for (;;) {
		size_t left = 0;
		const char *busy = NULL;

		for (size_t i = 0; i < job->ndirs; i++) {
			size_t seen = 0;
			_cleanup_free_ pid_t *pids = NULL;

			if (signal_each) {
				if (cg_kill_round(job->paths[i], &seen, err) < 0)
					return -1;
			} else if (cg_read_pids(job->paths[i], &pids, &seen, err) < 0) {
				return -1;
			}
			if (seen && !busy)
				busy = job->paths[i];
			left += seen;
		}
		if (left == 0)
			return 0;
		if (tj_now_ms() > deadline)
			return tj_error_set(err, EBUSY,
					    "kill job cgroup: %zu process(es) still in %s/cgroup.procs after %d ms",
					    left, busy, CGROUP_SETTLE_MS);
		cg_sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
}

/* --------------------------------------------------------------------- v2 */

/* Controller names missing from a space-separated list (cgroup.controllers,
 * cgroup.subtree_control), as " memory cpu". */
static void cg_v2_missing(const char *list, char *out, size_t outlen)
{
	static const char *need[] = {"memory", "cpu", "pids"};

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		bool found = false;
		size_t n = strlen(need[i]);
		for (const char *p = list ? list : ""; *p;) {
			size_t len = strcspn(p, " \n");
			if (len == n && strncmp(p, need[i], n) == 0)
				found = true;
			p += len;
			p += strspn(p, " \n");
		}
		if (!found) {
			size_t used = strlen(out);
			snprintf(out + used, outlen - used, " %s", need[i]);
		}
	}
}

static int cg_v2_check_available(const char *dir, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	char missing[64];

	if (cg_read(dir, "cgroup.controllers", &text, err) < 0)
		return cg_add_hint(err, CGROUP_MODE_V2);
	cg_v2_missing(text, missing, sizeof(missing));
	if (missing[0])
		return tj_error_set(err, ENODEV,
				    "cgroup v2: controller(s)%s not available in %s/cgroup.controllers%s",
				    missing, dir, cg_delegation_hint(ENOENT, CGROUP_MODE_V2));
	return 0;
}

/* Enables memory, cpu and pids for dir's children (writes only what is
 * missing, so that an operator-prepared parent needs no write access). */
static int cg_v2_enable(const char *dir, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	char missing[64], value[64] = "";

	if (cg_read(dir, "cgroup.subtree_control", &text, err) < 0)
		return cg_add_hint(err, CGROUP_MODE_V2);
	cg_v2_missing(text, missing, sizeof(missing));
	if (!missing[0])
		return 0;
	for (char *save = NULL, *tok = strtok_r(missing, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		size_t used = strlen(value);
		snprintf(value + used, sizeof(value) - used, "%s+%s", used ? " " : "", tok);
	}
	if (cg_write(dir, "cgroup.subtree_control", value, err) == 0)
		return 0;
	if (err && err->errnum == EBUSY)
		return tj_error_prefix(err, "cgroup v2: %s still holds processes (no-internal-process "
				       "rule): move them into a leaf cgroup", dir);
	return cg_add_hint(err, CGROUP_MODE_V2);
}

/* Whether the cgroup at rel (below root) holds processes other than this one. */
static bool cg_v2_shared(const char *root, const char *rel)
{
	_cleanup_free_ char *dir = cg_join(root, rel);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;

	if (!dir || cg_read_pids(dir, &pids, &n, NULL) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pids[i] != getpid())
			return true;
	return false;
}

static int cg_v2_host_open(struct cgroup_host *host, const struct cgroup_host_options *opts,
			   const char *root, const char *self, struct tj_error *err)
{
	_cleanup_free_ char *own = NULL;
	_cleanup_free_ char *parent_rel = NULL;
	_cleanup_free_ char *parent = NULL;
	_cleanup_free_ char *leaf = NULL;
	bool move = false;
	int r;

	r = cg_self_path(self, "", &own, NULL);
	if (r == -ENOMEM)
		return cg_oom(err);
	if (r < 0)
		return tj_error_set(err, ENOENT, "cgroup v2: no '0::' line in /proc/self/cgroup");

	if (opts->parent) {
		if (!cg_valid_rel_path(opts->parent) || strspn(opts->parent, "/") == strlen(opts->parent))
			return tj_error_set(err, EINVAL,
					    "cgroup v2: parent '%s' must be an absolute path below the "
					    "root cgroup (not the root itself)", opts->parent);
		parent_rel = strdup(opts->parent);
		move = strcmp(own, opts->parent) == 0;
	} else if (strcmp(own, "/") == 0) {
		/* The root cgroup may hold processes, but its children must be
		 * leaves or parents: use a dedicated parent below it. */
		if (cg_v2_enable(root, err) < 0)
			return -1;
		parent_rel = strdup(CGROUP_V2_DEDICATED);
	} else {
		char *slash = strrchr(own, '/');
		if (slash && strcmp(slash + 1, CGROUP_V2_LEAF) == 0) {
			/* Already in our leaf (a second open in this process). */
			parent_rel = slash == own ? strdup("/") : strndup(own, (size_t)(slash - own));
		} else if (cg_v2_shared(root, own)) {
			/* Started from a login session or another unit's cgroup: its
			 * other processes keep it from becoming a parent (the
			 * no-internal-process rule), and it is not ours to reshape.
			 * Use the dedicated parent below the root instead. */
			if (cg_v2_enable(root, err) < 0)
				return -1;
			parent_rel = strdup(CGROUP_V2_DEDICATED);
		} else {
			parent_rel = strdup(own);
			move = true;
		}
	}
	if (!parent_rel)
		return cg_oom(err);
	if (strcmp(parent_rel, "/") == 0)
		/* parent_rel is freed by its cleanup attribute */
		// cppcheck-suppress memleak
		return tj_error_set(err, EINVAL, "cgroup v2: refusing to use the root cgroup %s as the parent",
				    root);
	parent = cg_join(root, parent_rel);
	if (!parent)
		return cg_oom(err);
	if (cg_mkdir(host, parent, &host->dirs[0].created_parent, err) < 0)
		return cg_add_hint(err, CGROUP_MODE_V2);
	host->dirs[0].parent = TJ_STEAL_PTR(parent);
	host->dirs[0].mask = CG_ALL;
	host->ndirs = 1;

	if (cg_v2_check_available(host->dirs[0].parent, err) < 0)
		return -1;
	if (move) {
		char pid[32];

		leaf = cg_join(host->dirs[0].parent, CGROUP_V2_LEAF);
		if (!leaf)
			return cg_oom(err);
		if (cg_mkdir(host, leaf, NULL, err) < 0)
			return cg_add_hint(err, CGROUP_MODE_V2);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (cg_write(leaf, "cgroup.procs", pid, err) < 0)
			return cg_add_hint(err, CGROUP_MODE_V2);
	}
	if (cg_v2_enable(host->dirs[0].parent, err) < 0)
		return -1;
	snprintf(host->describe, sizeof(host->describe), "cgroup v2: job cgroups below %s%s%s",
		 host->dirs[0].parent, leaf ? ", service moved into " : "", leaf ? leaf : "");
	return 0;
}

static int cg_v2_set_limits(struct cgroup_job *job, const struct cgroup_limits *lim,
			    struct tj_error *err)
{
	const char *dir = job->paths[0];
	char cpu[64];

	if (cg_write_u64(dir, "memory.max", lim->memory_max, "max", err) < 0)
		return -1;
	/* No swap accounting on this kernel (ENOENT): nothing can swap into it. */
	if (cg_write(dir, "memory.swap.max", "0", err) < 0 && err && err->errnum != ENOENT)
		return -1;
	if (lim->cpu_quota_us)
		snprintf(cpu, sizeof(cpu), "%llu %llu", (unsigned long long)lim->cpu_quota_us,
			 (unsigned long long)(lim->cpu_period_us ? lim->cpu_period_us : 100000));
	else
		snprintf(cpu, sizeof(cpu), "max %llu",
			 (unsigned long long)(lim->cpu_period_us ? lim->cpu_period_us : 100000));
	if (cg_write(dir, "cpu.max", cpu, err) < 0)
		return -1;
	return cg_write_u64(dir, "pids.max", lim->pids_max, "max", err);
}

static int cg_v2_stats(struct cgroup_job *job, struct cgroup_stats *st, struct tj_error *err)
{
	const char *dir = job->paths[0];

	if (cg_read_keyed(dir, "memory.events", "oom_kill", false, &st->oom_kills, err) < 0 ||
	    cg_read_keyed(dir, "pids.events", "max", false, &st->pids_max_hits, err) < 0 ||
	    cg_read_keyed(dir, "cpu.stat", "usage_usec", false, &st->cpu_usage_us, err) < 0 ||
	    cg_read_keyed(dir, "cpu.stat", "nr_throttled", false, &st->nr_throttled, err) < 0 ||
	    cg_read_keyed(dir, "cpu.stat", "nr_periods", false, &st->nr_periods, err) < 0)
		return -1;
	/* memory.peak appeared in 5.19 */
	return cg_read_u64(dir, "memory.peak", true, &st->memory_peak, err);
}

static int cg_v2_kill(struct cgroup_job *job, struct tj_error *err)
{
	/* cgroup.kill (5.14+) kills atomically, fork bombs included. */
	if (cg_write(job->paths[0], "cgroup.kill", "1", err) == 0)
		return cg_kill_and_wait(job, false, err);
	if (err && err->errnum != ENOENT)
		return -1;
	return cg_kill_and_wait(job, true, err);
}

static const struct cgroup_ops cgroup_ops_v2 = {
	.host_open = cg_v2_host_open,
	.set_limits = cg_v2_set_limits,
	.stats = cg_v2_stats,
	.kill = cg_v2_kill,
};

/* --------------------------------------------------------------------- v1 */

/* The mount of a v1 hierarchy: "<root>/cpu,cpuacct" when co-mounted (with
 * "cpu" and "cpuacct" symlinks next to it), "<root>/cpu" when separate. */
static char *cg_v1_mount(const char *root, const char *ctrls, const char *ctrl, bool check_fs)
{
	const char *cands[] = {ctrls, ctrl};

	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *p = cg_join(root, cands[i]);
		struct statfs sfs;
		struct stat st;

		if (!p || stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (check_fs && (statfs(p, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC))
			continue;
		return TJ_STEAL_PTR(p);
	}
	return NULL;
}

static int cg_v1_host_open(struct cgroup_host *host, const struct cgroup_host_options *opts,
			   const char *root, const char *self, struct tj_error *err)
{
	size_t len = 0;

	if (opts->parent && !cg_valid_rel_path(opts->parent))
		return tj_error_set(err, EINVAL, "cgroup v1: parent '%s' must be an absolute path",
				    opts->parent);
	for (size_t i = 0; i < CG_NCONTROLLERS; i++) {
		const char *name = cg_controllers[i].name;
		_cleanup_free_ char *own = NULL;
		_cleanup_free_ char *ctrls = NULL;
		_cleanup_free_ char *mount = NULL;
		_cleanup_free_ char *parent = NULL;
		struct cgroup_dir *d = NULL;
		int r;

		r = cg_self_path(self, name, &own, &ctrls);
		if (r == -ENOMEM)
			return cg_oom(err);
		if (r < 0)
			return tj_error_set(err, ENOENT,
					    "cgroup %s: the '%s' controller is not mounted (no line for it "
					    "in /proc/self/cgroup): mount it at %s/%s",
					    cgroup_mode_name(host->mode), name, root, name);
		mount = cg_v1_mount(root, ctrls, name, opts->force_mode < 0);
		if (!mount)
			return tj_error_set(err, ENOENT, "cgroup %s: no cgroup mount for '%s' at %s/%s or %s/%s",
					    cgroup_mode_name(host->mode), name, root, ctrls, root, name);
		/* Co-mounted controllers share a /proc/self/cgroup line and
		 * one directory. */
		for (size_t j = 0; j < host->ndirs; j++)
			if (strcmp(host->dirs[j].ctrls, ctrls) == 0)
				d = &host->dirs[j];
		if (d) {
			d->mask |= cg_controllers[i].bit;
			continue;
		}
		if (opts->parent)
			parent = cg_join(mount, opts->parent);
		else if (strcmp(own, "/") == 0)
			parent = cg_join(mount, CGROUP_V1_INTERMEDIATE);
		else
			parent = cg_join(mount, own);
		if (!parent)
			return cg_oom(err);
		d = &host->dirs[host->ndirs];
		if (opts->parent || strcmp(own, "/") == 0) {
			if (cg_mkdir(host, parent, &d->created_parent, err) < 0)
				return cg_add_hint(err, host->mode);
		} else if (faccessat(AT_FDCWD, parent, W_OK, AT_EACCESS) < 0) {
			tj_error_sys(err, "cgroup %s: own cgroup %s is not writable",
				     cgroup_mode_name(host->mode), parent);
			return cg_add_hint(err, host->mode);
		}
		d->parent = TJ_STEAL_PTR(parent);
		d->ctrls = TJ_STEAL_PTR(ctrls);
		d->mask = cg_controllers[i].bit;
		host->ndirs++;
	}
	len = (size_t)snprintf(host->describe, sizeof(host->describe), "cgroup %s (v1 controllers):",
			       cgroup_mode_name(host->mode));
	for (size_t j = 0; j < host->ndirs && len < sizeof(host->describe); j++) {
		const char *sep = "";
		len += (size_t)snprintf(host->describe + len, sizeof(host->describe) - len, " ");
		for (size_t i = 0; i < CG_NCONTROLLERS && len < sizeof(host->describe); i++) {
			if (!(host->dirs[j].mask & cg_controllers[i].bit))
				continue;
			len += (size_t)snprintf(host->describe + len, sizeof(host->describe) - len, "%s%s",
						sep, cg_controllers[i].name);
			sep = ",";
		}
		if (len < sizeof(host->describe))
			len += (size_t)snprintf(host->describe + len, sizeof(host->describe) - len, "=%s",
						host->dirs[j].parent);
	}
	return 0;
}

static const char *cg_v1_dir(const struct cgroup_job *job, unsigned bit)
{
	for (size_t i = 0; i < job->ndirs; i++)
		if (job->host->dirs[i].mask & bit)
			return job->paths[i];
	return NULL;
}

static int cg_v1_set_limits(struct cgroup_job *job, const struct cgroup_limits *lim,
			    struct tj_error *err)
{
	const char *mem = cg_v1_dir(job, CG_MEMORY), *cpu = cg_v1_dir(job, CG_CPU);
	const char *pids = cg_v1_dir(job, CG_PIDS);
	uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;

	if (cg_write_u64(mem, "memory.limit_in_bytes", lim->memory_max, "-1", err) < 0)
		return -1;
	/* memsw = memory means no swap; without swap accounting (no memsw
	 * file) the best we can do is to tell reclaim not to swap. */
	if (cg_write_u64(mem, "memory.memsw.limit_in_bytes", lim->memory_max, "-1", err) < 0) {
		if (!err || err->errnum != ENOENT)
			return -1;
		if (cg_write(mem, "memory.swappiness", "0", err) < 0)
			return -1;
	} else if (lim->memory_max == 0 && cg_write(mem, "memory.swappiness", "0", err) < 0) {
		return -1;
	}
	if (cg_write_u64(cpu, "cpu.cfs_period_us", period, "100000", err) < 0 ||
	    cg_write_u64(cpu, "cpu.cfs_quota_us", lim->cpu_quota_us, "-1", err) < 0)
		return -1;
	return cg_write_u64(pids, "pids.max", lim->pids_max, "max", err);
}

static int cg_v1_stats(struct cgroup_job *job, struct cgroup_stats *st, struct tj_error *err)
{
	const char *mem = cg_v1_dir(job, CG_MEMORY), *cpu = cg_v1_dir(job, CG_CPU);
	const char *acct = cg_v1_dir(job, CG_CPUACCT), *pids = cg_v1_dir(job, CG_PIDS);
	uint64_t ns;

	if (cg_read_keyed(mem, "memory.oom_control", "oom_kill", false, &st->oom_kills, err) < 0 ||
	    cg_read_keyed(pids, "pids.events", "max", false, &st->pids_max_hits, err) < 0 ||
	    cg_read_u64(acct, "cpuacct.usage", false, &ns, err) < 0 ||
	    cg_read_keyed(cpu, "cpu.stat", "nr_throttled", false, &st->nr_throttled, err) < 0 ||
	    cg_read_keyed(cpu, "cpu.stat", "nr_periods", false, &st->nr_periods, err) < 0 ||
	    cg_read_u64(mem, "memory.max_usage_in_bytes", false, &st->memory_peak, err) < 0)
		return -1;
	st->cpu_usage_us = ns / 1000;
	return 0;
}

static int cg_v1_kill(struct cgroup_job *job, struct tj_error *err)
{
	/* No cgroup.kill on v1.  pids.max bounds what a fork loop can add
	 * between rounds, so repeated rounds converge. */
	return cg_kill_and_wait(job, true, err);
}

static const struct cgroup_ops cgroup_ops_v1 = {
	.host_open = cg_v1_host_open,
	.set_limits = cg_v1_set_limits,
	.stats = cg_v1_stats,
	.kill = cg_v1_kill,
};

/* ----------------------------------------------------------------- public */

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_MODE_V2:
		return "v2";
	case CGROUP_MODE_HYBRID:
		return "hybrid";
	case CGROUP_MODE_V1:
		return "v1";
	}
	return "unknown";
}

static int cg_detect(const char *root, enum cgroup_mode *mode, struct tj_error *err)
{
	struct statfs sfs;
	_cleanup_free_ char *unified = NULL;

	if (statfs(root, &sfs) < 0)
		return tj_error_sys(err, "cgroup: statfs %s", root);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		*mode = CGROUP_MODE_V2;
		return 0;
	}
	if (sfs.f_type != TMPFS_MAGIC)
		return tj_error_set(err, ENODEV, "cgroup: %s is neither cgroup2 nor a tmpfs of v1 "
				    "controllers (f_type 0x%lx)", root, (unsigned long)sfs.f_type);
	unified = cg_join(root, "unified");
	if (!unified)
		return cg_oom(err);
	*mode = statfs(unified, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC ? CGROUP_MODE_HYBRID
										 : CGROUP_MODE_V1;
	return 0;
}

void cgroup_host_free(struct cgroup_host *host)
{
	if (!host)
		return;
	for (size_t i = 0; i < host->ndirs; i++) {
		/* Only what we made, and only if empty: another tfjail may be
		 * using it (EBUSY/ENOTEMPTY then, which is fine). */
		if (host->dirs[i].created_parent) {
			cg_hook(host, host->dirs[i].parent, false);
			rmdir(host->dirs[i].parent);
		}
		free(host->dirs[i].parent);
		free(host->dirs[i].ctrls);
	}
	free(host);
}

int cgroup_host_open(const struct cgroup_host_options *opts, struct cgroup_host **out,
		     struct tj_error *err)
{
	static const struct cgroup_host_options none = {.force_mode = -1};
	struct cgroup_host *host;
	_cleanup_free_ char *self_buf = NULL;
	const char *root, *self;
	enum cgroup_mode mode = CGROUP_MODE_V2;

	*out = NULL;
	if (!opts)
		opts = &none;
	root = opts->root ? opts->root : CGROUP_DEFAULT_ROOT;
	if (opts->force_mode >= 0) {
		if (opts->force_mode > CGROUP_MODE_V1)
			return tj_error_set(err, EINVAL, "cgroup: bad force_mode %d", opts->force_mode);
		mode = (enum cgroup_mode)opts->force_mode;
	} else if (cg_detect(root, &mode, err) < 0) {
		return -1;
	}
	self = opts->self_cgroup;
	if (!self) {
		if (tj_read_file("/proc/self/cgroup", CGROUP_FILE_MAX, &self_buf, NULL, err) < 0)
			return tj_error_prefix(err, "cgroup");
		self = self_buf;
	}
	host = calloc(1, sizeof(*host));
	if (!host)
		return cg_oom(err);
	host->mode = mode;
	host->ops = mode == CGROUP_MODE_V2 ? &cgroup_ops_v2 : &cgroup_ops_v1;
	host->fs_hook = opts->fs_hook;
	host->fs_hook_arg = opts->fs_hook_arg;
	if (host->ops->host_open(host, opts, root, self, err) < 0) {
		cgroup_host_free(host);
		return -1;
	}
	*out = host;
	return 0;
}

enum cgroup_mode cgroup_host_mode(const struct cgroup_host *host)
{
	return host->mode;
}

const char *cgroup_host_describe(const struct cgroup_host *host)
{
	return host->describe;
}

static int cg_check_limits(const struct cgroup_limits *lim, struct tj_error *err)
{
	uint64_t period = lim->cpu_period_us ? lim->cpu_period_us : 100000;

	/* The kernel's own bounds, checked here for a clearer message. */
	if (period < 1000 || period > 1000000)
		return tj_error_set(err, EINVAL, "cgroup: cpu period %llu us is outside 1000..1000000",
				    (unsigned long long)period);
	if (lim->cpu_quota_us && lim->cpu_quota_us < 1000)
		return tj_error_set(err, EINVAL, "cgroup: cpu quota %llu us is below the minimum of 1000",
				    (unsigned long long)lim->cpu_quota_us);
	if (lim->memory_max > (uint64_t)INT64_MAX || lim->pids_max > (uint64_t)INT32_MAX)
		return tj_error_set(err, EINVAL, "cgroup: memory or pids limit out of range");
	return 0;
}

/* Removes one job directory, waiting while exiting tasks still pin it. */
static int cg_rmdir(const struct cgroup_host *host, const char *path, struct tj_error *err)
{
	uint64_t deadline = tj_now_ms() + CGROUP_SETTLE_MS;
	unsigned delay = 1;

	cg_hook(host, path, false);
	for (;;) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || tj_now_ms() > deadline)
			return tj_error_sys(err, "cgroup: rmdir %s", path);
		cg_sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
}

static void cg_job_free(struct cgroup_job *job)
{
	if (job->dirfd >= 0)
		close(job->dirfd);
	cgroup_job_attach_close(job);
	for (size_t i = 0; i < job->ndirs; i++)
		free(job->paths[i]);
	free(job);
}

/* Removes the directories and frees job; the first error wins. */
static int cg_job_remove(struct cgroup_job *job, struct tj_error *err)
{
	int ret = 0;
	struct tj_error tmp;

	for (size_t i = 0; i < job->ndirs; i++) {
		if (!job->paths[i])
			continue;
		if (cg_rmdir(job->host, job->paths[i], ret < 0 ? &tmp : err) < 0)
			ret = -1;
	}
	cg_job_free(job);
	return ret;
}

/* mkdir of a job directory.  EEXIST is an error: a leftover cgroup may still
 * hold another job's processes.  ENOENT means a parent that tfjail made has
 * been removed by another tfjail's cleanup in the meantime: make it again. */
static int cg_job_mkdir(struct cgroup_host *host, size_t i, const char *path, struct tj_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (mkdir(path, 0755) == 0) {
			cg_hook(host, path, true);
			return 0;
		}
		if (errno == EEXIST)
			return tj_error_set(err, EEXIST, "cgroup: %s already exists (left over from an "
					    "earlier run? check that it is empty and rmdir it)", path);
		if (errno != ENOENT || !host->dirs[i].created_parent || attempt)
			break;
		if (cg_mkdir(host, host->dirs[i].parent, NULL, err) < 0)
			return cg_add_hint(err, host->mode);
	}
	tj_error_sys(err, "cgroup: mkdir %s", path);
	return cg_add_hint(err, host->mode);
}

int cgroup_job_create(struct cgroup_host *host, const char *name, const struct cgroup_limits *lim,
		      struct cgroup_job **out, struct tj_error *err)
{
	struct cgroup_job *job;
	static const struct cgroup_limits none;

	*out = NULL;
	if (!cg_valid_name(name))
		return tj_error_set(err, EINVAL, "cgroup: invalid job name '%s' (1..%d characters of "
				    "A-Z a-z 0-9 _ . @ : -, not '.' or '..')", name ? name : "",
				    CGROUP_NAME_MAX);
	if (!lim)
		lim = &none;
	if (cg_check_limits(lim, err) < 0)
		return -1;
	job = calloc(1, sizeof(*job));
	if (!job)
		return cg_oom(err);
	job->host = host;
	job->dirfd = -1;
	for (size_t i = 0; i < CG_NCONTROLLERS; i++)
		job->attach_fds[i] = -1;
	for (size_t i = 0; i < host->ndirs; i++) {
		_cleanup_free_ char *path = cg_join(host->dirs[i].parent, name);
		if (!path) {
			cg_job_remove(job, NULL);
			return cg_oom(err);
		}
		if (cg_job_mkdir(host, i, path, err) < 0) {
			cg_job_remove(job, NULL);
			return -1;
		}
		job->paths[job->ndirs++] = TJ_STEAL_PTR(path);
	}
	if (host->ops->set_limits(job, lim, err) < 0) {
		cg_job_remove(job, NULL);
		return tj_error_prefix(err, "cgroup: set limits of job '%s'", name);
	}
	if (host->mode == CGROUP_MODE_V2) {
		job->dirfd = open(job->paths[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (job->dirfd < 0) {
			tj_error_sys(err, "cgroup: open %s", job->paths[0]);
			cg_job_remove(job, NULL);
			return -1;
		}
	}
	*out = job;
	return 0;
}

int cgroup_host_sweep(struct cgroup_host *host, const char *prefix, bool (*stale)(const char *name))
{
	int removed = 0;

	for (size_t i = 0; i < host->ndirs; i++) {
		DIR *d = opendir(host->dirs[i].parent);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			char *path;
			if (de->d_type != DT_DIR || strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
			    !stale(de->d_name))
				continue;
			path = cg_join(host->dirs[i].parent, de->d_name);
			/* only an empty cgroup goes: rmdir refuses one with processes */
			if (path && rmdir(path) == 0)
				removed++;
			free(path);
		}
		closedir(d);
	}
	return removed;
}

int cgroup_job_dirfd(const struct cgroup_job *job)
{
	return job->dirfd;
}

int cgroup_job_attach(struct cgroup_job *job, pid_t pid, struct tj_error *err)
{
	char buf[32];

	if (pid <= 0 || pid == getpid())
		return tj_error_set(err, EINVAL, "cgroup: refusing to attach pid %d to a job cgroup",
				    (int)pid);
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < job->ndirs; i++)
		if (cg_write(job->paths[i], "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

int cgroup_job_attach_open(struct cgroup_job *job, struct tj_error *err)
{
	/* On v1 "tasks" moves one thread; the caller has only one. */
	const char *file = job->host->mode == CGROUP_MODE_V2 ? "cgroup.procs" : "tasks";

	cgroup_job_attach_close(job);
	for (size_t i = 0; i < job->ndirs; i++) {
		_cleanup_free_ char *path = cg_join(job->paths[i], file);
		if (!path)
			return cg_oom(err);
		job->attach_fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (job->attach_fds[i] < 0) {
			tj_error_sys(err, "open %s", path);
			cgroup_job_attach_close(job);
			return -1;
		}
	}
	return 0;
}

void cgroup_job_attach_close(struct cgroup_job *job)
{
	for (size_t i = 0; i < CG_NCONTROLLERS; i++)
		if (job->attach_fds[i] >= 0) {
			close(job->attach_fds[i]);
			job->attach_fds[i] = -1;
		}
}

int cgroup_job_attach_self(struct cgroup_job *job, struct tj_error *err)
{
	const char *file = job->host->mode == CGROUP_MODE_V2 ? "cgroup.procs" : "tasks";

	for (size_t i = 0; i < job->ndirs; i++) {
		ssize_t n;
		/* not opened beforehand: the caller's own credentials */
		if (job->attach_fds[i] < 0) {
			if (cg_write(job->paths[i], file, "0", err) < 0)
				return -1;
			continue;
		}
		do
			n = write(job->attach_fds[i], "0", 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return tj_error_sys(err, "move into cgroup %s", job->paths[i]);
	}
	cgroup_job_attach_close(job);
	return 0;
}

int cgroup_job_stats(struct cgroup_job *job, struct cgroup_stats *st, struct tj_error *err)
{
	memset(st, 0, sizeof(*st));
	return job->host->ops->stats(job, st, err);
}

int cgroup_job_kill(struct cgroup_job *job, struct tj_error *err)
{
	return job->host->ops->kill(job, err);
}

int cgroup_job_destroy(struct cgroup_job *job, struct tj_error *err)
{
	struct tj_error kerr = {0};
	int killed, ret;
	size_t len;

	if (!job)
		return 0;
	/* Remove even when the kill failed: what can go goes, and rmdir then
	 * names the directory that is still busy. */
	killed = cgroup_job_kill(job, &kerr);
	ret = cg_job_remove(job, err);
	if (ret < 0 && killed < 0 && err) {
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)", kerr.msg);
	}
	return ret;
}

const char *cgroup_job_path(const struct cgroup_job *job, const char *controller)
{
	if (job->host->mode == CGROUP_MODE_V2)
		return job->paths[0];
	for (size_t i = 0; i < CG_NCONTROLLERS; i++)
		if (controller && strcmp(controller, cg_controllers[i].name) == 0)
			return cg_v1_dir(job, cg_controllers[i].bit);
	return NULL;
}
