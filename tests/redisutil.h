/* A real redis-server for the tests: started on 127.0.0.1 on a free port,
 * with its data in a temporary directory (append-only file, fsync on every
 * write, so a kill -9 loses nothing), stopped, killed and started again on
 * the same port and data by the test. */
#ifndef TFJAIL_TESTS_REDISUTIL_H
#define TFJAIL_TESTS_REDISUTIL_H

#include <limits.h>
#include <sys/types.h>

struct tj_test_redis {
	pid_t pid;
	unsigned port;
	char dir[PATH_MAX];
	char url[64];     /* redis://127.0.0.1:PORT/0 */
	const char *user; /* ACL user and password when set before start */
	const char *password;
};

/* The ACL rules of the user (docs/scaling.md): keys tfjail:*, the store's
 * commands only. */
extern const char *const tj_test_redis_acl[];

/* A free TCP port on 127.0.0.1 (bound, then released). */
unsigned tj_test_free_port(void);
/* Starts redis-server (a new port unless r->port is set) and waits until it
 * answers PING; fails the test otherwise. */
void tj_test_redis_start(struct tj_test_redis *r);
/* sig: SIGTERM (clean) or SIGKILL; waits for the process. */
void tj_test_redis_stop(struct tj_test_redis *r, int sig);
/* Stops it and removes its data directory. */
void tj_test_redis_destroy(struct tj_test_redis *r);

#endif
