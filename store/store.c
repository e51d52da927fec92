/* Opening and closing the database, the runs and their counters. The rows
 * go through the writer (writer.c); every call here that uses the
 * connection holds the writer first. */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "chstore.h"
#include "churl.h"
#include "ckpt.h"
#include "owner.h"
#include "rollup.h"
#include "runlog.h"
#include "schema.h"
#include "writer.h"

#define STORE_SETUP_TRIES 250 /* 20 ms apart: 5 s */

static const char runs_update[] =
	"UPDATE runs SET ended=?, packets=?, bytes=?, dropped_kernel=?, dropped_iface=?,"
	" flows=?, flows_evicted=?, flows_timed_out=?, flows_without_payload=?, sessions=?,"
	" decode_errors=?, truncated_packets=?, non_tcp_packets=?, fragments=?,"
	" reassembly_overflows=?, peak_flows=?, peak_buffered=?, status=? WHERE id=?;";

struct store {
	sqlite3 *db;
	char path[512];
	char err[768];
	int64_t run_id;
	struct writer *writer;
	struct rollup *rollup;     /* folded in before each of the writer's commits */
	double retain;             /* store_retain's, for a database reopened */
	int retain_live;
	struct checkpointer *ckpt; /* NULL: SQLite checkpoints inside COMMIT */
	dev_t dev;                 /* the open file, to tell when it was moved */
	ino_t ino;
	_Atomic uint64_t reopens;
	pthread_mutex_t stats_lock; /* st->ckpt for store_stats, across a reopen */
	struct ckpt_stats ckpt_before; /* the checkpointers' before the last reopen */
	struct chstore *ch;         /* a clickhouse:// database: everything goes there */
	char sensor[64];            /* the run's, for its rows */
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

/* Switches to WAL. On a new database this writes its first page under an
 * exclusive lock, and SQLite answers busy at once, without its busy
 * handler, when another process creating the same database holds a lock
 * (a read turning into a write would deadlock): that is retried here. */
static int enable_wal(struct store *st)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	sqlite3_stmt *s;
	for (int i = 0;; i++) {
		int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL;", -1, &s, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *mode = (const char *)sqlite3_column_text(s, 0);
			rc = mode && !strcmp(mode, "wal") ? SQLITE_OK : SQLITE_BUSY;
		}
		sqlite3_finalize(s);
		if (rc == SQLITE_OK)
			return 0;
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
		    i == STORE_SETUP_TRIES)
			return fail(st, "enabling WAL");
		nanosleep(&pause, NULL);
	}
}

/* The writer's hook: each row it inserted, then before each COMMIT the
 * rows into the rollups, in its transaction. */
static void fold_row(void *arg, const struct writer_value *v, int64_t id)
{
	struct store *st = arg;
	if (st->rollup)
		rollup_row(st->rollup, v, id);
}

static int fold(void *arg)
{
	struct store *st = arg;
	return st->rollup ? rollup_commit(st->rollup) : -1;
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
	    enable_wal(st) < 0 ||
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

/* What the file system says before SQLite does ("unable to open database
 * file"): a directory, a file that cannot be written, a folder that is
 * missing or where it cannot be created. */
static int check_path(struct store *st, const char *path, int create)
{
	struct stat sb;
	char dir[512];
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			snprintf(st->err, sizeof st->err, "database '%s' is a directory, not a"
				 " database file", path);
		else if (access(path, R_OK | W_OK) < 0)
			snprintf(st->err, sizeof st->err, "database '%s': %s", path, strerror(errno));
		return st->err[0] ? -1 : 0;
	}
	if (errno != ENOENT || !create) {
		snprintf(st->err, sizeof st->err, "database '%s': %s", path, strerror(errno));
		return -1;
	}
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
		 slash ? path : ".");
	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	snprintf(st->err, sizeof st->err, "database '%s' cannot be created: folder '%s': %s", path,
		 dir, strerror(errno));
	return -1;
}

static int open_db(struct store *st, const char *path, int flags)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, configure_library);
	if (path != st->path) /* a reopen passes st->path itself */
		snprintf(st->path, sizeof st->path, "%s", path);
	if (check_path(st, path, flags & SQLITE_OPEN_CREATE) < 0)
		return -1;
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return fail(st, "cannot open");
	if (configure(st) < 0 || schema_upgrade(st->db, st->path, st->err, sizeof st->err) < 0)
		return -1;
	if (rollup_catch_up(st->db) < 0)
		return fail(st, "counting sessions into the rollups");
	return 0;
}

/* The file the path names now: 0, or -1 if there is none. */
static int file_id(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return -1;
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return 0;
}

int store_open_opts(struct store **out, const char *path, const struct store_opts *o,
		    char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof *st);
	struct writer_opts wo = {o->queue_rows, o->spool_bytes, o->wait_when_full};
	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	pthread_mutex_init(&st->stats_lock, NULL);
	if (churl_is_url(path)) {
		if (chstore_open(&st->ch, path, o, err, errlen) < 0) {
			store_close(st);
			return -1;
		}
		*out = st;
		return 0;
	}
	int rc = open_db(st, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	if (rc == 0) {
		file_id(st->path, &st->dev, &st->ino);
		st->ckpt = ckpt_start(st->db, st->path); /* else SQLite checkpoints in COMMIT */
		st->rollup = rollup_new(st->db, st->path, st->err, sizeof st->err);
		st->writer = st->rollup ? writer_start(st->db, st->path, &wo, st->err,
						     sizeof st->err) : NULL;
		rc = st->writer ? 0 : -1;
		if (st->writer && st->ckpt)
			writer_before_begin(st->writer, ckpt_before_begin, st->ckpt);
	}
	if (rc == 0) {
		writer_hold(st->writer, 0);
		struct writer_fold hook = {fold_row, fold, st}; /* the one hook: rollup.h */
		writer_before_commit(st->writer, &hook);
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

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	struct store_opts o = {0, STORE_SPOOL_DEFAULT, NULL, 0};
	return store_open_opts(out, path, &o, err, errlen);
}

int store_close(struct store *st)
{
	if (!st)
		return 0;
	if (st->ch) {
		int rc = chstore_close(st->ch, st->err, sizeof st->err);
		if (rc < 0)
			fprintf(stderr, "smtptls: %s\n", st->err);
		pthread_mutex_destroy(&st->stats_lock);
		free(st);
		return rc;
	}
	int rc = writer_stop(st->writer);
	if (rc == 0 && st->rollup && st->db)
		rc = close_rollups(st);
	rollup_free(st->rollup);
	ckpt_stop(st->ckpt); /* closing the last connection checkpoints the rest */
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->stats_lock);
	free(st);
	return rc;
}

const char *store_error(const struct store *st)
{
	if (st->ch)
		return chstore_error(st->ch);
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
	if (st->ch)
		return chstore_add(st->ch, r);
	return writer_add(st->writer, r);
}

int store_commit(struct store *st)
{
	if (st->ch)
		return chstore_flush(st->ch);
	int rc = writer_hold(st->writer, 1);
	if (rc == 0)
		rc = writer_commit(st->writer);
	writer_release(st->writer);
	return rc;
}

void store_retain(struct store *st, double seconds, int live)
{
	if (st->ch)
		return; /* capture refuses --retain with ClickHouse */
	writer_hold(st->writer, 0);
	st->retain = seconds;
	st->retain_live = live;
	rollup_retain(st->rollup, seconds, live);
	writer_release(st->writer);
}

int store_tick(struct store *st, double now)
{
	(void)now; /* the writer commits on time by itself */
	if (st->ch)
		return chstore_failed(st->ch);
	return writer_failed(st->writer);
}

/* ---- runs ----------------------------------------------------------------- */

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
	if (t && *t)
		sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

static int begin_run_now(struct store *st, const struct run_info *ri, const struct run_file *f)
{
	sqlite3_stmt *s;
	char owner[OWNER_MAX];
	const char *vals[] = {ri->source, ri->source_kind, ri->filter, ri->ports, ri->sensor};
	owner_self(owner, sizeof owner);
	if (writer_commit(st->writer) < 0 ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO runs (source, source_kind, filter, ports, started,"
			       " version, status, owner, file_size, file_sha256, sensor)"
			       " VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?);",
			       -1, &s, NULL) != SQLITE_OK)
		return fail(st, "recording the run");
	for (int i = 0; i < 4; i++)
		bind_text_or_null(s, i + 1, vals[i]);
	sqlite3_bind_double(s, 5, ri->started);
	sqlite3_bind_text(s, 6, ri->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, owner, -1, SQLITE_STATIC);
	if (f)
		sqlite3_bind_int64(s, 8, (sqlite3_int64)f->size);
	if (f && f->sha256)
		sqlite3_bind_text(s, 9, f->sha256, -1, SQLITE_STATIC);
	bind_text_or_null(s, 10, vals[4]);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return fail(st, "recording the run");
	st->run_id = sqlite3_last_insert_rowid(st->db);
	snprintf(st->sensor, sizeof st->sensor, "%s", ri->sensor ? ri->sensor : "");
	writer_set_run(st->writer, st->run_id, st->sensor);
	return 0;
}

static void bind_count(sqlite3_stmt *s, int i, uint64_t v)
{
	if (v == UINT64_MAX)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

/* The run's row with the totals t; status NULL leaves it as it is (and
 * ended unset: the run goes on). */
static int run_row_now(struct store *st, const struct run_totals *t, const char *status)
{
	sqlite3_stmt *s;
	/* sessions: the rows this run wrote into this file, exactly, whatever
	 * the counters said when a reopen split the run */
	const uint64_t vals[] = {t->packets, t->bytes, t->dropped_kernel, t->dropped_iface,
				 t->flows, t->flows_evicted, t->flows_timed_out,
				 t->flows_without_payload, writer_run_rows(st->writer),
				 t->decode_errors,
				 t->truncated_packets, t->non_tcp_packets, t->fragments,
				 t->reasm_overflows, t->peak_flows, t->peak_buffered};
	int n = (int)(sizeof vals / sizeof vals[0]);
	if (writer_commit(st->writer) < 0 ||
	    sqlite3_prepare_v2(st->db, runs_update, -1, &s, NULL) != SQLITE_OK)
		return fail(st, "writing the run's counters");
	if (status)
		sqlite3_bind_double(s, 1, t->ended);
	for (int i = 0; i < n; i++)
		bind_count(s, i + 2, vals[i]);
	sqlite3_bind_text(s, n + 2, status ? status : "running", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, n + 3, st->run_id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(st, "writing the run's counters");
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

/* In one write transaction, so that of two captures of one file started
 * together, one is refused: a STORE_RUN_ code or -1. */
static int begin_unless_dup(struct store *st, const struct run_info *ri, const struct run_file *f,
			    char *dup, size_t duplen)
{
	if (writer_commit(st->writer) < 0 || exec(st, "BEGIN IMMEDIATE;", "recording the run") < 0)
		return -1;
	const char *what = NULL;
	int rc = runlog_find_file(st->db, f, ri->sensor, dup, duplen, &what);
	if (rc < 0)
		fail(st, what);
	if (rc == STORE_RUN_BEGUN)
		rc = begin_run_now(st, ri, f);
	if (rc == STORE_RUN_BEGUN && exec(st, "COMMIT;", "recording the run") < 0)
		rc = -1;
	if (rc != STORE_RUN_BEGUN)
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	if (rc < 0)
		st->run_id = 0;
	return rc;
}

int store_begin_file_run(struct store *st, const struct run_info *ri, const struct run_file *f,
			 char *dup, size_t duplen)
{
	if (st->ch)
		return chstore_begin_run(st->ch, ri, f, dup, duplen);
	int rc = writer_hold(st->writer, 1);
	if (rc == 0)
		rc = f && dup ? begin_unless_dup(st, ri, f, dup, duplen) : begin_run_now(st, ri, f);
	writer_release(st->writer);
	return rc;
}

int store_set_file_sha256(struct store *st, const char *sha256)
{
	const char *what = NULL;
	if (st->ch)
		return chstore_set_file_sha256(st->ch, sha256);
	int rc = writer_hold(st->writer, 0);
	if (rc == 0 && st->run_id &&
	    ((rc = writer_commit(st->writer)) < 0 ||
	     (rc = runlog_set_file_sha256(st->db, st->run_id, sha256, &what)) < 0) && what)
		fail(st, what);
	writer_release(st->writer);
	return rc;
}

int store_promote(struct store *st)
{
	if (st->ch)
		return 0; /* no rollups there */
	int rc = writer_hold(st->writer, 1);
	if (rc == 0 && (rc = writer_commit(st->writer)) == 0 && st->rollup)
		rc = close_rollups(st);
	writer_release(st->writer);
	return rc;
}

int store_begin_run(struct store *st, const struct run_info *ri)
{
	return store_begin_file_run(st, ri, NULL, NULL, 0);
}

int store_end_run(struct store *st, const struct run_totals *t)
{
	const char *status = t->interrupted ? "interrupted" : "complete";
	if (st->ch)
		return chstore_update_run(st->ch, t, status);
	int rc = writer_hold(st->writer, 1);
	struct run_counter deleted = {"sessions_deleted_by_retention", 0};
	if (rc == 0)
		rc = run_row_now(st, t, status); /* commits: retention deletes go too */
	deleted.value = (uint64_t)rollup_deleted(st->rollup);
	if (rc == 0 && deleted.value > 0 && st->run_id > 0)
		rc = counters_now(st, &deleted, 1);
	writer_release(st->writer);
	return rc;
}

int store_update_run(struct store *st, const struct run_totals *t)
{
	if (st->ch)
		return chstore_update_run(st->ch, t, NULL);
	int rc = writer_hold(st->writer, 0);
	if (rc == 0 && st->run_id)
		rc = run_row_now(st, t, NULL);
	writer_release(st->writer);
	return rc;
}

int store_run_counters(struct store *st, const struct run_counter *c, size_t n)
{
	if (st->ch)
		return chstore_run_counters(st->ch, c, n);
	int rc = writer_hold(st->writer, 0);
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

/* ---- reopening (SIGHUP) ----------------------------------------------------- */

/* The moved file is made whole on its own: every page of its WAL copied
 * back into it. SQLite refuses to change a moved file's journal mode
 * (SQLITE_READONLY_DBMOVED), and its -wal and -shm files stay at the path
 * (a log rotation moves the database file only), where a new database
 * would take them for its own: once the main file holds every page they
 * are only copies, and the connection's close (or failing that, unlink:
 * readers of the old file keep theirs open) removes them. Readers holding
 * old pages keep a checkpoint from copying everything: tried again until
 * REOPEN_WAIT_SECONDS. */
#define REOPEN_WAIT_SECONDS 60.0
static int backfill_old(struct store *st)
{
	double until = clock_seconds(CLOCK_MONOTONIC) + REOPEN_WAIT_SECONDS;
	for (;;) {
		int log = -1, done = -1;
		int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log,
						   &done);
		if (rc == SQLITE_OK || (log >= 0 && done == log))
			return 0;
		if (clock_seconds(CLOCK_MONOTONIC) >= until)
			return fail(st, "copying the moved database's WAL back into it (readers hold it)");
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void remove_leftovers(const char *path)
{
	static const char *const suffixes[] = {"-wal", "-shm", "-journal"};
	char name[560];
	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		unlink(name);
	}
}

static void stop_ckpt(struct store *st)
{
	struct ckpt_stats c;
	pthread_mutex_lock(&st->stats_lock);
	ckpt_stats(st->ckpt, &c);
	st->ckpt_before.passes += c.passes;
	st->ckpt_before.restarts += c.restarts;
	st->ckpt_before.reader_held += c.reader_held;
	st->ckpt_before.forced += c.forced;
	ckpt_stop(st->ckpt);
	st->ckpt = NULL;
	pthread_mutex_unlock(&st->stats_lock);
	writer_before_begin(st->writer, NULL, NULL);
}

static void start_ckpt(struct store *st)
{
	pthread_mutex_lock(&st->stats_lock);
	st->ckpt = ckpt_start(st->db, st->path);
	pthread_mutex_unlock(&st->stats_lock);
	writer_before_begin(st->writer, st->ckpt ? ckpt_before_begin : NULL, st->ckpt);
}

/* Held: the run in the open database ends, the moved file is made whole,
 * and a database at the path takes its place. -1 with st->err: while the
 * old one could not be let go, the capture goes on writing to it (1 in
 * *kept); after, the writer has no database and the capture ends. */
static int switch_files(struct store *st, const struct run_totals *done,
			const struct run_info *ri, int *kept)
{
	*kept = 1;
	if (writer_commit(st->writer) < 0 || run_row_now(st, done, "reopened") < 0 ||
	    close_rollups(st) < 0)
		return -1;
	stop_ckpt(st);
	if (backfill_old(st) < 0) {
		start_ckpt(st);
		return -1;
	}
	*kept = 0;
	writer_rebind(st->writer, NULL); /* its statements, or the close fails */
	rollup_free(st->rollup);
	st->rollup = NULL;
	sqlite3_close(st->db);
	st->db = NULL;
	st->run_id = 0;
	dev_t dev;
	ino_t ino;
	if (file_id(st->path, &dev, &ino) < 0) /* no new file made meanwhile by another */
		remove_leftovers(st->path);
	st->err[0] = '\0'; /* open_db reads it */
	if (open_db(st, st->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0)
		return -1;
	file_id(st->path, &st->dev, &st->ino);
	start_ckpt(st);
	if (!(st->rollup = rollup_new(st->db, st->path, st->err, sizeof st->err)))
		return -1;
	rollup_retain(st->rollup, st->retain, st->retain_live);
	if (writer_rebind(st->writer, st->db) < 0 || begin_run_now(st, ri, NULL) < 0)
		return -1;
	atomic_fetch_add(&st->reopens, 1);
	return 0;
}

int store_reopen(struct store *st, const struct run_totals *done, const struct run_info *ri)
{
	dev_t dev;
	ino_t ino;
	int kept = 1;
	if (st->ch)
		return 0; /* no file to move */
	if (file_id(st->path, &dev, &ino) == 0 && dev == st->dev && ino == st->ino)
		return 0; /* nothing moved it */
	int rc = writer_hold(st->writer, 0);
	if (rc == 0)
		rc = switch_files(st, done, ri, &kept);
	if (rc < 0 && !kept)
		writer_fail(st->writer); /* no database to write to: the capture ends */
	writer_release(st->writer);
	return rc < 0 ? -1 : 1;
}

/* ---- runs that did not end ------------------------------------------------------- */

int store_mark_unfinished(struct store *st, void (*line)(void *ctx, const char *text), void *ctx)
{
	if (st->ch)
		return 0; /* ClickHouse: runs are not marked (README) */
	const char *what = NULL;
	int rc = writer_hold(st->writer, 1);
	if (rc == 0 && (rc = writer_commit(st->writer)) == 0 &&
	    (rc = runlog_mark_unfinished(st->db, line, ctx, &what)) < 0) {
		fail(st, what);
		sqlite3_exec(st->db, "ROLLBACK;", NULL, NULL, NULL);
	}
	writer_release(st->writer);
	return rc;
}

/* ---- counters --------------------------------------------------------------- */

void store_stats(const struct store *st, struct store_stats *s)
{
	struct writer_stats w;
	struct ckpt_stats c;
	if (st->ch) {
		chstore_stats(st->ch, s);
		return;
	}
	writer_stats(st->writer, &w);
	pthread_mutex_lock((pthread_mutex_t *)&st->stats_lock);
	ckpt_stats(st->ckpt, &c);
	c.passes += st->ckpt_before.passes;
	c.restarts += st->ckpt_before.restarts;
	c.reader_held += st->ckpt_before.reader_held;
	c.forced += st->ckpt_before.forced;
	pthread_mutex_unlock((pthread_mutex_t *)&st->stats_lock);
	*s = (struct store_stats){w.queue_rows, w.queue_peak, w.queue_cap, w.spool_rows,
				  w.spooled_total, w.lost, w.written, w.busy_retries, c.passes,
				  c.restarts, c.reader_held, c.wal_frames, c.forced,
				  atomic_load_explicit(&st->reopens, memory_order_relaxed)};
}

void store_thread_cpu(const struct store *st, double *writer, double *checkpointer)
{
	if (st->ch) {
		*writer = chstore_cpu(st->ch);
		*checkpointer = 0;
		return;
	}
	*writer = writer_cpu(st->writer);
	*checkpointer = ckpt_cpu(st->ckpt);
}
