/* The row writer (internal to store/): a thread that inserts the queued
 * session records into session_rows as codes, each leaf certificate once
 * into certificates, in transactions of up to STORE_BATCH_ROWS rows
 * committed at least every STORE_BATCH_SECONDS.
 *
 * Handing a row over never waits for the database: rows wait in a
 * bounded queue in memory and, when it is full, in a bounded spool file
 * beside the database (PATH-spool), written back in order as the writer
 * catches up; a row that finds both full is lost and counted. Everyone
 * else uses the connection only while holding the writer (writer_hold),
 * so it is never used by two threads at once; rows keep coming in
 * meanwhile. */
#ifndef SMTPTLS_WRITER_H
#define SMTPTLS_WRITER_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define WRITER_QUEUE_DEFAULT 8192 /* rows (4.3 KB each): bursts of a live link */
#define WRITER_QUEUE_WAITING 1024 /* rows, when writer_add() may wait: enough to keep
				     the writer busy, 4 MiB rather than 35 */

struct writer_opts {
	size_t queue_rows;    /* 0: WRITER_QUEUE_DEFAULT, or _WAITING with wait_when_full */
	uint64_t spool_bytes; /* 0: no spool */
	int wait_when_full;   /* a full queue makes writer_add() wait (input that can wait:
				 a file); else rows go to the spool */
};

/* What the queue holds and held; read without a lock (metrics). */
struct writer_stats {
	uint64_t queue_rows, queue_peak, queue_cap;
	uint64_t spool_rows;    /* in the spool now */
	uint64_t spooled_total; /* ever put in the spool */
	uint64_t lost;          /* neither queue nor spool could take them */
	uint64_t written;       /* inserted */
	uint64_t busy_retries;  /* another program held the write lock */
};

struct writer;

/* Prepares the statements on db and starts the thread. NULL with a
 * message naming path in err (which must outlive the writer: later errors
 * are written there too); path too must outlive it. */
struct writer *writer_start(sqlite3 *db, const char *path, const struct writer_opts *o,
			    char *err, size_t errlen);
/* Writes what is queued and spooled, commits and stops the thread; 0, or
 * -1 if anything failed. NULL is fine. */
int writer_stop(struct writer *w);

/* Queues a copy of r, or spools it, or counts it lost; never waits for the
 * database, unless wait_when_full was asked for: then a full queue waits
 * for the writer's next batch. -1 once the writer has failed. */
int writer_add(struct writer *w, const struct session_record *r);
/* -1 once the writer has failed. */
int writer_failed(struct writer *w);

/* Keeps the writer thread off the connection until writer_release(), once
 * it is between batches; with drain, first waits until every row queued
 * or spooled is written. Rows handed over meanwhile wait. Returns -1 if
 * the writer has failed (held all the same). */
int writer_hold(struct writer *w, int drain);
void writer_release(struct writer *w);
/* While held: commits the open transaction; 0 or -1. */
int writer_commit(struct writer *w);
/* While held: the rows written from now on belong to run id, seen by
 * sensor (NULL or "": none). */
void writer_set_run(struct writer *w, int64_t id, const char *sensor);
/* While held: the rows written for the current run so far. */
uint64_t writer_run_rows(const struct writer *w);
/* While held, with nothing open: the writer lets go of its connection
 * (its statements finalized) and goes on with db (a database reopened),
 * or with none for NULL; 0 or -1. */
int writer_rebind(struct writer *w, sqlite3 *db);

/* The writer has failed (its database is gone): rows are refused from
 * now on. */
void writer_fail(struct writer *w);

/* A function the thread calls before it begins each transaction (the
 * checkpointer's chance to let the WAL start over). Set while held. */
typedef void (*writer_begin_fn)(void *arg);
void writer_before_begin(struct writer *w, writer_begin_fn fn, void *arg);

void writer_stats(const struct writer *w, struct writer_stats *s);

/* A row as stored: each column's value, in the order writer_column()
 * names them (text points into the record: valid during the call). */
enum writer_vtype { WV_NULL, WV_INT, WV_REAL, WV_TEXT };
struct writer_value {
	enum writer_vtype type;
	int64_t i;
	double r;
	const char *t;
};
size_t writer_columns(void);
const char *writer_column(size_t i);

/* The rollups' one hook (store/rollup.h): the thread hands it each row it
 * inserted, with its id, and calls commit inside each transaction just
 * before its COMMIT; when commit returns -1 the transaction is rolled back
 * and the writer has failed. Set while held; NULL functions are fine. */
struct writer_fold {
	void (*row)(void *arg, const struct writer_value *v, int64_t id);
	int (*commit)(void *arg);
	void *arg;
};
void writer_before_commit(struct writer *w, const struct writer_fold *f);

/* CPU seconds the thread used so far. */
double writer_cpu(const struct writer *w);

#endif
