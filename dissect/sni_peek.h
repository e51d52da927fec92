/* The SNI of TLS ClientHellos to port 443, without following HTTPS
 * connections (issue 17: an MTA-STS policy fetch is a ClientHello with
 * SNI mta-sts.DOMAIN).
 *
 * Design note.
 * - A connection's first client segment that starts a TLS handshake
 *   record holding a ClientHello is read at once when the record is all
 *   there; hello.c parses it (the one ClientHello parser).
 * - A ClientHello longer than its first segment (post-quantum key shares
 *   make ~1.8 kB hellos, more than one 1460-byte segment) waits in one of
 *   SNI_PEEK_SLOTS slots, keyed by the connection and the next sequence
 *   number, for the segment that completes the record: two segments are
 *   supported, in order. Anything else is "unread" and counted: a record
 *   needing a third segment, a continuation out of order or lost, a slot
 *   taken over by another hello (the oldest goes), one waiting longer than
 *   SNI_PEEK_WAIT seconds of packet time, a hello spread over several
 *   records. Every other port-443 segment costs one look at a slot.
 * - Memory: at most SNI_PEEK_SLOTS records of at most SNI_PEEK_RECORD
 *   bytes, allocated while waiting (~1 MiB at worst).
 * - Not thread-safe: one per reading thread. */
#ifndef SMTPTLS_SNI_PEEK_H
#define SMTPTLS_SNI_PEEK_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define SNI_PEEK_SLOTS 64
#define SNI_PEEK_RECORD (5 + 16384 + 256) /* a record header and the largest body */
#define SNI_PEEK_WAIT 3.0

/* One TCP segment, client to server (dport 443), as the decoder gave it. */
struct sni_seg {
	uint8_t family;
	const uint8_t *src, *dst; /* 4 or 16 bytes */
	uint16_t sport, dport;
	uint32_t seq;
	const uint8_t *payload;
	size_t len;               /* captured payload bytes */
	size_t wirelen;           /* payload bytes on the wire */
	double ts;
};

enum sni_peek_result {
	SNI_PEEK_NONE = 0, /* not a ClientHello (or nothing new) */
	SNI_PEEK_WAIT_MORE,/* a ClientHello waits for its second segment */
	SNI_PEEK_HELLO,    /* a ClientHello was read: sni holds its SNI ("" for none) */
	SNI_PEEK_UNREAD,   /* a ClientHello whose SNI could not be read */
};

struct sni_peek_stats {
	uint64_t hellos;      /* ClientHellos read */
	uint64_t two_segments;/* of those, completed by a second segment */
	uint64_t unread;      /* ClientHellos that could not be read (above) */
};

/* A waiting hello given up (unread): its client's address and its time. */
typedef void (*sni_peek_lost_fn)(void *ctx, uint8_t family, const uint8_t *src, double ts);

struct sni_peek;

/* lost is called for each waiting hello given up later than its own
 * segments (a slot taken over, a timeout; NULL: only counted); a hello
 * found unread on one of its segments is SNI_PEEK_UNREAD instead. NULL if
 * out of memory. */
struct sni_peek *sni_peek_new(sni_peek_lost_fn lost, void *ctx);
void sni_peek_free(struct sni_peek *p);

/* Looks at one client segment to port 443. With SNI_PEEK_HELLO the SNI is
 * written, sanitised (text.h), into sni (REC_NAME_MAX bytes). */
enum sni_peek_result sni_peek_segment(struct sni_peek *p, const struct sni_seg *s,
				      char sni[REC_NAME_MAX]);

/* Gives up the hellos waiting since before now - SNI_PEEK_WAIT (all of
 * them with now = INFINITY, at the end of a capture). */
void sni_peek_expire(struct sni_peek *p, double now);

const struct sni_peek_stats *sni_peek_stats(const struct sni_peek *p);

#endif
