/* The query layer: reports prepare, bind and step their SQL through these
 * calls, never through a database's own API, so that the same report runs
 * on another database (issue 14: ClickHouse) given a driver for it. SQL
 * text is written once as a template (common/sqlt.h): the calls in it are
 * expanded for the connection's dialect when a statement is prepared.
 *
 *   struct rq_stmt *s = rq_prepare(q, "SELECT {{vrank(tls_version)}}, n"
 *                                     " FROM t WHERE port = :port", NULL, 0);
 *   rq_bind_int(s, ":port", 25);
 *   while ((rc = rq_step(s)) > 0)
 *           use(rq_int(s, 0), rq_text(s, 1));
 *   rq_finish(s);    -- 0 when rc was 0 (ran to the end)
 *
 * A driver is a table of functions (struct rq_driver, rq.c); rq_sqlite.c
 * is the SQLite one. */
#ifndef SMTPTLS_RQ_H
#define SMTPTLS_RQ_H

#include <stddef.h>
#include <stdint.h>

#include "../common/sqlt.h"

struct rq;      /* a connection: driver, dialect, last error */
struct rq_stmt; /* a prepared statement and its current row */

enum rq_type { RQ_NULL = 0, RQ_INT, RQ_REAL, RQ_TEXT };

struct rq_driver {
	const char *name;
	enum sqlt_dialect dialect;
	/* 0 or -1; the error through errmsg */
	int (*exec)(void *conn, const char *sql);
	void *(*prepare)(void *conn, const char *sql);
	int (*bind_int)(void *stmt, const char *name, int64_t v);
	int (*bind_real)(void *stmt, const char *name, double v);
	int (*bind_text)(void *stmt, const char *name, const char *v);
	int (*step)(void *stmt);  /* 1 row, 0 done, -1 error */
	int (*reset)(void *stmt);
	int (*ncols)(void *stmt);
	const char *(*col_name)(void *stmt, int col);
	enum rq_type (*col_type)(void *stmt, int col);
	int64_t (*col_int)(void *stmt, int col);
	double (*col_real)(void *stmt, int col);
	const char *(*col_text)(void *stmt, int col);
	void (*finalize)(void *stmt);
	const char *(*errmsg)(void *conn);
};

/* A connection on an open SQLite database (not owned; rq_sqlite.c), with
 * rq_mode() defined on it. NULL on error. */
struct sqlite3;
struct rq *rq_sqlite(struct sqlite3 *db);

/* A connection to ClickHouse through http (not owned; store/chttp.h),
 * its database the default; shown names it in messages. *conn is the
 * driver's state, to free() after rq_free(). NULL out of memory. */
struct chttp;
struct rq *rq_clickhouse(struct chttp *http, const char *shown, void **conn);

/* A connection through driver d on conn (not owned). NULL out of memory. */
struct rq *rq_new(const struct rq_driver *d, void *conn);
void rq_free(struct rq *q);
enum sqlt_dialect rq_dialect(const struct rq *q);

/* Runs SQL that returns no rows (BEGIN, COMMIT); 0 or -1. */
int rq_exec(struct rq *q, const char *sql);

/* Expands the template (vars first, then the dialect's calls) and
 * prepares it; NULL on error (rq_error says why). */
struct rq_stmt *rq_prepare(struct rq *q, const char *tmpl, const struct sqlt_var *vars,
			   size_t nvars);
/* Bind a named parameter (":name") if the statement has it. */
void rq_bind_int(struct rq_stmt *s, const char *name, int64_t v);
void rq_bind_real(struct rq_stmt *s, const char *name, double v);
void rq_bind_text(struct rq_stmt *s, const char *name, const char *v);
/* The next row: 1, 0 at the end, -1 on error (rq_error says why). */
int rq_step(struct rq_stmt *s);
/* To run the statement again (the bindings stay); 0 or -1. */
int rq_reset(struct rq_stmt *s);

int rq_ncols(const struct rq_stmt *s);
const char *rq_name(const struct rq_stmt *s, int col);
enum rq_type rq_type(const struct rq_stmt *s, int col);
int rq_null(const struct rq_stmt *s, int col);
int64_t rq_int(const struct rq_stmt *s, int col);    /* 0 for NULL */
double rq_real(const struct rq_stmt *s, int col);    /* 0 for NULL */
const char *rq_text(const struct rq_stmt *s, int col); /* NULL for NULL */

/* Frees the statement; 0 when its last step returned 0 (the end), else -1.
 * NULL is fine (-1). */
int rq_finish(struct rq_stmt *s);

/* The last error: the driver's message, or the template's. */
const char *rq_error(const struct rq *q);

#endif
