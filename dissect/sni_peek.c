/* The SNI of port-443 ClientHellos in one or two segments (design note in
 * sni_peek.h). */
#include "sni_peek.h"

#include <stdlib.h>
#include <string.h>

#include "../common/rd.h"
#include "../common/text.h"
#include "hello.h"

enum { REC_HANDSHAKE = 22, HS_CLIENT_HELLO = 1 };

/* A ClientHello waiting for the rest of its record. */
struct slot {
	int used;
	uint8_t family;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t next_seq;   /* where the rest starts */
	double ts;           /* the first segment's time */
	uint8_t *buf;        /* the record so far */
	size_t have, need;   /* bytes held, the whole record's size */
};

struct sni_peek {
	struct slot slot[SNI_PEEK_SLOTS];
	sni_peek_lost_fn lost;
	void *ctx;
	struct sni_peek_stats st;
};

struct sni_peek *sni_peek_new(sni_peek_lost_fn lost, void *ctx)
{
	struct sni_peek *p = calloc(1, sizeof *p);
	if (p) {
		p->lost = lost;
		p->ctx = ctx;
	}
	return p;
}

static void slot_clear(struct slot *s)
{
	free(s->buf);
	memset(s, 0, sizeof *s);
}

void sni_peek_free(struct sni_peek *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < SNI_PEEK_SLOTS; i++)
		slot_clear(&p->slot[i]);
	free(p);
}

const struct sni_peek_stats *sni_peek_stats(const struct sni_peek *p)
{
	return &p->st;
}

/* ---- the connection's slot ---------------------------------------------- */

static size_t addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static unsigned slot_of(const struct sni_seg *s)
{
	uint32_t h = (uint32_t)s->sport * 2654435761u ^ s->dport;
	for (size_t i = 0; i < addr_len(s->family); i++)
		h = (h ^ s->src[i] ^ (uint32_t)s->dst[i] << 8) * 16777619u;
	return (h ^ h >> 16) % SNI_PEEK_SLOTS;
}

static int slot_matches(const struct slot *sl, const struct sni_seg *s)
{
	size_t n = addr_len(s->family);
	return sl->used && sl->family == s->family && sl->sport == s->sport &&
	       sl->dport == s->dport && memcmp(sl->src, s->src, n) == 0 &&
	       memcmp(sl->dst, s->dst, n) == 0;
}

/* A waiting hello goes unread. */
static void give_up(struct sni_peek *p, struct slot *sl)
{
	p->st.unread++;
	if (p->lost)
		p->lost(p->ctx, sl->family, sl->src, sl->ts);
	slot_clear(sl);
}

void sni_peek_expire(struct sni_peek *p, double now)
{
	for (size_t i = 0; i < SNI_PEEK_SLOTS; i++)
		if (p->slot[i].used && p->slot[i].ts < now - SNI_PEEK_WAIT)
			give_up(p, &p->slot[i]);
}

/* ---- reading the hello ----------------------------------------------------- */

/* The SNI of a whole handshake record rec[0..len) holding a ClientHello:
 * 1 and sni filled, or 0 when the record is not one hello that parses. */
static int read_hello(const uint8_t *rec, size_t len, char sni[REC_NAME_MAX])
{
	struct rd r = rd_init(rec, len);
	struct tls_hello h;
	rd_skip(&r, 5);
	uint8_t type = rd_u8(&r);
	uint32_t hs_len = rd_u24(&r);
	const uint8_t *body = rd_bytes(&r, hs_len);
	if (!body || type != HS_CLIENT_HELLO || hello_parse(body, hs_len, HELLO_CLIENT, &h) < 0 ||
	    !h.exts_ok)
		return 0;
	sni[0] = '\0';
	if (h.sni_name.p)
		text_sanitize(sni, REC_NAME_MAX, h.sni_name.p, h.sni_name.len);
	return 1;
}

/* The size of the handshake record that p starts, if it starts one with a
 * ClientHello (header and handshake type seen); else 0. */
static size_t hello_record_size(const uint8_t *p, size_t len)
{
	if (len < 6 || p[0] != REC_HANDSHAKE || p[1] != 3 || p[5] != HS_CLIENT_HELLO)
		return 0;
	return 5 + ((size_t)p[3] << 8 | p[4]);
}

static enum sni_peek_result finish(struct sni_peek *p, const uint8_t *rec, size_t len,
				   char sni[REC_NAME_MAX])
{
	if (!read_hello(rec, len, sni)) {
		p->st.unread++; /* a hello over several records, or malformed */
		return SNI_PEEK_UNREAD;
	}
	p->st.hellos++;
	return SNI_PEEK_HELLO;
}

/* Keeps the first segment of a longer record in the connection's slot. */
static enum sni_peek_result wait_for_rest(struct sni_peek *p, struct slot *sl,
					  const struct sni_seg *s, size_t need)
{
	if (sl->used)
		give_up(p, sl); /* another hello waited there: the older goes */
	if (need > SNI_PEEK_RECORD || s->len != s->wirelen || !(sl->buf = malloc(need))) {
		p->st.unread++;
		return SNI_PEEK_UNREAD;
	}
	sl->used = 1;
	sl->family = s->family;
	memcpy(sl->src, s->src, addr_len(s->family));
	memcpy(sl->dst, s->dst, addr_len(s->family));
	sl->sport = s->sport;
	sl->dport = s->dport;
	sl->next_seq = s->seq + (uint32_t)s->len;
	sl->ts = s->ts;
	memcpy(sl->buf, s->payload, s->len);
	sl->have = s->len;
	sl->need = need;
	return SNI_PEEK_WAIT_MORE;
}

/* The segment after a waiting first one: it must complete the record. */
static enum sni_peek_result continue_hello(struct sni_peek *p, struct slot *sl,
					   const struct sni_seg *s, char sni[REC_NAME_MAX])
{
	enum sni_peek_result r;
	if (s->len == 0 || s->seq - sl->next_seq >= 0x80000000u)
		return SNI_PEEK_NONE; /* an ACK, or a retransmission of the first */
	if (s->seq != sl->next_seq || s->len < sl->need - sl->have) {
		p->st.unread++; /* out of order, a gap, or a third segment needed */
		slot_clear(sl);
		return SNI_PEEK_UNREAD;
	}
	memcpy(sl->buf + sl->have, s->payload, sl->need - sl->have);
	r = finish(p, sl->buf, sl->need, sni);
	p->st.two_segments += r == SNI_PEEK_HELLO;
	slot_clear(sl);
	return r;
}

enum sni_peek_result sni_peek_segment(struct sni_peek *p, const struct sni_seg *s,
				      char sni[REC_NAME_MAX])
{
	struct slot *sl = &p->slot[slot_of(s)];
	size_t need;
	if (sl->used && sl->ts < s->ts - SNI_PEEK_WAIT)
		give_up(p, sl);
	if (slot_matches(sl, s))
		return continue_hello(p, sl, s, sni);
	if ((need = hello_record_size(s->payload, s->len)) == 0)
		return SNI_PEEK_NONE;
	if (need <= s->len)
		return finish(p, s->payload, need, sni);
	return wait_for_rest(p, sl, s, need);
}
