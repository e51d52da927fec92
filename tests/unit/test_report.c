/* Reports: time parsing and buckets, escaping, and every number of the
 * model on a database written through the store from a table of sessions
 * built to show each case once (downgrade evidence included, which the
 * recorded captures do not hold); export and merge on the same data. The
 * numbers on recorded captures are checked end to end in tests/report. */
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

#define DAY 86400.0
#define T0 1795305600.0 /* 2026-11-22T00:00:00Z, a Sunday */

/* ---- time ------------------------------------------------------------------ */

static void test_parse_time(void)
{
	static const struct {
		const char *in;
		double want;
	} good[] = {
		{"1795384080", 1795384080.0},
		{"1795384080.5", 1795384080.5},
		{"0", 0.0},
		{"1970-01-01", 0.0},
		{"2026-11-22", T0},
		{"2026-11-22T21:47:36Z", 1795384056.0},
		{"2026-11-22 21:47:36", 1795384056.0},
		{"2026-11-22T21:47", 1795384020.0},
		{"2026-11-22T21:47:36.25Z", 1795384056.25},
		{"2026-11-22T23:47:36+02:00", 1795384056.0},
		{"2026-11-22T16:47:36-0500", 1795384056.0},
		{"2026-11-23T02:47:36+05", 1795384056.0},
		{"2024-02-29", 1709164800.0},
	};
	static const char *const bad[] = {
		"", "yesterday", "2023-02-29", "2026-13-01", "2026-00-10", "2026-11-31",
		"2026-11-22T24:00", "2026-11-22T21:60", "2026-11-22T21:47:61",
		"2026-11-22T21:47:36+25:00", "2026-11-22X", "12ab", "-5", "2026-1-2",
		"2026-11-22T", "2026-11-22T21", "1795384080.", "2026-11-22T21:47:36.Z",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		double t = -1;
		CHECK_INT(report_parse_time(good[i].in, &t), 0);
		if (!CHECK(t == good[i].want))
			fprintf(stderr, "     %s -> %.3f, want %.3f\n", good[i].in, t, good[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double t;
		if (!CHECK(report_parse_time(bad[i], &t) < 0))
			fprintf(stderr, "     '%s' accepted\n", bad[i]);
	}
}

static void test_buckets(void)
{
	char buf[32];
	double t = 1795384056.0; /* Sunday 2026-11-22 21:47:36 */
	CHECK(rtime_bucket_start(REPORT_BY_HOUR, t) == 1795381200.0);
	CHECK(rtime_bucket_start(REPORT_BY_DAY, t) == T0);
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, t) == 1794787200.0); /* Monday 11-16 */
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, 1794787200.0) == 1794787200.0);
	rtime_label(REPORT_BY_HOUR, 1795381200.0, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-22 21:00");
	rtime_label(REPORT_BY_DAY, T0, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-22");
	rtime_label(REPORT_BY_WEEK, 1794787200.0, buf, sizeof buf);
	CHECK_STR(buf, "2026-W47");
	/* Sunday 2021-01-03 is in ISO week 53 of 2020, which began on 12-28 */
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, 1609675200.0) == 1609113600.0);
	rtime_label(REPORT_BY_WEEK, 1609113600.0, buf, sizeof buf);
	CHECK_STR(buf, "2020-W53");
	CHECK_INT(rtime_auto(T0, T0 + 2 * DAY), REPORT_BY_HOUR);
	CHECK_INT(rtime_auto(T0, T0 + 3 * DAY), REPORT_BY_DAY);
	CHECK_INT(rtime_auto(T0, T0 + 100 * DAY), REPORT_BY_WEEK);
}

/* ---- escaping -------------------------------------------------------------- */

typedef void (*esc_fn)(FILE *, const char *);

static void check_escape(esc_fn fn, const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, in);
	fclose(f);
	CHECK_STR(buf, want);
	free(buf);
}

static void test_escape(void)
{
	check_escape(esc_html, "<script>alert('x')&\"</script>",
		     "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
	check_escape(esc_html, "a\x01\x7f\xc3", "a&#xFFFD;&#xFFFD;&#xC3;");
	check_escape(esc_html, "mx1.example", "mx1.example");
	check_escape(esc_json, "a\"b\\c\n\x01\xff", "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\"");
	check_escape(esc_json, NULL, "null");
	check_escape(esc_csv, "plain", "plain");
	check_escape(esc_csv, "a,b", "\"a,b\"");
	check_escape(esc_csv, "x\"y", "\"x\"\"y\"");
	check_escape(esc_csv, " lead", "\" lead\"");
	check_escape(esc_csv, "line\nbreak", "\"line\nbreak\"");
	check_escape(esc_csv, NULL, "");
}

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

static void fill_cert(struct rec_cert *c, const struct depth *d)
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

static void fill_depth(struct session_record *r, size_t idx)
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

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void fill(struct session_record *r, const struct spec *s, double shift)
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
static int make_db(const char *path, const char *source, size_t from, size_t to, double shift,
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

static long long count(const char *db, const char *sql);

/* ---- the model ------------------------------------------------------------- */

static struct rmodel model;

static int build(const char *db, const struct report_options *o)
{
	char err[512];
	rmodel_free(&model);
	if (report_build(db, o, &model, err, sizeof err) < 0) {
		fprintf(stderr, "report_build: %s\n", err);
		return -1;
	}
	return 0;
}

static void options(struct report_options *o)
{
	memset(o, 0, sizeof *o);
	o->format = REPORT_JSON;
	o->top = -1;
	report_filter_init(&o->filter);
}

/* The integer in table id, row rowkey, column col; -999 when absent. */
static long long num(const char *id, const char *rowkey, const char *col)
{
	const struct rcell *c = rtable_lookup(rmodel_find(&model, id), rowkey, col);
	return c && c->kind == RCELL_INT ? (long long)c->i : -999;
}

static double pct(const char *id, const char *rowkey, const char *col)
{
	const struct rcell *c = rtable_lookup(rmodel_find(&model, id), rowkey, col);
	return c && c->kind == RCELL_REAL ? c->r : -999.0;
}

static const char *text(const char *id, size_t row, const char *col)
{
	const struct rtable *t = rmodel_find(&model, id);
	int c = t ? rtable_col(t, col) : -1;
	const struct rcell *cell = c >= 0 ? rtable_at(t, row, (size_t)c) : NULL;
	return cell && cell->kind == RCELL_TEXT ? cell->text : NULL;
}

static size_t rows(const char *id)
{
	const struct rtable *t = rmodel_find(&model, id);
	return t ? t->nrows : 0;
}

#define CHECK_PCT(got, want) CHECK((int)((got) * 10 + 0.5) == (int)((want) * 10 + 0.5))

static void test_share(void)
{
	CHECK_INT(model.meta.sessions, 11);
	CHECK_INT(model.meta.known, 10);
	CHECK_INT(model.meta.unknown, 1);
	CHECK_INT(model.meta.encrypted, 4);
	CHECK_INT(num("encryption", "all", "sessions"), 10);
	CHECK_INT(num("encryption", "all", "encrypted"), 4);
	CHECK_PCT(pct("encryption", "all", "encrypted_pct"), 40.0);
	CHECK_INT(num("encryption", "25", "sessions"), 7);
	CHECK_INT(num("encryption", "25", "encrypted"), 2);
	CHECK_INT(num("encryption", "25", "unknown"), 1);
	CHECK_INT(num("encryption", "587", "sessions"), 2);
	CHECK_INT(num("encryption", "465", "encrypted"), 1);
	CHECK_INT(num("encryption", "587+465", "sessions"), 3);
	CHECK_INT(num("encryption", "587+465", "encrypted"), 2);
	/* bytes: 150 per packet; encrypted s1, s7, s8, s10 have 20 packets each */
	CHECK_INT(num("encryption", "all", "encrypted_bytes"), 4 * 20 * 150);
	CHECK_INT(num("encryption", "all", "bytes"), (4 * 20 + 5 * 10 + 8) * 150);
	CHECK_INT(num("not_encrypted", "not_offered", "sessions"), 2);
	CHECK_INT(num("not_encrypted", "offered_not_used", "sessions"), 2);
	CHECK_INT(num("not_encrypted", "starttls_refused", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "tls_no_server_hello", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "starttls_no_tls", "sessions"), 0);
	CHECK_INT(num("clear_mail", "all", "transactions"), 6);
	CHECK_INT(num("clear_mail", "all", "sessions"), 5);
	CHECK_INT(num("clear_mail", "587", "sessions"), 1);
}

static void test_tls(void)
{
	CHECK_INT(num("tls_versions", "TLSv1.2", "sessions"), 2);
	CHECK_INT(num("tls_versions", "TLSv1.3", "sessions"), 1);
	CHECK_INT(num("tls_versions", "TLSv1.0", "sessions"), 1);
	CHECK_STR(text("tls_versions", 0, "version"), "TLSv1.3");
	CHECK_INT(num("cipher_classes", "weak", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "no_forward_secrecy", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "forward_secret_cbc", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "forward_secret_aead", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "unregistered", "sessions"), 0);
	CHECK_PCT(pct("cipher_classes", "weak", "sessions_pct"), 25.0);
	CHECK_INT(num("ciphers", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "sessions"), 1);
	CHECK_INT(rows("ciphers"), 4);
}

/* ---- TLS depth -------------------------------------------------------------- */

static void test_quality(void)
{
	CHECK_INT(num("crypto_quality", "forward_secrecy", "sessions"), 2);
	CHECK_INT(num("crypto_quality", "forward_secrecy", "of"), 4);
	CHECK_PCT(pct("crypto_quality", "forward_secrecy", "sessions_pct"), 50.0);
	CHECK_INT(num("crypto_quality", "aead", "sessions"), 2);
	CHECK_INT(num("crypto_quality", "weak_cipher", "sessions"), 1);
	CHECK_INT(num("crypto_quality", "post_quantum", "sessions"), 1);
	CHECK_INT(num("crypto_quality", "not_judged", "sessions"), 0);
	/* named groups first, then finite-field DHE, then none */
	CHECK_INT(rows("kx_groups"), 3);
	CHECK_STR(text("kx_groups", 0, "group"), "X25519MLKEM768");
	CHECK_STR(text("kx_groups", 0, "post_quantum"), "yes");
	CHECK_INT(num("kx_groups", "X25519MLKEM768", "tls13"), 1);
	CHECK_STR(text("kx_groups", 1, "group"), "secp256r1");
	CHECK_STR(text("kx_groups", 1, "post_quantum"), "no");
	CHECK_INT(num("kx_groups", "secp256r1", "tls12"), 1);
	CHECK_STR(text("kx_groups", 2, "group"), "(none: RSA key exchange)");
	CHECK_STR(text("kx_groups", 2, "post_quantum"), "-");
	CHECK_INT(num("kx_groups", "(none: RSA key exchange)", "sessions"), 2);
	CHECK_INT(num("kx_groups", "(none: RSA key exchange)", "tls12"), 2);
}

static void test_handshakes(void)
{
	CHECK_INT(rows("tls_outcomes"), 6);
	CHECK_INT(num("tls_outcomes", "established", "sessions"), 4);
	CHECK_PCT(pct("tls_outcomes", "established", "sessions_pct"), 80.0);
	CHECK_INT(num("tls_outcomes", "refused", "sessions"), 1);
	CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "failed", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "no_tls_after_220", "sessions"), 0);
	CHECK_INT(rows("tls_alerts"), 1);
	CHECK_STR(text("tls_alerts", 0, "alert"), "handshake_failure");
	CHECK_STR(text("tls_alerts", 0, "sent_by"), "server");
	CHECK_STR(text("tls_alerts", 0, "level"), "fatal");
	CHECK_STR(text("tls_alerts", 0, "outcome"), "refused");
	CHECK_INT(num("tls_alerts", "handshake_failure", "sessions"), 1);
	CHECK_PCT(pct("tls_alerts", "handshake_failure", "sessions_pct"), 100.0);
}

static void test_blame(void)
{
	CHECK_INT(num("blame_summary", "server_chose_weak", "sessions"), 1);
	CHECK_INT(num("blame_summary", "server_chose_weak", "of"), 4);
	CHECK_STR(text("blame_summary", 0, "fault"), "server");
	CHECK_INT(num("blame_summary", "server_declined_fs", "sessions"), 1);
	CHECK_INT(num("blame_summary", "client_offered_only_weak", "sessions"), 0);
	CHECK_INT(num("blame_summary", "client_offered_no_fs", "sessions"), 1);
	CHECK_STR(text("blame_summary", 3, "fault"), "client");
	CHECK_INT(rows("server_blame"), 1);
	CHECK_STR(text("server_blame", 0, "server"), "10.0.0.3:465");
	CHECK_INT(num("server_blame", "10.0.0.3:465", "both_hellos"), 1);
	CHECK_INT(num("server_blame", "10.0.0.3:465", "chose_weak"), 1);
	CHECK_INT(num("server_blame", "10.0.0.3:465", "declined_fs"), 1);
	CHECK_STR(text("server_blame", 0, "suites"), "TLS_RSA_WITH_3DES_EDE_CBC_SHA 1");
	CHECK_STR(text("server_blame", 0, "session_ids"), "10");
	CHECK_INT(num("client_offers", "offered_tls13", "sessions"), 3);
	CHECK_INT(num("client_offers", "offered_tls13", "of"), 5);
	CHECK_INT(num("client_offers", "no_tls13", "sessions"), 2);
	CHECK_INT(num("client_offers", "max_tls11_or_older", "sessions"), 1);
	CHECK_INT(num("client_offers", "offered_weak", "sessions"), 2);
	CHECK_INT(num("client_offers", "sslv2_hello", "sessions"), 0);
	CHECK_INT(rows("client_versions"), 3);
	CHECK_STR(text("client_versions", 0, "version"), "TLSv1.3");
	CHECK_INT(num("client_versions", "TLSv1.3", "sessions"), 3);
	CHECK_INT(num("client_versions", "TLSv1.0", "sessions"), 1);
	CHECK_INT(rows("client_weak"), 3);
	CHECK_STR(text("client_weak", 0, "client"), "10.1.0.10");
	CHECK_STR(text("client_weak", 0, "lowest_max"), "TLSv1.0");
	CHECK_STR(text("client_weak", 1, "client"), "10.1.0.5");
	CHECK_STR(text("client_weak", 2, "client"), "10.1.0.8");
	CHECK_INT(num("client_weak", "10.1.0.8", "no_fs"), 1);
	CHECK_INT(num("client_weak", "10.1.0.5", "offered_weak"), 1);
}

static void test_certs(void)
{
	CHECK_INT(num("certificates", "seen", "sessions"), 3);
	CHECK_INT(num("certificates", "seen", "of"), 3);
	CHECK_INT(num("certificates", "seen", "servers"), 3);
	CHECK_INT(num("certificates", "seen", "certs"), 3);
	CHECK_INT(num("certificates", "expired", "sessions"), 1);
	CHECK_INT(num("certificates", "self_signed", "sessions"), 1);
	CHECK_INT(num("certificates", "name_mismatch", "sessions"), 1);
	CHECK_INT(num("certificates", "name_mismatch", "of"), 2);
	CHECK_PCT(pct("certificates", "name_mismatch", "sessions_pct"), 50.0);
	CHECK_INT(rows("cert_keys"), 3);
	CHECK_STR(text("cert_keys", 0, "key"), "EC 256");
	CHECK_INT(num("cert_keys", "RSA 1024", "sessions"), 1);
	CHECK_INT(num("cert_sig_algs", "sha1WithRSAEncryption", "sessions"), 1);
	CHECK_STR(text("cert_issuers", 0, "issuer"), "Test CA / Tests");
	CHECK_INT(num("cert_issuers", "Test CA / Tests", "certs"), 2);
	CHECK_INT(num("cert_issuers", HOSTILE_CN, "servers"), 1);
	CHECK_INT(num("ja3", "j7", "sessions"), 2);
	CHECK_STR(text("ja3", 0, "fingerprint"), "j7");
	CHECK_PCT(pct("ja3", "j7", "sessions_pct"), 40.0);
	CHECK_INT(num("ja3", "j7", "clients"), 2);
	CHECK_INT(num("ja3", "j7", "servers"), 2);
	CHECK_INT(rows("ja3"), 4);
	CHECK_INT(num("ja4", "t13d0301h2_aaaaaaaaaaaa_eeeeeeeeeeee", "sessions"), 2);
	CHECK_INT(num("ja3s", "s7", "sessions"), 2);
	CHECK_PCT(pct("ja3s", "s7", "sessions_pct"), 50.0);
	/* per server */
	CHECK_STR(text("servers", 0, "worst_crypto"), "CBC");
	CHECK_STR(text("servers", 0, "handshakes"), "refused 1");
	CHECK_STR(text("servers", 0, "certificate"),
		  "mx.a (issuer Test CA), RSA 2048, sha256WithRSAEncryption; expired in 1 of 1");
	CHECK_STR(text("servers", 1, "worst_crypto"), "no FS");
	CHECK(text("servers", 1, "fault") == NULL);
	CHECK_INT(num("servers", "10.0.0.2:587", "cert_name_mismatch"), 1);
	CHECK_STR(text("servers", 2, "worst_crypto"), "weak");
	CHECK_STR(text("servers", 2, "fault"), "chose a weak suite over a stronger offer in 1;"
		  " declined the forward secrecy offered in 1 (of 1 sessions with both hellos)");
	CHECK(text("servers", 2, "handshakes") == NULL);
	CHECK_INT(num("servers", "10.0.0.3:465", "chose_weak"), 1);
	CHECK(text("servers", 3, "worst_crypto") == NULL);
}

/* A database of version 1 written before the TLS-depth columns (ja4,
 * tls_outcome and kx_pq dropped here from the rows of all.db, copied into
 * the schema of step 1): reading it migrates it in place, once. Every
 * section is there: the outcome is worked out from the columns the old
 * rows have, the post-quantum flag comes from the group's code, JA4 is not
 * known; the rest is as before. */
static void test_old_schema(const char *dir, const char *all)
{
	char path[256], sql[6144], cols[2048] = "", rcols[1024] = "", *err = NULL;
	char *step = schema_step(1);
	sqlite3 *h;
	sqlite3_stmt *q;
	struct report_options o;
	snprintf(path, sizeof path, "%s/old.db", dir);
	unlink(path);
	CHECK_INT(sqlite3_open(path, &h), SQLITE_OK);
	CHECK(step && sqlite3_exec(h, step, NULL, NULL, &err) == SQLITE_OK);
	/* the view's first columns are those of version 1's table, in order */
	if (sqlite3_prepare_v2(h, "SELECT group_concat(name, ',') FROM pragma_table_info('sessions');",
			       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		snprintf(cols, sizeof cols, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	/* and those of its runs (later steps add some) */
	if (sqlite3_prepare_v2(h, "SELECT group_concat(name, ',') FROM pragma_table_info('runs');",
			       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		snprintf(rcols, sizeof rcols, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	snprintf(sql, sizeof sql, "ATTACH '%s' AS n; INSERT INTO runs SELECT %s FROM n.runs;"
		 " INSERT INTO sessions SELECT %s FROM n.sessions; DETACH n;"
		 " ALTER TABLE sessions DROP COLUMN ja4; ALTER TABLE sessions DROP COLUMN tls_outcome;"
		 " ALTER TABLE sessions DROP COLUMN kx_pq; PRAGMA user_version = 1;", all, rcols, cols);
	if (!CHECK(cols[0] && rcols[0] && sqlite3_exec(h, sql, NULL, NULL, &err) == SQLITE_OK))
		fprintf(stderr, "     %s\n", err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);
	free(step);
	options(&o);
	if (build(path, &o) == 0) {
		CHECK_INT(num("crypto_quality", "post_quantum", "sessions"), 1);
		CHECK_INT(num("kx_groups", "X25519MLKEM768", "sessions"), 1);
		CHECK_STR(text("kx_groups", 0, "post_quantum"), "yes");
		CHECK_INT(num("tls_outcomes", "established", "sessions"), 4);
		CHECK_INT(num("tls_outcomes", "refused", "sessions"), 1);
		CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 0);
		CHECK_INT(rows("ja4"), 0);
		CHECK_INT(num("ja3", "j7", "sessions"), 2);
		CHECK_INT(num("encryption", "all", "encrypted"), 4);
		CHECK_STR(text("servers", 0, "worst_crypto"), "CBC");
	}
	CHECK_INT(count(path, "PRAGMA user_version;"), STORE_SCHEMA_VERSION);
	CHECK_INT(count(path, "SELECT count(*) FROM sessions WHERE ja4 IS NULL;"), 11);
}

static void test_smtp(void)
{
	CHECK_INT(num("starttls", "ehlo_reply", "sessions"), 9);
	CHECK_INT(num("starttls", "offered", "sessions"), 7);
	CHECK_INT(num("starttls", "offered", "of"), 9);
	CHECK_INT(num("starttls", "offered_not_used", "sessions"), 2);
	CHECK_INT(num("starttls", "sent", "sessions"), 5);
	CHECK_INT(num("starttls", "refused", "sessions"), 1);
	CHECK_INT(num("starttls", "refused", "of"), 5);
	CHECK_INT(num("starttls", "cleartext_auth", "sessions"), 1);
	CHECK_INT(num("starttls_refused", "454", "sessions"), 1);
	CHECK_INT(num("cleartext_auth", "LOGIN", "sessions"), 1);
	CHECK_INT(num("anomalies", "(any)", "sessions"), 3);
	CHECK_INT(num("anomalies", "capability_mangled", "sessions"), 1);
	CHECK_INT(num("anomalies", "plaintext_after_starttls", "sessions"), 1);
	CHECK_INT(num("anomalies", "midstream", "sessions"), 1);
}

static void test_servers(void)
{
	CHECK_INT(rows("servers"), 4);
	CHECK_STR(text("servers", 0, "server"), "10.0.0.1:25");
	CHECK_STR(text("servers", 0, "starttls"), "sometimes");
	CHECK_STR(text("servers", 0, "name"), "mx.a");
	CHECK_INT(num("servers", "10.0.0.1:25", "clear"), 5);
	CHECK_INT(num("servers", "10.0.0.1:25", "starttls_offered"), 5);
	CHECK_INT(num("servers", "10.0.0.1:25", "ehlo_replies"), 7);
	CHECK_INT(num("servers", "10.0.0.1:25", "mail_clear"), 5);
	CHECK_STR(text("servers", 1, "server"), "10.0.0.2:587");
	CHECK_STR(text("servers", 1, "starttls"), "always");
	CHECK_STR(text("servers", 2, "server"), "10.0.0.3:465");
	CHECK_STR(text("servers", 2, "starttls"), "implicit TLS");
	CHECK_STR(text("servers", 2, "versions"), "TLSv1.0 1");
	CHECK_STR(text("servers", 3, "server"), "10.0.0.4:25");
	CHECK_STR(text("servers", 3, "starttls"), "no EHLO seen");
	CHECK_INT(rows("clients"), 5);
	CHECK_STR(text("clients", 0, "client"), "10.1.0.2");
	CHECK_INT(num("clients", "10.1.0.5", "clear"), 2);
	CHECK_INT(num("clients", "10.1.0.9", "cleartext_auth"), 1);
	CHECK_INT(num("clients", "10.1.0.9", "starttls_not_used"), 1);
}

static void test_downgrade(void)
{
	static const char *const kinds[] = {"starttls_stripped", "capability_mangled",
					    "starttls_refused", "plaintext_fallback",
					    "plaintext_injection"};
	static const char *const ids[] = {"2", "3", "4", "5->6", "7"};
	for (size_t i = 0; i < 5; i++) {
		CHECK_INT(num("downgrade_summary", kinds[i], "sessions"), 1);
		CHECK_INT(num("downgrade_summary", kinds[i], "servers"), 1);
		CHECK_STR(text("downgrade", i, "kind"), kinds[i]);
		CHECK_STR(text("downgrade", i, "server"), "10.0.0.1:25");
		CHECK_STR(text("downgrade", i, "session_ids"), ids[i]);
	}
	CHECK_STR(text("downgrade", 0, "detail"), "STARTTLS offered in 5 of 7 EHLO replies");
	CHECK_STR(text("downgrade", 1, "detail"), "EHLO keyword XXXXXXXA");
	CHECK_STR(text("downgrade", 2, "detail"), "refused with 454; accepted in 3 other sessions");
}

/* The runs' named counters, summed. */
static void test_runs(void)
{
	CHECK_INT(rows("capture_counters"), 2);
	CHECK_INT(num("capture_counters", "gre_packets", "value"), 40);
	CHECK_INT(num("capture_counters", "fragments", "runs"), 1);
}

static void test_series(void)
{
	/* 8 days: day 0 (9 sessions), empty days filled, day 2, day 8 unknown */
	CHECK_INT(model.meta.by, REPORT_BY_DAY);
	CHECK_INT(rows("series"), 9);
	CHECK_INT(num("series", "2026-11-22", "sessions"), 9);
	CHECK_INT(num("series", "2026-11-22", "encrypted"), 3);
	CHECK_INT(num("series", "2026-11-23", "sessions"), 0);
	CHECK_INT(num("series", "2026-11-24", "encrypted"), 1);
	CHECK_INT(num("series", "2026-11-30", "unknown"), 1);
	CHECK_PCT(pct("series", "2026-11-30", "encrypted_pct"), -999.0);
}

static void test_filters(const char *db)
{
	struct report_options o;
	options(&o);
	o.filter.ports[o.filter.nports++] = 587;
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	snprintf(o.filter.server, sizeof o.filter.server, "10.0.0.1");
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 7);
	options(&o);
	snprintf(o.filter.server, sizeof o.filter.server, "MX.B");
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	o.filter.since = T0 + 2 * DAY;
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	o.filter.until = T0 + DAY;
	o.filter.ports[o.filter.nports++] = 25;
	o.filter.ports[o.filter.nports++] = 465;
	if (build(db, &o) == 0) {
		CHECK_INT(model.meta.sessions, 7);
		CHECK_INT(model.meta.by, REPORT_BY_HOUR);
	}
	options(&o);
	o.by = REPORT_BY_WEEK;
	o.top = 1;
	if (build(db, &o) == 0) {
		CHECK_INT(rows("series"), 3);
		CHECK_INT(num("series", "2026-W47", "sessions"), 9);
		CHECK_INT(num("series", "2026-W48", "sessions"), 1);
		CHECK_INT(num("series", "2026-W49", "unknown"), 1);
		CHECK_INT(rows("servers"), 1);
		CHECK_INT(rmodel_find(&model, "servers")->more, 3);
		CHECK_INT(rows("downgrade"), 5); /* --top applies per kind */
	}
}

/* ---- what counts as encrypted (contract C3) -------------------------------- */

/* A client whose handshake failed (a ServerHello, then its alert: it did
 * not trust the certificate) goes on in clear 20 s later; another session's
 * handshake is cut short (its end not captured); a third is established.
 * Encrypted is the completed handshake only: the failed one is not
 * encrypted ("TLS failed", its own reason), the retry is plaintext, the
 * incomplete one is unknown and shown apart; TLS was attempted in two of
 * the three known sessions. */
static const struct spec c3_specs[] = {
	{"10.2.0.1", "10.0.0.9", 2001, 25, 10, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0xC02F, 1,
	 0x0230, 0, NULL, NULL, "STARTTLS", "mx.f", "f1.example", 12},
	{"10.2.0.1", "10.0.0.9", 2002, 25, 30, TRANSPORT_PLAINTEXT, 1, 0, -1, -1, -1, 0, -1, 1,
	 NULL, NULL, "STARTTLS", "mx.f", "f1.example", 10},
	{"10.2.0.3", "10.0.0.9", 2003, 25, 40, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0xC02F, 1, -1,
	 0, NULL, NULL, "STARTTLS", "mx.f", "f3.example", 6},
	{"10.2.0.4", "10.0.0.9", 2004, 25, 50, TRANSPORT_STARTTLS, 1, 1, 220, 0x0304, 0x1302, 1, -1,
	 0, NULL, NULL, "STARTTLS", "mx.f", "f4.example", 20},
};
static const enum tls_outcome c3_outcomes[] = {OUTCOME_FAILED, OUTCOME_NONE,
					       OUTCOME_INCOMPLETE, OUTCOME_ESTABLISHED};

static void test_c3(const char *dir)
{
	char path[256], err[512];
	struct store *st;
	struct run_info ri = {"c3", "file", NULL, "25/smtp", T0, "test", NULL};
	struct session_record r;
	struct report_options o;
	snprintf(path, sizeof path, "%s/c3.db", dir);
	unlink(path);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_begin_run(st, &ri), 0);
	for (size_t i = 0; i < sizeof c3_specs / sizeof c3_specs[0]; i++) {
		fill(&r, &c3_specs[i], 0);
		r.tls_outcome = c3_outcomes[i];
		r.tls_established = r.tls_outcome == OUTCOME_ESTABLISHED;
		r.tls_alert_from = r.tls_alert >= 0 ? DIR_C2S : -1;
		CHECK_INT(store_add(st, &r), 0);
	}
	CHECK_INT(store_close(st), 0);
	options(&o);
	if (build(path, &o) < 0)
		return;
	CHECK_INT(model.meta.sessions, 4);
	CHECK_INT(model.meta.known, 3);
	CHECK_INT(model.meta.unknown, 1); /* the incomplete handshake */
	CHECK_INT(model.meta.encrypted, 1);
	CHECK_INT(model.meta.attempted, 2);
	CHECK_INT(num("encryption", "all", "not_encrypted"), 2);
	CHECK_INT(num("encryption", "all", "unknown"), 1);
	CHECK_INT(num("encryption", "all", "tls_attempted"), 2);
	CHECK_PCT(pct("encryption", "all", "tls_attempted_pct"), 66.7);
	CHECK_INT(num("not_encrypted", "tls_failed", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "offered_not_used", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "tls_no_server_hello", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "failed", "sessions"), 1);
	CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 1);
	CHECK_INT(num("tls_versions", "TLSv1.2", "sessions"), -999); /* none completed */
	CHECK_INT(num("tls_versions", "TLSv1.3", "sessions"), 1);
	CHECK_STR(text("tls_alerts", 0, "alert"), "unknown_ca");
	CHECK_STR(text("tls_alerts", 0, "sent_by"), "client");
	CHECK_STR(text("tls_alerts", 0, "outcome"), "failed");
	CHECK_INT(num("servers", "10.0.0.9:25", "clear"), 2);
	CHECK_INT(num("servers", "10.0.0.9:25", "unknown"), 1);
	CHECK_INT(num("series", "2026-11-22 00:00", "encrypted"), 1);
	/* the SMTP facts count every session with SMTP seen, the incomplete one too */
	CHECK_INT(num("starttls", "ehlo_reply", "of"), 4);
	CHECK_INT(num("starttls", "sent", "sessions"), 3);
	CHECK_INT(num("clear_mail", "all", "of"), 4);
	CHECK_INT(num("downgrade_summary", "plaintext_fallback", "sessions"), 1);
	CHECK_STR(text("downgrade", 0, "session_ids"), "1->2");
}

/* ---- rendering ---------------------------------------------------------------- */

static char *render(int (*fn)(const struct rmodel *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK_INT(fn(&model, f), 0);
	fclose(f);
	return buf;
}

static void test_render(void)
{
	char *txt = render(render_text), *html = render(render_html), *json = render(render_json);
	char *csv = render(render_csv);
	size_t longest = 0;
	for (char *p = txt; p && *p;) {
		size_t n = strcspn(p, "\n");
		longest = n > longest ? n : longest;
		p += n + (p[n] == '\n');
	}
	CHECK(longest <= 80);
	CHECK(strstr(txt, "Sessions               11") != NULL);
	CHECK(strstr(txt, "TLS completed       40.0%   4 of 10 known sessions: encrypted") != NULL);
	CHECK(strstr(txt, "TLS attempted       50.0%   5 of 10 known sessions\n") != NULL);
	CHECK(strstr(html, "<script") == NULL);
	CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
	CHECK(strstr(html, "<svg") != NULL);
	CHECK(strstr(json, "\"<script>alert(1)</script>\"") != NULL);
	CHECK(strstr(json, "\"encrypted_pct\": 40.0, \"tls_attempted\": 5,") != NULL);
	CHECK(strstr(csv, "\nencryption,all,,,10,4,40.0,6,60.0,") != NULL);
	/* certificate names and fingerprints come from the wire */
	CHECK(strstr(html, "<img") == NULL);
	CHECK(strstr(html, "&lt;img src=x onerror=alert(2)&gt; (issuer &lt;img") != NULL);
	CHECK(strstr(html, "&quot;&gt;&lt;script&gt;ja3&lt;/script&gt;") != NULL);
	CHECK(strstr(json, "\"fingerprint\": \"\\\"><script>ja3</script>\"") != NULL);
	CHECK(strstr(csv, "\nja3,\"\"\"><script>ja3</script>\",1,20.0,1,1\n") != NULL);
	CHECK(strstr(csv, "\ncrypto_quality,forward_secrecy,forward secret (ephemeral key"
			  " exchange),2,4,50.0,encrypted sessions\n") != NULL);
	CHECK(strstr(txt, "\nForward secret      50.0%   2 of 4 encrypted sessions\n") != NULL);
	CHECK(strstr(txt, "\n  server's fault    25.0%   1 of 4 sessions with both hellos seen\n")
	      != NULL);
	CHECK(strstr(txt, "  10.0.0.3:465") != NULL);
	free(txt), free(html), free(json), free(csv);
}

/* ---- export and merge ------------------------------------------------------------ */

static void test_export(const char *db)
{
	char *buf = NULL, err[512];
	size_t len = 0;
	sqlite3 *mem;
	sqlite3_stmt *s;
	FILE *f = open_memstream(&buf, &len);
	CHECK_INT(report_export(db, EXPORT_JSONL, NULL, f, err, sizeof err), 11);
	fclose(f);
	sqlite3_open(":memory:", &mem);
	sqlite3_prepare_v2(mem, "WITH RECURSIVE l(line, rest) AS (SELECT '', ?1 UNION ALL"
				" SELECT substr(rest, 1, instr(rest, char(10)) - 1),"
				" substr(rest, instr(rest, char(10)) + 1) FROM l WHERE rest <> '')"
				" SELECT count(*), sum(json_valid(line)),"
				" sum(json_extract(line, '$.ehlo_name') = '<script>alert(1)</script>')"
				" FROM l WHERE line <> '';", -1, &s, NULL);
	sqlite3_bind_text(s, 1, buf, -1, SQLITE_STATIC);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(s, 0), 11);
	CHECK_INT(sqlite3_column_int(s, 1), 11);
	CHECK_INT(sqlite3_column_int(s, 2), 1);
	sqlite3_finalize(s);
	sqlite3_close(mem);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	CHECK_INT(report_export(db, EXPORT_CSV, NULL, f, err, sizeof err), 11);
	fclose(f);
	CHECK(strncmp(buf, "id,run_id,client_ip,client_port,server_ip,server_port,", 54) == 0);
	free(buf);
}

static long long count(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long n = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	return n;
}

static void test_merge(const char *dir)
{
	char a[256], b[256], out[256], err[512];
	struct merge_stats st;
	snprintf(a, sizeof a, "%s/a.db", dir);
	snprintf(b, sizeof b, "%s/b.db", dir);
	snprintf(out, sizeof out, "%s/out.db", dir);
	/* sensor A saw s1..s6; sensor B saw s4..s11, its clock 0.4 s ahead and
	 * two more packets per session */
	CHECK_INT(make_db(a, "sensor-a", 0, 6, 0, 0), 0);
	CHECK_INT(make_db(b, "sensor-b", 3, NSPECS, 0.4, 2), 0);
	const char *inputs[] = {a, b};
	unlink(out);
	CHECK_INT(store_merge(out, inputs, 2, 1.0, &st, err, sizeof err), 0);
	CHECK_INT(st.sessions_copied, 6 + 5);
	CHECK_INT(st.sessions_replaced, 3);
	CHECK_INT(st.sessions_duplicate, 0);
	CHECK_INT(st.runs_added, 2);
	CHECK_INT(count(out, "SELECT count(*) FROM sessions;"), 11);
	CHECK_INT(count(out, "SELECT count(*) FROM run_origins;"), 2);
	CHECK_INT(count(out, "SELECT count(*) FROM run_counters;"), 4); /* with their runs */
	CHECK_INT(count(out, "SELECT sessions_replaced FROM run_origins WHERE origin_db LIKE"
			     " '%/b.db' AND origin_run_id = 1;"), 3);
	/* merging again adds nothing */
	CHECK_INT(store_merge(out, inputs, 2, 1.0, &st, err, sizeof err), 0);
	CHECK_INT(st.sessions_copied + st.sessions_replaced, 0);
	CHECK_INT(st.sessions_duplicate, 14);
	CHECK_INT(st.runs_present, 2);
	CHECK_INT(count(out, "SELECT count(*) FROM sessions;"), 11);
	CHECK_INT(count(out, "SELECT count(*) FROM runs;"), 2);
	/* with a tolerance below the clock offset, B's three are other sessions */
	unlink(out);
	CHECK_INT(store_merge(out, inputs, 2, 0.1, &st, err, sizeof err), 0);
	CHECK_INT(count(out, "SELECT count(*) FROM sessions;"), 14);
	/* the output as an input, and a missing input, are refused */
	const char *self[] = {out};
	CHECK(store_merge(out, self, 1, 1.0, &st, err, sizeof err) < 0);
	CHECK(strstr(err, "is the output") != NULL);
	snprintf(a, sizeof a, "%s/missing.db", dir);
	CHECK(store_merge(out, inputs, 1, 1.0, &st, err, sizeof err) < 0);
}

int main(void)
{
	char dir[] = "/tmp/smtptls-test-report-XXXXXX", db[256];
	struct report_options o;
	test_parse_time();
	test_buckets();
	test_escape();
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s/all.db", dir);
	if (CHECK(make_db(db, "all", 0, NSPECS, 0, 0) == 0)) {
		options(&o);
		if (build(db, &o) == 0) {
			test_share();
			test_tls();
			test_quality();
			test_handshakes();
			test_blame();
			test_certs();
			test_smtp();
			test_servers();
			test_downgrade();
			test_series();
			test_runs();
			test_render();
		}
		test_filters(db);
		test_export(db);
		test_merge(dir);
		test_old_schema(dir, db);
		test_c3(dir);
	}
	rmodel_free(&model);
	if (!check_failed && !getenv("SMTPTLS_TEST_KEEP")) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return check_done("report");
}
