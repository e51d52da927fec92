#define _POSIX_C_SOURCE 200809L
#include "rtable.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rtable *rmodel_add(struct rmodel *m, const char *id, const struct rcol *cols,
			  size_t ncols)
{
	struct rtable *t;
	if (m->ntables >= RMODEL_MAX_TABLES || !(t = calloc(1, sizeof *t)))
		return NULL;
	t->id = id;
	t->cols = cols;
	t->ncols = ncols;
	m->tables[m->ntables++] = t;
	return t;
}

const struct rtable *rmodel_find(const struct rmodel *m, const char *id)
{
	for (size_t i = 0; i < m->ntables; i++)
		if (!strcmp(m->tables[i]->id, id))
			return m->tables[i];
	return NULL;
}

static void table_free(struct rtable *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t->title);
	free(t->note);
	free(t);
}

void rmodel_free(struct rmodel *m)
{
	for (size_t i = 0; i < m->ntables; i++)
		table_free(m->tables[i]);
	m->ntables = 0;
}

static int vformat(char **dst, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	free(*dst);
	*dst = strdup(buf);
	return *dst ? 0 : -1;
}

int rtable_title(struct rtable *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vformat(&t->title, fmt, ap);
	va_end(ap);
	return rc;
}

int rtable_note(struct rtable *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vformat(&t->note, fmt, ap);
	va_end(ap);
	return rc;
}

long rtable_row(struct rtable *t)
{
	if (t->nrows >= RTABLE_MAX_ROWS)
		return -1;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct rcell *c = realloc(t->cells, cap * t->ncols * sizeof *c);
		if (!c)
			return -1;
		t->cells = c;
		t->cap = cap;
	}
	memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
	return (long)t->nrows++;
}

int rtable_col(const struct rtable *t, const char *key)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].key, key))
			return (int)i;
	return -1;
}

struct rcell *rtable_at(const struct rtable *t, size_t row, size_t col)
{
	return row < t->nrows && col < t->ncols ? &t->cells[row * t->ncols + col] : NULL;
}

static struct rcell *cell(struct rtable *t, long row, const char *key)
{
	int col = rtable_col(t, key);
	return row < 0 || col < 0 ? NULL : rtable_at(t, (size_t)row, (size_t)col);
}

void rtable_int(struct rtable *t, long row, const char *key, int64_t v)
{
	struct rcell *c = cell(t, row, key);
	if (c) {
		c->kind = RCELL_INT;
		c->i = v;
	}
}

void rtable_pct(struct rtable *t, long row, const char *key, int64_t part, int64_t whole)
{
	struct rcell *c = cell(t, row, key);
	if (c && whole > 0) {
		c->kind = RCELL_REAL;
		c->r = 100.0 * (double)part / (double)whole;
	}
}

int rtable_text(struct rtable *t, long row, const char *key, const char *s)
{
	struct rcell *c = cell(t, row, key);
	if (!c || !s)
		return 0;
	free(c->text);
	c->kind = RCELL_NULL;
	if (!(c->text = strdup(s)))
		return -1;
	c->kind = RCELL_TEXT;
	return 0;
}

const struct rcell *rtable_lookup(const struct rtable *t, const char *rowkey,
				  const char *colkey)
{
	int col = t ? rtable_col(t, colkey) : -1;
	for (size_t r = 0; t && col >= 0 && r < t->nrows; r++) {
		const struct rcell *k = rtable_at(t, r, 0);
		char num[24];
		snprintf(num, sizeof num, "%lld", (long long)k->i);
		if ((k->kind == RCELL_TEXT && !strcmp(k->text, rowkey)) ||
		    (k->kind == RCELL_INT && !strcmp(num, rowkey)))
			return rtable_at(t, r, (size_t)col);
	}
	return NULL;
}

long rtable_counted(struct rtable *t, const char *key, const char *text, int64_t n,
		    int64_t whole)
{
	long row = rtable_row(t);
	if (row < 0 || rtable_text(t, row, key, text) < 0)
		return -1;
	rtable_int(t, row, "sessions", n);
	rtable_pct(t, row, "sessions_pct", n, whole);
	return row;
}
