/* The store: rows go through the write queue as codes and come back out
 * of the sessions view column for column, whatever the rows before them
 * held; certificates are written once; unknown is NULL; run counters; the
 * schema's migrations (a version-1 database, one that lacks the columns
 * appended to version 1, one from a newer smtptls, one that is not ours)
 * and the registry's lookup tables. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../common/registry.h"
#include "../../store/schema.h"
#include "../../store/store.h"
#include "check.h"
#include "db_case.h"

#define ROWS 3000 /* more than the write queue holds, so its slots are reused */

static void fill_cert(struct rec_cert *c, int which)
{
	c->present = 1;
	snprintf(c->subject_cn, sizeof c->subject_cn, "mx%d.example", which);
	snprintf(c->issuer_cn, sizeof c->issuer_cn, "CA %d", which);
	snprintf(c->key_type, sizeof c->key_type, "RSA");
	snprintf(c->sig_alg, sizeof c->sig_alg, "sha256WithRSAEncryption");
	c->key_bits = 2048 + which;
	c->self_signed = which;
	c->not_before = 1600000000 + which;
	c->not_after = 1900000000;
	memset(c->sha256, 'a' + which, 64);
	c->sha256[64] = '\0';
}

/* Row i: text columns whose lengths change from row to row, some empty,
 * so a slot that held a longer or a present value is refilled. */
static void make_row(struct session_record *r, int i)
{
	session_record_init(r);
	snprintf(r->client_ip, sizeof r->client_ip, "10.0.%d.%d", i / 256, i % 256);
	snprintf(r->server_ip, sizeof r->server_ip, "192.0.2.%d", i % 7);
	r->client_port = (uint16_t)(1024 + i);
	r->server_port = 25;
	r->ts_start = 1700000000.0 + i;
	r->ts_end = r->ts_start + 1;
	r->transport = i % 2 ? TRANSPORT_STARTTLS : TRANSPORT_PLAINTEXT;
	if (i % 3 == 0)
		snprintf(r->sni, sizeof r->sni, "mx%d.a-rather-long-name.example", i);
	else if (i % 3 == 1)
		snprintf(r->sni, sizeof r->sni, "m%d", i);
	if (i % 5 == 0) {
		fill_cert(&r->cert, i % 2);
		memset(r->cert.sans, 'x', sizeof r->cert.sans - 1);
		r->cert.expired = i % 3 == 0;
	}
	if (i % 4 == 1)
		snprintf(r->ja3, sizeof r->ja3, "%032d", i);
	r->cipher_suite = i % 2 ? 0x1301 : -1;
	r->tls_version = i % 2 ? 0x0304 : -1;
	r->tls_outcome = i % 2 ? OUTCOME_ESTABLISHED : OUTCOME_NONE;
	r->anomalies = i % 11 == 0 ? ANOM_MIDSTREAM | ANOM_CERT_NAMES_CAPPED : 0;
	r->packets = (uint64_t)i;
	if (i % 13 == 0) /* contract C2: a side not seen */
		r->starttls_sent = r->client_hello = r->cleartext_auth = -1;
	if (i % 13 == 0)
		r->plaintext_transactions = r->plaintext_rcpts = -1;
}

/* The same row as the sessions view gives it back: "" for NULL. */
static void expected(char *out, size_t cap, int i)
{
	struct session_record r;
	char anomalies[128];
	make_row(&r, i);
	anomalies_format(r.anomalies, anomalies, sizeof anomalies);
	snprintf(out, cap, "%s|%s|%s|%zu|%s|%s|%d|%s|%s|%s|%s|%s|%d|%s|%llu", r.client_ip, r.sni,
		 r.ja3, strlen(r.cert.sans), transport_name(r.transport),
		 r.tls_version < 0 ? "" : tls_version_name(r.tls_version), r.cipher_suite,
		 r.cipher_suite < 0 ? "" : cipher_lookup((uint16_t)r.cipher_suite)->name,
		 r.tls_outcome ? tls_outcome_name(r.tls_outcome) : "", anomalies,
		 r.cert.present ? r.cert.subject_cn : "", r.cert.present ? r.cert.sha256 : "",
		 r.cert.present ? r.cert.key_bits : -1, i % 13 == 0 ? "" : "0",
		 (unsigned long long)r.packets);
}

static const char row_sql[] =
	"SELECT coalesce(client_ip, '') || '|' || coalesce(sni, '') || '|' ||"
	" coalesce(ja3, '') || '|' || length(coalesce(cert_sans, '')) || '|' || transport || '|' ||"
	" coalesce(tls_version, '') || '|' || coalesce(cipher_suite, -1) || '|' ||"
	" coalesce(cipher_name, '') || '|' || coalesce(tls_outcome, '') || '|' ||"
	" coalesce(anomalies, '') || '|' || coalesce(cert_subject_cn, '') || '|' ||"
	" coalesce(cert_sha256, '') || '|' || coalesce(cert_key_bits, -1) || '|' ||"
	" coalesce(starttls_sent, '') || '|' || packets, sni IS NULL FROM sessions ORDER BY id";

/* The writer inserted every row, so it used CPU time, and no thread used
 * more than the whole process. */
static void check_thread_cpu(const struct store *st)
{
	double writer, ckpt, process = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	store_thread_cpu(st, &writer, &ckpt);
	CHECK(writer > 0);
	CHECK(ckpt >= 0);
	CHECK(writer + ckpt <= process);
}

static int write_rows(const char *path)
{
	struct store *st;
	char err[512];
	struct run_info ri = {"test.pcap", "file", NULL, "25/smtp", 1700000000.0, "test", "s1"};
	struct run_totals rt = {.ended = 1700000001.0, .sessions = ROWS};
	const struct run_counter counters[] = {{"gre_packets", 12}, {"fragments", 3},
					       {"gre_packets", 14}};
	struct session_record r;
	if (store_open(&st, path, err, sizeof err) < 0 || store_begin_run(st, &ri) < 0) {
		fprintf(stderr, "store: %s\n", err);
		return -1;
	}
	for (int i = 0; i < ROWS; i++) {
		make_row(&r, i);
		if (store_add(st, &r) < 0)
			return -1;
	}
	if (store_run_counters(st, counters, 2) < 0 || store_end_run(st, &rt) < 0 ||
	    store_run_counters(st, counters + 2, 1) < 0)
		return -1;
	check_thread_cpu(st);
	return store_close(st) < 0 ? -1 : 0;
}

static void check_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char want[800], got[800];
	int i = 0, mismatches = 0, nulls = 0;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, row_sql, -1, &s, NULL) == SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		expected(want, sizeof want, i);
		snprintf(got, sizeof got, "%s", (const char *)sqlite3_column_text(s, 0));
		if (strcmp(got, want) != 0 && mismatches++ < 3)
			fprintf(stderr, "row %d: got %s, want %s\n", i, got, want);
		nulls += sqlite3_column_int(s, 1);
		i++;
	}
	CHECK_INT(i, ROWS);
	CHECK_INT(mismatches, 0);
	CHECK_INT(nulls, ROWS / 3); /* empty texts are NULL, not "" */
	sqlite3_finalize(s);
	sqlite3_close(db);
	/* two certificates, each written once */
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM certificates;"), 2);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM session_rows WHERE cert_sha256 IS NOT NULL;"),
		  ROWS / 5);
	/* contract C2: -1 is NULL, never 0 */
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM sessions WHERE client_hello IS NULL AND"
			      " cleartext_auth IS NULL AND plaintext_transactions IS NULL AND"
			      " plaintext_rcpts IS NULL;"), (ROWS + 12) / 13);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM session_anomalies WHERE name = 'midstream';"),
		  (ROWS + 10) / 11);
	CHECK_INT(db_scalar(path, "SELECT value FROM run_counters WHERE name = 'gre_packets';"), 14);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM run_counters;"), 2);
	CHECK_INT(db_scalar(path, "PRAGMA user_version;"), STORE_SCHEMA_VERSION);
}

/* ---- schema --------------------------------------------------------------------- */

static int exec_file(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;
	int rc = sqlite3_open(path, &db) == SQLITE_OK &&
			 sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK
		 ? 0 : -1;
	if (rc < 0)
		fprintf(stderr, "     %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_close(db);
	return rc;
}

/* An empty database with step 1 of the schema: version 1 as released. */
static int make_v1(const char *path)
{
	char *step = schema_step(1);
	unlink(path);
	int rc = step && exec_file(path, step) == 0 &&
			 exec_file(path, "PRAGMA user_version = 1;") == 0
		 ? 0 : -1;
	free(step);
	return rc;
}

static const char v1_row[] =
	"INSERT INTO runs (id, source, source_kind, started, version) VALUES (1, 'a.pcap',"
	" 'file', 1, '0.1.0');"
	"INSERT INTO sessions (run_id, client_ip, client_port, server_ip, server_port, ts_start,"
	" ts_end, transport, starttls_offered, starttls_sent, starttls_reply, tls_version,"
	" tls_version_code, cipher_suite, cipher_name, kx_group, kx_group_code, client_hello,"
	" client_max_version, tls_established, tls_alert, plaintext_transactions,"
	" plaintext_rcpts, cleartext_auth, packets, bytes_c2s, bytes_s2c, end_reason, anomalies,"
	" tls_alert_name, tls_alert_from, tls_outcome, kx_pq, cert_subject_cn, cert_key_bits,"
	" cert_self_signed, cert_expired, cert_sha256) VALUES (1, '10.0.0.1', 1000, '10.0.0.2', 25,"
	" 5.5, 6.5, 'starttls', 1, 1, 220, 'TLSv1.3', 772, 4866, 'TLS_AES_256_GCM_SHA384',"
	" 'x25519', 29, 1, 'TLSv1.3', 1, 256, 0, 0, 0, 12, 100, 200, 'rst', 'gap,evicted',"
	" 'close_notify', 'server', 'established', 0, 'mx.example', 2048, 0, 1, 'ab'),"
	" (1, '10.0.0.3', 1001, '10.0.0.2', 465, 7, 8, 'implicit_tls', NULL, 0, NULL, NULL, NULL,"
	" NULL, NULL, NULL, NULL, 1, 'TLSv1.0', NULL, 552, 0, 0, 0, 3, 10, 20, 'fin', NULL,"
	" 'handshake_failure', 'server', 'refused', NULL, NULL, NULL, NULL, NULL, NULL);";

/* The first row above, as the sessions view shows it after the migration
 * (the second has NULLs). */
static const char v1_view[] =
	"SELECT group_concat(transport || ',' || tls_version || ',' || tls_version_code || ','"
	" || cipher_name || ',' || kx_group || ',' || kx_pq || ',' || client_max_version || ','"
	" || tls_alert_name || ',' || tls_alert_from || ',' || tls_outcome || ',' || end_reason"
	" || ',' || anomalies, ';') FROM sessions;";

static void test_migration(const char *dir)
{
	char path[256], err[512];
	struct store *st;
	sqlite3 *db;
	sqlite3_stmt *s;
	snprintf(path, sizeof path, "%s/v1.db", dir);
	CHECK_INT(make_v1(path), 0);
	CHECK_INT(exec_file(path, v1_row), 0);
	/* a database written before kx_pq and the certificate were appended */
	CHECK_INT(exec_file(path, "ALTER TABLE sessions DROP COLUMN kx_pq;"
				  "ALTER TABLE sessions DROP COLUMN cert_sha256;"), 0);
	CHECK_INT(store_migrate(path, err, sizeof err), 0);
	CHECK_INT(db_scalar(path, "PRAGMA user_version;"), STORE_SCHEMA_VERSION);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'sessions'"
			      " AND type = 'view';"), 1);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM certificates;"), 0);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, v1_view, -1, &s, NULL) == SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(s, 0),
		  "starttls,TLSv1.3,772,TLS_AES_256_GCM_SHA384,x25519,0,TLSv1.3,close_notify,"
		  "server,established,rst,gap,evicted");
	sqlite3_finalize(s);
	CHECK(sqlite3_prepare_v2(db, "SELECT client_max_version, tls_outcome, tls_alert_name,"
				     " plaintext_transactions FROM sessions WHERE id = 2;", -1, &s,
				 NULL) == SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(s, 0), "TLSv1.0");
	CHECK_STR((const char *)sqlite3_column_text(s, 1), "refused");
	CHECK_STR((const char *)sqlite3_column_text(s, 2), "handshake_failure");
	CHECK_INT(sqlite3_column_int(s, 3), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	/* a migrated database takes new rows */
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_close(st), 0);
	/* the certificate's columns, appended over version 1, go to certificates */
	CHECK_INT(make_v1(path), 0);
	CHECK_INT(exec_file(path, v1_row), 0);
	CHECK_INT(store_migrate(path, err, sizeof err), 0);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM certificates WHERE sha256 = 'ab' AND"
			      " subject_cn = 'mx.example' AND key_bits = 2048;"), 1);
	CHECK_INT(db_scalar(path, "SELECT cert_expired FROM sessions WHERE cert_sha256 = 'ab';"), 1);
}

static void test_refusals(const char *dir)
{
	char path[256], err[512];
	struct store *st = NULL;
	snprintf(path, sizeof path, "%s/newer.db", dir);
	unlink(path);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_close(st), 0);
	CHECK_INT(exec_file(path, "PRAGMA user_version = 99;"), 0);
	CHECK(store_open(&st, path, err, sizeof err) < 0);
	CHECK(strstr(err, path) != NULL && strstr(err, "newer") != NULL);
	CHECK(store_migrate(path, err, sizeof err) < 0);
	snprintf(path, sizeof path, "%s/other.db", dir);
	unlink(path);
	CHECK_INT(exec_file(path, "CREATE TABLE x (y);"), 0);
	CHECK(store_open(&st, path, err, sizeof err) < 0);
	CHECK(strstr(err, "is not an smtptls database") != NULL);
	snprintf(path, sizeof path, "%s/absent.db", dir);
	unlink(path);
	CHECK(store_migrate(path, err, sizeof err) < 0); /* a reader never creates one */
	CHECK(access(path, F_OK) != 0);
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* Begins a run of a file of this size and SHA-256 (NULL: not known yet)
 * unless refused: the STORE_RUN_ code, with the run's end when begun. */
static int file_run(struct store *st, uint64_t size, const char *sha, const char *late_sha)
{
	char dup[512] = "";
	struct run_info ri = {"f.pcap", "file", NULL, "25/smtp", 1700000000.0, "test", NULL};
	struct run_file f = {size, sha};
	struct run_totals t;
	memset(&t, 0xff, sizeof t);
	t.ended = 1700000001.0;
	t.interrupted = 0;
	int rc = store_begin_file_run(st, &ri, &f, dup, sizeof dup);
	if (rc != STORE_RUN_BEGUN) {
		CHECK(strstr(dup, "run ") == dup && strstr(dup, "f.pcap") != NULL);
		return rc;
	}
	if (late_sha)
		CHECK_INT(store_set_file_sha256(st, late_sha), 0);
	CHECK_INT(store_end_run(st, &t), 0);
	return rc;
}

/* A file of a size no run read begins at once, its SHA-256 recorded at
 * the end; one of a size read before needs its SHA-256 first, and is
 * refused when it is the same file, or when that run never recorded its
 * own (killed): it may be. Another sensor's runs do not count. */
static void test_file_runs(const char *dir)
{
	char path[256], err[512];
	struct store *st;
	snprintf(path, sizeof path, "%s/files.db", dir);
	unlink(path);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(file_run(st, 100, NULL, SHA_A), STORE_RUN_BEGUN);
	CHECK_INT(file_run(st, 100, NULL, NULL), STORE_RUN_HASH_FIRST);
	CHECK_INT(file_run(st, 100, SHA_A, NULL), STORE_RUN_SAME_FILE);
	CHECK_INT(file_run(st, 100, SHA_B, NULL), STORE_RUN_BEGUN); /* same size, other bytes */
	CHECK_INT(file_run(st, 200, NULL, NULL), STORE_RUN_BEGUN);  /* killed before its hash */
	CHECK_INT(file_run(st, 200, SHA_A, NULL), STORE_RUN_SAME_SIZE);
	CHECK_INT(file_run(st, 300, SHA_B, NULL), STORE_RUN_BEGUN);
	CHECK_INT(file_run(st, 300, SHA_B, NULL), STORE_RUN_SAME_FILE);
	CHECK_INT(store_close(st), 0);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM runs WHERE file_size = 100 AND"
			      " file_sha256 = '" SHA_A "';"), 1);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM runs WHERE file_size = 100 AND"
			      " file_sha256 = '" SHA_B "';"), 1);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM runs WHERE file_size = 200 AND"
			      " file_sha256 IS NULL;"), 1);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM runs;"), 4);
	CHECK_INT(exec_file(path, "UPDATE runs SET sensor = 'other';"), 0);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	struct run_info ri = {"f.pcap", "file", NULL, "25/smtp", 1700000000.0, "test", "mine"};
	struct run_file f = {300, SHA_B};
	char dup[512];
	CHECK_INT(store_begin_file_run(st, &ri, &f, dup, sizeof dup), STORE_RUN_BEGUN);
	CHECK_INT(store_close(st), 0);
}

/* The lookup tables hold the registry, written again at every open. */
static void test_lookups(const char *dir)
{
	char path[256], err[512];
	struct store *st;
	size_t n;
	snprintf(path, sizeof path, "%s/lookups.db", dir);
	unlink(path);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_close(st), 0);
	cipher_table_all(&n);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM cipher_suites;"), (long long)n);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM tls_versions;"), 7 + 256);
	CHECK_INT(db_scalar(path, "SELECT rank FROM tls_versions WHERE code = 32540;"), 6);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM tls_versions WHERE legacy = 1;"), 4);
	CHECK_INT(db_scalar(path, "SELECT pq FROM kx_groups WHERE name = 'X25519MLKEM768';"), 1);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM anomaly_names;"), ANOM_COUNT);
	CHECK_INT(db_scalar(path, "SELECT weak FROM cipher_suites WHERE code = 10;"), 1);
	CHECK_INT(exec_file(path, "DELETE FROM tls_versions; DELETE FROM transports;"), 0);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_close(st), 0);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM tls_versions;"), 7 + 256);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM transports;"), 4);
	char *last = schema_step(STORE_SCHEMA_VERSION);
	CHECK(last != NULL && strncmp(last, "-- migration ", 13) == 0);
	free(last);
	CHECK(schema_step(STORE_SCHEMA_VERSION + 1) == NULL);
	CHECK(schema_step(0) == NULL);
}

int main(void)
{
	char dir[] = "/tmp/test_store_XXXXXX", path[300];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/rows.db", dir);
	CHECK(write_rows(path) == 0);
	check_rows(path);
	test_migration(dir);
	test_refusals(dir);
	test_file_runs(dir);
	test_lookups(dir);
	if (!check_failed) {
		char cmd[320];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return check_done("store");
}
