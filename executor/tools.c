/* Finding terraform and the provider mirror on the host, and asking
 * terraform its version (in a sandbox: the binary never runs outside one). */
#include "executor/job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "executor/sandboxpaths.h"
#include "executor/steps.h"

static bool is_executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where one host path comes from, first match wins: the policy key, the
 * host setting, then each directory of a search list. */
struct tool_lookup {
	const char *policy_value; /* e.g. p->mounts.terraform */
	const char *policy_key;   /* "mounts.terraform" */
	const char *host_value;   /* e.g. host->terraform */
	const char *host_key;     /* "terraform" */
	const char *search;       /* colon-separated absolute directories */
	const char *leaf;         /* appended to each directory: "/terraform", or "" */
	bool (*usable)(const char *path);
	const char *missing_pre, *missing_post; /* "<pre><path><post> (<source>)" */
	const char *not_found;                  /* nothing in the search list was usable */
};

static int tool_find(const struct tool_lookup *l, char out[PATH_MAX], struct tj_error *err)
{
	const char *dirs = l->search;
	char buf[PATH_MAX], real[PATH_MAX];

	out[0] = '\0';
	if (l->policy_value && *l->policy_value) {
		if (!l->usable(l->policy_value))
			return tj_error_set(err, ENOENT, "%s%s%s (policy %s)", l->missing_pre,
			                    l->policy_value, l->missing_post, l->policy_key);
		snprintf(out, PATH_MAX, "%s", l->policy_value);
	} else if (l->host_value && *l->host_value) {
		if (!l->usable(l->host_value))
			return tj_error_set(err, ENOENT, "%s%s%s (setting %s)", l->missing_pre, l->host_value,
			                    l->missing_post, l->host_key);
		snprintf(out, PATH_MAX, "%s", l->host_value);
	} else {
		while (*dirs && !out[0]) {
			const char *end = strchr(dirs, ':');
			size_t n = end ? (size_t)(end - dirs) : strlen(dirs);
			if (n > 0 && n < sizeof(buf) - 16) {
				snprintf(buf, sizeof(buf), "%.*s%s", (int)n, dirs, l->leaf);
				if (buf[0] == '/' && l->usable(buf))
					snprintf(out, PATH_MAX, "%s", buf);
			}
			dirs += n + (end ? 1 : 0);
		}
		if (!out[0])
			return tj_error_set(err, ENOENT, "%s", l->not_found);
	}
	/* bind sources must be canonical paths */
	if (realpath(out, real))
		snprintf(out, PATH_MAX, "%s", real);
	return 0;
}

int job_tools_discover(const struct tj_policy *p, const struct job_host *host, struct job_tools *t,
                       struct tj_error *err)
{
	const char *path = getenv("PATH");
	struct tool_lookup terraform = {
	    .policy_value = p ? p->mounts.terraform : NULL,
	    .policy_key = "mounts.terraform",
	    .host_value = host ? host->terraform : NULL,
	    .host_key = "terraform",
	    .search = path && *path ? path : "/usr/local/bin:/usr/bin:/bin",
	    .leaf = "/terraform",
	    .usable = is_executable_file,
	    .missing_pre = "terraform not found at ",
	    .missing_post = "",
	    .not_found = "terraform not found on PATH (install it, or set mounts.terraform in the policy)",
	};
	/* terraform's implied local mirror directories, then the image's */
	struct tool_lookup mirror = {
	    .policy_value = p ? p->mounts.plugin_dir : NULL,
	    .policy_key = "mounts.plugin_dir",
	    .host_value = host ? host->plugin_dir : NULL,
	    .host_key = "plugin_dir",
	    .search = "/usr/local/share/terraform/plugins:/usr/share/terraform/plugins:/opt/tf-plugins",
	    .leaf = "",
	    .usable = is_dir,
	    .missing_pre = "provider mirror ",
	    .missing_post = " not found",
	    .not_found = "no provider mirror found in /usr/local/share/terraform/plugins, "
	                 "/usr/share/terraform/plugins or /opt/tf-plugins (set mounts.plugin_dir "
	                 "in the policy, or the plugin_dir setting)",
	};

	memset(t, 0, sizeof(*t));
	if (tool_find(&terraform, t->terraform, err) < 0 || tool_find(&mirror, t->plugin_dir, err) < 0)
		return -1;
	return 0;
}

int job_terraform_version(struct sandbox_runtime *rt, const struct job_tools *tools, char *out, size_t len,
                          struct tj_error *err)
{
	struct sandbox_bind binds[] = {{tools->terraform, SB_TERRAFORM}};
	struct sandbox_config cfg = {
	    .binds = binds, .n_binds = 1, .memory_bytes = 256ull << 20, .pids = 64, .cpus = 1};
	char *envp[] = {"PATH=/usr/local/bin",          "HOME=/tmp", "TMPDIR=/tmp", "CHECKPOINT_DISABLE=1",
	                "TF_CLI_CONFIG_FILE=/dev/null", NULL};
	struct sandbox *sb = NULL;
	struct tj_error fail;
	enum sandbox_setup_step fail_step;
	enum sandbox_status status;
	int exit_code, rc = -1;
	_cleanup_cjson_ cJSON *doc = NULL;
	const char *v;

	if (sandbox_create(rt, &cfg, &sb, &fail_step, &fail) < 0)
		return tj_error_set(err, fail.errnum, "sandbox setup failed at %s: %s",
		                    sandbox_setup_step_name(fail_step), fail.msg);
	doc = step_version_json(sb, envp, NULL, 30000, &status, &exit_code);
	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "terraform_version"));
	if (v && *v && strlen(v) < len) {
		snprintf(out, len, "%s", v);
		rc = 0;
	} else {
		tj_error_set(err, EINVAL, "%s version -json did not report a version (%s, exit code %d)",
		             tools->terraform, sandbox_status_name(status), exit_code);
	}
	sandbox_destroy(sb, NULL);
	return rc;
}
