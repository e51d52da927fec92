/* The session store on ClickHouse (chstore.h). */
#define _GNU_SOURCE
#include "chstore.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/wait.h"
#include "chschema.h"
#include "chttp.h"
#include "churl.h"
#include "owner.h"
#include "spool.h"

#define CH_QUEUE_DEFAULT 8192
#define CH_SPOOL_BATCH 2048   /* rows read back from the spool per insert */
#define CH_BACKOFF_FIRST 1.0  /* seconds before the first retry */
#define CH_BACKOFF_MAX 60.0
#define CH_NTABLES 3

struct chstore {
	struct ch_url url;
	struct chttp *http;       /* the thread's once it runs; the caller's before */
	struct chttp *qhttp;      /* the caller's queries while the thread runs */
	char err[2600];
	struct spool *spool;
	int spool_fd;             /* the lock on the spool: one process at a time */
	char spool_path[600];
	uint64_t writer_id, next_seq;
	int64_t run_id;
	char sensor[CH_SENSOR_MAX];
	struct ch_run run;        /* the run's row as last written */
	uint64_t ver;
	int ready;                /* database and tables made */
	char endpoints[CHURL_MAX_SHARDS + 1][280]; /* where tables go: "" the URL's */
	int nendpoints;
	/* the queue, under lock */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct ch_row *ring;
	size_t cap, head, count, batch_rows;
	double first_at;          /* when the oldest queued row came */
	int stop, busy, flush, refused, failed_attempt, last_try, failed_after_stop;
	double retry_at, backoff;
	uint64_t run_rows;
	struct ch_row *readback;  /* CH_SPOOL_BATCH rows from the spool, the thread's */
	struct tsv_buf text[CH_NTABLES];
	_Atomic uint64_t n_queued, n_peak, n_spool, n_spooled_total, n_lost, n_written, n_retries;
};

static double now_mono(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

static void set_count(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static void add_count(_Atomic uint64_t *c, uint64_t v)
{
	set_count(c, atomic_load_explicit(c, memory_order_relaxed) + v);
}

/* ---- HTTP --------------------------------------------------------------------- */

/* Runs sql on an endpoint ("" the URL's); on failure the message names the
 * URL (and the shard when it is another). */
static int run_sql(struct chstore *c, const char *endpoint, const char *sql, const char *body,
		   size_t len, struct tsv_buf *out)
{
	char why[700];
	const char *settings = body ? "insert_distributed_sync=1" : NULL;
	int rc = chttp_query(c->http, endpoint && *endpoint ? endpoint : NULL, sql, body, len,
			     settings, out, why, sizeof why);
	if (rc == CH_OK)
		return 0;
	snprintf(c->err, sizeof c->err, "database '%s'%s%s%s: %s", c->url.shown,
		 endpoint && *endpoint ? " (shard " : "", endpoint && *endpoint ? endpoint : "",
		 endpoint && *endpoint ? ")" : "", why);
	return rc;
}

/* ---- the tables ----------------------------------------------------------------- */

/* The shards' HTTP endpoints from system.clusters: the entry server for
 * the local one, the URL's shards= in order for the others (else their
 * address with the URL's port). */
static int find_shards(struct chstore *c)
{
	struct tsv_buf out = {0}, q = {0};
	tsv_puts(&q, "SELECT host_address, is_local FROM system.clusters WHERE cluster = ");
	tsv_puts(&q, "'");
	tsv_puts(&q, c->url.cluster); /* an identifier: no quote in it */
	tsv_puts(&q, "' ORDER BY shard_num, replica_num FORMAT TabSeparated");
	int rc = q.failed ? CH_REFUSED : run_sql(c, NULL, q.p, NULL, 0, &out);
	int other = 0;
	c->nendpoints = 0;
	for (char *line = out.p, *nl; rc == 0 && line && (nl = memchr(line, '\n', out.p + out.len - line));
	     line = nl + 1) {
		struct tsv_row r;
		if (tsv_split(line, (size_t)(nl - line), &r) < 0 || r.n != 2 ||
		    c->nendpoints == CHURL_MAX_SHARDS + 1) {
			rc = CH_GARBAGE;
			break;
		}
		char *ep = c->endpoints[c->nendpoints++];
		if (!strcmp(r.f[1], "1"))
			ep[0] = '\0';
		else if (other < c->url.nshards)
			memcpy(ep, c->url.shards[other++], sizeof c->endpoints[0]);
		else
			snprintf(ep, sizeof c->endpoints[0], "%s%s%s:%d", strchr(r.f[0], ':') ? "[" : "",
				 r.f[0], strchr(r.f[0], ':') ? "]" : "", c->url.port);
	}
	if (rc == 0 && c->nendpoints == 0) {
		snprintf(c->err, sizeof c->err, "database '%s': the server knows no cluster '%s'"
			 " (system.clusters; remote_servers in its configuration)", c->url.shown,
			 c->url.cluster);
		rc = CH_REFUSED;
	}
	tsv_buf_free(&out);
	tsv_buf_free(&q);
	return rc;
}

/* The database and tables on one server: local tables with suffix (and
 * the Distributed tables over them, on a cluster). */
static int make_tables(struct chstore *c, const char *endpoint, const char *suffix)
{
	struct tsv_buf q = {0};
	char name[160];
	size_t n;
	const struct ch_table *t = chschema_tables(&n);
	tsv_puts(&q, "CREATE DATABASE IF NOT EXISTS ");
	tsv_puts(&q, c->url.database);
	int rc = run_sql(c, endpoint, q.p, NULL, 0, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		snprintf(name, sizeof name, "%s%s", t[i].name, suffix);
		chschema_create(&q, c->url.database, &t[i], name);
		rc = run_sql(c, endpoint, q.p, NULL, 0, NULL);
		if (rc == 0 && *suffix) {
			tsv_buf_reset(&q);
			tsv_puts(&q, "CREATE TABLE IF NOT EXISTS ");
			tsv_puts(&q, c->url.database);
			tsv_puts(&q, ".");
			tsv_puts(&q, t[i].name);
			tsv_puts(&q, " AS ");
			tsv_puts(&q, c->url.database);
			tsv_puts(&q, ".");
			tsv_puts(&q, name);
			tsv_puts(&q, " ENGINE = Distributed(");
			tsv_puts(&q, c->url.cluster);
			tsv_puts(&q, ", ");
			tsv_puts(&q, c->url.database);
			tsv_puts(&q, ", ");
			tsv_puts(&q, name);
			tsv_puts(&q, ", ");
			tsv_puts(&q, t[i].shard_by);
			tsv_puts(&q, ")");
			rc = run_sql(c, endpoint, q.p, NULL, 0, NULL);
		}
	}
	tsv_buf_free(&q);
	return rc;
}

/* Every shard gets the local tables and the Distributed ones (reports may
 * go to any of them). */
static int setup(struct chstore *c)
{
	if (c->ready)
		return 0;
	int rc = 0;
	if (!c->url.cluster[0])
		rc = make_tables(c, NULL, "");
	else if ((rc = find_shards(c)) == 0)
		for (int i = 0; rc == 0 && i < c->nendpoints; i++)
			rc = make_tables(c, c->endpoints[i], "_local");
	c->ready = rc == 0;
	return rc;
}

/* ---- inserting -------------------------------------------------------------------- */

static int insert_table(struct chstore *c, size_t t, struct tsv_buf *rows)
{
	size_t n;
	const struct ch_table *tab = chschema_tables(&n);
	struct tsv_buf q = {0};
	if (rows->len == 0)
		return 0;
	tsv_puts(&q, "INSERT INTO ");
	tsv_puts(&q, c->url.database);
	tsv_puts(&q, ".");
	tsv_puts(&q, tab[t].name);
	tsv_puts(&q, " ");
	chschema_columns(&q, &tab[t]);
	tsv_puts(&q, " FORMAT TabSeparated");
	int rc = q.failed || rows->failed ? CH_REFUSED
		 : run_sql(c, NULL, q.p, rows->p, rows->len, NULL);
	if (rows->failed)
		snprintf(c->err, sizeof c->err, "database '%s': out of memory building an insert",
			 c->url.shown);
	tsv_buf_free(&q);
	return rc;
}

/* Sends n rows (from the ring at head, wrapping, or from buf): sessions,
 * then runs, then counters. CH_OK or the failure's kind. */
static int send_rows(struct chstore *c, const struct ch_row *base, size_t cap, size_t first,
		     size_t n)
{
	for (int t = 0; t < CH_NTABLES; t++)
		tsv_buf_reset(&c->text[t]);
	for (size_t i = 0; i < n; i++) {
		const struct ch_row *r = &base[(first + i) % cap];
		if (r->magic == CH_ROW_MAGIC && r->kind >= 1 && r->kind <= CH_NTABLES)
			chschema_put_row(&c->text[r->kind - 1], r);
	}
	int rc = setup(c);
	for (int t = 0; rc == 0 && t < CH_NTABLES; t++)
		rc = insert_table(c, (size_t)t, &c->text[t]);
	return rc;
}

/* After an attempt: the next try waits longer each time it fails. Locked. */
static void note_attempt(struct chstore *c, int rc)
{
	c->failed_after_stop |= c->last_try && rc != CH_OK;
	if (rc == CH_OK) {
		c->backoff = 0;
		c->retry_at = 0;
		if (c->failed_attempt)
			fprintf(stderr, "smtptls: database '%s': delivering again\n", c->url.shown);
		c->failed_attempt = 0;
		return;
	}
	if (!c->failed_attempt)
		fprintf(stderr, "smtptls: %s: rows go to the spool '%s' until it takes them\n",
			c->err, c->spool_path);
	c->failed_attempt = 1;
	c->refused |= rc != CH_UNREACHABLE;
	c->backoff = c->backoff ? fmin(c->backoff * 2, CH_BACKOFF_MAX) : CH_BACKOFF_FIRST;
	c->retry_at = now_mono() + c->backoff;
	add_count(&c->n_retries, 1);
}

/* A row the queue cannot keep goes to the spool, else it is lost. Locked. */
static void spill(struct chstore *c, const struct ch_row *r)
{
	if (c->spool && spool_put(c->spool, r) == 0) {
		add_count(&c->n_spooled_total, r->kind == CH_KIND_SESSION);
		set_count(&c->n_spool, spool_count(c->spool));
		return;
	}
	add_count(&c->n_lost, r->kind == CH_KIND_SESSION);
}

static uint64_t sessions_in(const struct ch_row *base, size_t cap, size_t first, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += base[(first + i) % cap].kind == CH_KIND_SESSION;
	return k;
}

/* The oldest n rows of the ring leave it: delivered (rc CH_OK) or spooled.
 * Locked. */
static void release_ring(struct chstore *c, size_t n, int rc)
{
	uint64_t k = sessions_in(c->ring, c->cap, c->head, n);
	if (rc == CH_OK)
		add_count(&c->n_written, k);
	for (size_t i = 0; rc != CH_OK && i < n; i++)
		spill(c, &c->ring[(c->head + i) % c->cap]);
	c->head = (c->head + n) % c->cap;
	c->count -= n;
	c->first_at = now_mono();
	set_count(&c->n_queued, c->count);
}

/* Sends the oldest rows of the ring with the lock released: the slots stay
 * counted, so the producer never writes over them. Locked. */
static void deliver_ring(struct chstore *c)
{
	size_t n = c->count < c->batch_rows ? c->count : c->batch_rows;
	c->busy = 1;
	pthread_mutex_unlock(&c->lock);
	int rc = send_rows(c, c->ring, c->cap, c->head, n);
	pthread_mutex_lock(&c->lock);
	c->busy = 0;
	note_attempt(c, rc);
	release_ring(c, n, rc);
}

/* Sends the oldest rows of the spool; taken once ClickHouse has them.
 * Locked. */
static void deliver_spool(struct chstore *c)
{
	uint64_t left = spool_count(c->spool);
	size_t n = left < CH_SPOOL_BATCH ? (size_t)left : CH_SPOOL_BATCH;
	uint64_t at = spool_head(c->spool);
	c->busy = 1;
	pthread_mutex_unlock(&c->lock);
	long got = spool_read(c->spool, at, c->readback, n);
	int rc = got == (long)n ? send_rows(c, c->readback, n, 0, n) : CH_UNREACHABLE;
	if (got != (long)n)
		snprintf(c->err, sizeof c->err, "database '%s': reading back the spool '%s': %s",
			 c->url.shown, c->spool_path, strerror(errno));
	pthread_mutex_lock(&c->lock);
	c->busy = 0;
	note_attempt(c, rc);
	if (rc == CH_OK) {
		add_count(&c->n_written, sessions_in(c->readback, n, 0, n));
		spool_take(c->spool, n);
		set_count(&c->n_spool, spool_count(c->spool));
	}
}

/* ---- the thread ---------------------------------------------------------------------- */

static int spool_waiting(const struct chstore *c)
{
	return c->spool && spool_count(c->spool) > 0;
}

/* Rows are due when half the queue waits, the oldest waited a second, or
 * someone waits for them. Locked. */
static int ring_due(const struct chstore *c, double now)
{
	return c->count > 0 && (c->count >= c->batch_rows || now - c->first_at >= STORE_BATCH_SECONDS ||
				c->stop || c->flush);
}

/* One step of the thread; 0 when it has nothing left to do (stopping).
 * Locked. */
static int writer_step(struct chstore *c)
{
	double now = now_mono();
	if (c->stop && c->last_try && (c->failed_after_stop || (!c->count && !spool_waiting(c)))) {
		release_ring(c, c->count, CH_UNREACHABLE); /* the rest: to the spool */
		return 0;
	}
	if (c->stop)
		c->last_try = 1; /* one more attempt, then what is left stays spooled */
	int waiting = now < c->retry_at && !c->last_try;
	if (waiting) { /* ClickHouse failed just now: new rows wait in the spool */
		if (c->count)
			release_ring(c, c->count, CH_UNREACHABLE);
		pthread_cond_broadcast(&c->idle);
		cond_wait_ms(&c->wake, &c->lock, (long)((c->retry_at - now) * 1000) + 1);
	} else if (spool_waiting(c)) {
		deliver_spool(c);
	} else if (ring_due(c, now)) {
		deliver_ring(c);
	} else {
		c->flush = 0;
		pthread_cond_broadcast(&c->idle);
		if (c->stop)
			return 0;
		cond_wait_ms(&c->wake, &c->lock, 100);
	}
	pthread_cond_broadcast(&c->idle);
	return 1;
}

static void *writer_main(void *arg)
{
	struct chstore *c = arg;
	thread_name("smtptls-chwrite");
	pthread_mutex_lock(&c->lock);
	while (writer_step(c))
		;
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- opening ------------------------------------------------------------------------ */

static uint64_t random64(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) /* then time and pid */
		v = (uint64_t)(clock_seconds(CLOCK_REALTIME) * 1e6) ^ ((uint64_t)getpid() << 40);
	return v;
}

/* The spool, locked for this process: two processes delivering one spool
 * would send its rows twice at once. */
static int open_spool(struct chstore *c, const struct store_opts *o)
{
	if (o->spool_path)
		snprintf(c->spool_path, sizeof c->spool_path, "%s", o->spool_path);
	else
		snprintf(c->spool_path, sizeof c->spool_path, "smtptls-%s-%d-%s.spool",
			 c->url.host, c->url.port, c->url.database);
	char lock[640];
	snprintf(lock, sizeof lock, "%s.lock", c->spool_path);
	c->spool_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->spool_fd < 0 || flock(c->spool_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(c->err, sizeof c->err, "database '%s': the spool '%s' %s", c->url.shown,
			 c->spool_path, c->spool_fd < 0 ? strerror(errno)
			 : "is in use by another capture (give each its own with --spool)");
		return -1;
	}
	uint64_t max = o->spool_bytes ? o->spool_bytes : STORE_SPOOL_DEFAULT;
	c->spool = spool_resume(c->spool_path, sizeof(struct ch_row), max);
	if (c->spool && spool_leftover(c->spool))
		fprintf(stderr, "smtptls: database '%s': the spool '%s' was not written by this"
			" smtptls: kept as '%s'\n", c->url.shown, c->spool_path, spool_leftover(c->spool));
	set_count(&c->n_spool, c->spool ? spool_count(c->spool) : 0);
	return c->spool ? 0 : -1;
}

static int alloc_queue(struct chstore *c, const struct store_opts *o)
{
	c->cap = o->queue_rows ? o->queue_rows : CH_QUEUE_DEFAULT;
	c->batch_rows = c->cap / 2 ? c->cap / 2 : 1;
	c->ring = malloc(c->cap * sizeof *c->ring);
	c->readback = malloc(CH_SPOOL_BATCH * sizeof *c->readback);
	for (int t = 0; t < CH_NTABLES; t++)
		c->text[t].max = 1u << 30;
	if (c->ring && c->readback)
		return 0;
	snprintf(c->err, sizeof c->err, "database '%s': allocating the write queue (%zu rows)",
		 c->url.shown, c->cap);
	return -1;
}

/* The server answers, as ClickHouse, and lets this user make the tables:
 * 0; unreachable: 1 (a warning: rows are spooled); else -1. */
static int first_contact(struct chstore *c)
{
	int rc = run_sql(c, NULL, "SELECT 1", NULL, 0, NULL);
	if (rc == CH_OK)
		rc = setup(c);
	if (rc == CH_UNREACHABLE) {
		fprintf(stderr, "smtptls: warning: %s: rows go to the spool '%s' until it can be"
			" reached\n", c->err, c->spool_path);
		c->failed_attempt = 1;
		c->retry_at = now_mono() + CH_BACKOFF_FIRST;
		c->backoff = CH_BACKOFF_FIRST;
		return 1;
	}
	return rc == CH_OK ? 0 : -1;
}

/* What an earlier process left in the spool goes first, before anything is
 * read (a capture that checks its file against the runs sees them). */
static void deliver_leftovers(struct chstore *c)
{
	uint64_t before = spool_count(c->spool);
	pthread_mutex_lock(&c->lock);
	while (spool_waiting(c) && !c->failed_attempt)
		deliver_spool(c);
	pthread_mutex_unlock(&c->lock);
	uint64_t left = spool_count(c->spool);
	if (before > left)
		fprintf(stderr, "smtptls: database '%s': delivered %llu rows an earlier capture"
			" left in the spool '%s'%s\n", c->url.shown,
			(unsigned long long)(before - left), c->spool_path,
			left ? " (not all: the rest later)" : "");
}

static void free_store(struct chstore *c)
{
	spool_free(c->spool);
	if (c->spool_fd >= 0)
		close(c->spool_fd);
	chttp_free(c->http);
	chttp_free(c->qhttp);
	for (int t = 0; t < CH_NTABLES; t++)
		tsv_buf_free(&c->text[t]);
	free(c->ring);
	free(c->readback);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->idle);
	free(c);
}

int chstore_open(struct chstore **out, const char *url, const struct store_opts *o,
		 char *err, size_t errlen)
{
	struct chstore *c = calloc(1, sizeof *c);
	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "database: out of memory");
		return -1;
	}
	c->spool_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	int rc = churl_parse(url, &c->url, c->err, sizeof c->err);
	if (rc == 0 && (!(c->http = chttp_new(&c->url)) || !(c->qhttp = chttp_new(&c->url)))) {
		snprintf(c->err, sizeof c->err, "database '%s': cannot start libcurl", c->url.shown);
		rc = -1;
	}
	if (rc == 0) {
		chttp_set_database(c->http, "");
		chttp_set_database(c->qhttp, "");
	}
	if (rc == 0)
		rc = alloc_queue(c, o) < 0 || open_spool(c, o) < 0 || first_contact(c) < 0 ? -1 : 0;
	if (rc == 0) {
		c->writer_id = random64();
		deliver_leftovers(c);
		c->started = pthread_create(&c->thread, NULL, writer_main, c) == 0;
		if (!c->started)
			snprintf(c->err, sizeof c->err, "database '%s': starting the writer thread",
				 c->url.shown);
		rc = c->started ? 0 : -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", c->err);
		free_store(c);
		return -1;
	}
	*out = c;
	return 0;
}

int chstore_close(struct chstore *c, char *err, size_t errlen)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	uint64_t left = c->spool ? spool_count(c->spool) : 0;
	int rc = c->refused ? -1 : 0;
	if (left)
		fprintf(stderr, "smtptls: database '%s': %llu rows (%llu sessions spooled in all)"
			" could not be delivered: kept in the spool '%s'; the next capture into %s"
			" with this spool delivers them first\n", c->url.shown,
			(unsigned long long)left,
			(unsigned long long)atomic_load(&c->n_spooled_total), c->spool_path,
			c->url.shown);
	if (rc < 0)
		snprintf(err, errlen, "%s", c->err);
	free_store(c);
	return rc;
}

/* ---- rows ----------------------------------------------------------------------------- */

/* Queues a row (the ring, else the spool, else lost); never waits for
 * HTTP. Locked. */
static void queue_row(struct chstore *c, struct ch_row *r)
{
	r->magic = CH_ROW_MAGIC;
	r->run_id = c->run_id;
	snprintf(r->sensor, sizeof r->sensor, "%s", c->sensor);
	if (c->count < c->cap) {
		if (c->count == 0)
			c->first_at = now_mono();
		c->ring[(c->head + c->count) % c->cap] = *r;
		set_count(&c->n_queued, ++c->count);
		if (c->count > atomic_load_explicit(&c->n_peak, memory_order_relaxed))
			set_count(&c->n_peak, c->count);
		if (c->count == c->batch_rows)
			pthread_cond_signal(&c->wake);
	} else {
		spill(c, r);
	}
}

int chstore_add(struct chstore *c, const struct session_record *rec)
{
	struct ch_row r;
	r.kind = CH_KIND_SESSION;
	r.u.s = *rec;
	pthread_mutex_lock(&c->lock);
	r.writer = c->writer_id;
	r.seq = ++c->next_seq;
	c->run_rows++;
	queue_row(c, &r);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int chstore_failed(struct chstore *c)
{
	(void)c; /* rows ClickHouse does not take are spooled: never a reason to stop */
	return 0;
}

/* Waits until the rows queued so far were tried once (delivered or
 * spooled). */
int chstore_flush(struct chstore *c)
{
	pthread_mutex_lock(&c->lock);
	c->flush = 1;
	pthread_cond_signal(&c->wake);
	while ((c->count || c->busy) && !c->stop) {
		pthread_cond_signal(&c->wake);
		pthread_cond_wait(&c->idle, &c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- runs ------------------------------------------------------------------------------ */

static uint64_t next_ver(struct chstore *c)
{
	uint64_t v = (uint64_t)(clock_seconds(CLOCK_REALTIME) * 1e6);
	c->ver = v > c->ver ? v : c->ver + 1;
	return c->ver;
}

/* Queues the run's row as it is now. Locked. */
static void queue_run(struct chstore *c)
{
	struct ch_row r;
	memset(&r, 0, sizeof r);
	r.kind = CH_KIND_RUN;
	c->run.ver = next_ver(c);
	r.u.run = c->run;
	queue_row(c, &r);
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* The run of this sensor that read this file already, in what (a
 * sentence): 1; 0 if none; -1 when that cannot be told (unreachable). */
static int find_file(struct chstore *c, uint64_t size, const char *sha, char *what,
		     size_t whatlen)
{
	struct tsv_buf q = {0}, out = {0};
	char num[32];
	snprintf(num, sizeof num, "%llu", (unsigned long long)size);
	tsv_puts(&q, "SELECT id, source, toString(toDateTime(toUInt32(started))), ifNull(status, '')"
		 " FROM ");
	tsv_puts(&q, c->url.database);
	tsv_puts(&q, ".runs FINAL WHERE file_sha256 = '");
	tsv_puts(&q, sha); /* hex digits */
	tsv_puts(&q, "' AND file_size = ");
	tsv_puts(&q, num);
	tsv_puts(&q, " AND sensor = '");
	tsv_put_text(&q, c->sensor); /* escaped as in a quoted literal */
	tsv_puts(&q, "' ORDER BY started LIMIT 1 FORMAT TabSeparated");
	char why[700];
	int rc = q.failed ? -1 : chttp_query(c->qhttp, NULL, q.p, NULL, 0, NULL, &out, why,
					      sizeof why);
	if (rc != CH_OK && rc != CH_UNREACHABLE)
		fprintf(stderr, "smtptls: warning: database '%s': looking for the file's runs: %s\n",
			c->url.shown, why);
	struct tsv_row r;
	int found = 0;
	if (rc == 0 && out.len > 1 && out.p[out.len - 1] == '\n' &&
	    tsv_split(out.p, out.len - 1, &r) == 0 && r.n == 4) {
		snprintf(what, whatlen, "run %s (of '%s', sensor '%s', started %s UTC%s%s)", r.f[0],
			 r.f[1], c->sensor, r.f[2], *r.f[3] ? ", " : "", r.f[3]);
		found = 1;
	}
	tsv_buf_free(&q);
	tsv_buf_free(&out);
	return rc < 0 ? -1 : found;
}

int chstore_begin_run(struct chstore *c, const struct run_info *ri, uint64_t size,
		      const char *sha256, char *dup, size_t duplen)
{
	char owner[OWNER_MAX];
	pthread_mutex_lock(&c->lock);
	copy(c->sensor, sizeof c->sensor, ri->sensor);
	pthread_mutex_unlock(&c->lock);
	if (sha256 && dup) {
		int found = c->failed_attempt ? -1 : find_file(c, size, sha256, dup, duplen);
		if (found == 1)
			return 1;
		if (found < 0)
			fprintf(stderr, "smtptls: warning: database '%s' cannot say whether this file"
				" was captured before (not reached)\n", c->url.shown);
	}
	owner_self(owner, sizeof owner);
	pthread_mutex_lock(&c->lock);
	c->run_id = (int64_t)(random64() >> 1);
	c->run_rows = 0;
	memset(&c->run, 0, sizeof c->run);
	copy(c->run.source, sizeof c->run.source, ri->source);
	copy(c->run.source_kind, sizeof c->run.source_kind, ri->source_kind);
	copy(c->run.filter, sizeof c->run.filter, ri->filter);
	copy(c->run.ports, sizeof c->run.ports, ri->ports);
	copy(c->run.version, sizeof c->run.version, ri->version);
	copy(c->run.status, sizeof c->run.status, "running");
	copy(c->run.owner, sizeof c->run.owner, owner);
	c->run.started = ri->started;
	c->run.ended = -1;
	memset(c->run.values, 0xff, sizeof c->run.values);
	c->run.has_file = sha256 != NULL;
	c->run.file_size = size;
	copy(c->run.file_sha256, sizeof c->run.file_sha256, sha256);
	queue_run(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int chstore_update_run(struct chstore *c, const struct run_totals *t, const char *status)
{
	const uint64_t vals[CH_RUN_VALUES] = {
		t->packets, t->bytes, t->dropped_kernel, t->dropped_iface, t->flows,
		t->flows_evicted, t->flows_timed_out, t->flows_without_payload, 0,
		t->decode_errors, t->truncated_packets, t->non_tcp_packets, t->fragments,
		t->reasm_overflows, t->peak_flows, t->peak_buffered};
	pthread_mutex_lock(&c->lock);
	if (!c->run_id) {
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	memcpy(c->run.values, vals, sizeof vals);
	c->run.values[8] = c->run_rows;
	if (status) {
		copy(c->run.status, sizeof c->run.status, status);
		c->run.ended = t->ended;
	}
	queue_run(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int chstore_run_counters(struct chstore *c, const struct run_counter *cnt, size_t n)
{
	struct ch_row r;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n && c->run_id; i += CH_COUNTERS_PER_ROW) {
		memset(&r, 0, sizeof r);
		r.kind = CH_KIND_COUNTERS;
		r.u.counters.ver = next_ver(c);
		for (size_t j = i; j < n && j < i + CH_COUNTERS_PER_ROW; j++) {
			struct ch_counters *k = &r.u.counters;
			copy(k->c[k->n].name, sizeof k->c[0].name, cnt[j].name);
			k->c[k->n++].value = cnt[j].value;
		}
		queue_row(c, &r);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- counters --------------------------------------------------------------------------- */

void chstore_stats(struct chstore *c, struct store_stats *s)
{
	memset(s, 0, sizeof *s);
	s->queue_rows = atomic_load_explicit(&c->n_queued, memory_order_relaxed);
	s->queue_peak = atomic_load_explicit(&c->n_peak, memory_order_relaxed);
	s->queue_cap = c->cap;
	s->spool_rows = atomic_load_explicit(&c->n_spool, memory_order_relaxed);
	s->spooled_total = atomic_load_explicit(&c->n_spooled_total, memory_order_relaxed);
	s->rows_lost = atomic_load_explicit(&c->n_lost, memory_order_relaxed);
	s->rows_written = atomic_load_explicit(&c->n_written, memory_order_relaxed);
	s->busy_retries = atomic_load_explicit(&c->n_retries, memory_order_relaxed);
}

double chstore_cpu(const struct chstore *c)
{
	clockid_t id;
	return c->started && pthread_getcpuclockid(c->thread, &id) == 0 ? clock_seconds(id) : 0;
}

const char *chstore_error(const struct chstore *c)
{
	return c->err;
}
