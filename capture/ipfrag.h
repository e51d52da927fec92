/* IP fragment reassembly, for IPv4 and IPv6 alike (the caller parses the
 * headers): fragments in any order are gathered per datagram, keyed by
 * (source, destination, identification, protocol) and the encapsulation
 * they came through, and the datagram is rebuilt once every byte from 0 to
 * the end given by the last fragment is there and the first fragment gave
 * the header. The first copy of a byte wins; a later copy that differs is
 * counted as a conflict, one that agrees as an overlap.
 *
 * Bounded: bytes held and datagrams pending have caps (the oldest datagram
 * goes first, counted), a datagram that is not complete within the timeout
 * (packet time, from its first fragment) is given up, and a datagram may
 * not exceed 65535 bytes. Nothing is allocated beyond the caps. */
#ifndef SMTPTLS_IPFRAG_H
#define SMTPTLS_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

/* Counters; the caller may count into tiny_first and truncated itself. */
struct ipfrag_stats {
	uint64_t fragments;    /* fragments taken in */
	uint64_t reassembled;  /* datagrams completed */
	uint64_t timed_out;    /* datagrams given up after the timeout */
	uint64_t dropped_cap;  /* datagrams dropped for a cap (bytes, datagrams, pieces) */
	uint64_t overlaps;     /* fragments overlapping earlier ones with the same bytes */
	uint64_t conflicts;    /* ... with different bytes (the first copy was kept) */
	uint64_t too_big;      /* fragments reaching beyond the largest datagram */
	uint64_t tiny_first;   /* first fragments too short for the transport header */
	uint64_t malformed;    /* bad lengths, two different ends, a header too long */
	uint64_t truncated;    /* fragments cut by the snapshot length */
	uint64_t pending;      /* datagrams incomplete now */
	uint64_t bytes_held;   /* bytes held for them now */
	uint64_t bytes_peak;   /* the most held at once */
};

struct ipfrag_limits {
	size_t max_bytes;      /* buffer bytes held, all pending datagrams */
	size_t max_datagrams;  /* datagrams pending */
	double timeout;        /* seconds from a datagram's first fragment */
	unsigned keep;         /* completed datagrams kept readable (see ipfrag_add) */
};

/* What identifies a datagram. Zero it before filling it (it is compared
 * and hashed as bytes). proto is 0 for IPv6 (RFC 8200 keys on the
 * addresses and the identification only); ctx tells encapsulations apart. */
struct ipfrag_key {
	uint8_t family;
	uint8_t proto;
	uint16_t zero;
	uint32_t id;
	uint32_t ctx;
	uint8_t src[16], dst[16];
};

#define IPFRAG_HDR_MAX 256        /* the header rebuilt in front of the payload */
#define IPFRAG_PAYLOAD_MAX 65535u

/* One fragment: payload bytes [offset, offset + len) of the datagram. */
struct ipfrag_piece {
	uint32_t offset;
	const uint8_t *data;
	size_t len;
	int more;              /* more fragments follow (not the last one) */
	uint32_t max_end;      /* the datagram's payload may not end beyond this */
	const uint8_t *hdr;    /* the offset 0 fragment: the header to put in */
	size_t hdr_len;        /* front of the payload (the unfragmentable part) */
};

/* A rebuilt datagram: hdr_len header bytes as given, then the payload. */
struct ipfrag_datagram {
	uint8_t *p;
	size_t len;
	size_t hdr_len;
};

enum { IPFRAG_DROPPED = -1, IPFRAG_HELD = 0, IPFRAG_DONE = 1 };

struct ipfrag;

/* Counts into *st (which the caller owns). NULL on no memory. */
struct ipfrag *ipfrag_new(const struct ipfrag_limits *lim, struct ipfrag_stats *st);
void ipfrag_free(struct ipfrag *t);

/* Takes a fragment in at packet time ts. IPFRAG_HELD: kept, the datagram
 * is not complete; IPFRAG_DONE: *out is the complete datagram, writable,
 * valid until lim->keep more datagrams have completed; IPFRAG_DROPPED: the
 * fragment (and, where it made the datagram impossible, the datagram) was
 * dropped, as counted. */
int ipfrag_add(struct ipfrag *t, const struct ipfrag_key *k, const struct ipfrag_piece *pc,
	       double ts, struct ipfrag_datagram *out);

/* Gives up datagrams whose first fragment came before now - timeout. */
void ipfrag_expire(struct ipfrag *t, double now);

#endif
