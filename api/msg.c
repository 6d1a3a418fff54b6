#include "api/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_NONE UINT32_MAX

/* ------------------------------------------------------------ fields */

static int put_bytes(struct tj_buf *out, const char *v, size_t len)
{
	uint32_t n = v ? (uint32_t)len : FIELD_NONE;

	if (v && len >= FIELD_NONE)
		return -1;
	if (tj_buf_append(out, &n, sizeof(n)) < 0)
		return -1;
	if (!v)
		return 0;
	if ((len && tj_buf_append(out, v, len) < 0) || tj_buf_append(out, "", 1) < 0)
		return -1;
	return 0;
}

static int put_str(struct tj_buf *out, const char *v)
{
	return put_bytes(out, v, v ? strlen(v) : 0);
}

static int put_u64(struct tj_buf *out, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return put_str(out, num);
}

/* A reader over a payload. */
struct rd {
	const char *p;
	size_t left;
	bool bad;
};

static const char *get_bytes(struct rd *r, size_t *len)
{
	uint32_t n;
	const char *v;

	*len = 0;
	if (r->bad || r->left < sizeof(n)) {
		r->bad = true;
		return NULL;
	}
	memcpy(&n, r->p, sizeof(n));
	r->p += sizeof(n);
	r->left -= sizeof(n);
	if (n == FIELD_NONE)
		return NULL;
	if ((size_t)n + 1 > r->left || r->p[n] != '\0') {
		r->bad = true;
		return NULL;
	}
	v = r->p;
	r->p += (size_t)n + 1;
	r->left -= (size_t)n + 1;
	*len = n;
	return v;
}

static const char *get_str(struct rd *r)
{
	size_t len;
	const char *v = get_bytes(r, &len);

	/* a string field holds no NUL of its own */
	if (v && strlen(v) != len)
		r->bad = true;
	return r->bad ? NULL : v;
}

static uint64_t get_u64(struct rd *r)
{
	const char *v = get_str(r);
	uint64_t n = 0;

	if (!v || tj_parse_u64(v, UINT64_MAX, &n) < 0)
		r->bad = true;
	return n;
}

/* The whole payload read, nothing left over. */
static int done(const struct rd *r)
{
	return r->bad || r->left ? -1 : 0;
}

/* ------------------------------------------------------------ messages */

int api_msg_hello_encode(const struct api_msg_hello *m, struct tj_buf *out)
{
	return put_u64(out, m->ok) | put_str(out, m->error) | put_str(out, m->terraform_version) |
	       put_str(out, m->terraform_error) | put_str(out, m->cgroup_mode);
}

int api_msg_hello_decode(const char *p, size_t len, struct api_msg_hello *m)
{
	struct rd r = {p, len, false};

	m->ok = get_u64(&r) != 0;
	m->error = get_str(&r);
	m->terraform_version = get_str(&r);
	m->terraform_error = get_str(&r);
	m->cgroup_mode = get_str(&r);
	return done(&r);
}

int api_msg_run_encode(const struct api_msg_run *m, struct tj_buf *out)
{
	return put_str(out, m->job_id) | put_str(out, m->upload_id) | put_str(out, m->working_dir) |
	       put_str(out, m->request_id) | put_bytes(out, m->policy_text, m->policy_len) |
	       put_bytes(out, m->variables_json, m->variables_json_len);
}

int api_msg_run_decode(const char *p, size_t len, struct api_msg_run *m)
{
	struct rd r = {p, len, false};

	m->job_id = get_str(&r);
	m->upload_id = get_str(&r);
	m->working_dir = get_str(&r);
	m->request_id = get_str(&r);
	m->policy_text = get_bytes(&r, &m->policy_len);
	m->variables_json = get_bytes(&r, &m->variables_json_len);
	if (!m->job_id || !m->upload_id)
		return -1;
	return done(&r);
}

int api_msg_started_encode(const struct api_msg_started *m, struct tj_buf *out)
{
	return put_u64(out, (uint64_t)m->worker);
}

int api_msg_started_decode(const char *p, size_t len, struct api_msg_started *m)
{
	struct rd r = {p, len, false};

	m->worker = (pid_t)get_u64(&r);
	return done(&r);
}

int api_msg_result_encode(const struct api_msg_result *m, struct tj_buf *out)
{
	return put_str(out, m->status) | put_str(out, m->error_type) |
	       put_bytes(out, m->response, m->response_len);
}

int api_msg_result_decode(const char *p, size_t len, struct api_msg_result *m)
{
	struct rd r = {p, len, false};

	m->status = get_str(&r);
	m->error_type = get_str(&r);
	m->response = get_bytes(&r, &m->response_len);
	if (!m->status || !m->response)
		return -1;
	return done(&r);
}

int api_msg_reason_encode(const struct api_msg_reason *m, struct tj_buf *out)
{
	return put_str(out, m->why);
}

int api_msg_reason_decode(const char *p, size_t len, struct api_msg_reason *m)
{
	struct rd r = {p, len, false};

	m->why = get_str(&r);
	return done(&r);
}

int api_msg_shutdown_encode(const struct api_msg_shutdown *m, struct tj_buf *out)
{
	return put_u64(out, m->grace_ms);
}

int api_msg_shutdown_decode(const char *p, size_t len, struct api_msg_shutdown *m)
{
	struct rd r = {p, len, false};

	m->grace_ms = get_u64(&r);
	return done(&r);
}
