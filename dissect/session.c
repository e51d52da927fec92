#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "../common/registry.h"
#include "smtp.h"
#include "tls.h"

/* Which parser a direction's bytes currently go to. */
enum layer { LAYER_NONE = 0, LAYER_SMTP, LAYER_TLS, LAYER_DONE };

/* One per open session: its small fields are bytes (the enums' values
 * fit), so that it takes jemalloc's 48-byte size class, not 80. */
struct sess {
	struct smtp *smtp;
	struct tls *tls;
	uint32_t anomalies;
	uint8_t kind;             /* enum sess_port_kind */
	uint8_t midstream;
	uint8_t layer[2];         /* enum layer */
	uint8_t first[2];         /* what each direction started with */
	uint8_t session_first;    /* what the session's very first bytes were */
	uint8_t tls_after_smtp;   /* a direction switched from SMTP to TLS */
	uint8_t seen[2];          /* bytes of the direction were delivered */
	uint8_t lost_first[2];    /* the direction's first bytes were lost */
	uint8_t keep_tlsa;        /* digest the server's certificates (DANE) */
};
_Static_assert(sizeof(struct sess) <= 48, "struct sess fits 48 bytes");

struct sess *sess_new(enum sess_port_kind kind, int midstream)
{
	struct sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->kind = (uint8_t)kind;
	s->midstream = midstream != 0;
	return s;
}

void sess_keep_tlsa(struct sess *s)
{
	s->keep_tlsa = 1;
	if (s->tls)
		tls_keep_tlsa(s->tls);
}

size_t sess_tlsa(const struct sess *s, const struct x509_tlsa **certs, int *complete)
{
	const struct tls_facts *tf = s->tls ? tls_facts(s->tls) : NULL;
	*certs = tf ? tf->tlsa : NULL;
	*complete = tf ? tf->tlsa_complete : 0;
	return tf && tf->tlsa ? tf->n_tlsa : 0;
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
	if (l == LAYER_TLS && s->keep_tlsa)
		tls_keep_tlsa(s->tls);
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
	s->seen[dir] |= len > 0;
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
	if (s->layer[dir] == LAYER_NONE && len > 0)
		s->lost_first[dir] = 1;
	if (s->layer[dir] == LAYER_SMTP)
		smtp_gap(s->smtp, dir, len);
	else if (s->layer[dir] == LAYER_TLS)
		tls_gap(s->tls, dir, len);
}

enum classify_evidence sess_evidence(const struct sess *s)
{
	const struct smtp_facts *sf = s->smtp ? smtp_facts(s->smtp) : NULL;
	const struct tls_facts *tf = s->tls ? tls_facts(s->tls) : NULL;
	/* a 220 greeting answered by EHLO/HELO, or (the client's side not
	 * captured) followed by an EHLO reply's keywords */
	if (sf && sf->greeting_code == 220 && (sf->helo_sent || sf->ehlo_replies > 0))
		return CLASSIFY_BYTES_SMTP;
	if (sf && ((sf->bad_lines[DIR_C2S] && !sf->commands) || (sf->bad_lines[DIR_S2C] && !sf->replies)))
		return CLASSIFY_BYTES_OTHER;
	if (s->session_first == LAYER_TLS && tf && (tf->ch_seen || tf->sh_seen))
		return CLASSIFY_BYTES_TLS;
	return CLASSIFY_BYTES_UNDECIDED;
}

int sess_done(const struct sess *s)
{
	const struct tls_facts *tf = s->tls ? tls_facts(s->tls) : NULL;
	/* the other side may not have been fed since; but a hello it sent
	 * before (two taps, one behind) must still come through */
	if (tf && tf->established && tf->ch_seen && tf->sh_seen)
		return 1;
	return s->layer[0] == LAYER_DONE && s->layer[1] == LAYER_DONE;
}

static int is_2xx(int code)
{
	return code >= 200 && code < 300;
}

/* TLS was seen: a hello began, or a record was framed. */
static int tls_seen(const struct tls_facts *tf)
{
	return tf && (tf->ch_seen || tf->sh_seen || tf->records[0] + tf->records[1] > 0);
}

static enum transport decide_transport(const struct sess *s, const struct smtp_facts *sf,
				       const struct tls_facts *tf)
{
	int hello = tf && (tf->ch_seen || tf->sh_seen);
	if (s->session_first == LAYER_TLS) {
		/* on a port that speaks SMTP first, TLS picked up mid-stream
		 * followed a STARTTLS that was not captured */
		if (s->midstream && s->kind == SESS_PORT_SMTP && tls_seen(tf))
			return TRANSPORT_STARTTLS;
		if (hello || s->kind == SESS_PORT_TLS)
			return TRANSPORT_IMPLICIT_TLS;
		return TRANSPORT_UNKNOWN; /* mid-stream TLS records on an SMTP port */
	}
	if (sf && is_2xx(sf->starttls_reply))
		return TRANSPORT_STARTTLS;
	if (s->tls_after_smtp && tls_seen(tf))
		return TRANSPORT_STARTTLS; /* the 220 itself was not captured */
	if (sf && (sf->commands > 0 || sf->replies > 0))
		return TRANSPORT_PLAINTEXT;
	return TRANSPORT_UNKNOWN;
}

/* Whether every client command in clear was captured: its side was seen
 * from the start of the dialogue (mid-stream, from a captured greeting,
 * before which a client does not speak) and nothing of it was lost. */
static int client_complete(const struct sess *s, const struct smtp_facts *sf)
{
	if (!s->seen[DIR_C2S] || s->lost_first[DIR_C2S] || (sf && sf->client_lost))
		return 0;
	return !s->midstream || (sf && sf->greeting_code >= 0);
}

/* Contract C2: what the client side shows is -1 where it was not seen. A
 * command seen counts however much was lost around it. */
static void copy_client_counts(const struct sess *s, struct session_record *r,
			       const struct smtp_facts *sf)
{
	int complete = client_complete(s, sf);
	r->starttls_sent = sf && sf->starttls_sent ? 1 : complete ? 0 : -1;
	r->cleartext_auth = sf && sf->auth_sent ? 1 : complete ? 0 : -1;
	r->plaintext_transactions = !complete ? -1 : sf ? (int)sf->mail_cmds : 0;
	r->plaintext_rcpts = !complete ? -1 : sf ? (int)sf->rcpt_cmds : 0;
}

/* A ClientHello seen; unknown where the client's TLS start was not seen
 * (its side missing, picked up inside TLS, or bytes lost before it). */
static int client_hello_seen(const struct sess *s, const struct smtp_facts *sf,
			     const struct tls_facts *tf)
{
	if (tf && tf->ch_seen)
		return 1;
	if (!s->seen[DIR_C2S] || s->lost_first[DIR_C2S] || (sf && sf->client_lost) ||
	    (tf && tf->gap[DIR_C2S]) || (s->midstream && s->first[DIR_C2S] == LAYER_TLS))
		return -1;
	return 0;
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
	r->starttls_reply = sf->starttls_reply;
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
	r->sslv2_hello = -1;
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
	/* a TLS 1.3 suite from a ServerHello cut short: its key share is
	 * unknown, and with it forward secrecy */
	if (tf->server_hello || !(ci->flags & CIPHER_TLS13))
		r->forward_secrecy = (ci->flags & CIPHER_FS) &&
				     !(is_tls13(tf->version) && tf->key_share_group < 0);
	r->aead = (ci->flags & CIPHER_AEAD) != 0;
	r->weak_cipher = (ci->flags & CIPHER_WEAK) != 0;
	if (tf->client_hellos == 0)
		return;
	r->server_chose_weak = r->weak_cipher && tf->offered_strong;
	if (r->forward_secrecy >= 0)
		r->server_declined_fs = !r->forward_secrecy && tf->offered_fs;
}

/* The session began with the client's TLS, and the server answered in
 * SMTP (not: a mid-stream session that began with the server's 220). */
static int plaintext_reply_to_tls(const struct sess *s)
{
	return s->session_first == LAYER_TLS && s->first[DIR_C2S] == LAYER_TLS &&
	       s->first[DIR_S2C] == LAYER_SMTP;
}

static int ended_in_capture(enum end_reason why)
{
	return why == END_FIN || why == END_RST;
}

/* After a ServerHello: a fatal alert in clear, or the connection's end in
 * the capture with every TLS byte of both sides seen and the client's
 * Finished not sent (TLS <= 1.2: not both Finished, which would have
 * proven the handshake), is a failure; the rest is unknown. */
static enum tls_outcome after_server_hello(const struct sess *s, const struct tls_facts *tf,
					   int fatal, enum end_reason why)
{
	int all = s->seen[0] && s->seen[1] && !tf->gap[0] && !tf->gap[1];
	int client_done = tf->client_fin && (!tf->server_hello || is_tls13(tf->version));
	if (fatal || (all && ended_in_capture(why) && !client_done))
		return OUTCOME_FAILED;
	return OUTCOME_INCOMPLETE;
}

/* A close_notify does not count as a failure. Without a ServerHello, a
 * ClientHello is unanswered only from a server seen to end the connection
 * or to answer in plaintext; what the capture cannot show is incomplete. */
static enum tls_outcome outcome(const struct sess *s, const struct tls_facts *tf,
				enum end_reason why)
{
	int fatal = tf->alert >= 0 && (tf->alert & 0xff) != 0;
	int server_seen = s->seen[DIR_S2C] && !tf->gap[DIR_S2C];
	int answered_in_clear = plaintext_reply_to_tls(s);
	if (tf->established)
		return OUTCOME_ESTABLISHED;
	if (tf->sh_seen)
		return after_server_hello(s, tf, fatal, why);
	/* the client alerts only about what the server sent: with the server's
	 * side not captured, that was a ServerHello it rejected */
	if (fatal && tf->alert_dir == DIR_C2S && !s->seen[DIR_S2C])
		return OUTCOME_FAILED;
	if (fatal)
		return OUTCOME_REFUSED;
	if (!tf->ch_seen)
		return tls_seen(tf) ? OUTCOME_INCOMPLETE : OUTCOME_NONE;
	if (server_seen && (ended_in_capture(why) || answered_in_clear))
		return OUTCOME_NO_SERVER_HELLO;
	return OUTCOME_INCOMPLETE;
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

static void copy_tls(const struct sess *s, struct session_record *r,
		     const struct tls_facts *tf)
{
	r->client_version_max = tf->client_version_max;
	copy_text(r->sni, sizeof r->sni, tf->sni);
	copy_text(r->alpn_offered, sizeof r->alpn_offered, tf->alpn_offered);
	r->tls_alert = tf->alert;
	r->tls_alert_from = tf->alert_dir;
	r->tls_outcome = outcome(s, tf, r->end_reason);
	r->tls_established = r->tls_outcome == OUTCOME_INCOMPLETE ? -1
			     : r->tls_outcome == OUTCOME_ESTABLISHED;
	r->anomalies |= tf->anomalies;
	copy_offer(r, tf);
	copy_cert(r, tf);
	/* a HelloRetryRequest comes first in the server's TLS: none seen
	 * says none only where that was captured */
	r->hello_retry = tf->server_hello || tf->hello_retry ||
			 (tf->records[DIR_S2C] > 0 && !tf->gap[DIR_S2C]) ? tf->hello_retry : -1;
	r->resumed = -1;
	if (!tf->server_hello) {
		r->cipher_suite = tf->cipher; /* from a ServerHello cut short, or -1 */
		judge_cipher(r, tf);
		return;
	}
	r->tls_version = tf->version;
	r->cipher_suite = tf->cipher;
	r->kx_group = tf->key_share_group;
	r->kx_dh_bits = tf->dh_bits;
	copy_text(r->alpn, sizeof r->alpn, tf->alpn);
	memcpy(r->ja3s, tf->ja3s, sizeof r->ja3s);
	r->resumed = tf->resumed;
	judge_cipher(r, tf);
}

/* STARTTLS answered 2xx, and no TLS after it: shown where every byte of
 * the client's side was seen (it would have sent the ClientHello), or where
 * the dialogue went on in clear. */
static int no_tls_after_220(const struct sess *s, const struct smtp_facts *sf)
{
	return sf && is_2xx(sf->starttls_reply) && !s->tls_after_smtp &&
	       ((s->seen[DIR_C2S] && !sf->client_lost) || sf->clear_after_starttls > 0);
}

static uint32_t session_anomalies(const struct sess *s, const struct smtp_facts *sf,
				  enum transport t)
{
	uint32_t a = s->anomalies;
	if (no_tls_after_220(s, sf))
		a |= ANOM_NO_TLS_AFTER_220;
	if (sf && is_2xx(sf->starttls_reply) && sf->clear_after_starttls > 0)
		a |= ANOM_PLAINTEXT_AFTER_STARTTLS;
	if (plaintext_reply_to_tls(s))
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
	copy_client_counts(s, r, sf);
	r->client_hello = client_hello_seen(s, sf, tf);
	if (tf)
		copy_tls(s, r, tf);
	r->anomalies |= session_anomalies(s, sf, r->transport);
	if (r->tls_outcome == OUTCOME_NONE && sf && is_2xx(sf->starttls_reply))
		r->tls_outcome = no_tls_after_220(s, sf) ? OUTCOME_NO_TLS_AFTER_220
							 : OUTCOME_INCOMPLETE;
}
