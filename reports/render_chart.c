/* Charts for the HTML report: the encrypted share over time with the
 * sessions on their own axis, and horizontal bars for shares (versions,
 * cipher suites, outcomes). Labels and values are HTML text around the
 * shapes; the SVG holds rectangles only and stretches to any width
 * (preserveAspectRatio none), so nothing in it is text to shrink. */
#include <stdio.h>
#include <string.h>

#include "rating.h"
#include "rchart.h"
#include "render.h"
#include "render_html.h"
#include "rescape.h"

#define NUM_MAX 48
/* A series of few buckets is drawn narrow, SERIES_SLOT px a bucket (8 at
 * least), not as a few bars the width of the page. */
#define SERIES_FULL 24
#define SERIES_SLOT 40
#define SERIES_AXIS 52

static const struct rcell *cell_at(const struct rtable *t, size_t r, const char *key)
{
	int c = rtable_col(t, key);
	return c < 0 ? NULL : rtable_at(t, r, (size_t)c);
}

static int64_t int_at(const struct rtable *t, size_t r, const char *key)
{
	const struct rcell *cell = cell_at(t, r, key);
	return cell && cell->kind == RCELL_INT ? cell->i : 0;
}

static const char *text_at(const struct rtable *t, size_t r, const char *key)
{
	const struct rcell *cell = cell_at(t, r, key);
	return cell && cell->kind == RCELL_TEXT ? cell->text : "";
}

/* "414,912 (75.4%)"; "0 (-)" without a denominator. */
static void count_pct(int64_t n, const struct rcell *pct, char *buf, size_t len)
{
	char a[NUM_MAX], p[NUM_MAX];
	render_count(n, a, sizeof a);
	render_cell(pct, 1, p, sizeof p);
	snprintf(buf, len, "%s (%s)", a, p);
}

/* ---- the series ---------------------------------------------------------- */

static void y_labels(FILE *out, const char *const *labels, const int *at, size_t n)
{
	fputs("<div class=\"ylab\">", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "<span style=\"bottom:%d%%\">", at[i]);
		esc_html(out, labels[i]);
		fputs("</span>", out);
	}
	fputs("</div>", out);
}

static void svg_open(FILE *out, size_t n, const char *cls, const char *what)
{
	fprintf(out, "<svg class=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %zu 100\""
		     " preserveAspectRatio=\"none\" role=\"img\" aria-label=\"", cls, n);
	esc_html(out, what);
	fputs("\">\n", out);
}

static void share_bar(FILE *out, const struct rtable *t, size_t r)
{
	const struct rcell *pct = cell_at(t, r, "encrypted_pct");
	char enc[NUM_MAX], all[NUM_MAX], p[NUM_MAX];
	double h;
	if (!pct || pct->kind != RCELL_REAL)
		return; /* no session in the bucket: nothing to draw */
	h = pct->r;
	render_count(int_at(t, r, "encrypted"), enc, sizeof enc);
	render_count(int_at(t, r, "sessions"), all, sizeof all);
	render_cell(pct, 1, p, sizeof p);
	fputs("<g><title>", out);
	esc_html(out, text_at(t, r, "bucket"));
	fprintf(out, ": %s of %s sessions encrypted (%s)</title>", enc, all, p);
	fprintf(out, "<rect x=\"%zu.15\" y=\"%.2f\" width=\"0.7\" height=\"%.2f\" class=\"%s\"/></g>\n",
		r, 100.0 - h, h < 0.4 ? 0.4 : h, rating_name(rating_high(pct)));
}

static void share_panel(FILE *out, const struct rtable *t)
{
	static const char *const labels[] = {"100%", "75%", "50%", "25%", "0%"};
	static const int at[] = {100, 75, 50, 25, 0};
	fputs("<div class=\"cap\">encrypted share</div><div class=\"panel share\">", out);
	y_labels(out, labels, at, 5);
	svg_open(out, t->nrows, "plot", "encrypted share per bucket");
	for (size_t r = 0; r < t->nrows; r++)
		share_bar(out, t, r);
	fputs("</svg></div>\n", out);
}

static int64_t max_sessions(const struct rtable *t)
{
	int64_t max = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		int64_t n = int_at(t, r, "sessions") + int_at(t, r, "unknown");
		max = n > max ? n : max;
	}
	return max;
}

static void count_bar(FILE *out, const struct rtable *t, size_t r, int64_t max)
{
	int64_t n = int_at(t, r, "sessions"), u = int_at(t, r, "unknown");
	double hn = 100.0 * (double)n / (double)max, hu = 100.0 * (double)u / (double)max;
	char a[NUM_MAX], b[NUM_MAX];
	if (n + u == 0)
		return;
	render_count(n, a, sizeof a);
	render_count(u, b, sizeof b);
	fputs("<g><title>", out);
	esc_html(out, text_at(t, r, "bucket"));
	fprintf(out, ": %s sessions, %s unknown</title>", a, b);
	if (n > 0)
		fprintf(out, "<rect x=\"%zu.15\" y=\"%.2f\" width=\"0.7\" height=\"%.2f\""
			     " class=\"count\"/>", r, 100.0 - hn, hn);
	if (u > 0)
		fprintf(out, "<rect x=\"%zu.15\" y=\"%.2f\" width=\"0.7\" height=\"%.2f\""
			     " class=\"unknown\"/>", r, 100.0 - hn - hu, hu);
	fputs("</g>\n", out);
}

static void count_panel(FILE *out, const struct rtable *t)
{
	int64_t max = max_sessions(t);
	char top[NUM_MAX];
	const char *labels[] = {top, "0"};
	static const int at[] = {100, 0};
	render_count(max, top, sizeof top);
	fputs("<div class=\"cap\">sessions (<span class=\"key count\"></span> with SMTP or TLS"
	      " seen, <span class=\"key unknown\"></span> unknown)</div>"
	      "<div class=\"panel counts\">", out);
	y_labels(out, labels, at, 2);
	svg_open(out, t->nrows, "plot", "sessions per bucket");
	for (size_t r = 0; max > 0 && r < t->nrows; r++)
		count_bar(out, t, r, max);
	fputs("</svg></div>\n", out);
}

/* The first, middle and last bucket under the plots. */
static void x_labels(FILE *out, const struct rtable *t)
{
	size_t picks[3] = {0, t->nrows / 2, t->nrows - 1};
	fputs("<div class=\"xlab\">", out);
	for (size_t i = 0; i < 3; i++) {
		if ((i == 1 && t->nrows < 5) || (i == 2 && t->nrows < 2))
			continue;
		fputs("<span>", out);
		esc_html(out, text_at(t, picks[i], "bucket"));
		fputs("</span>", out);
	}
	fputs("</div>\n", out);
}

void chart_series(FILE *out, const struct rtable *t)
{
	if (!t || t->nrows == 0)
		return;
	if (t->nrows < SERIES_FULL)
		fprintf(out, "<figure class=\"series\" style=\"max-width:%zupx\">\n",
			SERIES_AXIS + SERIES_SLOT * (t->nrows < 8 ? 8 : t->nrows));
	else
		fputs("<figure class=\"series\">\n", out);
	share_panel(out, t);
	count_panel(out, t);
	x_labels(out, t);
	fputs("</figure>\n", out);
}

/* ---- horizontal bars ------------------------------------------------------- */

static void bar_row(FILE *out, const struct rtable *t, size_t r, const char *label_key)
{
	const struct rcell *pct = cell_at(t, r, "sessions_pct");
	int64_t n = int_at(t, r, "sessions");
	enum rating rate = rating_row(t, r);
	const struct rcell *key = rtable_at(t, r, 0);
	char v[3 * NUM_MAX], k[NUM_MAX];
	count_pct(n, pct, v, sizeof v);
	render_cell(key, 0, k, sizeof k);
	fprintf(out, "<div class=\"bar %s\"", rating_name(rate));
	if (rate != RATE_NONE)
		fprintf(out, " data-rate=\"%s\"", rating_name(rate));
	fputs(" data-key=\"", out);
	esc_html(out, key && key->kind == RCELL_TEXT ? key->text : k);
	fputs("\"><span class=\"bl\">", out);
	html_breakable(out, text_at(t, r, label_key));
	fprintf(out, "</span><span class=\"bt\"><span class=\"fill\" style=\"width:%.2f%%%s\">"
		     "</span></span><span class=\"bv\">%s</span></div>\n",
		pct && pct->kind == RCELL_REAL ? pct->r : 0.0, n > 0 ? ";min-width:2px" : "", v);
}

void chart_bars(FILE *out, const struct rtable *t, const char *label_key, size_t max_rows)
{
	size_t n = t ? (t->nrows < max_rows ? t->nrows : max_rows) : 0;
	if (n == 0)
		return;
	fputs("<div class=\"bars\">\n", out);
	for (size_t r = 0; r < n; r++)
		bar_row(out, t, r, label_key);
	if (t->nrows > n)
		fprintf(out, "<p class=\"more\">and %zu more in the table</p>\n", t->nrows - n);
	fputs("</div>\n", out);
}
