/* TLS registries as data: cipher suites (IANA), protocol versions. */
#ifndef SMTPTLS_CIPHERS_H
#define SMTPTLS_CIPHERS_H

#include <stdint.h>

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

/* 1 for the RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa). Inline:
 * it runs for every suite, extension and group of every hello. */
static inline int tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Name of a negotiated protocol version ("TLSv1.2"), NULL if unknown.
 * TLS 1.3 drafts (0x7fxx) and Facebook's Fizz (0xfb1a) map to "TLSv1.3". */
const char *tls_version_name(int version);

/* Name of a key-exchange group (IANA TLS Supported Groups), NULL if
 * unknown; *pq set to 1 for post-quantum hybrids and ML-KEM. */
const char *tls_group_name(int group, int *pq);

/* Name of a TLS alert description (IANA TLS Alerts registry,
 * "handshake_failure"), NULL if unassigned. */
const char *tls_alert_name(int desc);

/* Orders versions for "highest offered": returns a rank, 0 if unknown. */
int tls_version_rank(int version);

#endif
