/* TCP stream reassembly for one connection, both directions.
 *
 * Segments go in in capture order; bytes come out in sequence order through
 * the sink, each byte once: retransmissions and overlaps are trimmed (the
 * first copy seen wins, a disagreeing copy is flagged), out-of-order
 * segments are held back up to a per-direction and a global byte budget.
 * A hole is declared a gap, and skipped, when the peer acknowledged bytes
 * beyond it (they were sent but not captured), when a budget is exhausted,
 * or at flush. Sequence numbers wrap; offsets are 64-bit.
 *
 * The two directions come out in the order the peers saw them, whatever
 * the capture order: data acknowledging bytes of the other direction waits
 * until those bytes came out. Two taps merged with a clock offset (one per
 * direction) deliver a reply before its command; held back, it follows the
 * command as on the wire. A direction stops waiting for good when the
 * bytes it waits for have not come within REASM_PEER_WAIT seconds of
 * packet time (the other direction is not captured, or lost them), when a
 * budget runs out, and at flush. */
#ifndef SMTPTLS_REASM_H
#define SMTPTLS_REASM_H

#include <stddef.h>
#include <stdint.h>

struct reasm_sink {
	void (*data)(void *ctx, int dir, const uint8_t *p, size_t len);
	void (*gap)(void *ctx, int dir, uint64_t len);
};

/* Shared between all connections of a flow table: bytes held back. */
struct reasm_budget {
	size_t used;
	size_t cap;
	uint64_t overflows; /* times a cap forced data to be skipped */
};

struct reasm_stats {
	uint64_t delivered[2];  /* bytes handed to the sink */
	uint64_t gap_bytes[2];  /* bytes declared lost */
	uint64_t retransmitted; /* segments entirely seen before */
	uint32_t anomalies;     /* enum anomaly bits (gap, overlap, overflow...) */
};

#define REASM_DIR_CAP_DEFAULT (256 * 1024) /* held back per direction */
#define REASM_SEGS_MAX 512                  /* segments held per direction */
#define REASM_PEER_WAIT 0.5                 /* seconds data waits for the bytes it acknowledges
                                             * (two taps skew by up to 100 ms) */

struct reasm;

struct reasm *reasm_new(struct reasm_budget *budget, size_t dir_cap,
			const struct reasm_sink *sink, void *ctx);
/* Frees held segments without delivering them. */
void reasm_free(struct reasm *r);

/* A segment of direction dir with its TCP flags, captured at time ts; ack
 * is used when the ACK flag is set (it acknowledges the other direction).
 * caplen bytes of payload were captured out of wirelen sent (wirelen >
 * caplen when the snapshot length cut it). The acknowledgement is applied
 * first, so bytes it proves lost are declared before this segment's own
 * bytes. A SYN (or SYN-ACK) for a direction already started from its data
 * proves the start was seen, if its sequence number leads to that data. */
void reasm_segment(struct reasm *r, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
		   const uint8_t *payload, size_t caplen, size_t wirelen, double ts);

/* The capture's order is not the peers' (the caller saw acknowledgements
 * of bytes not captured yet: two taps with a clock offset): a hole the
 * peer acknowledged is declared a gap only after REASM_PEER_WAIT, the
 * bytes may yet come from the other tap. */
void reasm_skewed(struct reasm *r);

/* Delivers everything held back, declaring gaps for the holes. */
void reasm_flush(struct reasm *r);

/* 1 when both directions have delivered up to their FIN. */
int reasm_closed(const struct reasm *r);

/* 1 if a direction started from data whose start no SYN proved (and the
 * other direction had not started): the connection was picked up midway. */
int reasm_midstream(const struct reasm *r);

const struct reasm_stats *reasm_stats(const struct reasm *r);

#endif
