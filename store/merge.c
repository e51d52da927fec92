/* Merging sensor databases (see merge.h for the rules). The merge is
 * written into a temporary copy of the output, with each input attached
 * to it read-only as "src"; rows go from src to main through INSERT ...
 * SELECT, so no value passes through C. The only SQL text built at run
 * time is the column lists, taken from the output's own schema and checked
 * to be plain identifiers. */
#define _POSIX_C_SOURCE 200809L
#include "merge.h"

#include "churl.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rollup.h"
#include "schema.h"
#include "store.h"

#define MAX_COLS 96
#define NAME_MAX_LEN 64
#define SQL_MAX 8192
#define MAX_RUNS 10000000

struct columns {
	char name[MAX_COLS][NAME_MAX_LEN];
	size_t n;
};

struct run_map {
	int64_t old_id, new_id;
	int added;
	int64_t copied, duplicate, replaced;
};

struct merge {
	sqlite3 *out;            /* the temporary output; the input attached as src */
	const char *out_path, *in_path;
	char tmp_path[PATH_MAX]; /* the merge is written here, then renamed */
	char in_copy[PATH_MAX];  /* an older input, migrated in a copy; or "" */
	double tolerance, now;
	struct merge_stats *st;
	struct columns scols, rcols; /* output session_rows / runs columns, ids left out */
	struct run_map *runs;
	size_t nruns, cap;
	char *err;
	size_t errlen;
};

/* ---- errors and small helpers ------------------------------------------ */

static int out_fail(struct merge *mg, const char *what)
{
	snprintf(mg->err, mg->errlen, "database '%s': %s: %s", mg->out_path, what,
		 sqlite3_errmsg(mg->out));
	return -1;
}

static int in_fail(struct merge *mg, const char *what)
{
	snprintf(mg->err, mg->errlen, "database '%s': %s: %s", mg->in_path, what,
		 sqlite3_errmsg(mg->out));
	return -1;
}

static int plain_identifier(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && n < NAME_MAX_LEN && s[n] == '\0';
}

static sqlite3_stmt *out_prepare(struct merge *mg, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(mg->out, sql, -1, &s, NULL) != SQLITE_OK) {
		out_fail(mg, "preparing the merge");
		return NULL;
	}
	return s;
}

/* Runs a statement that returns no rows, then resets it. */
static int out_done(struct merge *mg, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : out_fail(mg, what);
}

static void remove_db(const char *path)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char name[PATH_MAX + 16];
	for (size_t i = 0; path[0] && i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		unlink(name);
	}
}

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* An empty file beside near (same folder), its name in out; mode as a new
 * database of this user gets (umask applied). */
static int make_temp(const char *near, const char *what, char *out, size_t n)
{
	mode_t mask = umask(0);
	umask(mask);
	if ((size_t)snprintf(out, n, "%s.%s-XXXXXX", near, what) >= n)
		return -1;
	int fd = mkstemp(out);
	if (fd < 0) {
		out[0] = '\0';
		return -1;
	}
	int rc = fchmod(fd, 0666 & ~mask);
	close(fd);
	return rc;
}

/* ---- copies through SQLite's backup ------------------------------------- */

/* Copies the database at from (already open as src) into the file to. */
static int backup(sqlite3 *src, const char *to)
{
	sqlite3 *dst;
	int rc = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE, NULL);
	sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(dst, "main", src, "main") : NULL;
	if (b) {
		rc = sqlite3_backup_step(b, -1);
		rc = sqlite3_backup_finish(b) == SQLITE_OK && rc == SQLITE_DONE ? 0 : -1;
	} else
		rc = -1;
	sqlite3_close(dst);
	return rc;
}

/* Opens path (flags), checks it is an smtptls database this program
 * reads and returns its version, or -1 with the error naming path. */
static int open_checked(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database '%s': cannot open: %s", path, sqlite3_errmsg(*db));
		return -1;
	}
	sqlite3_busy_timeout(*db, 5000);
	int version = schema_version(*db, path, err, errlen);
	if (version == 0)
		snprintf(err, errlen, "database '%s' is not an smtptls database", path);
	return version > 0 ? version : -1;
}

/* ---- the output ----------------------------------------------------------- */

/* The output's columns of table (id and run_id left out). */
static int read_columns(struct merge *mg, const char *table, struct columns *c)
{
	sqlite3_stmt *s = out_prepare(mg, "SELECT name FROM pragma_table_info(?1) ORDER BY cid;");
	int rc;
	if (!s)
		return -1;
	c->n = 0;
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		if (!name || !strcmp(name, "id") || !strcmp(name, "run_id"))
			continue;
		if (!plain_identifier(name) || c->n == MAX_COLS) {
			sqlite3_finalize(s);
			snprintf(mg->err, mg->errlen, "database '%s': unexpected column '%s'",
				 mg->out_path, name);
			return -1;
		}
		snprintf(c->name[c->n++], NAME_MAX_LEN, "%s", name);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : out_fail(mg, "reading the schema");
}

/* The temporary output: a copy of the output when there is one (opened
 * for writing, so that closing it copies its WAL into it), brought up to
 * this schema by the store. */
static int create_output(struct merge *mg)
{
	struct stat sb;
	struct store *st;
	if (make_temp(mg->out_path, "merge", mg->tmp_path, sizeof mg->tmp_path) < 0) {
		snprintf(mg->err, mg->errlen, "database '%s': cannot create a file beside it",
			 mg->out_path);
		return -1;
	}
	if (stat(mg->out_path, &sb) == 0) {
		sqlite3 *db = NULL;
		int rc = open_checked(mg->out_path, SQLITE_OPEN_READWRITE, &db, mg->err, mg->errlen);
		if (rc > 0 && (rc = backup(db, mg->tmp_path)) < 0)
			snprintf(mg->err, mg->errlen, "database '%s': cannot copy it", mg->out_path);
		sqlite3_close(db);
		if (rc < 0 || chmod(mg->tmp_path, sb.st_mode & 07777) < 0)
			return rc < 0 ? -1 : out_fail(mg, "cannot copy its mode");
	}
	if (store_open(&st, mg->tmp_path, mg->err, mg->errlen) < 0)
		return -1;
	return store_close(st) < 0 ? -1 : 0;
}

static int open_output(struct merge *mg)
{
	if (create_output(mg) < 0)
		return -1;
	if (sqlite3_open_v2(mg->tmp_path, &mg->out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
			    NULL) != SQLITE_OK)
		return out_fail(mg, "cannot open");
	sqlite3_busy_timeout(mg->out, 5000);
	if (sqlite3_exec(mg->out, "PRAGMA foreign_keys = ON;", NULL, NULL, NULL) != SQLITE_OK)
		return out_fail(mg, "starting the merge");
	if (read_columns(mg, "session_rows", &mg->scols) < 0 ||
	    read_columns(mg, "runs", &mg->rcols) < 0)
		return -1;
	return 0;
}

/* Closes the merge and puts it in the output's place. The output's WAL
 * must hold nothing: frames there would be replayed onto the merge (a
 * program has the output open, or was killed writing it). An empty one
 * and the shared-memory index are left by readers; they go. */
static int finish_output(struct merge *mg)
{
	char wal[PATH_MAX + 8], shm[PATH_MAX + 8];
	struct stat sb;
	int rc = sqlite3_close(mg->out) == SQLITE_OK ? 0 : out_fail(mg, "closing the merge");
	mg->out = NULL; /* the last connection: the WAL went into the file */
	snprintf(wal, sizeof wal, "%s-wal", mg->out_path);
	snprintf(shm, sizeof shm, "%s-shm", mg->out_path);
	if (rc == 0 && stat(wal, &sb) == 0 && sb.st_size > 0) {
		snprintf(mg->err, mg->errlen, "database '%s' is in use (%s is not empty): merge"
			 " when no program has it open", mg->out_path, wal);
		return -1;
	}
	if (rc == 0 && ((unlink(wal) < 0 && errno != ENOENT) || (unlink(shm) < 0 && errno != ENOENT) ||
			rename(mg->tmp_path, mg->out_path) < 0)) {
		snprintf(mg->err, mg->errlen, "database '%s': cannot replace it with the merge: %s",
			 mg->out_path, strerror(errno));
		return -1;
	}
	return rc;
}

/* ---- an input ----------------------------------------------------------- */

/* "file:PATH?mode=ro" with every byte that is not plain percent-encoded. */
static int readonly_uri(const char *path, char *out, size_t n)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789/._-";
	size_t used = (size_t)snprintf(out, n, "file:");
	for (const char *p = path; *p && used + 4 < n; p++)
		used += (size_t)snprintf(out + used, n - used, strchr(plain, *p) ? "%c" : "%%%02X",
					 (unsigned char)*p);
	return used + 9 < n && snprintf(out + used, n - used, "?mode=ro") == 8 ? 0 : -1;
}

/* An input at an older schema version is copied and the copy migrated. */
static int migrated_copy(struct merge *mg, sqlite3 *in)
{
	char err[512];
	if (make_temp(mg->out_path, "input", mg->in_copy, sizeof mg->in_copy) < 0 ||
	    backup(in, mg->in_copy) < 0) {
		snprintf(mg->err, mg->errlen, "database '%s': cannot copy it to migrate it",
			 mg->in_path);
		return -1;
	}
	if (store_migrate(mg->in_copy, err, sizeof err) < 0) {
		snprintf(mg->err, mg->errlen, "database '%s': migrating a copy of it: %s",
			 mg->in_path, err);
		return -1;
	}
	return 0;
}

static int attach_input(struct merge *mg, const char *path)
{
	sqlite3 *in = NULL;
	sqlite3_stmt *s;
	char uri[3 * PATH_MAX + 16];
	mg->in_path = path;
	mg->in_copy[0] = '\0';
	if (same_file(path, mg->out_path)) {
		snprintf(mg->err, mg->errlen, "database '%s' is the output of the merge", path);
		return -1;
	}
	int version = open_checked(path, SQLITE_OPEN_READONLY, &in, mg->err, mg->errlen);
	int rc = version < 0 ? -1 : version < SCHEMA_VERSION ? migrated_copy(mg, in) : 0;
	sqlite3_close(in);
	if (rc < 0)
		return -1;
	if (readonly_uri(mg->in_copy[0] ? mg->in_copy : path, uri, sizeof uri) < 0) {
		snprintf(mg->err, mg->errlen, "database '%s': name too long", path);
		return -1;
	}
	if (!(s = out_prepare(mg, "ATTACH ?1 AS src;")))
		return -1;
	sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : in_fail(mg, "cannot open");
}

static void detach_input(struct merge *mg)
{
	sqlite3_exec(mg->out, "DETACH src;", NULL, NULL, NULL);
	remove_db(mg->in_copy);
	mg->in_copy[0] = '\0';
}

/* ---- statements built from column lists -------------------------------- */

/* "INSERT INTO main.table (run_id?, a, b, ...) SELECT ?, a, b, ... FROM
 * src.table WHERE id = ?". */
static sqlite3_stmt *copy_statement(struct merge *mg, const char *table,
				    const struct columns *c, int with_run)
{
	char sql[SQL_MAX];
	size_t used = (size_t)snprintf(sql, sizeof sql, "INSERT INTO main.%s (%s", table,
				       with_run ? "run_id" : "");
	for (size_t i = 0; i < c->n && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%s",
					 i || with_run ? ", " : "", c->name[i]);
	if (used < sizeof sql)
		used += (size_t)snprintf(sql + used, sizeof sql - used, ") SELECT %s",
					 with_run ? "?1" : "");
	for (size_t i = 0; i < c->n && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%s",
					 i || with_run ? ", " : "", c->name[i]);
	if (used < sizeof sql)
		used += (size_t)snprintf(sql + used, sizeof sql - used,
					 " FROM src.%s WHERE id = ?2;", table);
	return used < sizeof sql ? out_prepare(mg, sql) : NULL;
}

/* ---- runs -------------------------------------------------------------- */

static struct run_map *map_run(struct merge *mg, int64_t old_id)
{
	for (size_t i = 0; i < mg->nruns; i++)
		if (mg->runs[i].old_id == old_id)
			return &mg->runs[i];
	return NULL;
}

static struct run_map *new_map(struct merge *mg, int64_t old_id, int64_t new_id, int added)
{
	if (mg->nruns == mg->cap) {
		size_t cap = mg->cap ? mg->cap * 2 : 64;
		struct run_map *r = cap <= MAX_RUNS ? realloc(mg->runs, cap * sizeof *r) : NULL;
		if (!r)
			return NULL;
		mg->runs = r;
		mg->cap = cap;
	}
	mg->runs[mg->nruns] = (struct run_map){old_id, new_id, added, 0, 0, 0};
	return &mg->runs[mg->nruns++];
}

/* The id of the same run already in the output, or 0; -1 on error. */
static int64_t existing_run(struct merge *mg, int64_t old_id)
{
	sqlite3_stmt *s = out_prepare(mg, "SELECT o.id FROM main.runs o JOIN src.runs i"
					  " ON o.source IS i.source AND o.source_kind IS i.source_kind"
					  " AND o.started IS i.started AND o.version IS i.version"
					  " WHERE i.id = ?1 ORDER BY o.id LIMIT 1;");
	int64_t id = 0;
	if (!s)
		return -1;
	sqlite3_bind_int64(s, 1, old_id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? id : in_fail(mg, "reading its runs");
}

/* Where the run came from: the input's own run_origins row if it has one
 * (it was merged before), else this input and its run id; and the run's
 * named counters. */
static int record_origin(struct merge *mg, int64_t new_id, int64_t old_id)
{
	sqlite3_stmt *o = out_prepare(mg, "INSERT INTO main.run_origins (run_id, origin_db,"
					  " origin_run_id, merged) SELECT ?1, coalesce((SELECT"
					  " origin_db FROM src.run_origins WHERE run_id = ?3), ?2),"
					  " coalesce((SELECT origin_run_id FROM src.run_origins"
					  " WHERE run_id = ?3), ?3), ?4;");
	sqlite3_stmt *c = o ? out_prepare(mg, "INSERT INTO main.run_counters (run_id, name, value)"
					      " SELECT ?1, name, value FROM src.run_counters"
					      " WHERE run_id = ?2;") : NULL;
	char abs[PATH_MAX];
	int rc = c ? 0 : -1;
	if (rc == 0) {
		sqlite3_bind_int64(o, 1, new_id);
		sqlite3_bind_text(o, 2, realpath(mg->in_path, abs) ? abs : mg->in_path, -1,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(o, 3, old_id);
		sqlite3_bind_double(o, 4, mg->now);
		sqlite3_bind_int64(c, 1, new_id);
		sqlite3_bind_int64(c, 2, old_id);
		rc = out_done(mg, o, "recording where a run came from");
	}
	if (rc == 0)
		rc = out_done(mg, c, "copying a run's counters");
	sqlite3_finalize(o);
	sqlite3_finalize(c);
	return rc;
}

static int copy_run(struct merge *mg, int64_t old_id, sqlite3_stmt *ins)
{
	int64_t id = existing_run(mg, old_id);
	if (id < 0)
		return -1;
	if (id > 0) {
		mg->st->runs_present++;
		return new_map(mg, old_id, id, 0) ? 0 : out_fail(mg, "out of memory");
	}
	sqlite3_bind_int64(ins, 2, old_id);
	if (out_done(mg, ins, "copying a run") < 0)
		return -1;
	id = sqlite3_last_insert_rowid(mg->out);
	mg->st->runs_added++;
	if (!new_map(mg, old_id, id, 1))
		return out_fail(mg, "out of memory");
	return record_origin(mg, id, old_id);
}

static int copy_runs(struct merge *mg)
{
	sqlite3_stmt *in = out_prepare(mg, "SELECT id FROM src.runs ORDER BY id;");
	sqlite3_stmt *ins = in ? copy_statement(mg, "runs", &mg->rcols, 0) : NULL;
	int rc = in && ins ? 0 : -1;
	while (rc == 0 && (rc = sqlite3_step(in)) == SQLITE_ROW)
		rc = copy_run(mg, sqlite3_column_int64(in, 0), ins);
	if (rc != 0 && rc != SQLITE_DONE && !mg->err[0])
		in_fail(mg, "reading its runs");
	sqlite3_finalize(in);
	sqlite3_finalize(ins);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- sessions ------------------------------------------------------------ */

/* The more complete row: a known transport, then a ServerHello seen, then
 * no anomalies; then more packets. */
#define SCORE(t) \
	" (" t ".transport <> 0) * 4 + (" t ".tls_version IS NOT NULL) * 2 + (" t ".anomalies = 0) "

/* The input's rows: id, run, score, packets, then the connection. */
static const char sessions_sql[] =
	"SELECT id, run_id," SCORE("i") ", packets, server_ip, server_port, client_ip,"
	" client_port, ts_start FROM src.session_rows i ORDER BY id;";

/* The same session in the output, if there is one: the nearest start
 * within the tolerance; its id, score and packets. */
static const char find_sql[] =
	"SELECT id," SCORE("o") ", packets FROM main.session_rows o"
	" WHERE server_ip = ?1 AND server_port = ?2 AND client_ip = ?3 AND client_port = ?4"
	" AND ts_start BETWEEN ?5 - ?6 AND ?5 + ?6 ORDER BY abs(ts_start - ?5), id LIMIT 1;";

struct session_copy {
	sqlite3_stmt *in, *ins, *find, *del;
};

/* The id of the same session in the output (0 if none), the find
 * statement left on its row; -1 on error. */
static int64_t find_same(struct merge *mg, struct session_copy *sc)
{
	sqlite3_reset(sc->find);
	for (int i = 0; i < 5; i++)
		sqlite3_bind_value(sc->find, i + 1, sqlite3_column_value(sc->in, i + 4));
	sqlite3_bind_double(sc->find, 6, mg->tolerance);
	int rc = sqlite3_step(sc->find);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(sc->find, 0);
	return rc == SQLITE_DONE ? 0 : out_fail(mg, "looking for a session");
}

/* 1 when the input row is more complete than the output row found. */
static int better(struct session_copy *sc)
{
	int64_t mine = sqlite3_column_int64(sc->in, 2), theirs = sqlite3_column_int64(sc->find, 1);
	if (mine != theirs)
		return mine > theirs;
	return sqlite3_column_int64(sc->in, 3) > sqlite3_column_int64(sc->find, 2);
}

static int copy_session(struct merge *mg, struct session_copy *sc)
{
	struct run_map *run = map_run(mg, sqlite3_column_int64(sc->in, 1));
	int64_t same = find_same(mg, sc);
	if (same < 0)
		return -1;
	if (same > 0 && !better(sc)) {
		mg->st->sessions_duplicate++;
		if (run)
			run->duplicate++;
		return 0;
	}
	if (same > 0) {
		sqlite3_reset(sc->find);
		sqlite3_bind_int64(sc->del, 1, same);
		if (out_done(mg, sc->del, "replacing a session") < 0)
			return -1;
	}
	*(same > 0 ? &mg->st->sessions_replaced : &mg->st->sessions_copied) += 1;
	if (run)
		*(same > 0 ? &run->replaced : &run->copied) += 1;
	if (run)
		sqlite3_bind_int64(sc->ins, 1, run->new_id);
	sqlite3_bind_int64(sc->ins, 2, sqlite3_column_int64(sc->in, 0));
	return out_done(mg, sc->ins, "copying a session");
}

static int copy_sessions(struct merge *mg)
{
	struct session_copy sc = {out_prepare(mg, sessions_sql), NULL, NULL, NULL};
	int rc;
	sc.ins = sc.in ? copy_statement(mg, "session_rows", &mg->scols, 1) : NULL;
	sc.find = sc.ins ? out_prepare(mg, find_sql) : NULL;
	sc.del = sc.find ? out_prepare(mg, "DELETE FROM main.session_rows WHERE id = ?1;") : NULL;
	rc = sc.del &&
	     sqlite3_exec(mg->out, "INSERT OR IGNORE INTO main.certificates"
				   " SELECT * FROM src.certificates;", NULL, NULL, NULL) == SQLITE_OK
	     ? 0 : -1;
	if (sc.del && rc < 0)
		in_fail(mg, "copying its certificates");
	while (rc == 0 && (rc = sqlite3_step(sc.in)) == SQLITE_ROW)
		rc = copy_session(mg, &sc);
	if (rc != 0 && rc != SQLITE_DONE && !mg->err[0])
		in_fail(mg, "reading its sessions");
	sqlite3_finalize(sc.in);
	sqlite3_finalize(sc.ins);
	sqlite3_finalize(sc.find);
	sqlite3_finalize(sc.del);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int update_origins(struct merge *mg)
{
	sqlite3_stmt *s = out_prepare(mg, "UPDATE main.run_origins SET sessions_copied = ?1,"
					  " sessions_duplicate = ?2, sessions_replaced = ?3"
					  " WHERE run_id = ?4;");
	int rc = s ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < mg->nruns; i++) {
		if (!mg->runs[i].added)
			continue;
		sqlite3_bind_int64(s, 1, mg->runs[i].copied);
		sqlite3_bind_int64(s, 2, mg->runs[i].duplicate);
		sqlite3_bind_int64(s, 3, mg->runs[i].replaced);
		sqlite3_bind_int64(s, 4, mg->runs[i].new_id);
		rc = out_done(mg, s, "recording the merge counts");
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- the merge ------------------------------------------------------------- */

static int merge_input(struct merge *mg, const char *path)
{
	int rc;
	mg->nruns = 0;
	if (attach_input(mg, path) < 0) {
		remove_db(mg->in_copy);
		return -1;
	}
	/* ATTACH and DETACH cannot be inside a transaction */
	rc = sqlite3_exec(mg->out, "BEGIN IMMEDIATE;", NULL, NULL, NULL) == SQLITE_OK
	     ? 0 : out_fail(mg, "starting the merge");
	if (rc == 0)
		rc = copy_runs(mg);
	if (rc == 0)
		rc = copy_sessions(mg);
	if (rc == 0)
		rc = update_origins(mg);
	if (rc == 0 && sqlite3_exec(mg->out, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
		rc = out_fail(mg, "committing the merge");
	if (rc < 0)
		sqlite3_exec(mg->out, "ROLLBACK;", NULL, NULL, NULL);
	detach_input(mg);
	return rc;
}

/* Certificates no session refers to any more (their sessions replaced). */
static int drop_orphans(struct merge *mg)
{
	return sqlite3_exec(mg->out, "DELETE FROM main.certificates WHERE sha256 NOT IN"
				     " (SELECT cert_sha256 FROM main.session_rows"
				     " WHERE cert_sha256 IS NOT NULL);", NULL, NULL, NULL) == SQLITE_OK
	       ? 0 : out_fail(mg, "dropping unused certificates");
}

/* The rollups of the merged sessions, computed again: rows were copied
 * and replaced. */
static int rebuild_rollups(struct merge *mg)
{
	if (sqlite3_exec(mg->out, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK)
		return out_fail(mg, "counting the sessions into the rollups");
	if (rollup_rebuild(mg->out) < 0 ||
	    sqlite3_exec(mg->out, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		out_fail(mg, "counting the sessions into the rollups");
		sqlite3_exec(mg->out, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int store_merge(const char *out_path, const char *const *inputs, size_t n, double tolerance,
		struct merge_stats *st, char *err, size_t errlen)
{
	struct merge *mg;
	int rc;
	memset(st, 0, sizeof *st);
	for (size_t i = 0; i <= n; i++) {
		const char *p = i ? inputs[i - 1] : out_path;
		if (churl_is_url(p)) { /* a fleet on ClickHouse needs no merge */
			char shown[768];
			churl_redact(p, shown, sizeof shown);
			snprintf(err, errlen, "database '%s': merge combines SQLite files only", shown);
			return -1;
		}
	}
	mg = calloc(1, sizeof *mg);
	if (!mg) {
		snprintf(err, errlen, "database '%s': out of memory", out_path);
		return -1;
	}
	err[0] = '\0';
	mg->out_path = out_path;
	mg->tolerance = tolerance;
	mg->st = st;
	mg->now = (double)time(NULL);
	mg->err = err;
	mg->errlen = errlen;
	rc = open_output(mg);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = merge_input(mg, inputs[i]);
	if (rc == 0)
		rc = drop_orphans(mg);
	if (rc == 0)
		rc = rebuild_rollups(mg);
	if (rc == 0)
		rc = finish_output(mg);
	sqlite3_close(mg->out);
	if (rc < 0)
		remove_db(mg->tmp_path);
	free(mg->runs);
	free(mg);
	return rc;
}
