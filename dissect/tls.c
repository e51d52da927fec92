#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "../common/rd.h"
#include "../common/registry.h"
#include "fingerprint.h"
#include "hello.h"
#include "tlsproof.h"

enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APPDATA = 23,
       REC_HEARTBEAT = 24, REC_SSL2 = 0x80 };
enum { HS_CLIENT_HELLO = 1, HS_SERVER_HELLO = 2, HS_NEW_SESSION_TICKET = 4,
       HS_CERTIFICATE = 11, HS_SERVER_KEY_EXCHANGE = 12,
       HS_SSL2_CLIENT_HELLO = 0x101, HS_SSL2_SERVER_HELLO = 0x104 };
#define TLS_RECORD_MAX (16384 + 2048)

/* Record framing state of one direction: RESYNC after a gap that ended
 * outside a record, where the next bytes must be a record header. */
enum rec_state { REC_STATE_HEADER, REC_STATE_BODY, REC_STATE_RESYNC, REC_STATE_SKIP,
		 REC_STATE_DEAD };
/* SKIP: after a gap, bytes that are no record header: the rest of a record
 * whose start was lost (a segment that began inside it), skipped up to the
 * next gap, after which a segment may begin with a header again. */


struct tls_dir {
	/* one per direction of every TLS session: small fields in bytes, so
	 * that struct tls fits jemalloc's 512-byte size class (768 before) */
	uint8_t state;         /* enum rec_state */
	uint8_t hdr[5];
	uint8_t hdr_len;
	uint8_t type;          /* current record's content type */
	uint8_t peek_len;
	uint8_t body_lost;     /* bytes of its body were lost in a gap */
	uint16_t rec_len;      /* its length */
	uint16_t body_left;
	uint16_t hs_type;      /* handshake message reassembly: HS_* */
	uint8_t peek[4];       /* first body bytes of an encrypted handshake record */
	uint8_t hs_hdr[4];
	uint8_t hs_hdr_len;
	uint8_t alert[2];
	uint8_t alert_len;
	uint8_t encrypted;     /* after ChangeCipherSpec / TLS 1.3 ServerHello */
	uint8_t rec_encrypted; /* ... when the current record began */
	uint8_t hs_lost;       /* handshake framing lost after a gap */
	uint8_t hs_keep;       /* buffering this message for parsing */
	uint32_t hs_len, hs_have;
	uint32_t hs_keep_len;  /* bytes of it buffered (a prefix if capped) */
	uint32_t hs_cap;       /* at most TLS_HANDSHAKE_MAX */
	uint8_t *hs_buf;
};

/* The facts' texts, each in an allocation of its own size. */
enum text { TEXT_SNI = 0, TEXT_ALPN_OFFERED, TEXT_ALPN, TEXTS };

struct tls {
	struct tls_dir d[2];
	struct tls_facts f;
	char *text[TEXTS];
	uint8_t client_sid[32];
	uint8_t client_sid_len;
	uint8_t await_after_sh; /* TLS <= 1.2: full or abbreviated handshake? */
	uint8_t hrr_pending;   /* HelloRetryRequest seen, final hello not yet */
	uint8_t keep_tlsa;     /* digest the certificates sent, for DANE */
	struct tlsproof proof; /* what the records prove about the handshake */
};
_Static_assert(sizeof(struct tls) <= 512 || sizeof(void *) > 8, "struct tls fits 512 bytes");

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

struct tls *tls_new(void)
{
	struct tls *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->f.sni = t->f.alpn_offered = t->f.alpn = "";
	t->f.client_version = -1;
	t->f.client_version_max = -1;
	t->f.version = -1;
	t->f.cipher = -1;
	t->f.key_share_group = -1;
	t->f.dh_bits = -1;
	t->f.alert = -1;
	t->f.alert_dir = -1;
	tlsproof_init(&t->proof);
	return t;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	free(t->d[0].hs_buf);
	free(t->d[1].hs_buf);
	x509_release(t->f.cert);
	free(t->f.tlsa);
	for (int i = 0; i < TEXTS; i++)
		free(t->text[i]);
	free(t);
}

const struct tls_facts *tls_facts(const struct tls *t)
{
	return &t->f;
}

int tls_looks_like_start(const uint8_t *p, size_t len)
{
	if (len == 0)
		return 0;
	return (p[0] >= REC_CCS && p[0] <= REC_HEARTBEAT) || p[0] >= 0x80;
}

/* ---- hello messages -------------------------------------------------- */

/* Keeps text[0..n) as one of the facts' texts (nothing if empty). */
static void text_keep(struct tls *t, enum text which, const char *text, size_t n)
{
	const char **field = which == TEXT_SNI ? &t->f.sni
			      : which == TEXT_ALPN ? &t->f.alpn : &t->f.alpn_offered;
	char *p = n ? realloc(t->text[which], n + 1) : NULL;
	if (!p)
		return;
	memcpy(p, text, n);
	p[n] = '\0';
	t->text[which] = p;
	*field = p;
}

static void note_offered_version(struct tls *t, int v)
{
	if (tls_version_rank(v) > tls_version_rank(t->f.client_version_max))
		t->f.client_version_max = v;
}

/* The protocol names of an ALPN ProtocolNameList, comma separated, into
 * out (REC_ALPN_MAX bytes); returns the length. */
static size_t alpn_join(char *out, struct rd list, int first_only)
{
	size_t used = 0, cap = REC_ALPN_MAX;
	out[0] = '\0';
	while (rd_left(&list) > 0 && used + 2 < cap) {
		struct rd name = rd_vec8(&list);
		if (list.err)
			break;
		if (used)
			out[used++] = ',';
		used += text_sanitize(out + used, cap - used, name.p, name.len);
		if (first_only)
			break;
	}
	return used;
}

static void note_versions(struct tls *t, struct rd list)
{
	while (rd_left(&list) >= 2) {
		uint16_t v = rd_u16(&list);
		if (!tls_is_grease(v))
			note_offered_version(t, v);
	}
}

/* One offered suite: counted and judged from the registry. */
static void note_offer(struct tls *t, uint16_t code)
{
	const struct cipher_info *ci = cipher_lookup(code);
	if (tls_is_grease(code) || (ci && (ci->flags & CIPHER_SCSV)))
		return;
	t->f.client_suites++;
	if (!ci)
		return;
	t->f.offered_weak |= (ci->flags & CIPHER_WEAK) != 0;
	t->f.offered_strong |= !(ci->flags & CIPHER_WEAK);
	t->f.offered_fs |= (ci->flags & CIPHER_FS) != 0;
}

static void note_offers(struct tls *t, struct rd suites)
{
	while (rd_left(&suites) >= 2)
		note_offer(t, rd_u16(&suites));
}

static void note_hello_framing(struct tls *t, const struct tls_hello *h)
{
	if (!h->exts_ok || !h->bodies_ok)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

static void parse_client_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct tls_hello h;
	if (hello_parse(p, len, HELLO_CLIENT, &h) < 0 || h.sid.len > 32) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	if (t->f.client_hellos++ > 0)
		return; /* the second hello after an HRR repeats the first's facts */
	t->f.client_version = h.version;
	note_offered_version(t, h.version);
	t->f.suites_offered = (unsigned)(h.suites.len / 2);
	note_offers(t, h.suites);
	memcpy(t->client_sid, h.sid.p, h.sid.len);
	t->client_sid_len = (uint8_t)h.sid.len;
	char text[REC_NAME_MAX];
	if (h.sni_name.p)
		text_keep(t, TEXT_SNI, text,
			  text_sanitize(text, REC_NAME_MAX, h.sni_name.p, h.sni_name.len));
	text_keep(t, TEXT_ALPN_OFFERED, text, alpn_join(text, h.alpn_first, 0));
	note_versions(t, h.versions);
	note_hello_framing(t, &h);
	int rc3, rc4;
	fp_client(&h, t->f.ja3, sizeof t->f.ja3, &rc3, t->f.ja4, sizeof t->f.ja4, &rc4);
}

static void apply_server_hello(struct tls *t, const struct tls_hello *h)
{
	int version = h->selected_version >= 0 ? h->selected_version : h->version;
	int draft = hello_draft(version);
	t->f.server_hello = 1;
	t->f.version = version;
	t->f.cipher = h->cipher;
	t->f.key_share_group = draft >= 0 && draft <= 22 ? h->key_share_d22 : h->key_share_group;
	char alpn[REC_ALPN_MAX];
	t->f.alpn = "";
	text_keep(t, TEXT_ALPN, alpn, alpn_join(alpn, h->alpn, 1));
	t->hrr_pending = 0;
	tlsproof_server_hello(&t->proof, tls_version_rank(version) >= tls_version_rank(0x0304),
			      h->cipher, h->psk);
	if (tls_version_rank(version) >= tls_version_rank(0x0304)) {
		t->f.resumed = h->psk;
		t->d[1].encrypted = 1; /* everything after is encrypted */
		return;
	}
	if (h->sid.len > 0 && h->sid.len == t->client_sid_len &&
	    memcmp(h->sid.p, t->client_sid, h->sid.len) == 0)
		t->f.resumed = 1;
	t->await_after_sh = 1;
}

static void parse_server_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct tls_hello h;
	if (hello_parse(p, len, HELLO_SERVER, &h) < 0 || h.sid.len > 32 ||
	    (h.draft_layout && (!h.exts_ok || h.trailing))) {
		t->f.anomalies |= ANOM_TLS_MALFORMED; /* a draft's layout only when it fits */
		return;
	}
	note_hello_framing(t, &h);
	if (!h.draft_layout && memcmp(h.random, hrr_random, 32) == 0) {
		t->f.hello_retry = 1;
		t->hrr_pending = 1;
		t->f.key_share_group = h.key_share_group;
		return;
	}
	apply_server_hello(t, &h);
	if (!h.draft_layout) /* JA3S reads the layout of the final standard */
		fp_ja3s(&h, t->f.ja3s, sizeof t->f.ja3s);
}

/* SSLv2 cipher specs are 3 bytes: 0x00 and a TLS suite, or one of the
 * SSLv2 ciphers (RC4, RC2, IDEA, DES, 3DES: all weak). */
static void note_ssl2_offers(struct tls *t, struct rd specs)
{
	while (rd_left(&specs) >= 3) {
		uint8_t kind = rd_u8(&specs);
		uint16_t code = rd_u16(&specs);
		if (kind == 0) {
			note_offer(t, code);
		} else {
			t->f.client_suites++;
			t->f.offered_weak = 1;
		}
	}
}

/* SSLv2 CLIENT-HELLO (message type 1): version, the lengths of the cipher
 * specs, session id and challenge, then the specs. */
static void parse_ssl2_client_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	rd_u8(&r);
	uint16_t version = rd_u16(&r);
	uint16_t specs = rd_u16(&r);
	if (r.err) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	t->f.client_hellos++;
	t->f.sslv2_hello = 1;
	t->f.client_version = version;
	t->f.suites_offered = specs / 3;
	note_offered_version(t, version);
	rd_skip(&r, 4); /* session id and challenge lengths */
	note_ssl2_offers(t, rd_sub(&r, specs));
	if (r.err)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

/* ---- the server's certificate and key exchange ------------------------- */

/* The leaf of a DER certificate list entry. */
static void keep_leaf(struct tls *t, const uint8_t *der, size_t len)
{
	char sha256[FP_SHA256_HEX];
	int malformed;
	if (t->f.cert)
		return;
	fp_sha256_hex(der, len, sha256);
	t->f.cert = sha256[0] ? x509_shared(der, len, sha256, &malformed) : NULL;
	if (!t->f.cert && malformed)
		t->f.anomalies |= ANOM_CERT_MALFORMED;
	if (t->f.cert && t->f.cert->names_capped)
		t->f.anomalies |= ANOM_CERT_NAMES_CAPPED;
}

void tls_keep_tlsa(struct tls *t)
{
	t->keep_tlsa = 1;
}

/* The TLSA digests of one certificate of the list (x509.h). */
static void digest_cert(const uint8_t *der, size_t len, struct x509_tlsa *out)
{
	struct x509_cert c;
	if (x509_parse(der, len, &c) < 0 || x509_tlsa_digests(der, len, &c, out) < 0)
		out->present = 0;
}

/* For DANE: the digests of the certificates as sent, the leaf first, at
 * most TLS_TLSA_CERTS; complete when that is the whole list and the
 * message was not cut. */
static void digest_chain(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	size_t n = 0;
	rd_u24(&r);
	if (t->f.tlsa || !(t->f.tlsa = calloc(TLS_TLSA_CERTS, sizeof *t->f.tlsa)))
		return;
	while (rd_left(&r) > 0 && n < TLS_TLSA_CERTS) {
		uint32_t cl = rd_u24(&r);
		const uint8_t *der = rd_bytes(&r, cl);
		if (!der)
			break;
		digest_cert(der, cl, &t->f.tlsa[n++]);
	}
	t->f.n_tlsa = n;
	t->f.tlsa_complete = !r.err && rd_left(&r) == 0 && t->d[1].hs_len == len;
}

/* Certificate (TLS <= 1.2): certificate_list<0..2^24-1> of
 * ASN.1Cert<1..2^24-1>; p may be a prefix of a longer message. */
static void parse_certificate(struct tls *t, const uint8_t *p, size_t len)
{
	if (t->keep_tlsa)
		digest_chain(t, p, len);
	struct rd r = rd_init(p, len);
	rd_u24(&r); /* the list's length: the message may have been cut */
	if (rd_left(&r) == 0)
		return; /* an empty list */
	uint32_t n = rd_u24(&r);
	const uint8_t *der = rd_bytes(&r, n);
	if (der)
		keep_leaf(t, der, n);
	else if (t->d[1].hs_len > len)
		t->f.anomalies |= ANOM_HANDSHAKE_TOO_BIG; /* the leaf beyond the cap */
	else
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

/* Bits of an unsigned big-endian number. */
static int number_bits(const struct rd *v)
{
	size_t i = 0;
	while (i < v->len && v->p[i] == 0)
		i++;
	if (i == v->len)
		return 0;
	int bits = (int)(v->len - i) * 8;
	for (uint8_t top = v->p[i]; !(top & 0x80); top = (uint8_t)(top << 1))
		bits--;
	return bits;
}

/* ServerKeyExchange (TLS <= 1.2): the named curve of ECDHE (ECParameters:
 * curve_type 3 named_curve, then the group) or the size of the DHE prime,
 * after a PSK identity hint for the PSK suites. */
static void parse_server_key_exchange(struct tls *t, const uint8_t *p, size_t len)
{
	const struct cipher_info *ci = t->f.cipher >= 0 ? cipher_lookup((uint16_t)t->f.cipher) : NULL;
	struct rd r = rd_init(p, len);
	if (!ci || ci->ske == CIPHER_SKE_NONE)
		return;
	if (ci->ske == CIPHER_SKE_PSK_ECDH || ci->ske == CIPHER_SKE_PSK_DH)
		rd_vec16(&r); /* psk_identity_hint */
	if (ci->ske == CIPHER_SKE_ECDH || ci->ske == CIPHER_SKE_PSK_ECDH) {
		uint8_t curve_type = rd_u8(&r);
		uint16_t group = rd_u16(&r);
		if (!r.err && curve_type == 3)
			t->f.key_share_group = group;
	} else {
		struct rd prime = rd_vec16(&r);
		if (!r.err)
			t->f.dh_bits = number_bits(&prime);
	}
	if (r.err)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

/* SSLv2 SERVER-HELLO (message type 4): session-id-hit, certificate type,
 * version, certificate length, cipher specs length, connection id length,
 * then the certificate (type 1: X.509). */
static void parse_ssl2_server_hello(struct tls *t, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	rd_skip(&r, 2);
	uint8_t cert_type = rd_u8(&r);
	uint16_t version = rd_u16(&r);
	if (r.err) {
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		return;
	}
	t->f.server_hello = 1;
	t->f.version = version;
	uint16_t cert_len = rd_u16(&r);
	rd_skip(&r, 4);
	const uint8_t *der = rd_bytes(&r, cert_len);
	if (der && cert_type == 1 && cert_len > 0)
		keep_leaf(t, der, cert_len);
	else if (r.err)
		t->f.anomalies |= ANOM_TLS_MALFORMED;
}

struct msg_handler {
	int dir;
	int type;
	void (*fn)(struct tls *t, const uint8_t *p, size_t len);
	int prefix_ok; /* beyond TLS_HANDSHAKE_MAX: parse the first bytes */
};

static const struct msg_handler msg_handlers[] = {
	{0, HS_CLIENT_HELLO, parse_client_hello, 0},
	{1, HS_SERVER_HELLO, parse_server_hello, 0},
	{1, HS_CERTIFICATE, parse_certificate, 1},
	{1, HS_SERVER_KEY_EXCHANGE, parse_server_key_exchange, 0},
	{0, HS_SSL2_CLIENT_HELLO, parse_ssl2_client_hello, 0},
	{1, HS_SSL2_SERVER_HELLO, parse_ssl2_server_hello, 0},
};

static const struct msg_handler *msg_handler_find(int dir, int type)
{
	for (size_t i = 0; i < sizeof msg_handlers / sizeof msg_handlers[0]; i++)
		if (msg_handlers[i].dir == dir && msg_handlers[i].type == type)
			return &msg_handlers[i];
	return NULL;
}

/* A ClientHello (dir 0) or ServerHello (dir 1) began: seen, even if the
 * rest of it is lost. */
static void hello_begins(struct tls *t, int dir)
{
	if (dir == 0)
		t->f.ch_seen = 1;
	else
		t->f.sh_seen = 1;
	tlsproof_hello(&t->proof, dir);
}

/* ---- handshake message reassembly ------------------------------------ */

/* A message buffer lives only while its message comes in: a session held
 * between two messages (most of the open ones) keeps none. */
static void hs_release(struct tls_dir *d)
{
	free(d->hs_buf);
	d->hs_buf = NULL;
	d->hs_cap = 0;
	d->hs_keep = 0;
}

static void hs_message_done(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	const struct msg_handler *h = msg_handler_find(dir, d->hs_type);
	if (dir == 1 && t->await_after_sh && d->hs_type != HS_SERVER_HELLO &&
	    d->hs_type != HS_NEW_SESSION_TICKET) /* RFC 5077 3.1: may precede the CCS */
		t->await_after_sh = 0; /* Certificate etc.: a full handshake */
	if (h && d->hs_keep)
		h->fn(t, d->hs_buf, d->hs_len < d->hs_keep_len ? d->hs_len : d->hs_keep_len);
	d->hs_hdr_len = 0;
	hs_release(d);
}

/* Makes room for a message of len bytes (len <= TLS_HANDSHAKE_MAX). */
static int hs_reserve(struct tls_dir *d, size_t len)
{
	if (len <= d->hs_cap)
		return 0;
	uint8_t *b = realloc(d->hs_buf, len);
	if (!b)
		return -1;
	d->hs_buf = b;
	d->hs_cap = len;
	return 0;
}

static void hs_begin(struct tls *t, int dir, int type, uint32_t len)
{
	struct tls_dir *d = &t->d[dir];
	const struct msg_handler *h = msg_handler_find(dir, type);
	d->hs_type = type;
	d->hs_len = len;
	d->hs_have = 0;
	d->hs_keep = h != NULL;
	if ((dir == 0 && type == HS_CLIENT_HELLO) || (dir == 1 && type == HS_SERVER_HELLO))
		hello_begins(t, dir);
	d->hs_keep_len = len;
	if (h && len > TLS_HANDSHAKE_MAX) {
		d->hs_keep_len = TLS_HANDSHAKE_MAX;
		d->hs_keep = h->prefix_ok;
		if (!h->prefix_ok)
			t->f.anomalies |= ANOM_HANDSHAKE_TOO_BIG;
	}
	if (d->hs_keep && hs_reserve(d, d->hs_keep_len) < 0)
		d->hs_keep = 0;
}

static void hs_feed(struct tls *t, int dir, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &t->d[dir];
	while (n > 0 && !d->hs_lost) {
		if (d->hs_hdr_len < 4) {
			d->hs_hdr[d->hs_hdr_len++] = *p++;
			n--;
			if (d->hs_hdr_len == 4)
				hs_begin(t, dir, d->hs_hdr[0],
					 ((uint32_t)d->hs_hdr[1] << 16) |
						 ((uint32_t)d->hs_hdr[2] << 8) | d->hs_hdr[3]);
		} else {
			size_t take = d->hs_len - d->hs_have;
			if (take > n)
				take = n;
			if (d->hs_keep && d->hs_have < d->hs_keep_len)
				memcpy(d->hs_buf + d->hs_have, p,
				       take < d->hs_keep_len - d->hs_have ? take
									 : d->hs_keep_len - d->hs_have);
			d->hs_have += (uint32_t)take;
			p += take;
			n -= take;
		}
		if (d->hs_hdr_len == 4 && d->hs_have == d->hs_len)
			hs_message_done(t, dir);
	}
}

/* ---- records ---------------------------------------------------------- */

static void set_encrypted(struct tls *t, int dir)
{
	t->d[dir].encrypted = 1;
	hs_release(&t->d[dir]);
}

/* An encrypted-looking handshake record that is a plaintext hello: the
 * second ClientHello after a HelloRetryRequest follows the client's
 * middlebox ChangeCipherSpec. */
static int peek_is_hello(const struct tls_dir *d)
{
	uint32_t len = (uint32_t)d->peek[1] << 16 | (uint32_t)d->peek[2] << 8 | d->peek[3];
	return d->peek_len == 4 && (d->peek[0] == HS_CLIENT_HELLO ||
				    d->peek[0] == HS_SERVER_HELLO) && len + 4 == d->rec_len;
}

/* What the record shows about the handshake's progress (tlsproof.h). */
static void note_record(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	int enc_hs = d->type == REC_HANDSHAKE && d->rec_encrypted && !peek_is_hello(d);
	t->f.established = tlsproof_record(&t->proof, dir, d->type, d->rec_len, enc_hs);
	t->f.client_fin = t->proof.d[0].fin;
}

/* ---- records ---------------------------------------------------------- */

static void record_body(struct tls *t, int dir, const uint8_t *p, size_t n)
{
	struct tls_dir *d = &t->d[dir];
	if (d->type == REC_HANDSHAKE && !d->encrypted)
		hs_feed(t, dir, p, n);
	else if (d->type == REC_HANDSHAKE && d->rec_encrypted)
		for (size_t i = 0; i < n && d->peek_len < 4 && !d->body_lost; i++)
			d->peek[d->peek_len++] = p[i];
	else if (d->type == REC_SSL2 && d->hs_keep) {
		memcpy(d->hs_buf + d->hs_have, p, n);
		d->hs_have += (uint32_t)n;
	} else if (d->type == REC_ALERT && !d->encrypted && !d->body_lost) {
		for (size_t i = 0; i < n && d->alert_len < 2; i++)
			d->alert[d->alert_len++] = p[i];
	}
}

static void record_end(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	if (d->type == REC_SSL2 && d->hs_keep) {
		const struct msg_handler *h = msg_handler_find(dir, d->hs_type);
		if (h)
			h->fn(t, d->hs_buf, d->hs_have);
		hs_release(d);
	} else if (d->type == REC_ALERT && d->alert_len == 2 && t->f.alert < 0 &&
		   d->rec_len == 2 && (d->alert[0] == 1 || d->alert[0] == 2)) {
		/* an alert in clear is two bytes, warning (1) or fatal (2); a longer
		 * one is encrypted (after a ChangeCipherSpec a gap may have hidden) */
		t->f.alert = d->alert[0] << 8 | d->alert[1];
		t->f.alert_dir = dir;
	} else if (d->type == REC_CCS) {
		if (dir == 1 && t->await_after_sh)
			t->f.resumed = 1; /* CCS straight after the hello */
		t->await_after_sh = dir == 1 ? 0 : t->await_after_sh;
		if (!t->hrr_pending)
			set_encrypted(t, dir);
	}
	note_record(t, dir);
	d->alert_len = 0;
}

/* An SSLv2-format first record: 2-byte length with the top bit set, then
 * the message; hdr holds the length and the first 3 message bytes. */
static int start_ssl2_record(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	size_t len = ((size_t)(d->hdr[0] & 0x7f) << 8) | d->hdr[1];
	int type = d->hdr[2] == 1 ? HS_SSL2_CLIENT_HELLO : HS_SSL2_SERVER_HELLO;
	if (len < 3 || (d->hdr[2] != 1 && d->hdr[2] != 4) ||
	    !msg_handler_find(dir, type))
		return -1;
	d->type = REC_SSL2;
	d->hs_type = type;
	d->rec_len = (uint16_t)len;
	d->body_left = (uint16_t)(len - 3);
	hello_begins(t, dir);
	d->hs_keep = 0;
	if (hs_reserve(d, len) == 0) {
		memcpy(d->hs_buf, d->hdr + 2, 3);
		d->hs_have = 3;
		d->hs_keep = 1;
	}
	return 0;
}

static int start_record(struct tls *t, int dir)
{
	struct tls_dir *d = &t->d[dir];
	if (t->f.records[dir] == 0 && (d->hdr[0] & 0x80))
		return start_ssl2_record(t, dir);
	uint16_t len = (uint16_t)(d->hdr[3] << 8 | d->hdr[4]);
	if (d->hdr[0] < REC_CCS || d->hdr[0] > REC_HEARTBEAT || d->hdr[1] != 3 ||
	    d->hdr[2] > 4 || len > TLS_RECORD_MAX)
		return -1;
	d->type = d->hdr[0];
	d->rec_len = len;
	d->body_left = len;
	d->rec_encrypted = d->encrypted;
	tlsproof_record_begins(&t->proof, dir);
	return 0;
}

/* A record header, in HEADER state or, after a gap, in RESYNC state: there
 * bytes that are no record header mean the framing is lost (no anomaly:
 * the gap explains it). */
static void step_header(struct tls *t, int dir, const uint8_t *p, size_t *off, size_t len)
{
	struct tls_dir *d = &t->d[dir];
	while (*off < len && d->hdr_len < 5)
		d->hdr[d->hdr_len++] = p[(*off)++];
	if (d->hdr_len < 5)
		return;
	d->hdr_len = 0;
	d->body_lost = 0;
	d->peek_len = 0;
	if (start_record(t, dir) < 0) {
		if (d->state == REC_STATE_RESYNC) {
			d->state = REC_STATE_SKIP;
			return;
		}
		t->f.anomalies |= ANOM_TLS_MALFORMED;
		d->state = REC_STATE_DEAD;
		return;
	}
	t->f.records[dir]++;
	d->state = REC_STATE_BODY;
	if (d->body_left == 0) {
		record_end(t, dir);
		d->state = REC_STATE_HEADER;
	}
}

static void step_body(struct tls *t, int dir, const uint8_t *p, size_t *off, size_t len)
{
	struct tls_dir *d = &t->d[dir];
	size_t take = len - *off;
	if (take > d->body_left)
		take = d->body_left;
	record_body(t, dir, p + *off, take);
	*off += take;
	d->body_left = (uint16_t)(d->body_left - take);
	if (d->body_left == 0) {
		record_end(t, dir);
		d->state = REC_STATE_HEADER;
	}
}

/* A direction needs nothing more once the handshake is proven complete
 * and its own hello came: with two taps, one behind, the records proving
 * it may come before the other side's hello, which is still read. */
static int dir_finished(const struct tls *t, int dir)
{
	return t->f.established && (dir == 0 ? t->f.ch_seen : t->f.sh_seen);
}

struct feed_result tls_feed(struct tls *t, int dir, const uint8_t *p, size_t len)
{
	struct tls_dir *d = &t->d[dir & 1];
	size_t off = 0;
	dir &= 1;
	while (off < len && d->state != REC_STATE_DEAD && !dir_finished(t, dir)) {
		if (d->state == REC_STATE_SKIP)
			off = len;
		else if (d->state != REC_STATE_BODY)
			step_header(t, dir, p, &off, len);
		else
			step_body(t, dir, p, &off, len);
	}
	struct feed_result res = {FEED_MORE, off};
	if (d->state == REC_STATE_DEAD || dir_finished(t, dir))
		res.status = FEED_DONE;
	return res;
}

/* The rest of the current record's body was lost in a gap of len bytes (or
 * part of it, len < body_left); returns the bytes of the gap beyond it. */
/* A ServerHello cut short by a gap: its suite, where the bytes up to it
 * came (the final standard's layout; not a HelloRetryRequest). The
 * version stays unknown: TLS 1.3 says itself in an extension. */
static void server_hello_prefix(struct tls *t, const struct tls_dir *d)
{
	if (d->hs_type != HS_SERVER_HELLO || !d->hs_keep || d->hs_hdr_len < 4 ||
	    t->f.server_hello)
		return;
	struct rd r = rd_init(d->hs_buf, d->hs_have < d->hs_keep_len ? d->hs_have : d->hs_keep_len);
	uint16_t legacy = rd_u16(&r);
	const uint8_t *random = rd_bytes(&r, 32);
	struct rd sid = rd_vec8(&r);
	uint16_t cipher = rd_u16(&r);
	if (r.err || sid.len > 32 || hello_draft(legacy) >= 0 ||
	    memcmp(random, hrr_random, 32) == 0)
		return;
	t->f.cipher = cipher;
}

static uint64_t lose_body(struct tls *t, int dir, uint64_t len)
{
	struct tls_dir *d = &t->d[dir];
	d->body_lost = 1;
	if (d->type == REC_HANDSHAKE || d->type == REC_SSL2) {
		server_hello_prefix(t, d);
		d->hs_lost = 1; /* message framing inside records is lost */
		d->hs_keep = 0;
	}
	if (len < d->body_left) {
		d->body_left = (uint16_t)(d->body_left - len);
		return 0;
	}
	len -= d->body_left;
	d->body_left = 0;
	record_end(t, dir); /* its type and length are known */
	d->state = REC_STATE_HEADER;
	return len;
}

void tls_gap(struct tls *t, int dir, uint64_t len)
{
	struct tls_dir *d = &t->d[dir & 1];
	dir &= 1;
	if (len == 0 || d->state == REC_STATE_DEAD)
		return;
	t->f.gap[dir] = 1;
	if (d->state == REC_STATE_BODY && (len = lose_body(t, dir, len)) == 0)
		return; /* the gap ended inside the record, or at its end */
	d->hs_lost = 1;
	d->hdr_len = 0;
	d->state = REC_STATE_RESYNC; /* records may have been lost in it */
	tlsproof_lost(&t->proof, dir);
}
