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
	TJ_RULE__COUNT
};

enum tj_severity { TJ_SEV_OFF, TJ_SEV_WARNING, TJ_SEV_ERROR };

struct tj_rule_info {
	const char *id;
	bool mandatory;        /* cannot be relaxed nor suppressed: the scan would be blind */
	const char *rationale; /* one sentence, printed by `policy show` */
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
};

#endif
