/* The messages between the HTTP server, the job launcher and its workers.
 *
 * Each message has a type of its own, one encoder and one decoder.  A
 * payload is a sequence of fields; a field is a 32-bit length and that many
 * bytes followed by a NUL (so that decoded strings are C strings and bytes
 * such as the raw variables JSON pass unchanged), or the length 0xffffffff
 * for "none".  Decoded pointers point into the payload buffer, which must
 * outlive the message.  The frames that carry them: api/ipc.h.
 *
 *   launcher -> server    HELLO once, then per job STARTED and one of
 *                         RESULT / CRASHED / ABORTED / CANCELLED
 *   worker -> launcher    RESULT or CRASHED (forwarded unchanged)
 *   server -> launcher    RUN (with the upload's fd), CANCEL, SHUTDOWN */
#ifndef TFJAIL_API_MSG_H
#define TFJAIL_API_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

enum api_msg_type {
	API_MSG_HELLO = 1,
	API_MSG_STARTED,
	API_MSG_RESULT,
	API_MSG_CRASHED,   /* the worker died without a result */
	API_MSG_ABORTED,   /* not run, or killed, because the service is stopping */
	API_MSG_CANCELLED, /* not run, or killed, because its client has gone */
	API_MSG_RUN = 16,
	API_MSG_SHUTDOWN,
	API_MSG_CANCEL,
};

/* The launcher is ready (or could not start). */
struct api_msg_hello {
	bool ok;
	const char *error;             /* !ok: why */
	const char *terraform_version; /* NULL = unknown */
	const char *terraform_error;   /* why it is unknown */
	const char *cgroup_mode;
};

/* Run one job.  The upload travels as a descriptor beside the frame. */
struct api_msg_run {
	const char *job_id;
	const char *upload_id;   /* a display name; never resolved */
	const char *working_dir; /* NULL = the upload's root */
	const char *request_id;
	const char *policy_text; /* the policy in force at admission */
	size_t policy_len;
	const char *variables_json; /* the request's raw "variables" object; NULL = none */
	size_t variables_json_len;
};

/* The job left the queue. */
struct api_msg_started {
	pid_t worker;
};

/* The job's ExecutionResponse, with what the server needs to count it. */
struct api_msg_result {
	const char *status;
	const char *error_type; /* NULL = none */
	const char *response;   /* the ExecutionResponse JSON */
	size_t response_len;
};

/* CRASHED, ABORTED, CANCELLED: one sentence. */
struct api_msg_reason {
	const char *why;
};

struct api_msg_shutdown {
	uint64_t grace_ms;
};

/* CANCEL has no payload: the frame's id names the job. */

int api_msg_hello_encode(const struct api_msg_hello *m, struct tj_buf *out);
int api_msg_hello_decode(const char *p, size_t len, struct api_msg_hello *m);
int api_msg_run_encode(const struct api_msg_run *m, struct tj_buf *out);
int api_msg_run_decode(const char *p, size_t len, struct api_msg_run *m);
int api_msg_started_encode(const struct api_msg_started *m, struct tj_buf *out);
int api_msg_started_decode(const char *p, size_t len, struct api_msg_started *m);
int api_msg_result_encode(const struct api_msg_result *m, struct tj_buf *out);
int api_msg_result_decode(const char *p, size_t len, struct api_msg_result *m);
int api_msg_reason_encode(const struct api_msg_reason *m, struct tj_buf *out);
int api_msg_reason_decode(const char *p, size_t len, struct api_msg_reason *m);
int api_msg_shutdown_encode(const struct api_msg_shutdown *m, struct tj_buf *out);
int api_msg_shutdown_decode(const char *p, size_t len, struct api_msg_shutdown *m);

#endif
