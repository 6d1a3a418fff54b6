/* Policy files: load, validate, fill defaults, print.
 *
 * Every scalar and list key is one row of `fields` below: its JSON path, its
 * kind, where it lands and its default (as JSON text, applied through the same
 * code path as a value read from a file).  The sections "rules" and
 * "suppressions" have their own shape and are handled after the table. */
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "policy/planrules.h"
#include "policy/policy_load.h"
#include "policy/rules.h"

#define TJ_POLICY_MAX_BYTES (1u << 20)
#define TJ_POLICY_VERSION   1
#define MAX_LIST            1024
#define MAX_STR             4096

/* Every rule, static and plan: `tfjail rules`, `policy show` and the rule
 * table of docs/policy.md are printed from here. */

static const struct tj_rule_info rule_table[TJ_RULE__COUNT] = {
    [TJ_RULE_PROVISIONER_BLOCKED] =
        {
            .id = "provisioner-blocked",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "Provisioners run commands or copy files on the machine that applies the plan, "
                         "which a plan-only service never needs.",
            .finds = "a provisioner of a type in `provisioners.denied`",
            .example =
                "resource \"terraform_data\" \"x\" { provisioner \"local-exec\" { command = \"id\" } }",
        },
    [TJ_RULE_BACKEND_BLOCKED] =
        {
            .id = "backend-blocked",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "A backend block makes terraform read and lock remote state with credentials, which "
                         "a sandboxed plan must never do.",
            .finds = "a `backend` block in `terraform {}`",
            .example = "terraform { backend \"s3\" {} }",
        },
    [TJ_RULE_CLOUD_BLOCKED] =
        {
            .id = "cloud-blocked",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "A cloud block sends the run and its state to HCP Terraform, outside the sandbox.",
            .finds = "a `cloud` block in `terraform {}`",
            .example = "terraform { cloud { organization = \"example\" } }",
        },
    [TJ_RULE_PROVIDER_NOT_ALLOWED] =
        {
            .id = "provider-not-allowed",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "A provider is a program that runs during validate and plan, so only approved "
                         "source addresses may be used.",
            .finds = "a provider required or used whose source address is not in `providers.allowed`, or an "
                     "invalid address",
            .example = "terraform { required_providers { ext = { source = \"hashicorp/external\" } } }",
        },
    [TJ_RULE_DATA_SOURCE_BLOCKED] =
        {
            .id = "data-source-blocked",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "These data sources run programs, make network requests or read foreign state while "
                         "the plan is computed.",
            .finds = "a data block of a type in `data_sources.denied`, also inside `check` blocks",
            .example = "data \"external\" \"x\" { program = [\"id\"] }",
        },
    [TJ_RULE_MODULE_SOURCE_NOT_ALLOWED] =
        {
            .id = "module-source-not-allowed",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "Remote module sources are fetched at init by code with a history of "
                         "vulnerabilities, and local paths outside the upload read the host.",
            .finds =
                "a module source that is neither a local path inside the upload (when `modules.allow_local`) "
                "nor matched by `modules.allowed_sources`; a local path that leaves the upload",
            .example = "module \"m\" { source = \"git::https://example.com/m.git\" }",
        },
    [TJ_RULE_OVERRIDE_TERRAFORM_BLOCK] =
        {
            .id = "override-terraform-block",
            .stage = TJ_STAGE_STATIC,
            .mandatory = false,
            .rationale = "An override file merges last and can replace the terraform block's settings that "
                         "the runner relies on.",
            .finds = "a `terraform` block in an override file (`override.tf`, `*_override.tf`, and their "
                     "`.tf.json` forms)",
            .example = "override.tf: terraform { required_version = \">= 0\" }",
        },
    [TJ_RULE_SOURCE_NOT_LITERAL] =
        {
            .id = "source-not-literal",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale = "A provider or module source built from an expression can hide a forbidden address "
                         "from any static check.",
            .finds = "a provider `source` or module `source` that is not one literal string",
            .example = "module \"m\" { source = \"./m${\"\"}\" }",
        },
    [TJ_RULE_UPLOAD_LIMIT] =
        {
            .id = "upload-limit",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale = "An upload beyond the size, count, depth or complexity limits could exhaust the "
                         "scanner or the sandbox.",
            .finds = "an upload or scanner limit exceeded (`upload.*`, `scan.*`)",
            .example = "a 9 MiB main.tf under \"upload\": {\"max_file_size\": \"8MiB\"}",
        },
    [TJ_RULE_UPLOAD_SYMLINK] =
        {
            .id = "upload-symlink",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale = "A symbolic link that leaves the upload would let terraform read files of the host.",
            .finds = "a symbolic link whose target leaves the upload (or loops), anywhere in the upload, or "
                     "on the way to a module directory",
            .example = "ln -s /etc/shadow secrets.tf",
        },
    [TJ_RULE_UPLOAD_SPECIAL_FILE] =
        {
            .id = "upload-special-file",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale = "Device nodes, FIFOs and sockets have no place in a Terraform configuration and can "
                         "block readers.",
            .finds = "a FIFO, socket or device node in the upload",
            .example = "mkfifo main.tf",
        },
    [TJ_RULE_PARSE_ERROR] =
        {
            .id = "parse-error",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale =
                "A file the scanner cannot parse cannot be checked, so it is refused rather than trusted.",
            .finds = "a `.tf` or `.tf.json` file the scanner cannot parse (terraform would refuse it too)",
            .example = "resource \"terraform_data\" \"x\" {",
        },
    [TJ_RULE_NO_CONFIGURATION] =
        {
            .id = "no-configuration",
            .stage = TJ_STAGE_STATIC,
            .mandatory = true,
            .rationale = "A directory without .tf or .tf.json files has nothing to check, and terraform refuses "
                         "to plan it.",
            .finds = "no `.tf` or `.tf.json` file in the directory the job runs in (the upload's root, or "
                     "`--workdir`); `scan` and `plan` both refuse it",
            .example = "an upload with only README.md",
        },
    [TJ_RULE_PLAN_RESOURCE_TYPE_DENIED] =
        {
            .id = "plan-resource-type-denied",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale = "Some resource types are never acceptable, whatever the code around them looks "
                         "like, and the plan shows every one, those of remote modules included.",
            .finds = "a resource change whose type matches `plan_rules.resource_types.denied`",
            .example = "resource \"aws_iam_access_key\" \"k\" { user = \"ci\" } under \"resource_types\": "
                       "{\"denied\": [\"aws_iam_access_key\"]}",
        },
    [TJ_RULE_PLAN_RESOURCE_TYPE_NOT_ALLOWED] =
        {
            .id = "plan-resource-type-not-allowed",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale = "An allowlist of resource types keeps a job to the infrastructure its team owns.",
            .finds = "a resource change whose type matches none of `plan_rules.resource_types.allowed` (when "
                     "the list is given)",
            .example =
                "resource \"aws_instance\" \"x\" {} under \"resource_types\": {\"allowed\": [\"aws_s3_*\"]}",
        },
    [TJ_RULE_PLAN_ACTION_DENIED] =
        {
            .id = "plan-action-denied",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale = "Deleting or replacing stateful resources loses data, and the plan says which "
                         "changes a run would make.",
            .finds = "a resource change with an action in `plan_rules.actions[].denied` on a type matching "
                     "its `types`",
            .example = "a replaced aws_db_instance under \"actions\": [{\"types\": [\"aws_db_*\"], "
                       "\"denied\": [\"delete\", \"replace\"]}]",
        },
    [TJ_RULE_PLAN_TAG_MISSING] =
        {
            .id = "plan-tag-missing",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale = "Untagged resources cannot be attributed to an owner or a cost centre.",
            .finds = "a created or updated resource with a `tags` attribute that lacks a key of "
                     "`plan_rules.required_tags.keys` (keys in `tags_all`, from the provider's default_tags, "
                     "count)",
            .example = "resource \"aws_s3_bucket\" \"b\" {} under \"required_tags\": {\"keys\": [\"owner\"]}",
        },
    [TJ_RULE_PLAN_CHANGE_LIMIT] =
        {
            .id = "plan-change-limit",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale = "A run that changes more than expected is more often a mistake than an intent, and "
                         "a large blast radius deserves a human review.",
            .finds = "more resource changes of an action than `plan_rules.max_changes` allows (`total` "
                     "counts every change but no-op)",
            .example = "three resources to create under \"max_changes\": {\"create\": 2}",
        },
    [TJ_RULE_PLAN_DATA_SOURCE_DENIED] =
        {
            .id = "plan-data-source-denied",
            .stage = TJ_STAGE_PLAN,
            .mandatory = false,
            .rationale =
                "Data sources read outside information while the plan is computed, and the plan's "
                "configuration shows those of remote modules too, which the static scan cannot read.",
            .finds = "a data source in the plan's configuration (any module) whose type matches "
                     "`plan_rules.data_sources.denied`",
            .example = "data \"aws_iam_policy_document\" \"p\" {} under \"data_sources\": {\"denied\": "
                       "[\"aws_iam_*\"]}",
        },
};

const struct tj_rule_info *tj_rule_info(enum tj_rule r)
{
	return (unsigned)r < TJ_RULE__COUNT ? &rule_table[r] : NULL;
}

int tj_rule_by_id(const char *id)
{
	for (int i = 0; i < TJ_RULE__COUNT; i++)
		if (strcmp(rule_table[i].id, id) == 0)
			return i;
	return -1;
}

const char *tj_severity_name(enum tj_severity s)
{
	switch (s) {
	case TJ_SEV_ERROR: return "error";
	case TJ_SEV_WARNING: return "warning";
	default: return "off";
	}
}

/* ---- provider addresses ---- */

static bool addr_part_ok(const char *s, size_t n, bool host)
{
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '-' || (host && (c == '.' || c == ':')) || (!host && c == '_'))
			continue;
		return false;
	}
	return true;
}

int tj_provider_normalize(const char *src, char *out, size_t outlen)
{
	const char *part[4];
	size_t len[4], n = 0;
	const char *p = src;
	char host[300];

	if (!src || !*src)
		return -1;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (n == 3)
			return -1;
		part[n] = p;
		len[n] = slash ? (size_t)(slash - p) : strlen(p);
		n++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n == 1) {
		if (len[0] == 9 && strncasecmp(part[0], "terraform", 9) == 0)
			return snprintf(out, outlen, "terraform.io/builtin/terraform") < (int)outlen ? 0 : -1;
		part[2] = part[0], len[2] = len[0];
		part[1] = "hashicorp", len[1] = 9;
		part[0] = "registry.terraform.io", len[0] = 21;
	} else if (n == 2) {
		part[2] = part[1], len[2] = len[1];
		part[1] = part[0], len[1] = len[0];
		part[0] = "registry.terraform.io", len[0] = 21;
	}
	if (!addr_part_ok(part[0], len[0], true) || !addr_part_ok(part[1], len[1], false) ||
	    !addr_part_ok(part[2], len[2], false))
		return -1;
	/* svchost drops the default https port when comparing hostnames */
	if (len[0] > 4 && memcmp(part[0] + len[0] - 4, ":443", 4) == 0)
		len[0] -= 4;
	snprintf(host, sizeof(host), "%.*s", (int)len[0], part[0]);
	if (snprintf(out, outlen, "%s/%.*s/%.*s", host, (int)len[1], part[1], (int)len[2], part[2]) >=
	    (int)outlen)
		return -1;
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return 0;
}

bool tj_policy_provider_allowed(const struct tj_policy *p, const char *source)
{
	char norm[600];

	if (!p || !p->rules || tj_provider_normalize(source, norm, sizeof(norm)) < 0)
		return false;
	for (size_t i = 0; i < p->rules->n_providers; i++)
		if (strcmp(p->rules->providers[i], norm) == 0)
			return true;
	return false;
}

/* ---- the field table ---- */

enum pf_kind {
	PF_SIZE, /* integer bytes or "1536MiB" */
	PF_U64,  /* integer */
	PF_CPUS, /* number > 0 */
	PF_NAME, /* [A-Za-z0-9._-]{1,128} */
	PF_STR,  /* free text */
	PF_PATH, /* "" or an absolute path */
	PF_BOOL,
	PF_LIST,     /* list of non-empty strings */
	PF_PROVIDERS,/* list of provider addresses, normalised */
	PF_BINDS,    /* list of "SRC[:DST]", absolute paths */
	PF_SYSCALLS, /* list of syscall names */
	PF_GLOBS,    /* list of fnmatch globs */
	PF_CHOICE,   /* one string of choices, stored as its index (an enum) */
	PF_INFO,     /* informational, written by `policy show`, ignored on load */
};

enum pf_base { B_POLICY, B_RULES };

struct pfield {
	const char *path; /* "section.key" or "key" */
	enum pf_kind kind;
	enum pf_base base;
	size_t off;   /* scalar, string or list pointer */
	size_t off_n; /* list count */
	uint64_t min, max;
	const char *dflt; /* JSON text; NULL = required */
};

/* The strings of each PF_CHOICE field, in its enum's order. */
static const char *const lock_file_choices[] = {[TJ_LOCK_FILE_HONOR] = "honor", [TJ_LOCK_FILE_IGNORE] = "ignore",
						NULL};
static const struct {
	const char *path;
	const char *const *choices;
} choice_table[] = {
	{"providers.lock_file", lock_file_choices},
};

static const char *const *choices_of(const struct pfield *f)
{
	for (size_t i = 0; i < sizeof(choice_table) / sizeof(choice_table[0]); i++)
		if (strcmp(choice_table[i].path, f->path) == 0)
			return choice_table[i].choices;
	return NULL;
}

#define P(f) B_POLICY, offsetof(struct tj_policy, f)
#define R(f) B_RULES, offsetof(struct tj_policy_rules, f)
#define KiB  (1ull << 10)
#define MiB  (1ull << 20)
#define GiB  (1ull << 30)
#define TiB  (1ull << 40)

/* clang-format off */
static const struct pfield fields[] = {
	{"name", PF_NAME, P(name), 0, 0, 0, NULL},
	{"description", PF_STR, R(description), 0, 0, 0, "\"\""},

	{"providers.allowed", PF_PROVIDERS, R(providers), offsetof(struct tj_policy_rules, n_providers), 0, MAX_LIST,
	 "[\"registry.terraform.io/hashicorp/aws\", \"terraform.io/builtin/terraform\"]"},
	{"providers.lock_file", PF_CHOICE, P(providers.lock_file), 0, 0, 0, "\"honor\""},
	{"data_sources.denied", PF_LIST, R(denied_data_sources),
	 offsetof(struct tj_policy_rules, n_denied_data_sources), 0, MAX_LIST,
	 "[\"external\", \"http\", \"terraform_remote_state\"]"},
	{"provisioners.denied", PF_LIST, R(denied_provisioners),
	 offsetof(struct tj_policy_rules, n_denied_provisioners), 0, MAX_LIST,
	 "[\"local-exec\", \"remote-exec\", \"file\"]"},
	{"modules.allow_local", PF_BOOL, R(modules_allow_local), 0, 0, 1, "true"},
	{"modules.allowed_sources", PF_GLOBS, R(module_sources), offsetof(struct tj_policy_rules, n_module_sources),
	 0, MAX_LIST, "[]"},
	{"modules.mirror", PF_PATH, P(module_mirror), 0, 0, 0, "\"\""},
	{"modules.mirror_contents", PF_INFO, B_RULES, 0, 0, 0, 0, NULL},

	{"upload.max_files", PF_U64, P(upload.max_files), 0, 1, 1000000, "1000"},
	{"upload.max_total_size", PF_SIZE, P(upload.max_total_bytes), 0, 1, TiB, "\"64MiB\""},
	{"upload.max_file_size", PF_SIZE, P(upload.max_file_bytes), 0, 1, GiB, "\"8MiB\""},
	{"upload.max_depth", PF_U64, P(upload.max_depth), 0, 1, 256, "16"},

	{"scan.max_nesting", PF_U64, R(max_nesting), 0, 8, 10000, "128"},
	{"scan.max_tokens", PF_U64, R(max_tokens), 0, 1000, 1000000000, "2000000"},
	{"scan.max_module_depth", PF_U64, R(max_module_depth), 0, 1, 256, "16"},

	{"limits.memory", PF_SIZE, P(limits.memory_bytes), 0, 64 * MiB, TiB, "\"1536MiB\""},
	{"limits.cpus", PF_CPUS, P(limits.cpus), 0, 0, 1024, "2"},
	{"limits.pids", PF_U64, P(limits.pids), 0, 16, 1 << 22, "512"},
	{"limits.workspace_size", PF_SIZE, P(limits.workspace_bytes), 0, 1 * MiB, TiB, "\"256MiB\""},
	{"limits.tmp_size", PF_SIZE, P(limits.tmp_bytes), 0, 1 * MiB, TiB, "\"256MiB\""},
	{"limits.step_timeout", PF_U64, P(limits.step_timeout_s), 0, 1, 86400, "300"},
	{"limits.job_timeout", PF_U64, P(limits.job_timeout_s), 0, 1, 86400, "600"},
	{"limits.output_size", PF_SIZE, P(limits.output_bytes), 0, 4 * KiB, GiB, "\"16MiB\""},
	{"limits.nofile", PF_U64, P(limits.nofile), 0, 64, 1 << 20, "4096"},

	{"seccomp.profile", PF_NAME, P(seccomp.profile), 0, 0, 0, "\"default\""},
	{"seccomp.deny", PF_SYSCALLS, P(seccomp.deny), offsetof(struct tj_policy, seccomp.n_deny), 0, MAX_LIST, "[]"},

	{"mounts.terraform", PF_PATH, P(mounts.terraform), 0, 0, 0, "\"\""},
	{"mounts.plugin_dir", PF_PATH, P(mounts.plugin_dir), 0, 0, 0, "\"\""},
	{"mounts.ro_binds", PF_BINDS, P(mounts.ro_binds), offsetof(struct tj_policy, mounts.n_ro_binds), 0, 64, "[]"},
};

/* clang-format on */

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static void *field_ptr(struct tj_policy *p, const struct pfield *f, size_t off)
{
	char *base = f->base == B_POLICY ? (char *)p : (char *)p->rules;
	return base + off;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* ---- value parsing ---- */

static int add_issue(struct policy_errors *pe, bool warning, const char *path, const char *why)
{
	struct tj_policy_issues *is = pe->issues;
	struct tj_policy_issue *v;

	if (!is)
		return 0;
	v = realloc(is->v, (is->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	is->v = v;
	v[is->n] = (struct tj_policy_issue){warning, strdup(path), strdup(why)};
	if (!v[is->n].path || !v[is->n].message) {
		free(v[is->n].path);
		free(v[is->n].message);
		return -1;
	}
	is->n++;
	if (!warning)
		is->n_errors++;
	return 0;
}

int policy_bad(struct policy_errors *pe, const char *path, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!pe->failed)
		tj_error_set(pe->err, EINVAL, "%s: %s: %s", pe->label, path, why);
	pe->failed = true;
	if (add_issue(pe, false, path, why) < 0)
		return policy_oom(pe);
	return -1;
}

void policy_warn(struct policy_errors *pe, const char *path, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (add_issue(pe, true, path, why) < 0)
		policy_oom(pe);
}

int policy_oom(struct policy_errors *pe)
{
	pe->fatal = pe->failed = true;
	return tj_error_set(pe->err, ENOMEM, "%s: out of memory", pe->label);
}

bool policy_go_on(const struct policy_errors *pe)
{
	return pe->issues && !pe->fatal;
}

const char *policy_json_type(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

static bool is_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

bool policy_printable(const char *s)
{
	return *s && strlen(s) <= MAX_STR && !has_ctrl(s);
}

static bool is_abs_path(const char *s)
{
	return s[0] == '/' && strlen(s) < 4096 && !has_ctrl(s) && !strchr(s, ':');
}

static int get_u64(const cJSON *v, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0) || d != floor(d) || d > 9007199254740992.0) /* 2^53 */
		return -1;
	*out = (uint64_t)d;
	return 0;
}

static int set_list(struct tj_policy *p, const struct pfield *f, const cJSON *v, const char *path,
                    struct policy_errors *pe)
{
	char ***lp = field_ptr(p, f, f->off);
	size_t *np = field_ptr(p, f, f->off_n);
	size_t n = 0, i = 0;
	char **l;
	const cJSON *e;

	if (!cJSON_IsArray(v))
		return policy_bad(pe, path, "must be an array of strings, not %s", policy_json_type(v));
	n = (size_t)cJSON_GetArraySize(v);
	if (n > f->max)
		return policy_bad(pe, path, "at most %" PRIu64 " entries", f->max);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return policy_oom(pe);
	free_list(*lp, *np);
	*lp = l;
	*np = 0;
	cJSON_ArrayForEach (e, v) {
		char norm[600];
		const char *s;
		if (!cJSON_IsString(e))
			return policy_bad(pe, path, "[%zu] must be a string, not %s", i, policy_json_type(e));
		s = e->valuestring;
		if (!*s || strlen(s) > MAX_STR || has_ctrl(s))
			return policy_bad(pe, path, "[%zu] must be a non-empty printable string", i);
		switch (f->kind) {
		case PF_PROVIDERS:
			if (tj_provider_normalize(s, norm, sizeof(norm)) < 0)
				return policy_bad(pe, path,
				                  "[%zu] '%s' is not a provider source address "
				                  "(HOSTNAME/NAMESPACE/TYPE)",
				                  i, s);
			s = norm;
			break;
		case PF_BINDS: {
			_cleanup_free_ char *src = strdup(s);
			char *colon = src ? strchr(src, ':') : NULL;
			if (!src)
				return policy_oom(pe);
			if (colon)
				*colon = '\0';
			if (!is_abs_path(src) || (colon && !is_abs_path(colon + 1)))
				return policy_bad(pe, path,
				                  "[%zu] '%s' must be SRC[:DST] with absolute paths", i, s);
			break;
		}
		case PF_SYSCALLS:
			for (const char *c = s; *c; c++)
				if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
					return policy_bad(pe, path, "[%zu] '%s' is not a syscall name", i, s);
			break;
		default: break;
		}
		for (size_t j = 0; j < *np; j++)
			if (strcmp(l[j], s) == 0)
				return policy_bad(pe, path, "[%zu] '%s' is listed twice", i, s);
		l[*np] = strdup(s);
		if (!l[*np])
			return policy_oom(pe);
		(*np)++;
		i++;
	}
	return 0;
}

static int set_field(struct tj_policy *p, const struct pfield *f, const cJSON *v, struct policy_errors *pe)
{
	const char *path = f->path;
	uint64_t u = 0;

	switch (f->kind) {
	case PF_SIZE:
		if (cJSON_IsString(v)) {
			if (tj_parse_size(v->valuestring, &u) < 0)
				return policy_bad(pe, path,
				                  "'%s' is not a size (bytes, or a number with K/M/G/T, "
				                  "e.g. \"1536MiB\")",
				                  v->valuestring);
		} else if (get_u64(v, &u) < 0) {
			return policy_bad(pe, path,
			                  "must be a size in bytes (integer or string like \"512MiB\"), "
			                  "not %s",
			                  policy_json_type(v));
		}
		goto range;
	case PF_U64:
		if (get_u64(v, &u) < 0)
			return policy_bad(pe, path, "must be a non-negative integer, not %s",
			                  policy_json_type(v));
	range:
		if (u < f->min || u > f->max)
			return policy_bad(pe, path, "%" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]",
			                  u, f->min, f->max);
		*(uint64_t *)field_ptr(p, f, f->off) = u;
		return 0;
	case PF_CPUS:
		if (!cJSON_IsNumber(v))
			return policy_bad(pe, path, "must be a number of CPUs, not %s", policy_json_type(v));
		if (!(v->valuedouble >= 0.01 && v->valuedouble <= (double)f->max))
			return policy_bad(pe, path, "%g is out of range [0.01, %" PRIu64 "]", v->valuedouble,
			                  f->max);
		*(double *)field_ptr(p, f, f->off) = v->valuedouble;
		return 0;
	case PF_INFO:
		return 0;
	case PF_BOOL:
		if (!cJSON_IsBool(v))
			return policy_bad(pe, path, "must be true or false, not %s", policy_json_type(v));
		*(bool *)field_ptr(p, f, f->off) = cJSON_IsTrue(v);
		return 0;
	case PF_CHOICE: {
		const char *const *c = choices_of(f);
		for (size_t i = 0; cJSON_IsString(v) && c[i]; i++)
			if (strcmp(v->valuestring, c[i]) == 0) {
				*(int *)field_ptr(p, f, f->off) = (int)i;
				return 0;
			}
		return policy_bad(pe, path, "must be \"%s\" or \"%s\"", c[0], c[1]);
	}
	case PF_NAME:
	case PF_STR:
	case PF_PATH: {
		char **sp = field_ptr(p, f, f->off);
		const char *s;
		if (!cJSON_IsString(v))
			return policy_bad(pe, path, "must be a string, not %s", policy_json_type(v));
		s = v->valuestring;
		if (f->kind == PF_NAME && !is_name(s))
			return policy_bad(pe, path, "'%s' must be 1-128 characters of [A-Za-z0-9._-]", s);
		if (f->kind == PF_STR && strlen(s) > MAX_STR)
			return policy_bad(pe, path, "longer than %d bytes", MAX_STR);
		if (f->kind == PF_PATH && *s && !is_abs_path(s))
			return policy_bad(pe, path, "'%s' must be an absolute path (or \"\" to discover)", s);
		free(*sp);
		*sp = strdup(s);
		if (!*sp)
			return policy_oom(pe);
		return 0;
	}
	default: return set_list(p, f, v, path, pe);
	}
}

/* ---- rules and suppressions ---- */

static int parse_severity(const cJSON *v, enum tj_severity *out)
{
	if (!cJSON_IsString(v))
		return -1;
	if (strcmp(v->valuestring, "error") == 0)
		*out = TJ_SEV_ERROR;
	else if (strcmp(v->valuestring, "warning") == 0)
		*out = TJ_SEV_WARNING;
	else if (strcmp(v->valuestring, "off") == 0)
		*out = TJ_SEV_OFF;
	else
		return -1;
	return 0;
}

/* One rule's setting: "severity" or {"severity": "severity", "rationale": "..."}. */
static int load_rule(struct tj_policy *p, const cJSON *r, struct policy_errors *pe)
{
	char path[160];
	int id = tj_rule_by_id(r->string);
	const cJSON *k, *sev_item = NULL;
	enum tj_severity sev;

	snprintf(path, sizeof(path), "rules.%.100s", r->string);
	if (id < 0)
		return policy_bad(pe, path, "unknown rule id (see `tfjail rules`)");
	if (cJSON_IsString(r)) {
		sev_item = r;
	} else if (cJSON_IsObject(r)) {
		cJSON_ArrayForEach (k, r) {
			if (strcmp(k->string, "rationale") == 0) {
				/* informational: tfjail prints its own text */
				if (!cJSON_IsString(k))
					return policy_bad(pe, path, "rationale must be a string");
			} else if (strcmp(k->string, "severity") == 0) {
				sev_item = k;
			} else {
				return policy_bad(pe, path,
				                  "unknown key '%.100s' (allowed: severity, rationale)",
				                  k->string);
			}
		}
		if (!sev_item)
			return 0;
	} else {
		return policy_bad(pe, path,
		                  "must be \"error\", \"warning\", \"off\" or {\"severity\": ...}, not %s",
		                  policy_json_type(r));
	}
	if (parse_severity(sev_item, &sev) < 0)
		return policy_bad(pe, path, "severity must be \"error\", \"warning\" or \"off\"");
	if (rule_table[id].mandatory && sev != TJ_SEV_ERROR)
		return policy_bad(
		    pe, path, "this rule cannot be relaxed: without it the scan cannot vouch for the upload");
	p->rules->severity[id] = sev;
	return 0;
}

static int load_rules(struct tj_policy *p, const cJSON *rules, struct policy_errors *pe)
{
	const cJSON *r;
	int rc = 0;

	if (!cJSON_IsObject(rules))
		return policy_bad(pe, "rules",
		                  "must be an object of rule id -> \"error\"|\"warning\"|\"off\", not %s",
		                  policy_json_type(rules));
	cJSON_ArrayForEach (r, rules) {
		int one = 0;
		for (const cJSON *prev = rules->child; prev != r; prev = prev->next)
			if (strcmp(prev->string, r->string) == 0) {
				char path[160];
				snprintf(path, sizeof(path), "rules.%.100s", r->string);
				one = policy_bad(pe, path, "appears twice");
				break;
			}
		if (one == 0)
			one = load_rule(p, r, pe);
		if (one < 0) {
			rc = -1;
			if (!policy_go_on(pe))
				return -1;
		}
	}
	return rc;
}

static int load_suppression(struct tj_policy *p, const cJSON *e, const char *path, struct policy_errors *pe)
{
	struct tj_suppression *s = &p->rules->supp[p->rules->n_supp];
	const cJSON *k, *rule, *glob, *reason;
	int id;

	if (!cJSON_IsObject(e))
		return policy_bad(pe, path, "must be an object {rule, path, reason}, not %s",
		                  policy_json_type(e));
	cJSON_ArrayForEach (k, e)
		if (strcmp(k->string, "rule") && strcmp(k->string, "path") && strcmp(k->string, "reason"))
			return policy_bad(pe, path, "unknown key '%.100s' (allowed: rule, path, reason)",
			                  k->string);
	rule = cJSON_GetObjectItemCaseSensitive(e, "rule");
	glob = cJSON_GetObjectItemCaseSensitive(e, "path");
	reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
	if (!cJSON_IsString(rule))
		return policy_bad(pe, path, "rule must be a rule id string");
	id = tj_rule_by_id(rule->valuestring);
	if (id < 0)
		return policy_bad(pe, path, "unknown rule id '%.100s'", rule->valuestring);
	if (rule_table[id].mandatory)
		return policy_bad(pe, path, "rule '%s' cannot be suppressed", rule_table[id].id);
	if (!cJSON_IsString(glob) || !policy_printable(glob->valuestring))
		return policy_bad(pe, path, "path must be a non-empty glob on the upload-relative path");
	if (!cJSON_IsString(reason) || strlen(reason->valuestring) < 3 ||
	    strlen(reason->valuestring) > MAX_STR)
		return policy_bad(pe, path, "reason must say why (at least 3 characters)");
	if (strcmp(glob->valuestring, "*") == 0)
		policy_warn(pe, path,
		            "path \"*\" suppresses rule '%s' in every file: consider \"severity\": \"off\" "
		            "in rules instead, which says so",
		            rule_table[id].id);
	s->rule = (enum tj_rule)id;
	s->path = strdup(glob->valuestring);
	s->reason = strdup(reason->valuestring);
	p->rules->n_supp++;
	if (!s->path || !s->reason)
		return policy_oom(pe);
	return 0;
}

static int load_suppressions(struct tj_policy *p, const cJSON *arr, struct policy_errors *pe)
{
	const cJSON *e;
	size_t i = 0, n;
	int rc = 0;

	if (!cJSON_IsArray(arr))
		return policy_bad(pe, "suppressions", "must be an array, not %s", policy_json_type(arr));
	n = (size_t)cJSON_GetArraySize(arr);
	if (n > MAX_LIST)
		return policy_bad(pe, "suppressions", "at most %d entries", MAX_LIST);
	free(p->rules->supp);
	p->rules->supp = calloc(n ? n : 1, sizeof(*p->rules->supp));
	if (!p->rules->supp)
		return policy_oom(pe);
	cJSON_ArrayForEach (e, arr) {
		char path[64];
		snprintf(path, sizeof(path), "suppressions[%zu]", i++);
		if (load_suppression(p, e, path, pe) < 0) {
			rc = -1;
			if (!policy_go_on(pe))
				return -1;
		}
	}
	return rc;
}

const struct tj_suppression *tj_policy_suppression(const struct tj_policy_rules *r, enum tj_rule rule,
                                                   const char *file)
{
	for (size_t i = 0; i < r->n_supp; i++)
		if (r->supp[i].rule == rule && fnmatch(r->supp[i].path, file, 0) == 0)
			return &r->supp[i];
	return NULL;
}

/* ---- load ---- */

static const struct pfield *field_by_path(const char *path)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(fields[i].path, path) == 0)
			return &fields[i];
	return NULL;
}

static bool is_section(const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < N_FIELDS; i++)
		if (strncmp(fields[i].path, key, n) == 0 && fields[i].path[n] == '.')
			return true;
	return false;
}

static int apply_defaults(struct tj_policy *p, struct tj_error *err)
{
	struct policy_errors pe = {.label = "built-in default", .err = err};

	plan_rules_init(&p->rules->plan);
	for (size_t i = 0; i < N_FIELDS; i++) {
		cJSON *v;
		int rc;
		if (!fields[i].dflt)
			continue;
		v = cJSON_Parse(fields[i].dflt);
		if (!v)
			return tj_error_set(err, EINVAL, "built-in default of %s is not JSON",
			                    fields[i].path);
		rc = set_field(p, &fields[i], v, &pe);
		cJSON_Delete(v);
		if (rc < 0)
			return -1;
	}
	for (int r = 0; r < TJ_RULE__COUNT; r++)
		p->rules->severity[r] = TJ_SEV_ERROR;
	return 0;
}

static int check_key(struct tj_policy *p, const cJSON *item, const char *prefix, bool *seen,
                     struct policy_errors *pe)
{
	char path[256];
	const struct pfield *f;

	snprintf(path, sizeof(path), "%s%s%.100s", prefix, *prefix ? "." : "", item->string);
	f = field_by_path(path);
	if (!f)
		return policy_bad(pe, path, "unknown key");
	if (seen[f - fields])
		return policy_bad(pe, path, "appears twice");
	seen[f - fields] = true;
	return set_field(p, f, item, pe);
}

static int load_plan_rules(struct tj_policy *p, const cJSON *v, struct policy_errors *pe)
{
	return plan_rules_load(&p->rules->plan, v, pe);
}

/* Top-level keys that are not in the table, with their readers. */
static const struct special_key {
	const char *key;
	int (*load)(struct tj_policy *p, const cJSON *v, struct policy_errors *pe);
} special_keys[] = {
    {"version", NULL},
    {"rules", load_rules},
    {"suppressions", load_suppressions},
    {"plan_rules", load_plan_rules},
};

#define N_SPECIAL (sizeof(special_keys) / sizeof(special_keys[0]))

static bool appears_before(const cJSON *root, const cJSON *item)
{
	for (const cJSON *prev = root->child; prev != item; prev = prev->next)
		if (strcmp(prev->string, item->string) == 0)
			return true;
	return false;
}

/* Likely mistakes that leave the policy valid. */
static void warn_mistakes(const struct tj_policy *p, const cJSON *root, struct policy_errors *pe)
{
	const cJSON *prov = cJSON_GetObjectItemCaseSensitive(root, "providers");

	if (cJSON_GetObjectItemCaseSensitive(prov, "allowed") &&
	    !tj_policy_provider_allowed(p, "terraform.io/builtin/terraform"))
		policy_warn(pe, "providers.allowed",
		            "the built-in provider \"terraform.io/builtin/terraform\" is not listed: "
		            "terraform_data and "
		            "terraform_remote_state become provider-not-allowed");
	if (p->rules->plan.has_types_allowed && p->rules->plan.n_types_allowed == 0)
		policy_warn(pe, "plan_rules.resource_types.allowed", "empty: no resource type is allowed");
}

static int load_json(struct tj_policy *p, const cJSON *root, struct policy_errors *pe)
{
	bool seen[N_FIELDS] = {0};
	const cJSON *item, *v;

	if (!cJSON_IsObject(root))
		return policy_bad(pe, "(top level)", "must be a JSON object, not %s", policy_json_type(root));
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (!v)
		return policy_bad(pe, "version", "missing (this tfjail reads version %d)", TJ_POLICY_VERSION);
	if (!cJSON_IsNumber(v) || v->valuedouble != TJ_POLICY_VERSION)
		return policy_bad(pe, "version", "unsupported (this tfjail reads version %d)",
		                  TJ_POLICY_VERSION);
	p->version = TJ_POLICY_VERSION;

	cJSON_ArrayForEach (item, root) {
		size_t sp;
		int rc = 0;
		for (sp = 0; sp < N_SPECIAL; sp++)
			if (strcmp(item->string, special_keys[sp].key) == 0)
				break;
		if (sp < N_SPECIAL) {
			if (appears_before(root, item))
				rc = policy_bad(pe, item->string, "appears twice");
			else if (special_keys[sp].load)
				rc = special_keys[sp].load(p, item, pe);
		} else if (is_section(item->string)) {
			const cJSON *k;
			if (appears_before(root, item))
				rc = policy_bad(pe, item->string, "appears twice");
			else if (!cJSON_IsObject(item))
				rc = policy_bad(pe, item->string, "must be an object, not %s",
				                policy_json_type(item));
			else
				cJSON_ArrayForEach (k, item)
					if (check_key(p, k, item->string, seen, pe) < 0 && !policy_go_on(pe))
						return -1;
		} else {
			rc = check_key(p, item, "", seen, pe);
		}
		if (rc < 0 && !policy_go_on(pe))
			return -1;
	}
	for (size_t i = 0; i < N_FIELDS; i++)
		if (!fields[i].dflt && fields[i].kind != PF_INFO && !seen[i] && policy_bad(pe, fields[i].path, "missing (required)") < 0 &&
		    !policy_go_on(pe))
			return -1;
	if (pe->fatal)
		return -1;
	/* cross-field checks */
	if (p->limits.job_timeout_s < p->limits.step_timeout_s)
		policy_bad(pe, "limits.job_timeout",
		           "%" PRIu64 " is shorter than limits.step_timeout (%" PRIu64 ")",
		           p->limits.job_timeout_s, p->limits.step_timeout_s);
	if (p->upload.max_file_bytes > p->upload.max_total_bytes)
		policy_bad(pe, "upload.max_file_size", "larger than upload.max_total_size");
	if (p->upload.max_total_bytes > p->limits.workspace_bytes)
		policy_bad(pe, "upload.max_total_size",
		           "larger than limits.workspace_size: the upload "
		           "could not be copied into the workspace");
	if (pe->issues && !pe->fatal)
		warn_mistakes(p, root, pe);
	return pe->failed ? -1 : 0;
}

static int load_text(const char *text, size_t len, const char *label, struct tj_policy **out,
                     struct tj_policy_issues *issues, struct tj_error *err)
{
	struct policy_errors pe = {.label = label, .err = err, .issues = issues};
	struct tj_policy *p;
	cJSON *root;
	const char *end = NULL;
	int rc;

	if (len > TJ_POLICY_MAX_BYTES)
		return tj_error_set(err, EFBIG, "%s: larger than %u bytes", label, TJ_POLICY_MAX_BYTES);
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!root) {
		int line = 1, col = 1;
		const char *at = end ? end : cJSON_GetErrorPtr();
		if (at && at >= text && at <= text + len)
			for (const char *c = text; c < at; c++, col++)
				if (*c == '\n')
					line++, col = 0;
		if (!issues)
			return tj_error_set(err, EINVAL, "%s: line %d, column %d: not valid JSON", label,
			                    line, col);
		return policy_bad(&pe, "(top level)", "line %d, column %d: not valid JSON", line, col) < 0 &&
		               pe.fatal
		           ? -1
		           : 0;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->rules = calloc(1, sizeof(*p->rules)))) {
		cJSON_Delete(root);
		free(p);
		return tj_error_set(err, ENOMEM, "%s: out of memory", label);
	}
	rc = apply_defaults(p, err);
	if (rc == 0)
		rc = load_json(p, root, &pe);
	cJSON_Delete(root);
	if (rc < 0 || !out) {
		tj_policy_free(p);
		return pe.fatal || !issues ? -1 : 0;
	}
	tj_sha256_hex(text, len, p->sha256);
	*out = p;
	return 0;
}

int tj_policy_load_text(const char *text, size_t len, const char *label, struct tj_policy **out,
                        struct tj_error *err)
{
	return load_text(text, len, label, out, NULL, err);
}

int tj_policy_check_text(const char *text, size_t len, const char *label, struct tj_policy_issues *out,
                         struct tj_error *err)
{
	memset(out, 0, sizeof(*out));
	if (load_text(text, len, label, NULL, out, err) < 0) {
		tj_policy_issues_free(out);
		return -1;
	}
	return 0;
}

void tj_policy_issues_free(struct tj_policy_issues *is)
{
	for (size_t i = 0; i < is->n; i++) {
		free(is->v[i].path);
		free(is->v[i].message);
	}
	free(is->v);
	memset(is, 0, sizeof(*is));
}

int tj_policy_load(const char *path, struct tj_policy **out, struct tj_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (!path) {
		const char *t = tj_policy_default_text();
		return tj_policy_load_text(t, strlen(t), "built-in default policy", out, err);
	}
	if (tj_read_file(path, TJ_POLICY_MAX_BYTES, &text, &len, err) < 0)
		return tj_error_prefix(err, "policy");
	if (tj_policy_load_text(text, len, path, out, err) < 0)
		return -1;
	(*out)->path = strdup(path);
	if (!(*out)->path) {
		tj_policy_free(*out);
		*out = NULL;
		return tj_error_set(err, ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

void tj_policy_free(struct tj_policy *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->name);
	free(p->module_mirror);
	free(p->mounts.terraform);
	free(p->mounts.plugin_dir);
	free_list(p->mounts.ro_binds, p->mounts.n_ro_binds);
	free(p->seccomp.profile);
	free_list(p->seccomp.deny, p->seccomp.n_deny);
	if (p->rules) {
		struct tj_policy_rules *r = p->rules;
		free(r->description);
		free_list(r->providers, r->n_providers);
		free_list(r->denied_data_sources, r->n_denied_data_sources);
		free_list(r->denied_provisioners, r->n_denied_provisioners);
		free_list(r->module_sources, r->n_module_sources);
		for (size_t i = 0; i < r->n_supp; i++) {
			free(r->supp[i].path);
			free(r->supp[i].reason);
		}
		free(r->supp);
		plan_rules_free(&r->plan);
		free(r);
	}
	free(p);
}

/* ---- printing ---- */

/* Sizes print in the largest binary unit that divides them, as default.json
 * writes them, so that `policy show` of the default is the file itself. */
static cJSON *size_json(uint64_t v)
{
	static const struct {
		uint64_t mult;
		const char *unit;
	} units[] = {{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}};
	char buf[48];

	for (size_t i = 0; i < 4 && v; i++)
		if (v % units[i].mult == 0) {
			snprintf(buf, sizeof(buf), "%" PRIu64 "%s", v / units[i].mult, units[i].unit);
			return cJSON_CreateString(buf);
		}
	return cJSON_CreateNumber((double)v);
}

static cJSON *field_json(const struct tj_policy *p, const struct pfield *f)
{
	struct tj_policy *mp = (struct tj_policy *)(uintptr_t)p; /* field_ptr is shared with the setters */
	const void *ptr = field_ptr(mp, f, f->off);

	switch (f->kind) {
	case PF_SIZE: return size_json(*(const uint64_t *)ptr);
	case PF_U64: return cJSON_CreateNumber((double)*(const uint64_t *)ptr);
	case PF_CPUS: return cJSON_CreateNumber(*(const double *)ptr);
	case PF_BOOL: return cJSON_CreateBool(*(const bool *)ptr);
	case PF_CHOICE: return cJSON_CreateString(choices_of(f)[*(const int *)ptr]);
	case PF_NAME:
	case PF_STR:
	case PF_PATH: {
		const char *s = *(char *const *)ptr;
		return cJSON_CreateString(s ? s : "");
	}
	default: {
		char *const *l = *(char **const *)ptr;
		size_t n = *(const size_t *)field_ptr(mp, f, f->off_n);
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; a && i < n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(l[i]));
		return a;
	}
	}
}

cJSON *tj_policy_to_json(const struct tj_policy *p)
{
	cJSON *root = cJSON_CreateObject(), *rules, *supp;

	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "version", p->version);
	for (size_t i = 0; i < N_FIELDS; i++) {
		const char *dot = strchr(fields[i].path, '.');
		cJSON *parent = root;
		if (fields[i].kind == PF_INFO)
			continue;
		if (dot) {
			char sec[64];
			snprintf(sec, sizeof(sec), "%.*s", (int)(dot - fields[i].path), fields[i].path);
			parent = cJSON_GetObjectItemCaseSensitive(root, sec);
			if (!parent)
				parent = cJSON_AddObjectToObject(root, sec);
		}
		cJSON_AddItemToObject(parent, dot ? dot + 1 : fields[i].path, field_json(p, &fields[i]));
	}
	rules = cJSON_AddObjectToObject(root, "rules");
	for (int r = 0; rules && r < TJ_RULE__COUNT; r++) {
		cJSON *o = cJSON_AddObjectToObject(rules, rule_table[r].id);
		cJSON_AddStringToObject(o, "severity", tj_severity_name(p->rules->severity[r]));
		cJSON_AddStringToObject(o, "rationale", rule_table[r].rationale);
	}
	cJSON_AddItemToObject(root, "plan_rules", plan_rules_to_json(&p->rules->plan));
	supp = cJSON_AddArrayToObject(root, "suppressions");
	for (size_t i = 0; supp && i < p->rules->n_supp; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", rule_table[p->rules->supp[i].rule].id);
		cJSON_AddStringToObject(o, "path", p->rules->supp[i].path);
		cJSON_AddStringToObject(o, "reason", p->rules->supp[i].reason);
		cJSON_AddItemToArray(supp, o);
	}
	return root;
}
