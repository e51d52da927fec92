/* The query layer (rq.h): templates expanded per dialect, then handed to
 * the connection's driver. */
#include "rq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rq {
	const struct rq_driver *d;
	void *conn;
	char err[512];
};

struct rq_stmt {
	struct rq *q;
	void *stmt;
	int last; /* the last step's result */
};

struct rq *rq_new(const struct rq_driver *d, void *conn)
{
	struct rq *q = calloc(1, sizeof *q);
	if (q) {
		q->d = d;
		q->conn = conn;
	}
	return q;
}

void rq_free(struct rq *q)
{
	free(q);
}

enum sqlt_dialect rq_dialect(const struct rq *q)
{
	return q->d->dialect;
}

const char *rq_error(const struct rq *q)
{
	return q->err;
}

static void driver_error(struct rq *q)
{
	snprintf(q->err, sizeof q->err, "%s", q->d->errmsg(q->conn));
}

int rq_exec(struct rq *q, const char *sql)
{
	if (q->d->exec(q->conn, sql) == 0)
		return 0;
	driver_error(q);
	return -1;
}

struct rq_stmt *rq_prepare(struct rq *q, const char *tmpl, const struct sqlt_var *vars,
			   size_t nvars)
{
	char *sql = sqlt_expand(q->d->dialect, tmpl, vars, nvars, q->err, sizeof q->err);
	struct rq_stmt *s = sql ? calloc(1, sizeof *s) : NULL;
	if (!sql)
		return NULL;
	if (!s) {
		snprintf(q->err, sizeof q->err, "out of memory");
	} else if (!(s->stmt = q->d->prepare(q->conn, sql))) {
		driver_error(q);
		free(s);
		s = NULL;
	} else {
		s->q = q;
		s->last = -1;
	}
	free(sql);
	return s;
}

void rq_bind_int(struct rq_stmt *s, const char *name, int64_t v)
{
	s->q->d->bind_int(s->stmt, name, v);
}

void rq_bind_real(struct rq_stmt *s, const char *name, double v)
{
	s->q->d->bind_real(s->stmt, name, v);
}

void rq_bind_text(struct rq_stmt *s, const char *name, const char *v)
{
	s->q->d->bind_text(s->stmt, name, v);
}

int rq_step(struct rq_stmt *s)
{
	s->last = s->q->d->step(s->stmt);
	if (s->last < 0)
		driver_error(s->q);
	return s->last;
}

int rq_reset(struct rq_stmt *s)
{
	s->last = -1;
	return s->q->d->reset(s->stmt);
}

int rq_ncols(const struct rq_stmt *s)
{
	return s->q->d->ncols(s->stmt);
}

const char *rq_name(const struct rq_stmt *s, int col)
{
	return s->q->d->col_name(s->stmt, col);
}

enum rq_type rq_type(const struct rq_stmt *s, int col)
{
	return s->q->d->col_type(s->stmt, col);
}

int rq_null(const struct rq_stmt *s, int col)
{
	return s->q->d->col_type(s->stmt, col) == RQ_NULL;
}

int64_t rq_int(const struct rq_stmt *s, int col)
{
	return s->q->d->col_int(s->stmt, col);
}

double rq_real(const struct rq_stmt *s, int col)
{
	return s->q->d->col_real(s->stmt, col);
}

const char *rq_text(const struct rq_stmt *s, int col)
{
	return s->q->d->col_text(s->stmt, col);
}

int rq_finish(struct rq_stmt *s)
{
	if (!s)
		return -1;
	int rc = s->last == 0 ? 0 : -1;
	s->q->d->finalize(s->stmt);
	free(s);
	return rc;
}
