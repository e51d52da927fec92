/* Ethernet frames for the engine's unit tests: IPv4 with a TCP segment
 * (or UDP, or a fragment), written into a caller's buffer. Header-only
 * like check.h. Checksums are left 0: nothing checks them. */
#ifndef SMTPTLS_TEST_FRAMES_H
#define SMTPTLS_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

struct tseg {
	uint32_t src, dst;       /* IPv4 addresses, host order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;           /* TCP flags (decode.h's TCP_*) */
	const void *payload;
	size_t len;
	uint8_t proto;           /* 0 or 6: TCP; 17: UDP */
	int fragment;            /* the IP header says "more fragments" */
};

static inline uint8_t *tf_put16(uint8_t *o, unsigned v)
{
	o[0] = (uint8_t)(v >> 8);
	o[1] = (uint8_t)v;
	return o + 2;
}

static inline uint8_t *tf_put32(uint8_t *o, uint32_t v)
{
	return tf_put16(tf_put16(o, v >> 16), v & 0xffff);
}

/* Writes the frame into out (room for 54 + len bytes); returns its length. */
static inline size_t tframe(uint8_t *out, const struct tseg *s)
{
	int udp = s->proto == 17;
	size_t l4 = udp ? 8 : 20, total = 20 + l4 + s->len;
	uint8_t *o = out;
	memset(o, 0x02, 12); /* destination and source MAC */
	o = tf_put16(o + 12, 0x0800);
	*o++ = 0x45;
	*o++ = 0;
	o = tf_put16(o, (unsigned)total);
	o = tf_put16(o, 1);
	o = tf_put16(o, s->fragment ? 0x2000 : 0x4000);
	*o++ = 64;
	*o++ = udp ? 17 : 6;
	o = tf_put16(o, 0);
	o = tf_put32(tf_put32(o, s->src), s->dst);
	o = tf_put16(tf_put16(o, s->sport), s->dport);
	if (udp) {
		o = tf_put16(tf_put16(o, (unsigned)(8 + s->len)), 0);
	} else {
		o = tf_put32(tf_put32(o, s->seq), s->ack);
		*o++ = 5 << 4;
		*o++ = s->flags;
		o = tf_put16(tf_put16(tf_put16(o, 65535), 0), 0);
	}
	if (s->len)
		memcpy(o, s->payload, s->len);
	return (size_t)(o - out) + s->len;
}

#endif
