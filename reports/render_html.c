/* HTML: one self-contained page. Inline CSS and SVG, no script, nothing
 * fetched (the Content-Security-Policy forbids it), and every string that
 * is not fixed markup goes through esc_html: EHLO names, SNI and banners
 * come from the wire and are attacker-controlled. */
#include <stdio.h>

#include "rescape.h"
#include "render.h"
#include "rsvg.h"

#define CELL_MAX 64
#define CHART_ROWS 12

static const char style[] =
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
	"max-width:1100px;padding:24px;color:#1d2733;background:#fff}"
	"h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 4px;"
	"border-bottom:1px solid #d8dee6;padding-bottom:4px}"
	".meta{color:#52606d;margin:0}.note{color:#52606d;margin:2px 0 8px;font-size:13px}"
	".cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}"
	".card{border:1px solid #d8dee6;border-radius:8px;padding:12px 16px;min-width:150px;"
	"flex:1}.big{font-size:30px;font-weight:600;color:#146c43}"
	".card.bad .big{color:#b02a37}.sub{color:#52606d;font-size:13px}"
	".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:4px 0}"
	"th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eef1f4;"
	"vertical-align:top}th{background:#f4f6f8;font-weight:600}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
	".w{font-family:ui-monospace,monospace;word-break:break-all}"
	"td.w{max-width:320px}td.d{font-size:12px;max-width:520px}.k{color:#52606d}"
	"svg{max-width:100%;height:auto;display:block;margin:6px 0}"
	"svg .grid{stroke:#e3e8ee}svg .axis{font-size:11px;fill:#52606d}"
	"svg .enc{fill:#2f9e69}svg .none{fill:#ccc}svg .count{fill:none;stroke:#3b6fb6;"
	"stroke-width:1.5}svg .count-label{fill:#3b6fb6}svg .label{font-size:12px;"
	"font-family:ui-monospace,monospace;fill:#1d2733}svg .value{font-size:12px;"
	"fill:#1d2733}.more{color:#52606d;font-size:13px}";

static void text(FILE *out, const char *s)
{
	esc_html(out, s);
}

static void head(const struct rmodel *m, FILE *out)
{
	char buf[512];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
	      " style-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>smtptls report: ", out);
	text(out, m->meta.path);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>smtptls report</h1>\n"
		     "<p class=\"meta\">Database <code>", style);
	text(out, m->meta.path);
	fputs("</code> &middot; sessions from ", out);
	render_period(&m->meta, buf, sizeof buf);
	text(out, buf);
	fputs(" &middot; filters: ", out);
	render_filters(&m->meta.filter, buf, sizeof buf);
	text(out, buf);
	fputs("</p>\n", out);
}

static void card(FILE *out, const struct rcell *pct, const char *what, const char *detail,
		 int bad)
{
	char p[CELL_MAX];
	render_cell(pct, 1, p, sizeof p);
	fprintf(out, "<div class=\"card%s\"><div class=\"big\">", bad ? " bad" : "");
	text(out, p);
	fputs("</div><div>", out);
	text(out, what);
	fputs("</div><div class=\"sub\">", out);
	text(out, detail);
	fputs("</div></div>\n", out);
}

/* A card from a shares table's line (item key): "% / what / n of N
 * denominator". Nothing when the table is absent (an older database). */
static void share_card(FILE *out, const struct rtable *t, const char *key, const char *what,
		       int bad)
{
	char a[CELL_MAX], b[CELL_MAX], d[256];
	const struct rcell *den = rtable_lookup(t, key, "denominator");
	if (!t || !den || den->kind != RCELL_TEXT)
		return;
	render_cell(rtable_lookup(t, key, "sessions"), 1, a, sizeof a);
	render_cell(rtable_lookup(t, key, "of"), 1, b, sizeof b);
	snprintf(d, sizeof d, "%s of %s %s", a, b, den->text);
	card(out, rtable_lookup(t, key, "sessions_pct"), what, d, bad);
}

static void cards(const struct rmodel *m, FILE *out)
{
	const struct rtable *e = rmodel_find(m, "encryption"), *c = rmodel_find(m, "clear_mail");
	char a[CELL_MAX], b[CELL_MAX], d[256];
	fputs("<div class=\"cards\">\n", out);
	render_cell(rtable_lookup(e, "all", "encrypted"), 1, a, sizeof a);
	render_cell(rtable_lookup(e, "all", "sessions"), 1, b, sizeof b);
	snprintf(d, sizeof d, "%s of %s known sessions: TLS completed; %lld unknown shown apart",
		 a, b, (long long)m->meta.unknown);
	card(out, rtable_lookup(e, "all", "encrypted_pct"), "of sessions encrypted (TLS completed)",
	     d, 0);
	render_cell(rtable_lookup(e, "all", "tls_attempted"), 1, a, sizeof a);
	render_cell(rtable_lookup(e, "all", "sessions"), 1, b, sizeof b);
	snprintf(d, sizeof d, "%s of %s sessions: a TLS hello seen or STARTTLS accepted", a, b);
	card(out, rtable_lookup(e, "all", "tls_attempted_pct"), "of sessions attempted TLS", d, 0);
	render_cell(rtable_lookup(e, "all", "encrypted_bytes"), 1, a, sizeof a);
	render_cell(rtable_lookup(e, "all", "bytes"), 1, b, sizeof b);
	snprintf(d, sizeof d, "%s of %s bytes (TCP payload)", a, b);
	card(out, rtable_lookup(e, "all", "encrypted_bytes_pct"), "of bytes in encrypted sessions",
	     d, 0);
	render_cell(rtable_lookup(c, "all", "transactions"), 1, a, sizeof a);
	render_cell(rtable_lookup(c, "all", "sessions"), 1, b, sizeof b);
	snprintf(d, sizeof d, "%s MAIL transactions in clear, in %s sessions", a, b);
	card(out, rtable_lookup(c, "all", "sessions_pct"), "of sessions carried mail in clear", d,
	     1);
	share_card(out, rmodel_find(m, "crypto_quality"), "forward_secrecy",
		   "of encrypted sessions forward secret", 0);
	share_card(out, rmodel_find(m, "blame_summary"), "server_chose_weak",
		   "server chose a weak suite over a stronger offer", 1);
	fputs("</div>\n", out);
}

static void charts(const struct rmodel *m, FILE *out)
{
	const struct rtable *s = rmodel_find(m, "series");
	fputs("<h2>", out);
	text(out, s && s->title ? s->title : "Encrypted share over time");
	fputs("</h2>\n<p class=\"note\">bars: encrypted share; line: sessions</p>\n", out);
	svg_series(out, s);
	fputs("<h2>TLS versions</h2>\n", out);
	svg_bars(out, rmodel_find(m, "tls_versions"), "version", CHART_ROWS);
	fputs("<h2>Cipher suites</h2>\n", out);
	svg_bars(out, rmodel_find(m, "ciphers"), "cipher", CHART_ROWS);
	fputs("<h2>Cipher classes</h2>\n", out);
	svg_bars(out, rmodel_find(m, "cipher_classes"), "what", CHART_ROWS);
	if (rmodel_find(m, "tls_outcomes")) {
		fputs("<h2>TLS handshake outcomes</h2>\n", out);
		svg_bars(out, rmodel_find(m, "tls_outcomes"), "what", CHART_ROWS);
		fputs("<h2>Highest TLS version the clients offered</h2>\n", out);
		svg_bars(out, rmodel_find(m, "client_versions"), "version", CHART_ROWS);
	}
}

static int numeric(const struct rcol *c)
{
	return (c->flags & (RCOL_NUM | RCOL_PCT)) != 0;
}

/* Columns of their own: not keys, not details (those share one cell),
 * not the counts kept for JSON and CSV. */
static int own_column(const struct rcol *c)
{
	return !(c->flags & (RCOL_KEY | RCOL_DETAIL | RCOL_DATA));
}

static int has_details(const struct rtable *t)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (t->cols[c].flags & RCOL_DETAIL)
			return 1;
	return 0;
}

static void cell_text(const struct rcell *cell, FILE *out)
{
	char buf[CELL_MAX];
	if (cell->kind == RCELL_TEXT) {
		text(out, cell->text);
		return;
	}
	render_cell(cell, 1, buf, sizeof buf);
	text(out, buf);
}

static void table_head(const struct rtable *t, FILE *out)
{
	fputs("<tr>", out);
	for (size_t c = 0; c < t->ncols; c++) {
		if (!own_column(&t->cols[c]))
			continue;
		fprintf(out, "<th%s>", numeric(&t->cols[c]) ? " class=\"n\"" : "");
		text(out, t->cols[c].label);
		fputs("</th>", out);
	}
	fputs(has_details(t) ? "<th>details</th></tr>\n" : "</tr>\n", out);
}

/* The detail columns of a row, one "label: value" line each, the empty
 * ones left out. */
static void details_cell(const struct rtable *t, size_t r, FILE *out)
{
	fputs("<td class=\"d\">", out);
	for (size_t c = 0; c < t->ncols; c++) {
		const struct rcell *cell = rtable_at(t, r, c);
		unsigned f = t->cols[c].flags;
		if (!(f & RCOL_DETAIL) || cell->kind == RCELL_NULL ||
		    (cell->kind == RCELL_INT && cell->i == 0))
			continue;
		fputs("<div><span class=\"k\">", out);
		text(out, t->cols[c].label);
		fprintf(out, ":</span> <span%s>", f & RCOL_WIRE ? " class=\"w\"" : "");
		cell_text(cell, out);
		fputs("</span></div>", out);
	}
	fputs("</td>", out);
}

static void table_row(const struct rtable *t, size_t r, FILE *out)
{
	fputs("<tr>", out);
	for (size_t c = 0; c < t->ncols; c++) {
		unsigned f = t->cols[c].flags;
		if (!own_column(&t->cols[c]))
			continue;
		fprintf(out, "<td%s>", numeric(&t->cols[c]) ? " class=\"n\""
				       : f & RCOL_WIRE ? " class=\"w\"" : "");
		cell_text(rtable_at(t, r, c), out);
		fputs("</td>", out);
	}
	if (has_details(t))
		details_cell(t, r, out);
	fputs("</tr>\n", out);
}

/* A one-row table as "label | value" lines. */
static void table_vertical(const struct rtable *t, FILE *out)
{
	for (size_t c = 0; c < t->ncols && t->nrows > 0; c++) {
		const struct rcell *cell = rtable_at(t, 0, c);
		if (t->cols[c].flags & RCOL_DETAIL && cell->kind == RCELL_NULL)
			continue;
		fputs("<tr><th>", out);
		text(out, t->cols[c].label);
		fputs("</th><td class=\"n\">", out);
		cell_text(cell, out);
		fputs("</td></tr>\n", out);
	}
}

static void table(const struct rtable *t, FILE *out)
{
	fputs("<section id=\"", out);
	text(out, t->id);
	fputs("\">\n<h2>", out);
	text(out, t->title ? t->title : t->id);
	fputs("</h2>\n", out);
	if (t->note) {
		fputs("<p class=\"note\">", out);
		text(out, t->note);
		fputs("</p>\n", out);
	}
	fputs("<div class=\"scroll\"><table>\n", out);
	if (t->vertical) {
		table_vertical(t, out);
	} else {
		table_head(t, out);
		for (size_t r = 0; r < t->nrows; r++)
			table_row(t, r, out);
	}
	fputs("</table></div>\n", out);
	if (t->nrows == 0)
		fputs("<p class=\"more\">none</p>\n", out);
	if (t->more > 0)
		fprintf(out, "<p class=\"more\">and %lld more (--top 0 lists all)</p>\n",
			(long long)t->more);
	fputs("</section>\n", out);
}

int render_html(const struct rmodel *m, FILE *out)
{
	head(m, out);
	cards(m, out);
	charts(m, out);
	for (size_t i = 0; i < m->ntables; i++)
		table(m->tables[i], out);
	fputs("<p class=\"meta\">smtptls " SMTPTLS_VERSION "</p>\n</body>\n</html>\n", out);
	return ferror(out) ? -1 : 0;
}
