/* The session database: SQLite, WAL, one row per session, written as
 * codes in batched transactions with statements prepared once by a writer
 * thread (writer.c). The schema is store/schema.sql, versioned through
 * PRAGMA user_version (schema.c); merge.h combines databases. */
#ifndef SMTPTLS_STORE_H
#define SMTPTLS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define STORE_SCHEMA_VERSION 6   /* the last migration in store/schema.sql */
#define STORE_BATCH_ROWS 10000   /* rows per transaction at most */
#define STORE_BATCH_SECONDS 1.0  /* a transaction is committed within this */

struct run_info {
	const char *source;      /* file or interface name */
	const char *source_kind; /* "file" or "interface" */
	const char *filter;      /* BPF expression or NULL */
	const char *ports;       /* the port map in use */
	double started;
	const char *version;
	const char *sensor;      /* the sensor's name (--sensor; the host name) */
};

struct run_totals {
	double ended;
	uint64_t packets, bytes;
	uint64_t dropped_kernel, dropped_iface; /* -1 (UINT64_MAX) unknown */
	uint64_t flows, flows_evicted, flows_timed_out, flows_without_payload;
	uint64_t sessions;
	uint64_t decode_errors, truncated_packets, non_tcp_packets, fragments;
	uint64_t reasm_overflows;
	uint64_t peak_flows, peak_buffered; /* connections open, bytes held */
	int interrupted; /* a capture file not read to its end (SIGINT, SIGTERM) */
};

/* A named counter of a run (tunnel encapsulations, fragments ...), kept
 * in the table run_counters beside the run's fixed columns. */
struct run_counter {
	const char *name;
	uint64_t value;
};

struct store;

/* How rows wait for the writer (store/writer.h): a queue of queue_rows in
 * memory (0: the default), then a spool file PATH-spool of at most
 * spool_bytes (0: none). */
struct store_opts {
	size_t queue_rows;
	uint64_t spool_bytes;
	const char *spool_path; /* ClickHouse: the spool (NULL: smtptls-HOST-PORT-DB.spool) */
	int wait_when_full; /* the input can wait (a file): a full queue waits, no spool */
};
#define STORE_SPOOL_DEFAULT (1024ull << 20)

/* The writer's and checkpointer's counters, read without a lock. */
struct store_stats {
	uint64_t queue_rows, queue_peak, queue_cap;
	uint64_t spool_rows, spooled_total, rows_lost, rows_written, busy_retries;
	uint64_t ckpt_passes, wal_restarts, wal_reader_held, wal_frames, wal_forced;
	uint64_t reopens;
};

/* Opens or creates the database, migrating an older one to
 * STORE_SCHEMA_VERSION; on failure writes a message naming the path into
 * err and returns a negative code. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
/* The same with the queue's options. */
int store_open_opts(struct store **out, const char *path, const struct store_opts *o,
		    char *err, size_t errlen);
/* Commits what is pending and closes. NULL is fine. */
int store_close(struct store *st);

int store_begin_run(struct store *st, const struct run_info *ri);
/* A capture file read by a run: its size, and its SHA-256 (64 hex
 * digits), or NULL while it is not known yet (store_set_file_sha256). */
struct run_file {
	uint64_t size;
	const char *sha256;
};
enum {
	STORE_RUN_BEGUN,      /* the run was begun */
	STORE_RUN_SAME_FILE,  /* a run read a file of this size and SHA-256 */
	STORE_RUN_SAME_SIZE,  /* a run read a file of this size, its SHA-256 never recorded */
	STORE_RUN_HASH_FIRST, /* (no SHA-256 given) a run read a file of this size */
};
/* store_begin_run for a capture file. With dup given, a file some run of
 * this database (of this sensor) may have read already is refused:
 * STORE_RUN_SAME_FILE, or STORE_RUN_SAME_SIZE when that run never recorded
 * its SHA-256 (it was killed, or is still running), nothing begun and a
 * sentence naming that run in dup; and with no SHA-256 given, a run of a
 * file of this size asks for it first (STORE_RUN_HASH_FIRST): a file of a
 * size no run read is new whatever its bytes, and its hash can come at the
 * end. The check and the new run are one transaction. STORE_RUN_BEGUN or
 * -1 on error. */
int store_begin_file_run(struct store *st, const struct run_info *ri, const struct run_file *f,
			 char *dup, size_t duplen);
/* The SHA-256 of the current run's file, known now: 0 or -1. */
int store_set_file_sha256(struct store *st, const char *sha256);
/* Promotes every hour written so far into the day and all-time rollups,
 * as store_close would: a caller with other work for its other threads
 * does it now. 0 or -1. */
int store_promote(struct store *st);
int store_add(struct store *st, const struct session_record *r);
/* Keeps the session rows of the last seconds (0: all, the default),
 * deleting older ones in batches as rows are written; the rollups keep
 * counting them. The age is measured from the wall clock (live) or from
 * the newest packet written (files). The run's counter
 * sessions_deleted_by_retention says how many went. */
void store_retain(struct store *st, double seconds, int live);
/* Commits the open transaction if it is older than STORE_BATCH_SECONDS. */
int store_tick(struct store *st, double now);
int store_commit(struct store *st);
/* Ends the run: status 'complete', or 'interrupted' (t->interrupted). */
int store_end_run(struct store *st, const struct run_totals *t);
/* Sets n named counters of the current run (a name set again replaces its
 * value); before or after store_end_run. */
int store_run_counters(struct store *st, const struct run_counter *c, size_t n);
/* Writes the run's counters so far into its row while it goes on (status
 * stays 'running'); rows keep coming in meanwhile. */
int store_update_run(struct store *st, const struct run_totals *t);

/* Log rotation: when the file at the database's path is no longer the one
 * open (moved away or removed), ends the run in the open one with the
 * totals so far (status 'reopened'), makes the moved file whole on its own
 * (its WAL copied back, the -wal and -shm files left at the path removed:
 * a new database there would take them for its own), opens (or
 * creates) the database at the path and begins ri there. Rows handed over
 * meanwhile wait and go to the new one; each row is in exactly one file.
 * 1 if reopened, 0 if the path still names the open database, -1 with
 * store_error: either readers kept old pages for a minute (the
 * capture goes on writing to the moved file) or the new one could not be
 * made (the writer has failed: the capture ends). */
int store_reopen(struct store *st, const struct run_totals *done, const struct run_info *ri);

/* Runs of this database still marked 'running' whose process (on this
 * host) is gone: marks them 'unfinished'. For each, line() is called with
 * a sentence naming the run. Returns how many, or -1. */
int store_mark_unfinished(struct store *st, void (*line)(void *ctx, const char *text),
			  void *ctx);
void store_stats(const struct store *st, struct store_stats *s);

/* CPU seconds used so far by the store's own threads, the row writer and
 * the WAL checkpointer (0 for one that is not running). Before
 * store_close(), which ends them. */
void store_thread_cpu(const struct store *st, double *writer, double *checkpointer);

/* The last error, naming the database. */
const char *store_error(const struct store *st);

/* Brings an existing database up to STORE_SCHEMA_VERSION without writing
 * anything else into it (readers call it for an older database). Returns
 * 0, or -1 with a message naming the path: it does not exist, cannot be
 * written, is not an smtptls database or is newer than this program. */
int store_migrate(const char *path, char *err, size_t errlen);

#endif
