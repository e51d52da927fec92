#define _POSIX_C_SOURCE 200809L
#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/counter.h"
#include "../common/wait.h"
#include "spool.h"
#include "store.h"

/* How a column's value comes out of a session_record: codes as they are,
 * -1 as NULL. No name is looked up here: the database's lookup tables and
 * the sessions view hold them. */
enum col_kind {
	COL_TEXT,     /* char array; empty is NULL */
	COL_INT,      /* int; -1 is NULL */
	COL_CODE,     /* an enum code, always present */
	COL_OUTCOME,  /* enum tls_outcome; OUTCOME_NONE is NULL */
	COL_TLS_FLAG, /* int 0/1; NULL for -1 and when no TLS hello was seen */
	COL_U16,
	COL_U32,
	COL_U64,
	COL_REAL,
	COL_CERT,     /* the certificate's SHA-256, NULL without one */
};

struct column {
	const char *name;
	enum col_kind kind;
	size_t off;
};

#define C(name, kind, field) {name, kind, offsetof(struct session_record, field)}

/* The columns of session_rows (store/schema.sql) that a record fills. */
static const struct column columns[] = {
	C("client_ip", COL_TEXT, client_ip),
	C("client_port", COL_U16, client_port),
	C("server_ip", COL_TEXT, server_ip),
	C("server_port", COL_U16, server_port),
	C("ts_start", COL_REAL, ts_start),
	C("ts_end", COL_REAL, ts_end),
	C("transport", COL_CODE, transport),
	C("starttls_offered", COL_INT, starttls_offered),
	C("starttls_sent", COL_INT, starttls_sent),
	C("starttls_reply", COL_INT, starttls_reply),
	C("tls_version", COL_INT, tls_version),
	C("cipher_suite", COL_INT, cipher_suite),
	C("kx_group", COL_INT, kx_group),
	C("sni", COL_TEXT, sni),
	C("alpn", COL_TEXT, alpn),
	C("alpn_offered", COL_TEXT, alpn_offered),
	C("client_hello", COL_INT, client_hello),
	C("client_max_version", COL_INT, client_version_max),
	C("hello_retry", COL_TLS_FLAG, hello_retry),
	C("resumed", COL_TLS_FLAG, resumed),
	C("tls_established", COL_TLS_FLAG, tls_established),
	C("tls_alert", COL_INT, tls_alert),
	C("tls_alert_from", COL_INT, tls_alert_from),
	C("tls_outcome", COL_OUTCOME, tls_outcome),
	C("plaintext_transactions", COL_INT, plaintext_transactions),
	C("plaintext_rcpts", COL_INT, plaintext_rcpts),
	C("cleartext_auth", COL_INT, cleartext_auth),
	C("auth_mechanism", COL_TEXT, auth_mechanism),
	C("server_name", COL_TEXT, server_name),
	C("ehlo_name", COL_TEXT, ehlo_name),
	C("ehlo_keywords", COL_TEXT, ehlo_keywords),
	C("packets", COL_U64, packets),
	C("bytes_c2s", COL_U64, bytes_c2s),
	C("bytes_s2c", COL_U64, bytes_s2c),
	C("end_reason", COL_CODE, end_reason),
	C("anomalies", COL_U32, anomalies),
	C("kx_dh_bits", COL_INT, kx_dh_bits),
	C("forward_secrecy", COL_INT, forward_secrecy),
	C("aead", COL_INT, aead),
	C("weak_cipher", COL_INT, weak_cipher),
	C("sslv2_hello", COL_TLS_FLAG, sslv2_hello),
	C("client_offered_tls13", COL_INT, client_offered_tls13),
	C("client_suites", COL_INT, client_suites),
	C("client_offered_weak", COL_INT, client_offered_weak),
	C("server_chose_weak", COL_INT, server_chose_weak),
	C("server_declined_fs", COL_INT, server_declined_fs),
	C("ja3", COL_TEXT, ja3),
	C("ja3s", COL_TEXT, ja3s),
	C("ja4", COL_TEXT, ja4),
	C("cert_sha256", COL_CERT, cert.sha256),
	C("cert_expired", COL_INT, cert.expired),
	C("cert_name_match", COL_INT, cert.name_match),
	C("mx_domain", COL_TEXT, mx_domain),
	C("mx_host", COL_TEXT, mx_host),
	C("domain_mta_sts", COL_INT, domain_mta_sts),
	C("domain_dane", COL_INT, domain_dane),
	C("domain_tlsrpt", COL_INT, domain_tlsrpt),
	C("sender_looked_up_mta_sts", COL_INT, sender_looked_up_mta_sts),
	C("sender_looked_up_tlsa", COL_INT, sender_looked_up_tlsa),
	C("sender_fetched_policy", COL_INT, sender_fetched_policy),
	C("tlsa_match", COL_INT, tlsa_match),
	C("policy_plaintext", COL_INT, policy_plaintext),
	C("tlsa_records", COL_TEXT, tlsa_records),
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static const char cert_insert[] =
	"INSERT INTO certificates (sha256, subject_cn, sans, issuer_cn, issuer_org, not_before,"
	" not_after, key_type, key_bits, sig_alg, self_signed)"
	" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING;";

#define BATCH_MAX 128 /* records the writer takes at once */
#define CERTS_KNOWN 1024 /* certificates remembered as written (direct-mapped) */
#define RETRY_MS 200 /* the database was locked by another program: the next try */

/* Rows wait in the ring (cap records); when it is full, in the spool file
 * beside the database, and once the spool holds rows every new one goes
 * after them, so that rows are written in the order they came. Nothing
 * here ever makes writer_add() wait for the database. */
struct writer {
	sqlite3 *db;
	sqlite3_stmt *insert, *cert;
	const char *path;
	char *err;
	size_t errlen;
	int64_t run_id;
	char sensor[64];      /* the run's, in every row; "" NULL */
	struct writer_fold fold;
	int in_tx;
	unsigned pending;
	double tx_started;
	writer_begin_fn before_begin;
	void *before_begin_arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* to the thread: rows queued, released, or stop */
	pthread_cond_t idle; /* from the thread: a batch done, or idle */
	pthread_cond_t room; /* from the thread: the queue half empty (wait_for_room) */
	int room_waiters;
	struct session_record *ring;
	size_t cap, head, count;
	struct spool *spool;  /* NULL: a full ring loses rows (counted) */
	int spooling;         /* the spool holds rows: new rows go after them */
	struct session_record *spool_buf; /* BATCH_MAX: rows read back, the thread's */
	int busy;             /* the thread is writing, the lock released */
	int held;             /* another thread uses the connection */
	int wait_when_full;   /* writer_add() waits for room rather than spooling */
	int stop, failed;
	int lost_noted;
	uint64_t run_rows;    /* rows written for run_id */
	/* written under the lock, read without it (metrics) */
	_Atomic uint64_t n_queued, n_queue_peak, n_spooled, n_spooled_total, n_lost, n_written,
		n_busy;
	uint8_t null_bound[NCOLUMNS]; /* the insert's parameter is NULL already */
	struct writer_value vals[NCOLUMNS]; /* the row being inserted */
	char certs[CERTS_KNOWN][65];  /* SHA-256 of certificates written, or "" */
};

static int fail(struct writer *w, const char *what)
{
	snprintf(w->err, w->errlen, "database '%s': %s: %s", w->path, what,
		 sqlite3_errmsg(w->db));
	return -1;
}

static int exec(struct writer *w, const char *sql, const char *what)
{
	return sqlite3_exec(w->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(w, what);
}

/* ---- transactions -------------------------------------------------------- */

/* BEGIN IMMEDIATE takes the write lock at once: 0, -1 (failed), or
 * WRITE_BUSY when another program holds it beyond the busy timeout (the
 * rows stay queued and the thread tries again). Before it, the
 * checkpointer may ask the writer to let a WAL that grew long start over
 * (ckpt.c). */
#define WRITE_BUSY 1
static int begin(struct writer *w)
{
	if (w->in_tx)
		return 0;
	if (w->before_begin)
		w->before_begin(w->before_begin_arg);
	int rc = sqlite3_exec(w->db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return WRITE_BUSY;
	if (rc != SQLITE_OK)
		return fail(w, "starting a transaction");
	w->in_tx = 1;
	w->pending = 0;
	w->tx_started = clock_seconds(CLOCK_REALTIME);
	return 0;
}

static int commit_now(struct writer *w)
{
	if (!w->in_tx)
		return 0;
	w->in_tx = 0;
	if ((w->fold.commit && w->fold.commit(w->fold.arg) < 0) ||
	    exec(w, "COMMIT;", "committing") < 0) {
		sqlite3_exec(w->db, "ROLLBACK;", NULL, NULL, NULL);
		memset(w->certs, 0, sizeof w->certs); /* they went with the transaction */
		return -1;
	}
	return 0;
}

static int commit_due(const struct writer *w, double now)
{
	return w->in_tx && now - w->tx_started >= STORE_BATCH_SECONDS;
}

/* ---- certificates ---------------------------------------------------------- */

static char *cert_slot(struct writer *w, const char *sha)
{
	unsigned h = 0;
	for (int i = 0; i < 8 && sha[i]; i++)
		h = h * 16 + (unsigned)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
	return w->certs[h % CERTS_KNOWN];
}

static void bind_text(sqlite3_stmt *s, int i, const char *t)
{
	if (t && *t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static void bind_int(sqlite3_stmt *s, int i, int v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int(s, i, v);
}

/* Writes the session's certificate unless it is known to be there. */
static int put_cert(struct writer *w, const struct rec_cert *c)
{
	char *slot = cert_slot(w, c->sha256);
	sqlite3_stmt *s = w->cert;
	const char *texts[] = {c->sha256, c->subject_cn, c->sans, c->issuer_cn, c->issuer_org};
	if (!strcmp(slot, c->sha256))
		return 0;
	for (int i = 0; i < 5; i++)
		bind_text(s, i + 1, texts[i]);
	sqlite3_bind_int64(s, 6, c->not_before);
	sqlite3_bind_int64(s, 7, c->not_after);
	bind_text(s, 8, c->key_type);
	bind_int(s, 9, c->key_bits);
	bind_text(s, 10, c->sig_alg);
	bind_int(s, 11, c->self_signed);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(w, "writing a certificate");
	memcpy(slot, c->sha256, sizeof c->sha256);
	return 0;
}

/* ---- rows ---------------------------------------------------------------- */

/* What the binders return for a NULL, leaving the parameter alone: a
 * parameter keeps its value from row to row, so one that is NULL already
 * is not bound again. In a plaintext session most columns are NULL, and
 * binding was a third of the writer's instructions. */
#define BIND_NULL (-1)

static int int_at(const struct session_record *r, size_t off)
{
	int v;
	memcpy(&v, (const char *)r + off, sizeof v);
	return v;
}

/* The column's value as stored: NULL for what the record does not know. */
static void column_value(const struct column *c, const struct session_record *r,
			 struct writer_value *out)
{
	const char *base = (const char *)r + c->off;
	int v = c->kind == COL_INT || c->kind == COL_TLS_FLAG ? int_at(r, c->off) : 0;
	int tls_seen = r->client_hello > 0 || r->tls_version >= 0;
	struct writer_value n = {WV_NULL, 0, 0, NULL}, *o = out;
	*o = n;
	switch (c->kind) {
	case COL_TEXT: if (*base) *o = (struct writer_value){WV_TEXT, 0, 0, base}; break;
	case COL_INT: if (v >= 0) o->type = WV_INT, o->i = v; break;
	case COL_CODE: o->type = WV_INT, o->i = int_at(r, c->off); break;
	case COL_OUTCOME:
		if (r->tls_outcome != OUTCOME_NONE) o->type = WV_INT, o->i = (int)r->tls_outcome;
		break;
	case COL_TLS_FLAG: if (tls_seen && v >= 0) o->type = WV_INT, o->i = v != 0; break;
	case COL_U16: o->type = WV_INT, o->i = *(const uint16_t *)(const void *)base; break;
	case COL_U32: o->type = WV_INT, o->i = *(const uint32_t *)(const void *)base; break;
	case COL_U64: o->type = WV_INT, o->i = (int64_t)*(const uint64_t *)(const void *)base; break;
	case COL_REAL: o->type = WV_REAL, o->r = *(const double *)(const void *)base; break;
	case COL_CERT: if (r->cert.present) *o = (struct writer_value){WV_TEXT, 0, 0, base}; break;
	}
}

size_t writer_columns(void)
{
	return NCOLUMNS;
}

const char *writer_column(size_t i)
{
	return i < NCOLUMNS ? columns[i].name : NULL;
}

static int bind_value(sqlite3_stmt *s, int i, const struct writer_value *v)
{
	switch (v->type) {
	case WV_INT: return sqlite3_bind_int64(s, i, v->i);
	case WV_REAL: return sqlite3_bind_double(s, i, v->r);
	case WV_TEXT: return sqlite3_bind_text(s, i, v->t, -1, SQLITE_STATIC);
	default: return BIND_NULL;
	}
}

static int bind_row(struct writer *w, const struct session_record *r)
{
	sqlite3_stmt *s = w->insert;
	int rc = sqlite3_bind_int64(s, 1, w->run_id);
	for (size_t i = 0; i < NCOLUMNS && rc == SQLITE_OK; i++) {
		int null = 0;
		column_value(&columns[i], r, &w->vals[i]);
		rc = bind_value(s, (int)i + 2, &w->vals[i]);
		if (rc == BIND_NULL) {
			null = 1;
			rc = w->null_bound[i] ? SQLITE_OK : sqlite3_bind_null(s, (int)i + 2);
		}
		w->null_bound[i] = null && rc == SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = w->sensor[0] ? sqlite3_bind_text(s, (int)NCOLUMNS + 2, w->sensor, -1, SQLITE_STATIC)
				  : sqlite3_bind_null(s, (int)NCOLUMNS + 2);
	return rc;
}

static int insert_row(struct writer *w, const struct session_record *r)
{
	if (r->cert.present && put_cert(w, &r->cert) < 0)
		return -1;
	int rc = bind_row(w, r);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(w->insert) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	sqlite3_reset(w->insert); /* the parameters stay bound for the next row */
	if (rc != SQLITE_OK)
		return fail(w, "writing a session");
	if (w->fold.row)
		w->fold.row(w->fold.arg, w->vals, sqlite3_last_insert_rowid(w->db));
	if (++w->pending >= STORE_BATCH_ROWS)
		return commit_now(w);
	return 0;
}

static int prepare(struct writer *w)
{
	char sql[4096];
	size_t used = (size_t)snprintf(sql, sizeof sql, "INSERT INTO session_rows (run_id");
	for (size_t i = 0; i < NCOLUMNS && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", %s", columns[i].name);
	if (used < sizeof sql)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", sensor) VALUES (?");
	for (size_t i = 0; i <= NCOLUMNS && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", ?");
	if (used + 3 > sizeof sql)
		return fail(w, "building the insert");
	snprintf(sql + used, sizeof sql - used, ");");
	if (sqlite3_prepare_v3(w->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &w->insert, NULL) ||
	    sqlite3_prepare_v3(w->db, cert_insert, -1, SQLITE_PREPARE_PERSISTENT, &w->cert, NULL))
		return fail(w, "preparing the insert");
	memset(w->null_bound, 1, sizeof w->null_bound); /* a new statement's are */
	return 0;
}

/* ---- the thread ------------------------------------------------------------- */

/* Inserts rows from batch until all n are in (0), a failure (-1) or the
 * database is locked by another program (WRITE_BUSY); *done says how many
 * went in: they are in the open transaction or committed. */
static int write_batch(struct writer *w, const struct session_record *batch, size_t n,
		       size_t *done)
{
	*done = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = begin(w);
		if (rc != 0)
			return rc;
		if (insert_row(w, &batch[i]) < 0)
			return -1;
		*done = i + 1;
	}
	return commit_due(w, clock_seconds(CLOCK_REALTIME)) ? commit_now(w) : 0;
}

/* Rows waiting: in the ring, or in the spool. Called locked. */
static int rows_waiting(const struct writer *w)
{
	return w->count > 0 || (w->spooling && spool_count(w->spool) > 0);
}

/* How many queued records from the head can be written in place: a
 * contiguous run of the ring, at most BATCH_MAX. Called locked. Those slots
 * stay counted until released, so the producer never writes over them. */
static size_t batch_size(const struct writer *w)
{
	size_t n = w->count < BATCH_MAX ? w->count : BATCH_MAX;
	return w->head + n > w->cap ? w->cap - w->head : n;
}

/* Writes n rows (or with n 0 commits) with the lock released: the disk
 * may wait, and writer_add() must not wait with it. busy keeps every
 * other user off the connection meanwhile. Called and returns locked;
 * returns the rows that went in, and whether the database was locked. */
static size_t write_unlocked(struct writer *w, const struct session_record *batch, size_t n,
			     int *locked)
{
	size_t done = 0;
	w->busy = 1;
	pthread_mutex_unlock(&w->lock);
	int rc = w->failed ? -1 : n ? write_batch(w, batch, n, &done) : commit_now(w);
	pthread_mutex_lock(&w->lock);
	w->busy = 0;
	*locked = rc == WRITE_BUSY;
	w->failed |= rc < 0;
	if (rc < 0)
		done = n; /* a failed writer drops what it was given: the run ends */
	counter_add(&w->n_written, rc < 0 ? 0 : done);
	w->run_rows += rc < 0 ? 0 : done;
	return done;
}

/* The oldest rows of the ring. Called locked; 1 if it wrote some. */
static int write_ring(struct writer *w, int *locked)
{
	size_t n = batch_size(w);
	if (n == 0)
		return 0;
	n = write_unlocked(w, &w->ring[w->head], n, locked);
	w->head = (w->head + n) % w->cap; /* release the slots */
	w->count -= n;
	counter_set(&w->n_queued, w->count);
	return 1;
}

/* With the ring empty, the oldest rows of the spool. Called locked; 1 if
 * there were some. Reading happens unlocked: producers only append. */
static int write_spool(struct writer *w, int *locked)
{
	uint64_t left = w->spooling ? spool_count(w->spool) : 0;
	if (left == 0) {
		w->spooling = 0; /* everything spooled is written: the ring again */
		return 0;
	}
	size_t n = left < BATCH_MAX ? (size_t)left : BATCH_MAX;
	uint64_t at = spool_head(w->spool);
	w->busy = 1;
	pthread_mutex_unlock(&w->lock);
	long got = spool_read(w->spool, at, w->spool_buf, n);
	pthread_mutex_lock(&w->lock);
	w->busy = 0;
	if (got < 0) {
		snprintf(w->err, w->errlen, "database '%s': reading back the spool '%s': %s",
			 w->path, spool_path(w->spool), strerror(errno));
		w->failed = 1;
	}
	n = write_unlocked(w, w->spool_buf, n, locked);
	spool_take(w->spool, n);
	counter_set(&w->n_spooled, spool_count(w->spool));
	return 1;
}

/* Nothing to write: commits when due, else waits for rows. Called locked. */
static void idle_step(struct writer *w)
{
	int locked;
	if (!w->failed && commit_due(w, clock_seconds(CLOCK_REALTIME))) {
		write_unlocked(w, NULL, 0, &locked);
		return; /* rows may have come meanwhile */
	}
	pthread_cond_broadcast(&w->idle);
	if (!w->stop)
		cond_wait_ms(&w->wake, &w->lock, 100);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	thread_name("smtptls-writer");
	pthread_mutex_lock(&w->lock);
	while (!w->stop || rows_waiting(w)) {
		int locked = 0;
		if (w->held) {
			pthread_cond_broadcast(&w->idle);
			cond_wait_ms(&w->wake, &w->lock, 100);
			continue;
		}
		if (!write_ring(w, &locked) && !write_spool(w, &locked)) {
			idle_step(w);
			continue;
		}
		pthread_cond_broadcast(&w->idle);
		if (w->room_waiters && (w->count <= w->cap / 2 || w->failed))
			pthread_cond_broadcast(&w->room);
		if (locked) { /* another program holds the write lock: try again soon */
			counter_add(&w->n_busy, 1);
			cond_wait_ms(&w->wake, &w->lock, RETRY_MS);
		}
	}
	pthread_cond_broadcast(&w->idle);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void free_writer(struct writer *w)
{
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->cert);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->room);
	spool_free(w->spool);
	free(w->spool_buf);
	free(w->ring);
	free(w);
}

static int alloc_queue(struct writer *w, const struct writer_opts *o)
{
	char spool[560];
	w->cap = o->queue_rows	       ? o->queue_rows
		 : o->wait_when_full ? WRITER_QUEUE_WAITING
				     : WRITER_QUEUE_DEFAULT;
	w->ring = malloc(w->cap * sizeof *w->ring);
	w->spool_buf = malloc(BATCH_MAX * sizeof *w->spool_buf);
	w->wait_when_full = o->wait_when_full;
	snprintf(spool, sizeof spool, "%s-spool", w->path);
	if (o->spool_bytes)
		w->spool = spool_new(spool, sizeof(struct session_record), o->spool_bytes);
	if (w->spool && spool_leftover(w->spool))
		fprintf(stderr, "smtptls: database '%s': the spool held rows an earlier capture"
			" never wrote (it was killed): kept as '%s'\n", w->path,
			spool_leftover(w->spool));
	return w->ring && w->spool_buf && (w->spool || !o->spool_bytes) ? 0 : -1;
}

struct writer *writer_start(sqlite3 *db, const char *path, const struct writer_opts *o,
			    char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return NULL;
	}
	*w = (struct writer){.db = db, .path = path, .err = err, .errlen = errlen};
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->idle, NULL);
	pthread_cond_init(&w->room, NULL);
	if (alloc_queue(w, o) < 0) {
		snprintf(err, errlen, "database '%s': allocating the write queue (%zu rows)", path,
			 w->cap);
	} else if (prepare(w) == 0) {
		if (pthread_create(&w->thread, NULL, writer_main, w) == 0)
			return w;
		snprintf(err, errlen, "database '%s': starting the writer thread", path);
	}
	free_writer(w);
	return NULL;
}

int writer_stop(struct writer *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	int rc = commit_now(w);
	rc |= w->failed ? -1 : 0;
	free_writer(w);
	return rc;
}

/* ---- the other threads ------------------------------------------------------- */

/* The ring is full, or the spool holds rows already: the row goes to the
 * spool, or if that cannot take it, it is lost and counted. Called locked. */
static void spill(struct writer *w, const struct session_record *r)
{
	if (w->spool && spool_put(w->spool, r) == 0) {
		w->spooling = 1;
		counter_add(&w->n_spooled_total, 1);
		counter_set(&w->n_spooled, spool_count(w->spool));
		return;
	}
	counter_add(&w->n_lost, 1);
	if (!w->lost_noted) {
		w->lost_noted = 1;
		fprintf(stderr, "smtptls: database '%s': the writer fell behind and the %s; rows are"
			" lost (counted as rows_lost)\\n", w->path,
			!w->spool ? "write queue is full (no spool)"
			: errno == ENOSPC ? "spool is full" : "spool cannot be written");
	}
}

/* A reader that can wait (a file) waits for room until the queue is half
 * empty, so that each wait is followed by half a queue of rows without
 * another: waking at every batch the writer took (128 rows) had cost two
 * context switches a batch, 4,600 in a two-worker run of big.pcap against
 * 1,100 with one. The 100 ms is a safety net only. Called locked. */
static void wait_for_room(struct writer *w)
{
	w->room_waiters++;
	while (!w->failed && !w->spooling && !w->stop && w->count > w->cap / 2)
		cond_wait_ms(&w->room, &w->lock, 100);
	w->room_waiters--;
}

int writer_add(struct writer *w, const struct session_record *r)
{
	pthread_mutex_lock(&w->lock);
	if (w->wait_when_full && w->count >= w->cap)
		wait_for_room(w);
	int failed = w->failed;
	if (!failed && !w->spooling && w->count < w->cap) {
		w->ring[(w->head + w->count) % w->cap] = *r;
		counter_set(&w->n_queued, ++w->count);
		if (w->count > atomic_load_explicit(&w->n_queue_peak, memory_order_relaxed))
			counter_set(&w->n_queue_peak, w->count);
		if (w->count == BATCH_MAX) /* stragglers: the thread's 100 ms wake-up */
			pthread_cond_signal(&w->wake);
	} else if (!failed) {
		spill(w, r);
	}
	pthread_mutex_unlock(&w->lock);
	return failed ? -1 : 0;
}

int writer_failed(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	int failed = w->failed;
	pthread_mutex_unlock(&w->lock);
	return failed ? -1 : 0;
}

int writer_hold(struct writer *w, int drain)
{
	pthread_mutex_lock(&w->lock);
	while (w->busy || w->held || (drain && rows_waiting(w) && !w->failed)) {
		pthread_cond_signal(&w->wake);
		pthread_cond_wait(&w->idle, &w->lock);
	}
	w->held = 1;
	int failed = w->failed;
	pthread_mutex_unlock(&w->lock);
	return failed ? -1 : 0;
}

void writer_release(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->held = 0;
	pthread_cond_signal(&w->wake);
	pthread_cond_broadcast(&w->idle); /* another thread may wait to hold it */
	pthread_mutex_unlock(&w->lock);
}

int writer_commit(struct writer *w)
{
	return commit_now(w);
}

void writer_set_run(struct writer *w, int64_t id, const char *sensor)
{
	snprintf(w->sensor, sizeof w->sensor, "%s", sensor ? sensor : "");
	w->run_id = id;
	w->run_rows = 0;
}

uint64_t writer_run_rows(const struct writer *w)
{
	return w->run_rows;
}

int writer_rebind(struct writer *w, sqlite3 *db)
{
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->cert);
	w->insert = w->cert = NULL;
	w->db = db;
	w->in_tx = 0;
	memset(w->certs, 0, sizeof w->certs); /* the new database has none of them */
	return db ? prepare(w) : 0;
}

void writer_fail(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->failed = 1;
	pthread_cond_broadcast(&w->idle);
	pthread_cond_broadcast(&w->room); /* a writer_add() waiting for room */
	pthread_mutex_unlock(&w->lock);
}

void writer_before_begin(struct writer *w, writer_begin_fn fn, void *arg)
{
	w->before_begin = fn;
	w->before_begin_arg = arg;
}

void writer_stats(const struct writer *w, struct writer_stats *s)
{
	s->queue_rows = atomic_load_explicit(&w->n_queued, memory_order_relaxed);
	s->queue_peak = atomic_load_explicit(&w->n_queue_peak, memory_order_relaxed);
	s->queue_cap = w->cap;
	s->spool_rows = atomic_load_explicit(&w->n_spooled, memory_order_relaxed);
	s->spooled_total = atomic_load_explicit(&w->n_spooled_total, memory_order_relaxed);
	s->lost = atomic_load_explicit(&w->n_lost, memory_order_relaxed);
	s->written = atomic_load_explicit(&w->n_written, memory_order_relaxed);
	s->busy_retries = atomic_load_explicit(&w->n_busy, memory_order_relaxed);
}

void writer_before_commit(struct writer *w, const struct writer_fold *f)
{
	w->fold = f ? *f : (struct writer_fold){NULL, NULL, NULL};
}

double writer_cpu(const struct writer *w)
{
	clockid_t id;
	return pthread_getcpuclockid(w->thread, &id) == 0 ? clock_seconds(id) : 0;
}
