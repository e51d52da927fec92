#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/wait.h"
#include "../dissect/ciphers.h"

/* How a column's value comes out of a session_record. */
enum col_kind {
	COL_TEXT,        /* char array; empty is NULL */
	COL_INT,         /* int; -1 is NULL */
	COL_BOOL,        /* int 0/1 */
	COL_TLS_FLAG,    /* int 0/1; NULL for -1 and when no TLS hello was seen */
	COL_UINT,        /* unsigned */
	COL_U16,
	COL_U64,
	COL_REAL,
	COL_TRANSPORT,
	COL_VERSION,     /* int code -> "TLSv1.2" */
	COL_CIPHER_NAME, /* int code -> IANA name */
	COL_GROUP_NAME,  /* int code -> IANA group name */
	COL_END_REASON,
	COL_ANOMALIES,
	COL_ALERT_NAME,  /* int level*256+desc -> IANA description name */
	COL_DIR,         /* int -1/0/1 -> NULL, "client", "server" */
	COL_OUTCOME,     /* enum tls_outcome -> name, NULL for none */
	COL_GROUP_PQ,    /* int group code -> 0/1 post-quantum, NULL unknown */
	COL_CERT_TIME,   /* int64_t epoch; NULL without a certificate */
};

struct column {
	const char *name;
	const char *sql_type;
	enum col_kind kind;
	size_t off;
};

#define C(name, type, kind, field) {name, type, kind, offsetof(struct session_record, field)}

/* The sessions table, in order: the CREATE TABLE and the INSERT are both
 * made from this list. */
static const struct column columns[] = {
	C("client_ip", "TEXT NOT NULL", COL_TEXT, client_ip),
	C("client_port", "INTEGER NOT NULL", COL_U16, client_port),
	C("server_ip", "TEXT NOT NULL", COL_TEXT, server_ip),
	C("server_port", "INTEGER NOT NULL", COL_U16, server_port),
	C("ts_start", "REAL NOT NULL", COL_REAL, ts_start),
	C("ts_end", "REAL NOT NULL", COL_REAL, ts_end),
	C("transport", "TEXT NOT NULL", COL_TRANSPORT, transport),
	C("starttls_offered", "INTEGER", COL_INT, starttls_offered),
	C("starttls_sent", "INTEGER", COL_INT, starttls_sent),
	C("starttls_reply", "INTEGER", COL_INT, starttls_reply),
	C("tls_version", "TEXT", COL_VERSION, tls_version),
	C("tls_version_code", "INTEGER", COL_INT, tls_version),
	C("cipher_suite", "INTEGER", COL_INT, cipher_suite),
	C("cipher_name", "TEXT", COL_CIPHER_NAME, cipher_suite),
	C("kx_group", "TEXT", COL_GROUP_NAME, kx_group),
	C("kx_group_code", "INTEGER", COL_INT, kx_group),
	C("sni", "TEXT", COL_TEXT, sni),
	C("alpn", "TEXT", COL_TEXT, alpn),
	C("alpn_offered", "TEXT", COL_TEXT, alpn_offered),
	C("client_hello", "INTEGER", COL_INT, client_hello),
	C("client_max_version", "TEXT", COL_VERSION, client_version_max),
	C("hello_retry", "INTEGER", COL_TLS_FLAG, hello_retry),
	C("resumed", "INTEGER", COL_TLS_FLAG, resumed),
	C("tls_established", "INTEGER", COL_TLS_FLAG, tls_established),
	C("tls_alert", "INTEGER", COL_INT, tls_alert),
	C("plaintext_transactions", "INTEGER", COL_INT, plaintext_transactions),
	C("plaintext_rcpts", "INTEGER", COL_INT, plaintext_rcpts),
	C("cleartext_auth", "INTEGER", COL_INT, cleartext_auth),
	C("auth_mechanism", "TEXT", COL_TEXT, auth_mechanism),
	C("server_name", "TEXT", COL_TEXT, server_name),
	C("ehlo_name", "TEXT", COL_TEXT, ehlo_name),
	C("ehlo_keywords", "TEXT", COL_TEXT, ehlo_keywords),
	C("packets", "INTEGER NOT NULL", COL_U64, packets),
	C("bytes_c2s", "INTEGER NOT NULL", COL_U64, bytes_c2s),
	C("bytes_s2c", "INTEGER NOT NULL", COL_U64, bytes_s2c),
	C("end_reason", "TEXT NOT NULL", COL_END_REASON, end_reason),
	C("anomalies", "TEXT", COL_ANOMALIES, anomalies),
	/* TLS depth: outcome, key exchange, judgement, offer, fingerprints, certificate */
	C("tls_alert_name", "TEXT", COL_ALERT_NAME, tls_alert),
	C("tls_alert_from", "TEXT", COL_DIR, tls_alert_from),
	C("tls_outcome", "TEXT", COL_OUTCOME, tls_outcome),
	C("kx_pq", "INTEGER", COL_GROUP_PQ, kx_group),
	C("kx_dh_bits", "INTEGER", COL_INT, kx_dh_bits),
	C("forward_secrecy", "INTEGER", COL_INT, forward_secrecy),
	C("aead", "INTEGER", COL_INT, aead),
	C("weak_cipher", "INTEGER", COL_INT, weak_cipher),
	C("sslv2_hello", "INTEGER", COL_TLS_FLAG, sslv2_hello),
	C("client_offered_tls13", "INTEGER", COL_INT, client_offered_tls13),
	C("client_suites", "INTEGER", COL_INT, client_suites),
	C("client_offered_weak", "INTEGER", COL_INT, client_offered_weak),
	C("server_chose_weak", "INTEGER", COL_INT, server_chose_weak),
	C("server_declined_fs", "INTEGER", COL_INT, server_declined_fs),
	C("ja3", "TEXT", COL_TEXT, ja3),
	C("ja3s", "TEXT", COL_TEXT, ja3s),
	C("ja4", "TEXT", COL_TEXT, ja4),
	C("cert_subject_cn", "TEXT", COL_TEXT, cert.subject_cn),
	C("cert_sans", "TEXT", COL_TEXT, cert.sans),
	C("cert_issuer_cn", "TEXT", COL_TEXT, cert.issuer_cn),
	C("cert_issuer_org", "TEXT", COL_TEXT, cert.issuer_org),
	C("cert_not_before", "INTEGER", COL_CERT_TIME, cert.not_before),
	C("cert_not_after", "INTEGER", COL_CERT_TIME, cert.not_after),
	C("cert_key_type", "TEXT", COL_TEXT, cert.key_type),
	C("cert_key_bits", "INTEGER", COL_INT, cert.key_bits),
	C("cert_sig_alg", "TEXT", COL_TEXT, cert.sig_alg),
	C("cert_self_signed", "INTEGER", COL_INT, cert.self_signed),
	C("cert_expired", "INTEGER", COL_INT, cert.expired),
	C("cert_name_match", "INTEGER", COL_INT, cert.name_match),
	C("cert_sha256", "TEXT", COL_TEXT, cert.sha256),
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static const char runs_schema[] =
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" source TEXT NOT NULL, source_kind TEXT NOT NULL, filter TEXT, ports TEXT,"
	" started REAL NOT NULL, ended REAL,"
	" packets INTEGER, bytes INTEGER, dropped_kernel INTEGER, dropped_iface INTEGER,"
	" flows INTEGER, flows_evicted INTEGER, flows_timed_out INTEGER,"
	" flows_without_payload INTEGER, sessions INTEGER,"
	" decode_errors INTEGER, truncated_packets INTEGER, non_tcp_packets INTEGER,"
	" fragments INTEGER, reassembly_overflows INTEGER, peak_flows INTEGER,"
	" peak_buffered INTEGER,"
	" version TEXT NOT NULL);";

static const char runs_update[] =
	"UPDATE runs SET ended=?, packets=?, bytes=?, dropped_kernel=?, dropped_iface=?,"
	" flows=?, flows_evicted=?, flows_timed_out=?, flows_without_payload=?, sessions=?,"
	" decode_errors=?, truncated_packets=?, non_tcp_packets=?, fragments=?,"
	" reassembly_overflows=?, peak_flows=?, peak_buffered=? WHERE id=?;";

/* Reports aggregate over all rows (full scans); only time ranges gain from
 * an index, and every index costs each insert. */
static const char indexes[] = "CREATE INDEX sessions_ts ON sessions(ts_start);";

#define RING_CAP 1024 /* records queued for the writer thread */
#define BATCH_MAX 128 /* records the writer takes at once */

/* Rows are written by a writer thread: store_add() queues a copy and
 * returns; the writer inserts in transactions of up to STORE_BATCH_ROWS
 * rows, committed at least every STORE_BATCH_SECONDS. Every other call
 * waits until the writer is idle and then uses the connection itself,
 * holding the lock, so the connection is never used by two threads at
 * once. */
struct store {
	sqlite3 *db;
	sqlite3_stmt *insert;
	char path[512];
	char err[768];
	int64_t run_id;
	int in_tx;
	unsigned pending;
	double tx_started;
	pthread_t writer;
	int writer_running;
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* to the writer: rows queued, or stop */
	pthread_cond_t idle;     /* from the writer: room in the ring / idle */
	struct session_record *ring;
	size_t head, count;
	int busy;                /* the writer is inserting a batch */
	int stop;
	int failed;
	struct checkpointer *ckpt; /* NULL: SQLite checkpoints inside COMMIT */
	uint8_t null_bound[NCOLUMNS]; /* the insert's parameter is NULL already */
};

static int fail(struct store *st, const char *what)
{
	snprintf(st->err, sizeof st->err, "database '%s': %s: %s", st->path, what,
		 st->db ? sqlite3_errmsg(st->db) : "cannot allocate");
	return -1;
}

static int exec(struct store *st, const char *sql, const char *what)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(st, what);
}

static int commit_now(struct store *st);
static int start_checkpointer(struct store *st);
static void stop_checkpointer(struct store *st);
static int start_writer(struct store *st);
static void stop_writer(struct store *st);

/* ---- schema -------------------------------------------------------------- */

static char *sessions_schema(void)
{
	size_t cap = 8192, used = 0;
	char *sql = malloc(cap);
	if (!sql)
		return NULL;
	used += (size_t)snprintf(sql, cap,
		"CREATE TABLE sessions (id INTEGER PRIMARY KEY,"
		" run_id INTEGER REFERENCES runs(id)");
	for (size_t i = 0; i < NCOLUMNS && used < cap; i++)
		used += (size_t)snprintf(sql + used, cap - used, ", %s %s", columns[i].name,
					 columns[i].sql_type);
	if (used + 3 >= cap) {
		free(sql);
		return NULL;
	}
	memcpy(sql + used, ");", 3);
	return sql;
}

static int create_schema(struct store *st)
{
	char *sessions = sessions_schema();
	char version[64];
	int rc = sessions ? 0 : fail(st, "building the schema");
	snprintf(version, sizeof version, "PRAGMA user_version=%d;", STORE_SCHEMA_VERSION);
	if (rc == 0)
		rc = exec(st, "BEGIN;", "starting the schema");
	if (rc == 0)
		rc = exec(st, runs_schema, "creating table runs");
	if (rc == 0)
		rc = exec(st, sessions, "creating table sessions");
	if (rc == 0)
		rc = exec(st, indexes, "creating indexes");
	if (rc == 0)
		rc = exec(st, version, "setting the schema version");
	if (rc == 0)
		rc = exec(st, "COMMIT;", "committing the schema");
	else
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	free(sessions);
	return rc;
}

static int query_int(struct store *st, const char *sql, int *out)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return fail(st, "reading the schema");
	int rc = sqlite3_step(s);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(st, "reading the schema");
}

/* A version-1 database written before the last columns were appended
 * gets them added (all of them may be NULL), so old and new rows share
 * one table. Column names and types are the constants above. */
static int column_missing(struct store *st, const char *name, int *missing)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM pragma_table_info('sessions')"
				       " WHERE name = ?1;", -1, &s, NULL) != SQLITE_OK)
		return fail(st, "reading the schema");
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	*missing = rc == SQLITE_ROW && sqlite3_column_int(s, 0) == 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : fail(st, "reading the schema");
}

static int add_missing_columns(struct store *st)
{
	char sql[256];
	int missing = 0;
	for (size_t i = 0; i < NCOLUMNS; i++) {
		if (column_missing(st, columns[i].name, &missing) < 0)
			return -1;
		if (!missing)
			continue;
		snprintf(sql, sizeof sql, "ALTER TABLE sessions ADD COLUMN %s %s;", columns[i].name,
			 columns[i].sql_type);
		if (exec(st, sql, "adding a column") < 0)
			return -1;
	}
	return 0;
}

static int check_schema(struct store *st)
{
	int version, tables;
	if (query_int(st, "PRAGMA user_version;", &version) < 0 ||
	    query_int(st, "SELECT count(*) FROM sqlite_master;", &tables) < 0)
		return -1;
	if (version == 0 && tables == 0)
		return create_schema(st);
	if (version == STORE_SCHEMA_VERSION)
		return add_missing_columns(st);
	if (version == 0) {
		snprintf(st->err, sizeof st->err,
			 "database '%s' is not an smtptls database (it has other tables)",
			 st->path);
		return -1;
	}
	snprintf(st->err, sizeof st->err,
		 "database '%s' has schema version %d; this smtptls writes version %d",
		 st->path, version, STORE_SCHEMA_VERSION);
	return -1;
}

/* ---- open / close ------------------------------------------------------- */

static int prepare_insert(struct store *st)
{
	char sql[4096];
	size_t used = (size_t)snprintf(sql, sizeof sql, "INSERT INTO sessions (run_id");
	for (size_t i = 0; i < NCOLUMNS && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", %s", columns[i].name);
	if (used < sizeof sql)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ") VALUES (?");
	for (size_t i = 0; i < NCOLUMNS && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", ?");
	if (used + 3 > sizeof sql)
		return fail(st, "building the insert");
	snprintf(sql + used, sizeof sql - used, ");");
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->insert, NULL))
		return fail(st, "preparing the insert");
	memset(st->null_bound, 1, sizeof st->null_bound); /* a new statement's are */
	return 0;
}

static int configure(struct store *st)
{
	int defensive = 1;
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, defensive, NULL);
	/* A new database gets 16 KiB pages (an existing one keeps its own):
	 * about 40 rows a page instead of 10, a quarter of the WAL frames and
	 * their writes; the writer's CPU on big.pcap fell from 0.41-0.43 s to
	 * 0.36-0.38 s. */
	if (exec(st, "PRAGMA page_size=16384;", "setting the page size") < 0 ||
	    exec(st, "PRAGMA journal_mode=WAL;", "enabling WAL") < 0 ||
	    exec(st, "PRAGMA synchronous=NORMAL;", "setting synchronous") < 0 ||
	    exec(st, "PRAGMA journal_size_limit=67108864;", "limiting the WAL") < 0 ||
	    exec(st, "PRAGMA foreign_keys=ON;", "enabling foreign keys") < 0)
		return -1;
	return 0;
}

/* SQLite counts every allocation under a global mutex unless told not to;
 * nothing here reads those counts. Must precede SQLite's initialisation,
 * and fails harmlessly (SQLITE_MISUSE) once something opened a database. */
static void configure_library(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure_library);
	struct store *st = calloc(1, sizeof *st);
	int rc;
	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	snprintf(st->path, sizeof st->path, "%s", path);
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	rc = rc == SQLITE_OK ? 0 : fail(st, "cannot open");
	if (rc == 0)
		rc = configure(st);
	if (rc == 0)
		rc = check_schema(st);
	if (rc == 0)
		rc = prepare_insert(st);
	if (rc == 0)
		start_checkpointer(st); /* without it, SQLite checkpoints in COMMIT */
	if (rc == 0)
		rc = start_writer(st);
	if (rc < 0) {
		snprintf(err, errlen, "%s", st->err);
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

int store_close(struct store *st)
{
	int rc = 0;
	if (!st)
		return 0;
	stop_writer(st);
	if (st->db)
		rc = commit_now(st);
	stop_checkpointer(st); /* closing the last connection checkpoints the rest */
	sqlite3_finalize(st->insert);
	sqlite3_close(st->db);
	if (st->ring) {
		pthread_mutex_destroy(&st->lock);
		pthread_cond_destroy(&st->wake);
		pthread_cond_destroy(&st->idle);
	}
	free(st->ring);
	free(st);
	return rc;
}

const char *store_error(const struct store *st)
{
	return st->err;
}

/* ---- transactions -------------------------------------------------------- */

static int begin(struct store *st)
{
	if (st->in_tx)
		return 0;
	if (exec(st, "BEGIN;", "starting a transaction") < 0)
		return -1;
	st->in_tx = 1;
	st->pending = 0;
	st->tx_started = clock_seconds(CLOCK_REALTIME);
	return 0;
}

static int commit_now(struct store *st)
{
	if (!st->in_tx)
		return 0;
	st->in_tx = 0;
	if (exec(st, "COMMIT;", "committing") < 0) {
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int commit_due(const struct store *st, double now)
{
	return st->in_tx && now - st->tx_started >= STORE_BATCH_SECONDS;
}

static int tick_now(struct store *st, double now)
{
	return commit_due(st, now) ? commit_now(st) : 0;
}

/* ---- rows ---------------------------------------------------------------- */

/* What the binders return for a NULL, leaving the parameter alone: a
 * parameter keeps its value from row to row, so one that is NULL already
 * is not bound again. In a plaintext session most columns are NULL, and
 * binding was a third of the writer's instructions. */
#define BIND_NULL (-1)

static int bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (!t || !*t)
		return BIND_NULL;
	return sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

/* 1 for a post-quantum (hybrid) group, 0 for a classical one, NULL when
 * the group is unknown. */
static int bind_group_pq(sqlite3_stmt *s, int i, int group)
{
	int pq;
	if (group < 0 || !tls_group_name(group, &pq))
		return BIND_NULL;
	return sqlite3_bind_int(s, i, pq);
}

static int bind_column(sqlite3_stmt *s, int i, const struct column *c,
		       const struct session_record *r)
{
	const char *base = (const char *)r + c->off;
	int v;
	char anomalies[512];
	const struct cipher_info *ci;
	int tls_seen = r->client_hello > 0 || r->tls_version >= 0;
	int64_t t64;
	switch (c->kind) {
	case COL_TEXT: return bind_text_or_null(s, i, base); /* lives until the step */
	case COL_INT: memcpy(&v, base, sizeof v); return v < 0 ? BIND_NULL : sqlite3_bind_int(s, i, v);
	case COL_BOOL: memcpy(&v, base, sizeof v); return sqlite3_bind_int(s, i, v != 0);
	case COL_TLS_FLAG: memcpy(&v, base, sizeof v); return tls_seen && v >= 0 ? sqlite3_bind_int(s, i, v != 0) : BIND_NULL;
	case COL_UINT: return sqlite3_bind_int64(s, i, *(const unsigned *)(const void *)base);
	case COL_U16: return sqlite3_bind_int(s, i, *(const uint16_t *)(const void *)base);
	case COL_U64: return sqlite3_bind_int64(s, i, (sqlite3_int64)*(const uint64_t *)(const void *)base);
	case COL_REAL: return sqlite3_bind_double(s, i, *(const double *)(const void *)base);
	case COL_TRANSPORT: return sqlite3_bind_text(s, i, transport_name(r->transport), -1, SQLITE_STATIC);
	case COL_VERSION: memcpy(&v, base, sizeof v); return bind_text_or_null(s, i, v < 0 ? NULL : tls_version_name(v));
	case COL_CIPHER_NAME: ci = r->cipher_suite < 0 ? NULL : cipher_lookup((uint16_t)r->cipher_suite); return bind_text_or_null(s, i, ci ? ci->name : NULL);
	case COL_GROUP_NAME: memcpy(&v, base, sizeof v); return bind_text_or_null(s, i, v < 0 ? NULL : tls_group_name(v, NULL));
	case COL_END_REASON: return sqlite3_bind_text(s, i, end_reason_name(r->end_reason), -1, SQLITE_STATIC);
	case COL_ANOMALIES: anomalies_format(r->anomalies, anomalies, sizeof anomalies); return anomalies[0] ? sqlite3_bind_text(s, i, anomalies, -1, SQLITE_TRANSIENT) : BIND_NULL;
	case COL_ALERT_NAME: memcpy(&v, base, sizeof v); return bind_text_or_null(s, i, v < 0 ? NULL : tls_alert_name(v & 0xff));
	case COL_DIR: memcpy(&v, base, sizeof v); return bind_text_or_null(s, i, v < 0 ? NULL : v == DIR_C2S ? "client" : "server");
	case COL_OUTCOME: return bind_text_or_null(s, i, tls_outcome_name(r->tls_outcome));
	case COL_GROUP_PQ: memcpy(&v, base, sizeof v); return bind_group_pq(s, i, v);
	case COL_CERT_TIME: memcpy(&t64, base, sizeof t64); return r->cert.present ? sqlite3_bind_int64(s, i, t64) : BIND_NULL;
	}
	return SQLITE_MISUSE;
}

static int insert_row(struct store *st, const struct session_record *r)
{
	sqlite3_stmt *s = st->insert;
	int rc = begin(st);
	if (rc < 0)
		return -1;
	rc = sqlite3_bind_int64(s, 1, st->run_id);
	for (size_t i = 0; i < NCOLUMNS && rc == SQLITE_OK; i++) {
		int null = 0;
		rc = bind_column(s, (int)i + 2, &columns[i], r);
		if (rc == BIND_NULL) {
			null = 1;
			rc = st->null_bound[i] ? SQLITE_OK : sqlite3_bind_null(s, (int)i + 2);
		}
		st->null_bound[i] = null && rc == SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_reset(s); /* every parameter is bound again for the next row */
	if (rc != SQLITE_OK)
		return fail(st, "writing a session");
	if (++st->pending >= STORE_BATCH_ROWS)
		return commit_now(st);
	return 0;
}

/* ---- the checkpointer thread ------------------------------------------------ */

/* Copying the WAL back into the database file and syncing it takes 25-50
 * ms per 4 MB on the benchmark machine. Inside COMMIT (SQLite's automatic
 * checkpoint) the writer stalls that long, the queue (1024 rows, about 10
 * ms of input at full speed) fills, and capture waits behind the disk. A
 * thread with its own connection checkpoints instead, PASSIVE, while the
 * writer goes on appending to the WAL. */
/* in WAL pages: 4 MiB and 64 MiB with this store's 16 KiB pages */
#define CKPT_FRAMES 256        /* pages that call for a checkpoint */
#define CKPT_FRAMES_MAX 4096   /* the writer restarts the WAL itself */

struct checkpointer {
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int due, stop;
};

static void *checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;
	thread_name("smtptls-ckpt");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->due && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		c->due = 0;
		pthread_mutex_unlock(&c->lock);
		/* a failure (busy) is retried at the next call for it */
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Called by SQLite after each commit with the WAL's length in pages. The
 * WAL starts over from its beginning only when a write transaction begins
 * with every page of it copied back, which a writer that never pauses
 * does not meet: at CKPT_FRAMES_MAX the writer makes it so (RESTART, which
 * also waits for readers of the old pages, within the busy timeout), and
 * journal_size_limit gives the file's space back. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;
	if (frames >= CKPT_FRAMES_MAX)
		sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	else if (frames >= CKPT_FRAMES) {
		pthread_mutex_lock(&c->lock);
		c->due = 1;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
	}
	return SQLITE_OK;
}

static void free_checkpointer(struct checkpointer *c)
{
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c);
}

/* Returns 0 with the thread running, or -1 and SQLite keeps checkpointing
 * by itself (slower, not wrong). */
static int start_checkpointer(struct store *st)
{
	struct checkpointer *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	/* a connection finds the WAL when it first reads the database */
	if (sqlite3_open_v2(st->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA schema_version;", NULL, NULL, NULL) != SQLITE_OK ||
	    pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
		free_checkpointer(c);
		return -1;
	}
	st->ckpt = c;
	sqlite3_wal_hook(st->db, on_wal_commit, c); /* replaces the automatic one */
	return 0;
}

static void stop_checkpointer(struct store *st)
{
	struct checkpointer *c = st->ckpt;
	if (!c)
		return;
	sqlite3_wal_autocheckpoint(st->db, 1000); /* the hook goes with the thread */
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	free_checkpointer(c);
	st->ckpt = NULL;
}

/* ---- the writer thread ------------------------------------------------------ */

static int write_batch(struct store *st, const struct session_record *batch, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (insert_row(st, &batch[i]) < 0)
			return -1;
	return tick_now(st, clock_seconds(CLOCK_REALTIME));
}

/* How many queued records from the head can be written in place: a
 * contiguous run of the ring, at most BATCH_MAX. Called locked. Those slots
 * stay counted until released, so the producer never writes over them. */
static size_t batch_size(const struct store *st)
{
	size_t n = st->count < BATCH_MAX ? st->count : BATCH_MAX;
	return st->head + n > RING_CAP ? RING_CAP - st->head : n;
}

static void wait_for_work(struct store *st)
{
	cond_wait_ms(&st->wake, &st->lock, 100);
}

/* Writes the n queued rows from the head, or with n 0 commits, with the
 * lock released: the disk may wait, and store_add() must not wait with it.
 * busy keeps every other user off the connection meanwhile. Called and
 * returns locked. */
static void write_unlocked(struct store *st, size_t n)
{
	const struct session_record *batch = &st->ring[st->head];
	st->busy = 1;
	pthread_mutex_unlock(&st->lock);
	int rc = st->failed ? -1 : n ? write_batch(st, batch, n) : commit_now(st);
	pthread_mutex_lock(&st->lock);
	st->busy = 0;
	st->failed |= rc < 0;
}

static void *writer_main(void *arg)
{
	struct store *st = arg;
	thread_name("smtptls-writer");
	pthread_mutex_lock(&st->lock);
	while (!st->stop || st->count > 0) {
		size_t n = batch_size(st);
		if (n == 0) {
			if (!st->failed && commit_due(st, clock_seconds(CLOCK_REALTIME))) {
				write_unlocked(st, 0);
				continue; /* rows may have come meanwhile */
			}
			pthread_cond_broadcast(&st->idle);
			if (!st->stop)
				wait_for_work(st);
			continue;
		}
		write_unlocked(st, n);
		st->head = (st->head + n) % RING_CAP; /* release the slots */
		st->count -= n;
		pthread_cond_broadcast(&st->idle);
	}
	pthread_cond_broadcast(&st->idle);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

static int start_writer(struct store *st)
{
	st->ring = malloc(RING_CAP * sizeof *st->ring);
	if (!st->ring)
		return fail(st, "allocating the write queue");
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	pthread_cond_init(&st->idle, NULL);
	if (pthread_create(&st->writer, NULL, writer_main, st) != 0)
		return fail(st, "starting the writer thread");
	st->writer_running = 1;
	return 0;
}

static void stop_writer(struct store *st)
{
	if (!st->writer_running)
		return;
	pthread_mutex_lock(&st->lock);
	st->stop = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
	pthread_join(st->writer, NULL);
	st->writer_running = 0;
}

/* Waits until every queued record is written; returns locked. */
static void lock_idle(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	while (st->writer_running && (st->count > 0 || st->busy)) {
		pthread_cond_signal(&st->wake);
		pthread_cond_wait(&st->idle, &st->lock);
	}
}

int store_add(struct store *st, const struct session_record *r)
{
	pthread_mutex_lock(&st->lock);
	while (st->count == RING_CAP && !st->failed)
		pthread_cond_wait(&st->idle, &st->lock);
	int failed = st->failed;
	if (!failed) {
		st->ring[(st->head + st->count) % RING_CAP] = *r;
		if (++st->count == BATCH_MAX) /* stragglers: the writer's 100 ms wake-up */
			pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
	return failed ? -1 : 0;
}

int store_commit(struct store *st)
{
	lock_idle(st);
	int rc = st->failed ? -1 : commit_now(st);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_tick(struct store *st, double now)
{
	(void)now; /* the writer commits on time by itself */
	pthread_mutex_lock(&st->lock);
	int rc = st->failed ? -1 : 0;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- runs ----------------------------------------------------------------- */

static int begin_run_now(struct store *st, const struct run_info *ri)
{
	sqlite3_stmt *s;
	const char *vals[] = {ri->source, ri->source_kind, ri->filter, ri->ports};
	if (commit_now(st) < 0 ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO runs (source, source_kind, filter, ports, started,"
			       " version) VALUES (?, ?, ?, ?, ?, ?);",
			       -1, &s, NULL) != SQLITE_OK)
		return fail(st, "recording the run");
	for (int i = 0; i < 4; i++)
		bind_text_or_null(s, i + 1, vals[i]);
	sqlite3_bind_double(s, 5, ri->started);
	sqlite3_bind_text(s, 6, ri->version, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return fail(st, "recording the run");
	st->run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static void bind_count(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v == UINT64_MAX)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static int end_run_now(struct store *st, const struct run_totals *t)
{
	sqlite3_stmt *s;
	const uint64_t vals[] = {t->packets, t->bytes, t->dropped_kernel, t->dropped_iface,
				 t->flows, t->flows_evicted, t->flows_timed_out,
				 t->flows_without_payload, t->sessions, t->decode_errors,
				 t->truncated_packets, t->non_tcp_packets, t->fragments,
				 t->reasm_overflows, t->peak_flows, t->peak_buffered};
	int n = (int)(sizeof vals / sizeof vals[0]);
	if (commit_now(st) < 0 ||
	    sqlite3_prepare_v2(st->db, runs_update, -1, &s, NULL) != SQLITE_OK)
		return fail(st, "finishing the run");
	sqlite3_bind_double(s, 1, t->ended);
	for (int i = 0; i < n; i++)
		bind_count(s, i + 2, vals[i]);
	sqlite3_bind_int64(s, n + 2, st->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(st, "finishing the run");
}

int store_begin_run(struct store *st, const struct run_info *ri)
{
	lock_idle(st);
	int rc = st->failed ? -1 : begin_run_now(st, ri);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_end_run(struct store *st, const struct run_totals *t)
{
	lock_idle(st);
	int rc = st->failed ? -1 : end_run_now(st, t);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- the threads' CPU time ------------------------------------------------- */

static double thread_cpu(pthread_t t)
{
	clockid_t id;
	return pthread_getcpuclockid(t, &id) == 0 ? clock_seconds(id) : 0;
}

void store_thread_cpu(const struct store *st, double *writer, double *checkpointer)
{
	*writer = st->writer_running ? thread_cpu(st->writer) : 0;
	*checkpointer = st->ckpt ? thread_cpu(st->ckpt->thread) : 0;
}
