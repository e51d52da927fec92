/* Inline SVG charts for the HTML report: the encrypted share over time and
 * horizontal bars for shares (versions, cipher suites). Every label goes
 * through esc_html; the charts need nothing outside the page. */
#include <stdio.h>
#include <string.h>

#include "rescape.h"
#include "rsvg.h"

#define CELL_MAX 512

/* Series chart geometry. */
#define S_W 760
#define S_H 240
#define S_LEFT 48
#define S_RIGHT 56
#define S_TOP 16
#define S_BOTTOM 40
#define PLOT_W (S_W - S_LEFT - S_RIGHT)
#define PLOT_H (S_H - S_TOP - S_BOTTOM)

/* Bar chart geometry. */
#define B_W 760
#define B_LABEL 370
#define B_BAR 260
#define B_ROW 24

static int64_t int_at(const struct rtable *t, size_t r, const char *key)
{
	int c = rtable_col(t, key);
	const struct rcell *cell = c < 0 ? NULL : rtable_at(t, r, (size_t)c);
	return cell && cell->kind == RCELL_INT ? cell->i : 0;
}

static double pct_at(const struct rtable *t, size_t r, const char *key, int *has)
{
	int c = rtable_col(t, key);
	const struct rcell *cell = c < 0 ? NULL : rtable_at(t, r, (size_t)c);
	*has = cell && cell->kind == RCELL_REAL;
	return *has ? cell->r : 0.0;
}

static const char *text_at(const struct rtable *t, size_t r, const char *key)
{
	int c = rtable_col(t, key);
	const struct rcell *cell = c < 0 ? NULL : rtable_at(t, r, (size_t)c);
	return cell && cell->kind == RCELL_TEXT ? cell->text : "";
}

static void grid(FILE *out)
{
	for (int p = 0; p <= 100; p += 25) {
		double y = S_TOP + PLOT_H * (1.0 - p / 100.0);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			     "<text x=\"%d\" y=\"%.1f\" class=\"axis\" text-anchor=\"end\">%d%%</text>\n",
			S_LEFT, y, S_LEFT + PLOT_W, y, S_LEFT - 6, y + 4, p);
	}
}

static void series_bar(FILE *out, const struct rtable *t, size_t r, double slot)
{
	int has;
	double p = pct_at(t, r, "encrypted_pct", &has), h = PLOT_H * p / 100.0;
	double x = S_LEFT + slot * (double)r;
	fputs("<g><title>", out);
	esc_html(out, text_at(t, r, "bucket"));
	fprintf(out, ": %lld of %lld sessions encrypted", (long long)int_at(t, r, "encrypted"),
		(long long)int_at(t, r, "sessions"));
	if (has)
		fprintf(out, " (%.1f%%)", p);
	fprintf(out, "</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\""
		     " class=\"%s\"/></g>\n",
		x + slot * 0.1, S_TOP + PLOT_H - (has ? h : 0), slot * 0.8, has ? h : 0,
		has ? "enc" : "none");
}

static int64_t max_sessions(const struct rtable *t)
{
	int64_t max = 0;
	for (size_t r = 0; r < t->nrows; r++)
		if (int_at(t, r, "sessions") > max)
			max = int_at(t, r, "sessions");
	return max;
}

static void series_line(FILE *out, const struct rtable *t, double slot)
{
	int64_t max = max_sessions(t);
	if (max == 0)
		return;
	fputs("<polyline class=\"count\" points=\"", out);
	for (size_t r = 0; r < t->nrows; r++)
		fprintf(out, "%.2f,%.2f ", S_LEFT + slot * ((double)r + 0.5),
			S_TOP + PLOT_H * (1.0 - (double)int_at(t, r, "sessions") / (double)max));
	fprintf(out, "\"/>\n<text x=\"%d\" y=\"%d\" class=\"axis count-label\">%lld</text>"
		     "<text x=\"%d\" y=\"%d\" class=\"axis count-label\">sessions</text>\n",
		S_LEFT + PLOT_W + 6, S_TOP + 4, (long long)max, S_LEFT + PLOT_W + 6, S_TOP + 18);
}

static void series_labels(FILE *out, const struct rtable *t, double slot)
{
	size_t picks[3] = {0, t->nrows / 2, t->nrows - 1};
	for (size_t i = 0; i < 3; i++) {
		if ((i == 1 && (t->nrows < 5)) || (i == 2 && t->nrows < 2))
			continue;
		const char *anchor = i == 0 ? "start" : i == 1 ? "middle" : "end";
		double x = S_LEFT + slot * (double)picks[i] + (i == 2 ? slot : i == 1 ? slot / 2 : 0);
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" class=\"axis\" text-anchor=\"%s\">", x,
			S_H - S_BOTTOM + 18, anchor);
		esc_html(out, text_at(t, picks[i], "bucket"));
		fputs("</text>\n", out);
	}
}

void svg_series(FILE *out, const struct rtable *t)
{
	double slot;
	if (!t || t->nrows == 0)
		return;
	slot = (double)PLOT_W / (double)t->nrows;
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
		     " width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"encrypted share over"
		     " time\">\n", S_W, S_H, S_W, S_H);
	grid(out);
	for (size_t r = 0; r < t->nrows; r++)
		series_bar(out, t, r, slot);
	series_line(out, t, slot);
	series_labels(out, t, slot);
	fputs("</svg>\n", out);
}

static void bar_row(FILE *out, const struct rtable *t, size_t r, const char *label_key)
{
	int has;
	double p = pct_at(t, r, "sessions_pct", &has), y = 4.0 + B_ROW * (double)r;
	fputs("<g><title>", out);
	esc_html(out, text_at(t, r, label_key));
	fprintf(out, ": %lld sessions", (long long)int_at(t, r, "sessions"));
	if (has)
		fprintf(out, " (%.1f%%)", p);
	fprintf(out, "</title><text x=\"%d\" y=\"%.1f\" class=\"label\" text-anchor=\"end\">",
		B_LABEL - 8, y + 15);
	esc_html(out, text_at(t, r, label_key));
	fprintf(out, "</text><rect x=\"%d\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" class=\"enc\"/>"
		     "<text x=\"%.1f\" y=\"%.1f\" class=\"value\">%lld",
		B_LABEL, y + 3, B_BAR * p / 100.0, B_ROW - 6, B_LABEL + B_BAR * p / 100.0 + 6,
		y + 15, (long long)int_at(t, r, "sessions"));
	if (has)
		fprintf(out, " (%.1f%%)", p);
	fputs("</text></g>\n", out);
}

void svg_bars(FILE *out, const struct rtable *t, const char *label_key, size_t max_rows)
{
	size_t n = t ? (t->nrows < max_rows ? t->nrows : max_rows) : 0;
	int h = (int)n * B_ROW + 8;
	if (n == 0)
		return;
	fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\""
		     " height=\"%d\" role=\"img\">\n", B_W, h, B_W, h);
	for (size_t r = 0; r < n; r++)
		bar_row(out, t, r, label_key);
	fputs("</svg>\n", out);
}
