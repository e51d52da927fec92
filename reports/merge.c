/* Merging sensor databases (see merge.h for the rules). Values are copied
 * through bound parameters; the only SQL text built at run time is the
 * column lists, taken from the output's own schema and checked to be plain
 * identifiers. */
#define _POSIX_C_SOURCE 200809L
#include "merge.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../store/store.h"
#include "rdb.h"

#define MAX_COLS 96
#define NAME_MAX_LEN 64
#define SQL_MAX 8192
#define MAX_RUNS 10000000

static const char origins_schema[] =
	"CREATE TABLE IF NOT EXISTS run_origins ("
	" run_id INTEGER PRIMARY KEY REFERENCES runs(id),"
	" origin_db TEXT NOT NULL, origin_run_id INTEGER NOT NULL, merged REAL NOT NULL,"
	" sessions_copied INTEGER NOT NULL DEFAULT 0,"
	" sessions_duplicate INTEGER NOT NULL DEFAULT 0,"
	" sessions_replaced INTEGER NOT NULL DEFAULT 0);";

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
	sqlite3 *out;
	const char *out_path, *in_path;
	struct rdb *in;
	double tolerance, now;
	struct merge_stats *st;
	struct columns scols, rcols; /* output sessions / runs columns, ids left out */
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

static int in_fail(struct merge *mg)
{
	snprintf(mg->err, mg->errlen, "%s", rdb_error(mg->in));
	return -1;
}

static int plain_identifier(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return n > 0 && n < NAME_MAX_LEN && s[n] == '\0';
}

static int column_index(const struct columns *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return (int)i;
	return -1;
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

/* ---- the output's schema ----------------------------------------------- */

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

static int open_output(struct merge *mg)
{
	struct store *st;
	if (store_open(&st, mg->out_path, mg->err, mg->errlen) < 0)
		return -1;
	store_close(st);
	if (sqlite3_open_v2(mg->out_path, &mg->out, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		return out_fail(mg, "cannot open");
	sqlite3_busy_timeout(mg->out, 5000);
	if (sqlite3_exec(mg->out, "PRAGMA foreign_keys = ON;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(mg->out, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(mg->out, origins_schema, NULL, NULL, NULL) != SQLITE_OK)
		return out_fail(mg, "starting the merge");
	if (read_columns(mg, "sessions", &mg->scols) < 0 || read_columns(mg, "runs", &mg->rcols) < 0)
		return -1;
	return 0;
}

/* ---- statements built from column lists -------------------------------- */

/* "SELECT id[, run_id], a, b, NULL, ... FROM table ORDER BY id": NULL for
 * the columns the input lacks. */
static sqlite3_stmt *select_input(struct merge *mg, const char *table, const struct columns *c,
				  int with_run)
{
	char sql[SQL_MAX];
	size_t used = (size_t)snprintf(sql, sizeof sql, "SELECT id%s", with_run ? ", run_id" : "");
	for (size_t i = 0; i < c->n && used < sizeof sql; i++) {
		int has = with_run ? rdb_has_column(mg->in, c->name[i]) : 1;
		used += (size_t)snprintf(sql + used, sizeof sql - used, ", %s",
					 has ? c->name[i] : "NULL");
	}
	if (used < sizeof sql)
		snprintf(sql + used, sizeof sql - used, " FROM %s ORDER BY id;", table);
	sqlite3_stmt *s = rdb_prepare(mg->in, sql);
	if (!s)
		in_fail(mg);
	return s;
}

/* "INSERT INTO table (run_id?, a, b, ...) VALUES (?, ...)". */
static sqlite3_stmt *insert_output(struct merge *mg, const char *table, const struct columns *c,
				   int with_run)
{
	char sql[SQL_MAX];
	size_t used = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (%s", table,
				       with_run ? "run_id" : "");
	for (size_t i = 0; i < c->n && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%s",
					 i || with_run ? ", " : "", c->name[i]);
	used += (size_t)snprintf(sql + used, used < sizeof sql ? sizeof sql - used : 0,
				 ") VALUES (%s", with_run ? "?" : "");
	for (size_t i = 0; i < c->n && used < sizeof sql; i++)
		used += (size_t)snprintf(sql + used, sizeof sql - used, "%s?",
					 i || with_run ? ", " : "");
	if (used < sizeof sql)
		snprintf(sql + used, sizeof sql - used, ");");
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

/* The id of the same run already in the output, or 0. */
static int64_t existing_run(struct merge *mg, sqlite3_stmt *in)
{
	static const char *const keys[] = {"source", "source_kind", "started", "version"};
	sqlite3_stmt *s = out_prepare(mg, "SELECT id FROM runs WHERE source IS ?1 AND"
					  " source_kind IS ?2 AND started IS ?3 AND version IS ?4;");
	int64_t id = 0;
	if (!s)
		return -1;
	for (int k = 0; k < 4; k++) {
		int i = column_index(&mg->rcols, keys[k]);
		if (i >= 0)
			sqlite3_bind_value(s, k + 1, sqlite3_column_value(in, i + 1));
	}
	if (sqlite3_step(s) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return id;
}

/* Where the run came from: the input's own run_origins row if it has one
 * (it was merged before), else this input and its run id. */
static int record_origin(struct merge *mg, int64_t new_id, int64_t old_id)
{
	sqlite3_stmt *o = out_prepare(mg, "INSERT INTO run_origins (run_id, origin_db,"
					  " origin_run_id, merged) VALUES (?1, ?2, ?3, ?4);");
	sqlite3_stmt *i = NULL;
	char abs[PATH_MAX];
	int64_t origins = 0;
	if (!o)
		return -1;
	sqlite3_bind_int64(o, 1, new_id);
	sqlite3_bind_text(o, 2, realpath(mg->in_path, abs) ? abs : mg->in_path, -1,
			  SQLITE_TRANSIENT);
	sqlite3_bind_int64(o, 3, old_id);
	sqlite3_bind_double(o, 4, mg->now);
	if (rdb_scalar(mg->in, "SELECT count(*) FROM sqlite_master WHERE name = 'run_origins';",
		       &origins) == 0 && origins &&
	    (i = rdb_prepare(mg->in, "SELECT origin_db, origin_run_id FROM run_origins"
				     " WHERE run_id = :run;")) != NULL) {
		rdb_bind_int(i, ":run", old_id);
		if (sqlite3_step(i) == SQLITE_ROW) {
			sqlite3_bind_value(o, 2, sqlite3_column_value(i, 0));
			sqlite3_bind_value(o, 3, sqlite3_column_value(i, 1));
		}
	}
	int rc = out_done(mg, o, "recording where a run came from");
	sqlite3_finalize(i);
	sqlite3_finalize(o);
	return rc;
}

static int copy_run(struct merge *mg, sqlite3_stmt *in, sqlite3_stmt *ins)
{
	int64_t old_id = sqlite3_column_int64(in, 0), id = existing_run(mg, in);
	if (id < 0)
		return -1;
	if (id > 0) {
		mg->st->runs_present++;
		return new_map(mg, old_id, id, 0) ? 0 : out_fail(mg, "out of memory");
	}
	for (size_t c = 0; c < mg->rcols.n; c++)
		sqlite3_bind_value(ins, (int)c + 1, sqlite3_column_value(in, (int)c + 1));
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
	sqlite3_stmt *in = select_input(mg, "runs", &mg->rcols, 0);
	sqlite3_stmt *ins = in ? insert_output(mg, "runs", &mg->rcols, 0) : NULL;
	int rc = in && ins ? 0 : -1;
	while (rc == 0 && (rc = rdb_step(mg->in, in)) == SQLITE_ROW)
		rc = copy_run(mg, in, ins);
	if (rc != 0 && rc != SQLITE_DONE && !mg->err[0])
		in_fail(mg);
	sqlite3_finalize(in);
	sqlite3_finalize(ins);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- sessions ------------------------------------------------------------ */

struct row_key {
	int client_ip, client_port, server_ip, server_port, ts_start, transport, tls_version,
		anomalies, packets;
};

struct session_copy {
	sqlite3_stmt *in, *ins, *find, *del;
	struct row_key k; /* input column numbers */
};

static int key_col(struct merge *mg, const char *name)
{
	int i = column_index(&mg->scols, name);
	return i < 0 ? -1 : i + 2; /* after id, run_id */
}

static int64_t score(sqlite3_stmt *s, const struct row_key *k)
{
	const char *transport = (const char *)sqlite3_column_text(s, k->transport);
	return (transport && strcmp(transport, "unknown") ? 4 : 0) +
	       (sqlite3_column_type(s, k->tls_version) != SQLITE_NULL ? 2 : 0) +
	       (sqlite3_column_type(s, k->anomalies) == SQLITE_NULL ? 1 : 0);
}

/* 1 when the input row is more complete than the output row found. */
static int better(struct session_copy *sc)
{
	int64_t mine = score(sc->in, &sc->k), theirs = sqlite3_column_int64(sc->find, 1);
	if (mine != theirs)
		return mine > theirs;
	return sqlite3_column_int64(sc->in, sc->k.packets) > sqlite3_column_int64(sc->find, 2);
}

static const char find_sql[] =
	"SELECT id, (transport <> 'unknown') * 4 + (tls_version IS NOT NULL) * 2"
	" + (anomalies IS NULL), packets FROM sessions"
	" WHERE server_ip = ?1 AND server_port = ?2 AND client_ip = ?3 AND client_port = ?4"
	" AND ts_start BETWEEN ?5 - ?6 AND ?5 + ?6 ORDER BY abs(ts_start - ?5), id LIMIT 1;";

/* The id of the same session in the output (0 if none); the find
 * statement is left on that row for better(). */
static int64_t find_same(struct merge *mg, struct session_copy *sc)
{
	const int cols[] = {sc->k.server_ip, sc->k.server_port, sc->k.client_ip,
			    sc->k.client_port, sc->k.ts_start};
	sqlite3_reset(sc->find);
	for (int i = 0; i < 5; i++)
		sqlite3_bind_value(sc->find, i + 1, sqlite3_column_value(sc->in, cols[i]));
	sqlite3_bind_double(sc->find, 6, mg->tolerance);
	int rc = sqlite3_step(sc->find);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(sc->find, 0);
	return rc == SQLITE_DONE ? 0 : out_fail(mg, "looking for a session");
}

static int insert_session(struct merge *mg, struct session_copy *sc, struct run_map *run)
{
	if (run)
		sqlite3_bind_int64(sc->ins, 1, run->new_id);
	else
		sqlite3_bind_null(sc->ins, 1);
	for (size_t c = 0; c < mg->scols.n; c++)
		sqlite3_bind_value(sc->ins, (int)c + 2, sqlite3_column_value(sc->in, (int)c + 2));
	return out_done(mg, sc->ins, "copying a session");
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
		sqlite3_bind_int64(sc->del, 1, same);
		if (out_done(mg, sc->del, "replacing a session") < 0)
			return -1;
	}
	*(same > 0 ? &mg->st->sessions_replaced : &mg->st->sessions_copied) += 1;
	if (run)
		*(same > 0 ? &run->replaced : &run->copied) += 1;
	return insert_session(mg, sc, run);
}

static int prepare_sessions(struct merge *mg, struct session_copy *sc)
{
	sc->k = (struct row_key){key_col(mg, "client_ip"), key_col(mg, "client_port"),
				 key_col(mg, "server_ip"), key_col(mg, "server_port"),
				 key_col(mg, "ts_start"), key_col(mg, "transport"),
				 key_col(mg, "tls_version"), key_col(mg, "anomalies"),
				 key_col(mg, "packets")};
	if (sc->k.client_ip < 0 || sc->k.client_port < 0 || sc->k.server_ip < 0 ||
	    sc->k.server_port < 0 || sc->k.ts_start < 0 || sc->k.transport < 0 ||
	    sc->k.tls_version < 0 || sc->k.anomalies < 0 || sc->k.packets < 0) {
		snprintf(mg->err, mg->errlen, "database '%s': sessions table lacks a key column",
			 mg->out_path);
		return -1;
	}
	sc->in = select_input(mg, "sessions", &mg->scols, 1);
	sc->ins = sc->in ? insert_output(mg, "sessions", &mg->scols, 1) : NULL;
	sc->find = sc->ins ? out_prepare(mg, find_sql) : NULL;
	sc->del = sc->find ? out_prepare(mg, "DELETE FROM sessions WHERE id = ?1;") : NULL;
	return sc->del ? 0 : -1;
}

static int copy_sessions(struct merge *mg)
{
	struct session_copy sc = {NULL, NULL, NULL, NULL, {0}};
	int rc = prepare_sessions(mg, &sc);
	while (rc == 0 && (rc = rdb_step(mg->in, sc.in)) == SQLITE_ROW)
		rc = copy_session(mg, &sc);
	if (rc != 0 && rc != SQLITE_DONE && !mg->err[0])
		in_fail(mg);
	sqlite3_finalize(sc.in);
	sqlite3_finalize(sc.ins);
	sqlite3_finalize(sc.find);
	sqlite3_finalize(sc.del);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int update_origins(struct merge *mg)
{
	sqlite3_stmt *s = out_prepare(mg, "UPDATE run_origins SET sessions_copied = ?1,"
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

/* ---- inputs ---------------------------------------------------------------- */

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int merge_input(struct merge *mg, const char *path)
{
	int rc;
	if (same_file(path, mg->out_path)) {
		snprintf(mg->err, mg->errlen, "database '%s' is the output of the merge", path);
		return -1;
	}
	mg->in_path = path;
	mg->nruns = 0;
	if (rdb_open(&mg->in, path, NULL, mg->err, mg->errlen) < 0)
		return -1;
	rc = copy_runs(mg);
	if (rc == 0)
		rc = copy_sessions(mg);
	if (rc == 0)
		rc = update_origins(mg);
	rdb_close(mg->in);
	mg->in = NULL;
	return rc;
}

int report_merge(const char *out_path, const char *const *inputs, size_t n, double tolerance,
		 struct merge_stats *st, char *err, size_t errlen)
{
	struct merge *mg = calloc(1, sizeof *mg);
	int rc;
	memset(st, 0, sizeof *st);
	if (!mg) {
		snprintf(err, errlen, "database '%s': out of memory", out_path);
		return -1;
	}
	err[0] = '\0';
	*mg = (struct merge){.out_path = out_path, .tolerance = tolerance, .st = st,
			     .now = (double)time(NULL), .err = err, .errlen = errlen};
	rc = open_output(mg);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = merge_input(mg, inputs[i]);
	if (rc == 0 && sqlite3_exec(mg->out, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
		rc = out_fail(mg, "committing the merge");
	if (rc != 0 && mg->out)
		sqlite3_exec(mg->out, "ROLLBACK;", NULL, NULL, NULL);
	sqlite3_close(mg->out);
	free(mg->runs);
	free(mg);
	return rc;
}
