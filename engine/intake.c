#include "intake.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/flow.h"
#include "live.h"

#define PUBLISH_EVERY 4096 /* frames between two snapshots of the counters */
_Static_assert(LIVE_FITS(struct intake_counters), "intake counters in a snapshot");
#include "../dissect/sni_peek.h"

struct intake {
	struct decoder *dec; /* tunnels, and the IP fragments held for reassembly */
	int classify;
	struct intake_counters c;
	struct port_map ports;
	struct live pub;         /* c, as last published */
	struct pdns *pdns;     /* following DNS: the table, borrowed */
	struct sni_peek *peek; /* ... and the ClientHellos to port 443 */
	int started;           /* a frame was seen */
	double peek_expired;   /* packet time of the last sni_peek_expire */
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
	if (in) {
		decoder_free(in->dec);
		sni_peek_free(in->peek);
	}
	free(in);
}

/* A ClientHello given up while waiting for its second segment. */
static void hello_lost(void *ctx, uint8_t family, const uint8_t *src, double ts)
{
	struct intake *in = ctx;
	struct pdns_addr a = pdns_addr_make(family, src);
	in->c.https_unread++;
	pdns_add_https(in->pdns, &a, NULL, ts);
}

int intake_follow_dns(struct intake *in, struct pdns *t)
{
	in->pdns = t;
	if (t && !in->peek && !(in->peek = sni_peek_new(hello_lost, in)))
		return -1;
	return 0;
}

void intake_finish(struct intake *in)
{
	if (in->peek)
		sni_peek_expire(in->peek, INFINITY);
}

static int is_dns(const struct tcp_packet *t)
{
	return t->sport == DNS_PORT || t->dport == DNS_PORT;
}

/* The one decoding call: a frame down to its TCP segment, through tunnels
 * and IP fragment reassembly. A fragment kept for reassembly counts as a
 * fragment; UDP (tunnels are decoded inside the decoder) goes no further
 * here, but for DNS when it is followed. */
static int decode_one(struct intake *in, const struct frame *f, struct tcp_packet *t)
{
	int rc = decoder_frame(in->dec, f->data, f->caplen, f->ts, t);
	if (rc == DECODE_HELD)
		return DECODE_FRAGMENT;
	if (rc == DECODE_OK && t->proto != DECODE_PROTO_TCP && !(in->pdns && is_dns(t)))
		return DECODE_NOT_TCP;
	return rc;
}

/* A client segment to port 443: its ClientHello's SNI to the table. */
static void peek_https(struct intake *in, const struct tcp_packet *t, double ts)
{
	struct sni_seg s = {t->family, t->src, t->dst, t->sport, t->dport, t->seq,
			    t->payload, t->caplen, t->wirelen, ts};
	char sni[REC_NAME_MAX];
	struct pdns_addr client;
	in->c.https_segments++;
	if (ts > in->peek_expired + 1 || ts < in->peek_expired) {
		sni_peek_expire(in->peek, ts);
		in->peek_expired = ts;
	}
	switch (sni_peek_segment(in->peek, &s, sni)) {
	case SNI_PEEK_HELLO:
		client = pdns_addr_make(t->family, t->src);
		in->c.https_hellos++;
		pdns_add_https(in->pdns, &client, sni, ts);
		break;
	case SNI_PEEK_UNREAD:
		hello_lost(in, t->family, t->src, ts);
		break;
	default:
		break;
	}
	in->c.https_two_segments = sni_peek_stats(in->peek)->two_segments;
}

/* Following DNS: 1 if the decoded segment is DNS (it goes on, counted),
 * 0 otherwise; a client segment to port 443 is looked at and goes no
 * further (-1). */
static int dns_segment(struct intake *in, int rc, const struct tcp_packet *t, double ts)
{
	if (!in->pdns || rc != DECODE_OK)
		return 0;
	if (is_dns(t)) {
		pdns_note_dns(in->pdns);
		if (t->proto == DECODE_PROTO_UDP)
			in->c.dns_udp++;
		else
			in->c.dns_tcp++;
		return 1;
	}
	if (t->dport == HTTPS_PORT && t->caplen > 0 && in->ports.kind[HTTPS_PORT] == PORT_NONE) {
		peek_https(in, t, ts);
		return in->classify ? 0 : -1;
	}
	return 0;
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
	if (in->pdns && !in->started)
		pdns_expire(in->pdns, f->ts); /* the table's watch starts here */
	in->started = 1;
	int rc = decode_one(in, f, &seg->t);
	int dns = dns_segment(in, rc, &seg->t, f->ts);
	if (dns < 0 || (!dns && skip(in, rc, &seg->t)))
		return 0;
	seg->hash = flow_packet_hash(&seg->t);
	if (dns)
		seg->hash = INTAKE_DNS_HASH(seg->hash);
	seg->seq = 0;
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
	to->dns_udp += c->dns_udp;
	to->dns_tcp += c->dns_tcp;
	to->https_segments += c->https_segments;
	to->https_hellos += c->https_hellos;
	to->https_two_segments += c->https_two_segments;
	to->https_unread += c->https_unread;
}
