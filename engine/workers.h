/* Worker threads fed by one reading thread. The reader decodes each frame
 * once (intake) and hands the segment, with its flow hash and time stamp,
 * to the ring of the worker that owns the hash; each worker runs its own
 * pipeline (flow table, dissectors) and writes to the shared store. Both
 * directions of a connection hash alike, so a connection is seen by
 * exactly one worker and the rows are those one thread writes.
 *
 * Segments point into the buffers the file is read into (workers_buffers):
 * a buffer is reused once every worker has passed the segments handed out
 * before the reader moved on from it, so frame bytes are never copied.
 * Segments whose bytes would not last (frames from libpcap, datagrams the
 * decoder reassembled) are copied into such buffers first. */
#ifndef SMTPTLS_WORKERS_H
#define SMTPTLS_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/source.h"
#include "intake.h"
#include "pipeline.h"

#define WORKERS_MAX 64
#define WORKERS_RING 8192 /* segments queued per worker (a power of two) */

struct workers;

/* Starts n (2..WORKERS_MAX) worker threads, each with a pipeline made
 * from o; the flow and buffer limits are split between them. */
struct workers *workers_new(unsigned n, const struct pipeline_opts *o, struct store *st);

/* The buffers for source_set_buffers. */
struct source_buffers workers_buffers(struct workers *ws);

/* Hands segments to their workers, in order (from the reading thread). */
void workers_segments(struct workers *ws, const struct segment *s, size_t n);

/* Passes the current time to every worker's pipeline (pipeline_tick). */
void workers_tick(struct workers *ws, double now);

/* Lets the workers follow what is queued, end every connection, and stop;
 * returns -1 if a row could not be written. */
int workers_finish(struct workers *ws, enum end_reason reason);

int workers_failed(const struct workers *ws);

/* After workers_finish: one worker's counters and flow statistics. */
unsigned workers_count(const struct workers *ws);
const struct pipeline_counters *workers_counters(const struct workers *ws, unsigned i);
const struct flow_stats *workers_flow_stats(const struct workers *ws, unsigned i);
/* While they run, from any thread: worker i's published counters
 * (pipeline_live). */
void workers_live(const struct workers *ws, unsigned i, struct pipeline_counters *c,
		  struct flow_stats *fs);
/* The CPU seconds worker i's thread used. */
double workers_cpu(const struct workers *ws, unsigned i);

/* Ends any thread still running; frees. NULL is fine. */
void workers_free(struct workers *ws);

#endif
