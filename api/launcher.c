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
#include "api/msg.h"
#include "common/cleanup.h"
#include "common/util.h"

#define MAX_WORKERS     256
#define REAP_TIMEOUT_MS 5000
/* A worker's answer: one RESULT or CRASHED frame. */
#define WORKER_OUT_MAX (256u << 20)

struct queued {
	uint64_t id;
	char *payload; /* the RUN message */
	size_t len;
	int upload_fd;
	struct queued *next;
};

struct worker {
	pid_t pid;
	uint64_t id;
	int fd; /* read end of the worker's pipe; -1 at EOF */
	struct tj_buf out;
	bool exited;
	int wstatus;
	bool killed;    /* killed at the end of the shutdown grace */
	bool cancelled; /* killed because its client has gone */
};

struct launcher {
	const struct api_launcher_config *c;
	int sock; /* -1 once the server has gone */
	int sigfd;
	struct queued *head, *tail;
	struct worker workers[MAX_WORKERS];
	unsigned n_workers;
	bool stopping;
	uint64_t deadline_ms; /* when running workers are killed; 0 = none */
	bool sweep;           /* a worker was killed: its job cgroup may be left */
	uint64_t sweep_at[2]; /* when to sweep such cgroups while serving; 0 = not */
};

/* Removes the job cgroups of killed workers: opening a runtime sweeps those
 * of processes that are gone. */
static void sweep(const struct api_launcher_config *c)
{
	struct sandbox_runtime *rt = NULL;

	if (job_runtime_open(c->policy, c->host, &rt, NULL) == 0)
		sandbox_runtime_free(rt);
}

/* A killed worker's sandbox dies after it (PDEATHSIG): its cgroup can go
 * once the sandbox is reaped; look soon, and once more a little later. */
static void sweep_soon(struct launcher *l)
{
	uint64_t now = tj_now_ms();

	l->sweep = true;
	l->sweep_at[0] = now + 200;
	l->sweep_at[1] = now + 1500;
}

static void send_frame(struct launcher *l, uint32_t type, uint64_t id, const char *payload, size_t len)
{
	struct tj_error err;

	if (l->sock < 0)
		return;
	if (api_frame_write(l->sock, type, id, payload, len, -1, &err) < 0) {
		fprintf(stderr, "tfjail: launcher: %s\n", err.msg);
		close(l->sock);
		l->sock = -1;
	}
}

/* CRASHED, ABORTED, CANCELLED: one sentence. */
static void send_reason(struct launcher *l, uint32_t type, uint64_t id, const char *why)
{
	struct tj_buf b = {0};

	if (api_msg_reason_encode(&(struct api_msg_reason){why}, &b) == 0)
		send_frame(l, type, id, b.data, b.len);
	tj_buf_free(&b);
}

static void free_queued(struct queued *q)
{
	if (q->upload_fd >= 0)
		close(q->upload_fd);
	free(q->payload);
	free(q);
}

/* ------------------------------------------------------------ the worker */

static void __attribute__((noreturn)) worker_failed(int fd, const char *why)
{
	struct tj_buf b = {0};

	if (api_msg_reason_encode(&(struct api_msg_reason){why}, &b) == 0)
		api_frame_write(fd, API_MSG_CRASHED, 0, b.data, b.len, -1, NULL);
	_exit(1);
}

static const char *json_str(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Runs in the forked worker: one job, its answer on fd, then _exit.  The
 * policy is the one in force when the job was admitted; the upload is the
 * descriptor opened at admission, never its path. */
static void __attribute__((noreturn))
worker_main(const struct api_launcher_config *c, const struct queued *q, int fd)
{
	struct api_msg_run run;
	cJSON *resp = NULL;
	struct sandbox_runtime *rt = NULL;
	struct tj_policy *policy = NULL;
	struct job_tools tools;
	struct tj_error err = {0};
	struct tj_buf b = {0};
	char *text;
	int rc;

	if (api_msg_run_decode(q->payload, q->len, &run) < 0 || q->upload_fd < 0)
		worker_failed(fd, "the job request could not be read");
	if (run.policy_text) {
		if (tj_policy_load_text(run.policy_text, run.policy_len, "policy", &policy, &err) < 0 ||
		    job_tools_discover(policy, c->host, &tools, &err) < 0)
			worker_failed(fd, err.msg);
	}
	if (job_runtime_open(policy ? policy : c->policy, c->host, &rt, &err) < 0)
		worker_failed(fd, err.msg);
	{
		struct job_request req = {
		    .job_id = run.job_id,
		    .upload_dir = run.upload_id, /* a name only: the job reads upload_fd */
		    .upload_fd = q->upload_fd,
		    .workdir = run.working_dir,
		    .policy = policy ? policy : c->policy,
		    /* the request's own bytes: exact numbers, \u0000 kept */
		    .variables_json = run.variables_json,
		    .variables_json_len = run.variables_json_len,
		};
		rc = job_run(rt, policy ? &tools : c->tools, &req, &resp, &err);
		if (rc < 0)
			worker_failed(fd, err.msg);
	}
	if (run.request_id)
		cJSON_AddStringToObject(resp, "request_id", run.request_id);
	text = cJSON_PrintUnformatted(resp);
	if (!text)
		worker_failed(fd, "out of memory printing the response");
	if (api_msg_result_encode(&(struct api_msg_result){.status = json_str(resp, "status"),
	                                                   .error_type = json_str(resp, "error_type"),
	                                                   .response = text,
	                                                   .response_len = strlen(text)},
	                          &b) < 0)
		worker_failed(fd, "out of memory encoding the response");
	api_frame_write(fd, API_MSG_RESULT, 0, b.data, b.len, -1, NULL);
	sandbox_runtime_free(rt);
	_exit(0);
}

static void start_worker(struct launcher *l, struct queued *q)
{
	struct worker *w = &l->workers[l->n_workers];
	struct tj_buf b = {0};
	int p[2];
	pid_t pid, parent = getpid();
	char buf[64];

	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(buf, sizeof(buf), "pipe: %s", strerror(errno));
		send_reason(l, API_MSG_CRASHED, q->id, buf);
		return;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(buf, sizeof(buf), "fork: %s", strerror(errno));
		send_reason(l, API_MSG_CRASHED, q->id, buf);
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
		for (struct queued *o = l->head; o; o = o->next)
			if (o->upload_fd >= 0)
				close(o->upload_fd);
		worker_main(l->c, q, p[1]);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*w = (struct worker){.pid = pid, .id = q->id, .fd = p[0]};
	l->n_workers++;
	if (api_msg_started_encode(&(struct api_msg_started){pid}, &b) == 0)
		send_frame(l, API_MSG_STARTED, q->id, b.data, b.len);
	tj_buf_free(&b);
}

static void start_queued(struct launcher *l)
{
	while (l->head && !l->stopping && l->n_workers < l->c->max_concurrent && l->n_workers < MAX_WORKERS) {
		struct queued *q = l->head;
		l->head = q->next;
		if (!l->head)
			l->tail = NULL;
		start_worker(l, q);
		free_queued(q);
	}
}

/* The worker's frame, if its output is exactly one RESULT or CRASHED. */
static bool worker_frame(const struct worker *w, struct api_frame_header *h, const char **payload)
{
	if (w->out.len < sizeof(*h))
		return false;
	memcpy(h, w->out.data, sizeof(*h));
	*payload = w->out.data + sizeof(*h);
	return (h->type == API_MSG_RESULT || h->type == API_MSG_CRASHED) && h->len == w->out.len - sizeof(*h);
}

/* The worker's pipe is at EOF and the process reaped: report and forget. */
static void finish_worker(struct launcher *l, unsigned i)
{
	struct worker *w = &l->workers[i];
	struct api_frame_header h;
	const char *payload;
	char msg[128];
	bool framed = worker_frame(w, &h, &payload);

	if (w->cancelled) {
		send_reason(l, API_MSG_CANCELLED, w->id, "the client disconnected; the job was killed");
		sweep_soon(l);
	} else if (w->killed) {
		send_reason(l, API_MSG_ABORTED, w->id, "the service stopped before the job finished");
		l->sweep = true;
	} else if (framed && h.type == API_MSG_RESULT && WIFEXITED(w->wstatus) &&
	           WEXITSTATUS(w->wstatus) == 0) {
		send_frame(l, API_MSG_RESULT, w->id, payload, h.len);
	} else if (framed && h.type == API_MSG_CRASHED) {
		fprintf(stderr, "tfjail: launcher: worker %d failed\n", (int)w->pid);
		send_frame(l, API_MSG_CRASHED, w->id, payload, h.len);
	} else {
		if (WIFSIGNALED(w->wstatus))
			snprintf(msg, sizeof(msg), "the job process was killed by signal %d",
			         WTERMSIG(w->wstatus));
		else
			snprintf(msg, sizeof(msg), "the job process exited with status %d without a result",
			         WEXITSTATUS(w->wstatus));
		fprintf(stderr, "tfjail: launcher: worker %d: %s\n", (int)w->pid, msg);
		send_reason(l, API_MSG_CRASHED, w->id, msg);
		if (WIFSIGNALED(w->wstatus))
			sweep_soon(l);
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
		if (n <= 0 || w->out.len + (size_t)n > WORKER_OUT_MAX ||
		    tj_buf_append(&w->out, buf, (size_t)n) < 0) {
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
		send_reason(l, API_MSG_ABORTED, q->id, "the service is shutting down");
		free_queued(q);
	}
	l->tail = NULL;
}

/* CANCEL: a queued job leaves the queue, a running one is killed. */
static void cancel(struct launcher *l, uint64_t id)
{
	for (struct queued **qq = &l->head, *prev = NULL; *qq; prev = *qq, qq = &(*qq)->next) {
		struct queued *q = *qq;
		if (q->id != id)
			continue;
		*qq = q->next;
		if (l->tail == q)
			l->tail = prev;
		send_reason(l, API_MSG_CANCELLED, id, "the client disconnected before the job started");
		free_queued(q);
		return;
	}
	for (unsigned i = 0; i < l->n_workers; i++)
		if (l->workers[i].id == id && !l->workers[i].cancelled) {
			kill(l->workers[i].pid, SIGKILL);
			l->workers[i].cancelled = true;
		}
}

static void server_frame(struct launcher *l)
{
	struct api_frame_header h;
	char *payload;
	int fd;
	struct tj_error err;
	int rc = api_frame_read(l->sock, &h, &payload, &fd, &err);

	if (rc != 0) {
		/* the server has gone: stop now */
		close(l->sock);
		l->sock = -1;
		begin_stop(l, 0);
		return;
	}
	if (h.type == API_MSG_SHUTDOWN) {
		struct api_msg_shutdown m = {0};
		api_msg_shutdown_decode(payload, h.len, &m);
		begin_stop(l, m.grace_ms);
	} else if (h.type == API_MSG_CANCEL) {
		cancel(l, h.id);
	} else if (h.type != API_MSG_RUN || l->stopping) {
		send_reason(l, API_MSG_ABORTED, h.id, "the service is shutting down");
	} else {
		struct queued *q = calloc(1, sizeof(*q));
		if (!q) {
			send_reason(l, API_MSG_CRASHED, h.id, "out of memory");
		} else {
			*q = (struct queued){.id = h.id, .payload = payload, .len = h.len, .upload_fd = fd};
			payload = NULL;
			fd = -1;
			if (l->tail)
				l->tail->next = q;
			else
				l->head = q;
			l->tail = q;
		}
	}
	if (fd >= 0)
		close(fd);
	free(payload);
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
		for (int k = 0; k < 2; k++) {
			uint64_t now = tj_now_ms();
			if (!l->sweep_at[k])
				continue;
			if (now >= l->sweep_at[k]) {
				l->sweep_at[k] = 0;
				sweep(l->c);
			} else if (timeout < 0 || (int)(l->sweep_at[k] - now) < timeout) {
				timeout = (int)(l->sweep_at[k] - now);
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

static void send_hello(struct launcher *l, const struct api_msg_hello *m)
{
	struct tj_buf b = {0};

	if (api_msg_hello_encode(m, &b) == 0)
		send_frame(l, API_MSG_HELLO, 0, b.data, b.len);
	tj_buf_free(&b);
}

static void hello(struct launcher *l, struct sandbox_runtime *rt)
{
	char version[64] = "";
	struct tj_error err = {0};
	struct api_msg_hello m = {.ok = true,
	                          .cgroup_mode = cgroup_mode_name(sandbox_runtime_cgroup_mode(rt))};

	/* inside a sandbox: terraform is never run unsandboxed */
	if (job_terraform_version(rt, l->c->tools, version, sizeof(version), &err) < 0) {
		fprintf(stderr, "tfjail: launcher: %s\n", err.msg);
		m.terraform_error = err.msg;
	} else {
		m.terraform_version = version;
	}
	send_hello(l, &m);
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
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	l.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (l.sigfd < 0) {
		snprintf(err.msg, sizeof(err.msg), "signalfd: %s", strerror(errno));
		send_hello(&l, &(struct api_msg_hello){.error = err.msg});
		return 2;
	}
	if (job_runtime_open(c->policy, c->host, &rt, &err) < 0) {
		send_hello(&l, &(struct api_msg_hello){.error = err.msg});
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

/* ------------------------------------------------------------ the spawner */

/* The spawner: forked before the server has threads, it forks each
 * launcher (the first, and a new one whenever one has died) and hands the
 * server its socket.  One byte in asks for a launcher; the answer is the
 * launcher's pid as a STARTED frame with the socket beside it. */
static int spawner_main(const struct api_launcher_config *c, int sock)
{
	sigset_t mask;
	char req;

	/* launchers that end are reaped at once */
	signal(SIGCHLD, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	while (read(sock, &req, 1) == 1) {
		struct tj_buf b = {0};
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return 1;
		pid = fork();
		if (pid == 0) {
			close(sock);
			close(sv[0]);
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			_exit(launcher_main(c, sv[1]));
		}
		close(sv[1]);
		if (pid > 0 && api_msg_started_encode(&(struct api_msg_started){pid}, &b) == 0)
			api_frame_write(sock, API_MSG_STARTED, 0, b.data, b.len, sv[0], NULL);
		else
			api_frame_write(sock, API_MSG_CRASHED, 0, NULL, 0, -1, NULL);
		tj_buf_free(&b);
		close(sv[0]);
	}
	/* the server has gone: the spawner ends after its launchers (with
	 * SIGCHLD ignored, wait returns once none is left) */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}

int api_spawner_start(const struct api_launcher_config *c, pid_t *pid, int *fd, struct tj_error *err)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return tj_error_sys(err, "socketpair");
	*pid = fork();
	if (*pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return tj_error_sys(err, "fork the launcher spawner");
	}
	if (*pid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		_exit(spawner_main(c, sv[1]));
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

int api_launcher_spawn(int spawner, pid_t *pid, int *fd, struct tj_error *err)
{
	struct api_frame_header h;
	_cleanup_free_ char *payload = NULL;
	struct api_msg_started m;
	int rc;

	if (tj_write_all(spawner, "L", 1) != 1)
		return tj_error_sys(err, "ask the spawner for a job launcher");
	rc = api_frame_read(spawner, &h, &payload, fd, err);
	if (rc != 0)
		return rc < 0 ? -1 : tj_error_set(err, EPIPE, "the launcher spawner has gone");
	if (h.type != API_MSG_STARTED || *fd < 0 || api_msg_started_decode(payload, h.len, &m) < 0) {
		if (*fd >= 0)
			close(*fd);
		return tj_error_set(err, EAGAIN, "the launcher spawner could not start a launcher");
	}
	*pid = m.worker;
	return 0;
}
