/* probe: run inside the sandbox to show that an isolation property holds.
 *
 *   probe COMMAND [ARGS]
 *
 * All output goes to stdout, one line per observation.  Check commands end
 * with a verdict line, "PASS" or "FAIL: why".  Exit status: 0 the property
 * holds (or the informational command worked), 1 it does not, 2 usage.
 * Static, libc only; blocked syscalls are made through syscall(SYS_...). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mqueue.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MIB (1024 * 1024)

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

static int usage(const char *msg)
{
	fprintf(stderr, "usage: probe %s\n", msg);
	return 2;
}

static int pass(void)
{
	printf("PASS\n");
	return 0;
}

static int fail(const char *why)
{
	printf("FAIL: %s\n", why);
	return 1;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Reads a whole (small) file; NUL-terminated, *len without the NUL.  NULL
 * with errno on failure. */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (!buf || fd < 0) {
		int e = errno;

		free(buf);
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = cap < 64 * MIB ? realloc(buf, cap * 2) : NULL;

			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;

			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* ---- hold RESOURCE / take RESOURCE --------------------------------------- */

/* Kernel resources that the kernel counts per user or host-wide.  `hold`
 * takes as many as it can, prints "held N (ERRNAME)" and keeps them until it
 * is killed; `take` takes one and gives it back (PASS) or reports why not.
 * The tests run `hold` in one sandbox and `take` in another and on the host. */

static int take_inotify(void *state)
{
	(void)state;
	return inotify_init1(IN_CLOEXEC);
}

/* state: the inotify fd; a new file in /tmp per watch (a watch is per inode) */
static int take_inotify_watch(void *state)
{
	static unsigned long n;
	int *fd = state, f, w;
	char path[64];

	if (*fd < 0 && (*fd = inotify_init1(IN_CLOEXEC)) < 0)
		return -1;
	snprintf(path, sizeof(path), "/tmp/.probe-watch-%d-%lu", (int)getpid(), n++);
	f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return -1;
	close(f);
	w = inotify_add_watch(*fd, path, IN_MODIFY);
	if (w < 0) {
		int e = errno;
		unlink(path);
		errno = e;
	}
	return w;
}

static int take_mqueue(void *state)
{
	static unsigned long n;
	struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = 8192};
	char name[64];
	mqd_t q;

	(void)state;
	snprintf(name, sizeof(name), "/tfjail-probe-%d-%lu", (int)getpid(), n++);
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
	if (q == (mqd_t)-1)
		return -1;
	/* the queue's bytes stay charged while it is open */
	mq_unlink(name);
	return (int)q;
}

static int take_sigqueue(void *state)
{
	union sigval v = {.sival_int = 0};
	sigset_t set;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return sigqueue(getpid(), SIGRTMIN, v);
}

static int take_timer(void *state)
{
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1};
	timer_t t;

	(void)state;
	return timer_create(CLOCK_MONOTONIC, &ev, &t) < 0 ? -1 : 0;
}

static int take_aio(void *state)
{
	unsigned long ctx = 0;

	(void)state;
	return (int)syscall(SYS_io_setup, 1, &ctx);
}

static const struct {
	const char *name;
	int (*take)(void *state);
} resources[] = {
    {"inotify", take_inotify}, {"inotify-watch", take_inotify_watch},
    {"mqueue", take_mqueue},   {"sigqueue", take_sigqueue},
    {"timer", take_timer},     {"aio", take_aio},
};

static int find_resource(const char *name)
{
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (strcmp(resources[i].name, name) == 0)
			return (int)i;
	return -1;
}

#define HOLD_MAX 1000000L

static int cmd_hold(int argc, char **argv)
{
	int r = argc == 1 ? find_resource(argv[0]) : -1;
	int state = -1, e = 0;
	long n = 0;

	if (r < 0)
		return usage("hold inotify|inotify-watch|mqueue|sigqueue|timer|aio");
	/* the fds of what is held stay open: lift the soft limit to the hard one */
	{
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	signal(SIGXFSZ, SIG_IGN);
	while (n < HOLD_MAX) {
		if (resources[r].take(&state) < 0) {
			e = errno;
			break;
		}
		n++;
	}
	printf("held %ld (%s)\n", n, e ? errname(e) : "limit of the probe");
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_take(int argc, char **argv)
{
	int r = argc == 1 ? find_resource(argv[0]) : -1;
	int state = -1;
	char why[128];

	if (r < 0)
		return usage("take inotify|inotify-watch|mqueue|sigqueue|timer|aio");
	if (resources[r].take(&state) < 0) {
		snprintf(why, sizeof(why), "%s: %s", argv[0], errname(errno));
		return fail(why);
	}
	return pass();
}

/* ---- grow-stdout ---------------------------------------------------------- */

/* Tries to make the file behind stdout (a host file with `tfjail run`) 1 TiB
 * large three ways; each must fail with EFBIG (RLIMIT_FSIZE). */
static int cmd_grow_stdout(int argc, char **argv)
{
	const off_t big = (off_t)1 << 40;
	bool ok = true;
	int e;

	(void)argv;
	if (argc != 0)
		return usage("grow-stdout");
	signal(SIGXFSZ, SIG_IGN);
	errno = 0;
	e = ftruncate(1, big) < 0 ? errno : 0;
	fprintf(stderr, "ftruncate %s\n", e ? errname(e) : "succeeded");
	ok &= e == EFBIG;
	e = fallocate(1, 0, big - 4096, 4096) < 0 ? errno : 0;
	fprintf(stderr, "fallocate %s\n", e ? errname(e) : "succeeded");
	ok &= e == EFBIG;
	e = pwrite(1, "x", 1, big) < 0 ? errno : 0;
	fprintf(stderr, "pwrite %s\n", e ? errname(e) : "succeeded");
	ok &= e == EFBIG;
	fprintf(stderr, "%s\n", ok ? "PASS" : "FAIL: the file could grow");
	return ok ? 0 : 1;
}

/* ---- escape SECONDS / alone ---------------------------------------------- */

/* Leaves a grandchild running SECONDS in a session of its own (out of the
 * command's process group and session), prints its pid, and exits. */
static int cmd_escape(int argc, char **argv)
{
	long secs;
	pid_t pid;
	int p[2];

	if (argc != 1 || !parse_long(argv[0], 1, 86400, &secs))
		return usage("escape SECONDS");
	if (pipe(p) < 0)
		return fail("pipe");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		pid_t g;
		setsid();
		g = fork();
		if (g == 0) {
			struct timespec ts = {.tv_sec = secs};
			close(p[0]);
			close(p[1]);
			for (int fd = 0; fd < 3; fd++)
				close(fd);
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			_exit(0);
		}
		if (write(p[1], &g, sizeof(g)) != sizeof(g))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &pid, sizeof(pid)) != sizeof(pid))
		return fail("no grandchild");
	printf("escaped %d\n", (int)pid);
	return pass();
}

/* No process but PID 1 and this one is alive in the sandbox. */
static int cmd_alone(int argc, char **argv)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool ok = true;

	(void)argv;
	if (argc != 0)
		return usage("alone");
	if (!d)
		return fail("opendir /proc");
	while ((de = readdir(d))) {
		char path[PATH_MAX], *buf, *p;
		long pid;
		if (!parse_long(de->d_name, 2, INT_MAX, &pid) || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		buf = slurp(path, NULL);
		if (!buf)
			continue;
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] != 'Z') {
			printf("alive: %s", buf);
			ok = false;
		}
		free(buf);
	}
	closedir(d);
	return ok ? pass() : fail("a process of an earlier command is alive");
}

/* ---- masked PATH... / readonly PATH... ----------------------------------- */

/* masked: a directory is an empty read-only mount; a file is /dev/null (char
 * 1:3) and reads empty.  A path the kernel does not have is reported absent. */
static int cmd_masked(int argc, char **argv)
{
	bool ok = true;

	if (argc < 1)
		return usage("masked PATH...");
	for (int i = 0; i < argc; i++) {
		struct stat st;
		struct statvfs vfs;
		if (stat(argv[i], &st) < 0) {
			printf("masked %s %s\n", argv[i], errno == ENOENT ? "absent" : errname(errno));
			ok &= errno == ENOENT;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			size_t entries = 0;
			while (d && (de = readdir(d)))
				entries += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
			if (d)
				closedir(d);
			bool ro = statvfs(argv[i], &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
			printf("masked %s directory, %zu entries, %s\n", argv[i], entries,
			       ro ? "read-only" : "writable");
			ok &= d && entries == 0 && ro;
		} else {
			size_t len = 0;
			char *buf = slurp(argv[i], &len);
			bool devnull =
			    S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
			printf("masked %s %s, %zu bytes\n", argv[i], devnull ? "/dev/null" : "NOT /dev/null",
			       len);
			ok &= devnull && buf && len == 0;
			free(buf);
		}
	}
	return ok ? pass() : fail("a path is not masked");
}

/* readonly: the path is on a read-only mount, and opening it for writing
 * fails. */
static int cmd_readonly(int argc, char **argv)
{
	bool ok = true;

	if (argc < 1)
		return usage("readonly PATH...");
	for (int i = 0; i < argc; i++) {
		struct statvfs vfs;
		struct stat st;
		int fd, e = 0;
		if (stat(argv[i], &st) < 0) {
			printf("readonly %s %s\n", argv[i], errno == ENOENT ? "absent" : errname(errno));
			ok &= errno == ENOENT;
			continue;
		}
		bool ro = statvfs(argv[i], &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
		if (!S_ISDIR(st.st_mode)) {
			fd = open(argv[i], O_WRONLY | O_CLOEXEC);
			e = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);
		}
		printf("readonly %s %s%s%s\n", argv[i], ro ? "read-only mount" : "WRITABLE mount",
		       S_ISDIR(st.st_mode) ? "" : ", open for writing: ",
		       S_ISDIR(st.st_mode) ? "" : (e ? errname(e) : "succeeded"));
		ok &= ro && (S_ISDIR(st.st_mode) || e != 0);
	}
	return ok ? pass() : fail("a path is writable");
}

/* ---- write-fail PATH... ---------------------------------------------- */

static int cmd_write_fail(int argc, char **argv)
{
	bool ok = true;

	if (argc < 1)
		return usage("write-fail PATH...");
	for (int i = 0; i < argc; i++) {
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/.tfjail-probe-%d", argv[i], (int)getpid());
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			unlink(path);
			printf("write-fail %s writable\n", argv[i]);
			ok = false;
		} else if (errno == EROFS || errno == EACCES || errno == EPERM) {
			printf("write-fail %s %s\n", argv[i], errname(errno));
		} else {
			/* ENOENT and the like prove nothing about isolation */
			printf("write-fail %s %s (unexpected)\n", argv[i], errname(errno));
			ok = false;
		}
	}
	return ok ? pass() : fail("a path was writable or failed for another reason");
}

/* ---- netifs ----------------------------------------------------------- */

static int cmd_netifs(int argc, char **argv)
{
	struct if_nameindex *ifs;
	int n = 0, fd;
	bool only_lo_up = true, saw_lo = false;

	(void)argv;
	if (argc != 0)
		return usage("netifs");
	ifs = if_nameindex();
	if (!ifs) {
		printf("netifs if_nameindex %s\n", errname(errno));
		return fail("cannot list interfaces");
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (struct if_nameindex *i = ifs; i->if_index; i++, n++) {
		struct ifreq ifr;
		bool up = false;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->if_name);
		if (fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
			up = ifr.ifr_flags & IFF_UP;
		printf("netif %s %s\n", i->if_name, up ? "up" : "down");
		if (strcmp(i->if_name, "lo") == 0 && up)
			saw_lo = true;
		else
			only_lo_up = false;
	}
	if (fd >= 0)
		close(fd);
	if_freenameindex(ifs);
	if (!only_lo_up || !saw_lo || n != 1)
		return fail("expected exactly one interface, lo, up");
	return pass();
}

/* ---- connect HOST PORT ----------------------------------------------- */

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct pollfd pfd;
	long port;
	int fd, e = 0, r;
	socklen_t elen = sizeof(e);

	memset(&ss, 0, sizeof(ss));
	if (argc != 2 || !parse_long(argv[1], 1, 65535, &port))
		return usage("connect HOST PORT   (HOST a numeric IPv4 or IPv6 address)");
	if (inet_pton(AF_INET, argv[0], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[0], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		return usage("connect HOST PORT   (HOST a numeric IPv4 or IPv6 address)");
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		printf("connect %s %ld socket %s\n", argv[0], port, errname(errno));
		return pass();
	}
	r = connect(fd, (struct sockaddr *)&ss, slen);
	if (r < 0 && errno != EINPROGRESS) {
		printf("connect %s %ld failed %s\n", argv[0], port, errname(errno));
		close(fd);
		return pass();
	}
	if (r < 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, 2000);
		if (r == 0) {
			printf("connect %s %ld failed timeout\n", argv[0], port);
			close(fd);
			return pass();
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (e) {
			printf("connect %s %ld failed %s\n", argv[0], port, errname(e));
			close(fd);
			return pass();
		}
	}
	printf("connect %s %ld connected\n", argv[0], port);
	close(fd);
	return fail("the connection succeeded");
}

/* ---- pid1 [--max-pids N] [--init-comm NAME] -------------------------- */

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int cmd_pid1(int argc, char **argv)
{
	static const char *const host_inits[] = {"systemd",     "init",  "tini",      "dumb-init",
	                                         "docker-init", "runit", "s6-svscan", "launchd"};
	long max_pids = 4, max_pid = 1000, pids[4096];
	const char *init_comm = NULL;
	size_t n = 0, len = 0;
	char *comm, *cmdline;
	bool ok = true;
	DIR *d;
	struct dirent *de;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--max-pids") == 0 && i + 1 < argc &&
		    parse_long(argv[i + 1], 1, 4096, &max_pids))
			i++;
		else if (strcmp(argv[i], "--max-pid") == 0 && i + 1 < argc &&
		         parse_long(argv[i + 1], 1, LONG_MAX, &max_pid))
			i++;
		else if (strcmp(argv[i], "--init-comm") == 0 && i + 1 < argc)
			init_comm = argv[++i];
		else
			return usage("pid1 [--max-pids N] [--max-pid N] [--init-comm NAME]");
	}
	printf("pid %d\n", (int)getpid());
	printf("ppid %d\n", (int)getppid());
	d = opendir("/proc");
	if (!d) {
		printf("proc %s\n", errname(errno));
		return fail("cannot list /proc");
	}
	while ((de = readdir(d)) && n < sizeof(pids) / sizeof(pids[0])) {
		long v;

		if (parse_long(de->d_name, 1, LONG_MAX, &v))
			pids[n++] = v;
	}
	closedir(d);
	qsort(pids, n, sizeof(pids[0]), cmp_long);
	printf("pids");
	for (size_t i = 0; i < n; i++)
		printf(" %ld", pids[i]);
	printf("\ncount %zu\n", n);

	comm = slurp("/proc/1/comm", NULL);
	if (comm)
		comm[strcspn(comm, "\n")] = '\0';
	printf("pid1-comm %s\n", comm ? comm : errname(errno));
	cmdline = slurp("/proc/1/cmdline", &len);
	for (size_t i = 0; cmdline && i + 1 < len; i++)
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	printf("pid1-cmdline %s\n", cmdline ? cmdline : errname(errno));

	if ((long)n > max_pids) {
		printf("check count %zu > %ld\n", n, max_pids);
		ok = false;
	}
	if (getpid() > max_pid) {
		printf("check pid %d > %ld\n", (int)getpid(), max_pid);
		ok = false;
	}
	if (!comm) {
		ok = false;
	} else if (init_comm) {
		if (strcmp(comm, init_comm) != 0) {
			printf("check pid1-comm %s != %s\n", comm, init_comm);
			ok = false;
		}
	} else {
		for (size_t i = 0; i < sizeof(host_inits) / sizeof(host_inits[0]); i++)
			if (strcmp(comm, host_inits[i]) == 0) {
				printf("check pid1-comm %s is a host init\n", comm);
				ok = false;
			}
	}
	free(comm);
	free(cmdline);
	return ok ? pass() : fail("the pid namespace looks like the host's");
}

/* ---- status ---------------------------------------------------------- */

static int cmd_status(int argc, char **argv)
{
	static const char *const keys[] = {"CapInh",     "CapPrm",  "CapEff", "CapBnd", "CapAmb",
	                                   "NoNewPrivs", "Seccomp", "Uid",    "Gid",    "Groups"};
	char *st = slurp("/proc/self/status", NULL);
	bool ok = true;

	(void)argv;
	if (argc != 0)
		return usage("status");
	if (!st) {
		printf("status %s\n", errname(errno));
		return fail("cannot read /proc/self/status");
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k]);
		const char *v = NULL;

		for (char *line = st; line && *line;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			if (strncmp(line, keys[k], kl) == 0 && line[kl] == ':') {
				v = line + kl + 1;
				break;
			}
		if (!v) {
			printf("%s missing\n", keys[k]);
			ok = false;
			continue;
		}
		while (*v == '\t' || *v == ' ')
			v++;
		printf("%s", keys[k]);
		for (const char *c = v; *c && *c != '\n'; c++) /* Uid: 4 tab-separated ids */
			if (*c != '\t' && *c != ' ')
				printf("%s%c", c == v || c[-1] == '\t' || c[-1] == ' ' ? " " : "", *c);
		printf("\n");
		if (strncmp(keys[k], "Cap", 3) == 0 && strtoull(v, NULL, 16) != 0)
			ok = false;
		if (strcmp(keys[k], "NoNewPrivs") == 0 && strncmp(v, "1\n", 2) != 0)
			ok = false;
		if (strcmp(keys[k], "Seccomp") == 0 && strncmp(v, "2\n", 2) != 0)
			ok = false;
	}
	free(st);
	return ok ? pass() : fail("capabilities left, or no_new_privs or seccomp filter missing");
}

/* ---- syscalls --------------------------------------------------------- */

/* Each call carries arguments the kernel rejects (EINVAL, EFAULT, EBADF...)
 * if seccomp lets it through, so a harmless failure other than EPERM/ENOSYS
 * means the filter is missing. */
struct probe_call {
	const char *name;
	long nr;
	long a[6];
};

static int cmd_syscalls(int argc, char **argv)
{
	static const char empty[] = "";
	static const char tiocsti_char = '\n';
	const long bad = -1;
	const struct probe_call calls[] = {
	    {"clone(CLONE_NEWUSER|CLONE_NEWNET)", SYS_clone, {CLONE_NEWUSER | CLONE_NEWNET | CLONE_FS}},
	    {"clone3", SYS_clone3, {0, 0}},
	    {"unshare", SYS_unshare, {bad}},
	    {"setns", SYS_setns, {bad, 0}},
	    {"mount", SYS_mount, {0, 0, 0, 0, 0}},
	    {"umount2", SYS_umount2, {0, bad}},
	    {"pivot_root", SYS_pivot_root, {0, 0}},
	    {"keyctl", SYS_keyctl, {bad, 0, 0, 0, 0}},
	    {"add_key", SYS_add_key, {0, 0, 0, 0, 0}},
	    {"request_key", SYS_request_key, {0, 0, 0, 0}},
	    {"userfaultfd", SYS_userfaultfd, {bad}},
	    {"io_uring_setup", SYS_io_uring_setup, {0, 0}},
	    {"io_setup", SYS_io_setup, {0, 0}},
	    {"bpf", SYS_bpf, {bad, 0, 0}},
	    {"perf_event_open", SYS_perf_event_open, {0, 0, bad, bad, 0}},
	    {"ptrace", SYS_ptrace, {bad, 0, 0, 0}},
	    {"process_vm_readv", SYS_process_vm_readv, {0, 0, 0, 0, 0, 1}},
	    {"process_vm_writev", SYS_process_vm_writev, {0, 0, 0, 0, 0, 1}},
	    {"kexec_load", SYS_kexec_load, {0, 1000, 0, 0}},
	    {"init_module", SYS_init_module, {0, 0, 0}},
	    {"finit_module", SYS_finit_module, {bad, 0, 0}},
	    {"delete_module", SYS_delete_module, {0, 0}},
	    {"reboot", SYS_reboot, {0, 0, 0, 0}},
	    {"swapon", SYS_swapon, {0, 0}},
	    {"acct", SYS_acct, {(long)empty}},
	    {"open_by_handle_at", SYS_open_by_handle_at, {bad, 0, 0}},
	};
	struct stat st;
	bool ok = true;

	(void)argv;
	if (argc != 0)
		return usage("syscalls");
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		const long *a = calls[i].a;
		long r;

		errno = 0;
		r = syscall(calls[i].nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (r == 0 && calls[i].nr == SYS_clone)
			_exit(0); /* a child of an allowed clone: never report twice */
		if (r >= 0) {
			printf("%s succeeded\n", calls[i].name);
			ok = false;
		} else {
			printf("%s %s\n", calls[i].name, errname(errno));
			if (errno != EPERM && errno != ENOSYS)
				ok = false;
		}
	}
	/* TIOCSTI would type into a terminal on stdin if allowed: only try it
	 * where stdin is not a terminal (/dev/null or a pipe say ENOTTY then). */
	if (fstat(0, &st) == 0 && S_ISCHR(st.st_mode) && isatty(0)) {
		printf("ioctl(TIOCSTI) skipped (stdin is a terminal)\n");
	} else {
		long r = syscall(SYS_ioctl, 0, TIOCSTI, &tiocsti_char);

		if (r >= 0) {
			printf("ioctl(TIOCSTI) succeeded\n");
			ok = false;
		} else {
			printf("ioctl(TIOCSTI) %s\n", errname(errno));
			if (errno != EPERM)
				ok = false;
		}
	}
	return ok ? pass() : fail("a blocked syscall reached the kernel");
}

/* ---- memhog MIB -------------------------------------------------------- */

static int cmd_memhog(int argc, char **argv)
{
	long mib;
	long page = sysconf(_SC_PAGESIZE);

	if (argc != 1 || !parse_long(argv[0], 1, 1L << 30, &mib))
		return usage("memhog MIB");
	for (long i = 1; i <= mib; i++) {
		char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			printf("memhog failed at %ld MiB %s\n", i - 1, errname(errno));
			return 1;
		}
		for (long off = 0; off < MIB; off += page)
			p[off] = (char)i; /* touch every page: charged to the cgroup */
		if (i % 64 == 0)
			printf("memhog %ld MiB\n", i);
	}
	printf("memhog done %ld MiB\n", mib);
	return 0;
}

/* ---- forkbomb N --------------------------------------------------------- */

static int cmd_forkbomb(int argc, char **argv)
{
	long n, started = 0;
	pid_t *kids;
	int first_err = 0;
	pid_t parent = getpid();

	if (argc != 1 || !parse_long(argv[0], 1, 1L << 20, &n))
		return usage("forkbomb N");
	kids = calloc((size_t)n, sizeof(*kids));
	if (!kids)
		return fail("out of memory");
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			first_err = errno;
			break;
		}
		if (pid == 0) {
			/* Die with the probe, whatever happens to it. */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		kids[started++] = pid;
	}
	for (long i = 0; i < started; i++)
		kill(kids[i], SIGKILL);
	for (long i = 0; i < started; i++)
		while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
			;
	free(kids);
	printf("forkbomb started %ld of %ld\n", started, n);
	printf("forkbomb first-failure %s\n", first_err ? errname(first_err) : "none");
	if (first_err != EAGAIN)
		return fail("no fork failed with EAGAIN");
	return pass();
}

/* ---- sleep SECONDS ----------------------------------------------------- */

static int cmd_sleep(int argc, char **argv)
{
	struct timespec ts;
	char *end;
	double s;

	if (argc != 1)
		return usage("sleep SECONDS");
	s = strtod(argv[0], &end);
	if (end == argv[0] || *end || !(s >= 0) || s > 1e9)
		return usage("sleep SECONDS");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

/* ---- fill DIR ------------------------------------------------------------ */

static int cmd_fill(int argc, char **argv)
{
	char path[PATH_MAX];
	unsigned long long total = 0;
	char *chunk;
	int fd, e = 0;

	if (argc != 1)
		return usage("fill DIR");
	snprintf(path, sizeof(path), "%s/.tfjail-fill-%d", argv[0], (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		printf("fill %s open %s\n", argv[0], errname(errno));
		return fail("cannot create the file");
	}
	chunk = malloc(MIB);
	if (!chunk) {
		close(fd);
		unlink(path);
		return fail("out of memory");
	}
	memset(chunk, 'x', MIB);
	for (;;) {
		ssize_t k = write(fd, chunk, MIB);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			e = errno;
			break;
		}
		total += (unsigned long long)k;
	}
	close(fd);
	unlink(path); /* leave the space as it was */
	free(chunk);
	printf("fill %s wrote %llu bytes %s\n", argv[0], total, errname(e));
	return e == ENOSPC ? pass() : fail("the write error was not ENOSPC");
}

/* ---- env, grep-env NEEDLE -------------------------------------------------- */

static int cmd_env(int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("env");
	for (char **e = environ; *e; e++)
		printf("%s\n", *e);
	return 0;
}

static bool file_has(const char *path, const char *needle, size_t *checked, size_t *unreadable)
{
	size_t len;
	char *buf = slurp(path, &len);
	bool found;

	if (!buf) {
		(*unreadable)++;
		return false;
	}
	(*checked)++;
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static int cmd_grep_env(int argc, char **argv)
{
	size_t checked = 0, unreadable = 0;
	bool found = false;
	DIR *d;
	struct dirent *de;

	if (argc != 1 || !*argv[0])
		return usage("grep-env NEEDLE");
	for (char **e = environ; *e; e++)
		if (strstr(*e, argv[0])) {
			printf("found in environ\n");
			found = true;
			break;
		}
	if (file_has("/proc/self/environ", argv[0], &checked, &unreadable)) {
		printf("found in /proc/self/environ\n");
		found = true;
	}
	if (file_has("/proc/1/environ", argv[0], &checked, &unreadable)) {
		printf("found in /proc/1/environ\n");
		found = true;
	}
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		char path[64];
		long pid;

		if (!parse_long(de->d_name, 2, LONG_MAX, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
		if (file_has(path, argv[0], &checked, &unreadable)) {
			printf("found in %s\n", path);
			found = true;
		}
	}
	if (d)
		closedir(d);
	printf("grep-env checked %zu files, %zu unreadable\n", checked, unreadable);
	return found ? fail("the needle is visible") : pass();
}

/* ---- uid ------------------------------------------------------------------- */

static void print_file_lines(const char *label, const char *path)
{
	char *buf = slurp(path, NULL);

	if (!buf) {
		printf("%s %s\n", label, errname(errno));
		return;
	}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		while (isspace((unsigned char)*line))
			line++;
		printf("%s %s\n", label, line);
	}
	free(buf);
}

static int cmd_uid(int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("uid");
	printf("uid %d\neuid %d\ngid %d\negid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	print_file_lines("uid_map", "/proc/self/uid_map");
	print_file_lines("gid_map", "/proc/self/gid_map");
	print_file_lines("setgroups", "/proc/self/setgroups");
	return 0;
}

/* ---- fds ---------------------------------------------------------------------- */

static int cmd_fds(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	bool ok = true;

	(void)argv;
	if (argc != 0)
		return usage("fds");
	d = opendir("/proc/self/fd");
	if (!d) {
		printf("fds %s\n", errname(errno));
		return fail("cannot list /proc/self/fd");
	}
	while ((de = readdir(d))) {
		char path[64], target[PATH_MAX];
		ssize_t k;
		long fd;

		if (!parse_long(de->d_name, 0, INT_MAX, &fd) || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
		k = readlink(path, target, sizeof(target) - 1);
		target[k < 0 ? 0 : k] = '\0';
		printf("fd %ld %s\n", fd, k < 0 ? errname(errno) : target);
		if (fd > 2)
			ok = false;
	}
	closedir(d);
	return ok ? pass() : fail("descriptors beyond 0, 1, 2 are open");
}

/* ---- cat FILE, ls DIR, mounts ---------------------------------------------- */

static int cat_file(const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);

	if (!buf) {
		printf("cat %s %s\n", path, errname(errno));
		return 1;
	}
	fwrite(buf, 1, len, stdout);
	free(buf);
	return 0;
}

static int cmd_cat(int argc, char **argv)
{
	if (argc != 1)
		return usage("cat FILE");
	return cat_file(argv[0]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	struct dirent *de;

	if (argc != 1)
		return usage("ls DIR");
	d = opendir(argv[0]);
	if (!d) {
		printf("ls %s %s\n", argv[0], errname(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!nn)
				return fail("out of memory");
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			return fail("out of memory");
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int cmd_mounts(int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return usage("mounts");
	return cat_file("/proc/self/mountinfo");
}

/* ---- dispatch ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
    {"write-fail", cmd_write_fail},
    {"netifs", cmd_netifs},
    {"connect", cmd_connect},
    {"pid1", cmd_pid1},
    {"status", cmd_status},
    {"syscalls", cmd_syscalls},
    {"memhog", cmd_memhog},
    {"forkbomb", cmd_forkbomb},
    {"sleep", cmd_sleep},
    {"fill", cmd_fill},
    {"env", cmd_env},
    {"grep-env", cmd_grep_env},
    {"uid", cmd_uid},
    {"fds", cmd_fds},
    {"cat", cmd_cat},
    {"ls", cmd_ls},
    {"mounts", cmd_mounts},
    {"hold", cmd_hold},
    {"take", cmd_take},
    {"grow-stdout", cmd_grow_stdout},
    {"escape", cmd_escape},
    {"alone", cmd_alone},
    {"masked", cmd_masked},
    {"readonly", cmd_readonly},
};

int main(int argc, char **argv)
{
	/* Line-buffered even into a pipe: a probe killed mid-way (memhog) has
	 * still reported its progress. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage("COMMAND [ARGS]; commands: write-fail netifs connect pid1 status syscalls "
		             "memhog forkbomb sleep fill env grep-env uid fds cat ls mounts");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "probe: unknown command '%s'\n", argv[1]);
	return 2;
}
