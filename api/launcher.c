#include "api/launcher.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/ipc.h"
#include "common/cleanup.h"
#include "common/util.h"

#define MAX_WORKERS 256
#define REAP_TIMEOUT_MS 5000
/* A worker's answer: 'R' and the response JSON, or 'E' and a message. */
#define WORKER_OUT_MAX (256u << 20)

struct queued {
	uint64_t id;
	char *payload;
	struct queued *next;
};

struct worker {
	pid_t pid;
	uint64_t id;
	int fd;              /* read end of the worker's pipe; -1 at EOF */
	struct tj_buf out;
	bool exited;
	int wstatus;
	bool killed;         /* killed at the end of the shutdown grace */
};

struct launcher {
	const struct api_launcher_config *c;
	int sock;            /* -1 once the server has gone */
	int sigfd;
	struct queued *head, *tail;
	struct worker workers[MAX_WORKERS];
	unsigned n_workers;
	bool stopping;
	uint64_t deadline_ms;  /* when running workers are killed; 0 = none */
	bool sweep;            /* a worker was killed: its job cgroup may be left */
};

static void send_frame(struct launcher *l, uint32_t type, uint64_t id, const char *payload, size_t len)
{
	struct tj_error err;

	if (l->sock < 0)
		return;
	if (api_frame_write(l->sock, type, id, payload, len, &err) < 0) {
		fprintf(stderr, "tfjail: launcher: %s\n", err.msg);
		close(l->sock);
		l->sock = -1;
	}
}

static void send_text(struct launcher *l, uint32_t type, uint64_t id, const char *text)
{
	send_frame(l, type, id, text, strlen(text));
}

/* ------------------------------------------------------------ the worker */

static void worker_answer(int fd, char kind, const char *text)
{
	tj_write_all(fd, &kind, 1);
	tj_write_all(fd, text, strlen(text));
}

/* Runs in the forked worker: one job, the answer on fd, then _exit. */
static void __attribute__((noreturn)) worker_main(const struct api_launcher_config *c, const char *payload,
						   int fd)
{
	cJSON *in = cJSON_Parse(payload), *resp = NULL;
	_cleanup_free_ char *variables = NULL;
	struct sandbox_runtime *rt = NULL;
	struct tj_error err = {0};
	char *text;

	if (!in) {
		worker_answer(fd, 'E', "the job request could not be read");
		_exit(1);
	}
	if (job_runtime_open(c->policy, c->host, &rt, &err) < 0) {
		worker_answer(fd, 'E', err.msg);
		_exit(1);
	}
	if (cJSON_GetObjectItemCaseSensitive(in, "variables"))
		variables = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(in, "variables"));
	{
		struct job_request req = {
			.job_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "job_id")),
			.upload_dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "upload_dir")),
			.policy = c->policy,
			.variables_json = variables,
			.variables_json_len = variables ? strlen(variables) : 0,
		};
		if (job_run(rt, c->tools, &req, &resp, &err) < 0) {
			worker_answer(fd, 'E', err.msg);
			_exit(1);
		}
	}
	text = cJSON_PrintUnformatted(resp);
	if (!text) {
		worker_answer(fd, 'E', "out of memory printing the response");
		_exit(1);
	}
	worker_answer(fd, 'R', text);
	sandbox_runtime_free(rt);
	_exit(0);
}

static void start_worker(struct launcher *l, struct queued *q)
{
	struct worker *w = &l->workers[l->n_workers];
	int p[2];
	pid_t pid, parent = getpid();
	char buf[32];

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(buf, sizeof(buf), "pipe: %s", strerror(errno));
		send_text(l, API_FRAME_CRASHED, q->id, buf);
		return;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(buf, sizeof(buf), "fork: %s", strerror(errno));
		send_text(l, API_FRAME_CRASHED, q->id, buf);
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		sigset_t mask;
		/* The worker dies with the launcher, and its sandbox with it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(1);
		/* SIGTERM/SIGINT stay blocked: workers end by SIGKILL at the end
		 * of the shutdown grace only (sandboxed commands start with an
		 * empty mask). */
		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		close(p[0]);
		if (l->sock >= 0)
			close(l->sock);
		close(l->sigfd);
		for (unsigned i = 0; i < l->n_workers; i++)
			if (l->workers[i].fd >= 0)
				close(l->workers[i].fd);
		worker_main(l->c, q->payload, p[1]);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*w = (struct worker){.pid = pid, .id = q->id, .fd = p[0]};
	l->n_workers++;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	send_text(l, API_FRAME_STARTED, q->id, buf);
}

static void start_queued(struct launcher *l)
{
	while (l->head && !l->stopping && l->n_workers < l->c->max_concurrent && l->n_workers < MAX_WORKERS) {
		struct queued *q = l->head;
		l->head = q->next;
		if (!l->head)
			l->tail = NULL;
		start_worker(l, q);
		free(q->payload);
		free(q);
	}
}

/* The worker's pipe is at EOF and the process reaped: report and forget. */
static void finish_worker(struct launcher *l, unsigned i)
{
	struct worker *w = &l->workers[i];
	const char *out = w->out.data;
	char msg[128];

	if (w->killed) {
		send_text(l, API_FRAME_ABORTED, w->id, "the service stopped before the job finished");
		l->sweep = true;
	} else if (WIFEXITED(w->wstatus) && WEXITSTATUS(w->wstatus) == 0 && w->out.len > 1 && out[0] == 'R') {
		send_frame(l, API_FRAME_RESULT, w->id, out + 1, w->out.len - 1);
	} else {
		if (w->out.len > 1 && out[0] == 'E')
			snprintf(msg, sizeof(msg), "the job process failed: %.100s", out + 1);
		else if (WIFSIGNALED(w->wstatus))
			snprintf(msg, sizeof(msg), "the job process was killed by signal %d", WTERMSIG(w->wstatus));
		else
			snprintf(msg, sizeof(msg), "the job process exited with status %d without a result",
				 WEXITSTATUS(w->wstatus));
		fprintf(stderr, "tfjail: launcher: worker %d: %s\n", (int)w->pid, msg);
		send_text(l, API_FRAME_CRASHED, w->id, msg);
		l->sweep = l->sweep || WIFSIGNALED(w->wstatus);
	}
	tj_buf_free(&w->out);
	l->workers[i] = l->workers[--l->n_workers];
}

static void read_worker(struct worker *w)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || w->out.len + (size_t)n > WORKER_OUT_MAX || tj_buf_append(&w->out, buf, (size_t)n) < 0) {
			close(w->fd);
			w->fd = -1;
			return;
		}
	}
}

static void reap(struct launcher *l)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(l->sigfd, &si, sizeof(si)) > 0)
		;
	/* Besides the workers, sandbox PID 1s of killed workers come here
	 * (the launcher is their subreaper). */
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (unsigned i = 0; i < l->n_workers; i++)
			if (l->workers[i].pid == pid) {
				l->workers[i].exited = true;
				l->workers[i].wstatus = st;
			}
}

static void begin_stop(struct launcher *l, uint64_t grace_ms)
{
	l->stopping = true;
	l->deadline_ms = tj_now_ms() + grace_ms;
	if (l->deadline_ms == 0)
		l->deadline_ms = 1;
	while (l->head) {
		struct queued *q = l->head;
		l->head = q->next;
		send_text(l, API_FRAME_ABORTED, q->id, "the service is shutting down");
		free(q->payload);
		free(q);
	}
	l->tail = NULL;
}

static void server_frame(struct launcher *l)
{
	struct api_frame_header h;
	char *payload;
	struct tj_error err;
	int rc = api_frame_read(l->sock, &h, &payload, &err);

	if (rc != 0) {
		/* the server has gone: stop now */
		close(l->sock);
		l->sock = -1;
		begin_stop(l, 0);
		return;
	}
	if (h.type == API_FRAME_SHUTDOWN) {
		uint64_t grace = 0;
		tj_parse_u64(payload, UINT32_MAX, &grace);
		free(payload);
		begin_stop(l, grace);
		return;
	}
	if (h.type != API_FRAME_RUN || l->stopping) {
		send_text(l, API_FRAME_ABORTED, h.id, "the service is shutting down");
		free(payload);
		return;
	}
	{
		struct queued *q = calloc(1, sizeof(*q));
		if (!q) {
			send_text(l, API_FRAME_CRASHED, h.id, "out of memory");
			free(payload);
			return;
		}
		q->id = h.id;
		q->payload = payload;
		if (l->tail)
			l->tail->next = q;
		else
			l->head = q;
		l->tail = q;
	}
}

/* Waits for every child, workers' orphaned sandboxes included. */
static void reap_all(void)
{
	uint64_t deadline = tj_now_ms() + REAP_TIMEOUT_MS;

	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return;
		if (pid <= 0) {
			if (tj_now_ms() > deadline)
				return;
			usleep(10000);
		}
	}
}

static void loop(struct launcher *l)
{
	struct pollfd pfd[2 + MAX_WORKERS];
	unsigned idx[2 + MAX_WORKERS] = {0};

	for (;;) {
		nfds_t n = 0;
		int timeout = -1;

		start_queued(l);
		for (unsigned i = 0; i < l->n_workers;) {
			if (l->workers[i].fd < 0 && l->workers[i].exited)
				finish_worker(l, i);
			else
				i++;
		}
		start_queued(l);
		if (l->stopping && !l->n_workers && !l->head)
			return;
		if (l->stopping && l->deadline_ms) {
			uint64_t now = tj_now_ms();
			if (now >= l->deadline_ms) {
				for (unsigned i = 0; i < l->n_workers; i++) {
					kill(l->workers[i].pid, SIGKILL);
					l->workers[i].killed = true;
				}
				l->deadline_ms = 0;
			} else {
				timeout = (int)(l->deadline_ms - now);
			}
		}
		pfd[n++] = (struct pollfd){.fd = l->sigfd, .events = POLLIN};
		if (l->sock >= 0)
			pfd[n++] = (struct pollfd){.fd = l->sock, .events = POLLIN};
		for (unsigned i = 0; i < l->n_workers; i++)
			if (l->workers[i].fd >= 0) {
				idx[n] = i;
				pfd[n++] = (struct pollfd){.fd = l->workers[i].fd, .events = POLLIN};
			}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "tfjail: launcher: poll: %s\n", strerror(errno));
			return;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (pfd[k].fd == l->sigfd)
				reap(l);
			else if (pfd[k].fd == l->sock)
				server_frame(l);
			else
				read_worker(&l->workers[idx[k]]);
		}
	}
}

/* ------------------------------------------------------------ start-up */

static void send_hello(struct launcher *l, cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	send_text(l, API_FRAME_HELLO, 0, text ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
	free(text);
}

static void hello_failed(struct launcher *l, const char *why)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", why);
	send_hello(l, o);
}

static void hello(struct launcher *l, struct sandbox_runtime *rt)
{
	cJSON *o = cJSON_CreateObject();
	char version[64] = "";
	struct tj_error err = {0};

	cJSON_AddBoolToObject(o, "ok", true);
	cJSON_AddStringToObject(o, "cgroup_mode", cgroup_mode_name(sandbox_runtime_cgroup_mode(rt)));
	/* inside a sandbox: terraform is never run unsandboxed */
	if (job_terraform_version(rt, l->c->tools, version, sizeof(version), &err) < 0) {
		fprintf(stderr, "tfjail: launcher: %s\n", err.msg);
		cJSON_AddStringToObject(o, "terraform_error", err.msg);
		cJSON_AddNullToObject(o, "terraform_version");
	} else {
		cJSON_AddStringToObject(o, "terraform_version", version);
	}
	send_hello(l, o);
}

/* Removes the job cgroups of killed workers: opening a runtime sweeps those
 * of processes that are gone. */
static void sweep(const struct api_launcher_config *c)
{
	struct sandbox_runtime *rt = NULL;

	if (job_runtime_open(c->policy, c->host, &rt, NULL) == 0)
		sandbox_runtime_free(rt);
}

static int launcher_main(const struct api_launcher_config *c, int sock)
{
	struct launcher l = {.c = c, .sock = sock, .sigfd = -1};
	struct sandbox_runtime *rt = NULL;
	struct tj_error err = {0};
	sigset_t mask;

	/* Own process group: a ^C at the terminal is the server's to handle;
	 * SIGTERM/SIGINT stay blocked (inherited): the launcher stops on the
	 * server's SHUTDOWN or when the server has gone.
	 * Subreaper: the sandboxes of killed workers are reaped here. */
	setpgid(0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	l.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (l.sigfd < 0) {
		snprintf(err.msg, sizeof(err.msg), "signalfd: %s", strerror(errno));
		hello_failed(&l, err.msg);
		return 2;
	}
	if (job_runtime_open(c->policy, c->host, &rt, &err) < 0) {
		hello_failed(&l, err.msg);
		return 2;
	}
	hello(&l, rt);
	loop(&l);
	reap_all();
	if (l.sweep) {
		sweep(c);
		usleep(100000);
		sweep(c);
	}
	sandbox_runtime_free(rt);
	return 0;
}

int api_launcher_start(const struct api_launcher_config *c, pid_t *pid, int *fd, struct tj_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return tj_error_sys(err, "socketpair");
	*pid = fork();
	if (*pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return tj_error_sys(err, "fork the job launcher");
	}
	if (*pid == 0) {
		close(sv[0]);
		_exit(launcher_main(c, sv[1]));
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}
