/* The decoder through every tunnel: GRE with each optional field, ERSPAN
 * I/II/III, VXLAN, Geneve with options, GTP-U with its optional fields and
 * extension headers, IP in IP both ways, Ethernet over MPLS with and
 * without a control word, nested tunnels; each frame decoded whole (inner
 * addresses, ports, payload, encapsulations counted) and cut at every
 * length against an unreadable page; then malformed and unfollowed
 * variants, and the nesting bound. */
#include "../../capture/decode.h"
#include "check.h"
#include "layers.h"

/* ---- the inner packet --------------------------------------------------- */

enum { INNER4, INNER6 };
enum { PAYLOAD = 11 };

static void put_inner_ip(struct frame *f, int inner)
{
	if (inner == INNER4)
		f_ipv4(f, 6);
	else
		f_ipv6(f, 6);
	f_tcp(f, TCP_PSH | TCP_ACK, 12);
	f_payload(f, PAYLOAD);
}

static void put_inner_eth(struct frame *f, int inner)
{
	f_eth(f, inner == INNER4 ? 0x0800 : 0x86dd);
	put_inner_ip(f, inner);
}

static const uint8_t O_SRC4[4] = {10, 9, 8, 7}, O_DST4[4] = {10, 9, 8, 6};
static const uint8_t O_SRC6[16] = {0xfd, 0, [15] = 7}, O_DST6[16] = {0xfd, 0, [15] = 6};

/* The outer IP header of a tunnel (family 4 or 6). */
static void outer_ip(struct frame *f, int family, unsigned proto)
{
	if (family == 4)
		f_ipv4_addr(f, proto, O_SRC4, O_DST4, 77, 0);
	else
		f_ipv6_addr(f, proto, O_SRC6, O_DST6);
}

/* ---- encapsulations ------------------------------------------------------- */

typedef void (*wrap_fn)(struct frame *f, int inner, unsigned arg);

static void w_gre(struct frame *f, int inner, unsigned flags)
{
	f_eth(f, 0x0800);
	outer_ip(f, 4, 47);
	f_u16(f, flags);
	f_u16(f, inner == INNER4 ? 0x0800 : 0x86dd);
	if (flags & 0x8000)
		f_u32(f, 0xbeef0000);       /* checksum, reserved */
	if (flags & 0x2000)
		f_u32(f, 0x01020304);       /* key */
	if (flags & 0x1000)
		f_u32(f, 99);               /* sequence number */
	put_inner_ip(f, inner);
}

static void w_gre6_eth(struct frame *f, int inner, unsigned flags)
{
	f_eth(f, 0x86dd);
	outer_ip(f, 6, 47);
	f_u16(f, flags);
	f_u16(f, 0x6558); /* transparent Ethernet bridging */
	if (flags & 0x2000)
		f_u32(f, 42);
	put_inner_eth(f, inner);
}

static void w_erspan1(struct frame *f, int inner, unsigned arg)
{
	(void)arg;
	f_eth(f, 0x0800);
	outer_ip(f, 4, 47);
	f_u16(f, 0);
	f_u16(f, 0x88be);
	put_inner_eth(f, inner);
}

static void w_erspan2(struct frame *f, int inner, unsigned arg)
{
	(void)arg;
	f_eth(f, 0x0800);
	outer_ip(f, 4, 47);
	f_u16(f, 0x1000);
	f_u16(f, 0x88be);
	f_u32(f, 7);
	f_u32(f, 0x10640001); /* version 1, VLAN 100, session 1 */
	f_u32(f, 0x00000005); /* index */
	put_inner_eth(f, inner);
}

/* arg: 1 with the platform-specific subheader; 2 frame type IP. */
static void w_erspan3(struct frame *f, int inner, unsigned arg)
{
	f_eth(f, 0x0800);
	outer_ip(f, 4, 47);
	f_u16(f, 0x1000);
	f_u16(f, 0x22eb);
	f_u32(f, 8);
	f_u32(f, 0x20640002);               /* version 2, VLAN 100, session 2 */
	f_u32(f, 0x12345678);               /* timestamp */
	f_u16(f, 0);                        /* SGT */
	f_u16(f, (arg == 2 ? 2u << 10 : 0) | (arg == 1 ? 1u : 0)); /* FT, O */
	if (arg == 1)
		f_fill(f, 0xab, 8);
	if (arg == 2)
		put_inner_ip(f, inner);
	else
		put_inner_eth(f, inner);
}

static void w_vxlan(struct frame *f, int inner, unsigned family)
{
	f_eth(f, family == 4 ? 0x0800 : 0x86dd);
	outer_ip(f, (int)family, 17);
	f_udp(f, 51234, 4789);
	f_u32(f, 0x08000000);
	f_u32(f, 0x00123400); /* VNI 0x1234 */
	put_inner_eth(f, inner);
}

/* arg: option words; the protocol type is Ethernet for odd words, else IP. */
static void w_geneve(struct frame *f, int inner, unsigned words)
{
	f_eth(f, 0x0800);
	outer_ip(f, 4, 17);
	f_udp(f, 40000, 6081);
	f_u8(f, words & 0x3f);
	f_u8(f, 0);
	f_u16(f, words % 2 ? 0x6558 : inner == INNER4 ? 0x0800 : 0x86dd);
	f_u32(f, 0x00abcd00);
	for (unsigned i = 0; i < words; i++)
		f_u32(f, 0x01020300 + i);
	if (words % 2)
		put_inner_eth(f, inner);
	else
		put_inner_ip(f, inner);
}

/* arg: the flags' low bits (E, S, PN); with E two extension headers. */
static void w_gtpu(struct frame *f, int inner, unsigned flags)
{
	f_eth(f, 0x0800);
	outer_ip(f, 4, 17);
	f_udp(f, 2152, 2152);
	size_t at = f->len;
	f_u8(f, 0x30 | flags);
	f_u8(f, 255);
	f_u16(f, 0);
	f_u32(f, 0xdeadbeef);
	f_fix_len(f, at + 2, at + 8, 0);
	if (flags & 7) {
		f_u16(f, 1234); /* sequence */
		f_u8(f, 0);     /* N-PDU */
		f_u8(f, flags & 4 ? 0x85 : 0);
	}
	if (flags & 4) {
		f_u8(f, 1), f_u16(f, 0x1000), f_u8(f, 0x85);    /* 4 bytes, then another */
		f_u8(f, 2), f_fill(f, 0, 6), f_u8(f, 0);         /* 8 bytes, the last */
	}
	put_inner_ip(f, inner);
}

/* arg: the outer family. */
static void w_ipip(struct frame *f, int inner, unsigned family)
{
	f_eth(f, family == 4 ? 0x0800 : 0x86dd);
	outer_ip(f, (int)family, inner == INNER4 ? 4 : 41);
	put_inner_ip(f, inner);
}

/* arg: 1 with a control word. */
static void w_eompls(struct frame *f, int inner, unsigned cw)
{
	f_eth(f, 0x8847);
	f_mpls(f, 100, 0);
	f_mpls(f, 200, 1);
	if (cw)
		f_u32(f, 0x00000007);
	put_inner_eth(f, inner);
}

/* MPLS carrying IP directly. */
static void w_mpls_ip(struct frame *f, int inner, unsigned arg)
{
	(void)arg;
	f_eth(f, 0x8847);
	f_mpls(f, 300, 1);
	put_inner_ip(f, inner);
}

/* VLAN, then VXLAN in GRE over IPv6: three encapsulations. */
static void w_nested(struct frame *f, int inner, unsigned arg)
{
	(void)arg;
	f_eth(f, 0x8100);
	f_vlan(f, 5, 0x86dd);
	outer_ip(f, 6, 47);
	f_u16(f, 0);
	f_u16(f, 0x0800);
	outer_ip(f, 4, 17);
	f_udp(f, 1, 4789);
	f_u32(f, 0x08000000);
	f_u32(f, 0x00000100);
	put_inner_eth(f, inner);
}

static void w_pppoe(struct frame *f, int inner, unsigned arg)
{
	(void)arg;
	f_eth(f, 0x8864);
	f_u8(f, 0x11), f_u8(f, 0), f_u16(f, 0x0042), f_u16(f, 0);
	f_u16(f, inner == INNER4 ? 0x0021 : 0x0057);
	put_inner_ip(f, inner);
}

struct wrap_case {
	const char *name;
	wrap_fn put;
	unsigned arg;
	enum decode_encap outer, inner;
	int layers;
};

static const struct wrap_case wraps[] = {
	{"GRE", w_gre, 0, ENCAP_GRE, ENCAP_GRE, 1},
	{"GRE key", w_gre, 0x2000, ENCAP_GRE, ENCAP_GRE, 1},
	{"GRE csum key seq", w_gre, 0xb000, ENCAP_GRE, ENCAP_GRE, 1},
	{"GRE seq", w_gre, 0x1000, ENCAP_GRE, ENCAP_GRE, 1},
	{"GRE/IPv6 Ethernet", w_gre6_eth, 0x2000, ENCAP_GRE, ENCAP_GRE, 1},
	{"ERSPAN I", w_erspan1, 0, ENCAP_ERSPAN1, ENCAP_ERSPAN1, 1},
	{"ERSPAN II", w_erspan2, 0, ENCAP_ERSPAN2, ENCAP_ERSPAN2, 1},
	{"ERSPAN III", w_erspan3, 0, ENCAP_ERSPAN3, ENCAP_ERSPAN3, 1},
	{"ERSPAN III subheader", w_erspan3, 1, ENCAP_ERSPAN3, ENCAP_ERSPAN3, 1},
	{"ERSPAN III IP frame", w_erspan3, 2, ENCAP_ERSPAN3, ENCAP_ERSPAN3, 1},
	{"VXLAN", w_vxlan, 4, ENCAP_VXLAN, ENCAP_VXLAN, 1},
	{"VXLAN over IPv6", w_vxlan, 6, ENCAP_VXLAN, ENCAP_VXLAN, 1},
	{"Geneve IP", w_geneve, 0, ENCAP_GENEVE, ENCAP_GENEVE, 1},
	{"Geneve Ethernet, options", w_geneve, 3, ENCAP_GENEVE, ENCAP_GENEVE, 1},
	{"Geneve IP, options", w_geneve, 4, ENCAP_GENEVE, ENCAP_GENEVE, 1},
	{"GTP-U", w_gtpu, 0, ENCAP_GTPU, ENCAP_GTPU, 1},
	{"GTP-U sequence", w_gtpu, 2, ENCAP_GTPU, ENCAP_GTPU, 1},
	{"GTP-U N-PDU", w_gtpu, 1, ENCAP_GTPU, ENCAP_GTPU, 1},
	{"GTP-U extensions", w_gtpu, 7, ENCAP_GTPU, ENCAP_GTPU, 1},
	{"IP in IPv4", w_ipip, 4, ENCAP_IPIP, ENCAP_IPIP, 1},
	{"IP in IPv6", w_ipip, 6, ENCAP_IPIP, ENCAP_IPIP, 1},
	{"EoMPLS", w_eompls, 0, ENCAP_EOMPLS, ENCAP_EOMPLS, 1},
	{"EoMPLS control word", w_eompls, 1, ENCAP_EOMPLS, ENCAP_EOMPLS, 1},
	{"MPLS IP", w_mpls_ip, 0, ENCAP_MPLS, ENCAP_MPLS, 1},
	{"PPPoE", w_pppoe, 0, ENCAP_PPPOE, ENCAP_PPPOE, 1},
	{"VLAN, GRE/IPv6, VXLAN", w_nested, 0, ENCAP_VLAN, ENCAP_VXLAN, 3},
};

/* ---- decoding ---------------------------------------------------------------- */

static void check_inner(const struct tcp_packet *t, const struct frame *f, const uint8_t *base,
			int inner)
{
	if (inner == INNER4) {
		CHECK_INT(t->family, 4);
		CHECK(memcmp(t->src, F_SRC4, 4) == 0 && memcmp(t->dst, F_DST4, 4) == 0);
	} else {
		CHECK_INT(t->family, 6);
		CHECK(memcmp(t->src, F_SRC6, 16) == 0 && memcmp(t->dst, F_DST6, 16) == 0);
	}
	CHECK_INT(t->proto, DECODE_PROTO_TCP);
	CHECK_INT(t->sport, F_SPORT);
	CHECK_INT(t->dport, F_DPORT);
	CHECK_INT(t->seq, F_SEQ);
	CHECK_INT(t->ack, F_ACK);
	CHECK_INT(t->flags, TCP_PSH | TCP_ACK);
	CHECK(t->payload == base + f->payload);
	CHECK_INT(t->caplen, PAYLOAD);
	CHECK_INT(t->wirelen, PAYLOAD);
	CHECK(t->l3 == base + f->l3);
	CHECK_INT(t->l3_len, f->len - f->l3);
}

/* Every cut of the frame: an error before the inner TCP flags, then a
 * segment (cut header, then part of the payload); never an over-read. */
static size_t first_bad_cut(const struct frame *f)
{
	struct tcp_packet t;
	struct decoder *d = decoder_new(1, NULL);
	size_t bad = SIZE_MAX;
	for (size_t cut = 0; cut < f->len && bad == SIZE_MAX; cut++) {
		const uint8_t *base = f_guarded(f->b, cut);
		int rc = decoder_frame(d, base, cut, 1, &t);
		if (cut < f->l4 + 14 ? rc != DECODE_TRUNCATED : rc != DECODE_OK)
			bad = cut;
		else if (rc == DECODE_OK && cut >= f->payload && t.caplen != cut - f->payload)
			bad = cut;
	}
	decoder_free(d);
	return bad;
}

static void test_wrap(const struct wrap_case *wc, int inner)
{
	struct frame *f = malloc(sizeof *f);
	struct tcp_packet t, s;
	int failed = check_failed;
	f_init(f);
	wc->put(f, inner, wc->arg);
	f_done(f);
	struct decoder *d = decoder_new(1, NULL);
	const uint8_t *base = f_guarded(f->b, f->len);
	int rc = decoder_frame(d, base, f->len, 1, &t);
	CHECK_INT(rc, DECODE_OK);
	if (rc == DECODE_OK) {
		check_inner(&t, f, base, inner);
		CHECK(memcmp(t.payload, f->b + f->payload, PAYLOAD) == 0);
		CHECK_INT(t.encap_outer, wc->outer);
		CHECK_INT(t.encap_inner, wc->inner);
		CHECK_INT(t.layers, wc->layers);
	}
	CHECK_INT(decoder_stats(d)->outer[wc->outer], 1);
	CHECK_INT(decoder_stats(d)->inner[wc->inner], 1);
	CHECK_INT(decode_packet(1, base, f->len, &s), DECODE_OK); /* stateless too */
	CHECK(s.payload == t.payload && s.encap_inner == t.encap_inner);
	decoder_free(d);
	size_t bad = first_bad_cut(f);
	if (!CHECK(bad == SIZE_MAX))
		fprintf(stderr, "     cut at %zu of %zu\n", bad, f->len);
	if (check_failed != failed)
		fprintf(stderr, "     in: %s, inner IPv%d\n", wc->name, inner == INNER4 ? 4 : 6);
	free(f);
}

static void test_all_wraps(void)
{
	for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; i++) {
		test_wrap(&wraps[i], INNER4);
		test_wrap(&wraps[i], INNER6);
	}
}

/* ---- what is not followed, and malformed headers ----------------------------- */

struct patch_case {
	const char *name;
	wrap_fn put;
	unsigned arg;
	int at;        /* from the outer IP header's payload (its first byte: 0) */
	uint8_t v;
	int want;      /* DECODE_OK: the UDP datagram itself */
};

static const struct patch_case patches[] = {
	{"GRE version 1 (PPTP)", w_gre, 0, 1, 0x01, DECODE_NOT_TCP},
	{"GRE routing bit", w_gre, 0, 0, 0x40, DECODE_NOT_TCP},
	{"GRE unknown protocol", w_gre, 0, 2, 0x12, DECODE_NOT_TCP},
	{"ERSPAN II version 2", w_erspan2, 0, 8, 0x20, DECODE_MALFORMED},
	{"ERSPAN III version 1", w_erspan3, 0, 8, 0x10, DECODE_MALFORMED},
	{"ERSPAN III frame type 3", w_erspan3, 0, 8 + 10, 3 << 2, DECODE_NOT_TCP},
	{"VXLAN without the I flag", w_vxlan, 4, 8, 0x00, DECODE_NOT_TCP},
	{"VXLAN on another port: UDP", w_vxlan, 4, 3, 0x00, DECODE_OK},
	{"Geneve version 1", w_geneve, 0, 8, 0x40, DECODE_NOT_TCP},
	{"Geneve OAM", w_geneve, 0, 9, 0x80, DECODE_NOT_TCP},
	{"Geneve unknown protocol", w_geneve, 0, 10, 0x99, DECODE_NOT_TCP},
	{"Geneve options beyond the frame", w_geneve, 0, 8, 0x3f, DECODE_TRUNCATED},
	{"GTP-U echo request", w_gtpu, 0, 9, 1, DECODE_NOT_TCP},
	{"GTP version 2", w_gtpu, 0, 8, 0x50, DECODE_NOT_TCP},
	{"GTP' (PT 0)", w_gtpu, 0, 8, 0x20, DECODE_NOT_TCP},
	{"GTP-U length shorter than its header", w_gtpu, 2, 11, 2, DECODE_MALFORMED},
	{"GTP-U extension of length 0", w_gtpu, 7, 20, 0, DECODE_MALFORMED},
	{"GTP-U not IP", w_gtpu, 0, 16, 0x50, DECODE_MALFORMED},
	{"UDP length under 8", w_vxlan, 4, 5, 7, DECODE_MALFORMED},
	{"UDP length beyond IP", w_vxlan, 4, 4, 0x7f, DECODE_MALFORMED},
};

static void test_patches(void)
{
	for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
		const struct patch_case *pc = &patches[i];
		struct frame *f = malloc(sizeof *f);
		struct tcp_packet t;
		f_init(f);
		pc->put(f, INNER4, pc->arg);
		f_done(f);
		size_t outer_payload = 14 + 20; /* the outer IPv4 header's payload */
		f->b[outer_payload + (size_t)pc->at] = pc->v;
		struct decoder *d = decoder_new(1, NULL);
		const uint8_t *base = f_guarded(f->b, f->len);
		int rc = decoder_frame(d, base, f->len, 1, &t);
		int failed = check_failed;
		CHECK_INT(rc, pc->want);
		if (rc == DECODE_OK)
			CHECK_INT(t.proto, DECODE_PROTO_UDP);
		if (check_failed != failed)
			fprintf(stderr, "     in: %s\n", pc->name);
		decoder_free(d);
		free(f);
	}
}

/* ---- after the MPLS labels: IP or Ethernet ------------------------------------- */

/* An Ethernet pseudowire whose destination MAC starts with 4 or 6 is
 * still Ethernet: the IP length test fails and an EtherType fits. */
static void test_eompls_mac_nibbles(void)
{
	static const uint8_t firsts[] = {0x40, 0x66, 0x02, 0xa0};
	for (size_t i = 0; i < sizeof firsts; i++) {
		struct frame *f = malloc(sizeof *f);
		struct tcp_packet t;
		f_init(f);
		w_eompls(f, INNER4, 0);
		f_done(f);
		f->b[14 + 8] = firsts[i]; /* the inner destination MAC */
		struct decoder *d = decoder_new(1, NULL);
		CHECK_INT(decoder_frame(d, f->b, f->len, 1, &t), DECODE_OK);
		CHECK_INT(t.encap_inner, ENCAP_EOMPLS);
		CHECK_INT(t.dport, F_DPORT);
		decoder_free(d);
		free(f);
	}
}

/* IPv4 after the labels, cut by the snapshot length: the header checksum
 * still says IP. An associated channel (first nibble 1) is not traffic. */
static void test_mpls_ip_cut(void)
{
	struct frame *f = malloc(sizeof *f);
	struct tcp_packet t;
	f_init(f);
	w_mpls_ip(f, INNER4, 0);
	f_payload(f, 400);
	f_done(f);
	struct decoder *d = decoder_new(1, NULL);
	CHECK_INT(decoder_frame(d, f->b, 96, 1, &t), DECODE_OK);
	CHECK_INT(t.encap_inner, ENCAP_MPLS);
	CHECK_INT(t.wirelen, PAYLOAD + 400);
	f->b[18] = 0x10;
	CHECK_INT(decoder_frame(d, f->b, f->len, 1, &t), DECODE_NOT_TCP);
	decoder_free(d);
	free(f);
}

/* ---- the nesting bound ---------------------------------------------------------- */

/* n layers of IPv4 in IPv4: followed up to max_layers, then counted. */
static void test_depth(void)
{
	struct decoder_limits lim = DECODER_LIMITS_DEFAULT;
	lim.max_layers = 3;
	for (int n = 0; n <= 5; n++) {
		struct frame *f = malloc(sizeof *f);
		struct tcp_packet t;
		f_init(f);
		f_eth(f, 0x0800);
		for (int i = 0; i < n; i++)
			outer_ip(f, 4, 4);
		put_inner_ip(f, INNER4);
		f_done(f);
		struct decoder *d = decoder_new(1, &lim);
		int rc = decoder_frame(d, f->b, f->len, 1, &t);
		CHECK_INT(rc, n <= 3 ? DECODE_OK : DECODE_TOO_DEEP);
		CHECK_INT(decoder_stats(d)->too_deep, n > 3);
		if (rc == DECODE_OK)
			CHECK_INT(t.layers, n);
		decoder_free(d);
		free(f);
	}
}

/* Nine VLAN tags, nine MPLS labels: beyond the tags a stack may have. */
static void test_tag_bound(void)
{
	struct frame *f = malloc(sizeof *f);
	struct tcp_packet t;
	f_init(f);
	f_eth(f, 0x8100);
	for (int i = 0; i < 9; i++)
		f_vlan(f, (unsigned)i, i < 8 ? 0x8100 : 0x0800);
	put_inner_ip(f, INNER4);
	f_done(f);
	CHECK_INT(decode_packet(1, f->b, f->len, &t), DECODE_TOO_DEEP);
	f_init(f);
	f_eth(f, 0x8847);
	for (int i = 0; i < 9; i++)
		f_mpls(f, 16 + (unsigned)i, i == 8);
	put_inner_ip(f, INNER4);
	f_done(f);
	CHECK_INT(decode_packet(1, f->b, f->len, &t), DECODE_TOO_DEEP);
	free(f);
}

/* UDP that is no tunnel comes out as UDP (DNS, later). */
static void test_udp(void)
{
	struct frame *f = malloc(sizeof *f);
	struct tcp_packet t;
	f_init(f);
	f_eth(f, 0x0800);
	f_ipv4(f, 17);
	f_udp(f, 5353, 53);
	f_payload(f, 30);
	f_done(f);
	struct decoder *d = decoder_new(1, NULL);
	CHECK_INT(decoder_frame(d, f->b, f->len, 1, &t), DECODE_OK);
	CHECK_INT(t.proto, DECODE_PROTO_UDP);
	CHECK_INT(t.dport, 53);
	CHECK_INT(t.wirelen, 30);
	CHECK_INT(t.caplen, 30);
	CHECK_INT(decoder_frame(d, f->b, f->len - 10, 1, &t), DECODE_OK);
	CHECK_INT(t.caplen, 20);
	decoder_free(d);
	free(f);
}

int main(void)
{
	test_all_wraps();
	test_patches();
	test_eompls_mac_nibbles();
	test_mpls_ip_cut();
	test_depth();
	test_tag_bound();
	test_udp();
	return check_done("tunnel");
}
