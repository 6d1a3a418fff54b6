/* terraform's diagnostics, and the error class of a failing init or plan. */
#include "executor/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/steps.h"
#include "executor/wording.h"
#include "runtime/helper.h"

#define MAX_DIAGNOSTICS 50

/* terraform's text, in the user's terms */
static void add_words(const struct job *j, cJSON *o, const char *key, const char *text)
{
	_cleanup_free_ char *w = wording_for_user(j->req, text);

	cJSON_AddStringToObject(o, key, w ? w : text);
}

/* In the parsing helper (runtime/helper.h): terraform's JSON in, a flat
 * array of at most `room` {severity, summary, detail, file, line[, column]}
 * out. */
struct diag_input {
	const struct job *j;
	const char *out;
	size_t len;
	bool lines;
	int room;
};

static int extract_diagnostics(void *ctx, int fd)
{
	const struct diag_input *in = ctx;
	const struct job *j = in->j;
	const char *out = in->out;
	size_t len = in->len;
	bool lines = in->lines;
	cJSON *result = cJSON_CreateArray();
	char *text;
	int rc;
	cJSON *docs[1];
	const char *p, *end;

	p = out;
	end = out + len;
	while (result && p < end && cJSON_GetArraySize(result) < in->room) {
		const char *nl = lines ? memchr(p, '\n', (size_t)(end - p)) : end;
		size_t n = (size_t)((nl ? nl : end) - p);
		cJSON *doc = cJSON_ParseWithLength(p, n), *d;
		cJSON *list;

		p += n + 1;
		if (!doc)
			continue;
		docs[0] = cJSON_GetObjectItemCaseSensitive(doc, "diagnostic");
		list = cJSON_GetObjectItemCaseSensitive(doc, "diagnostics");
		if (docs[0]) {
			cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemReferenceToArray(arr, docs[0]);
			list = arr;
		}
		cJSON_ArrayForEach (d, list) {
			const cJSON *range = cJSON_GetObjectItemCaseSensitive(d, "range");
			const char *file =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(range, "filename"));
			const cJSON *start = cJSON_GetObjectItemCaseSensitive(range, "start");
			const cJSON *line = cJSON_GetObjectItemCaseSensitive(start, "line");
			const cJSON *column = cJSON_GetObjectItemCaseSensitive(start, "column");
			cJSON *o = cJSON_CreateObject();
			const char *sev =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "severity"));
			const char *sum =
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"));
			const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "detail"));

			if (!o)
				continue;
			cJSON_AddStringToObject(o, "severity", sev ? sev : "error");
			add_words(j, o, "summary", sum ? sum : "");
			add_words(j, o, "detail", det ? det : "");
			if (file)
				add_words(j, o, "file", file);
			else
				cJSON_AddNullToObject(o, "file");
			if (cJSON_IsNumber(line))
				cJSON_AddNumberToObject(o, "line", line->valuedouble);
			else
				cJSON_AddNullToObject(o, "line");
			if (cJSON_IsNumber(column))
				cJSON_AddNumberToObject(o, "column", column->valuedouble);
			cJSON_AddItemToArray(result, o);
		}
		if (docs[0])
			cJSON_Delete(list);
		cJSON_Delete(doc);
		if (!lines)
			break;
	}
	text = result ? cJSON_PrintUnformatted(result) : NULL;
	rc = text && tj_write_all(fd, text, strlen(text)) >= 0 ? 0 : -1;
	free(text);
	cJSON_Delete(result);
	return rc;
}

/* One diagnostic as extract_diagnostics writes it: these keys and types. */
static bool diagnostic_ok(const cJSON *o)
{
	const cJSON *file = cJSON_GetObjectItemCaseSensitive(o, "file");
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(o, "line");
	const cJSON *column = cJSON_GetObjectItemCaseSensitive(o, "column");
	int keys = 0;

	if (!cJSON_IsObject(o))
		return false;
	for (const cJSON *c = o->child; c; c = c->next)
		keys++;
	return keys == 5 + (column ? 1 : 0) && (!column || cJSON_IsNumber(column)) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "severity")) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "summary")) &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "detail")) &&
	       (cJSON_IsString(file) || cJSON_IsNull(file)) && (cJSON_IsNumber(line) || cJSON_IsNull(line));
}

#define DIAGNOSTICS_ANSWER_MAX (1u << 20)

void classify_collect_diagnostics(struct job *j, struct sandbox *sb, const char *out, size_t len, bool lines)
{
	struct diag_input in = {j, out, len, lines, MAX_DIAGNOSTICS - cJSON_GetArraySize(j->diagnostics)};
	_cleanup_free_ char *answer = NULL;
	_cleanup_cjson_ cJSON *list = NULL;
	struct tj_error err;
	size_t alen;
	cJSON *d;

	if (!out || in.room <= 0 ||
	    sandbox_helper_run(sb, extract_diagnostics, &in, DIAGNOSTICS_ANSWER_MAX, 30000, &answer, &alen, &err) < 0)
		return; /* no diagnostics is better than trusting them */
	/* bounded and flat: checked, then read */
	if (!tj_json_valid(answer, alen, 3) || !(list = cJSON_ParseWithLength(answer, alen)) || !cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach (d, list)
		if (!diagnostic_ok(d))
			return;
	while (list->child && cJSON_GetArraySize(j->diagnostics) < MAX_DIAGNOSTICS)
		cJSON_AddItemToArray(j->diagnostics, cJSON_DetachItemViaPointer(list, list->child));
}

/* Summaries terraform core gives to errors in the configuration or its
 * inputs (as opposed to a provider failing at run time, e.g. an API call). */
static bool config_summary(const char *sum)
{
	static const char *const prefixes[] = {
	    "Invalid ",
	    "Unsupported ",
	    "Missing required ",
	    "No value for required variable",
	    "Error in function call",
	    "Reference to undeclared ",
	    "Undeclared ",
	    "Cycle",
	    "Duplicate ",
	    "Incorrect attribute value type",
	    "Inconsistent conditional result types",
	    "Unknown variable",
	    "Variables not allowed",
	    "Function calls not allowed",
	    "Unsuitable value type",
	    "Module not installed",
	    "Unreadable module directory",
	    "Argument or block definition required",
	    "Unclosed configuration block",
	    "Extraneous label",
	    "Missing name for",
	    "Value for undeclared variable",
	    "Resource precondition failed",
	    "Resource postcondition failed",
	    "Check block assertion failed",
	    "Output refers to sensitive values",
	};

	if (!sum)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(sum, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The first error diagnostic, or NULL; *config: every error is one of the
 * configuration's. */
static const cJSON *first_error(const struct job *j, int *count, bool *config)
{
	const cJSON *d, *first = NULL;

	*count = 0;
	*config = true;
	cJSON_ArrayForEach (d, j->diagnostics) {
		const char *sev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "severity"));
		if (!sev || strcmp(sev, "error") != 0)
			continue;
		(*count)++;
		if (!config_summary(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"))))
			*config = false;
		if (!first)
			first = d;
	}
	if (!first)
		*config = false;
	return first;
}

static void describe_error(const cJSON *d, int count, char *buf, size_t len)
{
	const char *file = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "file"));
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(d, "line");
	const char *sum = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "summary"));
	const char *det = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "detail"));
	char where[512] = "";
	char more[64] = "";

	if (file && cJSON_IsNumber(line))
		snprintf(where, sizeof(where), "%s:%d: ", file, (int)line->valuedouble);
	else if (file)
		snprintf(where, sizeof(where), "%s: ", file);
	if (count > 1)
		snprintf(more, sizeof(more), " (and %d more error%s)", count - 1, count > 2 ? "s" : "");
	snprintf(buf, len, "%s%s%s%s%s", where, sum ? sum : "error", det && *det ? ": " : "", det ? det : "",
	         more);
}

/* init or plan failed: classify the failure as the four-step flow would.
 * validate (which that flow runs before plan) decides first: its errors are
 * a ValidationError.  Otherwise the failing step's own diagnostics decide:
 * errors terraform core raises about the configuration or its inputs are a
 * ValidationError, anything else (a provider failing) a TerraformError. */
void classify_failure(struct job *j, struct sandbox *sb, const char *name,
                      const struct sandbox_result *failed, char *const envp[], const char *cwd)
{
	char *validate[] = {"terraform", "validate", "-json", "-no-color", NULL};
	struct sandbox_result vres;
	const cJSON *first;
	int count;
	bool config;
	char msg[1024];

	if (step_stderr_has(failed, "no space left on device")) {
		job_outcome(j, "FAILED", "ResourceLimitExceeded",
		            "the workspace is full (limit %llu MiB) during terraform %s",
		            (unsigned long long)(j->policy->limits.workspace_bytes >> 20), name);
		return;
	}
	if (step_run(j, sb, "validate", validate, envp, cwd, &vres)) {
		cJSON *keep = j->diagnostics;
		j->diagnostics = cJSON_CreateArray();
		classify_collect_diagnostics(j, sb, vres.out, vres.out_len, false);
		first = first_error(j, &count, &config);
		if (first) {
			cJSON_Delete(keep);
			describe_error(first, count, msg, sizeof(msg));
			job_outcome(j, "FAILED", "ValidationError", "%s", msg);
			sandbox_result_free(&vres);
			return;
		}
		cJSON_Delete(j->diagnostics);
		j->diagnostics = keep;
	}
	sandbox_result_free(&vres);
	if (j->done)
		return;
	first = first_error(j, &count, &config);
	if (first) {
		describe_error(first, count, msg, sizeof(msg));
		job_outcome(j, "FAILED", config ? "ValidationError" : "TerraformError", "%s", msg);
		return;
	}
	{
		const char *t = step_tail(failed->err, failed->err_len, 300);
		job_outcome(j, "FAILED", "TerraformError", "terraform %s failed (exit code %d)%s%s", name,
		            failed->exit_code, *t ? ": " : "", t);
	}
}

/* ------------------------------------------------------------ the static scan */

/* What an error-severity violation of the static scan means for the job.
 * The strongest class present decides: the upload itself cannot be taken
 * (InvalidUpload), then what the policy forbids (PolicyViolation), then a
 * configuration that does not parse (ValidationError).  Every violation
 * stays in `violations` either way, and terraform never runs. */
enum scan_class { SCAN_VALIDATION = 1, SCAN_POLICY, SCAN_UPLOAD };

static const struct {
	const char *rule;
	enum scan_class class;
	const char *fix; /* what the user can do, for InvalidUpload */
} scan_classes[] = {
    {"upload-limit", SCAN_UPLOAD,
     "make the upload smaller, or ask for the policy's upload limits to be raised"},
    {"upload-symlink", SCAN_UPLOAD,
     "replace the link with the file it points to, or point it inside the upload"},
    {"upload-special-file", SCAN_UPLOAD, "remove it from the upload"},
    {"parse-error", SCAN_VALIDATION, NULL},
    {"no-configuration", SCAN_VALIDATION, NULL},
};

static const char *const scan_class_error_type[] = {
    [SCAN_VALIDATION] = "ValidationError",
    [SCAN_POLICY] = "PolicyViolation",
    [SCAN_UPLOAD] = "InvalidUpload",
};

static enum scan_class class_of(const char *rule, const char **fix)
{
	for (size_t i = 0; i < sizeof(scan_classes) / sizeof(scan_classes[0]); i++)
		if (strcmp(scan_classes[i].rule, rule) == 0) {
			*fix = scan_classes[i].fix;
			return scan_classes[i].class;
		}
	*fix = NULL;
	return SCAN_POLICY;
}

/* A diagnostic for a file the scanner could not parse (or a directory
 * without configuration).  scan.c words a parse error "MESSAGE (column N)". */
static void add_scan_diagnostic(struct job *j, const struct tj_violation *v)
{
	cJSON *o = cJSON_CreateObject();
	char summary[768];
	const char *col = strstr(v->message, " (column ");
	int column = 0;

	if (!o)
		return;
	snprintf(summary, sizeof(summary), "%s", v->message);
	if (col && sscanf(col, " (column %d)", &column) == 1)
		summary[col - v->message] = '\0';
	cJSON_AddStringToObject(o, "severity", "error");
	cJSON_AddStringToObject(o, "summary", summary);
	cJSON_AddStringToObject(
	    o, "detail",
	    strcmp(v->rule, "parse-error") == 0
	        ? "The file is not valid HCL or JSON; terraform was not run."
	        : "terraform needs at least one .tf or .tf.json file where it runs; it was not run.");
	if (*v->file)
		cJSON_AddStringToObject(o, "file", v->file);
	else
		cJSON_AddNullToObject(o, "file");
	if (v->line > 0)
		cJSON_AddNumberToObject(o, "line", v->line);
	else
		cJSON_AddNullToObject(o, "line");
	if (column > 0)
		cJSON_AddNumberToObject(o, "column", column);
	cJSON_AddItemToArray(j->diagnostics, o);
}

void classify_scan(struct job *j, const struct tj_scan_result *scan)
{
	const struct tj_violation *first = NULL;
	enum scan_class worst = 0;
	const char *fix = NULL;
	size_t errors = 0;

	for (size_t i = 0; i < scan->n; i++) {
		const struct tj_violation *v = &scan->v[i];
		const char *f;
		enum scan_class c;

		if (strcmp(v->severity, "error") != 0)
			continue;
		errors++;
		c = class_of(v->rule, &f);
		if (c == SCAN_VALIDATION)
			add_scan_diagnostic(j, v);
		if (c > worst) {
			worst = c;
			first = v;
			fix = f;
		}
	}
	if (!first)
		return;
	job_outcome(j, "FAILED", scan_class_error_type[worst], "%s:%d: %s [%s]%s%s%s",
	            *first->file ? first->file : ".", first->line, first->message, first->rule,
	            fix ? "; " : "", fix ? fix : "",
	            errors > 1 ? " (and more violations, see the list)" : "");
}
