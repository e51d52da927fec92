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
#include "../common/counter.h"
#include "../common/wait.h"
#include "chbatch.h"
#include "chddl.h"
#include "chschema.h"
#include "chttp.h"
#include "chruns.h"
#include "churl.h"
#include "owner.h"
#include "spool.h"

#define CH_QUEUE_DEFAULT 8192
#define CH_BATCH_ROWS 200000        /* rows per insert at most */
#define CH_BATCH_BYTES (96u << 20)  /* text per insert at most */
#define CH_SPOOL_CHUNKS 128         /* chunks (64 KiB) read back per insert */
#define CH_BACKOFF_FIRST 1.0        /* seconds before the first retry */
#define CH_BACKOFF_MAX 60.0

/* Two threads: the encoder takes rows from the queue as they come and
 * writes them into a batch as text; the sender inserts batches (and,
 * when none waits, what the spool holds). While the sender waits for
 * ClickHouse the encoder goes on, so the queue only has to hold what the
 * encoder has not read yet. A batch the sender cannot take (it is still
 * busy with the last one, or ClickHouse failed just now and the next try
 * is later) grows, up to CH_BATCH_BYTES, or goes to the spool. */
struct chstore {
	struct ch_url url;
	struct chttp *http;       /* the sender's once it runs; the caller's before */
	struct chttp *qhttp;      /* the caller's queries while the threads run */
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
	pthread_mutex_t lock;     /* everything below */
	pthread_cond_t wake;      /* to the threads */
	pthread_cond_t idle;      /* from them */
	pthread_t encoder, sender;
	int threads;              /* started */
	struct ch_row *ring;
	size_t cap, head, count;
	int encoding;             /* the encoder reads slots with the lock released */
	struct ch_batch batch[3]; /* the encoder's, the one handed over, the sender's */
	struct ch_batch *cur, *handed, *work;
	struct ch_batch over;     /* rows the full queue could not take, encoded by their producer */
	int handed_full, sending, enc_done;
	int stop, flush, refused, failed_attempt, last_try, failed_after_stop;
	double retry_at, backoff;
	uint64_t run_rows;
	struct ch_chunk *chunks;  /* CH_SPOOL_CHUNKS read back, the sender's */
	_Atomic uint64_t n_queued, n_peak, n_spool, n_spooled_total, n_lost, n_written, n_retries;
};

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

/* Sessions, then runs, then counters. CH_OK or the failure's kind. */
static int setup(struct chstore *c)
{
	if (c->ready)
		return 0;
	int rc = chddl_setup(c->http, &c->url, c->err, sizeof c->err);
	c->ready = rc == 0;
	return rc;
}

static int send_batch(struct chstore *c, struct ch_batch *b)
{
	int rc = setup(c);
	for (int t = 0; rc == 0 && t < CH_NTABLES; t++)
		rc = insert_table(c, (size_t)t, &b->text[t]);
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
	c->retry_at = clock_seconds(CLOCK_MONOTONIC) + c->backoff;
	counter_add(&c->n_retries, 1);
}

/* A batch ClickHouse did not take goes to the spool. Locked. */
static void spool_batch(struct chstore *c, struct ch_batch *b)
{
	uint64_t lost = 0, put = c->spool ? chbatch_spool(b, c->spool, &lost) : 0;
	if (!c->spool)
		lost = b->sessions;
	counter_add(&c->n_spooled_total, put);
	counter_add(&c->n_spool, put);
	counter_add(&c->n_lost, lost);
	chbatch_reset(b);
}

static int spool_waiting(const struct chstore *c)
{
	return c->spool && spool_count(c->spool) > 0;
}

/* Sends the sender's batch with the lock released. Locked. */
static void deliver_work(struct chstore *c)
{
	c->sending = 1;
	pthread_mutex_unlock(&c->lock);
	int rc = send_batch(c, c->work);
	pthread_mutex_lock(&c->lock);
	c->sending = 0;
	note_attempt(c, rc);
	if (rc == CH_OK) {
		counter_add(&c->n_written, c->work->sessions);
		chbatch_reset(c->work);
	} else {
		spool_batch(c, c->work);
	}
}

/* Sends the oldest chunks of the spool; taken once ClickHouse has them.
 * Locked. */
static void deliver_spool(struct chstore *c)
{
	uint64_t left = spool_count(c->spool);
	size_t n = left < CH_SPOOL_CHUNKS ? (size_t)left : CH_SPOOL_CHUNKS;
	c->sending = 1;
	pthread_mutex_unlock(&c->lock);
	long got = chbatch_unspool(c->work, c->spool, c->chunks, n);
	int rc = got == (long)n ? send_batch(c, c->work) : CH_UNREACHABLE;
	if (got != (long)n)
		snprintf(c->err, sizeof c->err, "database '%s': reading back the spool '%s': %s",
			 c->url.shown, c->spool_path, strerror(errno));
	pthread_mutex_lock(&c->lock);
	c->sending = 0;
	note_attempt(c, rc);
	if (rc == CH_OK) {
		uint64_t k = c->work->sessions, in = atomic_load(&c->n_spool);
		counter_add(&c->n_written, k);
		counter_set(&c->n_spool, in > k ? in - k : 0);
		spool_take(c->spool, n);
	}
	chbatch_reset(c->work);
}

/* ---- the encoder ---------------------------------------------------------------------- */

static void swap(struct ch_batch **a, struct ch_batch **b)
{
	struct ch_batch *t = *a;
	*a = *b;
	*b = t;
}

/* ClickHouse failed just now: the next try is later. Locked. */
static int backing_off(const struct chstore *c, double now)
{
	return now < c->retry_at && !c->last_try;
}

/* Encodes up to 512 queued rows into the encoder's batch, the lock
 * released (the slots stay counted: the producer never writes over them).
 * Locked; the rows taken. */
static size_t encode_some(struct chstore *c)
{
	size_t n = c->count < 512 ? c->count : 512;
	if (c->head + n > c->cap)
		n = c->cap - c->head;
	if (n == 0)
		return 0;
	c->encoding = 1;
	pthread_mutex_unlock(&c->lock);
	double now = clock_seconds(CLOCK_MONOTONIC);
	for (size_t i = 0; i < n; i++)
		chbatch_add(c->cur, &c->ring[c->head + i], now);
	pthread_mutex_lock(&c->lock);
	c->encoding = 0;
	c->head = (c->head + n) % c->cap;
	c->count -= n;
	counter_set(&c->n_queued, c->count);
	return n;
}

/* The encoder's batch is due: full, a second old, or everything is
 * wanted now. Locked. */
static int batch_due(const struct chstore *c, double now)
{
	const struct ch_batch *b = c->cur;
	size_t bytes = b->text[0].len + b->text[1].len + b->text[2].len;
	return !chbatch_empty(b) &&
	       (b->rows >= CH_BATCH_ROWS || bytes >= CH_BATCH_BYTES || now - b->first >= 1.0 ||
		((c->stop || c->flush) && c->count == 0));
}

/* A due batch goes to the sender, or to the spool while ClickHouse fails,
 * or grows while the sender is busy (up to its caps). Locked. */
static void hand_over(struct chstore *c, double now)
{
	const struct ch_batch *b = c->cur;
	size_t bytes = b->text[0].len + b->text[1].len + b->text[2].len;
	if (backing_off(c, now)) {
		spool_batch(c, c->cur);
	} else if (!c->handed_full) {
		swap(&c->cur, &c->handed);
		c->handed_full = 1;
		pthread_cond_broadcast(&c->wake);
	} else if (b->rows >= CH_BATCH_ROWS || bytes >= CH_BATCH_BYTES) {
		spool_batch(c, c->cur); /* ClickHouse takes rows slower than they come */
	}
}

/* Rows their producers encoded while the queue was full join the batch.
 * Locked. */
static void take_overflow(struct chstore *c)
{
	if (chbatch_empty(c->cur))
		c->cur->first = c->over.first;
	for (int t = 0; t < CH_NTABLES; t++)
		tsv_put(&c->cur->text[t], c->over.text[t].p, c->over.text[t].len);
	c->cur->rows += c->over.rows;
	c->cur->sessions += c->over.sessions;
	chbatch_reset(&c->over);
}

static void *encoder_main(void *arg)
{
	struct chstore *c = arg;
	thread_name("smtptls-chenc");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		size_t n = encode_some(c);
		if (!chbatch_empty(&c->over)) {
			take_overflow(c);
			n++;
		}
		double now = clock_seconds(CLOCK_MONOTONIC);
		if (batch_due(c, now))
			hand_over(c, now);
		if (n)
			continue;
		if (c->stop && c->count == 0 && chbatch_empty(c->cur) && chbatch_empty(&c->over) &&
		    !c->handed_full)
			break;
		pthread_cond_broadcast(&c->idle);
		cond_wait_ms(&c->wake, &c->lock, c->stop ? 10 : 100);
	}
	c->enc_done = 1;
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- the sender ------------------------------------------------------------------------- */

/* One step; 0 when it is done (stopping). Locked. */
static int sender_step(struct chstore *c)
{
	double now = clock_seconds(CLOCK_MONOTONIC);
	if (c->enc_done) {
		if (c->last_try && (c->failed_after_stop || (!c->handed_full && !spool_waiting(c)))) {
			if (c->handed_full) /* the rest: to the spool */
				spool_batch(c, c->handed);
			c->handed_full = 0;
			return 0;
		}
		c->last_try = 1; /* one more attempt, then what is left stays spooled */
	}
	int waiting = backing_off(c, now);
	if (c->handed_full && waiting) {
		spool_batch(c, c->handed);
		c->handed_full = 0;
	} else if (c->handed_full) {
		swap(&c->handed, &c->work);
		c->handed_full = 0;
		pthread_cond_broadcast(&c->wake); /* the encoder may hand the next */
		deliver_work(c);
	} else if (spool_waiting(c) && !waiting) {
		deliver_spool(c);
	} else {
		pthread_cond_broadcast(&c->idle);
		long ms = waiting ? (long)((c->retry_at - now) * 1000) + 1 : 100;
		cond_wait_ms(&c->wake, &c->lock, ms < 100 ? ms : 100);
	}
	pthread_cond_broadcast(&c->idle);
	return 1;
}

static void *sender_main(void *arg)
{
	struct chstore *c = arg;
	thread_name("smtptls-chsend");
	pthread_mutex_lock(&c->lock);
	while (sender_step(c))
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
	c->spool = spool_resume(c->spool_path, sizeof(struct ch_chunk), max);
	if (c->spool && spool_leftover(c->spool))
		fprintf(stderr, "smtptls: database '%s': the spool '%s' was not written by this"
			" smtptls: kept as '%s'\n", c->url.shown, c->spool_path, spool_leftover(c->spool));
	return c->spool ? 0 : -1;
}

static int alloc_queue(struct chstore *c, const struct store_opts *o)
{
	c->cap = o->queue_rows ? o->queue_rows : CH_QUEUE_DEFAULT;
	c->ring = malloc(c->cap * sizeof *c->ring);
	c->chunks = malloc(CH_SPOOL_CHUNKS * sizeof *c->chunks);
	c->cur = &c->batch[0];
	c->handed = &c->batch[1];
	c->work = &c->batch[2];
	if (c->ring && c->chunks)
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
		c->retry_at = clock_seconds(CLOCK_MONOTONIC) + CH_BACKOFF_FIRST;
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
	uint64_t sessions = atomic_load(&c->n_written);
	counter_set(&c->n_written, 0); /* this capture's own from here */
	counter_set(&c->n_spool, 0);
	if (before > left)
		fprintf(stderr, "smtptls: database '%s': delivered %llu sessions an earlier capture"
			" left in the spool '%s'%s\n", c->url.shown, (unsigned long long)sessions,
			c->spool_path, left ? " (not all: the rest later)" : "");
}

static void free_store(struct chstore *c)
{
	spool_free(c->spool);
	if (c->spool_fd >= 0)
		close(c->spool_fd);
	chttp_free(c->http);
	chttp_free(c->qhttp);
	for (int i = 0; i < 3; i++)
		chbatch_free(&c->batch[i]);
	chbatch_free(&c->over);
	free(c->ring);
	free(c->chunks);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->idle);
	free(c);
}

static int start_threads(struct chstore *c)
{
	if (pthread_create(&c->sender, NULL, sender_main, c) != 0)
		return -1;
	if (pthread_create(&c->encoder, NULL, encoder_main, c) != 0) {
		pthread_mutex_lock(&c->lock);
		c->stop = c->enc_done = 1;
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->sender, NULL);
		return -1;
	}
	c->threads = 1;
	return 0;
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
		rc = start_threads(c);
		if (rc < 0)
			snprintf(c->err, sizeof c->err, "database '%s': starting the writer threads",
				 c->url.shown);
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
	if (c->threads) {
		pthread_join(c->encoder, NULL);
		pthread_join(c->sender, NULL);
	}
	uint64_t left = c->spool ? spool_count(c->spool) : 0;
	int rc = c->refused ? -1 : 0;
	if (left)
		fprintf(stderr, "smtptls: database '%s': %llu sessions of this capture (%llu KiB of"
			" rows in all) could not be delivered: kept in the spool '%s'; the next"
			" capture into %s with this spool delivers them first\n", c->url.shown,
			(unsigned long long)atomic_load(&c->n_spool),
			(unsigned long long)(left * sizeof(struct ch_chunk) / 1024), c->spool_path,
			c->url.shown);
	if (rc < 0)
		snprintf(err, errlen, "%s", c->err);
	free_store(c);
	return rc;
}

/* ---- rows ----------------------------------------------------------------------------- */

/* Queues a row (the ring, else encoded into the overflow batch); never
 * waits for HTTP. Locked. */
static void queue_row(struct chstore *c, struct ch_row *r)
{
	r->magic = CH_ROW_MAGIC;
	r->run_id = c->run_id;
	snprintf(r->sensor, sizeof r->sensor, "%s", c->sensor);
	if (c->count < c->cap) {
		c->ring[(c->head + c->count) % c->cap] = *r;
		counter_set(&c->n_queued, ++c->count);
		if (c->count > atomic_load_explicit(&c->n_peak, memory_order_relaxed))
			counter_set(&c->n_peak, c->count);
		if (c->count == 512)
			pthread_cond_broadcast(&c->wake);
	} else { /* the encoder fell behind: the row as text, for it to take */
		chbatch_add(&c->over, r, clock_seconds(CLOCK_MONOTONIC));
		if (c->over.text[0].failed || c->over.text[1].failed || c->over.text[2].failed) {
			counter_add(&c->n_lost, c->over.sessions);
			chbatch_reset(&c->over);
		}
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
	while ((c->count || c->encoding || !chbatch_empty(c->cur) || c->handed_full || c->sending) &&
	       !c->stop && !c->failed_attempt) {
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

int chstore_begin_run(struct chstore *c, const struct run_info *ri, const struct run_file *f,
		      char *dup, size_t duplen)
{
	char owner[OWNER_MAX];
	pthread_mutex_lock(&c->lock);
	copy(c->sensor, sizeof c->sensor, ri->sensor);
	pthread_mutex_unlock(&c->lock);
	if (f && dup) {
		int found = c->failed_attempt ? -1 : chruns_find_file(c->qhttp, &c->url, c->sensor, f, dup, duplen);
		if (found > 0)
			return found;
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
	c->run.has_file = f != NULL;
	c->run.file_size = f ? f->size : 0;
	copy(c->run.file_sha256, sizeof c->run.file_sha256, f ? f->sha256 : NULL);
	queue_run(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int chstore_set_file_sha256(struct chstore *c, const char *sha256)
{
	pthread_mutex_lock(&c->lock);
	if (c->run.has_file)
		copy(c->run.file_sha256, sizeof c->run.file_sha256, sha256);
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
	double t = 0;
	if (c->threads && pthread_getcpuclockid(c->encoder, &id) == 0)
		t += clock_seconds(id);
	if (c->threads && pthread_getcpuclockid(c->sender, &id) == 0)
		t += clock_seconds(id);
	return t;
}

const char *chstore_error(const struct chstore *c)
{
	return c->err;
}
