/* UTF-8 checked, cut and repaired (see utf8.h). */
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

size_t tj_utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4;
	else
		return 0;
	if (avail < n)
		return 0;
	/* the second byte's range rules out overlong forms, surrogates and
	 * code points past U+10FFFF */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < n; k++)
		if (p[k] < 0x80 || p[k] > 0xBF)
			return 0;
	return n;
}

bool tj_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n)
		if (!(n = tj_utf8_seq(p + i, len - i)))
			return false;
	return true;
}

bool tj_utf8_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, n; i < len; i += n)
		if (p[i] < 0x20 || p[i] == 0x7f || !(n = tj_utf8_seq(p + i, len - i)))
			return false;
	return true;
}

size_t tj_utf8_cut(const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = tj_utf8_seq(p + i, len - i);
		if (!n)
			n = 1;
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

int tj_utf8_repair(char **data, size_t *len)
{
	const unsigned char *p = (const unsigned char *)*data;
	size_t bad = 0, o = 0;
	char *out;

	for (size_t i = 0; i < *len;) {
		size_t n = tj_utf8_seq(p + i, *len - i);
		bad += !n;
		i += n ? n : 1;
	}
	if (!bad)
		return 0;
	out = malloc(*len + 2 * bad + 1);
	if (!out)
		return -1;
	for (size_t i = 0; i < *len;) {
		size_t n = tj_utf8_seq(p + i, *len - i);
		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	free(*data);
	*data = out;
	*len = o;
	return 0;
}
