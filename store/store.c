/* Opening and closing the database, the runs and their counters. The rows
 * go through the writer (writer.c); every call here that uses the
 * connection holds the writer first. */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "rollup.h"
#include "schema.h"
#include "writer.h"

static const char runs_update[] =
	"UPDATE runs SET ended=?, packets=?, bytes=?, dropped_kernel=?, dropped_iface=?,"
	" flows=?, flows_evicted=?, flows_timed_out=?, flows_without_payload=?, sessions=?,"
	" decode_errors=?, truncated_packets=?, non_tcp_packets=?, fragments=?,"
	" reassembly_overflows=?, peak_flows=?, peak_buffered=? WHERE id=?;";

struct store {
	sqlite3 *db;
	char path[512];
	char err[768];
	int64_t run_id;
	struct writer *writer;
	struct rollup *rollup;     /* folded in before each of the writer's commits */
	struct checkpointer *ckpt; /* NULL: SQLite checkpoints inside COMMIT */
};

static int fail(struct store *st, const char *what)
{
	snprintf(st->err, sizeof st->err, "database '%s': %s: %s", st->path, what,
		 st->db ? sqlite3_errmsg(st->db) : "cannot allocate");
	return -1;
}

static int exec(struct store *st, const char *sql, const char *what)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(st, what);
}

/* ---- open / close ------------------------------------------------------- */

static int fold(void *rollup)
{
	return rollup_commit(rollup);
}

/* Every hour into the day and all-time rollups (the writer has stopped). */
static int close_rollups(struct store *st)
{
	if (exec(st, "BEGIN IMMEDIATE;", "closing the rollups") < 0)
		return -1;
	if (rollup_close(st->rollup) < 0 || exec(st, "COMMIT;", "closing the rollups") < 0) {
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int configure(struct store *st)
{
	int defensive = 1;
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, defensive, NULL);
	/* A new database gets 16 KiB pages (an existing one keeps its own):
	 * about 40 rows a page instead of 10, a quarter of the WAL frames and
	 * their writes; the writer's CPU on big.pcap fell from 0.41-0.43 s to
	 * 0.36-0.38 s. */
	if (exec(st, "PRAGMA page_size=16384;", "setting the page size") < 0 ||
	    exec(st, "PRAGMA journal_mode=WAL;", "enabling WAL") < 0 ||
	    exec(st, "PRAGMA synchronous=NORMAL;", "setting synchronous") < 0 ||
	    exec(st, "PRAGMA journal_size_limit=67108864;", "limiting the WAL") < 0 ||
	    exec(st, "PRAGMA foreign_keys=ON;", "enabling foreign keys") < 0)
		return -1;
	return 0;
}

/* SQLite counts every allocation under a global mutex unless told not to;
 * nothing here reads those counts. Must precede SQLite's initialisation,
 * and fails harmlessly (SQLITE_MISUSE) once something opened a database. */
static void configure_library(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int open_db(struct store *st, const char *path, int flags)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure_library);
	snprintf(st->path, sizeof st->path, "%s", path);
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return fail(st, "cannot open");
	if (configure(st) < 0 || schema_upgrade(st->db, st->path, st->err, sizeof st->err) < 0)
		return -1;
	if (rollup_catch_up(st->db) < 0)
		return fail(st, "counting sessions into the rollups");
	return 0;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof *st);
	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	int rc = open_db(st, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (rc == 0) {
		st->ckpt = ckpt_start(st->db, st->path); /* else SQLite checkpoints in COMMIT */
		st->rollup = rollup_new(st->db, st->path, st->err, sizeof st->err);
		st->writer = st->rollup ? writer_start(st->db, st->path, st->err, sizeof st->err)
					: NULL;
		rc = st->writer ? 0 : -1;
	}
	if (rc == 0) {
		writer_hold(st->writer);
		writer_before_commit(st->writer, fold, st->rollup);
		writer_release(st->writer);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", st->err);
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

int store_close(struct store *st)
{
	if (!st)
		return 0;
	int rc = writer_stop(st->writer);
	if (rc == 0 && st->rollup)
		rc = close_rollups(st);
	rollup_free(st->rollup);
	ckpt_stop(st->ckpt); /* closing the last connection checkpoints the rest */
	sqlite3_close(st->db);
	free(st);
	return rc;
}

const char *store_error(const struct store *st)
{
	return st->err;
}

int store_migrate(const char *path, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	int rc = open_db(st, path, SQLITE_OPEN_READWRITE);
	if (rc < 0)
		snprintf(err, errlen, "%s", st->err);
	sqlite3_close(st->db);
	free(st);
	return rc;
}

/* ---- rows --------------------------------------------------------------------- */

int store_add(struct store *st, const struct session_record *r)
{
	return writer_add(st->writer, r);
}

int store_commit(struct store *st)
{
	int rc = writer_hold(st->writer);
	if (rc == 0)
		rc = writer_commit(st->writer);
	writer_release(st->writer);
	return rc;
}

void store_retain(struct store *st, double seconds, int live)
{
	writer_hold(st->writer);
	rollup_retain(st->rollup, seconds, live);
	writer_release(st->writer);
}

int store_tick(struct store *st, double now)
{
	(void)now; /* the writer commits on time by itself */
	return writer_failed(st->writer);
}

/* ---- runs ----------------------------------------------------------------- */

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t && *t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

static int begin_run_now(struct store *st, const struct run_info *ri)
{
	sqlite3_stmt *s;
	const char *vals[] = {ri->source, ri->source_kind, ri->filter, ri->ports};
	if (writer_commit(st->writer) < 0 ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO runs (source, source_kind, filter, ports, started,"
			       " version) VALUES (?, ?, ?, ?, ?, ?);",
			       -1, &s, NULL) != SQLITE_OK)
		return fail(st, "recording the run");
	for (int i = 0; i < 4; i++)
		bind_text_or_null(s, i + 1, vals[i]);
	sqlite3_bind_double(s, 5, ri->started);
	sqlite3_bind_text(s, 6, ri->version, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return fail(st, "recording the run");
	st->run_id = sqlite3_last_insert_rowid(st->db);
	writer_set_run(st->writer, st->run_id);
	return 0;
}

static void bind_count(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v == UINT64_MAX)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static int end_run_now(struct store *st, const struct run_totals *t)
{
	sqlite3_stmt *s;
	const uint64_t vals[] = {t->packets, t->bytes, t->dropped_kernel, t->dropped_iface,
				 t->flows, t->flows_evicted, t->flows_timed_out,
				 t->flows_without_payload, t->sessions, t->decode_errors,
				 t->truncated_packets, t->non_tcp_packets, t->fragments,
				 t->reasm_overflows, t->peak_flows, t->peak_buffered};
	int n = (int)(sizeof vals / sizeof vals[0]);
	if (writer_commit(st->writer) < 0 ||
	    sqlite3_prepare_v2(st->db, runs_update, -1, &s, NULL) != SQLITE_OK)
		return fail(st, "finishing the run");
	sqlite3_bind_double(s, 1, t->ended);
	for (int i = 0; i < n; i++)
		bind_count(s, i + 2, vals[i]);
	sqlite3_bind_int64(s, n + 2, st->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(st, "finishing the run");
}

static int counters_now(struct store *st, const struct run_counter *c, size_t n)
{
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;
	if (writer_commit(st->writer) < 0 ||
	    sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO run_counters (run_id, name, value)"
				       " VALUES (?, ?, ?);", -1, &s, NULL) != SQLITE_OK)
		return fail(st, "recording the run's counters");
	if (exec(st, "BEGIN;", "recording the run's counters") < 0) {
		sqlite3_finalize(s);
		return -1;
	}
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(s, 1, st->run_id);
		sqlite3_bind_text(s, 2, c[i].name, -1, SQLITE_STATIC);
		bind_count(s, 3, c[i].value);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE || exec(st, "COMMIT;", "recording the run's counters") < 0) {
		if (rc != SQLITE_DONE)
			fail(st, "recording the run's counters");
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int store_begin_run(struct store *st, const struct run_info *ri)
{
	int rc = writer_hold(st->writer);
	if (rc == 0)
		rc = begin_run_now(st, ri);
	writer_release(st->writer);
	return rc;
}

int store_end_run(struct store *st, const struct run_totals *t)
{
	int rc = writer_hold(st->writer);
	struct run_counter deleted = {"sessions_deleted_by_retention", 0};
	if (rc == 0)
		rc = end_run_now(st, t); /* commits: retention deletes with the last rows */
	deleted.value = (uint64_t)rollup_deleted(st->rollup);
	if (rc == 0 && deleted.value > 0 && st->run_id > 0)
		rc = counters_now(st, &deleted, 1);
	writer_release(st->writer);
	return rc;
}

int store_run_counters(struct store *st, const struct run_counter *c, size_t n)
{
	int rc = writer_hold(st->writer);
	if (rc == 0 && st->run_id == 0) {
		snprintf(st->err, sizeof st->err, "database '%s': run counters without a run",
			 st->path);
		rc = -1;
	}
	if (rc == 0)
		rc = counters_now(st, c, n);
	writer_release(st->writer);
	return rc;
}

/* ---- the threads' CPU time ------------------------------------------------- */

void store_thread_cpu(const struct store *st, double *writer, double *checkpointer)
{
	*writer = writer_cpu(st->writer);
	*checkpointer = ckpt_cpu(st->ckpt);
}
