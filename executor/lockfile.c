/* The upload's dependency lock file (see lockfile.h). */
#include "executor/lockfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "executor/sandboxpaths.h"
#include "executor/steps.h"
#include "policy/hcl.h"

#define MAX_LOCK_FILE (1u << 20)

/* The lock file's grammar is small: provider "ADDR" { version = "V"
 * constraints = "C" hashes = ["h1:...", "zh:...", ...] }; the lexer's
 * tokens are enough to read it. */
int lockfile_parse(const char *text, size_t len, struct lockfile_entry *out, size_t max, size_t *n)
{
	struct hcl_lexer lx;
	struct hcl_token t;
	struct lockfile_entry *cur = NULL;
	enum { NONE, PROVIDER_LABEL, VERSION, HASHES } want = NONE;
	char attr[32] = "";
	int depth = 0, rc = 0;

	*n = 0;
	if (hcl_lex_init(&lx, text, len, 64, 1000000) < 0)
		return -1;
	for (hcl_lex_next(&lx, &t); t.type != HCL_T_EOF; hcl_lex_next(&lx, &t)) {
		switch (t.type) {
		case HCL_T_ERROR: rc = -1; goto out;
		case HCL_T_IDENT:
			if (depth == 0 && t.len == 8 && memcmp(t.start, "provider", 8) == 0 && *n < max) {
				cur = &out[(*n)++];
				memset(cur, 0, sizeof(*cur));
				want = PROVIDER_LABEL;
			} else if (depth == 1 && cur) {
				snprintf(attr, sizeof(attr), "%.*s", (int)(t.len < 31 ? t.len : 31), t.start);
				want = strcmp(attr, "version") == 0  ? VERSION
				       : strcmp(attr, "hashes") == 0 ? HASHES
				                                     : NONE;
			}
			break;
		case HCL_T_LITERAL:
			if (!cur)
				break;
			if (want == PROVIDER_LABEL)
				snprintf(cur->addr, sizeof(cur->addr), "%s", t.text);
			else if (want == VERSION)
				snprintf(cur->version, sizeof(cur->version), "%s", t.text);
			else if (want == HASHES && strchr(t.text, ':')) {
				char kind[16];
				size_t k = (size_t)(strchr(t.text, ':') - t.text);
				snprintf(kind, sizeof(kind), "%.*s:", (int)(k < 14 ? k : 14), t.text);
				if (!strstr(cur->kinds, kind) &&
				    strlen(cur->kinds) + strlen(kind) + 3 < sizeof(cur->kinds))
					snprintf(cur->kinds + strlen(cur->kinds),
					         sizeof(cur->kinds) - strlen(cur->kinds), "%s%s",
					         *cur->kinds ? ", " : "", kind);
			}
			break;
		case HCL_T_LBRACE:
			depth++;
			if (want == PROVIDER_LABEL)
				want = NONE;
			break;
		case HCL_T_RBRACE:
			if (--depth == 0)
				cur = NULL;
			break;
		case HCL_T_NEWLINE:
			if (want != HASHES && want != PROVIDER_LABEL)
				want = NONE;
			break;
		case HCL_T_RBRACK: want = NONE; break;
		default: break;
		}
	}
out:
	hcl_lex_free(&lx);
	return rc;
}

bool lockfile_entry_ok(const struct lockfile_entry *e)
{
	size_t la = strnlen(e->addr, sizeof(e->addr)), lv = strnlen(e->version, sizeof(e->version)),
	       lk = strnlen(e->kinds, sizeof(e->kinds));

	return la > 0 && la < sizeof(e->addr) && lv < sizeof(e->version) && lk < sizeof(e->kinds) &&
	       tj_chars_in(e->addr, la, TF_PROVIDER_ADDR_CHARS) &&
	       tj_chars_in(e->version, lv, TF_VERSION_CHARS) &&
	       tj_chars_in(e->kinds, lk,
	                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:, ") &&
	       !strstr(e->addr, "..") && !strstr(e->version, "..") && e->addr[0] != '/';
}

int lockfile_read(int dirfd, const char *workdir, struct lockfile_summary *out, struct tj_error *err)
{
	char rel[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (snprintf(rel, sizeof(rel), "%s%s" LOCKFILE_NAME, workdir && *workdir ? workdir : "",
	             workdir && *workdir ? "/" : "") >= (int)sizeof(rel))
		return 0;
	fd = job_upload_openat(dirfd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return 0;
	if (fd < 0)
		return tj_error_sys(err, "open " LOCKFILE_NAME);
	if (fstat(fd, &st) < 0)
		return tj_error_sys(err, "stat " LOCKFILE_NAME);
	if (!S_ISREG(st.st_mode))
		return 0; /* terraform would not read it either */
	if (tj_read_fd(fd, LOCKFILE_NAME, MAX_LOCK_FILE, &text, &len, err) < 0)
		return -1;
	out->valid = lockfile_parse(text, len, out->e, LOCKFILE_MAX_ENTRIES, &out->n) == 0;
	for (size_t i = 0; out->valid && i < out->n; i++)
		out->valid = lockfile_entry_ok(&out->e[i]);
	if (!out->valid)
		out->n = 0;
	return 1;
}

bool lockfile_in_use(const struct job *j)
{
	return j->policy->providers.lock_file == TJ_LOCK_FILE_HONOR && j->lock;
}

/* The versions of addr in the mirror's unpacked layout for this platform,
 * ", "-separated, or "none". */
static void mirror_versions(const struct job_tools *tools, const char *addr, char *out, size_t len)
{
	char dir[PATH_MAX];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	snprintf(out, len, "none");
	if (strstr(addr, "..") ||
	    snprintf(dir, sizeof(dir), "%s/%s", tools->plugin_dir, addr) >= (int)sizeof(dir) ||
	    !(d = opendir(dir)))
		return;
	out[0] = '\0';
	while ((de = readdir(d))) {
		char platform[PATH_MAX + 300];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(platform, sizeof(platform), "%s/%s/" MIRROR_PLATFORM, dir, de->d_name);
		if (stat(platform, &st) == 0 && S_ISDIR(st.st_mode) &&
		    strlen(out) + strlen(de->d_name) + 3 < len)
			snprintf(out + strlen(out), len - strlen(out), "%s%s", *out ? ", " : "", de->d_name);
	}
	if (!out[0])
		snprintf(out, len, "none");
}

static bool mirror_has(const struct job_tools *tools, const struct lockfile_entry *e)
{
	char dir[PATH_MAX];
	struct stat st;

	return !strstr(e->addr, "..") && !strstr(e->version, "..") &&
	       snprintf(dir, sizeof(dir), "%s/%s/%s/" MIRROR_PLATFORM, tools->plugin_dir, e->addr,
	                e->version) < (int)sizeof(dir) &&
	       stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* terraform wraps its messages at 78 columns: one line, single spaces. */
static void unwrap(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		char c = in[i] == '\n' ? ' ' : in[i];
		if (c == ' ' && o > 0 && out[o - 1] == ' ')
			continue;
		out[o++] = c;
	}
	out[o] = '\0';
}

#define LOCK_FIX                                                                                             \
	"update the lock file against the provider mirror (terraform providers lock -fs-mirror=MIRROR "      \
	"-platform=" MIRROR_PLATFORM "), or use a policy with providers.lock_file \"ignore\""

bool lockfile_explain_failure(struct job *j, const struct job_tools *tools, const struct sandbox_result *init)
{
	char versions[256];
	_cleanup_free_ char *flat = NULL;
	const struct lockfile_entry *e;
	size_t n;
	const char *mismatch;

	/* what the sandbox's scan worker read of the lock file (scanbox.h) */
	if (!init->err || !lockfile_in_use(j))
		return false;
	if (!j->lock->valid) {
		job_outcome(j, "FAILED", "ValidationError", LOCKFILE_NAME " is not valid HCL: %s", LOCK_FIX);
		return true;
	}
	e = j->lock->e;
	n = j->lock->n;
	/* a locked version the mirror lacks */
	for (size_t i = 0; i < n; i++)
		if (!mirror_has(tools, &e[i])) {
			mirror_versions(tools, e[i].addr, versions, sizeof(versions));
			job_outcome(j, "FAILED", "ValidationError",
			            LOCKFILE_NAME
			            " locks %s %s (checksums %s), which the provider mirror does not have; "
			            "the mirror has %s: %s",
			            e[i].addr, e[i].version, *e[i].kinds ? e[i].kinds : "none", versions,
			            LOCK_FIX);
			return true;
		}
	if (!(flat = malloc(init->err_len + 1)))
		return false;
	unwrap(init->err, init->err_len, flat, init->err_len + 1);
	/* "the local package for ADDR VERSION doesn't match any of the
	 * checksums previously recorded in the dependency lock file" */
	if ((mismatch = strstr(flat, "doesn't match any of the checksums"))) {
		const char *for_ = strstr(flat, "the local package for ");
		for (size_t i = 0; i < n; i++) {
			char needle[400];
			snprintf(needle, sizeof(needle), "%s %s ", e[i].addr, e[i].version);
			if (for_ && for_ < mismatch && strstr(for_, needle) &&
			    strstr(for_, needle) < mismatch) {
				mirror_versions(tools, e[i].addr, versions, sizeof(versions));
				job_outcome(j, "FAILED", "ValidationError",
				            "checksum mismatch: the provider mirror's package of %s %s "
				            "matches none of the "
				            "%s checksums that " LOCKFILE_NAME
				            " records for it; the mirror has %s: %s",
				            e[i].addr, e[i].version, *e[i].kinds ? e[i].kinds : "(no)",
				            versions, LOCK_FIX);
				return true;
			}
		}
		job_outcome(
		    j, "FAILED", "ValidationError",
		    "checksum mismatch: a provider package of the mirror matches none of the checksums that "
		    "the dependency lock file records for it: %s",
		    LOCK_FIX);
		return true;
	}
	if (strstr(flat, "Provider dependency changes detected")) {
		job_outcome(j, "FAILED", "ValidationError",
		            LOCKFILE_NAME
		            " does not lock every provider the configuration requires (it is read-only "
		            "to the job): %s",
		            LOCK_FIX);
		return true;
	}
	return false;
}
