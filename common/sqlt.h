/* SQL written once for two SQL dialects (SQLite, ClickHouse 18.16): the
 * few things the two spell differently are calls "{{name(arg, ...)}}" in
 * the text, expanded per dialect. The rest of the text is the SQL both
 * understand, under these rules (what ClickHouse 18.16 lacks or reads
 * otherwise):
 *   - no WITH (common table expressions), no window functions, no
 *     correlated subqueries: nested subqueries in FROM, joined on equal
 *     column names with {{ljoin}} ... USING (columns);
 *   - GROUP BY and ORDER BY name columns or aliases, never positions;
 *   - an alias never takes the name of a column the same SELECT reads
 *     (ClickHouse puts the aliased expression wherever the name appears:
 *     "sum(n) AS n" would nest an aggregate in another);
 *   - NOT (x BETWEEN a AND b), not x NOT BETWEEN a AND b;
 *   - no ||, >>, &, GLOB, printf, CAST ... AS INTEGER, COLLATE, group_concat:
 *     the calls below;
 *   - NULL ordering written out (NULLS FIRST / NULLS LAST) where it matters;
 *   - parameters as :name (a driver without named parameters substitutes
 *     them); no LIMIT -1 ({{limit}} is given by the caller).
 *
 * Calls (arguments are SQL text, may hold further calls):
 *   cat(a, b, ...)    string concatenation of the values as text
 *   bit(x, n)         1 when bit n of the integer x is set, else 0
 *   idiv(a, b)        integer division of integers
 *   bucket(t, w)      the start of t's bucket of w seconds (t >= 0)
 *   int(x)            x as an integer (truncated)
 *   contains(h, n)    1 when the text h holds the text n (case-sensitive)
 *   ieq(a, b)         a = b, ASCII case ignored
 *   hex4(x)           '0x' and four upper-case hexadecimal digits
 *   mode(x, k)        aggregate: the x with the largest k, on a tie the
 *                     smallest x (NULL x ignored)
 *   modew(x, w)       aggregate: the x whose weights w add up to the most
 *                     (more than 0), on a tie the smallest x (NULL x ignored)
 *   wlist(l, w, o)    aggregate: "label weight, ..." of the labels l whose
 *                     weights w add up to more than 0, ordered by o (a
 *                     number, the same for every row of a label), then
 *                     the most weight first, then by label; NULL if none
 *   list(x)           aggregate: the values joined with ", ", in the order
 *                     the rows come (an ordered subquery)
 *   ljoin, join       LEFT JOIN and inner JOIN (one matching row each)
 *   joinall           inner JOIN, every matching row
 *   vrank(v)          the registry's rank of TLS version code v, 0 unknown
 *   vlegacy(v)        1 for SSLv2 to TLS 1.1, 0 newer, NULL unknown
 *   rankname(r)       the name of a version rank ("TLSv1.2"), NULL if none
 *   gpq(g)            1 post-quantum group, 0 classical, NULL unknown
 *   cname(c)          the IANA name of cipher suite c, NULL if unassigned
 * The SQLite spellings of vrank ... cname, mode are functions the reader's
 * connection defines (reports/rdb.c, reports/rq_sqlite.c). */
#ifndef SMTPTLS_SQLT_H
#define SMTPTLS_SQLT_H

#include <stddef.h>

enum sqlt_dialect { SQLT_SQLITE = 0, SQLT_CLICKHOUSE };

#define SQLT_MAX 1048576 /* bytes of expanded SQL at most */

/* A name without arguments the caller defines for one expansion
 * ("{{limit}}", "{{src:totals}}"): replaced by text, itself expanded. */
struct sqlt_var {
	const char *name;
	const char *text;
};

/* Expands every call in tmpl for dialect d, vars first. Returns a new
 * string to free(), or NULL with a message in err (an unknown name, the
 * wrong number of arguments, unbalanced braces, or longer than SQLT_MAX). */
char *sqlt_expand(enum sqlt_dialect d, const char *tmpl, const struct sqlt_var *vars,
		  size_t nvars, char *err, size_t errlen);

#endif
