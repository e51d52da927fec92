/* The harness of the reports' unit tests (test_report.c and
 * test_report_store.c; test_report_helpers.c takes its T0 and DAY): a
 * database written through the store from a table of sessions built to
 * show each case once (downgrade evidence included, which the recorded
 * captures do not hold), the report model built on it and the lookups into
 * its tables. Header-only: each program includes it once, and its
 * functions are static inline, as each uses a part of them. */
#ifndef SMTPTLS_REPORT_CASE_H
#define SMTPTLS_REPORT_CASE_H

#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/registry.h"
#include "../../reports/export.h"
#include "../../reports/facts.h"
#include "../../store/merge.h"
#include "../../store/schema.h"
#include "../../reports/render.h"
#include "../../reports/rescape.h"
#include "../../reports/rtime.h"
#include "../../store/store.h"
#include "check.h"
#include "db_case.h"

#define DAY 86400.0
#define T0 1795305600.0 /* 2026-11-22T00:00:00Z, a Sunday */

/* ---- a database with one session per case ---------------------------------- */

struct spec {
	const char *client, *server;
	int cport, sport;
	double at; /* seconds after T0 */
	enum transport transport;
	int offered, sent, reply, version, cipher, hello, alert;
	unsigned mail;
	const char *auth, *anomalies, *keywords, *banner, *ehlo;
	unsigned packets;
};

/* A: 10.0.0.1:25 offers STARTTLS in 5 of its 7 EHLO replies; B: 10.0.0.2:587;
 * C: 10.0.0.3:465 implicit TLS; D: 10.0.0.4:25 unknown only. */
static const struct spec specs[] = {
	/* s1: STARTTLS, TLS 1.3 AEAD */
	{"10.1.0.1", "10.0.0.1", 1001, 25, 10, TRANSPORT_STARTTLS, 1, 1, 220, 0x0304, 0x1302, 1, -1,
	 0, NULL, NULL, "PIPELINING,STARTTLS", "mx.a", "c1.example", 20},
	/* s2: STARTTLS stripped */
	{"10.1.0.2", "10.0.0.1", 1002, 25, 20, TRANSPORT_PLAINTEXT, 0, 0, -1, -1, -1, 0, -1, 2,
	 NULL, NULL, "PIPELINING", "mx.a", "c2.example", 10},
	/* s3: STARTTLS mangled */
	{"10.1.0.3", "10.0.0.1", 1003, 25, 30, TRANSPORT_PLAINTEXT, 0, 0, -1, -1, -1, 0, -1, 1,
	 NULL, "capability_mangled", "PIPELINING,XXXXXXXA", "mx.a", "c3.example", 10},
	/* s4: STARTTLS refused with 454 by A, which accepts it elsewhere */
	{"10.1.0.4", "10.0.0.1", 1004, 25, 40, TRANSPORT_PLAINTEXT, 1, 1, 454, -1, -1, 0, -1, 1,
	 NULL, NULL, "STARTTLS", "mx.a", "c4.example", 10},
	/* s5: STARTTLS accepted, ClientHello, handshake failure alert */
	{"10.1.0.5", "10.0.0.1", 1005, 25, 100, TRANSPORT_STARTTLS, 1, 1, 220, -1, -1, 1, 0x0228,
	 0, NULL, NULL, "STARTTLS", "mx.a", "c5.example", 8},
	/* s6: the same client, 30 s later, in clear although offered */
	{"10.1.0.5", "10.0.0.1", 1006, 25, 131, TRANSPORT_PLAINTEXT, 1, 0, -1, -1, -1, 0, -1, 1,
	 NULL, NULL, "STARTTLS", "mx.a", "c5.example", 10},
	/* s7: clear data after STARTTLS, then TLS 1.2 CBC */
	{"10.1.0.7", "10.0.0.1", 1007, 25, 200, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0xC014, 1, -1,
	 0, NULL, "plaintext_after_starttls", "STARTTLS", "mx.a", "c7.example", 20},
	/* s8: B, TLS 1.2 static RSA */
	{"10.1.0.8", "10.0.0.2", 1008, 587, 300, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0x009C, 1,
	 -1, 0, NULL, NULL, "STARTTLS,AUTH", "mx.b", "c8.example", 20},
	/* s9: B, offered not used, AUTH LOGIN and one MAIL in clear; hostile EHLO */
	{"10.1.0.9", "10.0.0.2", 1009, 587, 400, TRANSPORT_PLAINTEXT, 1, 0, -1, -1, -1, 0, -1, 1,
	 "LOGIN", NULL, "STARTTLS,AUTH", "mx.b", "<script>alert(1)</script>", 10},
	/* s10: C, two days later, implicit TLS 1.0 with 3DES */
	{"10.1.0.10", "10.0.0.3", 1010, 465, 2 * DAY + 5, TRANSPORT_IMPLICIT_TLS, -1, 0, -1, 0x0301,
	 0x000A, 1, -1, 0, NULL, NULL, NULL, NULL, NULL, 20},
	/* s11: D, eight days later, picked up mid-stream */
	{"10.1.0.11", "10.0.0.4", 1011, 25, 8 * DAY + 5, TRANSPORT_UNKNOWN, -1, 0, -1, -1, -1, 0, -1,
	 0, NULL, "midstream", NULL, NULL, NULL, 5},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* TLS depth of the sessions that reached TLS (index into specs): s1 TLS 1.3
 * post-quantum, s5 refused, s7 expired certificate, s8 static RSA offered
 * by a client with nothing better and a hostile certificate name, s10 a
 * weak suite the server chose over a stronger offer. */
struct depth {
	size_t idx;
	enum tls_outcome outcome;
	int alert_from, kx, dh_bits, fs, aead, weak, cmax, c13, cweak, scw, sdf;
	const char *ja3, *ja4, *ja3s;
	const char *cn, *issuer, *org, *key_type;
	int key_bits;
	const char *sig;
	int self_signed, expired, name_match;
	const char *sha;
};

#define HOSTILE_CN "<img src=x onerror=alert(2)>"
#define HOSTILE_JA3 "\"><script>ja3</script>"

static const struct depth depths[] = {
	{0, OUTCOME_ESTABLISHED, -1, 0x11EC, -1, 1, 1, 0, 0x0304, 1, 0, 0, 0, HOSTILE_JA3,
	 "t13d0301h2_aaaaaaaaaaaa_bbbbbbbbbbbb", "s1s", NULL, NULL, NULL, NULL, -1, NULL, -1, -1,
	 -1, NULL},
	{4, OUTCOME_REFUSED, DIR_S2C, -1, -1, -1, -1, -1, 0x0303, 0, 1, -1, -1, "j5",
	 "t12d0501h2_cccccccccccc_dddddddddddd", NULL, NULL, NULL, NULL, NULL, -1, NULL, -1, -1,
	 -1, NULL},
	{6, OUTCOME_ESTABLISHED, -1, 0x0017, -1, 1, 0, 0, 0x0304, 1, 0, 0, 0, "j7",
	 "t13d0301h2_aaaaaaaaaaaa_eeeeeeeeeeee", "s7", "mx.a", "Test CA", "Tests", "RSA", 2048,
	 "sha256WithRSAEncryption", 0, 1, 1, "aa"},
	{7, OUTCOME_ESTABLISHED, -1, -1, -1, 0, 1, 0, 0x0304, 1, 0, 0, 0, "j7",
	 "t13d0301h2_aaaaaaaaaaaa_eeeeeeeeeeee", "s7", HOSTILE_CN, HOSTILE_CN, NULL, "RSA", 1024,
	 "sha1WithRSAEncryption", 1, 0, 0, "bb"},
	{9, OUTCOME_ESTABLISHED, -1, -1, -1, 0, 0, 1, 0x0301, 0, 1, 1, 1, "j10",
	 "t10d0301h2_ffffffffffff_eeeeeeeeeeee", "s10", "mx.c", "Test CA", "Tests", "EC", 256,
	 "ecdsa-with-SHA256", 0, 0, -1, "cc"},
};

static inline void fill_cert(struct rec_cert *c, const struct depth *d)
{
	if (!d->sha)
		return;
	c->present = 1;
	snprintf(c->subject_cn, sizeof c->subject_cn, "%s", d->cn);
	snprintf(c->issuer_cn, sizeof c->issuer_cn, "%s", d->issuer);
	snprintf(c->issuer_org, sizeof c->issuer_org, "%s", d->org ? d->org : "");
	snprintf(c->key_type, sizeof c->key_type, "%s", d->key_type);
	snprintf(c->sig_alg, sizeof c->sig_alg, "%s", d->sig);
	snprintf(c->sha256, sizeof c->sha256, "%s", d->sha);
	c->key_bits = d->key_bits;
	c->self_signed = d->self_signed;
	c->expired = d->expired;
	c->name_match = d->name_match;
	c->not_before = (int64_t)T0 - 86400;
	c->not_after = (int64_t)T0 + 86400;
}

static inline void fill_depth(struct session_record *r, size_t idx)
{
	for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
		const struct depth *d = &depths[i];
		if (d->idx != idx)
			continue;
		r->tls_outcome = d->outcome;
		r->tls_alert_from = d->alert_from;
		r->kx_group = d->kx;
		r->kx_dh_bits = d->dh_bits;
		r->forward_secrecy = d->fs;
		r->aead = d->aead;
		r->weak_cipher = d->weak;
		r->client_version_max = d->cmax;
		r->client_offered_tls13 = d->c13;
		r->client_offered_weak = d->cweak;
		r->client_suites = 10;
		r->server_chose_weak = d->scw;
		r->server_declined_fs = d->sdf;
		snprintf(r->ja3, sizeof r->ja3, "%s", d->ja3);
		snprintf(r->ja4, sizeof r->ja4, "%s", d->ja4);
		snprintf(r->ja3s, sizeof r->ja3s, "%s", d->ja3s ? d->ja3s : "");
		fill_cert(&r->cert, d);
	}
}

static inline void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static inline void fill(struct session_record *r, const struct spec *s, double shift)
{
	session_record_init(r);
	copy(r->client_ip, sizeof r->client_ip, s->client);
	copy(r->server_ip, sizeof r->server_ip, s->server);
	r->client_port = (uint16_t)s->cport;
	r->server_port = (uint16_t)s->sport;
	r->ts_start = T0 + s->at + shift;
	r->ts_end = r->ts_start + 1;
	r->transport = s->transport;
	r->starttls_offered = s->offered;
	r->starttls_sent = s->sent;
	r->starttls_reply = s->reply;
	r->tls_version = s->version;
	r->cipher_suite = s->cipher;
	r->client_hello = s->hello;
	r->tls_established = s->version >= 0;
	r->tls_alert = s->alert;
	r->plaintext_transactions = s->mail;
	r->plaintext_rcpts = s->mail;
	r->cleartext_auth = s->auth != NULL;
	copy(r->auth_mechanism, sizeof r->auth_mechanism, s->auth);
	copy(r->ehlo_keywords, sizeof r->ehlo_keywords, s->keywords);
	copy(r->server_name, sizeof r->server_name, s->banner);
	copy(r->ehlo_name, sizeof r->ehlo_name, s->ehlo);
	for (const char *a = s->anomalies; a && *a;) {
		size_t n = strcspn(a, ",");
		r->anomalies |= anomaly_from_name(a, n);
		a += n + (a[n] == ',');
	}
	r->packets = s->packets;
	r->bytes_c2s = 100 * s->packets;
	r->bytes_s2c = 50 * s->packets;
}

/* Writes specs[from..to) through the store, ts_start shifted and packet
 * counts increased by extra. */
static inline int make_db(const char *path, const char *source, size_t from, size_t to, double shift,
		   unsigned extra)
{
	struct store *st;
	struct run_info ri = {source, "file", NULL, "25/smtp", T0, "test", NULL};
	struct run_totals rt = {.ended = T0 + 1, .packets = 100, .sessions = to - from};
	char err[512];
	struct session_record r;
	unlink(path);
	if (store_open(&st, path, err, sizeof err) < 0 || store_begin_run(st, &ri) < 0) {
		fprintf(stderr, "store: %s\n", err);
		return -1;
	}
	for (size_t i = from; i < to; i++) {
		fill(&r, &specs[i], shift);
		fill_depth(&r, i);
		r.packets += extra;
		if (store_add(st, &r) < 0)
			return -1;
	}
	const struct run_counter counters[] = {{"fragments", 3}, {"gre_packets", 40}};
	return store_run_counters(st, counters, 2) < 0 || store_end_run(st, &rt) < 0 ||
	       store_close(st) < 0 ? -1 : 0;
}

/* ---- the model ------------------------------------------------------------- */

static struct rmodel model;

static inline int build(const char *db, const struct report_options *o)
{
	char err[512];
	rmodel_free(&model);
	if (report_build(db, o, &model, err, sizeof err) < 0) {
		fprintf(stderr, "report_build: %s\n", err);
		return -1;
	}
	return 0;
}

static inline void options(struct report_options *o)
{
	memset(o, 0, sizeof *o);
	o->format = REPORT_JSON;
	o->top = -1;
	report_filter_init(&o->filter);
}

/* The integer in table id, row rowkey, column col; -999 when absent. */
static inline long long num(const char *id, const char *rowkey, const char *col)
{
	const struct rcell *c = rtable_lookup(rmodel_find(&model, id), rowkey, col);
	return c && c->kind == RCELL_INT ? (long long)c->i : -999;
}

static inline double pct(const char *id, const char *rowkey, const char *col)
{
	const struct rcell *c = rtable_lookup(rmodel_find(&model, id), rowkey, col);
	return c && c->kind == RCELL_REAL ? c->r : -999.0;
}

static inline const char *text(const char *id, size_t row, const char *col)
{
	const struct rtable *t = rmodel_find(&model, id);
	int c = t ? rtable_col(t, col) : -1;
	const struct rcell *cell = c >= 0 ? rtable_at(t, row, (size_t)c) : NULL;
	return cell && cell->kind == RCELL_TEXT ? cell->text : NULL;
}

static inline size_t rows(const char *id)
{
	const struct rtable *t = rmodel_find(&model, id);
	return t ? t->nrows : 0;
}

#define CHECK_PCT(got, want) CHECK((int)((got) * 10 + 0.5) == (int)((want) * 10 + 0.5))

#endif
