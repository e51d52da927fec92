/* The flow table: TCP connections keyed by their 5-tuple (both directions
 * map to one entry), each with its reassembler and the caller's per-flow
 * data. Bounded: a cap on flows (the least recently seen is evicted) and
 * on bytes held for reassembly; idle flows time out by packet time.
 *
 * Whether a SYN (or SYN-ACK) opens a new connection on a known 5-tuple is
 * decided from sequence numbers, not arrival order: the ISN seen (or one
 * leading to the first data seen) is the same connection, come late from
 * a second tap; other ISNs are a new one once the old one ended, or
 * outside its sequence numbers. An RST ends a flow once the peer's bytes
 * it acknowledges were seen, or REASM_PEER_WAIT later (an RST without
 * ACK: at once, unless the flow showed two skewed taps). */
#ifndef SMTPTLS_FLOW_H
#define SMTPTLS_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"
#include "decode.h"

struct flow_info {
	uint8_t family;          /* 4 or 6 */
	uint8_t client[16], server[16];
	uint16_t client_port, server_port;
	double first_ts, last_ts;
	uint64_t packets;
	uint64_t payload[2];     /* TCP payload bytes on the wire, per direction */
	int midstream;           /* the connection's start was not captured */
	uint32_t anomalies;      /* reassembly anomalies (enum anomaly) */
};

struct flow_callbacks {
	/* 1 if this port is a server port (decides roles without a SYN). */
	int (*is_server_port)(void *ctx, uint16_t port);
	/* A new connection; returns the caller's per-flow data or NULL to
	 * leave the flow untracked. */
	void *(*open)(void *ctx, const struct flow_info *fi);
	/* Every packet of a tracked flow, before reassembly (optional). */
	void (*packet)(void *ctx, void *user, int dir, const struct tcp_packet *pkt, double ts);
	/* Reassembled bytes and gaps, per direction (DIR_C2S / DIR_S2C). */
	void (*data)(void *user, int dir, const uint8_t *p, size_t len);
	void (*gap)(void *user, int dir, uint64_t len);
	/* 1 when the flow needs no more bytes (optional). */
	int (*done)(void *user);
	/* The connection ended; the caller frees its data here. */
	void (*close)(void *ctx, void *user, const struct flow_info *fi, enum end_reason why);
};

struct flow_limits {
	size_t max_flows;       /* tracked at once, lingering closed ones included */
	size_t max_buffered;    /* bytes held for reassembly, all flows */
	size_t dir_buffered;    /* bytes held for reassembly, per direction */
	double idle_timeout;    /* seconds without a packet before a flow ends */
	double closed_linger;   /* seconds a closed flow absorbs late packets */
};

struct flow_stats {
	uint64_t created;
	uint64_t evicted;        /* pushed out by max_flows */
	uint64_t timed_out;
	uint64_t ignored_packets;/* no flow and nothing to start one */
	uint64_t reasm_overflows;
	size_t active, peak_active;
	size_t buffered, peak_buffered;
};

#define FLOW_LIMITS_DEFAULT {1000000, 256u << 20, 256u << 10, 300.0, 5.0}

struct flow_table;

struct flow_table *flow_table_new(const struct flow_limits *lim,
				  const struct flow_callbacks *cb, void *ctx);
/* Ends every flow, handing each to the close callback with reason. */
void flow_table_end_all(struct flow_table *ft, enum end_reason reason);

/* Ends every flow still open (END_EOF) and frees the table. NULL is fine. */
void flow_table_free(struct flow_table *ft);

void flow_table_packet(struct flow_table *ft, const struct tcp_packet *pkt, double ts);

/* The hash of a packet's connection, the same for both directions. */
uint32_t flow_packet_hash(const struct tcp_packet *pkt);

/* flow_table_packet for a packet whose flow_packet_hash is known. */
void flow_table_packet_hashed(struct flow_table *ft, const struct tcp_packet *pkt,
			      uint32_t hash, double ts);

/* Asks the memory system for what a packet with this hash will touch, so
 * that a batch of packets waits on memory once instead of once each: first
 * FLOW_PREFETCH_BUCKET for every packet of the batch, then
 * FLOW_PREFETCH_FLOW (which reads the bucket asked for). A hint: nothing
 * changes, and a flow ended in between is merely not used. */
enum flow_prefetch { FLOW_PREFETCH_BUCKET, FLOW_PREFETCH_FLOW };
void flow_table_prefetch(const struct flow_table *ft, uint32_t hash, enum flow_prefetch step);

/* Ends flows idle since before now - idle_timeout. */
void flow_table_expire(struct flow_table *ft, double now);

const struct flow_stats *flow_table_stats(const struct flow_table *ft);

#endif
