/* Thread helpers: waiting on a condition variable for at most a number of
 * milliseconds, and naming the calling thread. */
#ifndef SMTPTLS_WAIT_H
#define SMTPTLS_WAIT_H

#include <pthread.h>
#include <sys/prctl.h>
#include <time.h>

/* Names the calling thread for top -H, ps -L, perf and gdb (at most 15
 * characters are kept). */
static inline void thread_name(const char *name)
{
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* Waits on cond (mutex held) until signalled or ms milliseconds pass. */
static inline void cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex, long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(cond, mutex, &until);
}

#endif
