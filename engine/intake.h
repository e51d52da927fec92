/* The intake: the one place a frame is decoded. Each reading thread owns
 * one (it holds the decoder, and with it the IP fragments waiting for
 * reassembly): a frame goes in, a TCP segment on a followed port comes out
 * with its symmetric flow hash and time stamp, or the frame is counted
 * and dropped. Nothing after the intake decodes again. */
#ifndef SMTPTLS_INTAKE_H
#define SMTPTLS_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/decode.h"
#include "../capture/source.h"
#include "../dissect/pdns.h"
#include "ports.h"

#define DNS_PORT 53
#define HTTPS_PORT 443

/* DNS segments (UDP or TCP, port 53) all go to one owner: their flow hash
 * keeps its low bits (the flow table's buckets) and loses the high ones
 * (the worker: workers.c takes hash >> 16), so that the passive-DNS table
 * is fed in capture order whatever the number of workers. */
#define INTAKE_DNS_HASH(h) ((h) & 0xffffu)

/* A decoded segment on its way to the flow table that owns its hash. */
struct segment {
	struct tcp_packet t;
	uint32_t hash;   /* flow_packet_hash(&t): the same both ways */
	int lasting;     /* t's bytes lie in the frame, and the frame was lasting
			  * (struct frame): they outlive the source's callback */
	double ts;
	uint64_t seq;    /* its place among all segments handed to workers */
};

struct intake_counters {
	uint64_t packets, bytes;  /* frames read, their wire length */
	uint64_t decode_errors;   /* malformed headers, unknown link types */
	uint64_t truncated;       /* headers cut by the snapshot length */
	uint64_t non_tcp;
	uint64_t fragments;
	uint64_t other_ports;     /* TCP not on a followed port */
	uint64_t dns_udp;         /* UDP datagrams to or from port 53, passed on */
	uint64_t dns_tcp;         /* TCP segments to or from port 53, passed on */
	uint64_t https_segments;  /* client segments to port 443 looked at */
	uint64_t https_hellos;    /* ClientHellos read, their SNI to the table */
	uint64_t https_two_segments; /* of those, completed by a second segment */
	uint64_t https_unread;    /* ClientHellos whose SNI could not be read */
};

struct intake;

/* NULL if out of memory. ports is copied. With classify set every TCP
 * segment goes on (nDPI decides later), else only those on a followed
 * port. */
struct intake *intake_new(int linktype, const struct port_map *ports, int classify);
void intake_free(struct intake *in);

/* Follows DNS: UDP and TCP on port 53 go on (to the owner of
 * INTAKE_DNS_HASH), and the SNI of ClientHellos to port 443 is read here
 * (dissect/sni_peek.h) into t, borrowed. The table's watch starts at the
 * first frame. 0, or -1 when out of memory. */
int intake_follow_dns(struct intake *in, struct pdns *t);

/* Gives up the ClientHellos still waiting for their second segment (the
 * end of a capture). */
void intake_finish(struct intake *in);

/* Decodes one frame: 1 with *seg filled when the segment goes on, 0 when
 * the frame was counted and goes no further. seg's pointers stay valid as
 * long as the frame's bytes (see struct frame) and, for bytes the decoder
 * holds itself, for SOURCE_BATCH further calls. */
int intake_frame(struct intake *in, const struct frame *f, struct segment *seg);

/* Called between batches with the current time (decoder housekeeping). */
void intake_tick(struct intake *in, double now);

const struct intake_counters *intake_counters(const struct intake *in);
/* From any thread: the counters as the owning thread last published them
 * (at each tick and every few thousand frames). */
void intake_live(const struct intake *in, struct intake_counters *c);
/* The decoder's named counters (per encapsulation, IP fragments). */
size_t intake_decoder_counters(const struct intake *in, struct decoder_counter *out, size_t cap);
void intake_counters_add(struct intake_counters *to, const struct intake_counters *c);

#endif
