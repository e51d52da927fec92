/* A clock's reading in seconds, as a double: wall time (CLOCK_REALTIME),
 * intervals (CLOCK_MONOTONIC) or CPU time (a process or thread CPU clock).
 * 0 if the clock cannot be read. */
#ifndef SMTPTLS_CLOCK_H
#define SMTPTLS_CLOCK_H

#include <time.h>

static inline double clock_seconds(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
