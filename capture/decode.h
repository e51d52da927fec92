/* Frame decoding: from a captured frame, through link layers, tags,
 * labels and tunnels, to the transport segment (TCP, or UDP) it carries.
 *
 * Every read is bounds-checked against the captured length; the payload's
 * wire length comes from the IP header, so a frame cut by the snapshot
 * length reports both. Two ways in:
 *  - the decoder object (decoder_new ... decoder_free): owned by the one
 *    thread that reads frames; it reassembles IP fragments (it holds their
 *    table), counts packets per encapsulation, and returns UDP as well;
 *  - decode_frame(), stateless: no fragments (DECODE_FRAGMENT), TCP only.
 * Both go through the same tunnels (GRE, ERSPAN I/II/III, VXLAN, Geneve,
 * GTP-U, IP in IP, Ethernet over MPLS) on top of VLAN/QinQ/MPLS/PPPoE. */
#ifndef SMTPTLS_DECODE_H
#define SMTPTLS_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "ipfrag.h"

enum decode_status {
	DECODE_HELD = 1,         /* decoder_frame: a fragment kept for reassembly */
	DECODE_OK = 0,
	DECODE_NOT_TCP = -1,     /* another protocol: not ours */
	DECODE_TRUNCATED = -2,   /* headers cut by the snapshot length */
	DECODE_MALFORMED = -3,   /* impossible header values */
	DECODE_FRAGMENT = -4,    /* an IP fragment: decode_frame(), or dropped by
				  * the reassembly (see the ipfrag counters) */
	DECODE_BAD_LINKTYPE = -5,/* a link type we do not decode */
	DECODE_TOO_DEEP = -6     /* more encapsulations than the limit */
};

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
       TCP_ACK = 0x10 };

enum { DECODE_PROTO_TCP = 6, DECODE_PROTO_UDP = 17 };

/* Encapsulations, for the counters and struct tcp_packet. ENCAP_LINK is a
 * frame with nothing between its link header and its IP header. */
enum decode_encap {
	ENCAP_LINK = 0, ENCAP_VLAN, ENCAP_PPPOE, ENCAP_MPLS, ENCAP_EOMPLS, ENCAP_GRE,
	ENCAP_ERSPAN1, ENCAP_ERSPAN2, ENCAP_ERSPAN3, ENCAP_VXLAN, ENCAP_GENEVE,
	ENCAP_GTPU, ENCAP_IPIP,
	ENCAP_COUNT
};

/* "vlan", "gre", "erspan2" ...; "link" for ENCAP_LINK. */
const char *decode_encap_name(enum decode_encap e);

struct tcp_packet {
	uint8_t family;          /* 4 or 6 (the innermost IP header) */
	uint8_t src[16], dst[16];/* IPv4 addresses use the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;       /* TCP only; 0 for UDP */
	uint8_t flags;           /* TCP only; 0 for UDP */
	uint8_t proto;           /* DECODE_PROTO_TCP or DECODE_PROTO_UDP */
	uint8_t tcp_cut;         /* the snapshot length cut the TCP header after
				  * its flags (in its options): no payload
				  * captured, wirelen from the IP header */
	uint8_t reassembled;     /* the IP datagram was rebuilt from fragments */
	uint8_t encap_outer;     /* enum decode_encap: the first encapsulation */
	uint8_t encap_inner;     /* ... and the last, nearest the payload */
	uint8_t layers;          /* encapsulations passed through */
	const uint8_t *payload;
	size_t caplen;           /* payload bytes captured */
	size_t wirelen;          /* payload bytes on the wire */
	const uint8_t *l3;       /* the innermost IP header, for classifiers */
	size_t l3_len;           /* captured bytes of that datagram */
};

/* ---- the decoder (contract C4) ------------------------------------------ */

struct decoder_limits {
	size_t frag_bytes;       /* bytes held for IP reassembly, all datagrams
				  * (at least two of 64 KiB; besides, up to
				  * 2 * (DECODER_KEEP + 1) completed ones are
				  * kept readable) */
	size_t frag_datagrams;   /* datagrams being reassembled at once */
	double frag_timeout;     /* seconds of packet time to complete one */
	unsigned max_layers;     /* encapsulations followed (at most DECODE_MAX_LAYERS) */
};

#define DECODE_MAX_LAYERS 16
#define DECODER_LIMITS_DEFAULT {16u << 20, 4096, 30.0, 8}

/* out's pointers (payload, l3) stay valid during the next DECODER_KEEP
 * calls of decoder_frame: a caller may decode a batch of that many frames
 * before following them (a reassembled datagram lives in the decoder; any
 * other points into the frame, which the caller keeps). */
#define DECODER_KEEP 16

struct decoder_stats {
	uint64_t outer[ENCAP_COUNT];   /* frames by their first encapsulation (all
					* frames: their sum is the frames decoded) */
	uint64_t inner[ENCAP_COUNT];   /* ... and by their last */
	uint64_t too_deep;             /* more encapsulations than max_layers */
	uint64_t tcp_cut;              /* TCP headers cut by the snapshot length */
	struct ipfrag_stats frag;      /* IP fragment reassembly (ipfrag.h) */
};

struct decoder;

/* NULL for a link type we do not decode (or no memory). lim NULL: defaults. */
struct decoder *decoder_new(int linktype, const struct decoder_limits *lim);
void decoder_free(struct decoder *d);

/* One frame down to its transport segment, through tunnels, reassembling
 * IP fragments. DECODE_OK with *out filled (out->proto says TCP or UDP);
 * DECODE_HELD when the frame was a fragment kept for reassembly; or a
 * negative enum decode_status. ts is the frame's time (fragment timeout). */
int decoder_frame(struct decoder *d, const uint8_t *p, size_t caplen, double ts,
		  struct tcp_packet *out);

/* Gives up datagrams whose first fragment came before now - frag_timeout.
 * decoder_frame does this by packet time too; call it from a live
 * capture's clock tick. */
void decoder_expire(struct decoder *d, double now);

const struct decoder_stats *decoder_stats(const struct decoder *d);

/* The counters as name/value pairs ("decode.frames", "encap_outer.gre",
 * "ipfrag.reassembled" ...; the encapsulation counters only where not 0),
 * for a run's counters table. Returns how many there are; fills at most
 * cap of them. DECODER_COUNTERS_MAX is always enough. */
struct decoder_counter {
	const char *name;
	uint64_t value;
};
#define DECODER_COUNTERS_MAX (2 * ENCAP_COUNT + 16)
size_t decoder_counters(const struct decoder *d, struct decoder_counter *out, size_t cap);

/* ---- stateless decoding ------------------------------------------------- */

/* A link-layer decoder, looked up once per capture. */
struct link_decoder;

/* The decoder for a link type (a DLT_/LINKTYPE_ value), or NULL. */
const struct link_decoder *decode_link(int linktype);

/* Decodes one TCP frame; 0 and *out filled, or a negative enum
 * decode_status (UDP is DECODE_NOT_TCP, a fragment DECODE_FRAGMENT). A
 * NULL link gives DECODE_BAD_LINKTYPE. */
int decode_frame(const struct link_decoder *link, const uint8_t *p, size_t caplen,
		 struct tcp_packet *out);

/* The same, looking the link type up each time. */
int decode_packet(int linktype, const uint8_t *p, size_t caplen, struct tcp_packet *out);

/* 1 if the link type is decoded. */
int decode_linktype_supported(int linktype);

#endif
