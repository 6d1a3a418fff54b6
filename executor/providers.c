/* One provider process per job, reattached by plan and show. */
#include "executor/providers.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/sandboxpaths.h"
#include "executor/steps.h"
#include "runtime/helper.h"

#define REATTACH_MARK "TF_REATTACH_PROVIDERS='"

static bool addr_part_ok(const char *s, size_t n)
{
	return n > 0 && n <= 64 && !(n <= 2 && s[0] == '.') &&
	       tj_chars_in(s, n, "abcdefghijklmnopqrstuvwxyz0123456789-._");
}

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* "host/namespace/type" and a version, as init locked them: the binary in
 * the mirror's unpacked layout, or -1. */
static int find_provider_binary(const struct job_tools *tools, const char *addr, const char *version,
                                char *host_path, size_t host_len, char *sb_path, size_t sb_len)
{
	const char *type, *p = addr;
	char dir[PATH_MAX], prefix[96];
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int parts = 0;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!addr_part_ok(p, n))
			return -1;
		parts++;
		p += n + (e ? 1 : 0);
	}
	if (parts != 3 || !addr_part_ok(version, strlen(version)))
		return -1;
	type = strrchr(addr, '/') + 1;
	snprintf(dir, sizeof(dir), "%s/%s/%s/" MIRROR_PLATFORM, tools->plugin_dir, addr, version);
	snprintf(prefix, sizeof(prefix), "terraform-provider-%s", type);
	if (!(d = opendir(dir)))
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(host_path, host_len, "%s/%s", dir, de->d_name);
		snprintf(sb_path, sb_len, SB_PLUGINS "/%s/%s/" MIRROR_PLATFORM "/%s", addr, version,
		         de->d_name);
		return is_executable_file(host_path) ? 0 : -1;
	}
	return -1;
}

/* Reads a provider's stdout until it prints its reattach configuration. */
/* Reads a provider's stdout until its reattach line; returns the JSON text
 * between the quotes (in buf), unparsed, or NULL. */
static const char *read_reattach_line(int fd, uint64_t deadline, char *buf, size_t size)
{
	size_t len = 0;

	while (len < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = tj_now_ms();
		char *mark, *end;
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) != 1)
			return NULL;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if ((mark = strstr(buf, REATTACH_MARK)) &&
		    (end = strchr(mark + strlen(REATTACH_MARK), '\''))) {
			*end = '\0';
			return mark + strlen(REATTACH_MARK);
		}
	}
	return NULL;
}

/* In the parsing helper (runtime/helper.h): the provider's handshake in,
 * its own entry out ({"Protocol":...}), or nothing. */
struct handshake {
	const char *text;
	const char *addr;
};

static int handshake_entry(void *ctx, int fd)
{
	const struct handshake *h = ctx;
	_cleanup_cjson_ cJSON *conf = cJSON_Parse(h->text);
	const cJSON *entry = cJSON_GetObjectItemCaseSensitive(conf, h->addr);
	_cleanup_free_ char *text = cJSON_IsObject(entry) ? cJSON_PrintUnformatted(entry) : NULL;

	return text && tj_write_all(fd, text, strlen(text)) >= 0 ? 0 : -1;
}

/* The entry, checked: one JSON object, at most 8 KiB; NULL otherwise. */
static cJSON *handshake_check(const struct sandbox *sb, const char *text, const char *addr)
{
	struct handshake h = {text, addr};
	_cleanup_free_ char *answer = NULL;
	struct tj_error err;
	size_t len;
	const char *p;

	if (sandbox_helper_run(sb, handshake_entry, &h, 8192, 10000, &answer, &len, &err) < 0 ||
	    !tj_json_valid(answer, len, 16))
		return NULL;
	for (p = answer; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		;
	return *p == '{' ? cJSON_CreateRaw(answer) : NULL;
}

/* Starts each provider init selected once, in the job's sandbox, in debug
 * mode, so that plan and show attach to it instead of starting (and
 * re-hashing) the 700 MB binary several times.  Never shared between jobs;
 * the variable comes only from here. */
void providers_start(struct job *j, struct sandbox *sb, const struct job_tools *tools, char *const envp[],
                     const char *cwd, struct providers *ra)
{
	struct tj_error err;
	const cJSON *sel, *item;
	_cleanup_cjson_ cJSON *doc = NULL;
	uint64_t t0 = tj_now_ms();
	_cleanup_close_ int devnull = -1;
	int exit_code;
	enum sandbox_status status;
	struct sandbox_cmd cmd = {.envp = envp, .cwd = cwd, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	/* none of this may stretch the job past its own deadline */
	uint64_t limit = j->deadline > t0 + 1000 ? j->deadline - 1000 : t0;

	doc = step_version_json(sb, envp, cwd, limit - t0 < 30000 ? (limit > t0 ? limit - t0 : 1) : 30000,
	                        &status, &exit_code);
	sel = cJSON_GetObjectItemCaseSensitive(doc, "provider_selections");
	if (!cJSON_IsObject(sel) || cJSON_GetArraySize(sel) == 0 || cJSON_GetArraySize(sel) > PROVIDERS_MAX)
		return;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	ra->config = cJSON_CreateObject();
	if (devnull < 0 || !ra->config)
		goto fail;
	cJSON_ArrayForEach (item, sel) {
		char host_path[PATH_MAX], sb_path[PATH_MAX], addr[256];
		const char *a = item->string;
		const char *ver = cJSON_GetStringValue(item);
		int p[2];
		char line[8192];
		const char *conf;
		cJSON *entry;
		char *argv[] = {sb_path, "-debug", NULL};

		/* "registry.terraform.io/hashicorp/aws" */
		if (!a || !ver || strlen(a) >= sizeof(addr))
			goto fail;
		snprintf(addr, sizeof(addr), "%s", a);
		if (find_provider_binary(tools, addr, ver, host_path, sizeof(host_path), sb_path,
		                         sizeof(sb_path)) < 0)
			goto fail;
		if (pipe2(p, O_CLOEXEC) < 0)
			goto fail;
		cmd.argv = argv;
		cmd.stdout_fd = p[1];
		cmd.stderr_fd = devnull;
		if (sandbox_spawn(sb, &cmd, &err) < 0) {
			close(p[0]);
			close(p[1]);
			goto fail;
		}
		close(p[1]);
		ra->fds[ra->n++] = p[0];
		conf = read_reattach_line(p[0], tj_now_ms() + 60000 < limit ? tj_now_ms() + 60000 : limit,
		                          line, sizeof(line));
		if (!conf || !(entry = handshake_check(sb, conf, addr)))
			goto fail;
		cJSON_AddItemToObject(ra->config, addr, entry);
	}
	step_add_done(j, "providers", tj_now_ms() - t0);
	return;
fail:
	/* what started stays until the sandbox goes; terraform starts its own */
	cJSON_Delete(ra->config);
	ra->config = NULL;
}

char *providers_env(const struct providers *p)
{
	_cleanup_free_ char *text = NULL;
	char *env = NULL;

	if (!p->config || !(text = cJSON_PrintUnformatted(p->config)))
		return NULL;
	if (asprintf(&env, "TF_REATTACH_PROVIDERS=%s", text) < 0)
		return NULL;
	return env;
}

void providers_release(struct providers *p)
{
	for (size_t i = 0; i < p->n; i++)
		close(p->fds[i]);
	p->n = 0;
	cJSON_Delete(p->config);
	p->config = NULL;
}
