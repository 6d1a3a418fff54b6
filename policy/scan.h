/* The static policy scan of an upload (`tfjail scan`, and the job pipeline's
 * first step).  It walks the upload without following symbolic links out of
 * it, parses every file terraform would load (*.tf with the HCL lexer and
 * parser, *.tf.json with the JSON reader), follows local module calls inside
 * the upload, and reports every policy violation with the file (relative to
 * the upload) and line.  It never evaluates expressions and never reads a
 * file outside the upload. */
#ifndef TFJAIL_POLICY_SCAN_H
#define TFJAIL_POLICY_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "common/error.h"
#include "policy/policy.h"

struct tj_violation {
	char *rule;            /* stable rule id, e.g. "provisioner-blocked" */
	char *severity;        /* "error" | "warning" */
	char *file;            /* relative to the upload; "." for the upload itself */
	int line;              /* 1-based; 0 when the violation has no line */
	char *message;
	char *reason;          /* suppressions only: the policy's reason */
	char *address;         /* plan rules: the resource address, NULL otherwise */
};

/* Where a block of the configuration is: resource, data, ephemeral and
 * module blocks of every module directory the scan read. */
struct tj_block_loc {
	char *dir;     /* module directory relative to the upload, "" = root */
	char *address; /* "aws_instance.web", "data.aws_ami.x", "module.net" */
	char *file;    /* relative to the upload */
	int line;
};

struct tj_scan_result {
	struct tj_violation *v;          /* sorted by file, line, rule, message */
	size_t n;
	size_t files_scanned;            /* configuration files parsed */
	struct tj_violation *suppressed; /* matched a suppression of the policy */
	size_t n_suppressed;
	struct tj_block_loc *locs; /* in scan order */
	size_t n_locs;
};

/* 0 = scanned (violations may exist), -1 = could not scan (err). The error
 * message never names dir (a host path): callers that may show it add it. */
int tj_scan_dir(const struct tj_policy *p, const char *dir, struct tj_scan_result **out,
		struct tj_error *err);
/* The same with the root module in root, a directory relative to the upload
 * (the job's working directory; "" or NULL = the upload itself): the upload
 * walk covers the whole upload, the module walk starts at root. */
int tj_scan_dir_at(const struct tj_policy *p, const char *dir, const char *root, struct tj_scan_result **out,
                   struct tj_error *err);
/* Any violation of severity "error" (suppressions already applied). */
bool tj_scan_has_errors(const struct tj_scan_result *r);
/* CONTRACT's Violation object. */
cJSON *tj_violation_to_json(const struct tj_violation *v);
/* {"violations":[...],"files_scanned":N} (+ "suppressed":[...] when any). */
cJSON *tj_scan_result_to_json(const struct tj_scan_result *r);
void tj_scan_result_free(struct tj_scan_result *r);
/* The directory of a local module call: dir (relative to the upload) joined
 * with the call's source and cleaned lexically as terraform does ("" +
 * "./net" -> "net"); -1 when it climbs above the upload. */
int tj_module_dir_resolve(const char *dir, const char *src, char *out, size_t n);

/* Appends a copy of v to r's violations (or its suppressed list); -1 = out of memory. */
int tj_scan_result_add(struct tj_scan_result *r, const struct tj_violation *v, bool suppressed);

/* What the scan saw, for tests and diagnostics:
 * {"providers": [full source address...],
 *  "modules": {DIR: {"provisioners": ["ADDRESS:TYPE"...], "module_calls": ["NAME=SOURCE"...]}}}
 * DIR is relative to the upload ("" = root). */
int tj_scan_dir_facts(const struct tj_policy *p, const char *dir, cJSON **facts, struct tj_error *err);

#endif
