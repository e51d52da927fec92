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

/* One frame as read. Its bytes stay valid until the callback returns;
 * lasting frames' bytes stay valid until the buffer holding them is handed
 * back (source_buffers) and the provider reuses it. */
struct frame {
	double ts;
	const uint8_t *data;
	uint32_t caplen, wirelen;
	int lasting;
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

/* Buffers for a classic pcap file, so that its frames outlive the
 * callback (lasting): get returns one of SOURCE_READ_BUFFER bytes (it may
 * wait for one; NULL ends the run with an error), put hands back one the
 * reader has moved past, whose frames the provider may still be using.
 * Without a provider the reader keeps one buffer of its own and its frames
 * are not lasting; other sources' frames never are. Set before
 * source_run; returns 1 if the source reads into them, 0 if it cannot. */
#define SOURCE_READ_BUFFER ((1u << 20) + 16 + 262144)
struct source_buffers {
	uint8_t *(*get)(void *ctx);
	void (*put)(void *ctx, uint8_t *buf);
	void *ctx;
};
int source_set_buffers(struct source *s, const struct source_buffers *b);

/* Live capture: joins the interface's socket to a PACKET_FANOUT group
 * (hash of the flow, symmetric, after IP defragmentation) so that the
 * kernel gives each socket of the group its share of the flows. With
 * *group negative a new group is made (its id, unique in the network
 * namespace, into *group); otherwise the group *group is joined. Returns
 * 0, or -1 with a message naming the interface. */
int source_fanout(struct source *s, int *group, char *err, size_t errlen);

/* Asks source_run to return; safe to call from a signal handler. */
void source_stop(struct source *s);

/* Bytes of the file read so far and its size (0 for live sources). */
void source_progress(const struct source *s, uint64_t *done, uint64_t *total);

void source_stats(struct source *s, struct source_stats *st);

#endif
