/* The one registry below everything: what each code of a session record
 * means. TLS cipher suites (the IANA registry in data/, turned into a
 * table at build time), protocol versions with their order and judgement,
 * key-exchange groups, alerts, and the names of the record's own codes
 * (transports, handshake outcomes, end reasons, anomaly bits, directions).
 *
 * Everything here is a table: the lookups below read them, and the store
 * writes them into the database as lookup tables (tls_versions,
 * cipher_suites, ...) so plain SQL users read names too. Codes travel;
 * names are looked up here. */
#ifndef SMTPTLS_REGISTRY_H
#define SMTPTLS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* ---- cipher suites (IANA) ------------------------------------------------ */

enum cipher_flag {
	CIPHER_FS = 1u << 0,     /* forward secret key exchange */
	CIPHER_AEAD = 1u << 1,   /* GCM, CCM, ChaCha20-Poly1305, ... */
	CIPHER_CBC = 1u << 2,    /* CBC mode with a MAC */
	CIPHER_WEAK = 1u << 3,   /* NULL, EXPORT, RC4, RC2, DES, 3DES, IDEA, anon */
	CIPHER_NULL = 1u << 4,   /* no encryption */
	CIPHER_EXPORT = 1u << 5,
	CIPHER_ANON = 1u << 6,   /* unauthenticated key exchange */
	CIPHER_TLS13 = 1u << 7,  /* a TLS 1.3 suite */
	CIPHER_SCSV = 1u << 8,   /* a signalling value, not a suite */
};

/* What a TLS <= 1.2 ServerKeyExchange carries for the suite. */
enum cipher_ske {
	CIPHER_SKE_NONE = 0, /* no ServerKeyExchange, or not an ephemeral key */
	CIPHER_SKE_ECDH,     /* ECParameters (named_curve 3, group) + point */
	CIPHER_SKE_DH,       /* dh_p, dh_g, dh_Ys */
	CIPHER_SKE_PSK_ECDH, /* psk_identity_hint, then as ECDH */
	CIPHER_SKE_PSK_DH,   /* psk_identity_hint, then as DH */
};

struct cipher_info {
	uint16_t code;
	const char *name; /* IANA name */
	unsigned flags;   /* enum cipher_flag */
	enum cipher_ske ske;
};

/* The registry entry for a code point, or NULL if unassigned. */
const struct cipher_info *cipher_lookup(uint16_t code);
/* The whole table, in code order; *n is set to its length. */
const struct cipher_info *cipher_table_all(size_t *n);

/* 1 for the RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa). Inline:
 * it runs for every suite, extension and group of every hello. */
static inline int tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ---- protocol versions --------------------------------------------------- */

/* One row of the version table: the codes first..last (a range for the
 * TLS 1.3 drafts) share a name, a rank (their order, 1 SSLv2 ... 6 TLS 1.3)
 * and a judgement: legacy (SSLv2 to TLS 1.1, deprecated by RFC 8996). */
struct tls_version_info {
	int first, last;
	int rank;
	const char *name;
	int legacy;
};

/* The version table, in rank order; *n is set to its length. */
const struct tls_version_info *tls_versions_all(size_t *n);

/* Name of a negotiated protocol version ("TLSv1.2"), NULL if unknown.
 * TLS 1.3 drafts (0x7fxx) and Facebook's Fizz (0xfb1a) map to "TLSv1.3". */
const char *tls_version_name(int version);

/* Orders versions for "highest offered": returns a rank, 0 if unknown. */
int tls_version_rank(int version);

/* 1 for SSLv2 to TLS 1.1, 0 for TLS 1.2 and 1.3, -1 if unknown. */
int tls_version_legacy(int version);

/* The name of the versions of a rank ("TLSv1.0" for 3), NULL if none. */
const char *tls_rank_name(int rank);

/* ---- key-exchange groups, alerts ----------------------------------------- */

struct tls_group_info {
	int code;
	const char *name; /* IANA TLS Supported Groups name */
	int pq;           /* 1: post-quantum or hybrid (ML-KEM, Kyber) */
};

/* The group table, in code order; *n is set to its length. */
const struct tls_group_info *tls_groups_all(size_t *n);

/* Name of a key-exchange group (IANA TLS Supported Groups), NULL if
 * unknown; *pq set to 1 for post-quantum hybrids and ML-KEM. */
const char *tls_group_name(int group, int *pq);

/* Name of a TLS alert description (IANA TLS Alerts registry,
 * "handshake_failure"), NULL if unassigned. */
const char *tls_alert_name(int desc);

/* ---- the record's own codes ---------------------------------------------- */

/* A code and its name: alerts, transports, outcomes, end reasons,
 * directions, anomaly bits (code = the bit's number). */
struct reg_name {
	int code;
	const char *name;
};

/* The tables, in code order; *n is set to the length. */
const struct reg_name *tls_alerts_all(size_t *n);
const struct reg_name *transports_all(size_t *n);
const struct reg_name *tls_outcomes_all(size_t *n);  /* OUTCOME_NONE left out */
const struct reg_name *end_reasons_all(size_t *n);
const struct reg_name *directions_all(size_t *n);    /* DIR_C2S client, DIR_S2C server */
const struct reg_name *anomalies_all(size_t *n);     /* code: bit number */
const struct reg_name *dane_states_all(size_t *n);   /* enum dane_state */

const char *transport_name(enum transport t);
const char *end_reason_name(enum end_reason r);
/* NULL for OUTCOME_NONE or an unknown code. */
const char *tls_outcome_name(enum tls_outcome o);
/* "client", "server", NULL for anything else. */
const char *direction_name(int dir);
/* "none", "unsigned", "signed"; NULL for -1 or an unknown code. */
const char *dane_state_name(int dane);

/* Name of one anomaly bit, or NULL. */
const char *anomaly_name(uint32_t bit);
/* Writes the comma-separated names of the set bits; returns 0, or -1 if
 * the buffer was too small (output truncated at a name boundary). */
int anomalies_format(uint32_t bits, char *out, size_t cap);
/* Parses one name back to its bit; 0 if unknown. */
uint32_t anomaly_from_name(const char *name, size_t len);

#endif
