#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

ssize_t tj_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t tj_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int tj_read_fd(int fd, const char *path, size_t max, char **out, size_t *len, struct tj_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, used = 0;

	buf = malloc(cap + 1);
	if (!buf)
		return tj_error_set(err, ENOMEM, "read %s: out of memory", path);
	for (;;) {
		ssize_t n;
		if (used == cap) {
			char *nb;
			if (cap > max)
				return tj_error_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return tj_error_set(err, ENOMEM, "read %s: out of memory", path);
			buf = nb;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return tj_error_sys(err, "read %s", path);
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max)
		return tj_error_set(err, EFBIG, "read %s: larger than %zu bytes", path, max);
	buf[used] = '\0';
	*out = TJ_STEAL_PTR(buf);
	if (len)
		*len = used;
	return 0;
}

int tj_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len, struct tj_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return tj_error_sys(err, "open %s", path);
	return tj_read_fd(fd, path, max, out, len, err);
}

int tj_read_file(const char *path, size_t max, char **out, size_t *len, struct tj_error *err)
{
	return tj_read_file_at(AT_FDCWD, path, max, out, len, err);
}

int tj_write_file(const char *path, const void *buf, size_t len, mode_t mode, struct tj_error *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		return tj_error_sys(err, "open %s", path);
	if (tj_write_all(fd, buf, len) < 0)
		return tj_error_sys(err, "write %s", path);
	return 0;
}

int tj_write_string_at(int dirfd, const char *path, const char *s, struct tj_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return tj_error_sys(err, "open %s", path);
	/* cgroupfs and procfs take the whole value in one write */
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tj_error_sys(err, "write '%s' to %s", s, path);
	return 0;
}

int tj_mkdir_p(const char *path, mode_t mode, struct tj_error *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return tj_error_set(err, ENAMETOOLONG, "mkdir %s: bad path", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return tj_error_sys(err, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return tj_error_sys(err, "mkdir %s", buf);
	return 0;
}

uint64_t tj_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tj_now_ms(void)
{
	return tj_now_us() / 1000u;
}

int tj_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int tj_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t i = 0;
	uint64_t v, mult = 1;
	const char *suffix;

	if (!s)
		return -1;
	while (s[i] >= '0' && s[i] <= '9' && i < sizeof(num) - 1) {
		num[i] = s[i];
		i++;
	}
	if (i == 0 || i >= sizeof(num) - 1)
		return -1;
	num[i] = '\0';
	if (tj_parse_u64(num, UINT64_MAX, &v) < 0)
		return -1;
	suffix = s + i;
	switch (*suffix) {
	case '\0':
		break;
	case 'k': case 'K': mult = 1ull << 10; suffix++; break;
	case 'm': case 'M': mult = 1ull << 20; suffix++; break;
	case 'g': case 'G': mult = 1ull << 30; suffix++; break;
	case 't': case 'T': mult = 1ull << 40; suffix++; break;
	case 'b': case 'B': break;
	default: return -1;
	}
	if (mult > 1 && *suffix == 'i')
		suffix++;
	if (*suffix == 'B' || *suffix == 'b')
		suffix++;
	if (*suffix)
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void tj_sha256_hex(const void *buf, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, buf);
	sha256_digest(&ctx, sizeof(digest), digest);
	for (size_t i = 0; i < sizeof(digest); i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = '\0';
}

int tj_buf_append(struct tj_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		char *nd;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (!nd)
			return -1;
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int tj_buf_printf(struct tj_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return tj_buf_append(b, small, (size_t)n);
	{
		_cleanup_free_ char *big = malloc((size_t)n + 1);
		if (!big)
			return -1;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		return tj_buf_append(b, big, (size_t)n);
	}
}

void tj_buf_free(struct tj_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

bool tj_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool tj_chars_in(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

void tj_remove_tree_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				tj_remove_tree_at(dirfd(d), de->d_name);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		unlinkat(dfd, name, 0);
}
