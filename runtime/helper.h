/* A helper process for parsing what comes out of a sandbox (terraform's plan
 * JSON, its diagnostics, a provider's handshake) on the host without host
 * privilege: a fork of the caller that drops to the sandbox's unprivileged
 * host uid and gid, with no capabilities, no_new_privs, no dumpability, CPU
 * and address-space limits, and a seccomp filter that allows only memory
 * management, read/write on the fds it has, and exit (anything else kills
 * it).  It sees the caller's memory (the input is already there), runs fn,
 * and writes its result to a pipe; the caller gets at most `max` bytes back,
 * to be checked before use. */
#ifndef TFJAIL_RUNTIME_HELPER_H
#define TFJAIL_RUNTIME_HELPER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "runtime/sandbox.h"

/* Runs in the helper: writes the result to out_fd (tj_write_all); returns 0,
 * or -1 after writing nothing useful (the caller then reports a failure). */
typedef int (*sandbox_helper_fn)(void *ctx, int out_fd);

/* Returns 0 with *out (malloc'd, NUL-terminated) and *out_len, or -1 with
 * err: fn failed, the helper crashed or was killed by its filter, it wrote
 * more than max bytes, or it ran past timeout_ms. */
int sandbox_helper_run(const struct sandbox *sb, sandbox_helper_fn fn, void *ctx, size_t max,
                       uint64_t timeout_ms, char **out, size_t *out_len, struct tj_error *err);

#endif
