/* SQL templates: "{{name(arg, ...)}}" expanded per dialect (sqlt.h). */
#include "sqlt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define MAX_ARGS 16
#define MAX_DEPTH 12
#define NAME_MAX_LEN 64

struct buf {
	char *p;
	size_t len, cap;
	int failed; /* too long or out of memory */
};

struct ctx {
	enum sqlt_dialect d;
	const struct sqlt_var *vars;
	size_t nvars;
	char *err;
	size_t errlen;
	int depth;
};

/* ---- the output ------------------------------------------------------------ */

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = cap <= SQLT_MAX ? realloc(b->p, cap) : NULL;
		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		b->failed = 1;
	else
		put(b, tmp, (size_t)n);
}

static int fail(struct ctx *c, const char *what, const char *name)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "SQL template: %s%s%s", what, name ? ": " : "",
			 name ? name : "");
	return -1;
}

/* ---- the calls of each dialect ----------------------------------------------- */

/* A format: "$1" ... "$9" stand for the arguments. */
static void format(struct buf *b, const char *fmt, char *const *args)
{
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			puts_(b, args[p[1] - '1']);
			p++;
		} else {
			put(b, p, 1);
		}
	}
}

static void cat_sqlite(struct buf *b, char *const *args, int n)
{
	puts_(b, "(");
	for (int i = 0; i < n; i++) {
		if (i)
			puts_(b, " || ");
		puts_(b, args[i]);
	}
	puts_(b, ")");
}

static void cat_clickhouse(struct buf *b, char *const *args, int n)
{
	puts_(b, "concat(");
	for (int i = 0; i < n; i++) {
		puts_(b, i ? ", toString(" : "toString(");
		puts_(b, args[i]);
		puts_(b, ")");
	}
	puts_(b, ")");
}

/* ClickHouse has no registry functions: multiIf() over the registry's
 * tables, written here from common/registry.c. */
static void ch_versions(struct buf *b, const char *x, int what)
{
	size_t n;
	const struct tls_version_info *v = tls_versions_all(&n);
	puts_(b, "multiIf(");
	for (size_t i = 0; i < n; i++) {
		puts_(b, x);
		putf(b, " >= %d AND ", v[i].first);
		puts_(b, x);
		putf(b, " <= %d, %d, ", v[i].last, what == 0 ? v[i].rank : v[i].legacy);
	}
	puts_(b, what == 0 ? "0)" : "NULL)");
}

static void vrank_ch(struct buf *b, char *const *args, int n)
{
	(void)n;
	ch_versions(b, args[0], 0);
}

static void vlegacy_ch(struct buf *b, char *const *args, int n)
{
	(void)n;
	ch_versions(b, args[0], 1);
}

static void rankname_ch(struct buf *b, char *const *args, int n)
{
	(void)n;
	puts_(b, "multiIf(");
	for (int rank = 1; rank < 64 && tls_rank_name(rank); rank++) {
		puts_(b, args[0]);
		putf(b, " = %d, '%s', ", rank, tls_rank_name(rank));
	}
	puts_(b, "NULL)");
}

static void gpq_ch(struct buf *b, char *const *args, int n)
{
	size_t ng;
	const struct tls_group_info *g = tls_groups_all(&ng);
	(void)n;
	puts_(b, "multiIf(");
	for (size_t i = 0; i < ng; i++) {
		puts_(b, args[0]);
		putf(b, " = %d, %d, ", g[i].code, g[i].pq);
	}
	puts_(b, "NULL)");
}

static void cname_ch(struct buf *b, char *const *args, int n)
{
	size_t nc;
	const struct cipher_info *c = cipher_table_all(&nc);
	(void)n;
	puts_(b, "nullIf(transform(toInt64(");
	puts_(b, args[0]);
	puts_(b, "), [");
	for (size_t i = 0; i < nc; i++)
		putf(b, "%s%u", i ? ", " : "", (unsigned)c[i].code);
	puts_(b, "], [");
	for (size_t i = 0; i < nc; i++)
		putf(b, "%s'%s'", i ? ", " : "", c[i].name); /* IANA names: [A-Za-z0-9_] */
	puts_(b, "], ''), '')");
}

typedef void (*call_fn)(struct buf *b, char *const *args, int n);

struct call {
	const char *name;
	int nargs;       /* -1: one or more */
	const char *fmt[2];  /* per dialect; NULL: fn[] */
	call_fn fn[2];
};

static const struct call calls[] = {
	{"cat", -1, {NULL, NULL}, {cat_sqlite, cat_clickhouse}},
	{"bit", 2, {"((($1) >> ($2)) & 1)", "bitAnd(bitShiftRight($1, $2), 1)"}, {NULL, NULL}},
	{"idiv", 2, {"(($1) / ($2))", "intDiv($1, $2)"}, {NULL, NULL}},
	{"bucket", 2, {"(CAST(($1) / ($2) AS INTEGER) * ($2))", "(intDiv(toInt64($1), $2) * ($2))"},
	 {NULL, NULL}},
	{"int", 1, {"CAST($1 AS INTEGER)", "toInt64($1)"}, {NULL, NULL}},
	{"contains", 2, {"(instr($1, $2) > 0)", "(position($1, $2) > 0)"}, {NULL, NULL}},
	{"ieq", 2, {"($1 = $2 COLLATE NOCASE)", "(lowerUTF8($1) = lowerUTF8($2))"}, {NULL, NULL}},
	{"hex4", 1, {"printf('0x%04X', $1)",
		     "concat('0x', substring(hex(toUInt32($1) + 65536), 3, 4))"}, {NULL, NULL}},
	{"mode", 2, {"rq_mode($1, $2)", "argMin($1, tuple(-toInt64($2), $1))"}, {NULL, NULL}},
	/* ClickHouse 18.16: no aggregate inside a lambda, no sumMap over text:
	 * the values (groupUniqArray) and the pairs (groupArray) outside, the
	 * pairs handed to the lambda with replicate() */
	{"modew", 2, {"rq_modew($1, $2)",
		      "nullIf(arraySort(t -> (-t.2, t.1), arrayMap((v, P) -> (v, arraySum(arrayMap("
		      "p -> if(p.1 = v, p.2, 0), P))), groupUniqArrayIf(assumeNotNull($1), $1 IS NOT"
		      " NULL AND $2 <> 0), replicate(groupArrayIf((assumeNotNull($1), toInt64($2)),"
		      " $1 IS NOT NULL AND $2 <> 0), groupUniqArrayIf(assumeNotNull($1), $1 IS NOT NULL"
		      " AND $2 <> 0))))[1].1, '')"},
	 {NULL, NULL}},
	{"wlist", 3, {"rq_wlist($1, $2, $3)",
		      "nullIf(arrayStringConcat(arrayMap(t -> concat(t.1, ' ', toString(t.2)),"
		      " arraySort(t -> (t.3, -t.2, t.1), arrayFilter(t -> t.2 > 0, arrayMap((v, P) ->"
		      " (v, arraySum(arrayMap(p -> if(p.1 = v, p.2, 0), P)), arrayReduce('min',"
		      " arrayMap(p -> if(p.1 = v, p.3, toInt64(9223372036854775807)), P))),"
		      " groupUniqArrayIf(assumeNotNull($1), $1 IS NOT NULL AND $2 <> 0),"
		      " replicate(groupArrayIf((assumeNotNull($1), toInt64($2), toInt64($3)), $1 IS NOT"
		      " NULL AND $2 <> 0), groupUniqArrayIf(assumeNotNull($1), $1 IS NOT NULL AND $2 <>"
		      " 0)))))), ', '), '')"},
	 {NULL, NULL}},
	{"list", 1, {"group_concat($1, ', ')", "arrayStringConcat(groupArray(toString($1)), ', ')"},
	 {NULL, NULL}},
	{"ljoin", 0, {"LEFT JOIN", "ANY LEFT JOIN"}, {NULL, NULL}},
	{"join", 0, {"JOIN", "ANY INNER JOIN"}, {NULL, NULL}},
	{"joinall", 0, {"JOIN", "ALL INNER JOIN"}, {NULL, NULL}},
	{"vrank", 1, {"tls_version_rank($1)", NULL}, {NULL, vrank_ch}},
	{"vlegacy", 1, {"tls_version_legacy($1)", NULL}, {NULL, vlegacy_ch}},
	{"rankname", 1, {"tls_rank_name($1)", NULL}, {NULL, rankname_ch}},
	{"gpq", 1, {"tls_group_pq($1)", NULL}, {NULL, gpq_ch}},
	{"cname", 1, {"cipher_name($1)", NULL}, {NULL, cname_ch}},
};

/* ---- parsing ------------------------------------------------------------------ */

static int expand(struct ctx *c, const char *s, size_t n, struct buf *out);

/* The end of a quoted string starting at s[i] == '\'' (index of the closing
 * quote), or n. */
static size_t skip_quoted(const char *s, size_t i, size_t n)
{
	for (i++; i < n; i++)
		if (s[i] == '\'') {
			if (i + 1 < n && s[i + 1] == '\'')
				i++;
			else
				return i;
		}
	return n;
}

/* Splits "a, f(b, c), 'x,y'" at its top-level commas: start and length of
 * each argument in starts[] / lens[]. Returns the count, or -1. */
static int split_args(const char *s, size_t n, size_t *starts, size_t *lens)
{
	int count = 0, depth = 0;
	size_t from = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] == '\'') {
			i = skip_quoted(s, i, n);
			continue;
		}
		if (i < n && (s[i] == '(' || s[i] == '{'))
			depth++;
		else if (i < n && (s[i] == ')' || s[i] == '}'))
			depth--;
		if (i == n || (s[i] == ',' && depth == 0)) {
			if (count == MAX_ARGS || depth != 0)
				return -1;
			while (from < i && s[from] == ' ')
				from++;
			size_t to = i;
			while (to > from && s[to - 1] == ' ')
				to--;
			starts[count] = from;
			lens[count++] = to - from;
			from = i + 1;
		}
	}
	return depth == 0 ? count : -1;
}

/* The end of the call starting at s[0..1] == "{{": the index just past its
 * "}}", or 0 when unbalanced. */
static size_t call_end(const char *s, size_t n)
{
	int depth = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] == '\'') {
			i = skip_quoted(s, i, n);
			continue;
		}
		if (s[i] == '{' && s[i + 1] == '{') {
			depth++;
			i++;
		} else if (s[i] == '}' && s[i + 1] == '}') {
			if (--depth == 0)
				return i + 2;
			i++;
		}
	}
	return 0;
}

static const struct sqlt_var *find_var(const struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nvars; i++)
		if (!strcmp(c->vars[i].name, name))
			return &c->vars[i];
	return NULL;
}

static const struct call *find_call(const char *name)
{
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (!strcmp(calls[i].name, name))
			return &calls[i];
	return NULL;
}

/* The expanded arguments of a call (args[i] to free), their count or -1. */
static int expand_args(struct ctx *c, const char *s, size_t n, char **args)
{
	size_t starts[MAX_ARGS], lens[MAX_ARGS];
	int count = n ? split_args(s, n, starts, lens) : 0;
	if (count < 0)
		return fail(c, "unbalanced arguments", NULL);
	for (int i = 0; i < count; i++) {
		struct buf a = {NULL, 0, 0, 0};
		puts_(&a, "");
		if (expand(c, s + starts[i], lens[i], &a) < 0 || a.failed) {
			free(a.p);
			while (i > 0)
				free(args[--i]);
			return a.failed ? fail(c, "too long", NULL) : -1;
		}
		args[i] = a.p;
	}
	return count;
}

static int apply(struct ctx *c, const struct call *k, const char *body, size_t n,
		 struct buf *out)
{
	char *args[MAX_ARGS];
	int count = expand_args(c, body, n, args), rc = 0;
	if (count < 0)
		return -1;
	if ((k->nargs >= 0 && count != k->nargs) || (k->nargs < 0 && count == 0))
		rc = fail(c, "wrong number of arguments", k->name);
	else if (k->fmt[c->d])
		format(out, k->fmt[c->d], args);
	else
		k->fn[c->d](out, args, count);
	for (int i = 0; i < count; i++)
		free(args[i]);
	return rc;
}

/* One call: s[0..len) is "{{name}}" or "{{name(args)}}". */
static int one_call(struct ctx *c, const char *s, size_t len, struct buf *out)
{
	char name[NAME_MAX_LEN];
	size_t inner = len - 4, nl = strcspn(s + 2, "(}");
	const struct sqlt_var *v;
	const struct call *k;
	if (nl == 0 || nl >= sizeof name || nl > inner)
		return fail(c, "bad call", NULL);
	memcpy(name, s + 2, nl);
	name[nl] = '\0';
	if (nl == inner && (v = find_var(c, name)))
		return expand(c, v->text, strlen(v->text), out);
	if (!(k = find_call(name)))
		return fail(c, "unknown name", name);
	if (nl == inner)
		return apply(c, k, "", 0, out);
	if (s[2 + nl] != '(' || s[len - 3] != ')')
		return fail(c, "bad call", name);
	return apply(c, k, s + 3 + nl, inner - nl - 2, out);
}

static int expand(struct ctx *c, const char *s, size_t n, struct buf *out)
{
	if (++c->depth > MAX_DEPTH)
		return fail(c, "calls nested too deep", NULL);
	size_t i = 0;
	while (i < n) {
		const char *open = NULL;
		for (size_t j = i; j + 1 < n; j++) {
			if (s[j] == '\'') {
				j = skip_quoted(s, j, n);
				continue;
			}
			if (s[j] == '{' && s[j + 1] == '{') {
				open = s + j;
				break;
			}
		}
		size_t plain = open ? (size_t)(open - s) - i : n - i;
		put(out, s + i, plain);
		i += plain;
		if (!open)
			break;
		size_t len = call_end(open, n - i);
		if (len == 0)
			return fail(c, "unbalanced braces", NULL);
		if (one_call(c, open, len, out) < 0)
			return -1;
		i += len;
	}
	c->depth--;
	return 0;
}

char *sqlt_expand(enum sqlt_dialect d, const char *tmpl, const struct sqlt_var *vars,
		  size_t nvars, char *err, size_t errlen)
{
	struct ctx c = {d, vars, nvars, err, errlen, 0};
	struct buf out = {NULL, 0, 0, 0};
	puts_(&out, "");
	if (expand(&c, tmpl, strlen(tmpl), &out) < 0 || out.failed) {
		if (out.failed)
			fail(&c, "too long or out of memory", NULL);
		free(out.p);
		return NULL;
	}
	return out.p;
}
