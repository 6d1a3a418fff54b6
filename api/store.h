/* The job store: where asynchronous jobs wait, who runs them, and their
 * results.  One small interface (struct api_store_ops) with two backends,
 * chosen by the store URL:
 *
 *   embedded        (the default) in the serve process's memory: one host,
 *                   nothing else to run; a restart forgets everything;
 *   redis://H:P/DB  a Redis shared by a fleet of hosts: a stream with a
 *                   consumer group is the queue, a hash per job holds its
 *                   state and result (with a TTL once final), and the
 *                   pending-entries list is the lease table.
 *
 * A job's life: submit (QUEUED) -> claim by one host (RUNNING; the host
 * renews its lease while it runs the job) -> finish (DONE, or CANCELLED).
 * A result is written once: a second finish is a no-op.  A host that stops
 * renewing (killed, powered off, cut off) loses the lease after lease_ms and
 * another host claims the job again: a plan has no side effects, so running
 * a job more than once is correct (at-least-once execution), and the first
 * result written is the one kept.  A host that stops without finishing a job
 * (its shutdown killed it) releases it: the job is QUEUED again at once, for
 * the next host with a free slot, without waiting for the lease.
 *
 * Every call may be made from any thread; a backend serialises as it needs.
 * A call that cannot reach the store fails with errnum EAGAIN ("the store
 * is unreachable") and leaves nothing half-written; the caller retries. */
#ifndef TFJAIL_API_STORE_H
#define TFJAIL_API_STORE_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define API_STORE_ID_MAX 128

enum api_store_state {
	API_STORE_QUEUED,
	API_STORE_RUNNING,
	API_STORE_DONE,      /* final: result is the ExecutionResponse */
	API_STORE_CANCELLED, /* final: cancelled before or while it ran */
};

/* "QUEUED", "RUNNING", "DONE", "CANCELLED" and back. */
const char *api_store_state_name(enum api_store_state s);
int api_store_state_parse(const char *name, enum api_store_state *out);

struct api_store_options {
	char *url;             /* "embedded" (default) or "redis://HOST[:PORT][/DB]" */
	char *username;        /* Redis ACL user; NULL = the default user */
	char *password;        /* secret: never logged, never shown */
	char *host_id;         /* this host's name in the fleet (unique); NULL = hostname:pid */
	char *prefix;          /* key prefix in Redis (default "tfjail") */
	uint64_t lease_ms;     /* a running job without renewal this long is claimed again */
	uint64_t result_ttl_s; /* final jobs are removed this long after they finished */
	uint64_t timeout_ms;   /* connect and command timeout */
};

/* Fills the defaults (embedded, lease 30 s, results kept 24 h). */
int api_store_options_defaults(struct api_store_options *o, struct tj_error *err);
/* Reads the config's "store" object over the values in o (unknown keys and
 * wrong types are errors naming "store.KEY"); the password may come from
 * "password" or "password_file" (its first line).  label names the file. */
int api_store_options_load(const cJSON *obj, const char *label, struct api_store_options *o,
                           struct tj_error *err);
/* A deep copy (to is overwritten). */
int api_store_options_copy(const struct api_store_options *from, struct api_store_options *to,
                           struct tj_error *err);
void api_store_options_free(struct api_store_options *o);

/* One job as the store holds it.  Strings are owned (api_store_job_free). */
struct api_store_job {
	char id[API_STORE_ID_MAX + 1];
	enum api_store_state state;
	char *request;        /* the submitted ExecutionRequest JSON */
	char body_sha256[65]; /* of the request: the idempotency check */
	char *result;         /* final: ExecutionResponse JSON (may be NULL when CANCELLED) */
	char *host;           /* the host that runs or ran it; NULL while queued */
	uint64_t queued_ms;   /* Unix time in ms; 0 = not yet */
	uint64_t started_ms;
	uint64_t finished_ms;
	unsigned attempts; /* claims so far: more than 1 after a host died */
	bool cancel_requested;
};
void api_store_job_free(struct api_store_job *j);

enum api_store_submit {
	API_STORE_CREATED,  /* new job, queued */
	API_STORE_EXISTS,   /* same id, same body: the existing job */
	API_STORE_CONFLICT, /* same id, another body */
};

enum api_store_cancel {
	API_STORE_CANCEL_UNKNOWN,   /* no such job (or expired) */
	API_STORE_CANCEL_DONE,      /* was queued: it is now CANCELLED and never starts */
	API_STORE_CANCEL_REQUESTED, /* is running: its host kills it at its next renewal */
	API_STORE_CANCEL_FINAL,     /* had already finished: nothing changed */
};

/* A job handed to this host by api_store_claim. */
struct api_store_claim {
	char id[API_STORE_ID_MAX + 1];
	char *request; /* the ExecutionRequest JSON */
	char *lease;   /* the backend's token for renew/finish */
	unsigned attempts;
	bool reclaimed; /* taken over from a host whose lease ran out */
};
void api_store_claim_free(struct api_store_claim *c);

enum api_store_renew {
	API_STORE_RENEWED,           /* still ours; keep running */
	API_STORE_CANCELLED_BY_USER, /* cancel requested: kill it, then finish CANCELLED */
	API_STORE_LOST,              /* another host took it over, or it is final: stop it */
};

struct api_store_stats {
	uint64_t queued;
	uint64_t running;
	uint64_t oldest_queued_age_ms; /* 0 when nothing is queued */
	uint64_t done;                 /* finished since the store began (all hosts) */
	uint64_t cancelled;
};

struct api_store;

struct api_store_ops {
	const char *scheme; /* "embedded", "redis" */
	int (*open)(struct api_store *s, struct tj_error *err);
	int (*submit)(struct api_store *s, const char *id, const char *request, const char *sha256,
	              enum api_store_submit *out, struct tj_error *err);
	int (*get)(struct api_store *s, const char *id, struct api_store_job *job, bool *found,
	           struct tj_error *err);
	int (*claim)(struct api_store *s, struct api_store_claim *c, bool *got, struct tj_error *err);
	int (*renew)(struct api_store *s, const struct api_store_claim *c, enum api_store_renew *out,
	             struct tj_error *err);
	int (*finish)(struct api_store *s, const struct api_store_claim *c, enum api_store_state state,
	              const char *result, bool *written, struct tj_error *err);
	int (*release)(struct api_store *s, const struct api_store_claim *c, bool *released,
	               struct tj_error *err);
	int (*cancel)(struct api_store *s, const char *id, enum api_store_cancel *out, struct tj_error *err);
	int (*stats)(struct api_store *s, struct api_store_stats *st, struct tj_error *err);
	void (*describe)(const struct api_store *s, char *buf, size_t len);
	void (*close)(struct api_store *s);
};

struct api_store {
	const struct api_store_ops *ops;
	struct api_store_options opt; /* a copy; host_id always set */
	void *priv;                   /* the backend's state */
};

/* Opens the backend named by o->url (copied). */
int api_store_open(const struct api_store_options *o, struct api_store **out, struct tj_error *err);
void api_store_close(struct api_store *s);
/* "embedded" or "redis 10.0.0.5:6379 db 0, user tfjail, password set":
 * for /health and logs, never the secret. */
void api_store_describe(const struct api_store *s, char *buf, size_t len);

/* The operations, through the backend's table.  submit hashes the request
 * itself (sha256 of the exact bytes). */
int api_store_submit(struct api_store *s, const char *id, const char *request, enum api_store_submit *out,
                     struct tj_error *err);
int api_store_get(struct api_store *s, const char *id, struct api_store_job *job, bool *found,
                  struct tj_error *err);
/* Takes the next job for this host, if any: a job whose lease ran out
 * first, then the oldest queued one.  Jobs cancelled while queued are
 * skipped.  The caller must only claim while it has a free slot. */
int api_store_claim(struct api_store *s, struct api_store_claim *c, bool *got, struct tj_error *err);
int api_store_renew(struct api_store *s, const struct api_store_claim *c, enum api_store_renew *out,
                    struct tj_error *err);
/* Writes the final state once; *written is false when a result was already
 * there (another host finished first, or it was cancelled). */
int api_store_finish(struct api_store *s, const struct api_store_claim *c, enum api_store_state state,
                     const char *result, bool *written, struct tj_error *err);
/* Hands a job this host holds, and will not finish, back to the queue at
 * once (the host is stopping and killed it): QUEUED again, its host and
 * start time cleared, its attempts kept (the next claim counts one more),
 * first in line for the next host with a free slot.  The claim is dead
 * after it.  *released is false when the claim no longer held the job
 * (another host took it over, or it is final): nothing changed then.  A
 * job whose cancel was requested meanwhile ends CANCELLED instead (no host
 * runs it again). */
int api_store_release(struct api_store *s, const struct api_store_claim *c, bool *released,
                      struct tj_error *err);
int api_store_cancel(struct api_store *s, const char *id, enum api_store_cancel *out, struct tj_error *err);
int api_store_stats(struct api_store *s, struct api_store_stats *st, struct tj_error *err);

/* Unix time in ms (the embedded store's clock; Redis uses its own). */
uint64_t api_store_now_ms(void);

extern const struct api_store_ops api_store_embedded_ops;
extern const struct api_store_ops api_store_redis_ops;

#endif
