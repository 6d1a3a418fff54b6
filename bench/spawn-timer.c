/* spawn-timer: wall time of starting and finishing a few commands, measured
 * round-robin (run 1 of every variant, then run 2 of every variant, ...) so
 * that a change in machine load affects every variant alike.
 *
 *   spawn-timer [-n RUNS] [-w WARMUP] [-p PAUSE_MS] NAME[@MNTNS] CMD [ARG...] [:: NAME CMD ...]...
 *
 * One run is fork, exec, waitpid, timed with CLOCK_MONOTONIC from just before
 * the fork to just after waitpid returns; stdout and stderr go to /dev/null.
 * NAME@MNTNS makes the child setns(2) into the mount namespace bound at MNTNS
 * before exec (crun needs a view of the cgroup mounts it accepts).
 * PAUSE_MS (default 0) is slept after each run, outside the timing, so that
 * one variant's kernel work does not make the next one cheaper: a write to
 * a v1 cgroup.procs waits for an RCU grace period, but not when another
 * write did so within the last ~10 ms.
 *
 * Prints one line per variant: NAME RUNS median p10 p90 min (wall,
 * microseconds) FAILED cpu-median (user + system of the process tree,
 * microseconds: less sensitive to the machine's load than wall time).  A run that exits non-zero is not timed (a failing variant would
 * look fast): its stderr is shown and it is run again; more than 5% failed
 * runs of one variant end the measurement. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct variant {
	char *name;
	const char *mntns;
	char **argv;
	uint64_t *us;
	uint64_t *cpu_us;        /* user + system time of the run's process tree */
	long failed;             /* runs that exited non-zero (not timed) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs v once; returns the wait status, the elapsed time in *us. */
/* Runs v once with stderr into errfd; returns the wait status, the elapsed
 * time in *us, the CPU time of the whole process tree in *cpu_us (each
 * process's rusage reaches its parent when reaped, up to ours). */
static int run_once(const struct variant *v, int errfd, uint64_t *us, uint64_t *cpu_us)
{
	struct rusage ru;
	uint64_t t0 = now_ns();
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(126);
		if (v->mntns) {
			int fd = open(v->mntns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNS) < 0) {
				perror(v->mntns);
				_exit(126);
			}
		}
		execvp(v->argv[0], v->argv);
		perror(v->argv[0]);
		_exit(127);
	}
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("wait4");
			exit(1);
		}
	*us = (now_ns() - t0) / 1000;
	*cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
		  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	return status;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(const uint64_t *sorted, long n)
{
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static void usage(void)
{
	fputs("usage: spawn-timer [-n RUNS] [-w WARMUP] [-p PAUSE_MS] NAME[@MNTNS] CMD [ARG...] "
	      "[:: NAME CMD ...]...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct variant v[16];
	size_t nv = 0;
	long runs = 200, warmup = 10, pause_ms = 0;
	int opt, errfd;

	while ((opt = getopt(argc, argv, "+n:w:p:")) != -1) {
		if (opt == 'n')
			runs = strtol(optarg, NULL, 10);
		else if (opt == 'w')
			warmup = strtol(optarg, NULL, 10);
		else if (opt == 'p')
			pause_ms = strtol(optarg, NULL, 10);
		else
			usage();
	}
	if (runs < 1 || warmup < 0 || pause_ms < 0 || pause_ms > 10000)
		usage();
	/* split the rest at "::" */
	for (int i = optind; i < argc;) {
		char *at;
		if (nv == sizeof(v) / sizeof(v[0]) || i + 1 >= argc)
			usage();
		v[nv].name = argv[i];
		at = strchr(argv[i], '@');
		v[nv].mntns = NULL;
		if (at) {
			*at = '\0';
			v[nv].mntns = at + 1;
		}
		v[nv].argv = &argv[i + 1];
		for (i++; i < argc && strcmp(argv[i], "::") != 0; i++)
			;
		if (i < argc)
			argv[i++] = NULL; /* terminates this variant's argv */
		v[nv].failed = 0;
		v[nv].us = calloc((size_t)runs, sizeof(uint64_t));
		v[nv].cpu_us = calloc((size_t)runs, sizeof(uint64_t));
		if (!v[nv].us || !v[nv].cpu_us) {
			perror("calloc");
			return 1;
		}
		nv++;
	}
	if (nv == 0)
		usage();

	errfd = open("/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (errfd < 0) {
		perror("spawn-timer: a temporary file in /tmp");
		return 1;
	}
	for (long r = -warmup; r < runs; r++)
		for (size_t k = 0; k < nv; k++) {
			uint64_t us, cpu;
			int st;
			if (ftruncate(errfd, 0) < 0 || lseek(errfd, 0, SEEK_SET) < 0) {
				perror("spawn-timer: truncate");
				return 1;
			}
			st = run_once(&v[k], errfd, &us, &cpu);
			if (st != 0) {
				/* A failed run would look fast: never timed.  Report
				 * it; a few are tolerated on a shared machine. */
				char msg[512] = "";
				ssize_t n = pread(errfd, msg, sizeof(msg) - 1, 0);
				msg[n > 0 ? n : 0] = '\0';
				fprintf(stderr, "spawn-timer: %s failed (wait status 0x%x): %s%s", v[k].name,
					(unsigned)st, msg, n > 0 && msg[n - 1] == '\n' ? "" : "\n");
				if (++v[k].failed > runs / 20 + 1)
					return 1;
				k--; /* again */
				continue;
			}
			if (r >= 0) {
				v[k].us[r] = us;
				v[k].cpu_us[r] = cpu;
			}
			if (pause_ms > 0) {
				struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000};
				while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
					;
			}
		}

	for (size_t k = 0; k < nv; k++) {
		uint64_t *a = v[k].us, *c = v[k].cpu_us;
		qsort(a, (size_t)runs, sizeof(*a), cmp_u64);
		qsort(c, (size_t)runs, sizeof(*c), cmp_u64);
		printf("%s %ld %llu %llu %llu %llu %ld %llu\n", v[k].name, runs, (unsigned long long)median(a, runs),
		       (unsigned long long)a[runs / 10], (unsigned long long)a[runs - 1 - runs / 10],
		       (unsigned long long)a[0], v[k].failed, (unsigned long long)median(c, runs));
		free(a);
		free(c);
	}
	return 0;
}
