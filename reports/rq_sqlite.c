/* The query layer's SQLite driver, and the aggregates that the template
 * calls {{mode(x, k)}}, {{modew(x, w)}} and {{wlist(l, w, o)}} become:
 * rq_mode, the x with the largest k, and rq_modew, the x whose weights add
 * up to the most, on a tie the smallest x (BINARY order), NULL x ignored;
 * rq_wlist, the list "label weight, ..." (below). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"


/* ---- rq_mode ---------------------------------------------------------------------- */

struct mode {
	sqlite3_value *best;
	sqlite3_int64 k;
};

/* <0, 0, >0 as a sorts before, with or after b (numbers before text). */
static int value_cmp(sqlite3_value *a, sqlite3_value *b)
{
	int ta = sqlite3_value_type(a), tb = sqlite3_value_type(b);
	int na = ta == SQLITE_INTEGER || ta == SQLITE_FLOAT, nb = tb == SQLITE_INTEGER || tb == SQLITE_FLOAT;
	if (na && nb) {
		double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
		return x < y ? -1 : x > y;
	}
	if (na != nb)
		return na ? -1 : 1;
	const char *x = (const char *)sqlite3_value_text(a), *y = (const char *)sqlite3_value_text(b);
	return strcmp(x ? x : "", y ? y : "");
}

static void mode_step(sqlite3_context *cx, int n, sqlite3_value **v)
{
	struct mode *m = sqlite3_aggregate_context(cx, sizeof *m);
	sqlite3_int64 k = sqlite3_value_int64(v[1]);
	(void)n;
	if (!m) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	if (sqlite3_value_type(v[0]) == SQLITE_NULL)
		return;
	if (m->best && (k < m->k || (k == m->k && value_cmp(v[0], m->best) >= 0)))
		return;
	sqlite3_value *copy = sqlite3_value_dup(v[0]);
	if (!copy) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	sqlite3_value_free(m->best);
	m->best = copy;
	m->k = k;
}

static void mode_final(sqlite3_context *cx)
{
	struct mode *m = sqlite3_aggregate_context(cx, 0);
	if (m && m->best) {
		sqlite3_result_value(cx, m->best);
		sqlite3_value_free(m->best);
	} else {
		sqlite3_result_null(cx);
	}
}

/* ---- rq_modew ----------------------------------------------------------------------------- */

/* rq_modew(x, w): the x whose weights w add up to the most (more than 0),
 * on a tie the smallest x (BINARY order); NULL x ignored. The pairs are
 * kept as they come and merged at the end. */
struct weighted {
	sqlite3_value *v;
	sqlite3_int64 w;
};

struct modew {
	struct weighted *p;
	size_t n, cap;
};

#define MODEW_MAX (1u << 24) /* pairs per group at most */

static void modew_step(sqlite3_context *cx, int n, sqlite3_value **v)
{
	struct modew *m = sqlite3_aggregate_context(cx, sizeof *m);
	sqlite3_int64 w = sqlite3_value_int64(v[1]);
	(void)n;
	if (!m) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	if (sqlite3_value_type(v[0]) == SQLITE_NULL || w == 0)
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct weighted *p = cap <= MODEW_MAX ? sqlite3_realloc64(m->p, cap * sizeof *p) : NULL;
		if (!p) {
			sqlite3_result_error_nomem(cx);
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	if (!(m->p[m->n].v = sqlite3_value_dup(v[0]))) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	m->p[m->n++].w = w;
}

static int by_value(const void *a, const void *b)
{
	return value_cmp(((const struct weighted *)a)->v, ((const struct weighted *)b)->v);
}

static void modew_final(sqlite3_context *cx)
{
	struct modew *m = sqlite3_aggregate_context(cx, 0);
	sqlite3_value *best = NULL;
	sqlite3_int64 best_w = 0;
	if (m && m->n)
		qsort(m->p, m->n, sizeof m->p[0], by_value);
	for (size_t i = 0, j; m && i < m->n; i = j) {
		sqlite3_int64 w = 0;
		for (j = i; j < m->n && value_cmp(m->p[i].v, m->p[j].v) == 0; j++)
			w += m->p[j].w;
		if (w > best_w) { /* equal weights keep the smaller, earlier value */
			best = m->p[i].v;
			best_w = w;
		}
	}
	if (best)
		sqlite3_result_value(cx, best);
	else
		sqlite3_result_null(cx);
	for (size_t i = 0; m && i < m->n; i++)
		sqlite3_value_free(m->p[i].v);
	if (m)
		sqlite3_free(m->p);
}

/* ---- rq_wlist ----------------------------------------------------------------------------- */

/* rq_wlist(label, w, ord): "label weight, ..." of the labels whose weights
 * add up to more than 0, ordered by ord (the same for every row of a
 * label), then the most weight first, then by label; NULL labels ignored,
 * NULL when there are none. */
struct wlabel {
	char *label;
	sqlite3_int64 w, ord;
};

struct wlist {
	struct wlabel *p;
	size_t n, cap;
};

static void wlist_step(sqlite3_context *cx, int n, sqlite3_value **v)
{
	struct wlist *l = sqlite3_aggregate_context(cx, sizeof *l);
	const char *label = (const char *)sqlite3_value_text(v[0]);
	(void)n;
	if (!l) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	if (!label || sqlite3_value_int64(v[1]) == 0)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct wlabel *p = cap <= MODEW_MAX ? sqlite3_realloc64(l->p, cap * sizeof *p) : NULL;
		if (!p) {
			sqlite3_result_error_nomem(cx);
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	if (!(l->p[l->n].label = sqlite3_mprintf("%s", label))) {
		sqlite3_result_error_nomem(cx);
		return;
	}
	l->p[l->n].w = sqlite3_value_int64(v[1]);
	l->p[l->n++].ord = sqlite3_value_int64(v[2]);
}

static int by_label(const void *a, const void *b)
{
	return strcmp(((const struct wlabel *)a)->label, ((const struct wlabel *)b)->label);
}

static int by_order(const void *a, const void *b)
{
	const struct wlabel *x = a, *y = b;
	if (x->ord != y->ord)
		return x->ord < y->ord ? -1 : 1;
	if (x->w != y->w)
		return x->w > y->w ? -1 : 1;
	return strcmp(x->label, y->label);
}

/* Adds up the weights of equal labels (sorted by label); the count left. */
static size_t merge_labels(struct wlist *l)
{
	size_t out = 0;
	qsort(l->p, l->n, sizeof l->p[0], by_label);
	for (size_t i = 0; i < l->n; i++) {
		if (out > 0 && strcmp(l->p[out - 1].label, l->p[i].label) == 0) {
			l->p[out - 1].w += l->p[i].w;
			sqlite3_free(l->p[i].label);
		} else {
			l->p[out++] = l->p[i];
		}
	}
	return out;
}

static void wlist_final(sqlite3_context *cx)
{
	struct wlist *l = sqlite3_aggregate_context(cx, 0);
	sqlite3_str *s = sqlite3_str_new(NULL);
	size_t n = l && l->n ? merge_labels(l) : 0, shown = 0;
	if (n)
		qsort(l->p, n, sizeof l->p[0], by_order);
	for (size_t i = 0; i < n; i++) {
		if (l->p[i].w > 0)
			sqlite3_str_appendf(s, "%s%s %lld", shown++ ? ", " : "", l->p[i].label,
					    (long long)l->p[i].w);
		sqlite3_free(l->p[i].label);
	}
	if (l)
		sqlite3_free(l->p);
	char *text = sqlite3_str_finish(s);
	if (shown && text)
		sqlite3_result_text(cx, text, -1, sqlite3_free);
	else {
		sqlite3_free(text);
		if (shown)
			sqlite3_result_error_nomem(cx);
		else
			sqlite3_result_null(cx);
	}
}

/* ---- the driver ---------------------------------------------------------------------- */

static int d_exec(void *conn, const char *sql)
{
	return sqlite3_exec(conn, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void *d_prepare(void *conn, const char *sql)
{
	sqlite3_stmt *s = NULL;
	return sqlite3_prepare_v2(conn, sql, -1, &s, NULL) == SQLITE_OK ? s : NULL;
}

static int d_bind_int(void *stmt, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(stmt, name);
	return i > 0 ? sqlite3_bind_int64(stmt, i, v) : 0;
}

static int d_bind_real(void *stmt, const char *name, double v)
{
	int i = sqlite3_bind_parameter_index(stmt, name);
	return i > 0 ? sqlite3_bind_double(stmt, i, v) : 0;
}

static int d_bind_text(void *stmt, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(stmt, name);
	if (i <= 0)
		return 0;
	return v ? sqlite3_bind_text(stmt, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i);
}

static int d_step(void *stmt)
{
	int rc = sqlite3_step(stmt);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int d_reset(void *stmt)
{
	return sqlite3_reset(stmt) == SQLITE_OK ? 0 : -1;
}

static int d_ncols(void *stmt)
{
	return sqlite3_column_count(stmt);
}

static const char *d_col_name(void *stmt, int col)
{
	return sqlite3_column_name(stmt, col);
}

static enum rq_type d_col_type(void *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER: return RQ_INT;
	case SQLITE_FLOAT: return RQ_REAL;
	case SQLITE_NULL: return RQ_NULL;
	default: return RQ_TEXT;
	}
}

static int64_t d_col_int(void *stmt, int col)
{
	return sqlite3_column_int64(stmt, col);
}

static double d_col_real(void *stmt, int col)
{
	return sqlite3_column_double(stmt, col);
}

static const char *d_col_text(void *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

static void d_finalize(void *stmt)
{
	sqlite3_finalize(stmt);
}

static const char *d_errmsg(void *conn)
{
	return sqlite3_errmsg(conn);
}

static const struct rq_driver sqlite_driver = {
	"sqlite", SQLT_SQLITE, d_exec, d_prepare, d_bind_int, d_bind_real, d_bind_text, d_step,
	d_reset, d_ncols, d_col_name, d_col_type, d_col_int, d_col_real, d_col_text, d_finalize,
	d_errmsg,
};

/* A query-layer connection on db (not owned), with rq_mode, rq_modew and
 * rq_wlist defined on it. */
struct rq *rq_sqlite(sqlite3 *db)
{
	if (sqlite3_create_function(db, "rq_mode", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    NULL, mode_step, mode_final) != SQLITE_OK ||
	    sqlite3_create_function(db, "rq_modew", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    NULL, modew_step, modew_final) != SQLITE_OK ||
	    sqlite3_create_function(db, "rq_wlist", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    NULL, wlist_step, wlist_final) != SQLITE_OK)
		return NULL;
	return rq_new(&sqlite_driver, db);
}
