/* The session database: SQLite, WAL, one row per session, written as
 * codes in batched transactions with statements prepared once by a writer
 * thread (writer.c). The schema is store/schema.sql, versioned through
 * PRAGMA user_version (schema.c); merge.h combines databases. */
#ifndef SMTPTLS_STORE_H
#define SMTPTLS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define STORE_SCHEMA_VERSION 3   /* the last migration in store/schema.sql */
#define STORE_BATCH_ROWS 10000   /* rows per transaction at most */
#define STORE_BATCH_SECONDS 1.0  /* a transaction is committed within this */

struct run_info {
	const char *source;      /* file or interface name */
	const char *source_kind; /* "file" or "interface" */
	const char *filter;      /* BPF expression or NULL */
	const char *ports;       /* the port map in use */
	double started;
	const char *version;
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
};

/* A named counter of a run (tunnel encapsulations, fragments ...), kept
 * in the table run_counters beside the run's fixed columns. */
struct run_counter {
	const char *name;
	uint64_t value;
};

struct store;

/* Opens or creates the database, migrating an older one to
 * STORE_SCHEMA_VERSION; on failure writes a message naming the path into
 * err and returns a negative code. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
/* Commits what is pending and closes. NULL is fine. */
int store_close(struct store *st);

int store_begin_run(struct store *st, const struct run_info *ri);
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
int store_end_run(struct store *st, const struct run_totals *t);
/* Sets n named counters of the current run (a name set again replaces its
 * value); before or after store_end_run. */
int store_run_counters(struct store *st, const struct run_counter *c, size_t n);

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
