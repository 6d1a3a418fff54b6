/* __attribute__((cleanup)) helpers, so that early returns cannot leak. */
#ifndef TFJAIL_COMMON_CLEANUP_H
#define TFJAIL_COMMON_CLEANUP_H

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void tj_freep(void *p)
{
	free(*(void **)p);
}

static inline void tj_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void tj_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void tj_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static inline void tj_cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

#define _cleanup_free_ __attribute__((cleanup(tj_freep)))
#define _cleanup_close_ __attribute__((cleanup(tj_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(tj_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(tj_closedirp)))
#define _cleanup_cjson_ __attribute__((cleanup(tj_cjson_deletep)))

/* Hands ownership out of a cleanup variable. */
#define TJ_STEAL_PTR(p) ({ __typeof__(p) _tmp = (p); (p) = NULL; _tmp; })
#define TJ_STEAL_FD(fd) ({ int _tmp = (fd); (fd) = -1; _tmp; })

#endif
