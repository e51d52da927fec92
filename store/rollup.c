/* The rollups (rollup.h): their one definition, the SQL made from it, and
 * folding new session rows into the tables. */
#include "rollup.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/sqlt.h"
#include "rollup_fold.h"

#define NDEFS ROLLUP_NDEFS

/* Rollup i's definition (rollup_defs.c). */
static const struct rollup_def *def(size_t i)
{
	size_t n;
	return &rollup_defs(&n)[i];
}

int64_t rollup_width(enum rollup_level l)
{
	static const int64_t widths[ROLLUP_LEVELS] = {3600, 86400, 0};
	return (unsigned)l < ROLLUP_LEVELS ? widths[l] : 0;
}

const char *rollup_level_name(enum rollup_level l)
{
	static const char *const names[ROLLUP_LEVELS] = {"hour", "day", "all"};
	return (unsigned)l < ROLLUP_LEVELS ? names[l] : "?";
}

/* ---- SQL text ---------------------------------------------------------------------- */

#define SQL_MAX 16384

struct text {
	char buf[SQL_MAX];
	size_t len;
	int over;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->over)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof t->buf - t->len)
		t->over = 1;
	else
		t->len += (size_t)n;
}

static char *text_dup(const struct text *t)
{
	return t->over ? NULL : strdup(t->buf);
}

/* How a NULL key is stored, or NULL for a key that is never NULL. */
static const char *null_code(const struct rollup_col *c)
{
	return c->type == 't' ? "''" : c->type == 'i' ? "-1" : NULL;
}

static const char *aggregate(enum rollup_kind k)
{
	return k == ROLLUP_SUM ? "sum" : k == ROLLUP_MIN ? "min" : "max";
}

/* "bucket, k1, k2 ..." or, with stored, the keys as the tables hold them. */
static void select_list(struct text *t, const struct rollup_def *d, const char *bucket,
			int stored)
{
	add(t, "SELECT %s AS bucket", bucket);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rollup_col *c = &d->cols[i];
		if (c->kind == ROLLUP_KEY && stored && null_code(c))
			add(t, ", coalesce(%s, %s) AS %s", c->expr, null_code(c), c->name);
		else if (c->kind == ROLLUP_KEY)
			add(t, ", %s AS %s", c->expr, c->name);
		else if (c->kind == ROLLUP_SUM)
			add(t, ", coalesce(sum(%s), 0) AS %s", c->expr, c->name);
		else
			add(t, ", %s(%s) AS %s", aggregate(c->kind), c->expr, c->name);
	}
}

char *rollup_select(const struct rollup_def *d, int64_t width, const char *cond, int stored)
{
	struct text *t = calloc(1, sizeof *t);
	char bucket[64];
	const char *sep = " GROUP BY ";
	if (!t)
		return NULL;
	if (width > 0)
		snprintf(bucket, sizeof bucket, "{{bucket(s.ts_start, %lld)}}", (long long)width);
	else
		snprintf(bucket, sizeof bucket, "0");
	select_list(t, d, bucket, stored);
	add(t, " FROM session_rows s WHERE (%s) AND (%s)", d->where ? d->where : "1 = 1", cond);
	if (width > 0) {
		add(t, "%s%s", sep, bucket);
		sep = ", ";
	}
	for (size_t i = 0; i < d->ncols; i++)
		if (d->cols[i].kind == ROLLUP_KEY) {
			add(t, "%s%s", sep, d->cols[i].expr);
			sep = ", ";
		}
	char *sql = text_dup(t);
	free(t);
	return sql;
}

char *rollup_read(const struct rollup_def *d, enum rollup_level l, const char *cond)
{
	struct text *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	add(t, "SELECT bucket");
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rollup_col *c = &d->cols[i];
		if (c->kind == ROLLUP_KEY && null_code(c))
			add(t, ", nullif(%s, %s) AS %s", c->name, null_code(c), c->name);
		else
			add(t, ", %s", c->name);
	}
	add(t, " FROM rollup_%s_%s WHERE %s", d->name, rollup_level_name(l), cond);
	char *sql = text_dup(t);
	free(t);
	return sql;
}

/* ---- SQLite: tables and folding ---------------------------------------------------- */

static const char *sql_type(char type)
{
	return type == 't' || type == 'T' ? "TEXT" : type == 'r' ? "REAL" : "INTEGER";
}

/* "CREATE TABLE main.rollup_NAME_LEVEL (...)". */
/* The hour tables are heaps: each transaction of the writer appends its
 * groups (a key may come in several rows of an hour, which readers and the
 * promotion to days sum), since an upsert per group cost the writer more
 * than inserting the session rows; the day and all-time tables have one
 * row per key. */
static void table_ddl(struct text *t, const struct rollup_def *d, enum rollup_level l)
{
	const char *level = rollup_level_name(l);
	add(t, "CREATE TABLE IF NOT EXISTS main.rollup_%s_%s (bucket INTEGER NOT NULL", d->name,
	    level);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rollup_col *c = &d->cols[i];
		add(t, ", %s %s%s", c->name, sql_type(c->type),
		    c->kind == ROLLUP_KEY || c->kind == ROLLUP_SUM ? " NOT NULL" : "");
	}
	if (l == ROLLUP_HOUR) {
		add(t, "); CREATE INDEX IF NOT EXISTS main.rollup_%s_hour_bucket ON rollup_%s_hour"
		       " (bucket);", d->name, d->name);
		return;
	}
	add(t, ", PRIMARY KEY (bucket");
	for (size_t i = 0; i < d->ncols; i++)
		if (d->cols[i].kind == ROLLUP_KEY)
			add(t, ", %s", d->cols[i].name);
	add(t, ")) WITHOUT ROWID;");
}

/* " ON CONFLICT (keys) DO UPDATE ...;": rows added to those there, summed,
 * the least and the greatest kept. */
static void on_conflict(struct text *t, const struct rollup_def *d)
{
	const char *sep = ") DO UPDATE SET ";
	add(t, " ON CONFLICT (bucket");
	for (size_t i = 0; i < d->ncols; i++)
		if (d->cols[i].kind == ROLLUP_KEY)
			add(t, ", %s", d->cols[i].name);
	for (size_t i = 0; i < d->ncols; i++) {
		const struct rollup_col *c = &d->cols[i];
		if (c->kind == ROLLUP_SUM)
			add(t, "%s%s = %s + excluded.%s", sep, c->name, c->name, c->name);
		else if (c->kind != ROLLUP_KEY)
			add(t, "%s%s = coalesce(%s(%s, excluded.%s), %s, excluded.%s)", sep, c->name,
			    aggregate(c->kind), c->name, c->name, c->name, c->name);
		else
			continue;
		sep = ", ";
	}
	add(t, ";");
}

char *rollup_upsert_values(const struct rollup_def *d, enum rollup_level l)
{
	struct text *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	add(t, "INSERT INTO main.rollup_%s_%s VALUES (?", d->name, rollup_level_name(l));
	for (size_t i = 0; i < d->ncols; i++)
		add(t, ", ?");
	add(t, ")");
	if (l == ROLLUP_HOUR)
		add(t, ";"); /* a heap: table_ddl */
	else
		on_conflict(t, d);
	char *sql = text_dup(t);
	free(t);
	return sql;
}

/* "INSERT INTO main.rollup_NAME_LEVEL SELECT ... FROM hour WHERE cond ...
 * ON CONFLICT ...": rows of the hour table added to the day or all-time
 * table one by one, each an upsert into its bucket's row. Not grouped
 * first: SQLite's GROUP BY sorts the hour rows, and on big.pcap's hours
 * (108,462 rows, every one a new client and server pair) that sort cost
 * 2.6 times the upserts alone (0.58 against 0.23 s for the clients' day
 * and all-time tables), and 1.5 times where a thousand rows share each key. */
static void upsert(struct text *t, const struct rollup_def *d, enum rollup_level l,
		   const char *hour, const char *cond)
{
	add(t, "INSERT INTO main.rollup_%s_%s SELECT %s", d->name, rollup_level_name(l),
	    l == ROLLUP_DAY ? "{{bucket(bucket, 86400)}}" : "0");
	for (size_t i = 0; i < d->ncols; i++)
		add(t, ", %s", d->cols[i].name);
	add(t, " FROM %s WHERE %s", hour, cond);
	on_conflict(t, d);
}

/* The SQLite text of template tmpl (to free()), NULL on error. */
static char *sqlite_text(const char *tmpl, char *err, size_t errlen)
{
	return tmpl ? sqlt_expand(SQLT_SQLITE, tmpl, NULL, 0, err, errlen) : NULL;
}

static int exec_tmpl(sqlite3 *db, const char *tmpl)
{
	char err[128];
	char *sql = sqlite_text(tmpl, err, sizeof err);
	int rc = sql && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	free(sql);
	return rc;
}

static int create_tables(sqlite3 *db, const struct rollup_def *d)
{
	for (int l = 0; l < ROLLUP_LEVELS; l++) {
		struct text t = {.len = 0};
		table_ddl(&t, d, (enum rollup_level)l);
		if (t.over || exec_tmpl(db, t.buf) < 0)
			return -1;
	}
	return 0;
}

/* ---- the folder ------------------------------------------------------------------------ */

/* Per rollup: add the new session rows to the hour table; those of hours
 * already promoted (late rows) to the day and all-time tables too; and
 * promote a range of hours from the hour table to the day and all-time
 * tables.
 *
 * The day and all-time tables hold exactly the sessions that start before
 * rollup_state.promoted; the hour table holds every session. Hours are
 * promoted once the newest session folded starts two hours later, and
 * all of them when the store closes. */
enum { ST_HOUR, ST_LATE_DAY, ST_LATE_ALL, ST_UP_DAY, ST_UP_ALL, ST_N };

struct rollup {
	sqlite3 *db;
	const char *path;
	sqlite3_stmt *st[NDEFS][ST_N];
	sqlite3_stmt *state, *last, *span, *last_hour, *mark, *newest, *expire, *lower;
	double retain;   /* seconds; 0 keeps everything */
	int live;
	struct rollup_fold *fold[NDEFS]; /* the transaction's rows, grouped in C */
	int64_t first_id, last_id;       /* of the rows handed over (0: none) */
	double ts_max, ts_end_max;
	int fold_failed;                 /* a row could not be grouped: SQL folds them */
	int flush_failed;                /* groups flushed early could not be written */
	int flushed_early;               /* some of the rows handed over are in the tables */
	int col_ts, col_ts_end;          /* writer columns ts_start, ts_end */
	double newest_packet;
	int64_t deleted;
	char *err;
	size_t errlen;
};

static int fold_fail(struct rollup *r, const char *what)
{
	if (r->err && r->errlen)
		snprintf(r->err, r->errlen, "database '%s': rollups: %s: %s", r->path, what,
			 sqlite3_errmsg(r->db));
	return -1;
}

static sqlite3_stmt *prepare_tmpl(struct rollup *r, const char *tmpl)
{
	sqlite3_stmt *s = NULL;
	char *sql = sqlite_text(tmpl, r->err, r->errlen);
	if (sql && sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
			   SQLITE_OK)
		fold_fail(r, "preparing");
	free(sql);
	return s;
}

/* The definition over the new session rows where cond holds, added to a
 * level's table. */
static sqlite3_stmt *prepare_from_sessions(struct rollup *r, const struct rollup_def *d,
					   enum rollup_level l, const char *cond)
{
	struct text *t = calloc(1, sizeof *t);
	char *sel = rollup_select(d, rollup_width(l), cond, 1);
	sqlite3_stmt *s = NULL;
	if (t && sel) {
		add(t, "INSERT INTO main.rollup_%s_%s %s", d->name, rollup_level_name(l), sel);
		if (l == ROLLUP_HOUR)
			add(t, ";"); /* a heap: table_ddl */
		else
			on_conflict(t, d);
		s = t->over ? NULL : prepare_tmpl(r, t->buf);
	}
	free(sel);
	free(t);
	return s;
}

/* The hours [:from, :to) of the hour table added to a level's table. */
static sqlite3_stmt *prepare_from_hours(struct rollup *r, const struct rollup_def *d,
					enum rollup_level l)
{
	struct text *t = calloc(1, sizeof *t);
	char hour[96];
	sqlite3_stmt *s = NULL;
	snprintf(hour, sizeof hour, "main.rollup_%s_hour", d->name);
	if (t) {
		upsert(t, d, l, hour, "bucket >= :from AND bucket < :to");
		s = t->over ? NULL : prepare_tmpl(r, t->buf);
	}
	free(t);
	return s;
}

#define NEW_ROWS "s.id > :from AND s.id <= :to"

static int prepare_def(struct rollup *r, size_t i)
{
	sqlite3_stmt **st = r->st[i];
	st[ST_HOUR] = prepare_from_sessions(r, def(i), ROLLUP_HOUR, NEW_ROWS);
	st[ST_LATE_DAY] = prepare_from_sessions(r, def(i), ROLLUP_DAY,
						NEW_ROWS " AND s.ts_start < :promoted");
	st[ST_LATE_ALL] = prepare_from_sessions(r, def(i), ROLLUP_ALL,
						NEW_ROWS " AND s.ts_start < :promoted");
	st[ST_UP_DAY] = prepare_from_hours(r, def(i), ROLLUP_DAY);
	st[ST_UP_ALL] = prepare_from_hours(r, def(i), ROLLUP_ALL);
	for (int k = 0; k < ST_N; k++)
		if (!st[k])
			return -1;
	return 0;
}

static int prepare_state(struct rollup *r)
{
	r->state = prepare_tmpl(r, "SELECT folded, promoted FROM rollup_state;");
	r->last = prepare_tmpl(r, "SELECT coalesce(max(id), 0) FROM session_rows;");
	r->span = prepare_tmpl(r, "SELECT max(ts_start), min(ts_start) < :promoted"
				  " FROM session_rows WHERE id > :from AND id <= :to;");
	r->last_hour = prepare_tmpl(r, "SELECT max(bucket) FROM main.rollup_codes_hour;");
	r->mark = prepare_tmpl(r, "UPDATE rollup_state SET folded = :to, promoted = :promoted;");
	r->newest = prepare_tmpl(r, "SELECT max(ts_end) FROM session_rows"
				    " WHERE id > :from AND id <= :to;");
	r->expire = prepare_tmpl(r, "DELETE FROM session_rows WHERE id IN (SELECT id"
				    " FROM session_rows WHERE ts_start < :cutoff AND id <= :to"
				    " ORDER BY ts_start LIMIT :batch);");
	/* SQLite gives a new row the greatest id + 1: once the greatest is
	 * deleted, ids folded already come again, so folded comes down */
	r->lower = prepare_tmpl(r, "UPDATE rollup_state SET folded = (SELECT coalesce(max(id), 0)"
				   " FROM session_rows) WHERE folded > (SELECT coalesce(max(id), 0)"
				   " FROM session_rows);");
	return r->state && r->last && r->span && r->last_hour && r->mark && r->newest &&
			       r->expire && r->lower
		       ? 0 : -1;
}

struct rollup *rollup_new(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	struct rollup *r = calloc(1, sizeof *r);
	if (errlen)
		err[0] = '\0';
	if (!r) {
		snprintf(err, errlen, "database '%s': rollups: out of memory", path);
		return NULL;
	}
	*r = (struct rollup){.db = db, .path = path, .err = err, .errlen = errlen};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < NDEFS; i++)
		rc = prepare_def(r, i);
	for (size_t i = 0; rc == 0 && i < NDEFS; i++)
		r->fold[i] = rollup_fold_new(db, def(i)); /* NULL: folded by SQL */
	r->col_ts = r->col_ts_end = -1;
	for (size_t i = 0; i < writer_columns(); i++) {
		if (!strcmp(writer_column(i), "ts_start"))
			r->col_ts = (int)i;
		if (!strcmp(writer_column(i), "ts_end"))
			r->col_ts_end = (int)i;
	}
	if (rc == 0 && (r->col_ts < 0 || r->col_ts_end < 0))
		rc = -1;
	if (rc == 0)
		rc = prepare_state(r);
	if (rc < 0) {
		if (errlen && err[0] == '\0')
			fold_fail(r, "preparing");
		rollup_free(r);
		return NULL;
	}
	return r;
}

void rollup_free(struct rollup *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < NDEFS; i++) {
		for (int k = 0; k < ST_N; k++)
			sqlite3_finalize(r->st[i][k]);
		rollup_fold_free(r->fold[i]);
	}
	sqlite3_stmt *state[] = {r->state, r->last, r->span, r->last_hour, r->mark,
				 r->newest, r->expire, r->lower};
	for (size_t i = 0; i < sizeof state / sizeof state[0]; i++)
		sqlite3_finalize(state[i]);
	free(r);
}

void rollup_retain(struct rollup *r, double seconds, int live)
{
	r->retain = seconds > 0 ? seconds : 0;
	r->live = live;
}

int64_t rollup_deleted(const struct rollup *r)
{
	return r->deleted;
}

/* The state of a fold: session ids (from, to] and hours [promoted, up_to)
 * to promote. */
struct fold {
	int64_t from, to, promoted, up_to;
};

static void bind(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);
	if (i > 0)
		sqlite3_bind_int64(s, i, v);
}

/* Steps s once with the fold's parameters; SQLITE_ROW (left on the row,
 * reset by the caller) or SQLITE_DONE (reset). */
static int run(sqlite3_stmt *s, const struct fold *f)
{
	bind(s, ":from", f->from);
	bind(s, ":to", f->to);
	bind(s, ":promoted", f->promoted);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		sqlite3_reset(s);
	return rc;
}

/* The first column of s's row (0 for NULL or no row); *ok cleared on error. */
static int64_t scalar(sqlite3_stmt *s, const struct fold *f, int *ok)
{
	int rc = run(s, f);
	int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	*ok &= rc == SQLITE_ROW || rc == SQLITE_DONE;
	sqlite3_reset(s);
	return v;
}

static int run_all(struct rollup *r, int first, int last, const struct fold *f)
{
	for (size_t i = 0; i < NDEFS; i++)
		for (int k = first; k <= last; k++)
			if (run(r->st[i][k], f) != SQLITE_DONE)
				return fold_fail(r, "folding new sessions");
	return 0;
}

/* Adds the hours [f->promoted, up_to) to the day and all-time tables. */
static int promote(struct rollup *r, struct fold *f, int64_t up_to)
{
	struct fold p = {f->promoted, up_to, f->promoted, 0};
	if (up_to <= f->promoted)
		return 0;
	if (run_all(r, ST_UP_DAY, ST_UP_ALL, &p) < 0)
		return -1;
	f->promoted = up_to;
	return 0;
}

static int mark(struct rollup *r, const struct fold *f)
{
	return run(r->mark, f) == SQLITE_DONE ? 0 : fold_fail(r, "recording the fold");
}

/* The newest packet time of the new sessions (the files' clock). */
static void note_newest(struct rollup *r, const struct fold *f)
{
	if (run(r->newest, f) == SQLITE_ROW && sqlite3_column_type(r->newest, 0) != SQLITE_NULL &&
	    sqlite3_column_double(r->newest, 0) > r->newest_packet)
		r->newest_packet = sqlite3_column_double(r->newest, 0);
	sqlite3_reset(r->newest);
}

/* Deletes a batch of folded rows older than the retention. */
static int expire(struct rollup *r, const struct fold *f)
{
	double now = r->live ? clock_seconds(CLOCK_REALTIME) : r->newest_packet;
	if (r->retain <= 0 || now <= 0)
		return 0;
	sqlite3_bind_double(r->expire, sqlite3_bind_parameter_index(r->expire, ":cutoff"),
			    now - r->retain);
	bind(r->expire, ":batch", ROLLUP_DELETE_BATCH);
	if (run(r->expire, f) != SQLITE_DONE)
		return fold_fail(r, "deleting old sessions");
	int deleted = sqlite3_changes(r->db);
	r->deleted += deleted;
	if (deleted > 0 && run(r->lower, f) != SQLITE_DONE)
		return fold_fail(r, "deleting old sessions");
	return 0;
}

static int read_state(struct rollup *r, struct fold *f)
{
	int ok = 1, rc = run(r->state, f);
	f->from = rc == SQLITE_ROW ? sqlite3_column_int64(r->state, 0) : 0;
	f->promoted = rc == SQLITE_ROW ? sqlite3_column_int64(r->state, 1) : 0;
	sqlite3_reset(r->state);
	f->to = scalar(r->last, f, &ok);
	return rc == SQLITE_ROW && ok ? 0 : fold_fail(r, "reading the state");
}

#define PROMOTE_LAG 7200 /* an hour is promoted when sessions two hours later come */

/* The newest hour of the new rows, and whether some are of hours
 * already promoted (late). */
static int hours_of(struct rollup *r, const struct fold *f, int64_t *newest, int *late)
{
	int rc = run(r->span, f);
	double t = rc == SQLITE_ROW ? sqlite3_column_double(r->span, 0) : 0;
	*newest = (int64_t)floor(t / 3600) * 3600;
	*late = rc == SQLITE_ROW && sqlite3_column_int(r->span, 1);
	sqlite3_reset(r->span);
	return rc == SQLITE_ROW ? 0 : fold_fail(r, "folding new sessions");
}

static double real_of(const struct writer_value *v)
{
	return v->type == WV_REAL ? v->r : v->type == WV_INT ? (double)v->i : 0;
}

#define FOLD_GROUPS_MAX 2048 /* a fold's groups held in C; then they go to the hour table */

/* A fold that holds FOLD_GROUPS_MAX groups appends them to the hour table
 * now, in the writer's transaction (the hour tables are heaps: readers and
 * the promotion add up repeated keys), so that the writer's memory does
 * not grow with the distinct keys of a transaction: 15 MB for 10,000 new
 * client and server pairs. A failure fails the commit, which rolls the
 * early groups back with the rows. */
static void flush_early(struct rollup *r, struct rollup_fold *fold)
{
	struct fold f;
	if (rollup_fold_groups(fold) < FOLD_GROUPS_MAX)
		return;
	if (read_state(r, &f) < 0 || rollup_fold_flush(fold, f.promoted) < 0)
		r->flush_failed = 1;
	r->flushed_early = 1;
}

void rollup_row(struct rollup *r, const struct writer_value *v, int64_t id)
{
	double ts = real_of(&v[r->col_ts]), ts_end = real_of(&v[r->col_ts_end]);
	if (!r->first_id)
		r->first_id = id;
	r->last_id = id;
	r->ts_max = r->first_id == id || ts > r->ts_max ? ts : r->ts_max;
	r->ts_end_max = r->first_id == id || ts_end > r->ts_end_max ? ts_end : r->ts_end_max;
	for (size_t i = 0; i < NDEFS && !r->fold_failed; i++)
		if (!r->fold[i] || rollup_fold_row(r->fold[i], v) < 0)
			r->fold_failed = 1;
		else
			flush_early(r, r->fold[i]);
}

/* Forgets the rows handed over. */
static void forget_rows(struct rollup *r)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (r->fold[i])
			rollup_fold_reset(r->fold[i]);
	r->first_id = r->last_id = 0;
	r->fold_failed = r->flush_failed = r->flushed_early = 0;
}

/* Folds the session rows (f->from, f->to] by SQL into the hour tables
 * (and the late ones into the day and all-time tables); *newest: the
 * newest hour among them, if later. */
static int fold_sql(struct rollup *r, const struct fold *f, int64_t *newest)
{
	int64_t hour;
	int late;
	if (run_all(r, ST_HOUR, ST_HOUR, f) < 0 || hours_of(r, f, &hour, &late) < 0 ||
	    (late && run_all(r, ST_LATE_DAY, ST_LATE_ALL, f) < 0))
		return -1;
	*newest = hour > *newest ? hour : *newest;
	return 0;
}

/* The rows handed over, grouped in C, into the tables. */
static int fold_c(struct rollup *r, const struct fold *f, int64_t *newest)
{
	int64_t hour = (int64_t)floor(r->ts_max / 3600) * 3600;
	for (size_t i = 0; i < NDEFS; i++)
		if (rollup_fold_flush(r->fold[i], f->promoted) < 0)
			return fold_fail(r, "folding new sessions");
	*newest = hour > *newest ? hour : *newest;
	if (r->retain > 0 && !r->live && r->ts_end_max > r->newest_packet)
		r->newest_packet = r->ts_end_max;
	return 0;
}

/* Folds the new session rows: those this writer handed over grouped in C,
 * any others (another program's, or when grouping failed) by SQL. */
static int fold_new(struct rollup *r, struct fold *f)
{
	int64_t newest = INT64_MIN;
	int in_c = r->first_id > f->from && r->last_id == f->to && !r->fold_failed;
	struct fold sql = *f;
	if (in_c)
		sql.to = r->first_id - 1;
	if (sql.to > sql.from && r->retain > 0 && !r->live)
		note_newest(r, &sql);
	if ((sql.to > sql.from && fold_sql(r, &sql, &newest) < 0) ||
	    (in_c && fold_c(r, f, &newest) < 0))
		return -1;
	if (newest != INT64_MIN && promote(r, f, newest + 3600 - PROMOTE_LAG) < 0)
		return -1;
	return mark(r, f);
}

int rollup_commit(struct rollup *r)
{
	struct fold f;
	if (r->flush_failed || (r->fold_failed && r->flushed_early)) {
		forget_rows(r); /* SQL cannot fold them again: some are in the tables */
		return fold_fail(r, "folding new sessions");
	}
	int rc = read_state(r, &f);
	if (rc == 0 && f.to > f.from)
		rc = fold_new(r, &f);
	forget_rows(r);
	if (rc < 0)
		return -1;
	f.to = f.to > f.from ? f.to : f.from;
	return expire(r, &f);
}

int rollup_close(struct rollup *r)
{
	struct fold f;
	int ok = 1;
	if (read_state(r, &f) < 0)
		return -1;
	f.to = f.from; /* nothing new is folded here */
	int64_t last = scalar(r->last_hour, &f, &ok);
	if (!ok)
		return fold_fail(r, "reading the state");
	if (last + 3600 <= f.promoted)
		return 0;
	return promote(r, &f, last + 3600) < 0 ? -1 : mark(r, &f);
}

/* ---- installing, rebuilding ------------------------------------------------------ */

static int fold_all(sqlite3 *db)
{
	char err[256] = "";
	struct rollup *r = rollup_new(db, "", err, sizeof err);
	int rc = r ? rollup_commit(r) : -1;
	if (rc == 0)
		rc = rollup_close(r);
	rollup_free(r);
	return rc;
}

int rollup_catch_up(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int behind = 0, rc;
	if (sqlite3_prepare_v2(db, "SELECT folded < (SELECT coalesce(max(id), 0) FROM session_rows)"
				   " FROM rollup_state", -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	behind = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	if (!behind)
		return 0;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (fold_all(db) < 0 || sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int rollup_install(sqlite3 *db)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (create_tables(db, def(i)) < 0)
			return -1;
	return fold_all(db);
}

int rollup_rebuild(sqlite3 *db)
{
	char sql[128];
	for (size_t i = 0; i < NDEFS; i++)
		for (int l = 0; l < ROLLUP_LEVELS; l++) {
			snprintf(sql, sizeof sql, "DELETE FROM main.rollup_%s_%s;", def(i)->name,
				 rollup_level_name((enum rollup_level)l));
			if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
				return -1;
		}
	if (sqlite3_exec(db, "UPDATE rollup_state SET folded = 0, promoted = 0;", NULL, NULL,
			 NULL) != SQLITE_OK)
		return -1;
	return fold_all(db);
}
