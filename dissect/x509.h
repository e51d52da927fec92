/* A small DER reader for one X.509 certificate (RFC 5280): the leaf that a
 * TLS <= 1.2 server sends in clear.
 *
 * It reads a fixed path through the structure (Certificate, TBSCertificate,
 * Name, Validity, SubjectPublicKeyInfo, Extensions, subjectAltName) with
 * one bounds-checked TLV reader over rd.h: no recursion and no generic
 * walk, so nesting is at most eight levels by construction (Certificate,
 * TBSCertificate, [3], Extensions, Extension, OCTET STRING, GeneralNames,
 * GeneralName); definite lengths of at most four bytes, every length checked
 * against its parent's. Nothing is verified cryptographically:
 * the result describes what the certificate claims. */
#ifndef SMTPTLS_X509_H
#define SMTPTLS_X509_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define X509_DNS_MAX 2048 /* bytes of dNSName entries kept for name matching */

/* What a DANE TLSA record (RFC 6698 2.1) is compared with, for one
 * certificate: SHA-256 and SHA-512 of the whole DER (selector 0, Cert)
 * and of its SubjectPublicKeyInfo (selector 1, SPKI). A record with
 * matching type 0 (the exact bytes) is compared through the SHA-256 of
 * its data (dns.c hashes it), so neither side keeps the bytes: 192 bytes
 * per certificate whatever its size. */
struct x509_tlsa {
	int present; /* 0 until x509_tlsa_digests() filled it */
	uint8_t cert_sha256[32], cert_sha512[64];
	uint8_t spki_sha256[32], spki_sha512[64];
};

struct x509_cert {
	struct rec_cert rec;    /* the stored summary (expired, name_match: caller) */
	char dns[X509_DNS_MAX]; /* dNSName entries, sanitised, each NUL-terminated */
	size_t dns_len;         /* bytes used in dns */
	int names_capped;       /* a dNSName did not fit in dns: matching incomplete */
	int sans_full;          /* rec.sans ends with "..." */
	size_t spki_off, spki_len; /* SubjectPublicKeyInfo (the whole element) within
				    * the DER given to x509_parse(): for TLSA */
	struct x509_tlsa tlsa;  /* filled by the DER's owner, x509_tlsa_digests() */
};

/* Sets c to "no certificate". */
void x509_init(struct x509_cert *c);

/* Parses the DER certificate der[0..len). Returns 0 and fills out
 * (out->rec.present = 1), or -1 if it is not a well-formed certificate
 * (out is then reset). Never reads outside der[0..len). */
int x509_parse(const uint8_t *der, size_t len, struct x509_cert *out);

/* Certificates shared by the sessions open at once. A server sends the
 * same leaf in every session, and each session used to keep its own
 * parsed copy (2.9 KB); now each distinct certificate (by the SHA-256 of
 * its DER, sha256 in lowercase hex) is parsed once and kept while a
 * session holds it. Thread-safe. Returns the certificate with its
 * rec.sha256 set, to be handed back with x509_release (read-only
 * meanwhile), or NULL when der is not a well-formed certificate or memory
 * ran out (*malformed says which). */
struct x509_cert *x509_shared(const uint8_t *der, size_t len, const char *sha256,
			      int *malformed);
void x509_release(struct x509_cert *c); /* NULL is fine */

/* RFC 6125 6.4: does host (a DNS name, any case, trailing dot allowed)
 * match the certificate's dNSName entries, or its subject CN when it has
 * none? A wildcard is only a whole left-most label ("*.example.com") and
 * stands for exactly one label. Returns 1 or 0; -1 without a certificate
 * or with an empty host. */
int x509_name_match(const struct x509_cert *c, const char *host);

/* Fills out with the digests a TLSA record is compared with. der[0..len)
 * must be the bytes c was parsed from (c->spki_off and spki_len point
 * into them). Returns 0, or -1 (out->present 0) when c holds no
 * certificate, the range does not fit in len, or a hash failed. */
int x509_tlsa_digests(const uint8_t *der, size_t len, const struct x509_cert *c,
		      struct x509_tlsa *out);

/* Epoch seconds of an ASN.1 UTCTime ("YYMMDDHHMM[SS]Z", tag 0x17) or
 * GeneralizedTime ("YYYYMMDDHHMMSSZ", tag 0x18); -1 if malformed. */
int x509_time(unsigned tag, const uint8_t *p, size_t len, int64_t *out);

#endif
