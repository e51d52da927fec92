#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "ciphers.h"
#include "smtp.h"
#include "tls.h"

/* Which parser a direction's bytes currently go to. */
enum layer { LAYER_NONE = 0, LAYER_SMTP, LAYER_TLS, LAYER_DONE };

struct sess {
	enum sess_port_kind kind;
	int midstream;
	enum layer layer[2];
	enum layer first[2];      /* what each direction started with */
	enum layer session_first; /* what the session's very first bytes were */
	int tls_after_smtp;       /* a direction switched from SMTP to TLS */
	struct smtp *smtp;
	struct tls *tls;
	uint32_t anomalies;
};

struct sess *sess_new(enum sess_port_kind kind, int midstream)
{
	struct sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->kind = kind;
	s->midstream = midstream;
	return s;
}

void sess_free(struct sess *s)
{
	if (!s)
		return;
	smtp_free(s->smtp);
	tls_free(s->tls);
	free(s);
}

/* Puts a direction on a layer, creating its parser on first use. */
static void enter_layer(struct sess *s, int dir, enum layer l)
{
	if (l == LAYER_SMTP && !s->smtp && !(s->smtp = smtp_new(s->midstream)))
		l = LAYER_DONE;
	if (l == LAYER_TLS && !s->tls && !(s->tls = tls_new()))
		l = LAYER_DONE;
	if (l == LAYER_TLS && s->layer[dir] == LAYER_SMTP)
		s->tls_after_smtp = 1;
	s->layer[dir] = l;
	if (s->first[dir] == LAYER_NONE)
		s->first[dir] = l;
	if (s->session_first == LAYER_NONE)
		s->session_first = l;
}

/* Feeds the current layer; returns the bytes it used. */
static size_t feed_layer(struct sess *s, int dir, const uint8_t *p, size_t len)
{
	struct feed_result r;
	if (s->layer[dir] == LAYER_SMTP) {
		r = smtp_feed(s->smtp, dir, p, len);
		if (r.status == FEED_HANDOFF)
			enter_layer(s, dir, LAYER_TLS);
	} else {
		r = tls_feed(s->tls, dir, p, len);
		if (r.status == FEED_DONE)
			s->layer[dir] = LAYER_DONE;
	}
	return r.consumed;
}

void sess_data(struct sess *s, int dir, const uint8_t *p, size_t len)
{
	dir &= 1;
	while (len > 0 && s->layer[dir] != LAYER_DONE) {
		if (s->layer[dir] == LAYER_NONE)
			enter_layer(s, dir, tls_looks_like_start(p, len) ? LAYER_TLS
									: LAYER_SMTP);
		if (s->layer[dir] == LAYER_DONE)
			break;
		size_t used = feed_layer(s, dir, p, len);
		p += used;
		len -= used;
	}
}

void sess_gap(struct sess *s, int dir, uint64_t len)
{
	dir &= 1;
	if (s->layer[dir] == LAYER_SMTP)
		smtp_gap(s->smtp, dir, len);
	else if (s->layer[dir] == LAYER_TLS)
		tls_gap(s->tls, dir, len);
}

int sess_done(const struct sess *s)
{
	if (s->tls && tls_facts(s->tls)->established)
		return 1; /* the other side may not have been fed since */
	return s->layer[0] == LAYER_DONE && s->layer[1] == LAYER_DONE;
}

static int is_2xx(int code)
{
	return code >= 200 && code < 300;
}

static enum transport decide_transport(const struct sess *s, const struct smtp_facts *sf,
				       const struct tls_facts *tf)
{
	int hello = tf && (tf->client_hellos > 0 || tf->server_hello);
	if (s->session_first == LAYER_TLS) {
		if (hello || s->kind == SESS_PORT_TLS)
			return TRANSPORT_IMPLICIT_TLS;
		return TRANSPORT_UNKNOWN; /* mid-stream TLS records on an SMTP port */
	}
	if (sf && is_2xx(sf->starttls_reply))
		return TRANSPORT_STARTTLS;
	if (s->tls_after_smtp && hello)
		return TRANSPORT_STARTTLS; /* the 220 itself was not captured */
	if (sf && (sf->commands > 0 || sf->replies > 0))
		return TRANSPORT_PLAINTEXT;
	return TRANSPORT_UNKNOWN;
}

/* A text into a record's array of cap bytes. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void copy_smtp(struct session_record *r, const struct smtp_facts *sf)
{
	r->starttls_offered = sf->starttls_offered;
	r->starttls_sent = sf->starttls_sent;
	r->starttls_reply = sf->starttls_reply;
	r->plaintext_transactions = sf->mail_cmds;
	r->plaintext_rcpts = sf->rcpt_cmds;
	r->cleartext_auth = sf->auth_sent;
	memcpy(r->auth_mechanism, sf->auth_mech, sizeof r->auth_mechanism);
	copy_text(r->server_name, sizeof r->server_name, sf->server_name);
	copy_text(r->ehlo_name, sizeof r->ehlo_name, sf->ehlo_name);
	copy_text(r->ehlo_keywords, sizeof r->ehlo_keywords, sf->keywords);
	r->anomalies |= sf->anomalies;
}

static int is_tls13(int version)
{
	return tls_version_rank(version) >= tls_version_rank(0x0304);
}

/* What the client offered: only with a ClientHello. */
static void copy_offer(struct session_record *r, const struct tls_facts *tf)
{
	if (tf->client_hellos == 0)
		return;
	r->client_offered_tls13 = is_tls13(tf->client_version_max);
	r->client_suites = (int)tf->client_suites;
	r->client_offered_weak = tf->offered_weak;
	r->sslv2_hello = tf->sslv2_hello;
	memcpy(r->ja3, tf->ja3, sizeof r->ja3);
	memcpy(r->ja4, tf->ja4, sizeof r->ja4);
}

/* The negotiated suite judged from the registry; a TLS 1.3 handshake
 * without a key share (psk_ke resumption) has no forward secrecy. Blame
 * goes to the server when the client offered better. */
static void judge_cipher(struct session_record *r, const struct tls_facts *tf)
{
	const struct cipher_info *ci = tf->cipher >= 0 ? cipher_lookup((uint16_t)tf->cipher) : NULL;
	if (!ci || (ci->flags & CIPHER_SCSV))
		return;
	r->forward_secrecy = (ci->flags & CIPHER_FS) &&
			     !(is_tls13(tf->version) && tf->key_share_group < 0);
	r->aead = (ci->flags & CIPHER_AEAD) != 0;
	r->weak_cipher = (ci->flags & CIPHER_WEAK) != 0;
	if (tf->client_hellos == 0)
		return;
	r->server_chose_weak = r->weak_cipher && tf->offered_strong;
	r->server_declined_fs = !r->forward_secrecy && tf->offered_fs;
}

/* A close_notify does not count as a failure. */
static enum tls_outcome outcome(const struct tls_facts *tf)
{
	int alert = tf->alert >= 0 && (tf->alert & 0xff) != 0;
	if (tf->established)
		return OUTCOME_ESTABLISHED;
	if (tf->server_hello)
		return alert ? OUTCOME_FAILED : OUTCOME_INCOMPLETE;
	if (alert)
		return OUTCOME_REFUSED;
	return tf->client_hellos > 0 ? OUTCOME_NO_SERVER_HELLO : OUTCOME_NONE;
}

/* The leaf certificate, judged at the session's start time against the
 * host name of the 220 greeting. */
static void copy_cert(struct session_record *r, const struct tls_facts *tf)
{
	if (!tf->cert || !tf->cert->rec.present)
		return;
	r->cert = tf->cert->rec;
	r->cert.expired = r->ts_start > 0 ? r->ts_start > (double)r->cert.not_after : -1;
	r->cert.name_match = x509_name_match(tf->cert, r->server_name);
}

static void copy_tls(struct session_record *r, const struct tls_facts *tf)
{
	r->client_hello = tf->client_hellos > 0;
	r->client_version_max = tf->client_version_max;
	copy_text(r->sni, sizeof r->sni, tf->sni);
	copy_text(r->alpn_offered, sizeof r->alpn_offered, tf->alpn_offered);
	r->hello_retry = tf->hello_retry;
	r->tls_alert = tf->alert;
	r->tls_alert_from = tf->alert_dir;
	r->tls_outcome = outcome(tf);
	r->anomalies |= tf->anomalies;
	copy_offer(r, tf);
	copy_cert(r, tf);
	if (!tf->server_hello)
		return;
	r->tls_version = tf->version;
	r->cipher_suite = tf->cipher;
	r->kx_group = tf->key_share_group;
	r->kx_dh_bits = tf->dh_bits;
	copy_text(r->alpn, sizeof r->alpn, tf->alpn);
	memcpy(r->ja3s, tf->ja3s, sizeof r->ja3s);
	r->resumed = tf->resumed;
	r->tls_established = tf->established;
	judge_cipher(r, tf);
}

static uint32_t session_anomalies(const struct sess *s, const struct smtp_facts *sf,
				  enum transport t)
{
	uint32_t a = s->anomalies;
	if (sf && is_2xx(sf->starttls_reply) && !s->tls_after_smtp)
		a |= ANOM_NO_TLS_AFTER_220;
	if (sf && is_2xx(sf->starttls_reply) && sf->clear_after_starttls > 0)
		a |= ANOM_PLAINTEXT_AFTER_STARTTLS;
	if (s->first[DIR_C2S] == LAYER_TLS && s->first[DIR_S2C] == LAYER_SMTP)
		a |= ANOM_PLAINTEXT_ON_TLS;
	if (t == TRANSPORT_UNKNOWN && (s->first[0] != LAYER_NONE || s->first[1] != LAYER_NONE))
		a |= ANOM_NOT_SMTP;
	return a;
}

void sess_result(const struct sess *s, struct session_record *r)
{
	const struct smtp_facts *sf = s->smtp ? smtp_facts(s->smtp) : NULL;
	const struct tls_facts *tf = s->tls ? tls_facts(s->tls) : NULL;
	r->transport = decide_transport(s, sf, tf);
	if (sf)
		copy_smtp(r, sf);
	if (tf)
		copy_tls(r, tf);
	r->anomalies |= session_anomalies(s, sf, r->transport);
	if ((r->anomalies & ANOM_NO_TLS_AFTER_220) && r->tls_outcome == OUTCOME_NONE)
		r->tls_outcome = OUTCOME_NO_TLS_AFTER_220;
}
