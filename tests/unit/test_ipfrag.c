/* IP fragment reassembly, through the decoder: IPv4 and IPv6 datagrams cut
 * into fragments, fed in order, reversed, shuffled, with duplicates, with
 * overlaps that agree and that conflict (first copy wins), with one
 * missing (timeout), beyond the caps, too big, tiny, cut by the snapshot
 * length; fragments inside a tunnel and a tunnel inside fragments; the
 * rebuilt datagram's header and how long it stays readable. Every frame is
 * decoded flush against an unreadable page. */
#include "../../capture/decode.h"
#include "../../capture/ipfrag.h"
#include "check.h"
#include "layers.h"

/* ---- datagrams and their fragments ----------------------------------------- */

enum { V4, V6, V6_HOP /* IPv6 with a hop-by-hop header before the fragment header */ };

/* Where a whole datagram's IP payload starts in its frame. */
static size_t payload_at(int kind)
{
	return 14 + (kind == V4 ? 20 : 40);
}

/* Ethernet, IP, TCP and n payload bytes, whole. */
static void whole(struct frame *f, int kind, size_t n, unsigned id_src)
{
	uint8_t src4[4] = {192, 0, 2, (uint8_t)id_src};
	uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)id_src};
	f_init(f);
	f_eth(f, kind == V4 ? 0x0800 : 0x86dd);
	if (kind == V4)
		f_ipv4_addr(f, 6, src4, F_DST4, 0x4242, 0);
	else
		f_ipv6_addr(f, 6, src6, F_DST6);
	f_tcp(f, TCP_PSH | TCP_ACK, 12);
	f_payload(f, n);
	f_done(f);
}

/* A fragment of a whole frame: IP payload bytes [off, off + len). */
static void fragment(struct frame *out, const struct frame *w, int kind, size_t off, size_t len,
		     int more, uint32_t id)
{
	const uint8_t *ip = w->b + 14;
	f_init(out);
	f_mem(out, w->b, 12);
	if (kind == V4) {
		uint8_t src[4], dst[4];
		memcpy(src, ip + 12, 4), memcpy(dst, ip + 16, 4);
		f_u16(out, 0x0800);
		f_ipv4_addr(out, ip[9], src, dst, id, (more ? 0x2000u : 0) | (unsigned)(off / 8));
	} else {
		f_u16(out, 0x86dd);
		f_ipv6_addr(out, kind == V6_HOP ? 0 : 44, ip + 8, ip + 24);
		if (kind == V6_HOP)
			f_u8(out, 44), f_u8(out, 0), f_u16(out, 0x0104), f_u32(out, 0); /* PadN */
		f_u8(out, 6), f_u8(out, 0), f_u16(out, (unsigned)off | (more ? 1u : 0));
		f_u32(out, id);
	}
	f_mem(out, w->b + payload_at(kind) + off, len);
	f_done(out);
}

/* ---- feeding fragments ------------------------------------------------------- */

struct piece {
	size_t off, len;
	int more;
	int corrupt; /* its bytes differ from the datagram's */
};

#define MAX_PIECES 64

struct plan {
	struct piece p[MAX_PIECES];
	size_t n;
};

/* Cuts [0, total) into pieces of size bytes (a multiple of 8). */
static void cut_plan(struct plan *pl, size_t total, size_t size)
{
	pl->n = 0;
	for (size_t off = 0; off < total; off += size) {
		size_t len = total - off < size ? total - off : size;
		pl->p[pl->n++] = (struct piece){off, len, off + len < total, 0};
	}
}

static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void shuffle(struct plan *pl, uint32_t seed)
{
	rng_state = seed;
	for (size_t i = pl->n; i > 1; i--) {
		size_t j = rng() % i;
		struct piece t = pl->p[i - 1];
		pl->p[i - 1] = pl->p[j];
		pl->p[j] = t;
	}
}

static void reverse(struct plan *pl)
{
	for (size_t i = 0; i < pl->n / 2; i++) {
		struct piece t = pl->p[i];
		pl->p[i] = pl->p[pl->n - 1 - i];
		pl->p[pl->n - 1 - i] = t;
	}
}

struct result {
	int ok_at;                /* index of the fragment that completed it, or -1 */
	int others_held;          /* every other fragment was DECODE_HELD */
	struct tcp_packet t;
	uint8_t payload[4096];    /* copied at completion */
};

/* Feeds the plan's fragments of w through d. */
static void feed(struct decoder *d, const struct frame *w, int kind, const struct plan *pl,
		 uint32_t id, double ts, struct result *r)
{
	struct frame *fr = malloc(sizeof *fr);
	r->ok_at = -1;
	r->others_held = 1;
	for (size_t i = 0; i < pl->n; i++) {
		const struct piece *pc = &pl->p[i];
		struct tcp_packet t;
		fragment(fr, w, kind, pc->off, pc->len, pc->more, id);
		if (pc->corrupt)
			fr->b[fr->len - 1] ^= 0xff;
		const uint8_t *base = f_guarded(fr->b, fr->len);
		int rc = decoder_frame(d, base, fr->len, ts + (double)i * 0.001, &t);
		if (rc == DECODE_OK && r->ok_at < 0) {
			r->ok_at = (int)i;
			r->t = t;
			memcpy(r->payload, t.payload, t.caplen < sizeof r->payload ? t.caplen : 0);
		} else if (rc != DECODE_HELD) {
			r->others_held = 0;
		}
	}
	free(fr);
}

/* The rebuilt datagram is the whole one: its TCP segment, and its IP
 * header decodes again as a plain datagram with the same segment. */
static void check_rebuilt(const struct result *r, const struct frame *w, int kind)
{
	struct tcp_packet again;
	const struct tcp_packet *t = &r->t;
	size_t n = w->wire;
	CHECK_INT(t->reassembled, 1);
	CHECK_INT(t->proto, DECODE_PROTO_TCP);
	CHECK_INT(t->sport, F_SPORT);
	CHECK_INT(t->seq, F_SEQ);
	CHECK_INT(t->caplen, n);
	CHECK_INT(t->wirelen, n);
	CHECK(memcmp(r->payload, w->b + w->payload, n) == 0);
	CHECK_INT(t->l3_len, w->len - 14 + (kind == V6_HOP ? 8 : 0));
	CHECK_INT(decode_packet(101, t->l3, t->l3_len, &again), DECODE_OK);
	CHECK_INT(again.caplen, n);
	CHECK_INT(again.wirelen, n);
	CHECK_INT(again.family, kind == V4 ? 4 : 6);
	CHECK(memcmp(again.src, w->b + 14 + (kind == V4 ? 12 : 8), kind == V4 ? 4 : 16) == 0);
	if (kind == V4)
		CHECK_INT(t->l3[6] & 0x3f, 0); /* no more a fragment */
}

/* ---- orders ------------------------------------------------------------------- */

enum order { IN_ORDER, REVERSED, SHUFFLED, DUPLICATED, OVERLAPPING, CONFLICT_LATE,
	     CONFLICT_FIRST };

struct order_case {
	const char *name;
	int kind;
	size_t payload, size;
	enum order order;
	uint32_t seed;
	uint64_t overlaps, conflicts;
};

static const struct order_case orders[] = {
	{"v4 in order", V4, 3000, 1000, IN_ORDER, 0, 0, 0},
	{"v4 reversed", V4, 3000, 1000, REVERSED, 0, 0, 0},
	{"v4 shuffled small", V4, 3000, 104, SHUFFLED, 1, 0, 0},
	{"v4 shuffled small 2", V4, 3000, 64, SHUFFLED, 7, 0, 0},
	{"v4 duplicated", V4, 2000, 400, DUPLICATED, 0, 5, 0},
	{"v4 overlapping", V4, 2000, 400, OVERLAPPING, 0, 1, 0},
	{"v4 conflict after", V4, 2000, 400, CONFLICT_LATE, 0, 0, 1},
	{"v4 conflict first", V4, 2000, 400, CONFLICT_FIRST, 0, 0, 1},
	{"v4 one fragment of 8", V4, 100, 8, SHUFFLED, 3, 0, 0},
	{"v6 in order", V6, 3000, 1232, IN_ORDER, 0, 0, 0},
	{"v6 reversed", V6, 3000, 1232, REVERSED, 0, 0, 0},
	{"v6 shuffled", V6, 3000, 96, SHUFFLED, 5, 0, 0},
	{"v6 hop-by-hop shuffled", V6_HOP, 3000, 200, SHUFFLED, 9, 0, 0},
	{"v6 duplicated", V6, 2000, 400, DUPLICATED, 0, 5, 0},
	{"v6 conflict after", V6, 2000, 400, CONFLICT_LATE, 0, 0, 1},
};

/* An extra fragment covering the second half of piece 0 and the first
 * half of piece 1 (sizes multiples of 16). */
static struct piece straddle(const struct plan *pl)
{
	size_t half = pl->p[0].len / 2;
	return (struct piece){half, pl->p[0].len, 1, 0};
}

static void make_order(struct plan *pl, const struct order_case *oc, size_t total)
{
	cut_plan(pl, total, oc->size);
	if (oc->order == REVERSED)
		reverse(pl);
	else if (oc->order == SHUFFLED)
		shuffle(pl, oc->seed);
	else if (oc->order == DUPLICATED) {
		for (size_t i = pl->n; i-- > 0;) {
			memmove(&pl->p[2 * i], &pl->p[i], sizeof pl->p[0]);
			pl->p[2 * i + 1] = pl->p[2 * i];
		}
		pl->n *= 2;
	} else if (oc->order == OVERLAPPING) {
		pl->p[pl->n] = pl->p[pl->n - 1]; /* the last one moves to the end */
		pl->p[pl->n - 1] = straddle(pl);
		pl->n++;
	} else if (oc->order == CONFLICT_LATE) {
		pl->p[pl->n] = pl->p[pl->n - 1];
		pl->p[pl->n - 1] = pl->p[0];
		pl->p[pl->n - 1].corrupt = 1;
		pl->n++;
	} else if (oc->order == CONFLICT_FIRST) {
		memmove(&pl->p[1], &pl->p[0], pl->n * sizeof pl->p[0]);
		pl->p[0].corrupt = 1;
		pl->n++;
	}
}

static void test_order(const struct order_case *oc)
{
	struct frame *w = malloc(sizeof *w);
	struct result *r = malloc(sizeof *r);
	struct plan pl;
	int failed = check_failed;
	whole(w, oc->kind, oc->payload, 1);
	size_t total = w->len - payload_at(oc->kind);
	make_order(&pl, oc, total);
	struct decoder *d = decoder_new(1, NULL);
	feed(d, w, oc->kind, &pl, 77, 10.0, r);
	const struct ipfrag_stats *st = &decoder_stats(d)->frag;
	int last = (int)pl.n - 1;
	if (oc->order == DUPLICATED)
		last--; /* the duplicate of the completing one starts a new datagram */
	CHECK_INT(r->ok_at, last);
	CHECK_INT(r->others_held, 1);
	CHECK_INT(st->reassembled, 1);
	CHECK_INT(st->fragments, pl.n);
	CHECK_INT(st->overlaps, oc->overlaps);
	CHECK_INT(st->conflicts, oc->conflicts);
	CHECK_INT(st->pending, oc->order == DUPLICATED);
	if (oc->order == CONFLICT_FIRST) {
		/* the first copy won: one byte differs from the datagram */
		CHECK(r->t.caplen == oc->payload);
		CHECK(memcmp(r->payload, w->b + w->payload, oc->payload) != 0);
	} else if (r->ok_at >= 0) {
		check_rebuilt(r, w, oc->kind);
	}
	decoder_expire(d, 10.0 + 31);
	CHECK_INT(st->pending, 0);
	CHECK_INT(st->bytes_held, 0);
	CHECK_INT(st->timed_out, oc->order == DUPLICATED);
	decoder_free(d);
	if (check_failed != failed)
		fprintf(stderr, "     in: %s\n", oc->name);
	free(w);
	free(r);
}

static void test_orders(void)
{
	for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++)
		test_order(&orders[i]);
}

/* ---- loss, time, caps ------------------------------------------------------------- */

/* One fragment missing: held until the timeout, then given up. */
static void test_missing(void)
{
	struct frame *w = malloc(sizeof *w);
	struct result *r = malloc(sizeof *r);
	struct plan pl;
	whole(w, V4, 3000, 1);
	cut_plan(&pl, w->len - payload_at(V4), 512);
	pl.p[2] = pl.p[--pl.n];
	struct decoder *d = decoder_new(1, NULL);
	feed(d, w, V4, &pl, 5, 100.0, r);
	const struct ipfrag_stats *st = &decoder_stats(d)->frag;
	CHECK_INT(r->ok_at, -1);
	CHECK_INT(r->others_held, 1);
	CHECK_INT(st->pending, 1);
	CHECK(st->bytes_held > 0);
	decoder_expire(d, 129.0);
	CHECK_INT(st->pending, 1);
	decoder_expire(d, 130.5);
	CHECK_INT(st->pending, 0);
	CHECK_INT(st->timed_out, 1);
	CHECK_INT(st->bytes_held, 0);
	/* packet time alone expires it too */
	feed(d, w, V4, &pl, 6, 200.0, r);
	CHECK_INT(st->pending, 1);
	whole(w, V4, 10, 2);
	struct tcp_packet t;
	CHECK_INT(decoder_frame(d, w->b, w->len, 240.0, &t), DECODE_OK);
	CHECK_INT(st->pending, 0);
	CHECK_INT(st->timed_out, 2);
	decoder_free(d);
	free(w);
	free(r);
}

/* More datagrams pending than allowed: the oldest goes, counted. */
static void test_datagram_cap(void)
{
	struct decoder_limits lim = DECODER_LIMITS_DEFAULT;
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr);
	struct tcp_packet t;
	lim.frag_datagrams = 3;
	struct decoder *d = decoder_new(1, &lim);
	const struct ipfrag_stats *st = &decoder_stats(d)->frag;
	whole(w, V4, 1000, 1);
	for (uint32_t id = 0; id < 5; id++) {
		fragment(fr, w, V4, 0, 512, 1, id);
		CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	}
	CHECK_INT(st->pending, 3);
	CHECK_INT(st->dropped_cap, 2);
	size_t rest = w->len - payload_at(V4) - 512;
	fragment(fr, w, V4, 512, rest, 0, 0); /* id 0 went */
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	fragment(fr, w, V4, 512, rest, 0, 4); /* id 4 is there */
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_OK);
	CHECK_INT(t.wirelen, 1000);
	decoder_free(d);
	free(w);
	free(fr);
}

/* The byte cap, on the module itself: room for about two datagrams. */
static void test_byte_cap(void)
{
	struct ipfrag_stats st = {0};
	struct ipfrag_limits lim = {2 * 40000, 100, 30, 4};
	struct ipfrag *t = ipfrag_new(&lim, &st);
	static uint8_t data[40000];
	uint8_t hdr[20] = {0x45};
	struct ipfrag_datagram dg;
	for (uint32_t id = 1; id <= 3; id++) {
		struct ipfrag_key k = {4, 6, 0, id, 0, {1}, {2}};
		struct ipfrag_piece last = {39992, data, 8, 0, 65515, NULL, 0};
		CHECK_INT(ipfrag_add(t, &k, &last, 1, &dg), IPFRAG_HELD);
	}
	CHECK_INT(st.pending, 2);
	CHECK_INT(st.dropped_cap, 1);
	CHECK(st.bytes_held <= 2 * 40000);
	struct ipfrag_key k3 = {4, 6, 0, 3, 0, {1}, {2}};
	struct ipfrag_piece first = {0, data, 39992, 1, 65515, hdr, 20};
	CHECK_INT(ipfrag_add(t, &k3, &first, 1, &dg), IPFRAG_DONE);
	CHECK_INT(dg.len, 40020);
	CHECK(dg.p[0] == 0x45);
	CHECK_INT(st.bytes_peak <= 2 * 40000, 1);
	ipfrag_free(t);
	ipfrag_free(NULL);
}

/* Runs of bytes with holes between them: a cap on how many, counted. */
static void test_range_cap(void)
{
	struct ipfrag_stats st = {0};
	struct ipfrag_limits lim = {1u << 20, 100, 30, 4};
	struct ipfrag *t = ipfrag_new(&lim, &st);
	static uint8_t data[8];
	struct ipfrag_key k = {4, 6, 0, 9, 0, {1}, {2}};
	struct ipfrag_datagram dg;
	int rc = IPFRAG_HELD;
	for (uint32_t i = 0; i < 40 && rc == IPFRAG_HELD; i++) {
		struct ipfrag_piece pc = {i * 16, data, 8, 1, 65515, NULL, 0};
		rc = ipfrag_add(t, &k, &pc, 1, &dg);
	}
	CHECK_INT(rc, IPFRAG_DROPPED);
	CHECK_INT(st.dropped_cap, 1);
	CHECK_INT(st.pending, 0);
	ipfrag_free(t);
}

/* ---- malformed fragments ----------------------------------------------------------- */

static void test_malformed(void)
{
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr);
	struct tcp_packet t;
	struct decoder *d = decoder_new(1, NULL);
	const struct ipfrag_stats *st = &decoder_stats(d)->frag;
	whole(w, V4, 1000, 1);
	/* too big: offset 65528 with 16 bytes */
	fragment(fr, w, V4, 0, 16, 1, 1);
	fr->b[14 + 6] = 0x3f, fr->b[14 + 7] = 0xff;
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_FRAGMENT);
	CHECK_INT(st->too_big, 1);
	/* more fragments follow, length not a multiple of 8 */
	fragment(fr, w, V4, 0, 20, 1, 2);
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_FRAGMENT);
	CHECK_INT(st->malformed, 1);
	/* two last fragments that disagree on the end */
	fragment(fr, w, V4, 512, 40, 0, 3);
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	fragment(fr, w, V4, 512, 48, 0, 3);
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_FRAGMENT);
	CHECK_INT(st->malformed, 2);
	CHECK_INT(st->pending, 0);
	/* a tiny first fragment: 8 bytes of a TCP header */
	fragment(fr, w, V4, 0, 8, 1, 4);
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	CHECK_INT(st->tiny_first, 1);
	/* cut by the snapshot length */
	fragment(fr, w, V4, 8, 400, 1, 4);
	CHECK_INT(decoder_frame(d, fr->b, fr->len - 1, 1, &t), DECODE_TRUNCATED);
	CHECK_INT(st->truncated, 1);
	/* a fragment of ICMP is not taken in */
	fragment(fr, w, V4, 0, 16, 1, 5);
	fr->b[14 + 9] = 1;
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_NOT_TCP);
	CHECK_INT(st->fragments, 5); /* the cut one and the ICMP one are not taken in */
	decoder_free(d);
	free(w);
	free(fr);
}

/* Every cut of every fragment: no over-read, nothing but TRUNCATED or
 * HELD, and the datagram still completes from whole copies. */
static void test_cuts(void)
{
	static const int kinds[] = {V4, V6, V6_HOP};
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr);
	struct tcp_packet t;
	for (size_t k = 0; k < 3; k++) {
		struct decoder *d = decoder_new(1, NULL);
		whole(w, kinds[k], 200, 1);
		size_t total = w->len - payload_at(kinds[k]);
		for (int piece = 0; piece < 2; piece++) {
			size_t off = piece ? 128 : 0, len = piece ? total - 128 : 128;
			fragment(fr, w, kinds[k], off, len, !piece, 8);
			for (size_t cut = 0; cut < fr->len; cut++) {
				const uint8_t *base = f_guarded(fr->b, cut);
				int rc = decoder_frame(d, base, cut, 1, &t);
				CHECK(rc == DECODE_TRUNCATED || rc == DECODE_NOT_TCP);
			}
			const uint8_t *base = f_guarded(fr->b, fr->len);
			CHECK_INT(decoder_frame(d, base, fr->len, 1, &t), piece ? DECODE_OK : DECODE_HELD);
		}
		CHECK_INT(t.wirelen, 200);
		decoder_free(d);
	}
	free(w);
	free(fr);
}

/* ---- tunnels and fragments ----------------------------------------------------------- */

/* A VXLAN frame whose inner IPv4 datagram is fragmented; the same inner
 * datagram id in another tunnel is another datagram. */
static void test_fragments_in_tunnel(void)
{
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr), *vx = malloc(sizeof *vx);
	struct tcp_packet t;
	struct decoder *d = decoder_new(1, NULL);
	whole(w, V4, 600, 1);
	size_t total = w->len - payload_at(V4);
	for (int piece = 0; piece < 2; piece++) {
		for (int tunnel = 0; tunnel < 2; tunnel++) {
			fragment(fr, w, V4, piece ? 256 : 0, piece ? total - 256 : 256, !piece, 33);
			uint8_t osrc[4] = {10, 0, 0, (uint8_t)(1 + tunnel)}, odst[4] = {10, 0, 0, 9};
			f_init(vx);
			f_eth(vx, 0x0800);
			f_ipv4_addr(vx, 17, osrc, odst, 1, 0);
			f_udp(vx, 9, 4789);
			f_u32(vx, 0x08000000), f_u32(vx, 0x100);
			f_mem(vx, fr->b, fr->len);
			f_done(vx);
			int rc = decoder_frame(d, f_guarded(vx->b, vx->len), vx->len, 1, &t);
			CHECK_INT(rc, piece ? DECODE_OK : DECODE_HELD);
		}
	}
	CHECK_INT(t.wirelen, 600);
	CHECK_INT(t.encap_outer, ENCAP_VXLAN);
	CHECK_INT(decoder_stats(d)->frag.reassembled, 2);
	decoder_free(d);
	free(w), free(fr), free(vx);
}

/* Fragments in VLAN-tagged and MPLS-labelled frames reassemble, whatever
 * the output held before each call (no stale bytes in the key). */
static void test_fragments_below_ip(void)
{
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr), *wrap = malloc(sizeof *wrap);
	struct tcp_packet t;
	for (int mpls = 0; mpls < 2; mpls++) {
		struct decoder *d = decoder_new(1, NULL);
		whole(w, V4, 500, 1);
		size_t total = w->len - payload_at(V4);
		for (int piece = 0; piece < 3; piece++) {
			size_t off = (size_t)piece * 184, len = piece < 2 ? 184 : total - 368;
			fragment(fr, w, V4, off, len, piece < 2, 51);
			f_init(wrap);
			f_eth(wrap, mpls ? 0x8847 : 0x8100);
			if (mpls)
				f_mpls(wrap, 16, 1);
			else
				f_vlan(wrap, 100, 0x0800);
			f_mem(wrap, fr->b + 14, fr->len - 14);
			memset(&t, 0x11 * (piece + 1), sizeof t);
			int rc = decoder_frame(d, f_guarded(wrap->b, wrap->len), wrap->len, 1, &t);
			CHECK_INT(rc, piece < 2 ? DECODE_HELD : DECODE_OK);
		}
		CHECK_INT(t.wirelen, 500);
		CHECK_INT(t.encap_outer, mpls ? ENCAP_MPLS : ENCAP_VLAN);
		decoder_free(d);
	}
	free(w), free(fr), free(wrap);
}

/* GRE over IPv4, the outer datagram fragmented: reassembled, then the
 * tunnel and the inner segment decoded from the rebuilt datagram. */
static void test_tunnel_in_fragments(void)
{
	struct frame *g = malloc(sizeof *g), *fr = malloc(sizeof *fr);
	struct tcp_packet t;
	struct decoder *d = decoder_new(1, NULL);
	f_init(g);
	f_eth(g, 0x0800);
	f_ipv4_addr(g, 47, (const uint8_t[]){10, 1, 1, 1}, (const uint8_t[]){10, 1, 1, 2}, 9, 0);
	f_u16(g, 0), f_u16(g, 0x0800);
	f_ipv4(g, 6);
	f_tcp(g, TCP_ACK, 0);
	f_payload(g, 1400);
	f_done(g);
	size_t total = g->len - payload_at(V4);
	fragment(fr, g, V4, 1024, total - 1024, 0, 9);
	CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	fragment(fr, g, V4, 0, 1024, 1, 9);
	CHECK_INT(decoder_frame(d, f_guarded(fr->b, fr->len), fr->len, 1, &t), DECODE_OK);
	CHECK_INT(t.encap_outer, ENCAP_GRE);
	CHECK_INT(t.reassembled, 1);
	CHECK_INT(t.wirelen, 1400);
	CHECK_INT(t.caplen, 1400);
	CHECK(memcmp(t.payload, g->b + g->payload, 1400) == 0);
	CHECK(memcmp(t.src, F_SRC4, 4) == 0);
	decoder_free(d);
	free(g), free(fr);
}

/* A rebuilt datagram stays readable while DECODER_KEEP more frames are
 * decoded, each completing a datagram of its own. */
static void test_keep(void)
{
	struct frame *w = malloc(sizeof *w), *fr = malloc(sizeof *fr);
	struct tcp_packet first, t;
	struct decoder *d = decoder_new(1, NULL);
	whole(w, V4, 300, 1);
	size_t total = w->len - payload_at(V4);
	for (uint32_t id = 0; id <= DECODER_KEEP; id++) {
		fragment(fr, w, V4, 128, total - 128, 0, id);
		CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, &t), DECODE_HELD);
	}
	for (uint32_t id = 0; id <= DECODER_KEEP; id++) {
		fragment(fr, w, V4, 0, 128, 1, id);
		CHECK_INT(decoder_frame(d, fr->b, fr->len, 1, id ? &t : &first), DECODE_OK);
	}
	CHECK(memcmp(first.payload, w->b + w->payload, 300) == 0);
	CHECK_INT(first.l3[0], 0x45);
	decoder_free(d);
	free(w), free(fr);
}

int main(void)
{
	test_orders();
	test_missing();
	test_datagram_cap();
	test_byte_cap();
	test_range_cap();
	test_malformed();
	test_cuts();
	test_fragments_in_tunnel();
	test_fragments_below_ip();
	test_tunnel_in_fragments();
	test_keep();
	return check_done("ipfrag");
}
