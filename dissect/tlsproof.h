/* What TLS records prove about how far a handshake got, from their content
 * types and lengths alone: a capture shows those even where it cut the
 * records' bodies (a short snapshot length) or saw one side only.
 *
 * - A side's Finished: TLS <= 1.2, an encrypted handshake record after its
 *   ChangeCipherSpec (that is no plaintext hello); TLS 1.3, an application
 *   data record of the Finished message's length (4 + hash + 1 + tag: 53,
 *   69 or 45 by suite), the server's no earlier than after
 *   EncryptedExtensions, Certificate and CertificateVerify
 *   (EncryptedExtensions alone when resuming).
 * - Data after it: an application data record (TLS 1.3: longer than an
 *   encrypted alert) that a side sends only once the handshake is over.
 * The handshake completed when a side shows its Finished and data after
 * it, when both TLS <= 1.2 Finished messages are seen, or when the server
 * sends data begun after the client's first application data record that
 * followed the ServerHello (its Finished, or data): a server answers a
 * client's Finished only with an alert (which TLS 1.3 sends as a record of
 * an alert's length) or by going on. */
#ifndef SMTPTLS_TLSPROOF_H
#define SMTPTLS_TLSPROOF_H

#include <stdint.h>

/* Part of every TLS session's state: flags in bytes. */
struct tlsproof_dir {
	uint8_t fin;           /* this side's Finished seen */
	uint8_t fin12;         /* ... as a TLS <= 1.2 encrypted handshake record */
	uint8_t data;          /* application data after it */
	uint8_t nonalert;      /* client: application data longer than an alert,
				* not before the ServerHello (0-RTT) */
	uint8_t lost;          /* records of this side may have been lost */
	uint8_t after_client;  /* server: the current record began after the
				* client's nonalert record */
	unsigned enc_since_sh; /* server: application data records since the
				* TLS 1.3 ServerHello */
};

struct tlsproof {
	struct tlsproof_dir d[2];
	uint8_t ch_seen, sh_seen; /* a ClientHello, a ServerHello began */
	uint8_t tls13;         /* the final ServerHello chose TLS 1.3 */
	uint8_t resumed;       /* ... with a pre-shared key */
	uint8_t cross;         /* server data after the client's */
	unsigned fin_len;      /* its suite's TLS 1.3 Finished record, 0 unknown */
};

void tlsproof_init(struct tlsproof *p);

/* A ClientHello (dir 0) or ServerHello (dir 1) began. */
void tlsproof_hello(struct tlsproof *p, int dir);

/* The final ServerHello: its version is TLS 1.3 or not, its suite, and
 * whether it resumed with a pre-shared key. */
void tlsproof_server_hello(struct tlsproof *p, int tls13, int cipher, int resumed);

/* A record of a direction begins (its header was read). */
void tlsproof_record_begins(struct tlsproof *p, int dir);

/* A record ended (or the rest of it was lost): its type and length, and
 * for a handshake record whether it was sent encrypted and is no
 * plaintext hello. Returns tlsproof_established(). */
int tlsproof_record(struct tlsproof *p, int dir, int type, unsigned len, int encrypted_hs);

/* Whole records of a direction may have been lost. */
void tlsproof_lost(struct tlsproof *p, int dir);

/* The handshake completed. */
int tlsproof_established(const struct tlsproof *p);

#endif
