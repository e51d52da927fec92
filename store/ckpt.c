#define _POSIX_C_SOURCE 200809L
#include "ckpt.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/wait.h"

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
	sqlite3 *db;     /* its own connection */
	sqlite3 *writer; /* the connection whose commits it follows */
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

struct checkpointer *ckpt_start(sqlite3 *db, const char *path)
{
	struct checkpointer *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	/* a connection finds the WAL when it first reads the database */
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA schema_version;", NULL, NULL, NULL) != SQLITE_OK ||
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
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	free_checkpointer(c);
}

double ckpt_cpu(const struct checkpointer *c)
{
	clockid_t id;
	return c && pthread_getcpuclockid(c->thread, &id) == 0 ? clock_seconds(id) : 0;
}

