/* The query layer's ClickHouse driver (rq.h): a statement is its SQL with
 * the :name parameters written in as literals when it runs; its result
 * comes whole over HTTP as TabSeparatedWithNamesAndTypes (tsv.h: names,
 * types, then the rows), and the rows are stepped through in place. A
 * column's type is its ClickHouse type (Nullable stripped): integers,
 * floats, else text; a field \N is NULL. There are no transactions: BEGIN
 * and COMMIT do nothing, and each query sees the tables as they are. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/chttp.h"
#include "../store/churl.h"
#include "../store/tsv.h"
#include "rq.h"

#define PARAMS_MAX 32

struct chconn {
	struct chttp *http;
	char shown[768];
	char err[2000];
};

struct param {
	char name[48];
	char lit[600]; /* the value as a SQL literal */
};

struct chstmt {
	struct chconn *c;
	char *sql;
	struct param p[PARAMS_MAX];
	int np, ran, ncols;
	struct tsv_buf out;
	size_t pos;
	char *names[TSV_MAX_FIELDS];
	enum rq_type types[TSV_MAX_FIELDS];
	struct tsv_row row;
};

/* ---- parameters -------------------------------------------------------------------- */

static struct param *param_slot(struct chstmt *s, const char *name)
{
	for (int i = 0; i < s->np; i++)
		if (!strcmp(s->p[i].name, name))
			return &s->p[i];
	if (s->np == PARAMS_MAX || strlen(name) >= sizeof s->p[0].name)
		return NULL;
	snprintf(s->p[s->np].name, sizeof s->p[0].name, "%s", name);
	return &s->p[s->np++];
}

static int bind_int(void *stmt, const char *name, int64_t v)
{
	struct param *p = param_slot(stmt, name);
	if (p)
		snprintf(p->lit, sizeof p->lit, "%lld", (long long)v);
	return p ? 0 : -1;
}

static int bind_real(void *stmt, const char *name, double v)
{
	struct param *p = param_slot(stmt, name);
	if (p)
		snprintf(p->lit, sizeof p->lit, "%.17g", v);
	return p ? 0 : -1;
}

static int bind_text(void *stmt, const char *name, const char *v)
{
	struct param *p = param_slot(stmt, name);
	size_t n = 0;
	if (!p)
		return -1;
	if (!v) {
		snprintf(p->lit, sizeof p->lit, "NULL");
		return 0;
	}
	p->lit[n++] = '\'';
	for (; *v && n + 4 < sizeof p->lit; v++) {
		if (*v == '\'' || *v == '\\')
			p->lit[n++] = '\\';
		p->lit[n++] = *v;
	}
	p->lit[n++] = '\'';
	p->lit[n] = '\0';
	return *v ? -1 : 0; /* too long: refused rather than cut */
}

/* The SQL with every :name outside quotes replaced by its literal (NULL
 * when unbound). */
static int substitute(const struct chstmt *s, struct tsv_buf *q)
{
	const char *p = s->sql;
	while (*p) {
		if (*p == '\'') {
			const char *e = p + 1;
			while (*e && (*e != '\'' || e[-1] == '\\'))
				e++;
			tsv_put(q, p, (size_t)(e - p) + (*e != '\0'));
			p = *e ? e + 1 : e;
			continue;
		}
		if (*p != ':' || !(isalpha((unsigned char)p[1]) || p[1] == '_')) {
			tsv_put(q, p++, 1);
			continue;
		}
		const char *e = p + 1;
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		const char *lit = "NULL";
		for (int i = 0; i < s->np; i++)
			if (strlen(s->p[i].name) == (size_t)(e - p) && !strncmp(s->p[i].name, p, (size_t)(e - p)))
				lit = s->p[i].lit;
		tsv_puts(q, lit);
		p = e;
	}
	return q->failed ? -1 : 0;
}

/* ---- running and stepping ------------------------------------------------------------- */

static enum rq_type type_of(const char *t)
{
	if (!strncmp(t, "Nullable(", 9))
		t += 9;
	if (!strncmp(t, "Int", 3) || !strncmp(t, "UInt", 4))
		return RQ_INT;
	if (!strncmp(t, "Float", 5))
		return RQ_REAL;
	return RQ_TEXT;
}

/* The next line of the result from pos, split in place; 1, 0 at the end,
 * -1 when it does not parse. */
static int next_line(struct chstmt *s)
{
	if (s->pos >= s->out.len)
		return 0;
	char *line = s->out.p + s->pos;
	char *nl = memchr(line, '\n', s->out.len - s->pos);
	if (!nl)
		return -1;
	s->pos = (size_t)(nl - s->out.p) + 1;
	return tsv_split(line, (size_t)(nl - line), &s->row) == 0 ? 1 : -1;
}

static int run(struct chstmt *s)
{
	struct tsv_buf q = {0};
	char why[800];
	int rc = substitute(s, &q);
	while (rc == 0 && q.len && (q.p[q.len - 1] == ';' || isspace((unsigned char)q.p[q.len - 1])))
		q.len--; /* one statement, its format after it */
	if (rc == 0) {
		tsv_puts(&q, " FORMAT TabSeparatedWithNamesAndTypes");
		rc = chttp_query(s->c->http, NULL, q.p, NULL, 0, NULL, &s->out, why, sizeof why);
		if (rc != CH_OK)
			snprintf(s->c->err, sizeof s->c->err, "database '%s': %s", s->c->shown, why);
		if (rc != CH_OK && getenv("SMTPTLS_CH_DEBUG"))
			fprintf(stderr, "smtptls: the query was: %s\n", q.p);
	} else {
		snprintf(s->c->err, sizeof s->c->err, "database '%s': out of memory", s->c->shown);
	}
	tsv_buf_free(&q);
	s->ran = 1;
	s->pos = 0;
	if (rc != 0)
		return -1;
	if (next_line(s) != 1) /* names */
		goto garbage;
	s->ncols = (int)s->row.n;
	for (int i = 0; i < s->ncols; i++)
		s->names[i] = s->row.f[i];
	if (next_line(s) != 1 || (int)s->row.n != s->ncols) /* types */
		goto garbage;
	for (int i = 0; i < s->ncols; i++)
		s->types[i] = type_of(s->row.f[i]);
	s->row.n = 0;
	return 0;
garbage:
	snprintf(s->c->err, sizeof s->c->err, "database '%s': a result that is not"
		 " TabSeparatedWithNamesAndTypes", s->c->shown);
	return -1;
}

static int step(void *stmt)
{
	struct chstmt *s = stmt;
	if (!s->ran && run(s) < 0)
		return -1;
	int rc = next_line(s);
	if (rc == 1 && (int)s->row.n != s->ncols)
		rc = -1;
	if (rc < 0)
		snprintf(s->c->err, sizeof s->c->err, "database '%s': a row of the result does not"
			 " parse", s->c->shown);
	if (rc != 1)
		s->row.n = 0;
	return rc;
}

static int reset(void *stmt)
{
	struct chstmt *s = stmt;
	s->ran = 0;
	s->row.n = 0;
	tsv_buf_reset(&s->out);
	return 0;
}

static int ncols(void *stmt)
{
	struct chstmt *s = stmt;
	if (!s->ran && run(s) < 0)
		return 0;
	return s->ncols;
}

static const char *col_name(void *stmt, int col)
{
	struct chstmt *s = stmt;
	return col >= 0 && col < ncols(stmt) ? s->names[col] : NULL;
}

static int present(const struct chstmt *s, int col)
{
	return col >= 0 && (size_t)col < s->row.n && !s->row.null[col];
}

static enum rq_type col_type(void *stmt, int col)
{
	struct chstmt *s = stmt;
	return present(s, col) ? s->types[col] : RQ_NULL;
}

static int64_t col_int(void *stmt, int col)
{
	struct chstmt *s = stmt;
	return present(s, col) ? strtoll(s->row.f[col], NULL, 10) : 0;
}

static double col_real(void *stmt, int col)
{
	struct chstmt *s = stmt;
	return present(s, col) ? strtod(s->row.f[col], NULL) : 0;
}

static const char *col_text(void *stmt, int col)
{
	struct chstmt *s = stmt;
	return present(s, col) ? s->row.f[col] : NULL;
}

/* The tables written again as a run goes on (runs, run_counters) are read
 * through FINAL: their last version of each row. */
static char *with_final(const char *sql)
{
	static const char *const names[] = {"FROM runs", "FROM run_counters"};
	struct tsv_buf b = {0};
	const char *p = sql;
	while (*p) {
		size_t k = 0, len = 0;
		for (; k < 2; k++) {
			len = strlen(names[k]);
			if (!strncmp(p, names[k], len) && !(isalnum((unsigned char)p[len]) || p[len] == '_'))
				break;
		}
		if (k == 2) {
			tsv_put(&b, p++, 1);
			continue;
		}
		tsv_put(&b, p, len);
		tsv_puts(&b, " FINAL");
		p += len;
	}
	tsv_put(&b, "", 1);
	if (b.failed) {
		tsv_buf_free(&b);
		return NULL;
	}
	return b.p;
}

static void *prepare(void *conn, const char *sql)
{
	struct chstmt *s = calloc(1, sizeof *s);
	if (!s || !(s->sql = with_final(sql))) {
		free(s);
		snprintf(((struct chconn *)conn)->err, sizeof ((struct chconn *)conn)->err,
			 "out of memory");
		return NULL;
	}
	s->c = conn;
	return s;
}

static void finalize(void *stmt)
{
	struct chstmt *s = stmt;
	if (!s)
		return;
	tsv_buf_free(&s->out);
	free(s->sql);
	free(s);
}

static int exec(void *conn, const char *sql)
{
	struct chconn *c = conn;
	char why[800];
	while (isspace((unsigned char)*sql))
		sql++;
	if (!strncmp(sql, "BEGIN", 5) || !strncmp(sql, "COMMIT", 6) || !strncmp(sql, "END", 3) ||
	    !strncmp(sql, "ROLLBACK", 8))
		return 0; /* no transactions */
	if (chttp_query(c->http, NULL, sql, NULL, 0, NULL, NULL, why, sizeof why) == CH_OK)
		return 0;
	snprintf(c->err, sizeof c->err, "database '%s': %s", c->shown, why);
	return -1;
}

static const char *errmsg(void *conn)
{
	return ((struct chconn *)conn)->err;
}

static const struct rq_driver clickhouse_driver = {
	"clickhouse", SQLT_CLICKHOUSE, exec, prepare, bind_int, bind_real, bind_text, step,
	reset, ncols, col_name, col_type, col_int, col_real, col_text, finalize, errmsg,
};

struct rq *rq_clickhouse(struct chttp *http, const char *shown, void **conn)
{
	struct chconn *c = calloc(1, sizeof *c);
	struct rq *q = c ? rq_new(&clickhouse_driver, c) : NULL;
	if (!q) {
		free(c);
		return NULL;
	}
	c->http = http;
	snprintf(c->shown, sizeof c->shown, "%s", shown);
	*conn = c;
	return q;
}
