/* Folding the writer's rows into a rollup in C (rollup_fold.h). */
#include "rollup_fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sqlt.h"

enum src { SRC_ONE, SRC_COL, SRC_ADD, SRC_EXPR };

/* Where a column of the definition comes from. */
struct fcol {
	const struct rollup_col *def;
	enum src src;
	int a, b; /* writer columns: SRC_COL (a), SRC_ADD (a + b) */
	int e;    /* the result of the evaluated measures (SRC_EXPR) */
};

/* A slot of a table keyed by values: a group (bucket, keys; measures
 * accumulated) or a remembered evaluation (inputs; results). */
struct slot {
	uint64_t hash;
	int used;
	int64_t bucket;
	struct writer_value *v; /* owned texts */
};

struct table {
	struct slot *s;
	size_t cap, n; /* cap a power of two */
};

#define MAX_INPUTS 32

struct rollup_fold {
	sqlite3 *db;
	const struct rollup_def *d;
	struct fcol *cols;
	int ts;                    /* the writer column ts_start */
	int inputs[MAX_INPUTS];    /* writer columns the evaluated measures read */
	int ninputs, nexprs;
	sqlite3_stmt *eval;        /* the evaluated measures of one set of inputs */
	sqlite3_stmt *up[ROLLUP_LEVELS];
	struct table groups, memo;
	struct writer_value *scratch; /* nexprs results, ncols row values */
};

/* ---- values --------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0x100000001b3ull;
}

static uint64_t hash_value(uint64_t h, const struct writer_value *v)
{
	h = mix(h, (uint64_t)v->type);
	if (v->type == WV_INT)
		return mix(h, (uint64_t)v->i);
	if (v->type == WV_REAL) {
		uint64_t bits;
		memcpy(&bits, &v->r, sizeof bits);
		return mix(h, bits);
	}
	const char *p = v->type == WV_TEXT ? v->t : "";
	size_t n = strlen(p);
	for (; n >= 8; n -= 8, p += 8) { /* eight bytes at a time: keys are hashes, names */
		uint64_t x;
		memcpy(&x, p, 8);
		h = mix(h, x);
	}
	uint64_t tail = n;
	memcpy(&tail, p, n); /* the length goes with the last bytes */
	return mix(h, tail ^ ((uint64_t)n << 56));
}

static int same_value(const struct writer_value *a, const struct writer_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case WV_INT: return a->i == b->i;
	case WV_REAL: return a->r == b->r;
	case WV_TEXT: return !strcmp(a->t, b->t);
	default: return 1;
	}
}

/* SQLite's order for min() and max() of values of one kind (NULL apart). */
static int cmp_value(const struct writer_value *a, const struct writer_value *b)
{
	if (a->type == WV_TEXT || b->type == WV_TEXT)
		return a->type != b->type ? (a->type == WV_TEXT) - (b->type == WV_TEXT)
					  : strcmp(a->t, b->t);
	double x = a->type == WV_INT ? (double)a->i : a->r;
	double y = b->type == WV_INT ? (double)b->i : b->r;
	if (a->type == WV_INT && b->type == WV_INT)
		return (a->i > b->i) - (a->i < b->i);
	return (x > y) - (x < y);
}

/* *dst = a copy of src (its text duplicated); -1 out of memory. */
static int copy_value(struct writer_value *dst, const struct writer_value *src)
{
	*dst = *src;
	if (src->type == WV_TEXT && !(dst->t = strdup(src->t))) {
		dst->type = WV_NULL;
		return -1;
	}
	return 0;
}

static void drop_value(struct writer_value *v)
{
	if (v->type == WV_TEXT)
		free((char *)v->t);
	v->type = WV_NULL;
}

/* ---- tables of values ------------------------------------------------------------ */

static void table_clear(struct table *t, size_t width)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->s[i].used)
			continue;
		for (size_t k = 0; k < width; k++)
			drop_value(&t->s[i].v[k]);
		free(t->s[i].v);
		t->s[i].used = 0;
	}
	t->n = 0;
}

static int table_grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	struct slot *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].used) {
			size_t j = t->s[i].hash & (cap - 1);
			while (s[j].used)
				j = (j + 1) & (cap - 1);
			s[j] = t->s[i];
		}
	free(t->s);
	t->s = s;
	t->cap = cap;
	return 0;
}

/* The slot of (bucket, the first nkey values of key): found, or a new one
 * (used = 2) with v allocated for width values; NULL out of memory. */
static struct slot *table_find(struct table *t, int64_t bucket, const struct writer_value *key,
			       size_t nkey, size_t width)
{
	uint64_t h = mix(0, (uint64_t)bucket);
	for (size_t k = 0; k < nkey; k++)
		h = hash_value(h, &key[k]);
	if ((t->n + 1) * 2 > t->cap && table_grow(t) < 0)
		return NULL;
	size_t j = h & (t->cap - 1);
	for (; t->s[j].used; j = (j + 1) & (t->cap - 1)) {
		struct slot *s = &t->s[j];
		size_t k = 0;
		while (s->hash == h && s->bucket == bucket && k < nkey && same_value(&s->v[k], &key[k]))
			k++;
		if (s->hash == h && s->bucket == bucket && k == nkey)
			return s;
	}
	struct slot *s = &t->s[j];
	if (!(s->v = calloc(width, sizeof *s->v)))
		return NULL;
	*s = (struct slot){h, 2, bucket, s->v};
	t->n++;
	return s;
}

/* ---- the definition ------------------------------------------------------------- */

static int column_of(const char *name, size_t len)
{
	for (size_t i = 0; i < writer_columns(); i++)
		if (strlen(writer_column(i)) == len && !strncmp(writer_column(i), name, len))
			return (int)i;
	return -1;
}

static size_t ident(const char *p)
{
	size_t n = 0;
	while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_')
		n++;
	return n;
}

/* "s.NAME" at p: the writer column, its length in *len; -1 if none. */
static int column_at(const char *p, size_t *len)
{
	size_t n = p[0] == 's' && p[1] == '.' ? ident(p + 2) : 0;
	*len = n ? n + 2 : 0;
	return n ? column_of(p + 2, n) : -1;
}

/* How a column of the definition is read: 0, or -1 for a key that is not
 * a plain column. */
static int classify(struct rollup_fold *f, struct fcol *c)
{
	const char *e = c->def->expr;
	size_t n = 0, m = 0;
	c->a = column_at(e, &n);
	if (c->a >= 0 && e[n] == '\0') {
		c->src = SRC_COL;
		return 0;
	}
	if (c->def->kind == ROLLUP_KEY)
		return -1;
	if (!strcmp(e, "1")) {
		c->src = SRC_ONE;
	} else if (c->a >= 0 && !strncmp(e + n, " + ", 3) && (c->b = column_at(e + n + 3, &m)) >= 0 &&
		   e[n + 3 + m] == '\0') {
		c->src = SRC_ADD;
	} else {
		c->src = SRC_EXPR;
		c->e = f->nexprs++;
	}
	return 0;
}

/* The writer columns an evaluated measure reads ("s.NAME" in its text). */
static int note_inputs(struct rollup_fold *f, const char *e)
{
	for (const char *p = e; *p; p++) {
		size_t n;
		int col = (p == e || !(ident(p - 1) > 0)) ? column_at(p, &n) : -1;
		if (col < 0)
			continue;
		int seen = 0;
		for (int i = 0; i < f->ninputs; i++)
			seen |= f->inputs[i] == col;
		if (!seen && f->ninputs == MAX_INPUTS)
			return -1;
		if (!seen)
			f->inputs[f->ninputs++] = col;
		p += n - 1;
	}
	return 0;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *tmpl)
{
	char err[128];
	sqlite3_stmt *s = NULL;
	char *sql = tmpl ? sqlt_expand(SQLT_SQLITE, tmpl, NULL, 0, err, sizeof err) : NULL;
	if (sql && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
		s = NULL;
	free(sql);
	return s;
}

/* "SELECT e1, e2 ... FROM (SELECT ?1 AS in1, ...) s": the evaluated
 * measures, as the definition writes them, of one set of inputs. */
static int prepare_eval(struct rollup_fold *f)
{
	size_t len = 64;
	for (size_t i = 0; i < f->d->ncols; i++)
		len += strlen(f->d->cols[i].expr) + 4;
	len += (size_t)f->ninputs * 64;
	char *sql = malloc(len);
	size_t used = 0;
	if (!sql)
		return -1;
	used += (size_t)snprintf(sql, len, "SELECT ");
	for (size_t i = 0, k = 0; i < f->d->ncols; i++)
		if (f->cols[i].src == SRC_EXPR)
			used += (size_t)snprintf(sql + used, len - used, "%s%s", k++ ? ", " : "",
						 f->d->cols[i].expr);
	used += (size_t)snprintf(sql + used, len - used, " FROM (SELECT");
	for (int i = 0; i < f->ninputs; i++)
		used += (size_t)snprintf(sql + used, len - used, "%s ?%d AS %s", i ? "," : "", i + 1,
					 writer_column((size_t)f->inputs[i]));
	snprintf(sql + used, len - used, ") s");
	f->eval = prepare(f->db, sql);
	free(sql);
	return f->eval ? 0 : -1;
}

struct rollup_fold *rollup_fold_new(sqlite3 *db, const struct rollup_def *d)
{
	struct rollup_fold *f = calloc(1, sizeof *f);
	int rc = f && !d->where ? 0 : -1;
	if (rc == 0) {
		*f = (struct rollup_fold){.db = db, .d = d, .ts = column_of("ts_start", 8)};
		f->cols = calloc(d->ncols, sizeof *f->cols);
		f->scratch = calloc(d->ncols * 2 + 1, sizeof *f->scratch);
		rc = f->cols && f->scratch && f->ts >= 0 ? 0 : -1;
	}
	for (size_t i = 0; rc == 0 && i < d->ncols; i++) {
		if (i > 0 && d->cols[i].kind == ROLLUP_KEY && d->cols[i - 1].kind != ROLLUP_KEY)
			rc = -1; /* the keys first, as the groups keep them */
		f->cols[i].def = &d->cols[i];
		rc = classify(f, &f->cols[i]);
		if (rc == 0 && f->cols[i].src == SRC_EXPR)
			rc = note_inputs(f, d->cols[i].expr);
	}
	if (rc == 0 && f->nexprs)
		rc = prepare_eval(f);
	for (int l = 0; rc == 0 && l < ROLLUP_LEVELS; l++) {
		char *sql = rollup_upsert_values(d, (enum rollup_level)l);
		rc = (f->up[l] = prepare(db, sql)) ? 0 : -1;
		free(sql);
	}
	if (rc < 0) {
		rollup_fold_free(f);
		return NULL;
	}
	return f;
}

void rollup_fold_free(struct rollup_fold *f)
{
	if (!f)
		return;
	rollup_fold_reset(f);
	table_clear(&f->memo, (size_t)(f->ninputs + f->nexprs));
	free(f->groups.s);
	free(f->memo.s);
	sqlite3_finalize(f->eval);
	for (int l = 0; l < ROLLUP_LEVELS; l++)
		sqlite3_finalize(f->up[l]);
	free(f->cols);
	free(f->scratch);
	free(f);
}

void rollup_fold_reset(struct rollup_fold *f)
{
	table_clear(&f->groups, f->d->ncols);
}

size_t rollup_fold_groups(const struct rollup_fold *f)
{
	return f->groups.n;
}

/* ---- rows ------------------------------------------------------------------------- */

static int bind_value(sqlite3_stmt *s, int i, const struct writer_value *v)
{
	switch (v->type) {
	case WV_INT: return sqlite3_bind_int64(s, i, v->i);
	case WV_REAL: return sqlite3_bind_double(s, i, v->r);
	case WV_TEXT: return sqlite3_bind_text(s, i, v->t, -1, SQLITE_STATIC);
	default: return sqlite3_bind_null(s, i);
	}
}

static int read_value(sqlite3_stmt *s, int i, struct writer_value *out)
{
	struct writer_value v = {WV_NULL, 0, 0, NULL};
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER: v.type = WV_INT, v.i = sqlite3_column_int64(s, i); break;
	case SQLITE_FLOAT: v.type = WV_REAL, v.r = sqlite3_column_double(s, i); break;
	case SQLITE_TEXT: v.type = WV_TEXT, v.t = (const char *)sqlite3_column_text(s, i); break;
	default: break;
	}
	return copy_value(out, &v);
}

/* The evaluated measures of the row's inputs: remembered, or asked of
 * SQLite and remembered. NULL on error. */
static const struct writer_value *evaluate(struct rollup_fold *f, const struct writer_value *v)
{
	struct writer_value *in = f->scratch + f->d->ncols;
	size_t width = (size_t)(f->ninputs + f->nexprs);
	for (int i = 0; i < f->ninputs; i++)
		in[i] = v[f->inputs[i]];
	if (f->memo.n >= FOLD_MEMO)
		table_clear(&f->memo, width);
	struct slot *s = table_find(&f->memo, 0, in, (size_t)f->ninputs, width);
	if (!s || s->used == 1)
		return s ? s->v + f->ninputs : NULL;
	s->used = 1;
	int rc = 0;
	for (int i = 0; i < f->ninputs; i++)
		rc |= copy_value(&s->v[i], &in[i]) | (bind_value(f->eval, i + 1, &in[i]) != SQLITE_OK);
	rc |= sqlite3_step(f->eval) != SQLITE_ROW;
	for (int k = 0; rc == 0 && k < f->nexprs; k++)
		rc |= read_value(f->eval, k, &s->v[f->ninputs + k]);
	sqlite3_reset(f->eval);
	if (rc) { /* not remembered half made */
		table_clear(&f->memo, width);
		return NULL;
	}
	return s->v + f->ninputs;
}

/* The value a column of the definition takes in the row. */
static struct writer_value measure(const struct fcol *c, const struct writer_value *v,
				   const struct writer_value *ev)
{
	struct writer_value one = {WV_INT, 1, 0, NULL}, null = {WV_NULL, 0, 0, NULL};
	switch (c->src) {
	case SRC_ONE: return one;
	case SRC_COL: return v[c->a];
	case SRC_EXPR: return ev[c->e];
	default:
		if (v[c->a].type != WV_INT || v[c->b].type != WV_INT)
			return null;
		one.i = v[c->a].i + v[c->b].i;
		return one;
	}
}

/* A key as the tables store it: NULL as -1 or ''. */
static struct writer_value stored_key(const struct fcol *c, const struct writer_value *v)
{
	struct writer_value k = v[c->a];
	if (k.type == WV_NULL && c->def->type == 'i')
		k = (struct writer_value){WV_INT, -1, 0, NULL};
	else if (k.type == WV_NULL && c->def->type == 't')
		k = (struct writer_value){WV_TEXT, 0, 0, ""};
	return k;
}

static int add_to(struct writer_value *acc, const struct fcol *c, const struct writer_value *m)
{
	if (c->def->kind == ROLLUP_SUM) {
		if (m->type == WV_INT)
			acc->i += m->i;
		return 0;
	}
	if (m->type == WV_NULL)
		return 0;
	int d = acc->type == WV_NULL ? 0 : cmp_value(m, acc);
	if (acc->type != WV_NULL && (c->def->kind == ROLLUP_MIN ? d >= 0 : d <= 0))
		return 0;
	drop_value(acc);
	return copy_value(acc, m);
}

int rollup_fold_row(struct rollup_fold *f, const struct writer_value *v)
{
	size_t nkey = 0;
	const struct writer_value *ev = f->nexprs ? evaluate(f, v) : NULL;
	if (f->nexprs && !ev)
		return -1;
	if (v[f->ts].type != WV_REAL && v[f->ts].type != WV_INT)
		return -1;
	double ts = v[f->ts].type == WV_REAL ? v[f->ts].r : (double)v[f->ts].i;
	int64_t bucket = (int64_t)(ts / 3600.0) * 3600; /* {{bucket(s.ts_start, 3600)}} */
	while (nkey < f->d->ncols && f->cols[nkey].def->kind == ROLLUP_KEY) {
		f->scratch[nkey] = stored_key(&f->cols[nkey], v);
		nkey++;
	}
	struct slot *g = table_find(&f->groups, bucket, f->scratch, nkey, f->d->ncols);
	int rc = g ? 0 : -1;
	if (g && g->used == 2) {
		g->used = 1;
		for (size_t i = 0; i < nkey; i++)
			rc |= copy_value(&g->v[i], &f->scratch[i]);
		for (size_t i = nkey; i < f->d->ncols; i++)
			if (f->cols[i].def->kind == ROLLUP_SUM)
				g->v[i] = (struct writer_value){WV_INT, 0, 0, NULL};
	}
	for (size_t i = nkey; rc == 0 && i < f->d->ncols; i++) {
		struct writer_value m = measure(&f->cols[i], v, ev);
		rc = add_to(&g->v[i], &f->cols[i], &m);
	}
	return rc;
}

/* Adds group g to a level's table in bucket b. */
static int upsert(struct rollup_fold *f, enum rollup_level l, int64_t b, const struct slot *g)
{
	sqlite3_stmt *s = f->up[l];
	int rc = sqlite3_bind_int64(s, 1, b);
	for (size_t i = 0; rc == SQLITE_OK && i < f->d->ncols; i++)
		rc = bind_value(s, (int)i + 2, &g->v[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int rollup_fold_flush(struct rollup_fold *f, int64_t promoted)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < f->groups.cap; i++) {
		const struct slot *g = &f->groups.s[i];
		if (!g->used)
			continue;
		rc = upsert(f, ROLLUP_HOUR, g->bucket, g);
		if (rc == 0 && g->bucket < promoted) /* a late row: its hour was promoted */
			rc = upsert(f, ROLLUP_DAY, g->bucket / 86400 * 86400, g) |
			     upsert(f, ROLLUP_ALL, 0, g);
	}
	for (int l = 0; l < ROLLUP_LEVELS; l++)
		sqlite3_clear_bindings(f->up[l]); /* no text of a group outlives it */
	rollup_fold_reset(f);
	return rc;
}
