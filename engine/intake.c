#include "intake.h"

#include <stdlib.h>

#include "../capture/flow.h"
#include "live.h"

#define PUBLISH_EVERY 4096 /* frames between two snapshots of the counters */
_Static_assert(LIVE_FITS(struct intake_counters), "intake counters in a snapshot");

struct intake {
	/* The decoder. Today's decode_frame() is stateless; the stateful
	 * decoder (decoder_new/decoder_frame/decoder_expire, contract C4)
	 * takes this field's place, and decode_one() below is the only call
	 * that changes. */
	const struct link_decoder *link;
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
	in->link = decode_link(linktype);
	in->classify = classify;
	in->ports = *ports;
	return in;
}

void intake_free(struct intake *in)
{
	free(in);
}

/* The one decoding call: a frame down to its TCP segment. With the
 * stateful decoder this becomes decoder_frame(in->dec, f->data,
 * f->caplen, f->ts, t), whose DECODE_HELD (a fragment kept for
 * reassembly) skip() counts as a fragment. */
static int decode_one(struct intake *in, const struct frame *f, struct tcp_packet *t)
{
	return decode_frame(in->link, f->data, f->caplen, t);
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
	(void)now; /* decoder_expire(in->dec, now) with the stateful decoder */
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
