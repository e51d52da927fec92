/* One SMTP session's dissection: routes each direction's reassembled bytes
 * to the SMTP parser or the TLS parser, decides the transport from the
 * first bytes (never from the port alone) and produces the session facts. */
#ifndef SMTPTLS_SESSION_H
#define SMTPTLS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"
#include "classify.h"
#include "x509.h"

/* What the port promises; the bytes decide. */
enum sess_port_kind {
	SESS_PORT_SMTP = 0, /* 25, 587: SMTP, STARTTLS possible */
	SESS_PORT_TLS,      /* 465: TLS from the first byte */
};

struct sess;

struct sess *sess_new(enum sess_port_kind kind, int midstream);
void sess_free(struct sess *s);

/* Digest the certificates the server sends in clear, for DANE (costs
 * hashing: only when DNS is followed). */
void sess_keep_tlsa(struct sess *s);
/* Their TLSA digests (x509.h), the leaf first: how many (0: none shown),
 * with *complete 1 when they are the whole list the server sent. */
size_t sess_tlsa(const struct sess *s, const struct x509_tlsa **certs, int *complete);

/* Bytes of one direction: 0 client to server, 1 server to client. */
void sess_data(struct sess *s, int dir, const uint8_t *p, size_t len);
void sess_gap(struct sess *s, int dir, uint64_t len);

/* 1 once both directions need no more bytes (TLS established, or both
 * sides dead): the caller may stop delivering. */
int sess_done(const struct sess *s);

/* What the session's first bytes show about its protocol, for
 * classify_decide(): settled once SMTP or not SMTP. */
enum classify_evidence sess_evidence(const struct sess *s);

/* Fills the dissection fields of a record (transport, STARTTLS, TLS, SMTP
 * counts, names) and ORs in its anomalies; leaves addresses, times and
 * byte counts to the caller. The record's end_reason must be set: whether
 * the connection's end is in the capture decides some TLS outcomes. */
void sess_result(const struct sess *s, struct session_record *r);

#endif
