/* One provider process per job: each provider init selected is started once
 * in the job's sandbox in debug mode, and plan and show attach to it
 * (TF_REATTACH_PROVIDERS) instead of starting the binary again. */
#ifndef TFJAIL_EXECUTOR_PROVIDERS_H
#define TFJAIL_EXECUTOR_PROVIDERS_H

#include <cJSON.h>
#include <stddef.h>

#include "executor/jobstate.h"
#include "runtime/sandbox.h"

#define PROVIDERS_MAX 8

struct providers {
	cJSON *config;          /* merged TF_REATTACH_PROVIDERS object; NULL = none started */
	int fds[PROVIDERS_MAX]; /* providers' stdout, kept open for their lifetime */
	size_t n;
};

/* Starts the providers; any problem leaves p->config NULL and the job goes on
 * without it (terraform starts providers itself, as usual). */
void providers_start(struct job *j, struct sandbox *sb, const struct job_tools *tools, char *const envp[],
                     const char *cwd, struct providers *p);

/* "TF_REATTACH_PROVIDERS=..." for the environment (malloc'd), or NULL. */
char *providers_env(const struct providers *p);

void providers_release(struct providers *p);

#endif
