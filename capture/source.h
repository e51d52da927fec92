/* Packet sources through libpcap: a capture file (pcap or pcapng) or a
 * live interface, with an optional BPF filter. The only module that
 * includes pcap.h. */
#ifndef SMTPTLS_SOURCE_H
#define SMTPTLS_SOURCE_H

#include <stddef.h>
#include <stdint.h>

struct source_opts {
	const char *file;      /* either a file ... */
	const char *iface;     /* ... or an interface */
	const char *filter;    /* BPF expression or NULL */
	int snaplen;           /* live capture: bytes kept per packet */
	int buffer_mb;         /* live capture: kernel ring buffer size */
	int promisc;
};

struct source_stats {
	uint64_t received;     /* packets handed to us */
	uint64_t dropped_kernel;
	uint64_t dropped_iface;
	int valid;             /* live capture statistics were read */
};

/* One frame as read; its bytes stay valid until the callback returns. */
struct frame {
	double ts;
	const uint8_t *data;
	uint32_t caplen, wirelen;
};

#define SOURCE_BATCH 16 /* frames per callback at most */

/* Frames in capture order: up to SOURCE_BATCH at once from a classic pcap file,
 * so that the receiver can ask for the memory they will touch before it
 * needs it; one at a time from libpcap. */
typedef void (*source_frames_fn)(void *ctx, const struct frame *f, size_t n);
/* Called between batches of a live capture (about every 100 ms) with the
 * current wall-clock time, and once at the end of a file. */
typedef void (*source_tick_fn)(void *ctx, double now);

struct source;

/* Opens the source; on failure returns a negative code and writes a
 * message naming the file or interface into err. A bad filter returns
 * SOURCE_EFILTER. */
enum { SOURCE_EOPEN = -1, SOURCE_EFILTER = -2, SOURCE_ELINK = -3 };
int source_open(struct source **out, const struct source_opts *o, char *err, size_t errlen);
void source_close(struct source *s);

int source_linktype(const struct source *s);
const char *source_name(const struct source *s);
int source_is_live(const struct source *s);

/* Reads until the end of the file, source_stop(), or an error (-1, with
 * err naming the source). Packets read before an error were delivered. */
int source_run(struct source *s, source_frames_fn fn, source_tick_fn tick, void *ctx,
	       char *err, size_t errlen);

/* 1 if several threads may each read the whole source at once (a classic
 * pcap file, which each reads with a buffer of its own). */
int source_can_share(const struct source *s);

/* Reads the whole shared source from its start with a buffer of its own;
 * several threads may do this at once (one of them may use source_run,
 * whose position the progress bar follows). */
int source_run_shared(struct source *s, source_frames_fn fn, void *ctx, char *err,
		      size_t errlen);

/* Asks source_run to return; safe to call from a signal handler. */
void source_stop(struct source *s);

/* Bytes of the file read so far and its size (0 for live sources). */
void source_progress(const struct source *s, uint64_t *done, uint64_t *total);

void source_stats(struct source *s, struct source_stats *st);

#endif
