/* Errors that travel up the call chain (crun style): a fallible function
 * returns a negative value and fills a tj_error naming what failed and the
 * path involved.  Callers may prefix context; the edge (CLI, HTTP) turns it
 * into one readable line. */
#ifndef TFJAIL_COMMON_ERROR_H
#define TFJAIL_COMMON_ERROR_H

#include <stddef.h>

#define TJ_ERROR_MSG_MAX 1024

struct tj_error {
	int errnum;                  /* errno of the root cause, 0 if none */
	char msg[TJ_ERROR_MSG_MAX];  /* "what failed: why" */
};

/* Fills err (if non-NULL) and returns -1.  errnum may be 0. */
int tj_error_set(struct tj_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like tj_error_set with errnum = errno, appending ": strerror(errno)". */
int tj_error_sys(struct tj_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "context: " to an existing message; returns -1. */
int tj_error_prefix(struct tj_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void tj_error_clear(struct tj_error *err);

#endif
