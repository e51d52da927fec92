/* The row writer (internal to store/): a thread that inserts the queued
 * session records into session_rows as codes, each leaf certificate once
 * into certificates, in transactions of up to STORE_BATCH_ROWS rows
 * committed at least every STORE_BATCH_SECONDS. Everyone else uses the
 * connection only while holding the writer (writer_hold), so it is never
 * used by two threads at once. */
#ifndef SMTPTLS_WRITER_H
#define SMTPTLS_WRITER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

struct writer;

/* Prepares the statements on db and starts the thread. NULL with a
 * message naming path in err (which must outlive the writer: later errors
 * are written there too). */
struct writer *writer_start(sqlite3 *db, const char *path, char *err, size_t errlen);
/* Writes what is queued, commits and stops the thread; 0, or -1 if
 * anything failed. NULL is fine. */
int writer_stop(struct writer *w);

/* Queues a copy of r (waits while the queue is full); -1 once the writer
 * has failed. */
int writer_add(struct writer *w, const struct session_record *r);
/* -1 once the writer has failed. */
int writer_failed(struct writer *w);

/* Waits until every queued row is written, then keeps the writer off the
 * connection until writer_release(). Returns -1 if the writer has failed
 * (held all the same). */
int writer_hold(struct writer *w);
void writer_release(struct writer *w);
/* While held: commits the open transaction; 0 or -1. */
int writer_commit(struct writer *w);
/* While held: the rows queued from now on belong to run id. */
void writer_set_run(struct writer *w, int64_t id);

/* A function the thread calls inside each transaction just before its
 * COMMIT (store/rollup.h folds the new rows into the rollups); when it
 * returns -1 the transaction is rolled back and the writer has failed.
 * Set while held. */
typedef int (*writer_hook_fn)(void *arg);
void writer_before_commit(struct writer *w, writer_hook_fn fn, void *arg);

/* CPU seconds the thread used so far. */
double writer_cpu(const struct writer *w);

#endif
