/* Tunnel headers, each a small step of the walk (layers.h): GRE (RFC 2784,
 * 2890), ERSPAN I, II and III, VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U
 * (3GPP TS 29.281), and what follows an MPLS label stack. Which header
 * follows which is in the tables; the steps only read their own header. */
#include "layers.h"

/* ---- GRE ------------------------------------------------------------------- */

enum {
	GRE_CSUM = 0x8000, GRE_ROUTING = 0x4000, GRE_KEY = 0x2000, GRE_SEQ = 0x1000,
	GRE_VERSION = 0x0007
};

/* GRE protocol types we follow; ERSPAN's 0x88be is type II with a sequence
 * number, type I without. */
static const struct {
	uint16_t type;
	uint8_t layer;
	uint8_t encap;
	uint8_t seq_layer, seq_encap; /* when the sequence number is present */
} gre_types[] = {
	{0x0800, L_IPV4, ENCAP_GRE, L_IPV4, ENCAP_GRE},
	{0x86dd, L_IPV6, ENCAP_GRE, L_IPV6, ENCAP_GRE},
	{0x6558, L_ETHER, ENCAP_GRE, L_ETHER, ENCAP_GRE}, /* transparent Ethernet bridging */
	{0x8847, L_MPLS, ENCAP_GRE, L_MPLS, ENCAP_GRE},
	{0x88be, L_ETHER, ENCAP_ERSPAN1, L_ERSPAN2, ENCAP_ERSPAN2},
	{0x22eb, L_ERSPAN3, ENCAP_ERSPAN3, L_ERSPAN3, ENCAP_ERSPAN3},
};

static unsigned gre_header_len(uint16_t flags)
{
	return 4 + (flags & GRE_CSUM ? 4u : 0) + (flags & GRE_KEY ? 4u : 0) +
	       (flags & GRE_SEQ ? 4u : 0);
}

int step_gre(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	if (walk_left(w) < 4)
		return DECODE_TRUNCATED;
	uint16_t flags = be16(p), type = be16(p + 2);
	if (flags & (GRE_VERSION | GRE_ROUTING))
		return DECODE_NOT_TCP; /* PPTP's enhanced GRE; RFC 1701 source routes */
	unsigned hlen = gre_header_len(flags);
	if (walk_left(w) < hlen)
		return DECODE_TRUNCATED;
	for (size_t i = 0; i < sizeof gre_types / sizeof gre_types[0]; i++) {
		if (gre_types[i].type != type)
			continue;
		int seq = (flags & GRE_SEQ) != 0;
		w->off += hlen;
		w->tags = 0;
		w->layer = seq ? gre_types[i].seq_layer : gre_types[i].layer;
		return walk_encap(w, seq ? gre_types[i].seq_encap : gre_types[i].encap);
	}
	return DECODE_NOT_TCP;
}

/* ---- ERSPAN ------------------------------------------------------------------ */

/* Type II: 8 bytes, version 1, then the mirrored Ethernet frame. */
int step_erspan2(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	if (walk_left(w) < 8)
		return DECODE_TRUNCATED;
	if (p[0] >> 4 != 1)
		return DECODE_MALFORMED;
	w->off += 8;
	w->layer = L_ETHER;
	return 0;
}

enum { ERSPAN3_FT_ETHERNET = 0, ERSPAN3_FT_IP = 2 };

/* Type III: 12 bytes, version 2, an 8-byte platform-specific subheader
 * when the O bit is set; the frame type says Ethernet or IP. */
int step_erspan3(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	if (walk_left(w) < 12)
		return DECODE_TRUNCATED;
	if (p[0] >> 4 != 2)
		return DECODE_MALFORMED;
	size_t hlen = 12 + (p[11] & 1 ? 8u : 0);
	unsigned ft = p[10] >> 2 & 0x1f;
	if (walk_left(w) < hlen)
		return DECODE_TRUNCATED;
	w->off += hlen;
	if (ft == ERSPAN3_FT_ETHERNET) {
		w->layer = L_ETHER;
		return 0;
	}
	return ft == ERSPAN3_FT_IP ? walk_ip_version(w) : DECODE_NOT_TCP;
}

/* ---- UDP tunnels ----------------------------------------------------------------- */

static const struct {
	uint16_t port;
	uint8_t layer;
} udp_tunnels[] = {
	{4789, L_VXLAN},
	{6081, L_GENEVE},
	{2152, L_GTPU},
};

enum layer tunnel_udp_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof udp_tunnels / sizeof udp_tunnels[0]; i++)
		if (udp_tunnels[i].port == port)
			return (enum layer)udp_tunnels[i].layer;
	return L_DONE;
}

/* VXLAN: 8 bytes, the I flag set (a valid VNI), then Ethernet. */
int step_vxlan(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	if (walk_left(w) < 8)
		return DECODE_TRUNCATED;
	if (!(p[0] & 0x08))
		return DECODE_NOT_TCP;
	w->off += 8;
	w->layer = L_ETHER;
	return walk_encap(w, ENCAP_VXLAN);
}

static const struct {
	uint16_t type;
	uint8_t layer;
} geneve_types[] = {
	{0x6558, L_ETHER},
	{0x0800, L_IPV4},
	{0x86dd, L_IPV6},
};

/* Geneve: version 0, 8 bytes plus the options' length in 4-byte words;
 * control (OAM) packets carry no traffic. */
int step_geneve(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	if (walk_left(w) < 8)
		return DECODE_TRUNCATED;
	if (p[0] >> 6 != 0 || (p[1] & 0x80))
		return DECODE_NOT_TCP;
	size_t hlen = 8 + (size_t)(p[0] & 0x3f) * 4;
	uint16_t type = be16(p + 2);
	if (walk_left(w) < hlen)
		return DECODE_TRUNCATED;
	for (size_t i = 0; i < sizeof geneve_types / sizeof geneve_types[0]; i++) {
		if (geneve_types[i].type == type) {
			w->off += hlen;
			w->layer = geneve_types[i].layer;
			return walk_encap(w, ENCAP_GENEVE);
		}
	}
	return DECODE_NOT_TCP;
}

enum {
	GTP_VERSION_1 = 0x20, GTP_PT = 0x10, GTP_E = 0x04, GTP_S = 0x02, GTP_PN = 0x01,
	GTP_G_PDU = 255, GTP_EXT_MAX = 8
};

/* Walks the extension header chain from the first header's type; returns
 * the header length (from 12 on) or a negative status. Each extension is
 * a length in 4-byte words, its contents, the next type in its last byte. */
static int gtpu_extensions(const uint8_t *p, size_t len, size_t glen, uint8_t next)
{
	size_t hlen = 12;
	for (int i = 0; next != 0; i++) {
		if (i == GTP_EXT_MAX)
			return DECODE_MALFORMED;
		if (len < hlen + 1)
			return DECODE_TRUNCATED;
		size_t ext = (size_t)p[hlen] * 4;
		if (ext == 0 || hlen + ext > 8 + glen)
			return DECODE_MALFORMED;
		if (len < hlen + ext)
			return DECODE_TRUNCATED;
		next = p[hlen + ext - 1];
		hlen += ext;
	}
	return (int)hlen;
}

/* GTP-U version 1, G-PDU (type 255) only: 8 bytes, 4 more when any of the
 * sequence, N-PDU or extension flags is set, then the extensions; the
 * user's IP packet follows. */
int step_gtpu(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	if (len < 8)
		return DECODE_TRUNCATED;
	if ((p[0] & 0xf0) != (GTP_VERSION_1 | GTP_PT) || p[1] != GTP_G_PDU)
		return DECODE_NOT_TCP;
	size_t glen = be16(p + 2);
	int hlen = 8;
	if (p[0] & (GTP_E | GTP_S | GTP_PN)) {
		if (len < 12)
			return DECODE_TRUNCATED;
		hlen = gtpu_extensions(p, len, glen, p[0] & GTP_E ? p[11] : 0);
		if (hlen < 0)
			return hlen;
	}
	if ((size_t)hlen > 8 + glen)
		return DECODE_MALFORMED;
	w->off += (size_t)hlen;
	int rc = walk_encap(w, ENCAP_GTPU);
	return rc ? rc : walk_ip_version(w);
}

/* ---- after the MPLS label stack ------------------------------------------------------ */

/* An EtherType an Ethernet header inside a pseudowire would carry. */
static int ethertype_plausible(uint16_t type)
{
	static const uint16_t known[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100,
					 0x8847, 0x8848, 0x8864};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i] == type)
			return 1;
	return 0;
}

static int ether_at(const uint8_t *p, size_t len, size_t at)
{
	return len >= at + 14 && ethertype_plausible(be16(p + at + 12));
}

/* The IPv4 header checksum of the captured header is right. */
static int ipv4_checksum_ok(const uint8_t *p, size_t len)
{
	size_t ihl = (size_t)(p[0] & 15) * 4;
	uint32_t sum = 0;
	if (ihl < 20 || len < ihl)
		return 0;
	for (size_t i = 0; i < ihl; i += 2)
		sum += be16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* Wireshark's test, and the header checksum where the capture is cut: the
 * length field agrees with the bytes left (up to 4 of padding). */
static int looks_ipv4(const uint8_t *p, size_t len)
{
	if (len < 20)
		return 0;
	size_t total = be16(p + 2);
	return (total <= len && total + 4 >= len) || ipv4_checksum_ok(p, len);
}

static int looks_ipv6(const uint8_t *p, size_t len)
{
	if (len < 40)
		return 0;
	size_t total = 40 + (size_t)be16(p + 4);
	return total <= len && total + 4 >= len;
}

static int mpls_ether(struct walk *w, size_t cw)
{
	w->off += cw;
	w->layer = L_ETHER;
	return walk_encap(w, ENCAP_EOMPLS);
}

static int mpls_ip(struct walk *w, enum layer l)
{
	w->layer = l;
	return walk_encap(w, ENCAP_MPLS);
}

/* The first nibble after the bottom label (RFC 4385, 4928): 4 or 6 is IP
 * unless the lengths say otherwise and an Ethernet header fits; 0 is a
 * pseudowire control word before Ethernet, or Ethernet whose destination
 * MAC starts with 0; 1 is an associated channel, not traffic; any other is
 * Ethernet without a control word. */
int walk_mpls_payload(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	if (len < 1)
		return DECODE_TRUNCATED;
	switch (p[0] >> 4) {
	case 4:
		if (looks_ipv4(p, len) || !ether_at(p, len, 0))
			return mpls_ip(w, L_IPV4);
		return mpls_ether(w, 0);
	case 6:
		if (looks_ipv6(p, len) || !ether_at(p, len, 0))
			return mpls_ip(w, L_IPV6);
		return mpls_ether(w, 0);
	case 1:
		return DECODE_NOT_TCP;
	case 0:
		if (ether_at(p, len, 4))
			return mpls_ether(w, 4);
		if (len < 4 + 14 && !ether_at(p, len, 0))
			return DECODE_TRUNCATED; /* the control word's Ethernet is cut */
		break;
	}
	if (len < 14)
		return DECODE_TRUNCATED;
	return ether_at(p, len, 0) ? mpls_ether(w, 0) : DECODE_NOT_TCP;
}
