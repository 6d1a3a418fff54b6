/* The runner-owned files of a job's sandbox: CLI config and variables. */
#include "executor/varfiles.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/jsoncheck.h"
#include "common/util.h"
#include "executor/sandboxpaths.h"

#define MAX_VAR_FILE  (1u << 20)
#define MAX_VAR_FILES 6

static bool var_name_valid(const char *s)
{
	if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

static int grow(void *arrp, size_t n, size_t size)
{
	void **arr = arrp;
	void *p = realloc(*arr, (n + 1) * size);

	if (!p)
		return -1;
	*arr = p;
	return 0;
}

static int own(struct varfiles *vf, char *s)
{
	if (!s || grow(&vf->owned, vf->n_owned, sizeof(*vf->owned)) < 0) {
		free(s);
		return -1;
	}
	vf->owned[vf->n_owned++] = s;
	return 0;
}

int varfiles_add(struct varfiles *vf, const char *name, char *content, bool var_file)
{
	char *n, *arg = NULL;

	if (own(vf, content) < 0 || own(vf, (n = strdup(name))) < 0)
		return -1;
	if (grow(&vf->files, vf->n, sizeof(*vf->files)) < 0)
		return -1;
	vf->files[vf->n++] = (struct sandbox_file){n, content, 0644};
	if (!var_file)
		return 0;
	if (asprintf(&arg, "-var-file=" SB_RUNNER "/%s", name) < 0 || own(vf, arg) < 0)
		return -1;
	if (grow(&vf->args, vf->n_args, sizeof(*vf->args)) < 0)
		return -1;
	vf->args[vf->n_args++] = arg;
	return 0;
}

/* A variables object's keys, each a valid variable name (as terraform would
 * also require). */
static int check_names(struct job *j, const char *text, size_t len, const char *what)
{
	struct tj_jsontext_item it;
	size_t pos = tj_jsontext_ws(text, len, 0);
	int more;

	while ((more = tj_jsontext_next(text, len, &pos, &it)) == 1) {
		char name[256];
		size_t n = it.key_end - it.key - 2;

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
		         text + it.key + 1);
		if (n >= sizeof(name) || memchr(text + it.key + 1, '\\', n) || !var_name_valid(name)) {
			job_outcome(j, "FAILED", "InvalidUpload", "%s: '%s' is not a valid variable name",
			            what, name);
			return -1;
		}
	}
	return more;
}

/* JSON variables text: a strict JSON object with valid names, or the job
 * fails as InvalidUpload. */
static int check_object(struct job *j, const char *text, size_t len, const char *what)
{
	struct tj_error err;
	size_t i = tj_jsontext_ws(text, len, 0);

	if (tj_jsontext_check(text, len, &err) < 0) {
		job_outcome(j, "FAILED", "InvalidUpload", "%s: %s", what, err.msg);
		return -1;
	}
	if (i >= len || text[i] != '{') {
		job_outcome(j, "FAILED", "InvalidUpload", "%s: not a JSON object of NAME: value", what);
		return -1;
	}
	return check_names(j, text, len, what);
}

int varfiles_from_request(struct job *j, struct varfiles *vf)
{
	const struct job_request *req = j->req;
	struct tj_error err;

	if (req->n_var_files > MAX_VAR_FILES) {
		job_outcome(j, "FAILED", "InvalidUpload", "at most %d variables files are accepted",
		            MAX_VAR_FILES);
		return -1;
	}
	/* copied byte for byte; JSON ones checked first, so that numbers and
	 * strings reach terraform as written */
	for (size_t i = 0; i < req->n_var_files; i++) {
		const char *src = req->var_files[i];
		bool json = tj_str_has_suffix(src, ".json");
		char *data = NULL, name[64], what[PATH_MAX + 32];
		size_t len;

		if (tj_read_file(src, MAX_VAR_FILE, &data, &len, &err) < 0) {
			job_outcome(j, "FAILED", "InvalidUpload", "variables file: %s", err.msg);
			return -1;
		}
		if (strlen(data) != len) {
			free(data);
			job_outcome(j, "FAILED", "InvalidUpload", "variables file %s contains a NUL byte",
			            src);
			return -1;
		}
		snprintf(what, sizeof(what), "variables file %s", src);
		if (json && check_object(j, data, len, what) < 0) {
			free(data);
			return -1;
		}
		snprintf(name, sizeof(name), "vars-%zu.tfvars%s", i, json ? ".json" : "");
		if (varfiles_add(vf, name, data, true) < 0)
			return -1;
	}
	/* NAME=VALUE: strings */
	if (req->n_vars) {
		_cleanup_cjson_ cJSON *o = cJSON_CreateObject();

		if (!o)
			return -1;
		for (size_t i = 0; i < req->n_vars; i++) {
			if (!var_name_valid(req->vars[i].name)) {
				job_outcome(j, "FAILED", "InvalidUpload", "'%s' is not a valid variable name",
				            req->vars[i].name);
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(o, req->vars[i].name);
			cJSON_AddStringToObject(o, req->vars[i].name, req->vars[i].value);
		}
		if (varfiles_add(vf, VARFILES_VARS, cJSON_PrintUnformatted(o), true) < 0)
			return -1;
	}
	/* the request's variables object: its own bytes, verbatim */
	if (req->variables_json) {
		if (check_object(j, req->variables_json, req->variables_json_len, "variables") < 0)
			return -1;
		if (varfiles_add(vf, VARFILES_VARIABLES,
		                 strndup(req->variables_json, req->variables_json_len), true) < 0)
			return -1;
	}
	return 0;
}

void varfiles_free(struct varfiles *vf)
{
	for (size_t i = 0; i < vf->n_owned; i++)
		free(vf->owned[i]);
	free(vf->owned);
	free(vf->files);
	free(vf->args);
	memset(vf, 0, sizeof(*vf));
}
