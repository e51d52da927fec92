/* Inside the decoder: the walk from header to header. Each layer is a
 * step that reads its header at w->off (never past w->end), says which
 * layer follows and moves w->off past itself. Shared by decode.c (link,
 * tags, IP, TCP/UDP) and tunnel.c (GRE, ERSPAN, VXLAN, Geneve, GTP-U,
 * what follows an MPLS label stack). Not a public header. */
#ifndef SMTPTLS_LAYERS_H
#define SMTPTLS_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

enum layer {
	L_DONE = 0,      /* the segment is decoded */
	L_ETHER,         /* an Ethernet header */
	L_VLAN,          /* an 802.1Q/802.1ad tag */
	L_MPLS,          /* an MPLS label */
	L_PPPOE,         /* a PPPoE session header */
	L_IPV4,
	L_IPV6,
	L_GRE,
	L_ERSPAN2,
	L_ERSPAN3,
	L_VXLAN,
	L_GENEVE,
	L_GTPU,
	L_TCP,
	L_UDP,
	L_COUNT
};

#define WALK_MAX_TAGS 8      /* VLAN tags, MPLS labels, IPv6 extension headers */

struct decoder;

struct walk {
	const uint8_t *p;    /* the bytes walked: the frame or a rebuilt datagram */
	size_t off;          /* where the next header starts */
	size_t end;          /* captured bytes of p that belong to the datagram */
	size_t wire;         /* wire length of the current IP payload */
	uint8_t layer;       /* enum layer: what starts at off */
	uint8_t tags;        /* tags and labels in the current stack */
	uint8_t want_udp;    /* UDP is a result (else DECODE_NOT_TCP) */
	uint8_t rebuilt;     /* datagrams reassembled while walking this frame */
	uint8_t max_layers;
	uint32_t ctx;        /* the encapsulation path, for fragment keys */
	double ts;
	struct tcp_packet *out;
	struct decoder *d;   /* NULL: stateless, fragments are not reassembled */
};

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bytes captured from w->off on. */
static inline size_t walk_left(const struct walk *w)
{
	return w->end - w->off;
}

/* Notes an encapsulation; DECODE_TOO_DEEP beyond the limit, else 0. */
int walk_encap(struct walk *w, enum decode_encap e);

/* Sets the next layer from an EtherType; DECODE_NOT_TCP if not followed. */
int walk_ethertype(struct walk *w, uint16_t type);

/* Sets the next layer from an IP version nibble at w->off. */
int walk_ip_version(struct walk *w);

/* decode.c: starts a walk over a frame (stateless: w->d NULL, TCP only),
 * walks it from its link header, or from w->layer. */
struct link_decoder;
void walk_start(struct walk *w, const uint8_t *p, size_t caplen, struct tcp_packet *out);
int walk_link(const struct link_decoder *link, struct walk *w);
int walk_run(struct walk *w);
int walk_is_ethernet(const struct link_decoder *link);

/* Ethernet, IPv4 or IPv6, and a whole TCP header, without encapsulation
 * or fragmentation: 1 if decoded (exactly as the walk would), 0 if the
 * frame is anything else. */
int decode_fast_ethernet(const uint8_t *p, size_t caplen, struct tcp_packet *out);

/* decoder.c: a fragment, its IP header at w->off (the walk narrowed to the
 * datagram, w->wire its fragment data's length): DECODE_FRAGMENT when
 * stateless, else taken in (DECODE_HELD) or, when it completed the
 * datagram, the walk goes on in the rebuilt datagram (0). IPv4: the
 * header is ihl bytes; IPv6: the fragment header is at frag_at, and the
 * next-header byte that announced it at next_at. */
int walk_fragment4(struct walk *w, const uint8_t *ip, size_t ihl);
int walk_fragment6(struct walk *w, const uint8_t *ip, size_t frag_at, size_t next_at);

#define WALK_MAX_REBUILT 2 /* datagrams reassembled within one frame */

/* Tunnel steps (tunnel.c). */
int step_gre(struct walk *w);
int step_erspan2(struct walk *w);
int step_erspan3(struct walk *w);
int step_vxlan(struct walk *w);
int step_geneve(struct walk *w);
int step_gtpu(struct walk *w);

/* What follows the bottom MPLS label: IPv4, IPv6, or Ethernet with or
 * without a pseudowire control word (tunnel.c). */
int walk_mpls_payload(struct walk *w);

/* The tunnel layer for a UDP destination port, or L_DONE. */
enum layer tunnel_udp_port(uint16_t port);

#endif
