/* Rollups: what reports count, kept by the writer as it commits. Each
 * rollup is defined once, here, as a GROUP BY over the sessions (key
 * columns: the codes the report's definitions look at, entities such as
 * the server; measures: sums, minima and maxima of stored facts) and
 * materialised per hour, per day and for all time in the tables
 * rollup_NAME_hour (a heap: a key may come in several rows of an hour),
 * rollup_NAME_day and rollup_NAME_all (columns bucket,
 * the keys, the measures; a key that is NULL in the sessions is stored as
 * -1 or '' so that it can be part of the primary key). The writer folds
 * the rows it inserted into the hour tables within the same transaction,
 * so a reader sees rollups and sessions that agree; hours go on to the day
 * and all-time tables once closed (rollup_state.promoted: every session
 * starting before it is there). Readers (reports/rsource.c) take the
 * rollup rows of the whole buckets inside their time filter and the same
 * GROUP BY computed over the sessions at the edges.
 *
 * Retention deletes session rows older than a given age in batches; the
 * rollups stay. */
#ifndef SMTPTLS_ROLLUP_H
#define SMTPTLS_ROLLUP_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define ROLLUP_MIGRATION 5      /* the schema step that creates them (schema.sql) */
#define ROLLUP_DELETE_BATCH 10000 /* session rows deleted per transaction at most */

#define ROLLUP_NDEFS 3         /* codes, servers, clients (rollup_defs.c) */

enum rollup_kind { ROLLUP_KEY, ROLLUP_SUM, ROLLUP_MIN, ROLLUP_MAX };

struct rollup_col {
	const char *name;
	enum rollup_kind kind;
	char type;        /* 'i' integer, 'r' real, 't' text; keys never NULL: 'I', 'T' */
	const char *expr; /* SQL template over session_rows s (common/sqlt.h) */
};

struct rollup_def {
	const char *name;
	const struct rollup_col *cols;
	size_t ncols;
	const char *where; /* which sessions it counts (SQL over s), or NULL: all */
};

enum rollup_level { ROLLUP_HOUR, ROLLUP_DAY, ROLLUP_ALL, ROLLUP_LEVELS };

/* The width of a level's buckets in seconds; 0 for ROLLUP_ALL (one bucket,
 * 0). A bucket is [bucket, bucket + width). */
int64_t rollup_width(enum rollup_level l);
const char *rollup_level_name(enum rollup_level l);

/* Every rollup; NULL from rollup_find for an unknown name. */
const struct rollup_def *rollup_defs(size_t *n);
const struct rollup_def *rollup_find(const char *name);

/* SQL templates (to free()), NULL when out of memory:
 * the definition over the sessions that satisfy cond (SQL over s), in
 * buckets of width seconds (0: all in bucket 0), NULL keys as they are
 * (stored = 0) or as stored in the tables (stored = 1); */
char *rollup_select(const struct rollup_def *d, int64_t width, const char *cond, int stored);
/* the materialised rows of a level that satisfy cond (over the table's
 * columns), NULL keys restored; the columns of rollup_select. */
char *rollup_read(const struct rollup_def *d, enum rollup_level l, const char *cond);

/* ---- keeping them (SQLite) ------------------------------------------------------- */

struct rollup;

/* Prepares the folding on db (at path, for messages), whose schema has
 * the rollups. NULL with a message in err, which must outlive the object
 * (later errors are written there too). */
struct rollup *rollup_new(sqlite3 *db, const char *path, char *err, size_t errlen);
void rollup_free(struct rollup *r);

/* Keeps the session rows of the last seconds (0: all). The age is
 * measured from the wall clock (live) or from the newest packet of the
 * sessions this object folded (files). Rollups are never deleted. */
void rollup_retain(struct rollup *r, double seconds, int live);

/* A row the writer inserted (its values as stored, writer.h), grouped in
 * memory until rollup_commit adds the groups to the tables. */
struct writer_value;
void rollup_row(struct rollup *r, const struct writer_value *v, int64_t id);

/* In the caller's open transaction: folds the session rows not yet
 * folded into every rollup, then deletes at most ROLLUP_DELETE_BATCH
 * session rows older than the retention. Returns 0, or -1 with the
 * message in err. */
int rollup_commit(struct rollup *r);
/* In the caller's transaction: puts every hour into the day and
 * all-time tables (the store closes; readers then read fewer rows). */
int rollup_close(struct rollup *r);
/* Session rows deleted by retention so far. */
int64_t rollup_deleted(const struct rollup *r);

/* Internal to store/: "INSERT INTO main.rollup_NAME_LEVEL VALUES (?, ...)
 * ON CONFLICT ... DO UPDATE ...", the bucket then d's columns in order
 * (the hour tables are heaps: without ON CONFLICT). */
char *rollup_upsert_values(const struct rollup_def *d, enum rollup_level l);

/* Creates the rollup tables and folds every session in (the migration
 * step); 0 or -1. In the caller's transaction. */
int rollup_install(sqlite3 *db);
/* Folds the session rows not counted yet (written by another program, or
 * the rollups were emptied by hand), in a transaction of its own; 0 or -1. */
int rollup_catch_up(sqlite3 *db);
/* Computes every rollup again from the session rows there are (merge
 * replaces rows); 0 or -1. In the caller's transaction. */
int rollup_rebuild(sqlite3 *db);

#endif
