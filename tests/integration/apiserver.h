/* A real tfjail serve for the API suites: started on a free port of
 * 127.0.0.1 with a temporary uploads directory and config (root and
 * terraform needed), and a small HTTP/1.1 client over raw sockets. */
#ifndef TFJAIL_TESTS_INTEGRATION_APISERVER_H
#define TFJAIL_TESTS_INTEGRATION_APISERVER_H

#include <cJSON.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct server {
	pid_t pid;
	unsigned port;
	char dir[PATH_MAX]; /* temp root: uploads/, config, policy, log */
	char uploads[PATH_MAX];
	char log[PATH_MAX];
};

struct http_reply {
	int code;
	char *head;
	char *body;
	cJSON *json;
};

struct background {
	pid_t pid;
	int fd;
};

void copy_fixture(const struct server *s, const char *fixture, const char *upload_id);
char *read_log(const struct server *s);
void server_start(struct server *s, const char *config, const char *policy);
int server_stop(struct server *s, uint64_t timeout_ms);
void server_cleanup(struct server *s);
void reply_free(struct http_reply *r);
void http(unsigned port, const char *method, const char *path, const char *headers, const char *body,
          struct http_reply *r);
const char *str(const cJSON *o, const char *key);
double num(const cJSON *o, const char *key);
/* The string value of plan_json.planned_values.outputs.NAME of a response; NULL if none. */
const char *plan_output(const cJSON *resp, const char *name);
void execute(const struct server *s, const char *headers, const char *body, struct http_reply *r);
void assert_error(const struct http_reply *r, int code);
void assert_job(const struct http_reply *r, const char *job_id, const char *status, const char *error_type);
void background_execute(const struct server *s, const char *body, struct background *bg);
void background_finish(struct background *bg, struct http_reply *r);
void wait_running(const struct server *s, int n);
pid_t ppid_of(pid_t pid);
size_t descendants(pid_t root, pid_t *out, size_t max);
int job_cgroups_of(pid_t pid);
/* The server's process tree: the spawner (its child), the job launcher
 * (the spawner's child) and a job's worker (the launcher's child); 0 when
 * there is none. */
void server_procs(const struct server *s, pid_t *spawner, pid_t *launcher, pid_t *worker);
/* Waits until a job's worker has its sandbox (its job cgroup exists);
 * returns the worker. */
pid_t wait_job_sandbox(const struct server *s);

#endif
