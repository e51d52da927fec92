/* Rollups (store/rollup.h) and the reports read from them: sessions with
 * every column drawn at random from small sets of values (NULL included),
 * spread over ten days and written through the store in runs out of time
 * order (rows for hours already rolled up into days), then every report
 * counted from the rollups must equal the one computed from the session
 * rows (JSON, byte for byte), for filters at odd seconds, whole hours and
 * days, ports, servers, time buckets and --top; while the store is still
 * open (hours not yet rolled up into days) and after. The rollup tables
 * themselves must count every session once per level. Retention deletes
 * old rows in batches, never the newest, and the counts stay. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../reports/facts.h"
#include "../../reports/render.h"
#include "../../reports/rq.h"
#include "../../store/rollup.h"
#include "../../store/store.h"
#include "check.h"
#include "db_case.h"

#define T0 1795305600.0 /* 2026-11-22T00:00:00Z */
#define DAY 86400.0
#define HOUR 3600.0

/* ---- random sessions ---------------------------------------------------------- */

static uint64_t seed = 42;

static unsigned pick(unsigned n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((seed >> 33) % n);
}

#define ONE_OF(...) one_of((const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
static int one_of(const int *v, size_t n)
{
	return v[pick((unsigned)n)];
}

#define TEXT_OF(dst, ...) text_of(dst, sizeof dst, (const char *const[]){__VA_ARGS__}, \
				  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
static void text_of(char *dst, size_t n, const char *const *v, size_t count)
{
	snprintf(dst, n, "%s", v[pick((unsigned)count)]);
}

static void random_cert(struct rec_cert *c)
{
	static const char *const sha[] = {
		"aa00000000000000000000000000000000000000000000000000000000000001",
		"bb00000000000000000000000000000000000000000000000000000000000002",
		"cc00000000000000000000000000000000000000000000000000000000000003",
	};
	unsigned k = pick(3);
	c->present = pick(3) != 0;
	if (!c->present)
		return;
	snprintf(c->sha256, sizeof c->sha256, "%s", sha[k]);
	snprintf(c->subject_cn, sizeof c->subject_cn, "mx%u.example", k);
	snprintf(c->issuer_cn, sizeof c->issuer_cn, "%s", k == 2 ? "mx2.example" : "CA");
	snprintf(c->key_type, sizeof c->key_type, "%s", k ? "RSA" : "EC");
	c->key_bits = k ? 2048 : 256;
	snprintf(c->sig_alg, sizeof c->sig_alg, "%s", k == 1 ? "sha1WithRSAEncryption"
							 : "sha256WithRSAEncryption");
	c->self_signed = k == 2;
	c->not_before = 1700000000;
	c->not_after = 1800000000;
	c->expired = ONE_OF(-1, 0, 1);
	c->name_match = ONE_OF(-1, 0, 1);
}

static void random_tls(struct session_record *r)
{
	r->tls_version = ONE_OF(-1, -1, 0x0303, 0x0304, 0x0304, 0x7f1c, 0x0301, 0x0999);
	r->client_version_max = ONE_OF(-1, 0x0303, 0x0304, 0x0302);
	r->cipher_suite = ONE_OF(-1, 0x1301, 0x1302, 0xC030, 0x0005, 0x002F, 0x0A0A);
	r->kx_group = ONE_OF(-1, 29, 23, 0x11EC);
	r->kx_dh_bits = ONE_OF(-1, -1, 2048);
	r->client_hello = ONE_OF(-1, 0, 1, 1);
	r->resumed = (int)pick(2);
	r->tls_established = (int)pick(2);
	r->tls_alert = ONE_OF(-1, -1, 2 * 256 + 40, 1 * 256 + 0, 2 * 256 + 70);
	r->tls_alert_from = ONE_OF(-1, 0, 1);
	r->tls_outcome = (enum tls_outcome)ONE_OF(OUTCOME_NONE, OUTCOME_NONE, OUTCOME_ESTABLISHED,
						  OUTCOME_ESTABLISHED, OUTCOME_REFUSED,
						  OUTCOME_FAILED, OUTCOME_NO_SERVER_HELLO,
						  OUTCOME_INCOMPLETE, OUTCOME_NO_TLS_AFTER_220);
	r->forward_secrecy = ONE_OF(-1, 0, 1, 1);
	r->aead = ONE_OF(-1, 0, 1);
	r->weak_cipher = ONE_OF(-1, 0, 0, 1);
	r->sslv2_hello = (int)pick(2);
	r->client_offered_tls13 = ONE_OF(-1, 0, 1);
	r->client_offered_weak = ONE_OF(-1, 0, 1);
	r->server_chose_weak = ONE_OF(-1, 0, 1);
	r->server_declined_fs = ONE_OF(-1, 0, 1);
	TEXT_OF(r->ja3, "", "ja3-a", "ja3-b");
	TEXT_OF(r->ja4, "", "t13d-a", "t12i-b");
	TEXT_OF(r->ja3s, "", "ja3s-a");
	TEXT_OF(r->sni, "", "mx1.example", "other.example");
	random_cert(&r->cert);
}

static void random_session(struct session_record *r, double t)
{
	session_record_init(r);
	snprintf(r->client_ip, sizeof r->client_ip, "10.0.%u.%u", pick(2), pick(6));
	if (pick(5) == 0)
		snprintf(r->server_ip, sizeof r->server_ip, "2001:db8::%u", pick(3) + 1);
	else
		snprintf(r->server_ip, sizeof r->server_ip, "192.0.2.%u", pick(5) + 1);
	r->server_port = (uint16_t)ONE_OF(25, 25, 25, 587, 465);
	r->client_port = (uint16_t)(1024 + pick(60000));
	r->ts_start = t;
	r->ts_end = t + pick(400);
	r->transport = (enum transport)ONE_OF(TRANSPORT_UNKNOWN, TRANSPORT_PLAINTEXT,
					      TRANSPORT_PLAINTEXT, TRANSPORT_STARTTLS,
					      TRANSPORT_STARTTLS, TRANSPORT_IMPLICIT_TLS);
	r->starttls_offered = ONE_OF(-1, 0, 1, 1);
	r->starttls_sent = ONE_OF(-1, 0, 1);
	r->starttls_reply = ONE_OF(-1, 220, 220, 454, 502);
	random_tls(r);
	r->plaintext_transactions = ONE_OF(-1, 0, 1, 3);
	r->plaintext_rcpts = r->plaintext_transactions < 0 ? -1 : r->plaintext_transactions * 2;
	r->cleartext_auth = ONE_OF(-1, 0, 0, 1);
	TEXT_OF(r->auth_mechanism, "", "PLAIN", "LOGIN");
	TEXT_OF(r->server_name, "", "mx1.example", "MX2.example");
	TEXT_OF(r->ehlo_name, "", "client.example", "bot");
	TEXT_OF(r->ehlo_keywords, "", "PIPELINING,STARTTLS", "PIPELINING,XXXXXXXA", "SIZE");
	r->anomalies = (uint32_t)ONE_OF(0, 0, 0, (int)ANOM_MIDSTREAM, (int)ANOM_CAPABILITY_MANGLED,
					(int)ANOM_PLAINTEXT_AFTER_STARTTLS);
	r->packets = 10 + pick(50);
	r->bytes_c2s = 100 * r->packets;
	r->bytes_s2c = 77 * r->packets;
}

/* n sessions in [from, from + span), in random order of time. */
static int write_sessions(struct store *st, size_t n, double from, double span)
{
	struct session_record r;
	for (size_t i = 0; i < n; i++) {
		random_session(&r, from + pick((unsigned)span) + pick(1000) / 1000.0);
		if (store_add(st, &r) < 0)
			return -1;
	}
	return 0;
}

static struct store *open_run(const char *path, const char *source)
{
	struct store *st;
	struct run_info ri = {source, "file", NULL, "25/smtp", T0, "test", NULL};
	char err[512];
	if (store_open(&st, path, err, sizeof err) < 0 || store_begin_run(st, &ri) < 0) {
		fprintf(stderr, "store: %s\n", err);
		return NULL;
	}
	return st;
}

static int close_run(struct store *st)
{
	struct run_totals rt = {.ended = T0 + 1, .packets = 1};
	return store_end_run(st, &rt) < 0 || store_close(st) < 0 ? -1 : 0;
}

/* ---- reports ---------------------------------------------------------------------- */

/* The JSON report, from the rollups or from the session rows (scan). */
static char *json(const char *db, const struct report_options *o, int scan)
{
	struct rmodel m;
	char err[512], *buf = NULL;
	size_t len = 0;
	if (scan)
		setenv("SMTPTLS_REPORT_SCAN", "1", 1);
	else
		unsetenv("SMTPTLS_REPORT_SCAN");
	if (report_build(db, o, &m, err, sizeof err) < 0) {
		fprintf(stderr, "report_build: %s\n", err);
		return NULL;
	}
	FILE *f = open_memstream(&buf, &len);
	if (render_json(&m, f) < 0)
		fprintf(stderr, "render_json failed\n");
	fclose(f);
	rmodel_free(&m);
	unsetenv("SMTPTLS_REPORT_SCAN");
	return buf;
}

/* Where two texts first differ, for the failure message. */
static void show_difference(const char *what, const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	size_t from = i > 120 ? i - 120 : 0;
	fprintf(stderr, "     %s: scan  ...%.240s\n     %s: rollups ...%.240s\n", what, a + from,
		what, b + from);
}

static void same_as_scan(const char *what, const char *db, const struct report_options *o)
{
	char *scan = json(db, o, 1), *rollups = json(db, o, 0);
	int same = scan && rollups && strcmp(scan, rollups) == 0;
	if (!check_report(same, __FILE__, __LINE__, what) && scan && rollups)
		show_difference(what, scan, rollups);
	free(scan);
	free(rollups);
}

struct variant {
	const char *what;
	double since, until; /* 0: not given */
	const uint16_t *ports;
	size_t nports;
	const char *server;
	enum report_by by;
};

static const uint16_t p25[] = {25}, p_sub[] = {465, 587};

static const struct variant variants[] = {
	{"no filter", 0, 0, NULL, 0, NULL, REPORT_BY_AUTO},
	{"since, odd second", T0 + 2 * DAY + 3 * HOUR + 17.25, 0, NULL, 0, NULL, REPORT_BY_AUTO},
	{"until, odd second", 0, T0 + 6 * DAY + 59, NULL, 0, NULL, REPORT_BY_AUTO},
	{"both, over days", T0 + DAY - 1, T0 + 8 * DAY + 1, NULL, 0, NULL, REPORT_BY_DAY},
	{"inside one hour", T0 + 5 * DAY + 7 * HOUR + 60, T0 + 5 * DAY + 7 * HOUR + 3000, NULL, 0,
	 NULL, REPORT_BY_HOUR},
	{"whole day", T0 + 3 * DAY, T0 + 4 * DAY, NULL, 0, NULL, REPORT_BY_AUTO},
	{"whole hours", T0 + 3 * DAY + 5 * HOUR, T0 + 4 * DAY + 2 * HOUR, NULL, 0, NULL,
	 REPORT_BY_HOUR},
	{"port 25", 0, 0, p25, 1, NULL, REPORT_BY_WEEK},
	{"submission, since", T0 + 4 * DAY + 1.5, 0, p_sub, 2, NULL, REPORT_BY_AUTO},
	{"server address", 0, 0, NULL, 0, "192.0.2.3", REPORT_BY_AUTO},
	{"server name", T0 + DAY + 0.5, 0, NULL, 0, "mx2.EXAMPLE", REPORT_BY_AUTO},
	{"nothing", T0 + 30 * DAY, 0, NULL, 0, NULL, REPORT_BY_AUTO},
};

static void compare_all(const char *db, const char *when)
{
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		const struct variant *v = &variants[i];
		struct report_options o;
		char what[160];
		memset(&o, 0, sizeof o);
		report_filter_init(&o.filter);
		o.format = REPORT_JSON;
		o.by = v->by;
		if (v->since)
			o.filter.since = v->since;
		if (v->until)
			o.filter.until = v->until;
		if (v->nports) /* v->ports is NULL without ports */
			memcpy(o.filter.ports, v->ports, v->nports * sizeof v->ports[0]);
		o.filter.nports = v->nports;
		snprintf(o.filter.server, sizeof o.filter.server, "%s", v->server ? v->server : "");
		for (long top = 0; top <= 3; top += 3) {
			o.top = top;
			snprintf(what, sizeof what, "%s: %s, --top %ld", when, v->what, top);
			same_as_scan(what, db, &o);
		}
	}
}

/* ---- the tables ------------------------------------------------------------------ */

/* Every rollup counts each session once in its hour table, and those that
 * start before rollup_state.promoted once in its day and all-time tables. */
static void check_tables(const char *db, long long sessions)
{
	static const char *const names[] = {"codes", "servers", "clients"};
	char sql[512];
	long long promoted = db_scalar(db, "SELECT count(*) FROM session_rows WHERE ts_start <"
				       " (SELECT promoted FROM rollup_state);");
	CHECK_INT(db_scalar(db, "SELECT folded = (SELECT max(id) FROM session_rows) FROM rollup_state;"),
		  1);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(sql, sizeof sql, "SELECT sum(n) FROM rollup_%s_hour;", names[i]);
		CHECK_INT(db_scalar(db, sql), sessions);
		snprintf(sql, sizeof sql, "SELECT coalesce(sum(n), 0) FROM rollup_%s_day;", names[i]);
		CHECK_INT(db_scalar(db, sql), promoted);
		snprintf(sql, sizeof sql, "SELECT coalesce(sum(n), 0) FROM rollup_%s_all;", names[i]);
		CHECK_INT(db_scalar(db, sql), promoted);
	}
	/* a day's rows are its hours' rows */
	CHECK_INT(db_scalar(db, "SELECT count(*) FROM (SELECT bucket / 86400, sum(n) AS k FROM"
			    " rollup_codes_hour WHERE bucket < (SELECT promoted FROM rollup_state)"
			    " GROUP BY 1 EXCEPT SELECT bucket / 86400, sum(n) FROM rollup_codes_day"
			    " GROUP BY 1);"), 0);
}

static void test_reports(const char *dir)
{
	char db[256];
	struct store *st;
	snprintf(db, sizeof db, "%s/r.db", dir);
	unlink(db);
	/* the later days first, closed: every hour rolled up into days */
	if (!CHECK((st = open_run(db, "later")) != NULL))
		return;
	CHECK_INT(write_sessions(st, 700, T0 + 5 * DAY, 5 * DAY), 0);
	CHECK_INT(close_run(st), 0);
	check_tables(db, 700);
	compare_all(db, "closed");
	/* then earlier days and some later ones again, the store open: rows of
	 * hours rolled up already, and hours not yet */
	if (!CHECK((st = open_run(db, "earlier")) != NULL))
		return;
	CHECK_INT(write_sessions(st, 700, T0, 6 * DAY), 0);
	CHECK_INT(write_sessions(st, 200, T0 + 9 * DAY, 2 * DAY), 0);
	CHECK_INT(store_commit(st), 0);
	CHECK(db_scalar(db, "SELECT promoted FROM rollup_state;") <
	      db_scalar(db, "SELECT max(ts_start) FROM session_rows;"));
	check_tables(db, 1600);
	compare_all(db, "open");
	CHECK_INT(close_run(st), 0);
	check_tables(db, 1600);
	CHECK_INT(db_scalar(db, "SELECT promoted > max(ts_start) FROM session_rows, rollup_state;"), 1);
	compare_all(db, "closed again");
}

/* ---- retention ------------------------------------------------------------------ */

static void test_retention(const char *dir)
{
	char db[256];
	struct session_record r;
	struct store *st;
	snprintf(db, sizeof db, "%s/retain.db", dir);
	unlink(db);
	/* a file: its newest packet is the clock; the newest session first, then
	 * 25,000 a week older, deleted in batches of at most 10,000 as the rows
	 * are written */
	if (!CHECK((st = open_run(db, "file")) != NULL))
		return;
	store_retain(st, 2 * DAY, 0);
	random_session(&r, T0 + 9 * DAY);
	CHECK_INT(store_add(st, &r), 0);
	CHECK_INT(write_sessions(st, 25000, T0, DAY), 0);
	CHECK_INT(close_run(st), 0);
	CHECK_INT(db_scalar(db, "SELECT count(*) FROM session_rows;"), 1);
	CHECK_INT(db_scalar(db, "SELECT value FROM run_counters"
			    " WHERE name = 'sessions_deleted_by_retention';"), 25000);
	CHECK_INT(db_scalar(db, "SELECT sum(n) FROM rollup_codes_all;"), 25001);
	/* live: the wall clock; sessions of 1970 are all old, the newest row
	 * too: the ids of rows written next come again, and are folded */
	if (!CHECK((st = open_run(db, "live")) != NULL))
		return;
	store_retain(st, 1, 1);
	CHECK_INT(write_sessions(st, 10, 1000, 100), 0);
	CHECK_INT(close_run(st), 0);
	CHECK_INT(db_scalar(db, "SELECT count(*) FROM session_rows;"), 0);
	CHECK_INT(db_scalar(db, "SELECT folded FROM rollup_state;"), 0);
	if (!CHECK((st = open_run(db, "again")) != NULL))
		return;
	CHECK_INT(write_sessions(st, 5, T0 + 9 * DAY, 100), 0);
	CHECK_INT(close_run(st), 0);
	CHECK_INT(db_scalar(db, "SELECT count(*) FROM session_rows;"), 5);
	CHECK_INT(db_scalar(db, "SELECT max(id) = (SELECT folded FROM rollup_state)"
			    " FROM session_rows;"), 1);
	CHECK_INT(db_scalar(db, "SELECT sum(n) FROM rollup_codes_hour;"), 25016);
}

/* ---- the query layer's aggregates (reports/rq_sqlite.c) -------------------------- */

static char *first_text(struct rq *q, const char *sql)
{
	struct rq_stmt *s = rq_prepare(q, sql, NULL, 0);
	char *out = NULL;
	if (s && rq_step(s) > 0 && rq_text(s, 0))
		out = strdup(rq_text(s, 0));
	rq_finish(s);
	return out;
}

static void expect_first(struct rq *q, const char *sql, const char *want)
{
	char *got = first_text(q, sql);
	if (!check_report(want ? got && !strcmp(got, want) : got == NULL, __FILE__, __LINE__, sql))
		fprintf(stderr, "     got \"%s\", want \"%s\"\n", got ? got : "(null)",
			want ? want : "(null)");
	free(got);
}

static void test_aggregates(void)
{
	sqlite3 *db;
	struct rq *q;
	if (!CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK) || !CHECK((q = rq_sqlite(db)) != NULL))
		return;
	rq_exec(q, "CREATE TABLE t (x TEXT, n INTEGER, o INTEGER);"
		   "INSERT INTO t VALUES ('b', 2, 1), ('a', 1, 1), ('a', 1, 1), ('c', 5, 0),"
		   " (NULL, 9, 0), ('d', 0, 0);");
	/* the most weight (a: 1 + 1 against b: 2, a tie: the smaller); zero
	 * weights and NULL values left out */
	expect_first(q, "SELECT {{modew(x, n)}} FROM t WHERE x <> 'c'", "a");
	expect_first(q, "SELECT {{modew(x, n)}} FROM t", "c");
	expect_first(q, "SELECT {{modew(x, n)}} FROM t WHERE x = 'd'", NULL);
	expect_first(q, "SELECT {{mode(x, n)}} FROM t WHERE x <> 'c'", "b");
	/* ordered by o, then the most weight, then the label */
	expect_first(q, "SELECT {{wlist(x, n, o)}} FROM t", "c 5, a 2, b 2");
	expect_first(q, "SELECT {{wlist(x, n, -o)}} FROM t", "a 2, b 2, c 5");
	expect_first(q, "SELECT {{wlist(x, n, o)}} FROM t WHERE x = 'd'", NULL);
	rq_free(q);
	sqlite3_close(db);
}

int main(void)
{
	char dir[] = "/tmp/smtptls-test-rollup-XXXXXX";
	test_aggregates();
	if (!mkdtemp(dir))
		return 1;
	test_reports(dir);
	test_retention(dir);
	remove_dir(dir);
	return check_done("rollup");
}
