/* Rule ids, severities and the scan settings of a policy: private to policy/. */
#ifndef TFJAIL_POLICY_RULES_H
#define TFJAIL_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tj_rule {
	TJ_RULE_PROVISIONER_BLOCKED,
	TJ_RULE_BACKEND_BLOCKED,
	TJ_RULE_CLOUD_BLOCKED,
	TJ_RULE_PROVIDER_NOT_ALLOWED,
	TJ_RULE_DATA_SOURCE_BLOCKED,
	TJ_RULE_MODULE_SOURCE_NOT_ALLOWED,
	TJ_RULE_OVERRIDE_TERRAFORM_BLOCK,
	TJ_RULE_SOURCE_NOT_LITERAL,
	TJ_RULE_UPLOAD_LIMIT,
	TJ_RULE_UPLOAD_SYMLINK,
	TJ_RULE_UPLOAD_SPECIAL_FILE,
	TJ_RULE_PARSE_ERROR,
	TJ_RULE_NO_CONFIGURATION,
	/* plan rules: judged on the plan after `terraform show -json` */
	TJ_RULE_PLAN_RESOURCE_TYPE_DENIED,
	TJ_RULE_PLAN_RESOURCE_TYPE_NOT_ALLOWED,
	TJ_RULE_PLAN_ACTION_DENIED,
	TJ_RULE_PLAN_TAG_MISSING,
	TJ_RULE_PLAN_CHANGE_LIMIT,
	TJ_RULE_PLAN_DATA_SOURCE_DENIED,
	TJ_RULE__COUNT
};

enum tj_rule_stage {
	TJ_STAGE_STATIC, /* the scan of the upload, before terraform runs */
	TJ_STAGE_PLAN,   /* the plan JSON, after terraform show -json */
};

enum tj_severity { TJ_SEV_OFF, TJ_SEV_WARNING, TJ_SEV_ERROR };

struct tj_rule_info {
	const char *id;
	enum tj_rule_stage stage;
	bool mandatory;        /* cannot be relaxed nor suppressed: the scan would be blind */
	const char *rationale; /* one sentence, printed by `policy show` */
	const char *finds;     /* what triggers it, for `tfjail rules` and docs/policy.md */
	const char *example;   /* a minimal trigger (with the policy keys it needs) */
};

const struct tj_rule_info *tj_rule_info(enum tj_rule r);
/* Rule for an id, or -1. */
int tj_rule_by_id(const char *id);
const char *tj_severity_name(enum tj_severity s);

struct tj_suppression {
	enum tj_rule rule;
	char *path;            /* fnmatch(3) glob on the upload-relative path */
	char *reason;
};

/* plan_rules.actions[]: actions refused on resource types matching globs. */
struct tj_plan_action_rule {
	char **types; /* fnmatch globs on the resource type */
	size_t n_types;
	unsigned denied; /* bit set of enum tj_plan_action */
};

/* The actions of a resource change as the plan counts them. */
enum tj_plan_action {
	TJ_PLAN_CREATE,
	TJ_PLAN_UPDATE,
	TJ_PLAN_DELETE,
	TJ_PLAN_REPLACE,
	TJ_PLAN_READ,
	TJ_PLAN__COUNT
};

/* plan_rules: the vocabulary judged on the plan (policy/planrules.c). */
struct tj_plan_rules {
	char **types_denied; /* resource_types.denied: globs */
	size_t n_types_denied;
	char **types_allowed; /* resource_types.allowed: globs; NULL = any type */
	size_t n_types_allowed;
	bool has_types_allowed;
	struct tj_plan_action_rule *actions;
	size_t n_actions;
	char **tag_keys; /* required_tags.keys */
	size_t n_tag_keys;
	char **tag_types; /* required_tags.types: globs (default any) */
	size_t n_tag_types;
	int64_t
	    max_changes[TJ_PLAN__COUNT + 1]; /* max_changes.<action>, [TJ_PLAN__COUNT] = total; -1 = none */
	char **data_denied;                  /* data_sources.denied: globs on data source types */
	size_t n_data_denied;
};

/* Name of an action ("create"...), and the action of a name or -1. */
const char *tj_plan_action_name(enum tj_plan_action a);
int tj_plan_action_by_name(const char *name);

struct tj_policy_rules {
	char *description;
	char **providers;              /* normalised source addresses */
	size_t n_providers;
	char **denied_data_sources;
	size_t n_denied_data_sources;
	char **denied_provisioners;    /* "*" = every provisioner */
	size_t n_denied_provisioners;
	bool modules_allow_local;
	char **module_sources;         /* fnmatch(3) globs for non-local sources */
	size_t n_module_sources;
	uint64_t max_nesting;          /* scan.max_nesting */
	uint64_t max_tokens;           /* scan.max_tokens, per file */
	uint64_t max_module_depth;     /* scan.max_module_depth */
	enum tj_severity severity[TJ_RULE__COUNT];
	struct tj_suppression *supp;
	size_t n_supp;
	struct tj_plan_rules plan;
};

/* The suppression of the policy that covers a finding of rule on file, or NULL. */
const struct tj_suppression *tj_policy_suppression(const struct tj_policy_rules *r, enum tj_rule rule,
                                                   const char *file);

#endif
