#include "tests/redisutil.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

#define REDIS_SERVER        "/usr/bin/redis-server"
#define READY_TIMEOUT_MS    10000
#define TJ_TEST_REDIS_ADMIN "password-of-the-default-user"

const char *const tj_test_redis_acl[] = {"~tfjail:*",   "+@read",      "+@write", "+@stream",
                                         "+@scripting", "+ping",       "+select", "+auth",
                                         "+time",       "-@dangerous", NULL};

unsigned tj_test_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool answers_ping(const struct tj_test_redis *r)
{
	struct timeval tv = {.tv_sec = 1};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)r->port, tv);
	redisReply *rep = NULL;
	bool ok = false;

	if (c && !c->err) {
		if (r->password)
			rep = r->user ? redisCommand(c, "AUTH %s %s", r->user, r->password)
			              : redisCommand(c, "AUTH %s", r->password);
		if (rep)
			freeReplyObject(rep);
		rep = redisCommand(c, "PING");
		ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
		if (rep)
			freeReplyObject(rep);
	}
	if (c)
		redisFree(c);
	return ok;
}

void tj_test_redis_start(struct tj_test_redis *r)
{
	char port[16], log[PATH_MAX + 16], user_rule[256];
	const char *argv[40];
	int argc = 0;

	if (!r->dir[0]) {
		snprintf(r->dir, sizeof(r->dir), "/tmp/tfjail-redis-XXXXXX");
		ck_assert_ptr_nonnull(tj_test_mkdtemp(r->dir));
	}
	if (!r->port)
		r->port = tj_test_free_port();
	snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%u/0", r->port);
	snprintf(port, sizeof(port), "%u", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	argv[argc++] = REDIS_SERVER;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--dir";
	argv[argc++] = r->dir;
	argv[argc++] = "--logfile";
	argv[argc++] = log;
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "yes";
	argv[argc++] = "--appendfsync";
	argv[argc++] = "always";
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	if (r->password && r->user) {
		/* an ACL user; the default user needs its own password */
		snprintf(user_rule, sizeof(user_rule), ">%s", r->password);
		argv[argc++] = "--user";
		argv[argc++] = r->user;
		argv[argc++] = "on";
		argv[argc++] = user_rule;
		/* the rights docs/scaling.md asks for: tfjail:* keys, the
		 * commands the store uses */
		for (const char *const *a = tj_test_redis_acl; *a; a++)
			argv[argc++] = *a;
		/* Redis 7.0 replays its append-only file as the default user:
		 * switched off, a restart would drop every job (docs/scaling.md) */
		argv[argc++] = "--user";
		argv[argc++] = "default";
		argv[argc++] = "on";
		argv[argc++] = ">admin-" TJ_TEST_REDIS_ADMIN;
		argv[argc++] = "~*";
		argv[argc++] = "&*";
		argv[argc++] = "+@all";
	} else if (r->password) {
		argv[argc++] = "--requirepass";
		argv[argc++] = r->password;
	}
	argv[argc] = NULL;
	r->pid = fork();
	ck_assert_int_ge(r->pid, 0);
	if (r->pid == 0) {
		int null = open("/dev/null", O_RDWR);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		dup2(null, 0);
		dup2(null, 1);
		execv(REDIS_SERVER, (char *const *)argv);
		_exit(127);
	}
	for (unsigned waited = 0; !answers_ping(r); waited += 20) {
		int st;
		ck_assert_msg(waitpid(r->pid, &st, WNOHANG) == 0, "redis-server exited (see %s)", log);
		ck_assert_msg(waited < READY_TIMEOUT_MS, "redis-server did not answer within %d ms",
		              READY_TIMEOUT_MS);
		usleep(20000);
	}
}

void tj_test_redis_stop(struct tj_test_redis *r, int sig)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, sig);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

void tj_test_redis_destroy(struct tj_test_redis *r)
{
	tj_test_redis_stop(r, SIGKILL);
	if (r->dir[0])
		tj_test_rm_rf(r->dir);
	r->dir[0] = '\0';
	r->port = 0;
}
