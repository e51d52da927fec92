#include "decode.h"

#include <string.h>

enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_VLAN = 0x8100, ETH_QINQ = 0x88a8,
       ETH_QINQ_OLD = 0x9100, ETH_MPLS = 0x8847, ETH_PPPOE = 0x8864,
       ETH_BY_VERSION = 0xffff /* look at the IP version nibble */ };

#define MAX_TAGS 8 /* VLAN tags, MPLS labels, IPv6 extension headers */

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A link-layer decoder: finds the network protocol (an EtherType) and the
 * offset where its header starts; returns 0 or a negative status. */
typedef int (*link_fn)(const uint8_t *p, size_t len, uint16_t *proto, size_t *off);

static int inner_ethertype(const uint8_t *p, size_t len, uint16_t type, uint16_t *proto,
			   size_t *off);

static int link_ethernet(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 14)
		return DECODE_TRUNCATED;
	*off = 14;
	return inner_ethertype(p, len, be16(p + 12), proto, off);
}

/* Walks VLAN tags, MPLS labels and PPPoE down to IPv4/IPv6. */
static int inner_ethertype(const uint8_t *p, size_t len, uint16_t type, uint16_t *proto,
			   size_t *off)
{
	for (int i = 0; i < MAX_TAGS; i++) {
		if (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
			if (len - *off < 4)
				return DECODE_TRUNCATED;
			type = be16(p + *off + 2);
			*off += 4;
		} else if (type == ETH_MPLS) {
			if (len - *off < 4)
				return DECODE_TRUNCATED;
			int bottom = p[*off + 2] & 1;
			*off += 4;
			if (bottom)
				type = ETH_BY_VERSION;
		} else if (type == ETH_PPPOE) {
			if (len - *off < 8)
				return DECODE_TRUNCATED;
			uint16_t ppp = be16(p + *off + 6);
			*off += 8;
			type = ppp == 0x0021 ? ETH_IPV4 : ppp == 0x0057 ? ETH_IPV6 : 0;
		} else {
			break;
		}
	}
	if (type == ETH_BY_VERSION) {
		if (*off >= len)
			return DECODE_TRUNCATED; /* cut after the MPLS labels */
		type = (p[*off] >> 4) == 6 ? ETH_IPV6 : ETH_IPV4;
	}
	*proto = type;
	return 0;
}

static int link_sll(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 16)
		return DECODE_TRUNCATED;
	*off = 16;
	return inner_ethertype(p, len, be16(p + 14), proto, off);
}

static int link_sll2(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 20)
		return DECODE_TRUNCATED;
	*off = 20;
	return inner_ethertype(p, len, be16(p), proto, off);
}

static int link_raw(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 1)
		return DECODE_TRUNCATED;
	*off = 0;
	*proto = (p[0] >> 4) == 6 ? ETH_IPV6 : ETH_IPV4;
	return 0;
}

/* BSD loopback: a 4-byte address family, host order (NULL) or network
 * order (LOOP); AF_INET is 2 everywhere, AF_INET6 is 10/24/28/30. */
static int link_null(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	if (len < 4)
		return DECODE_TRUNCATED;
	uint32_t af = be32(p);
	if (af > 0xffff)
		af = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
	*off = 4;
	if (af == 2)
		*proto = ETH_IPV4;
	else if (af == 10 || af == 24 || af == 28 || af == 30)
		*proto = ETH_IPV6;
	else
		return DECODE_NOT_TCP;
	return 0;
}

static int link_ipv4(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	(void)p, (void)len;
	*off = 0;
	*proto = ETH_IPV4;
	return 0;
}

static int link_ipv6(const uint8_t *p, size_t len, uint16_t *proto, size_t *off)
{
	(void)p, (void)len;
	*off = 0;
	*proto = ETH_IPV6;
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

/* Fills addresses and returns the TCP header offset within p, the IP
 * payload length (wire) in *ip_payload, or a negative status. */
static int ipv4_header(const uint8_t *p, size_t len, struct tcp_packet *t, size_t *ip_payload)
{
	if (len < 20)
		return DECODE_TRUNCATED;
	size_t ihl = (size_t)(p[0] & 15) * 4;
	size_t total = be16(p + 2);
	if ((p[0] >> 4) != 4 || ihl < 20)
		return DECODE_MALFORMED;
	if (len < ihl)
		return DECODE_TRUNCATED;
	if (total == 0)
		total = len; /* segmentation offload: length left as 0 */
	if (total < ihl)
		return DECODE_MALFORMED;
	if (p[9] != 6)
		return DECODE_NOT_TCP;
	if (be16(p + 6) & 0x3fff)
		return DECODE_FRAGMENT;
	t->family = 4;
	memset(t->src, 0, sizeof t->src);
	memset(t->dst, 0, sizeof t->dst);
	memcpy(t->src, p + 12, 4);
	memcpy(t->dst, p + 16, 4);
	*ip_payload = total - ihl;
	return (int)ihl;
}

static int ipv6_header(const uint8_t *p, size_t len, struct tcp_packet *t, size_t *ip_payload)
{
	if (len < 40)
		return DECODE_TRUNCATED;
	if ((p[0] >> 4) != 6)
		return DECODE_MALFORMED;
	size_t payload = be16(p + 4), off = 40;
	uint8_t next = p[6];
	if (payload == 0)
		payload = len - 40; /* jumbogram or offload */
	for (int i = 0; i < MAX_TAGS && next != 6; i++) {
		if (next != 0 && next != 43 && next != 60 && next != 44 && next != 51)
			return DECODE_NOT_TCP;
		if (len - off < 8)
			return DECODE_TRUNCATED;
		if (next == 44 && (be16(p + off + 2) & 0xfff9))
			return DECODE_FRAGMENT; /* offset != 0 or more fragments */
		size_t ext = next == 44 ? 8 : next == 51 ? ((size_t)p[off + 1] + 2) * 4
						       : ((size_t)p[off + 1] + 1) * 8;
		next = p[off];
		off += ext;
		if (off > len)
			return DECODE_TRUNCATED;
	}
	if (next != 6)
		return DECODE_NOT_TCP;
	if (payload + 40 < off)
		return DECODE_MALFORMED;
	t->family = 6;
	memcpy(t->src, p + 8, 16);
	memcpy(t->dst, p + 24, 16);
	*ip_payload = payload + 40 - off;
	return (int)off;
}

static int tcp_header(const uint8_t *p, size_t len, size_t ip_payload, struct tcp_packet *t)
{
	if (len < 20)
		return DECODE_TRUNCATED;
	size_t doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > ip_payload)
		return DECODE_MALFORMED;
	if (len < doff)
		return DECODE_TRUNCATED;
	t->sport = be16(p);
	t->dport = be16(p + 2);
	t->seq = be32(p + 4);
	t->ack = be32(p + 8);
	t->flags = p[13];
	t->payload = p + doff;
	t->wirelen = ip_payload - doff;
	t->caplen = len - doff < t->wirelen ? len - doff : t->wirelen;
	return 0;
}

int decode_packet(int linktype, const uint8_t *p, size_t caplen, struct tcp_packet *out)
{
	return decode_frame(decode_link(linktype), p, caplen, out);
}

int decode_frame(const struct link_decoder *link, const uint8_t *p, size_t caplen,
		 struct tcp_packet *out)
{
	uint16_t proto = 0;
	size_t off = 0, ip_payload = 0;
	int rc;
	if (!link)
		return DECODE_BAD_LINKTYPE;
	if ((rc = link->decode(p, caplen, &proto, &off)) < 0)
		return rc;
	if (proto != ETH_IPV4 && proto != ETH_IPV6)
		return DECODE_NOT_TCP;
	out->l3 = p + off;
	out->l3_len = caplen - off;
	rc = proto == ETH_IPV4 ? ipv4_header(out->l3, out->l3_len, out, &ip_payload)
			       : ipv6_header(out->l3, out->l3_len, out, &ip_payload);
	if (rc < 0)
		return rc;
	return tcp_header(out->l3 + rc, out->l3_len - (size_t)rc, ip_payload, out);
}
