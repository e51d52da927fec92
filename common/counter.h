/* Counters that one thread writes and others read without a lock (the
 * metrics endpoint, SIGUSR1, the runs row): relaxed atomics, since a
 * reader needs a recent value, not an ordering with other memory. */
#ifndef SMTPTLS_COUNTER_H
#define SMTPTLS_COUNTER_H

#include <stdatomic.h>
#include <stdint.h>

static inline void counter_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* For a counter only its owner thread (or its owner's lock) writes. */
static inline void counter_add(_Atomic uint64_t *c, uint64_t v)
{
	counter_set(c, atomic_load_explicit(c, memory_order_relaxed) + v);
}

#endif
