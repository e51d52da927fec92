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
#define HEADLINE_INDENT 28 /* where the headline's wrapped lines go on */

struct layout {
	size_t width[MAX_COLS]; /* 0 for columns not on the main line */
	size_t first;           /* the first column on the main line */
	size_t line;            /* width of the main line */
	size_t last;            /* the last column on the main line */
	int bar;                /* column drawn as a bar, or -1 */
};

static int on_main_line(const struct rcol *c)
{
	return !(c->flags & (RCOL_NOTEXT | RCOL_DETAIL));
}

static void text_cell(const struct rtable *t, size_t r, size_t c, char *buf, size_t n)
{
	render_value(t, r, c, buf, n);
}

/* Session id lists keep their digits as they are: "1234, 1235". */
static int is_id_list(const struct rcol *c)
{
	size_t n = strlen(c->key);
	return n >= 4 && !strcmp(c->key + n - 4, "_ids");
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

/* Widths of the main-line columns. Spare columns go when the line is
 * longer than WIDTH; then the first column on the line (the first one may
 * be a key left out of the text) takes what the others leave (at least
 * FIRST_COL_MIN), and longer first cells get a line of their own. */
static void plan(const struct rtable *t, struct layout *l)
{
	size_t others = 0, f;
	memset(l, 0, sizeof *l);
	l->bar = -1;
	l->first = MAX_COLS;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++) {
		if (!on_main_line(&t->cols[c]))
			continue;
		l->width[c] = natural_width(t, c);
		if (l->first == MAX_COLS)
			l->first = c;
		else
			others += l->width[c] + 2;
	}
	if ((f = l->first) == MAX_COLS)
		return;
	for (size_t c = 0; l->width[f] + 2 + others > WIDTH && c < t->ncols && c < MAX_COLS;
	     c++)
		if (t->cols[c].flags & RCOL_SPARE && l->width[c] && c != f) {
			others -= l->width[c] + 2;
			l->width[c] = 0;
		}
	if (l->width[f] + 2 + others > WIDTH && others + 2 + FIRST_COL_MIN <= WIDTH)
		l->width[f] = WIDTH - 2 - others;
	else if (l->width[f] + 2 + others > WIDTH && l->width[f] > FIRST_COL_MIN)
		l->width[f] = FIRST_COL_MIN;
	for (size_t c = 0; c < t->ncols && c < MAX_COLS; c++) {
		if ((t->cols[c].flags & RCOL_BAR) && l->width[c] && l->bar < 0)
			l->bar = (int)c;
		if (l->width[c])
			l->last = c;
	}
	l->line = l->width[f] + 2 + others;
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
		if (cell->kind == RCELL_TEXT && !(t->cols[c].flags & RCOL_WIRE) &&
		    !is_id_list(&t->cols[c])) {
			char raw[CELL_MAX];
			memcpy(raw, buf, sizeof raw);
			render_prose(raw, buf, sizeof buf);
		}
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
		if (c == l->first && strlen(buf) > l->width[c]) {
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
	char prose[CELL_MAX];
	render_prose(t->title ? t->title : t->id, prose, sizeof prose);
	fprintf(out, "\n%s\n", prose);
	if (t->note) {
		render_prose(t->note, prose, sizeof prose);
		fputs("  ", out);
		wrapped(out, prose, 2, 2);
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
	if (t->more > 0) {
		render_count(t->more, prose, sizeof prose);
		fprintf(out, "  ... and %s more (--top 0 lists all)\n", prose);
	}
}

/* "label   50.0%   tail": the tail wrapped at 80 columns under itself. */
static void headline_line(FILE *out, const char *label, const char *pct, const char *tail)
{
	int col = fprintf(out, "%-16s %8s   ", label, pct);
	wrapped(out, tail, col > 0 ? (size_t)col : 0, HEADLINE_INDENT);
}

/* "50.0%   3 of 6 sessions" from the "all" row of a table. */
static void share_line(FILE *out, const struct rmodel *m, const char *label, const char *table,
		       const char *part, const char *whole, const char *pct, const char *unit)
{
	const struct rtable *t = rmodel_find(m, table);
	char a[48], b[48], p[16], tail[256];
	render_lookup(t, "all", part, a, sizeof a);
	render_lookup(t, "all", whole, b, sizeof b);
	render_lookup(t, "all", pct, p, sizeof p);
	snprintf(tail, sizeof tail, "%s of %s %s", a, b, unit);
	headline_line(out, label, p, tail);
}

static void mail_line(FILE *out, const struct rmodel *m)
{
	const struct rtable *t = rmodel_find(m, "clear_mail");
	char tx[48], s[48], of[48], p[16], tail[256];
	render_lookup(t, "all", "transactions", tx, sizeof tx);
	render_lookup(t, "all", "sessions", s, sizeof s);
	render_lookup(t, "all", "of", of, sizeof of);
	render_lookup(t, "all", "sessions_pct", p, sizeof p);
	snprintf(tail, sizeof tail, "%s of %s sessions, %s MAIL transactions in clear", s, of, tx);
	headline_line(out, "Mail in clear", p, tail);
}

/* "97.1%   33 of 34 encrypted sessions" from a line of a shares table;
 * nothing when the table is absent (an older database). */
static void item_line(FILE *out, const struct rmodel *m, const char *label, const char *table,
		      const char *item)
{
	const struct rtable *t = rmodel_find(m, table);
	const struct rcell *den = rtable_lookup(t, item, "denominator");
	char a[48], b[48], p[16], tail[256];
	if (!t || !den || den->kind != RCELL_TEXT)
		return;
	render_lookup(t, item, "sessions", a, sizeof a);
	render_lookup(t, item, "of", b, sizeof b);
	render_lookup(t, item, "sessions_pct", p, sizeof p);
	snprintf(tail, sizeof tail, "%s of %s %s", a, b, den->text);
	headline_line(out, label, p, tail);
}

static void headline(FILE *out, const struct rmodel *m)
{
	char buf[512], all[32], known[32], unknown[32];
	const struct rmeta *meta = &m->meta;
	fprintf(out, "smtptls report: %s\n", meta->path);
	render_period(meta, buf, sizeof buf);
	fprintf(out, "Period    %s\n", buf);
	render_filters(&meta->filter, buf, sizeof buf);
	fprintf(out, "Filters   %s\n\n", buf);
	render_count(meta->sessions, all, sizeof all);
	render_count(meta->known, known, sizeof known);
	render_count(meta->unknown, unknown, sizeof unknown);
	snprintf(buf, sizeof buf, "known %s; unknown %s (shown apart)", known, unknown);
	headline_line(out, "Sessions", all, buf);
	share_line(out, m, "TLS completed", "encryption", "encrypted", "sessions",
		   "encrypted_pct", "known sessions: encrypted");
	share_line(out, m, "TLS attempted", "encryption", "tls_attempted", "sessions",
		   "tls_attempted_pct", "known sessions");
	share_line(out, m, "  by bytes", "encryption", "encrypted_bytes", "bytes",
		   "encrypted_bytes_pct", "(TCP payload)");
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
