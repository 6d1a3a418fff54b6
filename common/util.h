/* Small helpers shared by every module. */
#ifndef TFJAIL_COMMON_UTIL_H
#define TFJAIL_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Reads a whole file (at most max bytes; more is an EFBIG error).  The
 * buffer is NUL-terminated; *len excludes the NUL. */
int tj_read_file(const char *path, size_t max, char **out, size_t *len, struct tj_error *err);
int tj_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len, struct tj_error *err);
/* The same from an open descriptor; path only names it in errors. */
int tj_read_fd(int fd, const char *path, size_t max, char **out, size_t *len, struct tj_error *err);

/* Writes buf to path (O_CREAT|O_TRUNC, mode). */
int tj_write_file(const char *path, const void *buf, size_t len, mode_t mode, struct tj_error *err);
/* Writes a short string to an existing file, as for /proc and cgroupfs. */
int tj_write_string_at(int dirfd, const char *path, const char *s, struct tj_error *err);

ssize_t tj_write_all(int fd, const void *buf, size_t len);
ssize_t tj_read_all(int fd, void *buf, size_t len);

int tj_mkdir_p(const char *path, mode_t mode, struct tj_error *err);
/* Removes name (relative to dfd, or absolute) and everything below it,
 * never following a symbolic link; best effort. */
void tj_remove_tree_at(int dfd, const char *name);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t tj_now_ms(void);
uint64_t tj_now_us(void);

/* Parses "512M", "2G", "1048576" (binary units K/M/G/T, optional "i"/"B").
 * Returns -1 on syntax error or overflow. */
int tj_parse_size(const char *s, uint64_t *out);
/* Parses a non-negative decimal integer that fits in max. */
int tj_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Lowercase hex sha256 of buf into out[65]. */
void tj_sha256_hex(const void *buf, size_t len, char out[65]);

/* Growable byte buffer. */
struct tj_buf {
	char *data;
	size_t len;
	size_t cap;
};
int tj_buf_append(struct tj_buf *b, const void *data, size_t len);
int tj_buf_printf(struct tj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tj_buf_free(struct tj_buf *b);

bool tj_str_has_suffix(const char *s, const char *suffix);
/* s[0..n) holds only bytes of set (never a NUL byte). */
bool tj_chars_in(const char *s, size_t n, const char *set);

#endif
