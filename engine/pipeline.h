/* One flow table and what hangs off it: decoded segments (from an intake)
 * -> flow and reassembly -> session dissection -> session record -> store.
 * A pipeline belongs to one thread; several pipelines may share a store. */
#ifndef SMTPTLS_PIPELINE_H
#define SMTPTLS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/flow.h"
#include "../dissect/dns.h"
#include "../dissect/pdns.h"
#include "../store/store.h"
#include "intake.h"
#include "ports.h"

/* Waits until every DNS segment handed out before seq has been followed
 * (workers.c, with several workers fed by one reader); 1 if it had to
 * wait. */
typedef int (*pipeline_dns_wait_fn)(void *ctx, uint64_t seq);

struct pipeline_opts {
	const struct port_map *ports; /* copied */
	int classify;            /* nDPI looks for SMTP on other ports */
	struct flow_limits limits;
	int live;                /* idle flows expire by the wall clock too */
	const uint8_t *anon_key; /* ANON_KEY_BYTES: anonymise addresses; or NULL */
	struct pdns *pdns;       /* following DNS: the passive-DNS table, borrowed (NULL: off) */
	pipeline_dns_wait_fn dns_wait; /* NULL: DNS is fed in line (one thread, or fanout) */
	void *dns_wait_ctx;
};

struct pipeline_counters {
	uint64_t segments;        /* segments followed */
	uint64_t sessions;        /* rows written */
	uint64_t without_payload; /* connections that carried no byte */
	uint64_t classified_away; /* classified as not SMTP */
	uint64_t by_transport[4]; /* sessions by enum transport */
	uint64_t encrypted;       /* sessions whose TLS handshake completed */
	uint64_t dns_udp;         /* DNS datagrams given to the parser */
	uint64_t dns_udp_cut;     /* DNS datagrams cut by the snapshot length: skipped */
	uint64_t dns_tcp_flows;   /* TCP connections on port 53 followed */
	uint64_t dns_tcp_messages;/* DNS messages cut out of them */
	uint64_t dns_tcp_oversize;/* messages longer than kept, skipped */
	uint64_t dns_tcp_lost;    /* directions whose framing a gap lost */
	uint64_t dns_waits;       /* records that had to wait for the DNS worker */
	struct dns_stats dns;     /* the parser's counters */
};

struct pipeline;

/* The store is borrowed: the caller opens and closes it. With a NULL store
 * records are built and counted but not written (the fuzz target). */
struct pipeline *pipeline_new(const struct pipeline_opts *o, struct store *st);

/* Follows a batch of segments in order (at most SOURCE_BATCH at a time
 * are worked on together: their memory is asked for before it is used). */
void pipeline_segments(struct pipeline *pl, const struct segment *s, size_t n);

/* The current wall-clock time: live flows idle too long end; the store
 * commits what is due. */
void pipeline_tick(struct pipeline *pl, double now);

/* Nothing is queued for this pipeline (its clock in the passive-DNS table
 * holds nothing back). */
void pipeline_idle(struct pipeline *pl);

/* Ends every open connection, writing its row. Returns -1 if any row
 * could not be written (see store_error). */
int pipeline_finish(struct pipeline *pl, enum end_reason reason);

/* Frees (ending, and writing, any connection still open). NULL is fine. */
void pipeline_free(struct pipeline *pl);

/* 1 once a store write failed: the run should stop. */
int pipeline_failed(const struct pipeline *pl);

const struct pipeline_counters *pipeline_counters(const struct pipeline *pl);
const struct flow_stats *pipeline_flow_stats(const struct pipeline *pl);
/* From any thread: the counters and flow statistics as the owning thread
 * last published them (at each tick and every few thousand segments). */
void pipeline_live(const struct pipeline *pl, struct pipeline_counters *c,
		   struct flow_stats *fs);

void pipeline_counters_add(struct pipeline_counters *to, const struct pipeline_counters *c);
void flow_stats_add(struct flow_stats *to, const struct flow_stats *f);

#endif
