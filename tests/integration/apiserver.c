#include <arpa/inet.h>
#include <check.h>
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common/util.h"
#include "tests/integration/apiserver.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------ helpers */

void copy_fixture(const struct server *s, const char *fixture, const char *upload_id)
{
	char src[PATH_MAX], dst[PATH_MAX], rel[128];
	char *argv[] = {"/bin/cp", "-r", src, dst, NULL};
	char *out, *err;
	int st;

	snprintf(rel, sizeof(rel), "tests/fixtures/plan/%s", fixture);
	snprintf(src, sizeof(src), "%s", tj_test_src(rel));
	snprintf(dst, sizeof(dst), "%s/%s", s->uploads, upload_id);
	st = tj_test_spawn(argv, &out, &err);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cp %s: %s", src, err);
	free(out);
	free(err);
	chmod(dst, 0755);
}

char *read_log(const struct server *s)
{
	char *text = NULL;
	struct tj_error err;

	if (tj_read_file(s->log, 64 << 20, &text, NULL, &err) < 0)
		return strdup("");
	return text;
}

/* Starts bin/tfjail serve with config (a JSON object's inside). */
void server_start(struct server *s, const char *config, const char *policy)
{
	char cfgpath[PATH_MAX], polpath[PATH_MAX], text[4096];
	uint64_t deadline;
	int fd;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/tfjail-api-XXXXXX");
	ck_assert_ptr_nonnull(tj_test_mkdtemp(s->dir));
	chmod(s->dir, 0755);
	snprintf(s->uploads, sizeof(s->uploads), "%s/uploads", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/serve.log", s->dir);
	snprintf(cfgpath, sizeof(cfgpath), "%s/tfjail.json", s->dir);
	snprintf(polpath, sizeof(polpath), "%s/policy.json", s->dir);
	if (policy)
		tj_test_write(s->dir, "policy.json", policy);
	snprintf(text, sizeof(text), "{\"listen\": \"127.0.0.1:0\", \"uploads_dir\": \"%s\"%s%s%s%s%s}\n",
	         s->uploads, policy ? ", \"policy\": \"" : "", policy ? polpath : "", policy ? "\"" : "",
	         *config ? ", " : "", config);
	tj_test_write(s->dir, "tfjail.json", text);

	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		/* a test that fails (Check ends its process at once) takes its
		 * server with it, and the server its launcher, workers, sandboxes */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(fd, 2);
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(fd, 0);
		dup2(fd, 1);
		execl(tj_test_bin(), tj_test_bin(), "serve", "--config", cfgpath, (char *)NULL);
		_exit(127);
	}
	/* the port is in the first line: "tfjail: serving on 127.0.0.1:PORT ..." */
	deadline = tj_now_ms() + 30000;
	for (;;) {
		char *log = read_log(s), *p = strstr(log, "serving on 127.0.0.1:");
		int st;
		if (p)
			s->port = (unsigned)atoi(p + strlen("serving on 127.0.0.1:"));
		if (s->port) {
			free(log);
			break;
		}
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			ck_abort_msg("tfjail serve exited during start-up (status %d): %s", st, log);
		free(log);
		ck_assert_msg(tj_now_ms() < deadline, "tfjail serve did not start within 30 s");
		usleep(20000);
	}
}

/* SIGTERM and wait; returns the wait status. */
int server_stop(struct server *s, uint64_t timeout_ms)
{
	uint64_t deadline = tj_now_ms() + timeout_ms;
	int st = -1;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	while (waitpid(s->pid, &st, WNOHANG) == 0) {
		if (tj_now_ms() > deadline) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			st = -1;
			break;
		}
		usleep(10000);
	}
	s->pid = 0;
	return st;
}

void server_cleanup(struct server *s)
{
	server_stop(s, 20000);
	if (s->dir[0])
		tj_test_rm_rf(s->dir);
}

void reply_free(struct http_reply *r)
{
	free(r->head);
	free(r->body);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* One request on a fresh connection (Connection: close); headers is "" or
 * lines ending in \r\n.  Reads until the server closes. */
void http(unsigned port, const char *method, const char *path, const char *headers, const char *body,
          struct http_reply *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 90};
	struct tj_buf req = {0}, resp = {0};
	char buf[65536], *sep;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(r, 0, sizeof(*r));
	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
	tj_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n%s", method, path,
	              port, headers);
	if (body)
		tj_buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		              strlen(body));
	tj_buf_printf(&req, "\r\n%s", body ? body : "");
	tj_write_all(fd, req.data, req.len);
	tj_buf_free(&req);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		tj_buf_append(&resp, buf, (size_t)n);
	close(fd);
	tj_buf_append(&resp, "", 1);
	ck_assert_msg(resp.len > 12 && strncmp(resp.data, "HTTP/1.1 ", 9) == 0, "no HTTP answer: '%s'",
	              resp.data ? resp.data : "");
	r->code = atoi(resp.data + 9);
	sep = strstr(resp.data, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*sep = '\0';
	r->head = strdup(resp.data);
	r->body = strdup(sep + 4);
	r->json = cJSON_Parse(r->body);
	tj_buf_free(&resp);
}

const char *str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

double num(const cJSON *o, const char *key)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

const char *plan_output(const cJSON *resp, const char *name)
{
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp, "plan_json"),
	                                                   "planned_values");

	return str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pv, "outputs"), name),
	           "value");
}

void execute(const struct server *s, const char *headers, const char *body, struct http_reply *r)
{
	http(s->port, "POST", "/api/v1/execute", headers, body, r);
}

/* Every error answer: the status, JSON {"error": "..."} and its type. */
void assert_error(const struct http_reply *r, int code)
{
	ck_assert_msg(r->code == code, "HTTP %d, want %d: %s", r->code, code, r->body);
	ck_assert_msg(str(r->json, "error") && *str(r->json, "error"), "no error sentence: %s", r->body);
	ck_assert_int_eq(cJSON_GetArraySize(r->json), 1);
	ck_assert_ptr_nonnull(strcasestr(r->head, "Content-Type: application/json"));
}

void assert_job(const struct http_reply *r, const char *job_id, const char *status, const char *error_type)
{
	ck_assert_msg(r->code == 200, "HTTP %d: %s", r->code, r->body);
	ck_assert_ptr_nonnull(r->json);
	ck_assert_str_eq(str(r->json, "job_id"), job_id);
	ck_assert_msg(strcmp(str(r->json, "status"), status) == 0, "status %s, want %s: %s: %s",
	              str(r->json, "status"), status, str(r->json, "error_type"),
	              str(r->json, "error_message"));
	if (error_type)
		ck_assert_msg(str(r->json, "error_type") &&
		                  strcmp(str(r->json, "error_type"), error_type) == 0,
		              "error_type %s, want %s: %s", str(r->json, "error_type"), error_type,
		              str(r->json, "error_message"));
	else
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->json, "error_type")));
}

/* A request in a child process, for jobs that are held open. */

void background_execute(const struct server *s, const char *body, struct background *bg)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	bg->pid = fork();
	ck_assert_int_ge(bg->pid, 0);
	if (bg->pid == 0) {
		struct http_reply r;
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		char head[16];
		close(p[0]);
		execute(s, "", body, &r);
		snprintf(head, sizeof(head), "%d\n", r.code);
		tj_write_all(p[1], head, strlen(head));
		tj_write_all(p[1], r.body, strlen(r.body));
		_exit(0);
	}
	close(p[1]);
	bg->fd = p[0];
}

void background_finish(struct background *bg, struct http_reply *r)
{
	struct tj_buf b = {0};
	char buf[4096], *nl;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	while ((n = read(bg->fd, buf, sizeof(buf))) > 0)
		tj_buf_append(&b, buf, (size_t)n);
	tj_buf_append(&b, "", 1);
	close(bg->fd);
	waitpid(bg->pid, NULL, 0);
	r->code = atoi(b.data);
	nl = strchr(b.data, '\n');
	r->body = strdup(nl ? nl + 1 : "");
	r->json = cJSON_Parse(r->body);
	r->head = strdup("Content-Type: application/json");
	tj_buf_free(&b);
}

/* /health's running_jobs reaches n. */
void wait_running(const struct server *s, int n)
{
	uint64_t deadline = tj_now_ms() + 20000;

	for (;;) {
		struct http_reply r;
		int running;
		http(s->port, "GET", "/health", "", NULL, &r);
		running = (int)num(r.json, "running_jobs");
		reply_free(&r);
		if (running == n)
			return;
		ck_assert_msg(tj_now_ms() < deadline, "running_jobs did not reach %d", n);
		usleep(20000);
	}
}

pid_t ppid_of(pid_t pid)
{
	char path[64], *text = NULL, *p;
	struct tj_error err;
	pid_t ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (tj_read_file(path, 4096, &text, NULL, &err) < 0)
		return -1;
	/* "pid (comm) state ppid": comm may hold spaces and parentheses */
	p = strrchr(text, ')');
	if (p)
		sscanf(p + 2, "%*c %d", &ppid);
	free(text);
	return ppid;
}

/* Every process below root (children of children ...). */
size_t descendants(pid_t root, pid_t *out, size_t max)
{
	size_t n = 0, done = 0;
	DIR *d;
	struct dirent *de;

	out[n++] = root;
	while (done < n) {
		pid_t parent = out[done++];
		d = opendir("/proc");
		while (d && (de = readdir(d)))
			if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && n < max &&
			    ppid_of((pid_t)atoi(de->d_name)) == parent)
				out[n++] = (pid_t)atoi(de->d_name);
		if (d)
			closedir(d);
	}
	return n;
}

static const char *cgroup_prefix;
static int cgroup_found;

static int find_cgroup(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_D && strncmp(path + ftw->base, cgroup_prefix, strlen(cgroup_prefix)) == 0)
		cgroup_found++;
	return 0;
}

/* Job cgroups are named tfjail-<pid of the process that made them>-<n>. */
int job_cgroups_of(pid_t pid)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "tfjail-%d-", (int)pid);
	cgroup_prefix = prefix;
	cgroup_found = 0;
	nftw("/sys/fs/cgroup", find_cgroup, 16, FTW_PHYS);
	return cgroup_found;
}

void server_procs(const struct server *s, pid_t *spawner, pid_t *launcher, pid_t *worker)
{
	pid_t procs[256];
	size_t n = descendants(s->pid, procs, 256);

	*spawner = *launcher = *worker = 0;
	for (size_t i = 1; i < n; i++)
		if (ppid_of(procs[i]) == s->pid)
			*spawner = procs[i];
	for (size_t i = 1; i < n; i++)
		if (*spawner && ppid_of(procs[i]) == *spawner)
			*launcher = procs[i];
	for (size_t i = 1; i < n; i++)
		if (*launcher && ppid_of(procs[i]) == *launcher)
			*worker = procs[i];
}

pid_t wait_job_sandbox(const struct server *s)
{
	uint64_t deadline = tj_now_ms() + 10000;
	pid_t spawner, launcher, worker;

	for (;;) {
		server_procs(s, &spawner, &launcher, &worker);
		if (worker > 0 && job_cgroups_of(worker) > 0)
			return worker;
		ck_assert_msg(tj_now_ms() < deadline, "no job sandbox within 10 s");
		usleep(20000);
	}
}
