/* The tables of the HTML report. Columns of their own on the row; the
 * detail columns (lists of versions and ciphers, certificates, names) on
 * a second row under it that spans the table and wraps, so no table is
 * wider than the page. Each cell carries its column's label (data-l) for
 * the phone layout, where a wide table becomes one card per row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rating.h"
#include "render.h"
#include "render_html.h"
#include "rescape.h"

#define CELL_MAX 512
#define PROSE_SMALL 512 /* longer prose is grouped in a buffer of its own */
#define WIDE_COLUMNS 4 /* more columns than this: cards on a phone */
#define SHOW_ROWS 10   /* a longer table shows these, the rest on demand */

/* s escaped, with a break allowed after each underscore: long names of
 * our own ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "no_tls_after_220")
 * may wrap on a narrow screen. */
void html_breakable(FILE *out, const char *s)
{
	const char *u;
	for (s = s ? s : ""; (u = strchr(s, '_')); s = u + 1) {
		esc_html_n(out, s, (size_t)(u - s));
		fputs("_<wbr>", out);
	}
	esc_html(out, s);
}

void html_prose(FILE *out, const char *s)
{
	char small[PROSE_SMALL], *buf = small;
	size_t n = 2 * strlen(s ? s : "") + 1; /* grouping adds a comma per 3 digits */
	if (n > sizeof small && !(buf = malloc(n))) {
		esc_html(out, s ? s : ""); /* out of memory: the digits as they are */
		return;
	}
	render_prose(s ? s : "", buf, n > sizeof small ? n : sizeof small);
	html_breakable(out, buf);
	if (buf != small)
		free(buf);
}

static int numeric(const struct rcol *c)
{
	return (c->flags & (RCOL_NUM | RCOL_PCT)) != 0;
}

/* Columns of their own: not keys, not details (those go on the row
 * under), not the counts kept for JSON and CSV. */
static int own_column(const struct rcol *c)
{
	return !(c->flags & (RCOL_KEY | RCOL_DETAIL | RCOL_DATA));
}

static size_t own_columns(const struct rtable *t)
{
	size_t n = 0;
	for (size_t c = 0; c < t->ncols; c++)
		n += own_column(&t->cols[c]);
	return n;
}

static int detail_shown(const struct rtable *t, size_t r, size_t c)
{
	const struct rcell *cell = rtable_at(t, r, c);
	return (t->cols[c].flags & RCOL_DETAIL) && cell->kind != RCELL_NULL &&
	       !(cell->kind == RCELL_INT && cell->i == 0);
}

static int has_details(const struct rtable *t, size_t r)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (detail_shown(t, r, c))
			return 1;
	return 0;
}

static int any_details(const struct rtable *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (t->cols[c].flags & RCOL_DETAIL)
			return 1;
	return 0;
}

/* Session id lists keep their digits as they are: "1234, 1235". */
static int is_id_list(const struct rcol *c)
{
	size_t n = strlen(c->key);
	return n >= 4 && !strcmp(c->key + n - 4, "_ids");
}

static void cell_text(const struct rtable *t, size_t r, size_t c, FILE *out)
{
	const struct rcell *cell = rtable_at(t, r, c);
	char buf[CELL_MAX];
	if (cell->kind != RCELL_TEXT) {
		render_value(t, r, c, buf, sizeof buf);
		esc_html(out, buf);
	} else if (t->cols[c].flags & RCOL_WIRE || is_id_list(&t->cols[c])) {
		esc_html(out, cell->text);
	} else if (t->cols[c].flags & RCOL_DETAIL) {
		html_prose(out, cell->text); /* "versions: TLSv1.3 12,345" */
	} else {
		html_breakable(out, cell->text); /* names and keys: "2525" is a port */
	}
}

static void table_head(const struct rtable *t, FILE *out)
{
	fputs("<thead><tr>", out);
	for (size_t c = 0; c < t->ncols; c++) {
		if (!own_column(&t->cols[c]))
			continue;
		fprintf(out, "<th%s>", numeric(&t->cols[c]) ? " class=\"n\"" : "");
		esc_html(out, t->cols[c].label);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n", out);
}

/* The label a cell shows on a phone, where it stands apart from its
 * heading: a percentage says of what ("encrypted %"; in a table of
 * shares, "%" follows "of" and says enough). */
static void phone_label(const struct rtable *t, size_t c, FILE *out)
{
	size_t prev = c;
	while (prev > 0 && !own_column(&t->cols[prev - 1]))
		prev--;
	if (!strcmp(t->cols[c].label, "%") && prev > 0 && t->cols[prev - 1].label[0] &&
	    strcmp(t->cols[prev - 1].label, "of")) {
		esc_html(out, t->cols[prev - 1].label);
		fputc(' ', out);
	}
	esc_html(out, t->cols[c].label);
}

static void cell_open(const struct rtable *t, size_t r, size_t c, FILE *out)
{
	const struct rcol *col = &t->cols[c];
	const struct rcell *cell = rtable_at(t, r, c);
	char buf[CELL_MAX];
	fputs("<td", out);
	if (numeric(col))
		fputs(" class=\"n\"", out);
	else if (col->flags & RCOL_WIRE)
		fputs(" class=\"w\"", out);
	else if (cell->kind == RCELL_TEXT && !cell->text[0])
		fputs(" class=\"e\"", out);
	if (col->label[0] && own_columns(t) > WIDE_COLUMNS) { /* cards on a phone */
		fputs(" data-l=\"", out);
		phone_label(t, c, out);
		fputc('"', out);
	}
	if ((col->flags & RCOL_BYTES) && cell->kind == RCELL_INT) {
		render_count(cell->i, buf, sizeof buf);
		fprintf(out, " title=\"%s bytes\"", buf);
	}
	fputc('>', out);
}

static void row_open(const struct rtable *t, size_t r, int det, FILE *out)
{
	enum rating rate = rating_row(t, r);
	const struct rcell *key = rtable_at(t, r, 0);
	char buf[CELL_MAX];
	if (rate != RATE_NONE || det)
		fprintf(out, "<tr class=\"%s%s\"", rating_name(rate), det ? " has-det" : "");
	else
		fputs("<tr", out);
	if (rate != RATE_NONE) {
		render_cell(key, 0, buf, sizeof buf);
		fprintf(out, " data-rate=\"%s\" data-key=\"", rating_name(rate));
		esc_html(out, buf);
		fputc('"', out);
	}
	fputc('>', out);
}

/* The detail columns of a row, "label value" each, the empty ones left
 * out, on a row of their own. */
static void details_row(const struct rtable *t, size_t r, FILE *out)
{
	fprintf(out, "<tr class=\"det %s\"><td colspan=\"%zu\"><div class=\"dl\">",
		rating_name(rating_row(t, r)), own_columns(t));
	for (size_t c = 0; c < t->ncols; c++) {
		if (!detail_shown(t, r, c))
			continue;
		fputs("<span class=\"di\"><span class=\"k\">", out);
		esc_html(out, t->cols[c].label);
		fprintf(out, ":</span> <span%s>", t->cols[c].flags & RCOL_WIRE ? " class=\"w\"" : "");
		cell_text(t, r, c, out);
		fputs("</span></span>", out);
	}
	fputs("</div></td></tr>\n", out);
}

static void table_row(const struct rtable *t, size_t r, FILE *out)
{
	int det = has_details(t, r);
	row_open(t, r, det, out);
	for (size_t c = 0; c < t->ncols; c++) {
		if (!own_column(&t->cols[c]))
			continue;
		cell_open(t, r, c, out);
		cell_text(t, r, c, out);
		fputs("</td>", out);
	}
	fputs("</tr>\n", out);
	if (det)
		details_row(t, r, out);
}

/* A one-row table as "label | value" lines. */
static void table_vertical(const struct rtable *t, FILE *out)
{
	fputs("<tbody>\n", out);
	for (size_t c = 0; c < t->ncols && t->nrows > 0; c++) {
		if (t->cols[c].flags & RCOL_DETAIL && rtable_at(t, 0, c)->kind == RCELL_NULL)
			continue;
		fputs("<tr><th>", out);
		esc_html(out, t->cols[c].label);
		fputs("</th>", out);
		cell_open(t, 0, c, out);
		cell_text(t, 0, c, out);
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody>\n", out);
}

/* A table of more than SHOW_ROWS + 2 rows shows SHOW_ROWS; a checkbox
 * before it (hidden) and its label after it show the rest, in CSS alone:
 * the page has no script. */
static void long_rows(const struct rtable *t, FILE *out, int after)
{
	char all[32];
	if (t->nrows <= SHOW_ROWS + 2)
		return;
	if (!after) {
		fputs("<input type=\"checkbox\" class=\"tog\" id=\"all-", out);
		esc_html(out, t->id);
		fputs("\">\n", out);
		return;
	}
	render_count((int64_t)t->nrows, all, sizeof all);
	fputs("<label class=\"tog-l\" for=\"all-", out);
	esc_html(out, t->id);
	fprintf(out, "\"><span class=\"show\">show all %s rows</span><span class=\"hide\">show"
		     " the first %d only</span></label>\n", all, SHOW_ROWS);
}

void html_table(const struct rtable *t, FILE *out)
{
	if (t->nrows == 0) {
		fputs("<p class=\"more\">none</p>\n", out);
		return;
	}
	if (t->vertical) {
		fputs("<div class=\"tw\"><table class=\"kv\">\n", out);
		table_vertical(t, out);
	} else {
		long_rows(t, out, 0);
		fprintf(out, "<div class=\"tw\"><table class=\"%s%s\">\n",
			own_columns(t) > WIDE_COLUMNS ? "wide" : "", any_details(t) ? " dt" : "");
		table_head(t, out);
		fputs("<tbody>\n", out);
		for (size_t r = 0; r < t->nrows; r++) {
			if (r == SHOW_ROWS && t->nrows > SHOW_ROWS + 2)
				fputs("</tbody><tbody class=\"rest\">\n", out);
			table_row(t, r, out);
		}
		fputs("</tbody>\n", out);
	}
	fputs("</table></div>\n", out);
	if (!t->vertical)
		long_rows(t, out, 1);
	if (t->more > 0) {
		char more[32];
		render_count(t->more, more, sizeof more);
		fprintf(out, "<p class=\"more\">and %s more (--top 0 lists all)</p>\n", more);
	}
}
