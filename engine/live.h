/* Counters read while the capture runs. The thread that owns a set of
 * counters (plain uint64_t fields, updated on the packet path without any
 * atomic operation) copies them now and then into a snapshot of relaxed
 * atomics (plain stores on x86); any other thread (metrics, the runs row)
 * reads the snapshot without a lock and without slowing the packet path. */
#ifndef SMTPTLS_LIVE_H
#define SMTPTLS_LIVE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LIVE_WORDS 48

struct live {
	_Atomic uint64_t v[LIVE_WORDS];
};

/* Copies n bytes of counters (a struct of uint64_t / size_t fields). */
static inline void live_publish(struct live *l, const void *counters, size_t n)
{
	uint64_t w[LIVE_WORDS];
	size_t k = n / sizeof w[0];
	memcpy(w, counters, k * sizeof w[0]);
	for (size_t i = 0; i < k && i < LIVE_WORDS; i++)
		atomic_store_explicit(&l->v[i], w[i], memory_order_relaxed);
}

static inline void live_read(const struct live *l, void *counters, size_t n)
{
	uint64_t w[LIVE_WORDS];
	size_t k = n / sizeof w[0];
	for (size_t i = 0; i < k && i < LIVE_WORDS; i++)
		w[i] = atomic_load_explicit(&l->v[i], memory_order_relaxed);
	memcpy(counters, w, k * sizeof w[0]);
}

#define LIVE_FITS(type) (sizeof(type) % 8 == 0 && sizeof(type) <= LIVE_WORDS * 8)

#endif
