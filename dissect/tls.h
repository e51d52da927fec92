/* TLS record layer and hello parser, incremental per direction.
 *
 * tls_feed() takes the reassembled bytes of one direction (0 client to
 * server, 1 server to client) in pieces of any size, reassembles records
 * and handshake messages across pieces and records, and parses the
 * ClientHello and ServerHello (through HelloRetryRequest), and in TLS <= 1.2
 * the server's Certificate (the leaf, through x509.c) and ServerKeyExchange
 * (the ephemeral group or DH size). Hellos are fingerprinted (JA3, JA3S,
 * JA4). It never reads past len; every input-driven size is capped and a
 * cap hit is recorded as an anomaly. */
#ifndef SMTPTLS_TLS_H
#define SMTPTLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"
#include "x509.h"

/* Largest handshake message buffered. A longer Certificate message is
 * buffered up to this size: the leaf certificate comes first. */
#define TLS_HANDSHAKE_MAX (64 * 1024)

struct tls_facts {
	int client_hellos;      /* ClientHellos parsed (2 after an HRR) */
	int client_version;     /* legacy_version of the first, -1 none */
	int client_version_max; /* highest offered incl. supported_versions */
	int sslv2_hello;        /* the client used an SSLv2-format hello */
	unsigned suites_offered;
	unsigned client_suites; /* suites offered, GREASE and SCSVs not counted */
	int offered_weak;       /* a CIPHER_WEAK suite was offered */
	int offered_strong;     /* a known suite that is not weak was offered */
	int offered_fs;         /* a forward-secret suite was offered */
	char ja3[REC_FP_MAX];   /* of the first ClientHello */
	char ja4[REC_FP_MAX];
	/* texts: "" when none; the parser's, allocated at their size */
	const char *sni;        /* at most REC_NAME_MAX - 1 characters */
	const char *alpn_offered; /* at most REC_ALPN_MAX - 1 */
	int server_hello;       /* the final ServerHello was parsed */
	int version;            /* negotiated, -1 none */
	int cipher;             /* -1 none */
	const char *alpn;       /* at most REC_ALPN_MAX - 1 */
	int hello_retry;
	int resumed;
	char ja3s[REC_FP_MAX];  /* of the final ServerHello */
	int key_share_group;    /* TLS 1.3 ServerHello key_share, or the TLS <= 1.2
				 * ServerKeyExchange named curve; -1 none */
	int dh_bits;            /* TLS <= 1.2 DHE: prime size in bits, -1 */
	int established;        /* the handshake completed, proven by either side's
				 * records (see tls.c, "what the records prove") */
	int ch_seen;            /* a ClientHello began (parsed or cut by a gap) */
	int sh_seen;            /* a ServerHello (or HelloRetryRequest) began */
	int client_fin;         /* the client's Finished was recognised */
	int gap[2];             /* TLS bytes of the direction were lost */
	int alert;              /* first clear alert: level << 8 | desc, -1 */
	int alert_dir;          /* who sent it: 0 client, 1 server, -1 */
	struct x509_cert *cert; /* the server's leaf (TLS <= 1.2, SSLv2), NULL if none:
				 * shared with other sessions (x509_shared), read-only */
	struct x509_tlsa *tlsa; /* with tls_keep_tlsa: the TLSA digests of the
				 * certificates the server sent (TLS <= 1.2), the
				 * leaf first, n_tlsa of them; NULL if none */
	size_t n_tlsa;
	int tlsa_complete;      /* tlsa holds the whole list the server sent */
	uint64_t records[2];    /* records seen per direction */
	uint32_t anomalies;     /* enum anomaly bits */
};

struct tls;

#define TLS_TLSA_CERTS 8 /* certificates of a list digested for DANE */

struct tls *tls_new(void);
void tls_free(struct tls *t);

/* Digest the certificates of the server's Certificate message for DANE
 * (tls_facts.tlsa): two SHA-256 and two SHA-512 per certificate, so only
 * when DNS is followed. */
void tls_keep_tlsa(struct tls *t);

/* Consumes bytes of one direction. Returns FEED_MORE when all was taken,
 * FEED_DONE when this direction needs nothing more (handshake over, or
 * framing lost); consumed says how much was looked at. */
struct feed_result tls_feed(struct tls *t, int dir, const uint8_t *p, size_t len);

/* len bytes of one direction were lost. Records go on being framed when the
 * gap ends inside a record, or when the bytes after it start with a record
 * header (a segment cut by the snapshot length is followed by the next
 * segment, and records mostly start segments); handshake messages are not
 * parsed after a loss. */
void tls_gap(struct tls *t, int dir, uint64_t len);

/* 1 if the bytes could start a TLS stream (a record header or an SSLv2
 * hello), judged from the first byte only. */
int tls_looks_like_start(const uint8_t *p, size_t len);

const struct tls_facts *tls_facts(const struct tls *t);

#endif
