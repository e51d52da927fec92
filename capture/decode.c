/* The walk from the link header to the transport segment: link layers,
 * tags and labels, IPv4 and IPv6 (fragments handed to the reassembly),
 * TCP and UDP; the tunnels are in tunnel.c, the decoder object, its
 * fragment reassembly and its counters in decoder.c. */
#include "decode.h"

#include <string.h>

#include "layers.h"

/* ---- helpers the steps share ---------------------------------------------- */

static const struct {
	uint16_t type;
	uint8_t layer;
} ethertypes[] = {
	{0x0800, L_IPV4}, {0x86dd, L_IPV6}, {0x8100, L_VLAN}, {0x88a8, L_VLAN},
	{0x9100, L_VLAN}, {0x8847, L_MPLS}, {0x8848, L_MPLS}, {0x8864, L_PPPOE},
};

int walk_ethertype(struct walk *w, uint16_t type)
{
	for (size_t i = 0; i < sizeof ethertypes / sizeof ethertypes[0]; i++) {
		if (ethertypes[i].type == type) {
			w->layer = ethertypes[i].layer;
			return 0;
		}
	}
	return DECODE_NOT_TCP;
}

int walk_ip_version(struct walk *w)
{
	if (walk_left(w) < 1)
		return DECODE_TRUNCATED;
	w->layer = (w->p[w->off] >> 4) == 6 ? L_IPV6 : L_IPV4;
	return 0;
}

/* Encapsulations carried by an IP header (its addresses are the walk's
 * latest); the others sit below any IP header. */
static const uint8_t encap_in_ip[ENCAP_COUNT] = {
	[ENCAP_GRE] = 1, [ENCAP_ERSPAN1] = 1, [ENCAP_ERSPAN2] = 1, [ENCAP_ERSPAN3] = 1,
	[ENCAP_VXLAN] = 1, [ENCAP_GENEVE] = 1, [ENCAP_GTPU] = 1, [ENCAP_IPIP] = 1,
};

/* Mixes an encapsulation's kind, and the addresses of the IP header that
 * carries it, into the path that keys fragments. */
static uint32_t mix_path(uint32_t ctx, enum decode_encap e, const struct tcp_packet *o)
{
	uint32_t h = (ctx ^ (uint32_t)e) * 0x9e3779b1u;
	for (int i = 0; encap_in_ip[e] && i < 16; i++)
		h = (h ^ o->src[i] ^ (uint32_t)o->dst[i] << 8) * 0x01000193u;
	return h;
}

int walk_encap(struct walk *w, enum decode_encap e)
{
	struct tcp_packet *o = w->out;
	if (o->layers == 0)
		o->encap_outer = (uint8_t)e;
	o->encap_inner = (uint8_t)e;
	w->ctx = mix_path(w->ctx, e, o);
	return ++o->layers > w->max_layers ? DECODE_TOO_DEEP : 0;
}

/* ---- link-layer headers ------------------------------------------------------ */

static int step_ether(struct walk *w)
{
	if (walk_left(w) < 14)
		return DECODE_TRUNCATED;
	uint16_t type = be16(w->p + w->off + 12);
	w->off += 14;
	w->tags = 0;
	return walk_ethertype(w, type);
}

static int count_tag(struct walk *w)
{
	return ++w->tags > WALK_MAX_TAGS ? DECODE_TOO_DEEP : 0;
}

static int step_vlan(struct walk *w)
{
	if (walk_left(w) < 4)
		return DECODE_TRUNCATED;
	uint16_t type = be16(w->p + w->off + 2);
	int first = w->tags == 0; /* a stack of tags is one encapsulation */
	int rc = count_tag(w);
	w->off += 4;
	if (rc == 0 && first)
		rc = walk_encap(w, ENCAP_VLAN);
	return rc ? rc : walk_ethertype(w, type);
}

static int step_mpls(struct walk *w)
{
	if (walk_left(w) < 4)
		return DECODE_TRUNCATED;
	int bottom = w->p[w->off + 2] & 1;
	int rc = count_tag(w);
	w->off += 4;
	if (rc)
		return rc;
	return bottom ? walk_mpls_payload(w) : 0; /* else the next label */
}

static const struct {
	uint16_t ppp;
	uint8_t layer;
} ppp_protocols[] = {
	{0x0021, L_IPV4},
	{0x0057, L_IPV6},
};

static int step_pppoe(struct walk *w)
{
	if (walk_left(w) < 8)
		return DECODE_TRUNCATED;
	uint16_t ppp = be16(w->p + w->off + 6);
	int rc = count_tag(w);
	w->off += 8;
	if (rc || (rc = walk_encap(w, ENCAP_PPPOE)) != 0)
		return rc;
	for (size_t i = 0; i < sizeof ppp_protocols / sizeof ppp_protocols[0]; i++) {
		if (ppp_protocols[i].ppp == ppp) {
			w->layer = ppp_protocols[i].layer;
			return 0;
		}
	}
	return DECODE_NOT_TCP;
}

/* ---- IP ------------------------------------------------------------------------ */

/* What an IP protocol number (or IPv6 next header) leads to; L_DONE for
 * what we do not follow. IP in IP is an encapsulation. */
static const uint8_t ip_protocols[256] = {
	[4] = L_IPV4, [6] = L_TCP, [17] = L_UDP, [41] = L_IPV6, [47] = L_GRE,
};

/* Moves past an IP header of hlen bytes to what it carries. */
static int ip_next(struct walk *w, size_t hlen, uint8_t proto)
{
	w->off += hlen;
	w->tags = 0;
	w->layer = ip_protocols[proto];
	if (w->layer == L_IPV4 || w->layer == L_IPV6)
		return walk_encap(w, ENCAP_IPIP);
	return 0;
}

static void set_addresses(struct tcp_packet *o, int family, const uint8_t *src,
			  const uint8_t *dst)
{
	o->family = (uint8_t)family;
	if (family == 4) {
		memset(o->src, 0, sizeof o->src);
		memset(o->dst, 0, sizeof o->dst);
		memcpy(o->src, src, 4);
		memcpy(o->dst, dst, 4);
	} else {
		memcpy(o->src, src, 16);
		memcpy(o->dst, dst, 16);
	}
}

/* Narrows the walk to an IP datagram of total bytes starting at w->off. */
static void enter_datagram(struct walk *w, size_t total)
{
	size_t len = walk_left(w);
	size_t cap = len < total ? len : total;
	w->out->l3 = w->p + w->off;
	w->out->l3_len = cap;
	w->end = w->off + cap;
}

static int step_ipv4(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	if (len < 20)
		return DECODE_TRUNCATED;
	size_t ihl = (size_t)(p[0] & 15) * 4, total = be16(p + 2);
	if ((p[0] >> 4) != 4 || ihl < 20)
		return DECODE_MALFORMED;
	if (len < ihl)
		return DECODE_TRUNCATED;
	if (total == 0)
		total = len; /* segmentation offload: length left as 0 */
	if (total < ihl)
		return DECODE_MALFORMED;
	if (ip_protocols[p[9]] == L_DONE)
		return DECODE_NOT_TCP;
	set_addresses(w->out, 4, p + 12, p + 16);
	enter_datagram(w, total);
	w->wire = total - ihl;
	if (be16(p + 6) & 0x3fff)
		return walk_fragment4(w, p, ihl);
	return ip_next(w, ihl, p[9]);
}

enum { IP6_HOP = 0, IP6_ROUTING = 43, IP6_FRAGMENT = 44, IP6_AH = 51, IP6_DSTOPTS = 60 };

static int ip6_is_extension(uint8_t next)
{
	return next == IP6_HOP || next == IP6_ROUTING || next == IP6_DSTOPTS ||
	       next == IP6_FRAGMENT || next == IP6_AH;
}

static size_t ip6_extension_len(const uint8_t *h, uint8_t type)
{
	if (type == IP6_FRAGMENT)
		return 8;
	if (type == IP6_AH)
		return ((size_t)h[1] + 2) * 4;
	return ((size_t)h[1] + 1) * 8;
}

/* A fragment header that is not atomic, at off: to the reassembly, if it
 * is a fragment of something we follow. */
static int ip6_fragment(struct walk *w, const uint8_t *p, size_t off, size_t next_at,
			size_t payload)
{
	if (ip_protocols[p[off]] == L_DONE && !ip6_is_extension(p[off]))
		return DECODE_NOT_TCP;
	if (payload + 40 < off + 8)
		return DECODE_MALFORMED;
	set_addresses(w->out, 6, p + 8, p + 24);
	enter_datagram(w, payload + 40);
	w->wire = payload + 40 - off - 8;
	return walk_fragment6(w, p, off, next_at);
}

/* The IPv6 header and its extension headers; a fragment header that is
 * not atomic goes to the reassembly. */
static int step_ipv6(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	if (len < 40)
		return DECODE_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return DECODE_MALFORMED;
	size_t payload = be16(p + 4), off = 40, next_at = 6;
	uint8_t next = p[6];
	if (payload == 0)
		payload = len - 40; /* jumbogram or offload */
	for (int i = 0; i < WALK_MAX_TAGS && ip6_is_extension(next); i++) {
		if (len - off < 8)
			return DECODE_TRUNCATED;
		if (next == IP6_FRAGMENT && (be16(p + off + 2) & 0xfff9))
			return ip6_fragment(w, p, off, next_at, payload);
		size_t ext = ip6_extension_len(p + off, next);
		next_at = off;
		next = p[off];
		off += ext;
		if (off > len)
			return DECODE_TRUNCATED;
	}
	if (ip_protocols[next] == L_DONE)
		return DECODE_NOT_TCP;
	if (payload + 40 < off)
		return DECODE_MALFORMED;
	set_addresses(w->out, 6, p + 8, p + 24);
	enter_datagram(w, payload + 40);
	w->wire = payload + 40 - off;
	return ip_next(w, off, next);
}

/* ---- transport --------------------------------------------------------------- */

/* TCP: the header up to its flags must be there; options cut by the
 * snapshot length leave a segment without captured payload, flagged. */
static int step_tcp(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	struct tcp_packet *o = w->out;
	if (len < 14)
		return DECODE_TRUNCATED;
	size_t doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > w->wire)
		return DECODE_MALFORMED;
	o->proto = DECODE_PROTO_TCP;
	o->sport = be16(p);
	o->dport = be16(p + 2);
	o->seq = be32(p + 4);
	o->ack = be32(p + 8);
	o->flags = p[13];
	o->wirelen = w->wire - doff;
	if (len < doff) {
		o->tcp_cut = 1;
		o->payload = p + len;
		o->caplen = 0;
	} else {
		o->payload = p + doff;
		o->caplen = len - doff < o->wirelen ? len - doff : o->wirelen;
	}
	w->layer = L_DONE;
	return 0;
}

/* UDP: a tunnel on its port, else the datagram itself. */
static int step_udp(struct walk *w)
{
	const uint8_t *p = w->p + w->off;
	size_t len = walk_left(w);
	struct tcp_packet *o = w->out;
	if (len < 4)
		return DECODE_TRUNCATED;
	/* a DNS answer to an ephemeral port that happens to be a tunnel's
	 * (4789, 6081, 2152 ...) is no tunnel */
	enum layer tunnel = be16(p) == 53 ? L_DONE : tunnel_udp_port(be16(p + 2));
	if (tunnel == L_DONE && !w->want_udp)
		return DECODE_NOT_TCP;
	if (len < 8)
		return DECODE_TRUNCATED;
	size_t ulen = be16(p + 4);
	if (ulen == 0)
		ulen = w->wire; /* a jumbogram's */
	if (ulen < 8 || ulen > w->wire)
		return DECODE_MALFORMED;
	w->off += 8;
	w->wire = ulen - 8;
	if (w->end - w->off > w->wire)
		w->end = w->off + w->wire;
	if (tunnel != L_DONE) {
		w->layer = (uint8_t)tunnel;
		return 0;
	}
	o->proto = DECODE_PROTO_UDP;
	o->sport = be16(p);
	o->dport = be16(p + 2);
	o->seq = o->ack = 0;
	o->flags = 0;
	o->payload = p + 8;
	o->wirelen = w->wire;
	o->caplen = walk_left(w);
	w->layer = L_DONE;
	return 0;
}

/* ---- the walk ------------------------------------------------------------------ */

typedef int (*step_fn)(struct walk *w);

static const step_fn steps[L_COUNT] = {
	[L_ETHER] = step_ether, [L_VLAN] = step_vlan, [L_MPLS] = step_mpls,
	[L_PPPOE] = step_pppoe, [L_IPV4] = step_ipv4, [L_IPV6] = step_ipv6,
	[L_GRE] = step_gre, [L_ERSPAN2] = step_erspan2, [L_ERSPAN3] = step_erspan3,
	[L_VXLAN] = step_vxlan, [L_GENEVE] = step_geneve, [L_GTPU] = step_gtpu,
	[L_TCP] = step_tcp, [L_UDP] = step_udp,
};

#define WALK_MAX_STEPS 256 /* a bound besides the per-kind ones */

int walk_run(struct walk *w)
{
	for (unsigned n = 0; w->layer != L_DONE; n++) {
		if (n == WALK_MAX_STEPS)
			return DECODE_TOO_DEEP;
		int rc = steps[w->layer](w);
		if (rc)
			return rc;
	}
	return DECODE_OK;
}

void walk_start(struct walk *w, const uint8_t *p, size_t caplen, struct tcp_packet *out)
{
	w->p = p;
	w->off = 0;
	w->end = caplen;
	w->wire = 0;
	w->layer = L_DONE;
	w->tags = 0;
	w->want_udp = 0;
	w->rebuilt = 0;
	w->max_layers = DECODE_MAX_LAYERS;
	w->ctx = 0;
	w->ts = 0;
	w->out = out;
	w->d = NULL;
	out->proto = 0;
	out->tcp_cut = 0;
	out->reassembled = 0;
	out->encap_outer = out->encap_inner = ENCAP_LINK;
	out->layers = 0;
}

/* ---- the common frame ------------------------------------------------------------ */

/* IPv4 without fragmentation carrying TCP: its header length, or 0. */
static size_t fast_ipv4(const uint8_t *p, size_t len, struct tcp_packet *o, size_t *total)
{
	if (len < 40 || p[9] != DECODE_PROTO_TCP || (p[0] >> 4) != 4 || (be16(p + 6) & 0x3fff))
		return 0;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	*total = be16(p + 2);
	if (ihl < 20 || *total < ihl + 20 || len < ihl + 20)
		return 0;
	o->family = 4;
	memset(o->src, 0, sizeof o->src);
	memset(o->dst, 0, sizeof o->dst);
	memcpy(o->src, p + 12, 4);
	memcpy(o->dst, p + 16, 4);
	return ihl;
}

/* IPv6 with TCP right after its header: 40, or 0. */
static size_t fast_ipv6(const uint8_t *p, size_t len, struct tcp_packet *o, size_t *total)
{
	if (len < 60 || p[6] != DECODE_PROTO_TCP || (p[0] >> 4) != 6)
		return 0;
	*total = 40 + (size_t)be16(p + 4);
	if (*total < 60)
		return 0;
	o->family = 6;
	memcpy(o->src, p + 8, 16);
	memcpy(o->dst, p + 24, 16);
	return 40;
}

/* Nearly every frame is Ethernet, IP and a whole TCP header: decoded here
 * in one go, or left (0) to the walk, which decodes it the same way. The
 * walk's table calls cost twice this. */
int decode_fast_ethernet(const uint8_t *p, size_t caplen, struct tcp_packet *o)
{
	size_t hlen = 0, total = 0;
	if (caplen < 14)
		return 0;
	const uint8_t *ip = p + 14;
	size_t len = caplen - 14;
	uint16_t type = be16(p + 12);
	if (type == 0x0800)
		hlen = fast_ipv4(ip, len, o, &total);
	else if (type == 0x86dd)
		hlen = fast_ipv6(ip, len, o, &total);
	if (hlen == 0)
		return 0;
	const uint8_t *t = ip + hlen;
	size_t cap = len < total ? len : total, doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || hlen + doff > cap || doff > total - hlen)
		return 0;
	o->l3 = ip;
	o->l3_len = cap;
	o->proto = DECODE_PROTO_TCP;
	o->tcp_cut = o->reassembled = o->layers = 0;
	o->encap_outer = o->encap_inner = ENCAP_LINK;
	o->sport = be16(t);
	o->dport = be16(t + 2);
	o->seq = be32(t + 4);
	o->ack = be32(t + 8);
	o->flags = t[13];
	o->payload = t + doff;
	o->wirelen = total - hlen - doff;
	o->caplen = cap - hlen - doff < o->wirelen ? cap - hlen - doff : o->wirelen;
	return 1;
}

/* ---- link types ------------------------------------------------------------------ */

/* A link-layer header: sets the first layer after it. */
typedef int (*link_fn)(struct walk *w);

static int link_ethernet(struct walk *w)
{
	w->layer = L_ETHER;
	return 0;
}

static int link_sll(struct walk *w)
{
	if (walk_left(w) < 16)
		return DECODE_TRUNCATED;
	w->off = 16;
	return walk_ethertype(w, be16(w->p + 14));
}

static int link_sll2(struct walk *w)
{
	if (walk_left(w) < 20)
		return DECODE_TRUNCATED;
	w->off = 20;
	return walk_ethertype(w, be16(w->p));
}

static int link_raw(struct walk *w)
{
	return walk_ip_version(w);
}

/* BSD loopback: a 4-byte address family, host order (NULL) or network
 * order (LOOP); AF_INET is 2 everywhere, AF_INET6 is 10/24/28/30. */
static int link_null(struct walk *w)
{
	const uint8_t *p = w->p;
	if (walk_left(w) < 4)
		return DECODE_TRUNCATED;
	uint32_t af = be32(p);
	if (af > 0xffff)
		af = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	w->off = 4;
	if (af == 2)
		w->layer = L_IPV4;
	else if (af == 10 || af == 24 || af == 28 || af == 30)
		w->layer = L_IPV6;
	else
		return DECODE_NOT_TCP;
	return 0;
}

static int link_ipv4(struct walk *w)
{
	w->layer = L_IPV4;
	return 0;
}

static int link_ipv6(struct walk *w)
{
	w->layer = L_IPV6;
	return 0;
}

struct link_decoder {
	int linktype;
	link_fn decode;
};

/* DLT_ values as libpcap reports them (and LINKTYPE_ values it passes on). */
static const struct link_decoder link_types[] = {
	{0, link_null},      /* DLT_NULL */
	{1, link_ethernet},  /* DLT_EN10MB */
	{12, link_raw},      /* DLT_RAW */
	{14, link_raw},      /* DLT_RAW on OpenBSD */
	{101, link_raw},     /* LINKTYPE_RAW */
	{108, link_null},    /* DLT_LOOP */
	{113, link_sll},     /* DLT_LINUX_SLL */
	{228, link_ipv4},    /* DLT_IPV4 */
	{229, link_ipv6},    /* DLT_IPV6 */
	{276, link_sll2},    /* DLT_LINUX_SLL2 */
};

const struct link_decoder *decode_link(int linktype)
{
	for (size_t i = 0; i < sizeof link_types / sizeof link_types[0]; i++)
		if (link_types[i].linktype == linktype)
			return &link_types[i];
	return NULL;
}

int decode_linktype_supported(int linktype)
{
	return decode_link(linktype) != NULL;
}

int walk_is_ethernet(const struct link_decoder *link)
{
	return link->decode == link_ethernet;
}

int walk_link(const struct link_decoder *link, struct walk *w)
{
	int rc = link->decode(w);
	return rc ? rc : walk_run(w);
}

int decode_packet(int linktype, const uint8_t *p, size_t caplen, struct tcp_packet *out)
{
	return decode_frame(decode_link(linktype), p, caplen, out);
}

int decode_frame(const struct link_decoder *link, const uint8_t *p, size_t caplen,
		 struct tcp_packet *out)
{
	struct walk w;
	if (!link)
		return DECODE_BAD_LINKTYPE;
	if (link->decode == link_ethernet && decode_fast_ethernet(p, caplen, out))
		return DECODE_OK;
	walk_start(&w, p, caplen, out);
	return walk_link(link, &w);
}
