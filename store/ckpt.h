/* The WAL checkpointer: a thread with its own connection that copies the
 * WAL back into the database file (PASSIVE, which never waits for readers
 * nor holds the writer up) when a writer's commits have made it long, so
 * that the writer never waits for the disk in COMMIT nor, short of a WAL
 * past its hard limit, for a reader. */
#ifndef SMTPTLS_CKPT_H
#define SMTPTLS_CKPT_H

#include <sqlite3.h>
#include <stdint.h>

struct checkpointer;

struct ckpt_stats {
	uint64_t passes;        /* checkpoints run */
	uint64_t restarts;      /* the WAL started over at a transaction's start */
	uint64_t reader_held;   /* a long WAL could not start over: a reader held old pages */
	uint64_t wal_frames;    /* the WAL's length after the last commit, in pages */
	uint64_t forced;        /* restarts forced past the hard limit (the writer waited) */
};

/* Starts the thread for the database at path, following the commits of
 * db (whose WAL hook it takes). NULL if it cannot: SQLite then keeps
 * checkpointing inside COMMIT by itself (slower, not wrong). */
struct checkpointer *ckpt_start(sqlite3 *db, const char *path);
/* Stops the thread and gives db its automatic checkpoints back. NULL is
 * fine. */
void ckpt_stop(struct checkpointer *c);

/* Called by the writer before it begins a transaction (writer_begin_fn).
 * When the WAL has grown past its limit, waits (at most CKPT_WAIT_MS) for
 * the checkpoint of the last commit: if that copied every page back, the
 * transaction starting now makes SQLite write the WAL from its start
 * again, unless a reader still reads pages of it; then the WAL goes on
 * growing and the next transaction tries again. Never waits for a reader. */
void ckpt_before_begin(void *checkpointer);

void ckpt_stats(const struct checkpointer *c, struct ckpt_stats *s);
/* CPU seconds the thread used so far; 0 for NULL. Before ckpt_stop(). */
double ckpt_cpu(const struct checkpointer *c);

#endif
