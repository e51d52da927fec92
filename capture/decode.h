/* Link, IP and TCP header decoding: from a captured frame to the TCP
 * segment it carries. Bounds-checked against the captured length; the
 * payload's wire length comes from the IP header, so a frame cut by the
 * snapshot length reports both. */
#ifndef SMTPTLS_DECODE_H
#define SMTPTLS_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum decode_status {
	DECODE_OK = 0,
	DECODE_NOT_TCP = -1,     /* another protocol: not ours */
	DECODE_TRUNCATED = -2,   /* headers cut by the snapshot length */
	DECODE_MALFORMED = -3,   /* impossible header values */
	DECODE_FRAGMENT = -4,    /* an IP fragment */
	DECODE_BAD_LINKTYPE = -5 /* a link type we do not decode */
};

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
       TCP_ACK = 0x10 };

struct tcp_packet {
	uint8_t family;          /* 4 or 6 */
	uint8_t src[16], dst[16];/* IPv4 addresses use the first 4 bytes */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	size_t caplen;           /* payload bytes captured */
	size_t wirelen;          /* payload bytes on the wire */
	const uint8_t *l3;       /* the IP header, for classifiers */
	size_t l3_len;           /* captured bytes from the IP header on */
};

/* A link-layer decoder, looked up once per capture. */
struct link_decoder;

/* The decoder for a link type (a DLT_/LINKTYPE_ value), or NULL. */
const struct link_decoder *decode_link(int linktype);

/* Decodes one frame; 0 and *out filled, or a negative enum decode_status.
 * A NULL link gives DECODE_BAD_LINKTYPE. */
int decode_frame(const struct link_decoder *link, const uint8_t *p, size_t caplen,
		 struct tcp_packet *out);

/* The same, looking the link type up each time. */
int decode_packet(int linktype, const uint8_t *p, size_t caplen, struct tcp_packet *out);

/* 1 if the link type is decoded. */
int decode_linktype_supported(int linktype);

#endif
