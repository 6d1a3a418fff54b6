/* The runner-owned files of a job's sandbox: CLI config and variables. */
#include "executor/varfiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
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

int varfiles_from_request(struct job *j, struct varfiles *vf)
{
	const struct job_request *req = j->req;
	struct tj_error err;

	if (req->n_var_files > MAX_VAR_FILES) {
		job_outcome(j, "FAILED", "InvalidUpload", "at most %d variables files are accepted",
		            MAX_VAR_FILES);
		return -1;
	}
	for (size_t i = 0; i < req->n_var_files; i++) {
		const char *src = req->var_files[i];
		bool json = tj_str_has_suffix(src, ".json");
		char *data = NULL, name[64];
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
		snprintf(name, sizeof(name), "vars-%zu.tfvars%s", i, json ? ".json" : "");
		if (varfiles_add(vf, name, data, true) < 0)
			return -1;
	}
	if (req->n_vars || req->variables) {
		_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
		const cJSON *v;

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
		cJSON_ArrayForEach (v, req->variables) {
			if (!var_name_valid(v->string)) {
				job_outcome(j, "FAILED", "InvalidUpload", "'%s' is not a valid variable name",
				            v->string ? v->string : "");
				return -1;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(o, v->string);
			cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, true));
		}
		if (varfiles_add(vf, "tfjail.auto.tfvars.json", cJSON_PrintUnformatted(o), true) < 0)
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
