/* Job ids: generated, or the caller's validated per the contract. */
#include "executor/job.h"

#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/util.h"

void job_new_id(char out[32])
{
	unsigned char r[8];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = tj_now_us() ^ ((uint64_t)getpid() << 40);
		memcpy(r, &t, sizeof(r));
	}
	memcpy(out, "job_", 4);
	for (size_t i = 0; i < sizeof(r); i++) {
		out[4 + 2 * i] = hex[r[i] >> 4];
		out[5 + 2 * i] = hex[r[i] & 15];
	}
	out[4 + 2 * sizeof(r)] = '\0';
}

bool job_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 1 || n > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}
