/* The WAL checkpointer: a thread with its own connection that copies the
 * WAL back into the database file (PASSIVE) when a writer's commits have
 * made it long, so that the writer never waits for the disk in COMMIT. */
#ifndef SMTPTLS_CKPT_H
#define SMTPTLS_CKPT_H

#include <sqlite3.h>

struct checkpointer;

/* Starts the thread for the database at path, following the commits of
 * db (whose WAL hook it takes). NULL if it cannot: SQLite then keeps
 * checkpointing inside COMMIT by itself (slower, not wrong). */
struct checkpointer *ckpt_start(sqlite3 *db, const char *path);
/* Stops the thread and gives db its automatic checkpoints back. NULL is
 * fine. */
void ckpt_stop(struct checkpointer *c);
/* CPU seconds the thread used so far; 0 for NULL. Before ckpt_stop(). */
double ckpt_cpu(const struct checkpointer *c);

#endif
