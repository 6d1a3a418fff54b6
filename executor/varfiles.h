/* The runner-owned files of a job's sandbox (under /run/tfjail): the CLI
 * config and the variables, with the -var-file arguments naming them. */
#ifndef TFJAIL_EXECUTOR_VARFILES_H
#define TFJAIL_EXECUTOR_VARFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "executor/jobstate.h"
#include "runtime/sandbox.h"

/* The names under /run/tfjail of the NAME=VALUE variables and of the
 * request's variables object (variables files are vars-N.tfvars[.json]). */
#define VARFILES_VARS      "vars.tfvars.json"
#define VARFILES_VARIABLES "variables.tfvars.json"

struct varfiles {
	struct sandbox_file *files; /* n, in order */
	size_t n;
	char **args; /* n_args "-var-file=/run/tfjail/NAME", in terraform's precedence order */
	size_t n_args;
	char **owned; /* names and contents, freed with the set */
	size_t n_owned;
};

/* Adds a file; content is taken over (freed with the set, also on error).
 * var_file: plan gets a -var-file argument for it. */
int varfiles_add(struct varfiles *vf, const char *name, char *content, bool var_file);

/* Adds the request's variables files (JSON ones checked, all copied byte
 * for byte), its NAME=VALUE variables as strings, then its variables
 * object verbatim, in that order of precedence (later wins).  -1 with the job's outcome set (the request
 * is at fault) or not set (out of memory). */
int varfiles_from_request(struct job *j, struct varfiles *vf);

void varfiles_free(struct varfiles *vf);

#endif
