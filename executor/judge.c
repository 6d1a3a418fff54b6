/* The plan rules on the job's plan (see judge.h). */
#include "executor/judge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/utf8.h"
#include "common/util.h"
#include "policy/scan.h"

int (*judge_plan_check)(const struct tj_policy *p, const char *plan, size_t len,
                        const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                        struct tj_scan_result **out, struct tj_error *err) = tj_plan_check;

/* ---- in the helper ---- */

struct judge_input {
	const struct tj_policy *p;
	const char *plan;
	size_t len;
	const struct tj_block_loc *locs;
	size_t n_locs;
	const char *root_dir;
};

/* One netstring of s, at most max bytes of it (cut at a UTF-8 boundary),
 * control characters as '?': what the host accepts of an honest answer. */
static int put_field(struct tj_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s), start;
	char head[32];

	if (n > max)
		for (n = max; n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
			;
	snprintf(head, sizeof(head), "%zu:", n);
	if (tj_buf_append(b, head, strlen(head)) < 0)
		return -1;
	start = b->len;
	if (tj_buf_append(b, s, n) < 0 || tj_buf_append(b, ",", 1) < 0)
		return -1;
	for (size_t i = start; i < start + n; i++)
		if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f)
			b->data[i] = '?';
	return 0;
}

static int judge_in_helper(void *ctx, int fd)
{
	const struct judge_input *in = ctx;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	struct tj_buf b = {0};
	char head[64], line[16];
	size_t n;
	int rc = -1;

	if (judge_plan_check(in->p, in->plan, in->len, in->locs, in->n_locs, in->root_dir, &res, &err) < 0)
		return tj_write_all(fd, "E ", 2) < 0 ||
		               tj_write_all(fd, err.msg, strnlen(err.msg, JUDGE_MESSAGE_MAX)) < 0
		           ? -1
		           : 0;
	n = res->n < JUDGE_VIOLATIONS_MAX ? res->n : JUDGE_VIOLATIONS_MAX;
	snprintf(head, sizeof(head), "V %zu\n", n);
	if (tj_buf_append(&b, head, strlen(head)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct tj_violation *v = &res->v[i];
		snprintf(line, sizeof(line), "%d", v->line);
		if (put_field(&b, v->rule, JUDGE_RULE_MAX) < 0 || put_field(&b, v->severity, 16) < 0 ||
		    put_field(&b, v->address ? v->address : "", JUDGE_ADDRESS_MAX) < 0 ||
		    put_field(&b, v->file, JUDGE_FILE_MAX) < 0 || put_field(&b, line, sizeof(line)) < 0 ||
		    put_field(&b, v->message, JUDGE_MESSAGE_MAX) < 0)
			goto out;
	}
	rc = tj_write_all(fd, b.data, b.len) < 0 ? -1 : 0;
out:
	tj_buf_free(&b);
	tj_scan_result_free(res);
	return rc;
}

/* ---- on the host ---- */

/* The next netstring of the answer at *pos: 1..max bytes (0 allowed when
 * empty_ok), UTF-8 text without control characters. */
static const char *field(const char *a, size_t len, size_t *pos, size_t max, bool empty_ok, size_t *n)
{
	size_t i = *pos, v = 0, digits = 0;

	while (i < len && a[i] >= '0' && a[i] <= '9' && digits < 6)
		v = v * 10 + (size_t)(a[i++] - '0'), digits++;
	if (!digits || i >= len || a[i] != ':' || v > max || (!v && !empty_ok) || len - i - 1 < v + 1 ||
	    a[i + 1 + v] != ',' || !tj_utf8_text(a + i + 1, v))
		return NULL;
	*n = v;
	*pos = i + 2 + v;
	return a + i + 1;
}

/* "." or relative, no ".." component: where the scan found a block. */
static bool relative_file(const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return true;
	if (s[0] == '/')
		return false;
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && s[e] != '/')
			e++;
		if (e == i || (e - i == 2 && s[i] == '.' && s[i + 1] == '.'))
			return false;
		i = e + 1;
	}
	return s[n - 1] != '/';
}

static int read_violation(const char *a, size_t len, size_t *pos, struct tj_scan_result *r)
{
	const char *rule, *sev, *addr, *file, *line, *msg;
	size_t nr, ns, na, nf, nl, nm;
	long ln = 0;
	_cleanup_free_ char *crule = NULL, *csev = NULL, *caddr = NULL, *cfile = NULL, *cmsg = NULL;

	if (!(rule = field(a, len, pos, JUDGE_RULE_MAX, false, &nr)) ||
	    !(sev = field(a, len, pos, 7, false, &ns)) ||
	    !(addr = field(a, len, pos, JUDGE_ADDRESS_MAX, true, &na)) ||
	    !(file = field(a, len, pos, JUDGE_FILE_MAX, false, &nf)) ||
	    !(line = field(a, len, pos, 8, false, &nl)) ||
	    !(msg = field(a, len, pos, JUDGE_MESSAGE_MAX, false, &nm)))
		return -1;
	if (!tj_chars_in(rule, nr, "abcdefghijklmnopqrstuvwxyz0123456789-") ||
	    !((ns == 5 && memcmp(sev, "error", 5) == 0) || (ns == 7 && memcmp(sev, "warning", 7) == 0)) ||
	    !relative_file(file, nf) || !tj_chars_in(line, nl, "0123456789") || (nl > 1 && line[0] == '0'))
		return -1;
	for (size_t i = 0; i < nl; i++)
		ln = ln * 10 + (line[i] - '0');
	if (ln > JUDGE_LINE_MAX)
		return -1;
	crule = strndup(rule, nr);
	csev = strndup(sev, ns);
	caddr = na ? strndup(addr, na) : NULL;
	cfile = strndup(file, nf);
	cmsg = strndup(msg, nm);
	if (!crule || !csev || (na && !caddr) || !cfile || !cmsg)
		return -1;
	return tj_scan_result_add(r,
	                          &(struct tj_violation){.rule = crule,
	                                                 .severity = csev,
	                                                 .address = caddr,
	                                                 .file = cfile,
	                                                 .line = (int)ln,
	                                                 .message = cmsg},
	                          false);
}

int judge_answer_read(const char *a, size_t len, struct tj_scan_result **out, struct tj_error *err)
{
	struct tj_scan_result *r;
	size_t pos = 0, n = 0;

	*out = NULL;
	if (len >= 2 && a[0] == 'E' && a[1] == ' ') {
		if (len - 2 > JUDGE_MESSAGE_MAX || !tj_utf8_text(a + 2, len - 2))
			return tj_error_set(err, EINVAL, "the plan rules helper gave a malformed answer");
		return tj_error_set(err, EINVAL, "%.*s", (int)(len - 2), a + 2);
	}
	if (len < 4 || memcmp(a, "V ", 2) != 0)
		return tj_error_set(err, EINVAL, "the plan rules helper gave a malformed answer");
	for (pos = 2; pos < len && a[pos] >= '0' && a[pos] <= '9' && pos < 8; pos++)
		n = n * 10 + (size_t)(a[pos] - '0');
	if (pos == 2 || pos >= len || a[pos] != '\n' || n > JUDGE_VIOLATIONS_MAX)
		return tj_error_set(err, EINVAL, "the plan rules helper gave a malformed answer");
	pos++;
	if (!(r = calloc(1, sizeof(*r))))
		return tj_error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (read_violation(a, len, &pos, r) < 0)
			goto bad;
	if (pos != len)
		goto bad;
	*out = r;
	return 0;
bad:
	tj_scan_result_free(r);
	return tj_error_set(err, EINVAL, "the plan rules helper gave a malformed answer");
}

/* Per violation: six fields of bounded size, their lengths and separators. */
#define JUDGE_ANSWER_MAX                                                                                     \
	(64 + (size_t)JUDGE_VIOLATIONS_MAX * (JUDGE_RULE_MAX + 16 + JUDGE_ADDRESS_MAX + JUDGE_FILE_MAX +     \
	                                      16 + JUDGE_MESSAGE_MAX + 6 * 8))

int judge_plan_rules(const struct sandbox *sb, const struct tj_policy *p, const char *plan, size_t len,
                     const struct tj_block_loc *locs, size_t n_locs, const char *root_dir,
                     struct tj_scan_result **out, struct tj_error *err)
{
	struct judge_input in = {p, plan, len, locs, n_locs, root_dir};
	_cleanup_free_ char *answer = NULL;
	size_t alen = 0;

	*out = NULL;
	if (sandbox_helper_run(sb, judge_in_helper, &in, JUDGE_ANSWER_MAX, 120000, &answer, &alen, err) < 0)
		return -1;
	return judge_answer_read(answer, alen, out, err);
}

void job_judge_plan(struct job *j, const struct sandbox *sb, const char *plan, size_t len)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(j->resp, "violations");
	const struct tj_scan_result *scan = j->scan;
	const struct tj_violation *v0 = NULL;
	struct tj_scan_result *res = NULL;
	struct tj_error err = {0};
	size_t errors = 0;

	if (!tj_plan_rules_present(j->policy))
		return;
	if (judge_plan_rules(sb, j->policy, plan, len, scan ? scan->locs : NULL, scan ? scan->n_locs : 0,
	                     j->req->workdir ? j->req->workdir : "", &res, &err) < 0 ||
	    !res) {
		job_outcome(j, "FAILED", "InternalError", "plan rules: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < res->n; i++) {
		cJSON_AddItemToArray(list, tj_violation_to_json(&res->v[i]));
		if (strcmp(res->v[i].severity, "error") == 0 && !errors++)
			v0 = &res->v[i];
	}
	if (v0)
		job_outcome(j, "FAILED", "PolicyViolation", "%s:%d: %s [%s]%s", v0->file, v0->line,
		            v0->message, v0->rule, errors > 1 ? " (and more violations, see the list)" : "");
	tj_scan_result_free(res);
}
