/* The capture pipeline: frame -> TCP segment -> flow -> reassembled bytes
 * -> session dissection -> session record -> store. */
#ifndef SMTPTLS_PIPELINE_H
#define SMTPTLS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/flow.h"
#include "../capture/source.h"
#include "../store/store.h"
#include "ports.h"

struct pipeline_opts {
	const struct port_map *ports;
	int classify;            /* nDPI looks for SMTP on other ports */
	struct flow_limits limits;
	int linktype;
	int live;                /* idle flows expire by the wall clock too */
	const uint8_t *anon_key; /* ANON_KEY_BYTES: anonymise addresses; or NULL */
	unsigned shard, shards;  /* when several pipelines read the same frames:
				  * this one takes the connections whose hash
				  * falls to shard, and only shard 0 counts
				  * frames; 0, 0 (or 0, 1) when alone */
};

/* Which of shards a connection belongs to (the flow hash's high bits: the
 * flow table's buckets use the low ones). */
unsigned pipeline_shard_of(const struct tcp_packet *t, unsigned shards);

struct pipeline_counters {
	uint64_t packets, bytes;
	uint64_t decode_errors;   /* malformed headers, unknown link types */
	uint64_t truncated;       /* headers cut by the snapshot length */
	uint64_t non_tcp;
	uint64_t fragments;
	uint64_t other_ports;     /* TCP not on a watched port */
	uint64_t sessions;        /* rows written */
	uint64_t without_payload; /* connections that carried no byte */
	uint64_t classified_away; /* classified as not SMTP */
};

struct pipeline;

/* The store is borrowed: the caller opens and closes it. With a NULL store
 * records are built and counted but not written (the fuzz target). */
struct pipeline *pipeline_new(const struct pipeline_opts *o, struct store *st);

/* Ends every open connection, writing its row. Returns -1 if any row
 * could not be written (see store_error). */
int pipeline_finish(struct pipeline *pl, enum end_reason reason);

/* Frees (ending, and writing, any connection still open). NULL is fine. */
void pipeline_free(struct pipeline *pl);

/* A source_frames_fn: decodes the frames and follows their connections. */
void pipeline_frames(void *pl, const struct frame *f, size_t n);

/* 1 (and counted in c) if a decoded frame goes no further: not TCP, not
 * decodable, or on no watched port (unless classifying). */
int pipeline_skip(struct pipeline_counters *c, const struct port_map *ports, int classify,
		  int decode_rc, const struct tcp_packet *t);
void pipeline_tick(void *pl, double now);

/* 1 once a store write failed: the run should stop. */
int pipeline_failed(const struct pipeline *pl);

const struct pipeline_counters *pipeline_counters(const struct pipeline *pl);
const struct flow_stats *pipeline_flow_stats(const struct pipeline *pl);

#endif
