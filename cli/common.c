#include "cli/common.h"

#include <errno.h>
#include <stdlib.h>

int cli_parse_cpus(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.01 && v <= 1024))
		return -1;
	*out = v;
	return 0;
}
