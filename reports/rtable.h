/* The report model: named tables of typed cells. The queries fill it once;
 * every renderer (text, CSV, JSON, HTML) walks the same tables, so all
 * formats carry the same numbers. */
#ifndef SMTPTLS_RTABLE_H
#define SMTPTLS_RTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define RTABLE_MAX_ROWS 1000000 /* rows per table at most */
#define RMODEL_MAX_TABLES 48

enum rcol_flag {
	RCOL_NUM = 1u << 0,    /* a count: right-aligned */
	RCOL_PCT = 1u << 1,    /* a percentage; NULL when its denominator is 0 */
	RCOL_DETAIL = 1u << 2, /* text: on its own line under the row */
	RCOL_NOTEXT = 1u << 3, /* left out of the text rendering */
	RCOL_BAR = 1u << 4,    /* text: a bar follows the percentage */
	RCOL_WIRE = 1u << 5,   /* a string that came off the wire */
	RCOL_KEY = 1u << 6,    /* a machine key (JSON, CSV); people read the next column */
	RCOL_BYTES = 1u << 7,  /* a byte count: text shows it in kB, MB, GB */
	RCOL_SPARE = 1u << 8,  /* text: shown only when the line fits in 80 columns */
	RCOL_DATA = 1u << 9,   /* JSON and CSV only (a count behind a detail people read) */
};

struct rcol {
	const char *key;   /* JSON/CSV name */
	const char *label; /* heading for text and HTML */
	unsigned flags;
};

enum rcell_kind { RCELL_NULL = 0, RCELL_INT, RCELL_REAL, RCELL_TEXT };

struct rcell {
	enum rcell_kind kind;
	int64_t i;
	double r;
	char *text;
};

struct rtable {
	const char *id;
	char *title;
	char *note;         /* names the denominator */
	const struct rcol *cols;
	size_t ncols;
	struct rcell *cells; /* nrows * ncols */
	size_t nrows, cap;
	int64_t more;       /* rows left out by --top */
	int vertical;       /* text: one "label value" line per column (one-row tables) */
};

/* Facts that are not a table: what was asked and the totals. */
struct rmeta {
	const char *path;
	struct report_filter filter;
	enum report_by by;   /* resolved: never AUTO once the model is built */
	long top;
	double first, last;  /* ts_start range of the filtered sessions */
	int64_t sessions, known, unknown, encrypted, attempted;
};

struct rmodel {
	struct rmeta meta;
	struct rtable *tables[RMODEL_MAX_TABLES];
	size_t ntables;
};

/* Adds an empty table; NULL when out of memory or full. */
struct rtable *rmodel_add(struct rmodel *m, const char *id, const struct rcol *cols,
			  size_t ncols);
const struct rtable *rmodel_find(const struct rmodel *m, const char *id);
void rmodel_free(struct rmodel *m);

/* printf-style title and note; 0 or -1 (out of memory). */
int rtable_title(struct rtable *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int rtable_note(struct rtable *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends a row of NULL cells; its index, or -1 (out of memory, cap). */
long rtable_row(struct rtable *t);
int rtable_col(const struct rtable *t, const char *key);
struct rcell *rtable_at(const struct rtable *t, size_t row, size_t col);

/* Setters by column key; an unknown key is a programming error (ignored). */
void rtable_int(struct rtable *t, long row, const char *key, int64_t v);
void rtable_pct(struct rtable *t, long row, const char *key, int64_t part, int64_t whole);
int rtable_text(struct rtable *t, long row, const char *key, const char *s);

/* The usual counted row: text column key = text, "sessions" = n and
 * "sessions_pct" = n of whole. Returns the row, or -1 (out of memory). */
long rtable_counted(struct rtable *t, const char *key, const char *text, int64_t n,
		    int64_t whole);

/* Getters for tests and charts: the cell of a row whose first column
 * holds text key (NULL if none). */
const struct rcell *rtable_lookup(const struct rtable *t, const char *rowkey,
				  const char *colkey);

#endif
