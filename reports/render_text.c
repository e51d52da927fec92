/* The report for an 80-column terminal: a headline, then each table with
 * its title, the denominator it is a share of, aligned columns, and long
 * lists (versions, ciphers, session ids) on indented lines under the row. */
#include <stdio.h>
#include <string.h>

#include "render.h"

#define WIDTH 80
#define CELL_MAX 512
#define FIRST_COL_MIN 16
#define MAX_COLS 24

struct layout {
	size_t width[MAX_COLS]; /* 0 for columns not on the main line */
	size_t line;            /* width of the main line */
	size_t last;            /* the last column on the main line */
	int bar;                /* column drawn as a bar, or -1 */
};

static int on_main_line(const struct rcol *c)
{
	return !(c->flags & (RCOL_NOTEXT | RCOL_DETAIL));
}

/* "812 B", "361.9 kB", "2.6 MB" ... (powers of 1000). */
static void bytes_unit(int64_t v, char *buf, size_t n)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB", "PB", "EB"};
	double x = (double)v;
	int u = -1;
	while (x >= 1000.0 && u < 5) {
		x /= 1000.0;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%lld B", (long long)v);
	else
		snprintf(buf, n, "%.1f %s", x, units[u]);
}

static void text_cell(const struct rtable *t, size_t r, size_t c, char *buf, size_t n)
{
	const struct rcell *cell = rtable_at(t, r, c);
	if ((t->cols[c].flags & RCOL_BYTES) && cell->kind == RCELL_INT)
		bytes_unit(cell->i, buf, n);
	else
		render_cell(cell, 1, buf, n);
}

static size_t cell_width(const struct rtable *t, size_t r, size_t c)
{
	char buf[CELL_MAX];
	text_cell(t, r, c, buf, sizeof buf);
	return strlen(buf);
}

static size_t natural_width(const struct rtable *t, size_t c)
{
	size_t w = strlen(t->cols[c].label);
	for (size_t r = 0; r < t->nrows; r++) {
		size_t cw = cell_width(t, r, c);
		w = cw > w ? cw : w;
	}
	return w ? w : 1;
}

/* Widths of the main-line columns. Spare columns go when the line is too
 * long; then the first column takes what the others leave (at least
 * FIRST_COL_MIN), and longer first cells get a line of their own. */
static void plan(const struct rtable *t, struct layout *l)
{
	size_t others = 0;
	memset(l, 0, sizeof *l);
	l->bar = -1;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++) {
		if (!on_main_line(&t->cols[c]))
			continue;
		l->width[c] = natural_width(t, c);
		if (c > 0)
			others += l->width[c] + 2;
	}
	for (size_t c = 0; l->width[0] + 2 + others > WIDTH - 2 && c < t->ncols && c < MAX_COLS;
	     c++)
		if (t->cols[c].flags & RCOL_SPARE && l->width[c]) {
			others -= l->width[c] + 2;
			l->width[c] = 0;
		}
	if (l->width[0] + 2 + others > WIDTH - 2 && others + 4 + FIRST_COL_MIN < WIDTH)
		l->width[0] = WIDTH - 4 - others;
	else if (l->width[0] + 2 + others > WIDTH - 2 && l->width[0] > FIRST_COL_MIN)
		l->width[0] = FIRST_COL_MIN;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++) {
		if ((t->cols[c].flags & RCOL_BAR) && l->width[c] && l->bar < 0)
			l->bar = (int)c;
		if (l->width[c])
			l->last = c;
	}
	l->line = l->width[0] + 2 + others;
}

static void put_cell(FILE *out, const char *s, size_t width, int right, int last)
{
	if (right)
		fprintf(out, "  %*s", (int)width, s);
	else if (last)
		fprintf(out, "  %s", s);
	else
		fprintf(out, "  %-*s", (int)width, s);
}

static void draw_bar(FILE *out, const struct rcell *c, size_t line)
{
	int width = WIDTH - 2 - (int)line, fill;
	if (width > 30)
		width = 30;
	if (width < 8 || !c || c->kind != RCELL_REAL)
		return;
	fill = (int)(c->r / 100.0 * width + 0.5);
	fputs("  ", out);
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', out);
}

static void header(FILE *out, const struct rtable *t, const struct layout *l)
{
	int any = 0;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++)
		any |= l->width[c] && t->cols[c].label[0];
	if (!any)
		return;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++)
		if (l->width[c])
			put_cell(out, t->cols[c].label, l->width[c],
				 !!(t->cols[c].flags & (RCOL_NUM | RCOL_PCT)),
				 c == l->last && l->bar < 0);
	fputc('\n', out);
}

static void wrapped(FILE *out, const char *s, size_t col, size_t indent);

static void details(FILE *out, const struct rtable *t, size_t r)
{
	char buf[CELL_MAX];
	for (size_t c = 0; c < t->ncols; c++) {
		const struct rcell *cell = rtable_at(t, r, c);
		if (!(t->cols[c].flags & RCOL_DETAIL) || t->cols[c].flags & RCOL_NOTEXT ||
		    cell->kind == RCELL_NULL || (cell->kind == RCELL_INT && cell->i == 0))
			continue;
		render_cell(cell, 1, buf, sizeof buf);
		fprintf(out, "      %s:", t->cols[c].label);
		wrapped(out, buf, 6 + strlen(t->cols[c].label) + 1, 8);
	}
}

static void row(FILE *out, const struct rtable *t, size_t r, const struct layout *l)
{
	char buf[CELL_MAX];
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++) {
		if (!l->width[c])
			continue;
		text_cell(t, r, c, buf, sizeof buf);
		if (c == 0 && strlen(buf) > l->width[0]) {
			fprintf(out, "  %s\n", buf);
			buf[0] = '\0';
		}
		put_cell(out, buf, l->width[c], !!(t->cols[c].flags & (RCOL_NUM | RCOL_PCT)),
			 c == l->last && l->bar < 0);
	}
	if (l->bar >= 0)
		draw_bar(out, rtable_at(t, r, (size_t)l->bar), l->line);
	fputc('\n', out);
	details(out, t, r);
}

/* Writes s word-wrapped at WIDTH: the first line goes on from column col,
 * the next ones are indented by indent. Ends the line. */
static void wrapped(FILE *out, const char *s, size_t col, size_t indent)
{
	int first = 1;
	while (*s) {
		size_t word = strcspn(s, " ");
		if (!first && col + 1 + word > WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent || !first) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)word, s);
		col += word;
		first = 0;
		s += word;
		s += strspn(s, " ");
	}
	fputc('\n', out);
}

static void vertical(FILE *out, const struct rtable *t)
{
	char buf[CELL_MAX];
	for (size_t c = 0; c < t->ncols && t->nrows > 0; c++) {
		const struct rcell *cell = rtable_at(t, 0, c);
		if (t->cols[c].flags & RCOL_NOTEXT ||
		    (t->cols[c].flags & RCOL_DETAIL && cell->kind == RCELL_NULL))
			continue;
		text_cell(t, 0, c, buf, sizeof buf);
		fprintf(out, "  %-40s %14s\n", t->cols[c].label, buf);
	}
}

static void table(FILE *out, const struct rtable *t)
{
	struct layout l;
	fprintf(out, "\n%s\n", t->title ? t->title : t->id);
	if (t->note) {
		fputs("  ", out);
		wrapped(out, t->note, 2, 2);
	}
	if (t->vertical) {
		vertical(out, t);
		return;
	}
	plan(t, &l);
	if (t->nrows == 0) {
		fputs("  (none)\n", out);
		return;
	}
	header(out, t, &l);
	for (size_t r = 0; r < t->nrows; r++)
		row(out, t, r, &l);
	if (t->more > 0)
		fprintf(out, "  ... and %lld more (--top 0 lists all)\n", (long long)t->more);
}

/* "50.0%   3 of 6 sessions" from the "all" row of a table. */
static void share_line(FILE *out, const struct rmodel *m, const char *label, const char *table,
		       const char *part, const char *whole, const char *pct, const char *unit)
{
	const struct rtable *t = rmodel_find(m, table);
	char a[48], b[48], p[16];
	render_cell(rtable_lookup(t, "all", part), 1, a, sizeof a);
	render_cell(rtable_lookup(t, "all", whole), 1, b, sizeof b);
	render_cell(rtable_lookup(t, "all", pct), 1, p, sizeof p);
	fprintf(out, "%-16s %8s   %s of %s %s\n", label, p, a, b, unit);
}

static void mail_line(FILE *out, const struct rmodel *m)
{
	const struct rtable *t = rmodel_find(m, "clear_mail");
	char tx[48], s[48], of[48], p[16];
	render_cell(rtable_lookup(t, "all", "transactions"), 1, tx, sizeof tx);
	render_cell(rtable_lookup(t, "all", "sessions"), 1, s, sizeof s);
	render_cell(rtable_lookup(t, "all", "of"), 1, of, sizeof of);
	render_cell(rtable_lookup(t, "all", "sessions_pct"), 1, p, sizeof p);
	fprintf(out, "%-16s %8s   %s of %s sessions, %s MAIL transactions in clear\n",
		"Mail in clear", p, s, of, tx);
}

/* "97.1%   33 of 34 encrypted sessions" from a line of a shares table;
 * nothing when the table is absent (an older database). */
static void item_line(FILE *out, const struct rmodel *m, const char *label, const char *table,
		      const char *item)
{
	const struct rtable *t = rmodel_find(m, table);
	const struct rcell *den = rtable_lookup(t, item, "denominator");
	char a[48], b[48], p[16];
	if (!t || !den || den->kind != RCELL_TEXT)
		return;
	render_cell(rtable_lookup(t, item, "sessions"), 1, a, sizeof a);
	render_cell(rtable_lookup(t, item, "of"), 1, b, sizeof b);
	render_cell(rtable_lookup(t, item, "sessions_pct"), 1, p, sizeof p);
	fprintf(out, "%-16s %8s   %s of %s %s\n", label, p, a, b, den->text);
}

static void headline(FILE *out, const struct rmodel *m)
{
	char buf[512];
	const struct rmeta *meta = &m->meta;
	fprintf(out, "smtptls report: %s\n", meta->path);
	render_period(meta, buf, sizeof buf);
	fprintf(out, "Period    %s\n", buf);
	render_filters(&meta->filter, buf, sizeof buf);
	fprintf(out, "Filters   %s\n\n", buf);
	fprintf(out, "Sessions         %8lld   known %lld; unknown %lld (shown apart)\n",
		(long long)meta->sessions, (long long)meta->known, (long long)meta->unknown);
	share_line(out, m, "TLS completed", "encryption", "encrypted", "sessions",
		   "encrypted_pct", "known sessions: encrypted");
	share_line(out, m, "TLS attempted", "encryption", "tls_attempted", "sessions",
		   "tls_attempted_pct", "known sessions");
	share_line(out, m, "  by bytes", "encryption", "encrypted_bytes", "bytes",
		   "encrypted_bytes_pct", "bytes (TCP payload)");
	mail_line(out, m);
	item_line(out, m, "Forward secret", "crypto_quality", "forward_secrecy");
	item_line(out, m, "Weak cipher", "crypto_quality", "weak_cipher");
	item_line(out, m, "  server's fault", "blame_summary", "server_chose_weak");
}

int render_text(const struct rmodel *m, FILE *out)
{
	headline(out, m);
	for (size_t i = 0; i < m->ntables; i++)
		table(out, m->tables[i]);
	return ferror(out) ? -1 : 0;
}
