#include "x509.h"

#include <arpa/inet.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/text.h"
#include "../common/rd.h"
#include "../common/crypto.h"

enum {
	DER_BOOLEAN = 0x01, DER_INTEGER = 0x02, DER_BIT_STRING = 0x03, DER_OCTET_STRING = 0x04,
	DER_OID = 0x06, DER_UTCTIME = 0x17, DER_GENTIME = 0x18, DER_SEQUENCE = 0x30,
	DER_SET = 0x31, DER_CTX0 = 0xa0, DER_CTX3 = 0xa3, SAN_DNS = 0x82, SAN_IP = 0x87,
};

/* One element: its tag, its contents, and the whole TLV. */
struct der {
	unsigned tag;
	struct rd body;
	const uint8_t *tlv;
	size_t tlv_len;
};

/* ---- TLV reading ----------------------------------------------------------- */

/* Reads one element with a definite length (at most 4 length bytes) and a
 * one-byte tag; on failure sets r->err and returns -1. */
static int der_next(struct rd *r, struct der *d)
{
	size_t start = r->off;
	uint8_t tag = rd_u8(r);
	uint8_t first = rd_u8(r);
	size_t len = first & 0x80 ? 0 : first;
	if ((tag & 0x1f) == 0x1f || first == 0x80 || first > 0x84)
		r->err = 1; /* multi-byte tag, indefinite or over-long length */
	for (int i = 0; i < (first & 0x7f) && !r->err && (first & 0x80); i++)
		len = len << 8 | rd_u8(r);
	d->tag = tag;
	d->body = rd_sub(r, len);
	if (r->err)
		return -1;
	d->tlv = r->p + start;
	d->tlv_len = r->off - start;
	return 0;
}

static int der_expect(struct rd *r, unsigned tag, struct der *d)
{
	if (der_next(r, d) < 0)
		return -1;
	if (d->tag != tag) {
		r->err = 1;
		return -1;
	}
	return 0;
}

/* The next element's tag, or -1 at the end. */
static int der_peek(const struct rd *r)
{
	return rd_left(r) > 0 ? r->p[r->off] : -1;
}

/* Skips an optional element with this tag. */
static int der_skip_optional(struct rd *r, unsigned tag)
{
	struct der d;
	if (der_peek(r) != (int)tag)
		return 0;
	return der_next(r, &d);
}

/* ---- object identifiers ------------------------------------------------------ */

/* Decimal digits of v at out, if they and a NUL fit in cap; their
 * count, or 0 when they do not fit. */
static size_t put_u64(char *out, size_t cap, uint64_t v)
{
	char d[20];
	size_t n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	if (n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	return n;
}

/* Dotted text of an OID's contents; -1 if malformed or longer than cap
 * (out then holds a prefix). Formatted by hand: printf cost more than
 * the rest of the certificate parsing. */
static int oid_text(const struct rd *oid, char *out, size_t cap)
{
	uint64_t v = 0;
	size_t used = 0, n;
	int first = 1;
	if (oid->len == 0 || (oid->p[oid->len - 1] & 0x80) || cap == 0)
		return -1;
	for (size_t i = 0; i < oid->len; i++) {
		if (v > (UINT64_MAX >> 7))
			return -1;
		v = v << 7 | (oid->p[i] & 0x7f);
		if (oid->p[i] & 0x80)
			continue;
		if (first) {
			n = put_u64(out, cap, v < 80 ? v / 40 : 2);
			if (n == 0 || n + 1 >= cap)
				return -1;
			out[n++] = '.';
			used = n;
			v = v < 80 ? v % 40 : v - 80;
		} else {
			if (used + 1 >= cap)
				return -1;
			out[used++] = '.';
		}
		n = put_u64(out + used, cap - used, v);
		if (n == 0)
			return -1;
		used += n;
		out[used] = '\0';
		first = 0;
		v = 0;
	}
	return 0;
}

/* Whether an OID's contents equal the DER encoding der[0..n) in value,
 * which is what comparing their dotted texts would say: a well-formed
 * OID whose sub-identifiers may carry non-minimal leading 0x80 bytes
 * (skipped here, as they add nothing to the value). */
static int oid_eq(const struct rd *oid, const char *der, size_t n)
{
	size_t j = 0;
	int start = 1;
	if (oid->len == 0 || (oid->p[oid->len - 1] & 0x80))
		return 0;
	if (oid->len == n && memcmp(oid->p, der, n) == 0)
		return 1; /* the usual, minimal encoding */
	for (size_t i = 0; i < oid->len; i++) {
		uint8_t b = oid->p[i];
		if (start && b == 0x80)
			continue;
		if (j >= n || (uint8_t)der[j++] != b)
			return 0;
		start = !(b & 0x80);
	}
	return j == n;
}

/* An OID as its DER contents: a string literal of \x escapes. */
#define OID_DER(s) s, sizeof s - 1

/* Looked up by the DER bytes, not by the dotted text (kept for reading):
 * formatting every OID cost more than the rest of the parse. */
struct oid_name {
	const char *der;
	size_t der_len;
	const char *oid;
	const char *name;
	int bits; /* key types: fixed size, 0 computed; curves: size */
};

#define NELEM(a) (sizeof a / sizeof a[0])

static const struct oid_name *oid_find(const struct rd *oid, const struct oid_name *tab,
				       size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (oid_eq(oid, tab[i].der, tab[i].der_len))
			return &tab[i];
	return NULL;
}

/* Signature algorithms (RFC 3279, 4055, 5758, 8410), OpenSSL's names. */
static const struct oid_name sig_algs[] = {
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x02"), "1.2.840.113549.1.1.2", "md2WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04"), "1.2.840.113549.1.1.4", "md5WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05"), "1.2.840.113549.1.1.5", "sha1WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"), "1.2.840.113549.1.1.10", "rsassaPss", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"), "1.2.840.113549.1.1.11", "sha256WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c"), "1.2.840.113549.1.1.12", "sha384WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d"), "1.2.840.113549.1.1.13", "sha512WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e"), "1.2.840.113549.1.1.14", "sha224WithRSAEncryption", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x04\x01"), "1.2.840.10045.4.1", "ecdsa-with-SHA1", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x04\x03\x01"), "1.2.840.10045.4.3.1", "ecdsa-with-SHA224", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x04\x03\x02"), "1.2.840.10045.4.3.2", "ecdsa-with-SHA256", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x04\x03\x03"), "1.2.840.10045.4.3.3", "ecdsa-with-SHA384", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x04\x03\x04"), "1.2.840.10045.4.3.4", "ecdsa-with-SHA512", 0},
	{OID_DER("\x2a\x86\x48\xce\x38\x04\x03"), "1.2.840.10040.4.3", "dsaWithSHA1", 0},
	{OID_DER("\x60\x86\x48\x01\x65\x03\x04\x03\x01"), "2.16.840.1.101.3.4.3.1", "dsa_with_SHA224", 0},
	{OID_DER("\x60\x86\x48\x01\x65\x03\x04\x03\x02"), "2.16.840.1.101.3.4.3.2", "dsa_with_SHA256", 0},
	{OID_DER("\x2b\x65\x70"), "1.3.101.112", "ED25519", 0},
	{OID_DER("\x2b\x65\x71"), "1.3.101.113", "ED448", 0},
};

/* Public key algorithms; bits 0: computed from the key or its curve. The
 * EdDSA sizes are OpenSSL's (EVP_PKEY_get_bits). */
static const struct oid_name key_types[] = {
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"), "1.2.840.113549.1.1.1", "RSA", 0},
	{OID_DER("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"), "1.2.840.113549.1.1.10", "RSA-PSS", 0},
	{OID_DER("\x2a\x86\x48\xce\x3d\x02\x01"), "1.2.840.10045.2.1", "EC", 0},
	{OID_DER("\x2a\x86\x48\xce\x38\x04\x01"), "1.2.840.10040.4.1", "DSA", 0},
	{OID_DER("\x2b\x65\x70"), "1.3.101.112", "Ed25519", 253},
	{OID_DER("\x2b\x65\x71"), "1.3.101.113", "Ed448", 456},
};

/* Named curves for EC keys (RFC 5480, 5639). */
static const struct oid_name curves[] = {
	{OID_DER("\x2a\x86\x48\xce\x3d\x03\x01\x01"), "1.2.840.10045.3.1.1", "prime192v1", 192},
	{OID_DER("\x2b\x81\x04\x00\x21"), "1.3.132.0.33", "secp224r1", 224},
	{OID_DER("\x2a\x86\x48\xce\x3d\x03\x01\x07"), "1.2.840.10045.3.1.7", "prime256v1", 256},
	{OID_DER("\x2b\x81\x04\x00\x0a"), "1.3.132.0.10", "secp256k1", 256},
	{OID_DER("\x2b\x81\x04\x00\x22"), "1.3.132.0.34", "secp384r1", 384},
	{OID_DER("\x2b\x81\x04\x00\x23"), "1.3.132.0.35", "secp521r1", 521},
	{OID_DER("\x2b\x24\x03\x03\x02\x08\x01\x01\x07"), "1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", 256},
	{OID_DER("\x2b\x24\x03\x03\x02\x08\x01\x01\x0b"), "1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", 384},
	{OID_DER("\x2b\x24\x03\x03\x02\x08\x01\x01\x0d"), "1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", 512},
};

/* The table's entry's name (e, when the OID is known), else the OID's
 * dotted form if it fits; cut to cap as snprintf would. */
static void oid_label(const struct rd *oid, const struct oid_name *e, char *out, size_t cap)
{
	if (e) {
		size_t n = strlen(e->name);
		n = n < cap ? n : cap - 1;
		memcpy(out, e->name, n);
		out[n] = '\0';
	} else if (oid_text(oid, out, cap) < 0) {
		out[0] = '\0';
	}
}

/* ---- names ------------------------------------------------------------------- */

/* Where an attribute of a Name goes. */
struct name_fields {
	char *cn;
	char *org;
	size_t cap;
};

static void name_attribute(const struct rd *type, const struct der *value,
			   const struct name_fields *nf)
{
	char *dst = NULL;
	if (oid_eq(type, OID_DER("\x55\x04\x03")) /* 2.5.4.3 */)
		dst = nf->cn; /* the last CN wins: the most specific (RFC 6125 6.4.4) */
	else if (oid_eq(type, OID_DER("\x55\x04\x0a")) /* 2.5.4.10 */ && nf->org && nf->org[0] == '\0')
		dst = nf->org;
	if (dst)
		text_sanitize(dst, nf->cap, value->body.p, value->body.len);
}

/* Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }; name is
 * the outer SEQUENCE's contents. */
static int parse_name(struct rd name, const struct name_fields *nf)
{
	while (rd_left(&name) > 0) {
		struct der set;
		if (der_expect(&name, DER_SET, &set) < 0)
			return -1;
		while (rd_left(&set.body) > 0) {
			struct der atv, type, value;
			if (der_expect(&set.body, DER_SEQUENCE, &atv) < 0 ||
			    der_expect(&atv.body, DER_OID, &type) < 0 ||
			    der_next(&atv.body, &value) < 0)
				return -1;
			name_attribute(&type.body, &value, nf);
		}
	}
	return 0;
}

/* ---- times --------------------------------------------------------------------- */

static int two_digits(const uint8_t *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int x509_time(unsigned tag, const uint8_t *p, size_t len, int64_t *out)
{
	int year, v[5] = {0, 0, 0, 0, 0}; /* month, day, hour, minute, second */
	size_t fields = 5;
	if (tag == DER_UTCTIME && (len == 13 || len == 11) && p[len - 1] == 'Z') {
		int yy = two_digits(p);
		year = yy < 0 ? -1 : yy < 50 ? 2000 + yy : 1900 + yy;
		p += 2;
		fields = len == 11 ? 4 : 5;
	} else if (tag == DER_GENTIME && len == 15 && p[14] == 'Z') {
		int hi = two_digits(p), lo = two_digits(p + 2);
		year = hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
		p += 4;
	} else {
		return -1;
	}
	for (size_t i = 0; i < fields; i++)
		if ((v[i] = two_digits(p + 2 * i)) < 0)
			return -1;
	if (year < 0 || v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 31 || v[2] > 23 ||
	    v[3] > 59 || v[4] > 60)
		return -1;
	*out = days_from_civil(year, v[0], v[1]) * 86400 + v[2] * 3600 + v[3] * 60 + v[4];
	return 0;
}

static int parse_validity(struct rd *tbs, struct rec_cert *rc)
{
	struct der val, nb, na;
	if (der_expect(tbs, DER_SEQUENCE, &val) < 0 || der_next(&val.body, &nb) < 0 ||
	    der_next(&val.body, &na) < 0)
		return -1;
	if (x509_time(nb.tag, nb.body.p, nb.body.len, &rc->not_before) < 0 ||
	    x509_time(na.tag, na.body.p, na.body.len, &rc->not_after) < 0)
		return -1;
	return 0;
}

/* ---- the public key ------------------------------------------------------------ */

/* Bits of an unsigned big-endian INTEGER's contents. */
static int int_bits(const struct rd *v)
{
	size_t i = 0;
	while (i < v->len && v->p[i] == 0)
		i++;
	if (i == v->len || v->len - i > 65536)
		return -1;
	int bits = (int)(v->len - i) * 8;
	for (uint8_t top = v->p[i]; !(top & 0x80); top = (uint8_t)(top << 1))
		bits--;
	return bits;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, ... } inside the BIT STRING. */
static int rsa_bits(struct rd key)
{
	struct der seq, n;
	rd_u8(&key); /* unused bits */
	if (der_expect(&key, DER_SEQUENCE, &seq) < 0 || der_expect(&seq.body, DER_INTEGER, &n) < 0)
		return -1;
	return int_bits(&n.body);
}

/* Dss-Parms ::= SEQUENCE { p INTEGER, q, g } */
static int dsa_bits(struct rd params)
{
	struct der seq, p;
	if (der_expect(&params, DER_SEQUENCE, &seq) < 0 || der_expect(&seq.body, DER_INTEGER, &p) < 0)
		return -1;
	return int_bits(&p.body);
}

static int ec_bits(struct rd params)
{
	struct der curve;
	const struct oid_name *c;
	if (der_expect(&params, DER_OID, &curve) < 0)
		return -1;
	c = oid_find(&curve.body, curves, NELEM(curves));
	return c ? c->bits : -1;
}

static int key_bits(const struct oid_name *kt, struct rd params, struct rd key)
{
	if (!kt)
		return -1;
	if (kt->bits)
		return kt->bits;
	if (strcmp(kt->name, "EC") == 0)
		return ec_bits(params);
	if (strcmp(kt->name, "DSA") == 0)
		return dsa_bits(params);
	return rsa_bits(key);
}

/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
 * subjectPublicKey BIT STRING } */
static int parse_spki(struct rd *tbs, struct rec_cert *rc, struct der *spki_out)
{
	struct der spki, alg, oid, key;
	if (der_expect(tbs, DER_SEQUENCE, &spki) < 0 ||
	    der_expect(&spki.body, DER_SEQUENCE, &alg) < 0 ||
	    der_expect(&alg.body, DER_OID, &oid) < 0 ||
	    der_expect(&spki.body, DER_BIT_STRING, &key) < 0)
		return -1;
	const struct oid_name *kt = oid_find(&oid.body, key_types, NELEM(key_types));
	oid_label(&oid.body, kt, rc->key_type, sizeof rc->key_type);
	rc->key_bits = key_bits(kt, alg.body, key.body);
	*spki_out = spki;
	return 0;
}

/* ---- subjectAltName ------------------------------------------------------------ */

/* Appends one name to the display list, commas inside it escaped; when
 * the list is full it ends with ",...". */
static void sans_append(struct x509_cert *c, const char *name)
{
	char *out = c->rec.sans;
	size_t used = strlen(out), need = strlen(name) + (used ? 1 : 0);
	for (const char *p = name; *p; p++)
		need += *p == ',' ? 3 : 0;
	if (c->sans_full)
		return;
	if (used + need + sizeof ",..." > sizeof c->rec.sans) {
		strcpy(out + used, used ? ",..." : "...");
		c->sans_full = 1;
		return;
	}
	if (used)
		out[used++] = ',';
	for (const char *p = name; *p; p++) {
		if (*p == ',') {
			memcpy(out + used, "\\x2c", 4);
			used += 4;
		} else {
			out[used++] = *p;
		}
	}
	out[used] = '\0';
}

static void san_dns(struct x509_cert *c, const struct rd *v)
{
	char name[REC_NAME_MAX];
	size_t n = text_sanitize(name, sizeof name, v->p, v->len);
	if (c->dns_len + n + 1 <= sizeof c->dns) {
		memcpy(c->dns + c->dns_len, name, n + 1);
		c->dns_len += n + 1;
	} else {
		c->names_capped = 1;
	}
	sans_append(c, name);
}

static void san_ip(struct x509_cert *c, const struct rd *v)
{
	char text[64];
	int family = v->len == 4 ? AF_INET : v->len == 16 ? AF_INET6 : 0;
	if (family && inet_ntop(family, v->p, text, sizeof text))
		sans_append(c, text);
}

/* GeneralNames ::= SEQUENCE OF GeneralName; dNSName [2], iPAddress [7]. */
static int parse_san(struct rd ext, struct x509_cert *c)
{
	struct der seq, gn;
	if (der_expect(&ext, DER_SEQUENCE, &seq) < 0)
		return -1;
	while (rd_left(&seq.body) > 0) {
		if (der_next(&seq.body, &gn) < 0)
			return -1;
		if (gn.tag == SAN_DNS)
			san_dns(c, &gn.body);
		else if (gn.tag == SAN_IP)
			san_ip(c, &gn.body);
	}
	return 0;
}

/* [3] EXPLICIT Extensions ::= SEQUENCE OF SEQUENCE { extnID OID,
 * critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
static int parse_extensions(struct rd *tbs, struct x509_cert *c)
{
	struct der ctx, seq;
	if (der_peek(tbs) != DER_CTX3)
		return 0;
	if (der_next(tbs, &ctx) < 0 || der_expect(&ctx.body, DER_SEQUENCE, &seq) < 0)
		return -1;
	while (rd_left(&seq.body) > 0) {
		struct der ext, id, value;
		if (der_expect(&seq.body, DER_SEQUENCE, &ext) < 0 ||
		    der_expect(&ext.body, DER_OID, &id) < 0 ||
		    der_skip_optional(&ext.body, DER_BOOLEAN) < 0 ||
		    der_expect(&ext.body, DER_OCTET_STRING, &value) < 0)
			return -1;
		if (oid_eq(&id.body, OID_DER("\x55\x1d\x11")) /* 2.5.29.17 */ && parse_san(value.body, c) < 0)
			return -1;
	}
	return 0;
}

/* ---- the certificate ------------------------------------------------------------ */

/* TBSCertificate up to the subject; issuer and subject as raw elements. */
static int parse_tbs_head(struct rd *tbs, struct x509_cert *c, struct der *issuer,
			  struct der *subject)
{
	struct der d;
	struct name_fields in = {c->rec.issuer_cn, c->rec.issuer_org, REC_CERT_NAME_MAX};
	struct name_fields sn = {c->rec.subject_cn, NULL, REC_CERT_NAME_MAX};
	if (der_skip_optional(tbs, DER_CTX0) < 0 ||        /* version */
	    der_expect(tbs, DER_INTEGER, &d) < 0 ||         /* serialNumber */
	    der_expect(tbs, DER_SEQUENCE, &d) < 0 ||        /* signature */
	    der_expect(tbs, DER_SEQUENCE, issuer) < 0 || parse_name(issuer->body, &in) < 0 ||
	    parse_validity(tbs, &c->rec) < 0 ||
	    der_expect(tbs, DER_SEQUENCE, subject) < 0 || parse_name(subject->body, &sn) < 0)
		return -1;
	return 0;
}

static int parse_tbs(struct rd *tbs, struct x509_cert *c, struct der *spki)
{
	struct der issuer, subject;
	if (parse_tbs_head(tbs, c, &issuer, &subject) < 0 || parse_spki(tbs, &c->rec, spki) < 0 ||
	    der_skip_optional(tbs, 0x81) < 0 || der_skip_optional(tbs, 0x82) < 0 ||
	    parse_extensions(tbs, c) < 0)
		return -1;
	c->rec.self_signed = issuer.tlv_len == subject.tlv_len &&
			     memcmp(issuer.tlv, subject.tlv, issuer.tlv_len) == 0;
	return 0;
}

void x509_init(struct x509_cert *c)
{
	memset(c, 0, sizeof *c);
	c->rec.key_bits = -1;
	c->rec.self_signed = -1;
	c->rec.expired = -1;
	c->rec.name_match = -1;
}

int x509_parse(const uint8_t *der, size_t len, struct x509_cert *c)
{
	struct rd r = rd_init(der, len);
	struct der cert, tbs, alg, oid, spki;
	x509_init(c);
	if (der_expect(&r, DER_SEQUENCE, &cert) < 0 ||
	    der_expect(&cert.body, DER_SEQUENCE, &tbs) < 0 || parse_tbs(&tbs.body, c, &spki) < 0 ||
	    der_expect(&cert.body, DER_SEQUENCE, &alg) < 0 ||
	    der_expect(&alg.body, DER_OID, &oid) < 0) {
		x509_init(c);
		return -1;
	}
	oid_label(&oid.body, oid_find(&oid.body, sig_algs, NELEM(sig_algs)), c->rec.sig_alg,
		  sizeof c->rec.sig_alg);
	c->spki_off = (size_t)(spki.tlv - der);
	c->spki_len = spki.tlv_len;
	c->rec.present = 1;
	return 0;
}

/* ---- digests for DANE (RFC 6698) --------------------------------------------- */

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static int gcrypt_ok;

static void gcrypt_init(void)
{
	gcrypt_ok = crypto_ready();
}

static void digests(const uint8_t *p, size_t n, uint8_t *sha256, uint8_t *sha512)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, sha256, p, n);
	gcry_md_hash_buffer(GCRY_MD_SHA512, sha512, p, n);
}

int x509_tlsa_digests(const uint8_t *der, size_t len, const struct x509_cert *c,
		      struct x509_tlsa *out)
{
	memset(out, 0, sizeof *out);
	pthread_once(&gcrypt_once, gcrypt_init);
	if (!gcrypt_ok || !c->rec.present || c->spki_len == 0 || c->spki_off > len ||
	    c->spki_len > len - c->spki_off)
		return -1;
	digests(der, len, out->cert_sha256, out->cert_sha512);
	digests(der + c->spki_off, c->spki_len, out->spki_sha256, out->spki_sha512);
	out->present = 1;
	return 0;
}

/* ---- name matching (RFC 6125) ------------------------------------------------ */

static int ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (char)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

/* Length without one trailing dot. */
static size_t dns_len(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

static int match_one(const char *pattern, const char *host)
{
	size_t pn = dns_len(pattern), hn = dns_len(host);
	if (pn == 0 || hn == 0)
		return 0;
	if (pn > 2 && pattern[0] == '*' && pattern[1] == '.') {
		const char *rest = pattern + 1; /* ".example.com" */
		size_t rn = pn - 1;
		const char *dot = memchr(host, '.', hn);
		if (!memchr(rest + 1, '.', rn - 1) || !dot || dot == host)
			return 0; /* "*.com", a host without a left-most label */
		return (size_t)(host + hn - dot) == rn && ieq(dot, rest, rn);
	}
	return pn == hn && ieq(pattern, host, hn);
}

int x509_name_match(const struct x509_cert *c, const char *host)
{
	if (!c->rec.present || !host || host[0] == '\0')
		return -1;
	if (c->dns_len == 0)
		return match_one(c->rec.subject_cn, host);
	for (size_t off = 0; off < c->dns_len; off += strlen(c->dns + off) + 1)
		if (match_one(c->dns + off, host))
			return 1;
	return 0;
}

/* ---- certificates shared between sessions ------------------------------------ */

#define SHARED_BUCKETS 1024 /* a power of two */

struct shared {
	struct x509_cert c;     /* first: x509_release gets &c */
	struct shared *next;
	size_t refs;
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared *shared_table[SHARED_BUCKETS];

static struct shared **bucket_of(const char *sha256)
{
	unsigned h = 0;
	for (int i = 0; i < 8 && sha256[i]; i++)
		h = h * 16 + (unsigned)(sha256[i] <= '9' ? sha256[i] - '0' : sha256[i] - 'a' + 10);
	return &shared_table[h & (SHARED_BUCKETS - 1)];
}

/* The entry for sha256, one more reference taken; NULL if none. Locked. */
static struct shared *shared_find(const char *sha256)
{
	for (struct shared *e = *bucket_of(sha256); e; e = e->next)
		if (strcmp(e->c.rec.sha256, sha256) == 0) {
			e->refs++;
			return e;
		}
	return NULL;
}

struct x509_cert *x509_shared(const uint8_t *der, size_t len, const char *sha256,
			      int *malformed)
{
	struct shared *e, *made;
	*malformed = 0;
	pthread_mutex_lock(&shared_lock);
	e = shared_find(sha256);
	pthread_mutex_unlock(&shared_lock);
	if (e)
		return &e->c;
	if (!(made = malloc(sizeof *made)))
		return NULL;
	if (x509_parse(der, len, &made->c) < 0) { /* parsed outside the lock */
		*malformed = 1;
		free(made);
		return NULL;
	}
	size_t n = strnlen(sha256, sizeof made->c.rec.sha256 - 1);
	memcpy(made->c.rec.sha256, sha256, n);
	made->c.rec.sha256[n] = '\0';
	made->refs = 1;
	pthread_mutex_lock(&shared_lock);
	if ((e = shared_find(sha256)) == NULL) { /* another thread's may have come */
		struct shared **b = bucket_of(sha256);
		made->next = *b;
		*b = e = made;
		made = NULL;
	}
	pthread_mutex_unlock(&shared_lock);
	free(made);
	return &e->c;
}

void x509_release(struct x509_cert *c)
{
	if (!c)
		return;
	struct shared *e = (struct shared *)(void *)((char *)c - offsetof(struct shared, c));
	pthread_mutex_lock(&shared_lock);
	if (--e->refs == 0) {
		struct shared **pp = bucket_of(c->rec.sha256);
		while (*pp != e)
			pp = &(*pp)->next;
		*pp = e->next;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&shared_lock);
	free(e);
}
