/* DNS messages, reduced to the facts smtptls needs (issue 17).
 *
 * Design note.
 * - Parsing is ldns's (ldns_wire2pkt and its rr accessors, Debian
 *   libldns-dev): this file only checks the header, picks the records of
 *   interest out of the parsed packet and turns names into text. A
 *   message whose question is not of a type read here (A, AAAA, MX, TXT,
 *   TLSA) is refused after ldns has read the question's name alone. One
 *   message of at most DNS_MSG_MAX bytes: a UDP payload, or one message of
 *   a TCP stream cut out by struct dns_stream (RFC 1035 4.2.2: a 2-byte
 *   length, then the message).
 * - Kept from a query: the question (who asks for what). From a response
 *   with exactly one question (class IN, opcode QUERY): the rcode, the AD,
 *   TC and RA bits and at most DNS_FACTS_MAX facts taken from the answer
 *   section only (additional data are not answers to the question):
 *     MX      domain -> exchange, preference, TTL
 *     ADDR    host -> IPv4/IPv6 address, TTL                     (A, AAAA)
 *     CNAME   alias -> target, TTL
 *     STS     _mta-sts.DOMAIN: exactly one TXT beginning "v=STSv1" with a
 *             valid id (RFC 8461 3.1), the id kept
 *     TLSRPT  _smtp._tls.DOMAIN: exactly one TXT beginning "v=TLSRPTv1"
 *             with a rua field (RFC 8460 3)
 *     TLSA    _25._tcp.HOST: usage, selector, matching type, association
 *             data (SHA-256 of it for matching type 0), TTL, and whether an
 *             RRSIG covering the TLSA RRset came in the answer section
 *     NONE    the question got an answer without the record of interest
 *             (NODATA, TXT records of which none or several fit, NXDOMAIN):
 *             what the 0 and "none" columns are made of.
 * - CNAMEs: the chain from the question's name is followed through the
 *   answer section, at most DNS_CHAIN_MAX links, by iteration; records
 *   owned by a name on the chain are reported under the question's name
 *   (with the smallest TTL along the chain), records owned by anything else
 *   are ignored. A negative fact is only drawn when the answer is complete:
 *   TC clear, and either no CNAME was followed or the answer came from a
 *   recursive resolver (RA), whose answer carries the whole chain.
 * - Names are lowercased, written without the trailing dot, each byte
 *   outside printable ASCII (and a '.' or '\' inside a label) as \xHH as
 *   common/text.h does. A name that does not fit DNS_NAME_MAX is dropped
 *   and counted, never cut (a cut name could equal another name).
 * - Nothing else of a message is kept: no addresses of the querier, no
 *   other record types, no content.
 *
 * The parser keeps no state; the stream splitter keeps at most its
 * msg_max bytes per direction. Malformed input is counted in struct
 * dns_stats and never fatal. */
#ifndef SMTPTLS_DNS_H
#define SMTPTLS_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_MSG_MAX 65535      /* the largest message (the TCP length field) */
#define DNS_NAME_MAX 256       /* a name as text, with its NUL */
#define DNS_FACTS_MAX 32       /* facts kept per message */
#define DNS_CHAIN_MAX 8        /* CNAME links followed */
#define DNS_TLSA_DATA_MAX 64   /* association data kept: a SHA-512 */
#define DNS_STS_ID_MAX 33      /* an MTA-STS id: 1*32(ALPHA / DIGIT) and a NUL */
#define DNS_TXT_MAX 1024       /* bytes of one TXT record's strings examined */

enum { DNS_TYPE_A = 1, DNS_TYPE_CNAME = 5, DNS_TYPE_MX = 15, DNS_TYPE_TXT = 16,
       DNS_TYPE_AAAA = 28, DNS_TYPE_RRSIG = 46, DNS_TYPE_TLSA = 52 };
enum { DNS_RCODE_NOERROR = 0, DNS_RCODE_SERVFAIL = 2, DNS_RCODE_NXDOMAIN = 3 };

/* What a question asks, by its type and name prefix. */
enum dns_qkind {
	DNS_Q_OTHER = 0,
	DNS_Q_MX,     /* MX DOMAIN */
	DNS_Q_ADDR,   /* A or AAAA HOST */
	DNS_Q_STS,    /* TXT _mta-sts.DOMAIN */
	DNS_Q_TLSRPT, /* TXT _smtp._tls.DOMAIN */
	DNS_Q_TLSA,   /* TLSA _25._tcp.HOST */
};

enum dns_fact_kind {
	DNS_FACT_MX = 1,
	DNS_FACT_ADDR,
	DNS_FACT_CNAME,
	DNS_FACT_STS,
	DNS_FACT_TLSRPT,
	DNS_FACT_TLSA,
	DNS_FACT_NONE,
};

/* One TLSA record (RFC 6698 2.1). For matching type 0 data holds the
 * SHA-256 of the association data (hashed = 1); for 1 and 2 the digest as
 * sent. usable = 0 when a digest has the wrong length or the data could
 * not be hashed: such a record matches nothing (RFC 7671 5). */
struct dns_tlsa {
	uint8_t usage, selector, mtype;
	uint8_t len;
	uint8_t hashed, usable;
	uint8_t data[DNS_TLSA_DATA_MAX];
};

struct dns_fact {
	enum dns_fact_kind kind;
	uint32_t ttl;              /* seconds; for NONE the negative TTL (RFC 2308) or 0 */
	char name[DNS_NAME_MAX];   /* domain (MX, STS, TLSRPT, NONE of those), host
				    * (ADDR, TLSA, NONE of those), alias (CNAME) */
	char target[DNS_NAME_MAX]; /* MX exchange, CNAME target; else "" */
	uint16_t pref;             /* MX */
	uint8_t family;            /* ADDR: 4 or 6 */
	uint8_t addr[16];          /* ADDR: IPv4 in the first 4 bytes */
	enum dns_qkind none_of;    /* NONE: the question that found nothing */
	int nxdomain;              /* NONE: the name does not exist */
	int rrsig;                 /* TLSA: an RRSIG covering TLSA came with it */
	char sts_id[DNS_STS_ID_MAX]; /* STS */
	struct dns_tlsa tlsa;      /* TLSA */
};

struct dns_msg {
	int response;              /* QR */
	uint16_t id;
	int rcode, ad, tc, ra;     /* responses */
	uint16_t qtype;
	enum dns_qkind qkind;
	char qname[DNS_NAME_MAX];  /* as asked */
	char subject[DNS_NAME_MAX];/* qname without the _mta-sts. / _smtp._tls. /
				    * _25._tcp. prefix for those kinds */
	size_t n_facts;
	int facts_capped;          /* more facts than DNS_FACTS_MAX */
	struct dns_fact facts[DNS_FACTS_MAX];
};

/* Counters; the caller owns them (one per thread), dns_parse() adds. */
struct dns_stats {
	uint64_t messages;        /* given to dns_parse */
	uint64_t queries, responses;
	uint64_t malformed;       /* too short, too long or refused by ldns */
	uint64_t ignored;         /* not a QUERY with one IN question */
	uint64_t names_too_long;  /* a name beyond DNS_NAME_MAX as text: dropped */
	uint64_t facts_capped;    /* messages with more facts than kept */
	uint64_t facts;           /* facts reported */
};

enum dns_status {
	DNS_OK = 0,
	DNS_ERR_MALFORMED = -1, /* not a DNS message */
	DNS_ERR_IGNORED = -2,   /* a DNS message without a question we read */
};

/* Parses one message p[0..len). Returns DNS_OK with *m filled (facts only
 * for responses), or a negative enum dns_status (m is then reset: no
 * question, no facts; pdns_add_dns still takes it after DNS_ERR_IGNORED,
 * to know that the link carries DNS). Never reads outside p[0..len). st
 * may be NULL. */
int dns_parse(const uint8_t *p, size_t len, struct dns_msg *m, struct dns_stats *st);

/* Name of a fact kind / question kind, for tests and logs. */
const char *dns_fact_kind_name(enum dns_fact_kind k);
const char *dns_qkind_name(enum dns_qkind k);

/* ---- DNS over TCP ------------------------------------------------------------
 * One direction of a TCP connection to or from port 53, cut into messages.
 * A message longer than msg_max is skipped (counted in oversize) and the
 * stream goes on at the next length field; after a gap the framing is
 * lost for good (DNS_STREAM_LOST). */

struct dns_stream;

enum dns_stream_status {
	DNS_STREAM_MORE = 0, /* all of the input was taken, no message complete */
	DNS_STREAM_MSG,      /* a message is complete: *msg, *msg_len */
	DNS_STREAM_LOST,     /* framing lost (a gap): feed nothing more */
};

/* msg_max: the largest message kept, at most DNS_MSG_MAX (0: DNS_MSG_MAX).
 * NULL when out of memory. Buffer memory is taken only for a message split
 * across calls, at most msg_max bytes. */
struct dns_stream *dns_stream_new(size_t msg_max);
void dns_stream_free(struct dns_stream *s);

/* Takes bytes from p[0..len) until a message is complete. Returns an enum
 * dns_stream_status; *consumed (<= len) says how much of p was taken, so
 * the caller calls again with the rest after DNS_STREAM_MSG. *msg points
 * into p or into the stream's buffer and stays valid until the next call. */
int dns_stream_feed(struct dns_stream *s, const uint8_t *p, size_t len, size_t *consumed,
		    const uint8_t **msg, size_t *msg_len);

/* Bytes of this direction were lost: framing is lost. */
void dns_stream_gap(struct dns_stream *s);

struct dns_stream_stats {
	uint64_t messages;  /* complete messages returned */
	uint64_t oversize;  /* messages longer than msg_max, skipped */
	uint64_t empty;     /* zero-length messages, skipped */
	int lost;           /* framing lost */
};
const struct dns_stream_stats *dns_stream_stats(const struct dns_stream *s);

#endif
