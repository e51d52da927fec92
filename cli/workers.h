/* The pipeline on several threads: the reading thread decodes each frame
 * far enough to hash its connection (symmetrically, so both directions go
 * to the same place) and hands it to the worker that owns that hash; each
 * worker runs its own pipeline (flow table, dissectors) and writes to the
 * shared store. A connection is seen by exactly one worker, so the rows
 * are those a single thread writes. */
#ifndef SMTPTLS_WORKERS_H
#define SMTPTLS_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

#define WORKERS_MAX 64
#define WORKERS_RING_BYTES (16u << 20) /* frames queued per worker */

struct workers;

/* Starts n worker threads, each with a pipeline made from o. */
struct workers *workers_new(unsigned n, const struct pipeline_opts *o, struct store *st);

/* The source callbacks (same shapes as pipeline_frames / pipeline_tick). */
void workers_frames(void *w, const struct frame *f, size_t n);
void workers_tick(void *w, double now);

/* Ends every connection in every worker, waits for the threads, and sums
 * their counters. Returns -1 if a row could not be written. */
int workers_finish(struct workers *w, enum end_reason reason);

int workers_failed(const struct workers *w);

struct source;

/* The other way, for a source several threads can read at once (a classic
 * pcap file): every worker reads every frame of the file itself and keeps
 * the connections of its shard; nothing is handed over between threads. workers_run_shared reads the whole source (this thread is
 * worker 0) and returns 0, or -1 with a message; then workers_finish. */
struct workers *workers_new_shared(unsigned n, const struct pipeline_opts *o, struct store *st,
				   struct source *src);
int workers_run_shared(struct workers *w, char *err, size_t errlen);
void workers_counters(const struct workers *w, struct pipeline_counters *c,
		      struct flow_stats *fs);

void workers_free(struct workers *w);

#endif
