/* The engine: a packet source to rows in the store.
 *
 *   frame -> intake (decode once, flow hash) -> pipeline (flow table and
 *   reassembly -> SMTP/TLS dissection -> session record) -> store_add()
 *
 * With one thread everything runs in line in the calling thread. With
 * --threads N:
 *  - a live interface is opened N times, the sockets joined in one
 *    PACKET_FANOUT group (hash mode, defragmenting): the kernel spreads
 *    the flows, and each handle's thread runs its own intake and pipeline;
 *  - a file (classic pcap, pcapng, standard input) is read and decoded by
 *    the calling thread, which hands each segment to the one of N worker
 *    threads that owns its flow hash (workers.h).
 * Either way a connection is followed by exactly one thread: the rows are
 * those of one thread. The engine asks the store for nothing but
 * store_add() and store_tick().
 *
 * Following DNS (issue 17), one passive-DNS table serves every thread.
 * Each reading thread's intake passes UDP and TCP on port 53 on, and reads
 * the SNI of port-443 ClientHellos into the table itself. Fed by a reader,
 * every DNS segment goes to one worker (intake.h, INTAKE_DNS_HASH), so the
 * table gets DNS in capture order; a session's record is built once that
 * worker has followed every segment read before the session's first one
 * (workers.h), and the table answers as of the session's start: the rows
 * are those of one thread (tests/e2e/dns_threads.sh). Live on fanout
 * sockets the kernel spreads DNS over the threads: an answer read by
 * another thread a moment before a session starts may not be in the table
 * yet when the session ends (rare: a record is built at the session's
 * end), and an address answer taken before its MX answer is not kept. */
#ifndef SMTPTLS_ENGINE_H
#define SMTPTLS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/flow.h"
#include "../capture/source.h"
#include "../dissect/pdns.h"
#include "../store/store.h"
#include "intake.h"
#include "pipeline.h"
#include "ports.h"
#include "workers.h"

#define ENGINE_THREADS_MAX WORKERS_MAX
#define ENGINE_DNS_COUNTERS_MAX 64

struct engine_opts {
	struct source_opts src;       /* a file or an interface, the BPF filter */
	const struct port_map *ports; /* copied */
	int classify;
	struct flow_limits limits;    /* for the whole engine: split over threads */
	const uint8_t *anon_key;      /* ANON_KEY_BYTES, or NULL */
	unsigned threads;             /* 1 to ENGINE_THREADS_MAX */
	int dns;                      /* follow DNS (port 53) and port-443 ClientHellos */
	struct pdns_limits dns_limits;/* the passive-DNS table's (with dns) */
};

/* What one thread did: frames read from its fanout socket (or, fed by a
 * reader, segments handed to it), rows written. */
struct engine_thread_totals {
	uint64_t packets;
	uint64_t sessions;
	double cpu;                   /* CPU seconds */
};

struct engine_totals {
	struct intake_counters in;    /* summed over the intakes */
	struct pipeline_counters pl;  /* summed over the pipelines */
	struct flow_stats flows;      /* summed (peaks too) */
	struct source_stats src;      /* summed over the capture handles */
	unsigned threads;
	struct engine_thread_totals thread[ENGINE_THREADS_MAX];
	double reader_cpu;            /* a reader feeding workers: its CPU seconds */
	/* the decoders' named counters, summed by name over the intakes
	 * (peaks: the sum of each decoder's peak) */
	struct decoder_counter counters[DECODER_COUNTERS_MAX];
	size_t ncounters;
	/* following DNS: "dns.*", "https.*", "pdns.*" counters (none without);
	 * "dns.followed" 1, "dns.link_carried_dns" 1 when any DNS message came */
	struct decoder_counter dns_counters[ENGINE_DNS_COUNTERS_MAX];
	size_t n_dns_counters;
};

struct engine;

/* Opens the source (for a live capture with several threads, one handle
 * per thread). 0 on success; 1 on success with a warning in err (fanout
 * unavailable: one reader feeds the workers instead); a negative
 * SOURCE_E* code with a message naming the file or interface in err. */
int engine_open(struct engine **out, const struct engine_opts *o, char *err, size_t errlen);

const char *engine_source_name(const struct engine *e);
int engine_is_live(const struct engine *e);
/* The (first) source, for its progress through a file. */
const struct source *engine_source(const struct engine *e);

/* Makes the pipelines and threads, writing to st (borrowed; NULL: rows
 * are built and counted, not written). -1 when out of memory or threads. */
int engine_start(struct engine *e, struct store *st);

/* Reads until the end of the file, engine_stop() or an error: 0, or -1
 * with a message naming the source (what was read before still counts).
 * on_frames (NULL for none) is called in the reading thread after each
 * batch of n frames read from a file: the progress bar. */
typedef void (*engine_frames_fn)(void *ctx, size_t n);
int engine_run(struct engine *e, engine_frames_fn on_frames, void *ctx, char *err,
	       size_t errlen);

/* Asks engine_run to return; safe in a signal handler. */
void engine_stop(struct engine *e);

/* Ends every connection still open, writing its row, and stops the
 * threads. -1 if a row could not be written (see store_error). */
int engine_finish(struct engine *e, enum end_reason reason);

/* After engine_finish. */
void engine_totals(const struct engine *e, struct engine_totals *t);

/* While engine_run runs, from any thread, without a lock: the totals as
 * each thread last published them (at its ticks, about every 100 ms live,
 * and every few thousand packets); thread[] and the CPU seconds are left
 * out. Between engine_start and engine_close. */
void engine_live(const struct engine *e, struct engine_totals *t);

/* Closes the sources, frees everything. NULL is fine. */
void engine_close(struct engine *e);

#endif
