/* Running one terraform command of a job in its sandbox, and recording it
 * in the response's steps. */
#ifndef TFJAIL_EXECUTOR_STEPS_H
#define TFJAIL_EXECUTOR_STEPS_H

#include <cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "executor/jobstate.h"
#include "runtime/sandbox.h"

#define STEP_STDERR_TAIL 4096

/* The bytes of a version and of a provider address as terraform writes them:
 * what the host accepts of them in answers from the sandbox. */
#define TF_VERSION_CHARS       "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"
#define TF_PROVIDER_ADDR_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-/"

/* An environment built from nothing. */
struct step_env {
	char *envp[16];
	char bufs[16][PATH_MAX];
	size_t n;
};

void step_env_add(struct step_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs one terraform command; false when the job must stop (the outcome is
 * then set: timeout, out of memory, killed). */
/* Tells the request's on_step callback (if any) that a part of the job
 * starts or ends. */
void job_progress(struct job *j, const char *name, bool done, int exit_code, uint64_t ms);

bool step_run(struct job *j, struct sandbox *sb, const char *name, char *const argv[], char *const envp[],
              const char *cwd, struct sandbox_result *res);

/* Appends a step that did not come from one command (e.g. "providers"). */
void step_add_done(struct job *j, const char *name, uint64_t duration_ms);

/* The last max bytes of s, starting at a line or UTF-8 boundary. */
const char *step_tail(const char *s, size_t len, size_t max);

bool step_stderr_has(const struct sandbox_result *res, const char *needle);

/* `terraform version -json` in sb, parsed in the parsing helper
 * (runtime/helper.h) into {"terraform_version":..,"provider_selections":{..}}
 * from checked facts; NULL if it did not answer with them.  status/exit_code
 * describe the run for error messages. */
cJSON *step_version_json(struct sandbox *sb, char *const envp[], const char *cwd, uint64_t timeout_ms,
                         enum sandbox_status *status, int *exit_code);

/* The helper's answer, "T version\n" and "P address version\n" lines, checked
 * line by line (charset and length of versions and addresses, at most 64
 * providers, no address twice); NULL when any line is malformed. */
cJSON *step_version_answer_read(const char *a, size_t len);

#endif
