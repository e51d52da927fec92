#define _POSIX_C_SOURCE 200809L
#include "ckpt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/counter.h"
#include "../common/wait.h"

/* Copying the WAL back into the database file and syncing it takes 25-50
 * ms per 4 MB on the benchmark machine. Inside COMMIT (SQLite's automatic
 * checkpoint) the writer stalls that long; a thread with its own
 * connection checkpoints instead, PASSIVE, while the writer goes on
 * appending to the WAL.
 *
 * The WAL starts over from its beginning only when a write transaction
 * begins with every page of it copied back and no reader using it. A
 * writer that never pauses does not meet the first condition, so the WAL
 * would grow without end. This used to be met by a RESTART checkpoint in
 * the writer at CKPT_FRAMES_MAX, which waits for readers of the old pages
 * within the busy timeout: with reports running back to back the writer
 * stalled up to 5 s at each, over and over (bench/README.md, "The
 * sensor"). Now, past CKPT_FRAMES_MAX, the writer waits before its next
 * transaction for the PASSIVE pass of its last commit (tens of ms) and
 * only then begins, so that SQLite restarts the WAL by itself when no
 * reader holds old pages; when one does, the WAL grows until a later
 * transaction finds it free. journal_size_limit gives the file's space
 * back after a restart.
 *
 * Readers that never stop (reports back to back, each longer than the
 * gaps between them) would let the WAL grow without end that way: past
 * CKPT_FRAMES_HARD the checkpointer forces it (RESTART, waiting up to the
 * busy timeout for the readers of old pages to finish while it holds the
 * write lock). The writer then waits for the lock; capture does not wait
 * for the writer (its rows wait in the queue and the spool). */
/* in WAL pages: 4 MiB and 64 MiB with this store's 16 KiB pages */
#define CKPT_FRAMES 256        /* pages that call for a checkpoint */
#define CKPT_FRAMES_MAX 4096   /* the writer lets the WAL start over */
#define CKPT_FRAMES_HARD 16384 /* 256 MiB: the checkpointer forces a restart */
#define CKPT_BUSY_MS 5000      /* a forced restart waits this long for readers */
#define CKPT_WAIT_MS 2000      /* the writer waits at most this for a pass */

struct checkpointer {
	sqlite3 *db;     /* its own connection */
	sqlite3 *writer; /* the connection whose commits it follows */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* to the thread: a pass is due, or stop */
	pthread_cond_t passed; /* from the thread: a pass is done */
	uint64_t asked, done;  /* passes asked for (by commits), passes done */
	int last_log, last_ckpt; /* the last pass: WAL pages, pages copied back */
	int frames;            /* the WAL's length after the last commit */
	int stop;
	_Atomic uint64_t n_passes, n_restarts, n_reader_held, n_frames, n_forced;
};

static void *checkpointer_main(void *arg)
{
	struct checkpointer *c = arg;
	thread_name("smtptls-ckpt");
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->done == c->asked && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		uint64_t pass = c->asked;
		int log = -1, ckpt = -1;
		pthread_mutex_unlock(&c->lock);
		/* a failure (busy) is retried at the next call for it */
		sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
		if (log >= CKPT_FRAMES_HARD) {
			counter_add(&c->n_forced, 1);
			sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &ckpt);
		}
		pthread_mutex_lock(&c->lock);
		c->done = pass;
		c->last_log = log;
		c->last_ckpt = ckpt;
		counter_add(&c->n_passes, 1);
		pthread_cond_broadcast(&c->passed);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Called by SQLite after each commit with the WAL's length in pages. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *schema, int frames)
{
	struct checkpointer *c = arg;
	(void)db;
	(void)schema;
	pthread_mutex_lock(&c->lock);
	if (frames < c->frames)
		counter_add(&c->n_restarts, 1);
	c->frames = frames;
	counter_set(&c->n_frames, (uint64_t)frames);
	if (frames >= CKPT_FRAMES) {
		c->asked++;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
	return SQLITE_OK;
}

void ckpt_before_begin(void *arg)
{
	struct checkpointer *c = arg;
	pthread_mutex_lock(&c->lock);
	if (c->frames >= CKPT_FRAMES_MAX) {
		uint64_t want = c->asked;
		double until = clock_seconds(CLOCK_MONOTONIC) + CKPT_WAIT_MS / 1000.0;
		while (c->done < want && !c->stop && clock_seconds(CLOCK_MONOTONIC) < until)
			cond_wait_ms(&c->passed, &c->lock, 50);
		if (c->done < want || c->last_ckpt != c->last_log || c->last_log < 0)
			counter_add(&c->n_reader_held, 1);
	}
	pthread_mutex_unlock(&c->lock);
}

static void free_checkpointer(struct checkpointer *c)
{
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->passed);
	free(c);
}

struct checkpointer *ckpt_start(sqlite3 *db, const char *path)
{
	struct checkpointer *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->passed, NULL);
	/* a connection finds the WAL when it first reads the database */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA schema_version;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(c->db, CKPT_BUSY_MS) != SQLITE_OK ||
	    pthread_create(&c->thread, NULL, checkpointer_main, c) != 0) {
		free_checkpointer(c);
		return NULL;
	}
	c->writer = db;
	sqlite3_wal_hook(db, on_wal_commit, c); /* replaces the automatic one */
	return c;
}

void ckpt_stop(struct checkpointer *c)
{
	if (!c)
		return;
	sqlite3_wal_autocheckpoint(c->writer, 1000); /* the hook goes with the thread */
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_cond_broadcast(&c->passed);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	free_checkpointer(c);
}

void ckpt_stats(const struct checkpointer *c, struct ckpt_stats *s)
{
	memset(s, 0, sizeof *s);
	if (!c)
		return;
	s->passes = atomic_load_explicit(&c->n_passes, memory_order_relaxed);
	s->restarts = atomic_load_explicit(&c->n_restarts, memory_order_relaxed);
	s->reader_held = atomic_load_explicit(&c->n_reader_held, memory_order_relaxed);
	s->wal_frames = atomic_load_explicit(&c->n_frames, memory_order_relaxed);
	s->forced = atomic_load_explicit(&c->n_forced, memory_order_relaxed);
}

double ckpt_cpu(const struct checkpointer *c)
{
	clockid_t id;
	return c && pthread_getcpuclockid(c->thread, &id) == 0 ? clock_seconds(id) : 0;
}
