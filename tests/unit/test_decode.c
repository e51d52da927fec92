/* decode_packet() and the decoder object: every supported link type over
 * IPv4 and IPv6, header variants, every cut length, and the error
 * statuses; both ways of decoding must agree on all of it. Frames are
 * built by the small put_* helpers below; each decoded frame sits flush
 * against an unreadable page, so a one-byte over-read crashes the test.
 * Tunnels are in test_tunnel.c, fragments in test_ipfrag.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../capture/decode.h"
#include "check.h"

/* ---- frame building ---------------------------------------------------- */

struct frame {
	uint8_t b[4096];
	size_t len;
	size_t l3;      /* offset of the IP header */
	size_t l4;      /* offset of the TCP header */
	size_t payload; /* offset of the TCP payload */
	size_t wire;    /* TCP payload bytes on the wire */
};

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 25};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};

enum { SPORT = 1025, DPORT = 25 };
#define SEQ 0xfffffff0u
#define ACK 0x80000001u

static void put8(struct frame *f, unsigned v)
{
	f->b[f->len++] = (uint8_t)v;
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8 & 0xff);
	put8(f, v & 0xff);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void putn(struct frame *f, unsigned v, size_t n)
{
	while (n--)
		put8(f, v);
}

static void putb(struct frame *f, const uint8_t *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void set16(struct frame *f, size_t at, unsigned v)
{
	f->b[at] = (uint8_t)(v >> 8);
	f->b[at + 1] = (uint8_t)v;
}

/* What goes above the link layer. */
struct ip_spec {
	int family;
	unsigned ip_opts;  /* IPv4 option bytes, a multiple of 4 (max 40) */
	unsigned tcp_opts; /* TCP option bytes, a multiple of 4 (max 40) */
	int v6_ext;        /* IPv6: 1 hop-by-hop, dest opts, fragment; 2 routing, AH */
	size_t payload;
	uint8_t flags;
};

static void put_ipv4(struct frame *f, const struct ip_spec *s)
{
	put8(f, 0x40 | (20 + s->ip_opts) / 4);
	put8(f, 0);
	put16(f, 0);          /* total length, patched below */
	put16(f, 0x1234);     /* id */
	put16(f, 0x4000);     /* DF */
	put8(f, 64);
	put8(f, 6);
	put16(f, 0);
	putb(f, SRC4, 4);
	putb(f, DST4, 4);
	putn(f, 0x01, s->ip_opts); /* NOPs */
}

static void put_v6_ext(struct frame *f)
{
	/* hop-by-hop: 8 bytes, a PadN option */
	put8(f, 60), put8(f, 0), put8(f, 1), put8(f, 4), put32(f, 0);
	/* destination options: 16 bytes, a PadN option */
	put8(f, 44), put8(f, 1), put8(f, 1), put8(f, 12), putn(f, 0, 12);
	/* fragment header: offset 0, M clear (an atomic fragment) */
	put8(f, 6), put8(f, 0), put16(f, 0), put32(f, 0xcafe);
}

/* A routing header (type 4, no segments left), then an authentication
 * header, whose length counts 4-byte words. */
static void put_v6_route_ah(struct frame *f)
{
	put8(f, 51), put8(f, 0), put8(f, 4), put8(f, 0), put32(f, 0);
	put8(f, 6), put8(f, 1), put16(f, 0), put32(f, 0x100), put32(f, 7);
}

static void put_ipv6(struct frame *f, const struct ip_spec *s)
{
	static const uint8_t first[] = {6, 0, 43};
	put32(f, 0x60000000);
	put16(f, 0); /* payload length, patched below */
	put8(f, first[s->v6_ext]);
	put8(f, 64);
	putb(f, SRC6, 16);
	putb(f, DST6, 16);
	if (s->v6_ext == 1)
		put_v6_ext(f);
	else if (s->v6_ext == 2)
		put_v6_route_ah(f);
}

static void put_tcp(struct frame *f, const struct ip_spec *s)
{
	f->l4 = f->len;
	put16(f, SPORT);
	put16(f, DPORT);
	put32(f, SEQ);
	put32(f, ACK);
	put8(f, (20 + s->tcp_opts) / 4 << 4);
	put8(f, s->flags);
	put16(f, 0xffff);
	put32(f, 0); /* checksum, urgent pointer */
	if (s->tcp_opts >= 4) {
		put8(f, 2), put8(f, 4), put16(f, 1460); /* MSS */
		putn(f, 0x01, s->tcp_opts - 4);         /* NOPs */
	}
}

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Appends IP, TCP and payload; patches the IP length field. */
static void put_ip(struct frame *f, const struct ip_spec *s)
{
	f->l3 = f->len;
	if (s->family == 4)
		put_ipv4(f, s);
	else
		put_ipv6(f, s);
	put_tcp(f, s);
	f->payload = f->len;
	f->wire = s->payload;
	for (size_t i = 0; i < s->payload; i++)
		put8(f, payload_byte(i));
	if (s->family == 4)
		set16(f, f->l3 + 2, (unsigned)(f->len - f->l3));
	else
		set16(f, f->l3 + 4, (unsigned)(f->len - f->l3 - 40));
}

/* ---- link layers ------------------------------------------------------- */

typedef void (*link_put)(struct frame *f, int family, unsigned arg);

static unsigned ethertype(int family)
{
	return family == 4 ? 0x0800 : 0x86dd;
}

static void put_macs(struct frame *f)
{
	static const uint8_t macs[12] = {0, 0x11, 0x22, 0x33, 0x44, 0x55,
					 0, 0x66, 0x77, 0x88, 0x99, 0xaa};
	putb(f, macs, 12);
}

static void put_eth(struct frame *f, int family, unsigned arg)
{
	(void)arg;
	put_macs(f);
	put16(f, ethertype(family));
}

static void put_vlan(struct frame *f, int family, unsigned tags)
{
	put_macs(f);
	for (unsigned i = 0; i < tags; i++)
		put16(f, 0x8100), put16(f, 100 + i);
	put16(f, ethertype(family));
}

/* arg: the outer TPID (0x88a8 or 0x9100), then an 802.1Q tag. */
static void put_qinq(struct frame *f, int family, unsigned tpid)
{
	put_macs(f);
	put16(f, tpid), put16(f, 10);
	put16(f, 0x8100), put16(f, 20);
	put16(f, ethertype(family));
}

/* arg: number of labels; the last has the bottom-of-stack bit. */
static void put_mpls(struct frame *f, int family, unsigned labels)
{
	(void)family;
	put_macs(f);
	put16(f, 0x8847);
	for (unsigned i = 1; i <= labels; i++)
		put32(f, (1000 + i) << 12 | (i == labels ? 0x100 : 0) | 64);
}

static void put_vlan_mpls(struct frame *f, int family, unsigned arg)
{
	(void)family, (void)arg;
	put_macs(f);
	put16(f, 0x8100), put16(f, 7);
	put16(f, 0x8847);
	put32(f, 16 << 12 | 0x100 | 64);
}

static void put_pppoe(struct frame *f, int family, unsigned arg)
{
	(void)arg;
	put_macs(f);
	put16(f, 0x8864);
	put8(f, 0x11), put8(f, 0), put16(f, 0x0042), put16(f, 0); /* length unused */
	put16(f, family == 4 ? 0x0021 : 0x0057);
}

static void put_sll(struct frame *f, int family, unsigned arg)
{
	(void)arg;
	put16(f, 0);     /* packet type: to us */
	put16(f, 1);     /* ARPHRD_ETHER */
	put16(f, 6);
	put_macs(f);     /* 8 address bytes: 6 used, then 2 more */
	f->len -= 4;
	put16(f, ethertype(family));
}

static void put_sll2(struct frame *f, int family, unsigned arg)
{
	(void)arg;
	put16(f, ethertype(family));
	put16(f, 0);     /* reserved */
	put32(f, 3);     /* interface index */
	put16(f, 1);     /* ARPHRD_ETHER */
	put8(f, 4);      /* outgoing */
	put8(f, 6);
	putn(f, 0xab, 8);
}

static void put_none(struct frame *f, int family, unsigned arg)
{
	(void)f, (void)family, (void)arg;
}

/* BSD NULL: the address family in the capturing host's byte order. */
static void put_null_host(struct frame *f, int family, unsigned af)
{
	(void)family;
	uint32_t v = af;
	memcpy(f->b + f->len, &v, 4);
	f->len += 4;
}

/* OpenBSD LOOP: network order. */
static void put_null_net(struct frame *f, int family, unsigned af)
{
	(void)family;
	put32(f, af);
}

enum { FAM4 = 1, FAM6 = 2, BOTH = 3 };

struct link_case {
	const char *name;
	int linktype;
	link_put put;
	unsigned arg;
	int families;
	size_t hdr; /* link header length */
};

static const struct link_case links[] = {
	{"ethernet", 1, put_eth, 0, BOTH, 14},
	{"802.1Q", 1, put_vlan, 1, BOTH, 18},
	{"two 802.1Q tags", 1, put_vlan, 2, BOTH, 22},
	{"QinQ 0x88a8", 1, put_qinq, 0x88a8, BOTH, 22},
	{"QinQ 0x9100", 1, put_qinq, 0x9100, BOTH, 22},
	{"MPLS one label", 1, put_mpls, 1, BOTH, 18},
	{"MPLS three labels", 1, put_mpls, 3, BOTH, 26},
	{"802.1Q + MPLS", 1, put_vlan_mpls, 0, BOTH, 22},
	{"PPPoE", 1, put_pppoe, 0, BOTH, 22},
	{"Linux SLL", 113, put_sll, 0, BOTH, 16},
	{"Linux SLL2", 276, put_sll2, 0, BOTH, 20},
	{"raw 12", 12, put_none, 0, BOTH, 0},
	{"raw 14", 14, put_none, 0, BOTH, 0},
	{"raw 101", 101, put_none, 0, BOTH, 0},
	{"NULL AF_INET", 0, put_null_host, 2, FAM4, 4},
	{"NULL AF_INET6 24 (NetBSD)", 0, put_null_host, 24, FAM6, 4},
	{"NULL AF_INET6 28 (FreeBSD)", 0, put_null_host, 28, FAM6, 4},
	{"NULL AF_INET6 30 (macOS)", 0, put_null_host, 30, FAM6, 4},
	{"NULL AF_INET6 10 (Linux)", 0, put_null_host, 10, FAM6, 4},
	{"LOOP AF_INET", 108, put_null_net, 2, FAM4, 4},
	{"LOOP AF_INET6 24", 108, put_null_net, 24, FAM6, 4},
	{"LOOP AF_INET6 28", 108, put_null_net, 28, FAM6, 4},
	{"LOOP AF_INET6 30", 108, put_null_net, 30, FAM6, 4},
	{"DLT_IPV4", 228, put_none, 0, FAM4, 0},
	{"DLT_IPV6", 229, put_none, 0, FAM6, 0},
};

static const struct ip_spec ip_cases[] = {
	{4, 0, 0, 0, 11, TCP_PSH | TCP_ACK},
	{4, 8, 12, 0, 11, TCP_PSH | TCP_ACK},  /* IPv4 and TCP options */
	{4, 40, 40, 0, 5, TCP_ACK | TCP_FIN},  /* the largest headers */
	{4, 0, 20, 0, 0, TCP_SYN},             /* a SYN with options */
	{6, 0, 0, 0, 11, TCP_PSH | TCP_ACK},
	{6, 0, 20, 1, 11, TCP_PSH | TCP_ACK},  /* hop-by-hop, dest opts, fragment */
	{6, 0, 0, 1, 0, TCP_SYN | TCP_ACK},
	{6, 0, 8, 2, 7, TCP_PSH | TCP_ACK},    /* routing header, AH */
};

static void build(struct frame *f, const struct link_case *lc, const struct ip_spec *s)
{
	memset(f, 0, sizeof *f);
	lc->put(f, s->family, lc->arg);
	put_ip(f, s);
}

/* ---- decoding against an unreadable page ------------------------------- */

static uint8_t *guard; /* a readable page followed by an unreadable one */
static size_t page;

static void guard_init(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	guard = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + page, page, PROT_NONE) != 0) {
		perror("mmap");
		exit(2);
	}
}

/* Copies n bytes so that they end where the unreadable page starts. */
static const uint8_t *flush_end(const uint8_t *p, size_t n)
{
	uint8_t *dst = guard + page - n;
	memcpy(dst, p, n);
	return dst;
}

/* The decoder object's result must be the stateless one's, but for UDP,
 * which only the object decodes (DECODE_OK or DECODE_MALFORMED where
 * decode_frame() says DECODE_NOT_TCP), and fragments, which it takes. */
static int same_packet(const struct tcp_packet *a, const struct tcp_packet *b)
{
	return a->family == b->family && memcmp(a->src, b->src, 16) == 0 &&
	       memcmp(a->dst, b->dst, 16) == 0 && a->sport == b->sport && a->dport == b->dport &&
	       a->seq == b->seq && a->ack == b->ack && a->flags == b->flags &&
	       a->proto == b->proto && a->tcp_cut == b->tcp_cut && a->payload == b->payload &&
	       a->caplen == b->caplen && a->wirelen == b->wirelen && a->l3 == b->l3 &&
	       a->l3_len == b->l3_len && a->layers == b->layers &&
	       a->encap_outer == b->encap_outer && a->encap_inner == b->encap_inner;
}

static int decode_guarded(int linktype, const uint8_t *p, size_t n, struct tcp_packet *out,
			  const uint8_t **base)
{
	struct tcp_packet t2;
	*base = flush_end(p, n);
	memset(out, 0xff, sizeof *out);
	int rc = decode_packet(linktype, *base, n, out);
	struct decoder *d = decoder_new(linktype, NULL);
	if (!d) {
		CHECK_INT(rc, DECODE_BAD_LINKTYPE);
		return rc;
	}
	memset(&t2, 0xee, sizeof t2);
	int rc2 = decoder_frame(d, *base, n, 1.0, &t2);
	if (rc == DECODE_FRAGMENT) { /* held, or dropped when malformed (test_ipfrag.c) */
		CHECK(rc2 == DECODE_HELD || rc2 == DECODE_FRAGMENT);
	} else if (rc == DECODE_NOT_TCP && (rc2 == DECODE_MALFORMED || rc2 == DECODE_OK)) {
		CHECK(rc2 == DECODE_MALFORMED || t2.proto == DECODE_PROTO_UDP);
	} else {
		CHECK_INT(rc2, rc);
		if (rc == DECODE_OK && !CHECK(same_packet(out, &t2)))
			fprintf(stderr, "     decoder_frame differs, frame of %zu bytes\n", n);
	}
	decoder_free(d);
	return rc;
}

/* ---- the full decode of every link type and header variant -------------- */

static void check_fields(const struct tcp_packet *t, const struct frame *f,
			 const struct ip_spec *s, const uint8_t *base, size_t caplen)
{
	static const uint8_t zero[12];
	CHECK_INT(t->family, s->family);
	if (s->family == 4) {
		CHECK(memcmp(t->src, SRC4, 4) == 0 && memcmp(t->dst, DST4, 4) == 0);
		CHECK(memcmp(t->src + 4, zero, 12) == 0 && memcmp(t->dst + 4, zero, 12) == 0);
	} else {
		CHECK(memcmp(t->src, SRC6, 16) == 0 && memcmp(t->dst, DST6, 16) == 0);
	}
	CHECK_INT(t->sport, SPORT);
	CHECK_INT(t->dport, DPORT);
	CHECK_INT(t->seq, SEQ);
	CHECK_INT(t->ack, ACK);
	CHECK_INT(t->flags, s->flags);
	CHECK_INT(t->proto, DECODE_PROTO_TCP);
	CHECK_INT(t->tcp_cut, 0);
	CHECK_INT(t->reassembled, 0);
	CHECK(t->payload == base + f->payload);
	CHECK_INT(t->caplen, caplen - f->payload);
	CHECK_INT(t->wirelen, s->payload);
	CHECK(t->l3 == base + f->l3);
	CHECK_INT(t->l3_len, caplen - f->l3);
}

/* 1 if a cut frame decodes as it should: TRUNCATED before the TCP flags,
 * then a segment flagged cut without payload until the options end, then
 * OK with the captured part of the payload. */
static int cut_ok(const struct link_case *lc, const struct frame *f, size_t cut)
{
	struct tcp_packet t;
	const uint8_t *base;
	int rc = decode_guarded(lc->linktype, f->b, cut, &t, &base);
	if (cut < f->l4 + 14)
		return rc == DECODE_TRUNCATED;
	if (cut < f->payload)
		return rc == DECODE_OK && t.tcp_cut && t.caplen == 0 && t.wirelen == f->wire &&
		       t.payload == base + cut && t.seq == SEQ && t.flags == f->b[f->l4 + 13];
	return rc == DECODE_OK && !t.tcp_cut && t.payload == base + f->payload &&
	       t.caplen == cut - f->payload && t.wirelen == f->wire &&
	       (cut == f->payload || memcmp(t.payload, f->b + f->payload, t.caplen) == 0);
}

/* Ethernet frames with IP and a whole TCP header go through a direct path;
 * the same IP packet as a raw frame goes through the walk: both must say
 * the same at every cut. */
static int fast_path_agrees(const struct frame *f, size_t cut)
{
	struct tcp_packet a, b;
	if (cut < 14)
		return 1;
	const uint8_t *base = flush_end(f->b, cut);
	memset(&a, 0xaa, sizeof a);
	memset(&b, 0xbb, sizeof b);
	int ra = decode_packet(1, base, cut, &a), rb = decode_packet(101, base + 14, cut - 14, &b);
	return ra == rb && (ra != DECODE_OK || same_packet(&a, &b));
}

static void test_link(const struct link_case *lc, const struct ip_spec *s)
{
	struct frame f;
	struct tcp_packet t;
	const uint8_t *base;
	int failed = check_failed;
	build(&f, lc, s);
	CHECK_INT(f.l3, lc->hdr);
	int rc = decode_guarded(lc->linktype, f.b, f.len, &t, &base);
	CHECK_INT(rc, DECODE_OK);
	if (rc == DECODE_OK) {
		check_fields(&t, &f, s, base, f.len);
		CHECK(memcmp(t.payload, f.b + f.payload, s->payload) == 0);
	}
	size_t bad = SIZE_MAX;
	for (size_t cut = 0; cut <= f.len && bad == SIZE_MAX; cut++)
		if (!cut_ok(lc, &f, cut))
			bad = cut;
	if (!CHECK(bad == SIZE_MAX))
		fprintf(stderr, "     cut at %zu of %zu: rc %d\n", bad, f.len,
			decode_guarded(lc->linktype, f.b, bad, &t, &base));
	for (size_t cut = 0; lc->put == put_eth && cut <= f.len; cut++)
		if (!CHECK(fast_path_agrees(&f, cut)))
			break;
	if (check_failed != failed)
		fprintf(stderr, "     in: %s, IPv%d, ip_opts %u tcp_opts %u ext %d payload %zu\n",
			lc->name, s->family, s->ip_opts, s->tcp_opts, s->v6_ext, s->payload);
}

static void test_all_links(void)
{
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		CHECK_INT(decode_linktype_supported(links[i].linktype), 1);
		for (size_t j = 0; j < sizeof ip_cases / sizeof ip_cases[0]; j++)
			if (links[i].families & (ip_cases[j].family == 4 ? FAM4 : FAM6))
				test_link(&links[i], &ip_cases[j]);
	}
}

/* ---- statuses: byte patches on a standard frame -------------------------- */

struct patch_case {
	const char *name;
	int linktype;
	int family;
	int v6_ext;
	int np;
	struct {
		int at;    /* relative to the IP header */
		uint8_t v;
	} p[3];
	int want;
};

static const struct patch_case patches[] = {
	{"IPv4 more fragments", 1, 4, 0, 1, {{6, 0x20}}, DECODE_FRAGMENT},
	{"IPv4 offset 8", 1, 4, 0, 2, {{6, 0}, {7, 1}}, DECODE_FRAGMENT},
	{"IPv4 last fragment", 1, 4, 0, 2, {{6, 0x0f}, {7, 0xff}}, DECODE_FRAGMENT},
	{"IPv4 DF only", 1, 4, 0, 1, {{6, 0x40}}, DECODE_OK},
	{"IPv4 reserved flag", 1, 4, 0, 1, {{6, 0x80}}, DECODE_OK},
	{"IPv6 fragment offset", 1, 6, 1, 1, {{66, 0x01}}, DECODE_FRAGMENT},
	{"IPv6 more fragments", 1, 6, 1, 1, {{67, 0x01}}, DECODE_FRAGMENT},
	{"IPv6 fragment reserved bits", 1, 6, 1, 1, {{67, 0x06}}, DECODE_OK},
	{"IPv4 UDP", 1, 4, 0, 1, {{9, 17}}, DECODE_NOT_TCP},
	{"IPv4 ICMP", 228, 4, 0, 1, {{9, 1}}, DECODE_NOT_TCP},
	{"IPv6 UDP", 1, 6, 0, 1, {{6, 17}}, DECODE_NOT_TCP},
	{"IPv6 ICMPv6 after hop-by-hop", 1, 6, 1, 1, {{40, 58}}, DECODE_NOT_TCP},
	{"IPv6 no next header", 1, 6, 0, 1, {{6, 59}}, DECODE_NOT_TCP},
	{"IPv6 UDP after fragment header", 1, 6, 1, 1, {{64, 17}}, DECODE_NOT_TCP},
	{"ARP", 1, 4, 0, 2, {{-2, 0x08}, {-1, 0x06}}, DECODE_NOT_TCP},
	{"PPPoE LCP", 1, 4, 0, 0, {{0, 0}}, DECODE_NOT_TCP}, /* built below */
	{"IPv4 IHL 4", 1, 4, 0, 1, {{0, 0x44}}, DECODE_MALFORMED},
	{"IPv4 IHL 0", 1, 4, 0, 1, {{0, 0x40}}, DECODE_MALFORMED},
	{"IPv6 header under 0x0800", 1, 4, 0, 1, {{0, 0x65}}, DECODE_MALFORMED},
	{"raw, version 5", 101, 4, 0, 1, {{0, 0x55}}, DECODE_MALFORMED},
	{"DLT_IPV6, version 4", 229, 6, 0, 1, {{0, 0x40}}, DECODE_MALFORMED},
	{"IPv4 total < IHL", 1, 4, 0, 2, {{2, 0}, {3, 19}}, DECODE_MALFORMED},
	{"IPv4 total = IHL + 19", 1, 4, 0, 2, {{2, 0}, {3, 39}}, DECODE_MALFORMED},
	{"TCP data offset 4", 1, 4, 0, 1, {{32, 0x40}}, DECODE_MALFORMED},
	{"TCP data offset 0", 1, 4, 0, 1, {{32, 0x00}}, DECODE_MALFORMED},
	{"TCP data offset beyond IP length", 1, 4, 0, 3, {{2, 0}, {3, 44}, {32, 0x70}},
	 DECODE_MALFORMED},
	{"IPv6 TCP data offset 4", 1, 6, 0, 1, {{52, 0x40}}, DECODE_MALFORMED},
	{"IPv6 length shorter than its headers", 1, 6, 1, 2, {{4, 0}, {5, 16}},
	 DECODE_MALFORMED},
};

static void build_patched(struct frame *f, const struct patch_case *pc)
{
	struct ip_spec s = {pc->family, 0, 0, pc->v6_ext, 9, TCP_PSH | TCP_ACK};
	const struct link_case *lc = &links[0];
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (links[i].linktype == pc->linktype) {
			lc = &links[i];
			break;
		}
	build(f, lc, &s);
	for (int i = 0; i < pc->np; i++)
		f->b[(size_t)((int)f->l3 + pc->p[i].at)] = pc->p[i].v;
}

static void test_patches(void)
{
	for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
		const struct patch_case *pc = &patches[i];
		struct frame f;
		struct tcp_packet t;
		const uint8_t *base;
		build_patched(&f, pc);
		if (strcmp(pc->name, "PPPoE LCP") == 0) {
			struct ip_spec s = {4, 0, 0, 0, 9, TCP_ACK};
			build(&f, &links[8], &s);
			set16(&f, f.l3 - 2, 0xc021);
		}
		int rc = decode_guarded(pc->linktype, f.b, f.len, &t, &base);
		int failed = check_failed;
		CHECK_INT(rc, pc->want);
		if (check_failed != failed)
			fprintf(stderr, "     in: %s\n", pc->name);
	}
}

/* ---- special cases ------------------------------------------------------- */

static void test_bad_linktype(void)
{
	static const int bad[] = {-1, 2, 9, 50, 104, 105, 127, 147, 227, 230, 275, 277, 65535};
	struct frame f;
	struct tcp_packet t;
	const uint8_t *base;
	struct ip_spec s = {4, 0, 0, 0, 4, TCP_ACK};
	build(&f, &links[0], &s);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(decode_linktype_supported(bad[i]), 0);
		CHECK_INT(decode_guarded(bad[i], f.b, f.len, &t, &base), DECODE_BAD_LINKTYPE);
	}
	CHECK_INT(decode_guarded(9999, f.b, 0, &t, &base), DECODE_BAD_LINKTYPE);
}

static void test_null_unknown_af(void)
{
	struct frame f;
	struct tcp_packet t;
	const uint8_t *base;
	struct ip_spec s = {4, 0, 0, 0, 4, TCP_ACK};
	const struct link_case lc = {"NULL AF 7", 0, put_null_host, 7, FAM4, 4};
	build(&f, &lc, &s);
	CHECK_INT(decode_guarded(0, f.b, f.len, &t, &base), DECODE_NOT_TCP);
	const struct link_case lc2 = {"LOOP AF 17", 108, put_null_net, 17, FAM4, 4};
	build(&f, &lc2, &s);
	CHECK_INT(decode_guarded(108, f.b, f.len, &t, &base), DECODE_NOT_TCP);
}

/* IPv4 total length 0: TCP segmentation offload; the frame's length counts. */
static void test_tso(void)
{
	struct frame f;
	struct tcp_packet t;
	const uint8_t *base;
	struct ip_spec s = {4, 0, 0, 0, 3000, TCP_ACK};
	build(&f, &links[0], &s);
	set16(&f, f.l3 + 2, 0);
	CHECK_INT(decode_guarded(1, f.b, f.len, &t, &base), DECODE_OK);
	CHECK_INT(t.caplen, 3000);
	CHECK_INT(t.wirelen, 3000);
	CHECK(t.payload == base + 54);
	/* IPv6 payload length 0 likewise */
	struct ip_spec s6 = {6, 0, 0, 0, 2000, TCP_ACK};
	build(&f, &links[0], &s6);
	set16(&f, f.l3 + 4, 0);
	CHECK_INT(decode_guarded(1, f.b, f.len, &t, &base), DECODE_OK);
	CHECK_INT(t.caplen, 2000);
	CHECK_INT(t.wirelen, 2000);
}

/* Bytes after the IP datagram (Ethernet padding, a trailing FCS) are not
 * payload. */
static void test_padding(void)
{
	static const struct {
		int family;
		size_t payload, pad;
	} cases[] = {{4, 0, 6}, {4, 2, 4}, {4, 5, 1}, {4, 11, 4}, {6, 0, 4}, {6, 3, 8}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct frame f;
		struct tcp_packet t;
		const uint8_t *base;
		struct ip_spec s = {cases[i].family, 0, 0, 0, cases[i].payload, TCP_ACK};
		build(&f, &links[1], &s);
		putn(&f, 0xee, cases[i].pad);
		CHECK_INT(decode_guarded(1, f.b, f.len, &t, &base), DECODE_OK);
		CHECK_INT(t.caplen, cases[i].payload);
		CHECK_INT(t.wirelen, cases[i].payload);
	}
}

/* A frame cut by the snapshot length: the payload's wire length comes
 * from the IP header. Cut within the TCP options (snaplen 64 with
 * timestamps), the segment is still there, flagged, without payload. */
static void test_snaplen(void)
{
	struct frame f;
	struct tcp_packet t;
	const uint8_t *base;
	struct ip_spec s = {4, 0, 12, 0, 1400, TCP_PSH | TCP_ACK};
	build(&f, &links[0], &s);
	CHECK_INT(decode_guarded(1, f.b, 96, &t, &base), DECODE_OK);
	CHECK_INT(t.caplen, 96 - 66);
	CHECK_INT(t.wirelen, 1400);
	CHECK_INT(t.l3_len, 96 - 14);
	CHECK_INT(t.tcp_cut, 0);
	CHECK_INT(decode_guarded(1, f.b, 64, &t, &base), DECODE_OK);
	CHECK_INT(t.tcp_cut, 1);
	CHECK_INT(t.caplen, 0);
	CHECK_INT(t.wirelen, 1400);
	CHECK_INT(t.sport, SPORT);
	CHECK_INT(t.seq, SEQ);
	CHECK_INT(t.ack, ACK);
	CHECK_INT(t.flags, TCP_PSH | TCP_ACK);
	CHECK_INT(decode_guarded(1, f.b, 14 + 20 + 13, &t, &base), DECODE_TRUNCATED);
	struct ip_spec s6 = {6, 0, 0, 1, 1400, TCP_ACK};
	build(&f, &links[9], &s6);
	CHECK_INT(decode_guarded(113, f.b, 128, &t, &base), DECODE_OK);
	CHECK_INT(t.caplen, 128 - 16 - 40 - 32 - 20);
	CHECK_INT(t.wirelen, 1400);
}

/* The decoder counts a cut header, and returns UDP that decode_frame()
 * does not. */
static void test_decoder_counts(void)
{
	struct frame f;
	struct tcp_packet t;
	struct ip_spec s = {4, 0, 12, 0, 100, TCP_ACK};
	struct decoder *d = decoder_new(1, NULL);
	build(&f, &links[0], &s);
	CHECK_INT(decoder_frame(d, f.b, f.len, 1, &t), DECODE_OK);
	CHECK_INT(decoder_frame(d, f.b, 64, 1, &t), DECODE_OK);
	f.b[f.l3 + 9] = 17; /* UDP to port 25 */
	set16(&f, f.l4 + 4, (unsigned)(f.len - f.l4));
	CHECK_INT(decoder_frame(d, f.b, f.len, 1, &t), DECODE_OK);
	CHECK_INT(t.proto, DECODE_PROTO_UDP);
	CHECK_INT(t.dport, DPORT);
	CHECK_INT(t.wirelen, f.len - f.l4 - 8);
	CHECK_INT(t.caplen, f.len - f.l4 - 8);
	CHECK(t.payload == f.b + f.l4 + 8);
	CHECK_INT(t.seq, 0);
	CHECK_INT(t.flags, 0);
	CHECK_INT(decode_packet(1, f.b, f.len, &t), DECODE_NOT_TCP);
	set16(&f, f.l4 + 4, 7); /* a UDP length under its header */
	CHECK_INT(decoder_frame(d, f.b, f.len, 1, &t), DECODE_MALFORMED);
	const struct decoder_stats *st = decoder_stats(d);
	CHECK_INT(st->tcp_cut, 1);
	CHECK_INT(st->outer[ENCAP_LINK], 4);
	CHECK_INT(st->inner[ENCAP_LINK], 4);
	struct decoder_counter c[DECODER_COUNTERS_MAX];
	size_t n = decoder_counters(d, c, DECODER_COUNTERS_MAX);
	CHECK(n <= DECODER_COUNTERS_MAX);
	int seen = 0;
	for (size_t i = 0; i < n && i < DECODER_COUNTERS_MAX; i++) {
		if (strcmp(c[i].name, "decode.frames") == 0) {
			CHECK_INT(c[i].value, 4);
			seen |= 1;
		}
		if (strcmp(c[i].name, "encap_outer.ethernet") == 0) {
			CHECK_INT(c[i].value, 4);
			seen |= 2;
		}
		if (strcmp(c[i].name, "decode.tcp_header_cut") == 0) {
			CHECK_INT(c[i].value, 1);
			seen |= 4;
		}
		CHECK(strncmp(c[i].name, "encap_outer.gre", 15) != 0); /* zero: not listed */
	}
	CHECK_INT(seen, 7);
	CHECK_INT(decoder_counters(d, c, 2), n); /* a short array: the count still */
	decoder_free(d);
	decoder_free(NULL);
	CHECK(decoder_new(9999, NULL) == NULL);
}

int main(void)
{
	guard_init();
	test_all_links();
	test_patches();
	test_bad_linktype();
	test_null_unknown_af();
	test_tso();
	test_padding();
	test_snaplen();
	test_decoder_counts();
	return check_done("decode");
}
