/* spawn-timer: wall time of starting and finishing a few commands, measured
 * round-robin (run 1 of every variant, then run 2 of every variant, ...) so
 * that a change in machine load affects every variant alike.
 *
 *   spawn-timer [-n RUNS] [-w WARMUP] NAME[@MNTNS] CMD [ARG...] [:: NAME CMD ...]...
 *
 * One run is fork, exec, waitpid, timed with CLOCK_MONOTONIC from just before
 * the fork to just after waitpid returns; stdout and stderr go to /dev/null.
 * NAME@MNTNS makes the child setns(2) into the mount namespace bound at MNTNS
 * before exec (crun needs a view of the cgroup mounts it accepts).
 *
 * Prints one line per variant: NAME RUNS median p10 p90 min (microseconds).
 * A run that exits non-zero is an error: a failing variant would look fast;
 * the failing run is repeated once with stderr visible. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct variant {
	char *name;
	const char *mntns;
	char **argv;
	uint64_t *us;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs v once; returns the wait status, the elapsed time in *us. */
static int run_once(const struct variant *v, bool quiet, uint64_t *us)
{
	uint64_t t0 = now_ns();
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || (quiet && dup2(null, 2) < 0))
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
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	*us = (now_ns() - t0) / 1000;
	return status;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fputs("usage: spawn-timer [-n RUNS] [-w WARMUP] NAME[@MNTNS] CMD [ARG...] [:: NAME CMD ...]...\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct variant v[16];
	size_t nv = 0;
	long runs = 200, warmup = 10;
	int opt;

	while ((opt = getopt(argc, argv, "+n:w:")) != -1) {
		if (opt == 'n')
			runs = strtol(optarg, NULL, 10);
		else if (opt == 'w')
			warmup = strtol(optarg, NULL, 10);
		else
			usage();
	}
	if (runs < 1 || warmup < 0)
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
		v[nv].us = calloc((size_t)runs, sizeof(uint64_t));
		if (!v[nv].us) {
			perror("calloc");
			return 1;
		}
		nv++;
	}
	if (nv == 0)
		usage();

	for (long r = -warmup; r < runs; r++)
		for (size_t k = 0; k < nv; k++) {
			uint64_t us;
			int st = run_once(&v[k], true, &us);
			if (st != 0) {
				fprintf(stderr, "spawn-timer: %s failed (wait status 0x%x); once more with stderr:\n",
					v[k].name, (unsigned)st);
				run_once(&v[k], false, &us);
				return 1;
			}
			if (r >= 0)
				v[k].us[r] = us;
		}

	for (size_t k = 0; k < nv; k++) {
		uint64_t *a = v[k].us;
		qsort(a, (size_t)runs, sizeof(*a), cmp_u64);
		printf("%s %ld %llu %llu %llu %llu\n", v[k].name, runs,
		       (unsigned long long)(runs % 2 ? a[runs / 2] : (a[runs / 2 - 1] + a[runs / 2]) / 2),
		       (unsigned long long)a[runs / 10], (unsigned long long)a[runs - 1 - runs / 10],
		       (unsigned long long)a[0]);
		free(a);
	}
	return 0;
}
