/* The micro-container.
 *
 * sandbox_create() clones a process into new user, mount, pid, net, ipc, uts
 * and cgroup namespaces inside a fresh job cgroup.  That process is the
 * sandbox's PID 1 (tfjail's own code, never an exec of the tfjail binary): it
 * builds the root filesystem, brings up loopback, copies the workspace in,
 * drops to an unprivileged uid with no capabilities and no_new_privs, then
 * serves commands.  sandbox_exec() runs one command in it (seccomp installed
 * last, just before exec) and waits for it with a wall-clock timeout.
 * sandbox_destroy() kills everything and removes the cgroup.
 *
 * The runtime knows nothing of Terraform or HTTP.  It must be called from a
 * single-threaded process (the child is created with a raw clone): a threaded
 * server runs each job in a forked worker. */
#ifndef TFJAIL_RUNTIME_SANDBOX_H
#define TFJAIL_RUNTIME_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/error.h"
#include "runtime/cgroup.h"

/* Per-process state shared by every sandbox: the cgroup layout, the compiled
 * seccomp program, the host uid range. */
struct sandbox_runtime;

#define SANDBOX_DEFAULT_UID_BASE  1500000000u
#define SANDBOX_DEFAULT_UID_SLOTS 4096u

struct sandbox_runtime_options {
	struct cgroup_host_options cgroup;
	uid_t uid_base;                  /* first host uid of the range; default 1500000000 */
	uint32_t uid_slots;              /* sandboxes that may run at once; default 4096 */
	const char *lock_dir;            /* uid slot locks; default /run/tfjail/slots */
	const char *const *seccomp_deny; /* extra syscall names refused (policy) */
	size_t n_seccomp_deny;
};

int sandbox_runtime_open(const struct sandbox_runtime_options *opts, struct sandbox_runtime **out,
                         struct tj_error *err);
void sandbox_runtime_free(struct sandbox_runtime *rt);
enum cgroup_mode sandbox_runtime_cgroup_mode(const struct sandbox_runtime *rt);
/* The detected cgroup layout and where job cgroups go, for logs. */
const char *sandbox_runtime_cgroup_describe(const struct sandbox_runtime *rt);

struct sandbox_bind {
	const char *src; /* host path */
	const char *dst; /* path inside; NULL = same as src */
};

struct sandbox_file {
	const char *name; /* plain file name */
	const char *content;
	mode_t mode; /* 0 = 0644 */
};

/* Decides, for each entry of the copied workspace, whether it is left out.
 * rel is relative to the workspace root ("a/b.tf"). */
typedef bool (*sandbox_exclude_fn)(const char *rel, const struct stat *st, void *ctx);

/* Inspects the copied workspace inside the sandbox, before any command runs:
 * in a child of PID 1 with the commands' uid, no capabilities, no_new_privs
 * and the commands' seccomp filter, with the host's tree detached (the
 * executor's static scan runs here).  Writes at most max bytes to out and
 * returns their count, or -1 with err filled.  The host gets the bytes back
 * from sandbox_inspect_result(): untrusted, bounded, to be checked. */
#define SANDBOX_INSPECT_MAX (128u * 1024u)
typedef ssize_t (*sandbox_inspect_fn)(const char *workspace, void *ctx, char *out, size_t max,
                                      struct tj_error *err);

struct sandbox_config {
	const struct sandbox_bind *binds; /* read-only, recursive, nosuid, nodev */
	size_t n_binds;

	/* Host directory copied into /workspace inside the sandbox (bind-mounted
	 * read-only, copied by PID 1, unmounted again).  NULL = empty workspace. */
	const char *workspace_src;
	/* Or the upload as a host fd (an O_PATH directory the caller opened
	 * beneath its uploads directory): used when > 0 and workspace_src is
	 * NULL; the path is then never resolved again. */
	int workspace_fd;
	sandbox_exclude_fn workspace_exclude;
	void *workspace_exclude_ctx;
	sandbox_inspect_fn workspace_inspect; /* NULL = none */
	void *workspace_inspect_ctx;
	/* A directory the inspection may write (e.g. under /tmp): if it exists
	 * once the inspection is done, PID 1 makes it read-only before any
	 * command runs.  NULL = none. */
	const char *inspect_seal;
	uint64_t copy_max_files; /* 0 = unlimited */
	uint64_t copy_max_total_bytes;
	uint64_t copy_max_file_bytes;
	uint64_t copy_max_depth;

	uint64_t memory_bytes;    /* 0 = unlimited */
	double cpus;              /* 0 = unlimited */
	uint64_t pids;            /* 0 = unlimited */
	uint64_t workspace_bytes; /* tmpfs size of /workspace; 0 = 64 MiB */
	uint64_t tmp_bytes;       /* tmpfs size of /tmp; 0 = 64 MiB */
	uint64_t nofile;          /* RLIMIT_NOFILE; 0 = 1024 */

	uid_t uid; /* uid/gid inside for commands; default 1000 */
	gid_t gid;
	bool run_as_root;     /* commands as uid 0 inside (still no capabilities) */
	const char *hostname; /* default "tfjail" */

	/* Runner-owned text files, read-only at /run/tfjail/<name>. */
	const struct sandbox_file *files;
	size_t n_files;
};

/* Where sandbox_create() failed, typed; errno and message go in the
 * tj_error.  The three WORKSPACE_* kinds tell the caller's fault (a bad or
 * too large upload) from the runtime's. */
enum sandbox_setup_step {
	SANDBOX_SETUP_INIT = 0, /* memory, file descriptors, stdio */
	SANDBOX_SETUP_CLONE,    /* socketpair, clone, the start message */
	SANDBOX_SETUP_CGROUP,
	SANDBOX_SETUP_UIDMAP, /* uid slot, uid/gid maps */
	SANDBOX_SETUP_HOSTNAME,
	SANDBOX_SETUP_NETWORK,
	SANDBOX_SETUP_MOUNT,
	SANDBOX_SETUP_ROOTFS,
	SANDBOX_SETUP_WORKSPACE,            /* the upload could not be opened or bound */
	SANDBOX_SETUP_WORKSPACE_INVALID,    /* the upload breaks a workspace rule */
	SANDBOX_SETUP_WORKSPACE_FULL,       /* the upload exceeds a workspace limit */
	SANDBOX_SETUP_WORKSPACE_UNREADABLE, /* the commands' uid may not read an entry of
	                                     * the upload: the error names it "<rel> (mode 0NNN)" */
	SANDBOX_SETUP_PIVOT_ROOT,
	SANDBOX_SETUP_LIMITS, /* per-user-namespace counters, rlimits */
	SANDBOX_SETUP_CAPABILITIES,
	SANDBOX_SETUP_INSPECT,  /* workspace_inspect reported a failure */
	SANDBOX_SETUP_TIMEOUT,  /* PID 1 did not report within 30 s, or died */
	SANDBOX_SETUP_CANCELED, /* sandbox_cancel() */
};

/* "rootfs", "workspace-invalid", ...: for messages. */
const char *sandbox_setup_step_name(enum sandbox_setup_step step);

struct sandbox;

/* On failure returns -1 with step (if non-NULL) and err filled. */
int sandbox_create(struct sandbox_runtime *rt, const struct sandbox_config *cfg, struct sandbox **out,
                   enum sandbox_setup_step *step, struct tj_error *err);

/* Host pid of the sandbox's PID 1. */
pid_t sandbox_pid(const struct sandbox *sb);
/* When sandbox_create() failed at SANDBOX_SETUP_WORKSPACE_INVALID, what
 * workspace_inspect wrote about the read-only upload that could not be
 * copied (in the sandbox, with the same credentials): the upload's own
 * explanation.  NULL, 0 otherwise; until the next sandbox_create(). */
const char *sandbox_runtime_failed_inspect(const struct sandbox_runtime *rt, size_t *len);
/* The bytes workspace_inspect wrote (NULL, 0 without one); until destroy. */
const char *sandbox_inspect_result(const struct sandbox *sb, size_t *len);
/* Host uid the sandboxed commands run as. */
uid_t sandbox_host_uid(const struct sandbox *sb);
/* kill(pid, sig) for a process running as one of the sandbox's host uids,
 * also where host root has no CAP_KILL (uidslot_kill()). */
int sandbox_signal(const struct sandbox *sb, pid_t pid, int sig);
const char *sandbox_cgroup_path(const struct sandbox *sb, const char *controller);

struct sandbox_cmd {
	char *const *argv;   /* argv[0] without '/' is looked up on envp's PATH */
	char *const *envp;   /* the whole environment; NULL = empty */
	const char *cwd;     /* default "/workspace" */
	int stdin_fd;        /* host fd passed through; -1 = /dev/null */
	int stdout_fd;       /* host fd passed through; -1 = captured */
	int stderr_fd;       /* host fd passed through; -1 = captured */
	size_t capture_max;  /* bytes kept per captured stream; 0 = 1 MiB */
	uint64_t timeout_ms; /* wall clock; 0 = none.  On expiry the sandbox is killed. */
};

enum sandbox_status {
	SANDBOX_EXITED = 0, /* exit_code is valid */
	SANDBOX_SIGNALED,   /* signal is valid */
	SANDBOX_TIMEOUT,    /* killed at timeout_ms */
	SANDBOX_OOM,        /* a process of the sandbox was killed for memory */
	SANDBOX_SECCOMP,    /* killed by SIGSYS */
	SANDBOX_LOST,       /* the sandbox died under the command (PID 1 gone) */
	SANDBOX_CANCELED,   /* sandbox_cancel() was called: the sandbox was killed */
};

const char *sandbox_status_name(enum sandbox_status st);

struct sandbox_result {
	enum sandbox_status status;
	int exit_code;
	int signal;
	uint64_t oom_kills;  /* during this command (the exit code cannot be trusted then) */
	bool pids_limit_hit; /* fork/clone refused by pids.max during this command */
	char *out;           /* captured stdout (NUL-terminated), NULL if passed through */
	size_t out_len;
	bool out_truncated;
	char *err;
	size_t err_len;
	bool err_truncated;
	uint64_t wall_ms;
	uint64_t cpu_us;      /* from the job cgroup, during this command */
	uint64_t memory_peak; /* job cgroup peak so far, bytes (0 if unknown) */
};

/* Runs one command and waits for it.  Returns 0 when a result was produced
 * (whatever the command did), -1 on a runtime failure (err). */
int sandbox_exec(struct sandbox *sb, const struct sandbox_cmd *cmd, struct sandbox_result *res,
                 struct tj_error *err);
void sandbox_result_free(struct sandbox_result *res);

/* Starts a helper process (e.g. a provider server) and returns once it was
 * executed, without waiting for it: it runs, under the same seccomp filter and
 * limits, until it exits or the sandbox is destroyed.  stdout_fd and
 * stderr_fd (host fds, e.g. a pipe's write end) are required; stdin is
 * /dev/null; timeout_ms and capture_max are ignored. */
int sandbox_spawn(struct sandbox *sb, const struct sandbox_cmd *cmd, struct tj_error *err);

/* Asks every sandbox_create()/sandbox_exec() in progress in this process to
 * kill its sandbox and return (status SANDBOX_CANCELED).  Async-signal-safe:
 * meant for a SIGINT/SIGTERM handler installed without SA_RESTART.  signo
 * is remembered for sandbox_cancel_signal(). */
void sandbox_cancel(int signo);
int sandbox_cancel_signal(void);

/* True while PID 1 is alive (no timeout or kill happened). */
bool sandbox_alive(const struct sandbox *sb);

/* Kills every process, reaps PID 1, removes the cgroup, releases the uid
 * slot.  Returns -1 (err) if something could not be cleaned up. */
int sandbox_destroy(struct sandbox *sb, struct tj_error *err);

#endif
