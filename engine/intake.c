#include "intake.h"

#include <stdlib.h>

#include "../capture/flow.h"
#include "live.h"

#define PUBLISH_EVERY 4096 /* frames between two snapshots of the counters */
_Static_assert(LIVE_FITS(struct intake_counters), "intake counters in a snapshot");

struct intake {
	struct decoder *dec; /* tunnels, and the IP fragments held for reassembly */
	int classify;
	struct intake_counters c;
	struct port_map ports;
	struct live pub;         /* c, as last published */
};

struct intake *intake_new(int linktype, const struct port_map *ports, int classify)
{
	struct intake *in = calloc(1, sizeof *in);
	if (!in)
		return NULL;
	in->dec = decoder_new(linktype, NULL);
	if (!in->dec) {
		free(in);
		return NULL;
	}
	in->classify = classify;
	in->ports = *ports;
	return in;
}

void intake_free(struct intake *in)
{
	if (in)
		decoder_free(in->dec);
	free(in);
}

/* The one decoding call: a frame down to its TCP segment, through tunnels
 * and IP fragment reassembly. A fragment kept for reassembly counts as a
 * fragment; UDP (tunnels are decoded inside the decoder) goes no further
 * here. */
static int decode_one(struct intake *in, const struct frame *f, struct tcp_packet *t)
{
	int rc = decoder_frame(in->dec, f->data, f->caplen, f->ts, t);
	if (rc == DECODE_HELD)
		return DECODE_FRAGMENT;
	if (rc == DECODE_OK && t->proto != DECODE_PROTO_TCP)
		return DECODE_NOT_TCP;
	return rc;
}

/* 1 (and counted) if a decoded frame goes no further: not TCP, not
 * decodable, or on no followed port (unless classifying). */
static int skip(struct intake *in, int rc, const struct tcp_packet *t)
{
	struct intake_counters *c = &in->c;
	if (rc == DECODE_NOT_TCP)
		c->non_tcp++;
	else if (rc == DECODE_TRUNCATED)
		c->truncated++;
	else if (rc == DECODE_FRAGMENT)
		c->fragments++;
	else if (rc < 0)
		c->decode_errors++;
	else if (!in->classify && in->ports.kind[t->sport] == PORT_NONE &&
		 in->ports.kind[t->dport] == PORT_NONE)
		c->other_ports++;
	else
		return 0;
	return 1;
}

/* 1 if p[0..n) lies inside the frame's captured bytes. */
static int in_frame(const struct frame *f, const uint8_t *p, size_t n)
{
	return p >= f->data && n <= f->caplen && (size_t)(p - f->data) <= f->caplen - n;
}

int intake_frame(struct intake *in, const struct frame *f, struct segment *seg)
{
	if (++in->c.packets % PUBLISH_EVERY == 0)
		live_publish(&in->pub, &in->c, sizeof in->c);
	in->c.bytes += f->wirelen;
	int rc = decode_one(in, f, &seg->t);
	if (skip(in, rc, &seg->t))
		return 0;
	seg->hash = flow_packet_hash(&seg->t);
	seg->ts = f->ts;
	seg->lasting = f->lasting && in_frame(f, seg->t.l3, seg->t.l3_len) &&
		       (seg->t.caplen == 0 || in_frame(f, seg->t.payload, seg->t.caplen));
	return 1;
}

void intake_tick(struct intake *in, double now)
{
	decoder_expire(in->dec, now); /* fragments: by packet time as well, inside */
	live_publish(&in->pub, &in->c, sizeof in->c);
}

const struct intake_counters *intake_counters(const struct intake *in)
{
	return &in->c;
}

void intake_live(const struct intake *in, struct intake_counters *c)
{
	live_read(&in->pub, c, sizeof *c);
}

size_t intake_decoder_counters(const struct intake *in, struct decoder_counter *out, size_t cap)
{
	return decoder_counters(in->dec, out, cap);
}

void intake_counters_add(struct intake_counters *to, const struct intake_counters *c)
{
	to->packets += c->packets;
	to->bytes += c->bytes;
	to->decode_errors += c->decode_errors;
	to->truncated += c->truncated;
	to->non_tcp += c->non_tcp;
	to->fragments += c->fragments;
	to->other_ports += c->other_ports;
}
