/* HTML: one self-contained page an operator reads at a glance: the
 * headline as cards coloured by their value, a table of contents, then
 * each section once (a chart with its table folded under it, or the
 * table), and a legend of the colours and thresholds. Inline CSS and SVG,
 * no script, nothing fetched (the Content-Security-Policy forbids it), and
 * every string that is not fixed markup goes through esc_html: EHLO
 * names, SNI and banners come from the wire and are attacker-controlled.
 * The tables themselves are written by render_htable.c. */
#include <stdio.h>
#include <string.h>

#include "rating.h"
#include "rchart.h"
#include "render.h"
#include "render_html.h"
#include "rescape.h"

#define CELL_MAX 64
#define CHART_ROWS 25

/* Colours: good green, ok blue, warn amber, bad red, none grey. Charts
 * and tables read their rating from a class of that name. */
static const char style[] =
	":root{--good:#2b9a5e;--ok:#4f86c6;--warn:#e0a526;--bad:#cf3a30;--none:#a3adb8;"
	"--ink:#1d2733;--dim:#52606d;--line:#e3e8ee}"
	"*{box-sizing:border-box}"
	"body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
	"max-width:1240px;padding:20px 24px;color:var(--ink);background:#fff}"
	"h1{font-size:24px;margin:0 0 4px}"
	"h2{font-size:19px;margin:36px 0 6px;padding-bottom:4px;border-bottom:2px solid #cdd5de}"
	"h3{font-size:16px;margin:26px 0 2px}"
	"a{color:#245fa8}code{overflow-wrap:anywhere}"
	".meta{color:var(--dim);margin:0;overflow-wrap:anywhere}"
	".note{color:var(--dim);margin:2px 0 8px;font-size:13px;max-width:80em}"
	/* contents */
	"nav{margin:16px 0;padding:10px 14px;background:#f6f8fa;border-radius:8px}"
	"nav h2{margin:0 0 6px;font-size:15px;border:0;padding:0}"
	".toc{columns:15em;column-gap:24px;margin:0;padding:0;list-style:none;font-size:13px}"
	".toc>li{break-inside:avoid;margin:0 0 8px}.toc ol{margin:0;padding:0 0 0 12px;"
	"list-style:none}.toc a{text-decoration:none}.toc a:hover{text-decoration:underline}"
	/* cards */
	".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px;"
	"margin:14px 0}"
	".card{border:1px solid #d8dee6;border-left:6px solid var(--none);border-radius:8px;"
	"padding:10px 14px}.card .big{font-size:28px;font-weight:650;line-height:1.2}"
	".card .sub{color:var(--dim);font-size:13px;overflow-wrap:anywhere}"
	".card.good{border-left-color:var(--good)}.card.good .big{color:#17683f}"
	".card.warn{border-left-color:var(--warn)}.card.warn .big{color:#8a5a00}"
	".card.bad{border-left-color:var(--bad)}.card.bad .big{color:#b02a22}"
	/* tables */
	".tw{overflow-x:auto;max-width:100%}"
	"table{border-collapse:collapse;font-size:13px;margin:4px 0;max-width:100%}"
	"th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eef1f4;"
	"vertical-align:top;overflow-wrap:break-word}"
	"th{background:#f4f6f8;font-weight:600;vertical-align:bottom}"
	"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"tr.has-det>td{border-bottom:0}tr.det>td{padding-top:0;font-size:12.5px;color:#33404d}"
	/* details take the table's width, never widen it */
	".dl{contain:inline-size}.di{display:inline-block;margin:0 18px 2px 0;max-width:100%}"
	".k{color:var(--dim)}.w{font-family:ui-monospace,monospace;overflow-wrap:anywhere}"
	"tr.good>td:first-child{border-left:4px solid var(--good)}"
	"tr.ok>td:first-child{border-left:4px solid var(--ok)}"
	"tr.warn>td:first-child{border-left:4px solid var(--warn)}"
	"tr.bad>td:first-child{border-left:4px solid var(--bad)}"
	/* a table with details under its rows takes the width they need */
	"table.dt{width:100%}table.dt th:first-child{width:28%}"
	"table.kv th{background:none;font-weight:normal;color:var(--dim);vertical-align:top}"
	".tog{display:none}.tog:not(:checked)+.tw tbody.rest{display:none}"
	".tog-l{cursor:pointer;color:#245fa8;font-size:13px;display:inline-block;margin:2px 0}"
	".tog:checked~.tog-l .show,.tog:not(:checked)~.tog-l .hide{display:none}"
	"details{margin:6px 0}summary{cursor:pointer;color:#245fa8;font-size:13px}"
	".more{color:var(--dim);font-size:13px}"
	/* charts */
	".series{margin:8px 0 4px}.cap{font-size:12px;color:var(--dim);margin:6px 0 2px 52px}"
	".panel{position:relative;margin:8px 0 0 52px;border-bottom:1px solid #9aa5b1;"
	"background-image:linear-gradient(to top,var(--line) 1px,transparent 1px);"
	"background-size:100% 25%;border-top:1px solid var(--line)}"
	".panel.share{height:170px}.panel.counts{height:64px;background:none}"
	".plot{display:block;width:100%;height:100%}"
	".ylab span{position:absolute;right:calc(100% + 6px);transform:translateY(50%);"
	"font-size:12px;color:var(--dim);white-space:nowrap}"
	".xlab{display:flex;justify-content:space-between;margin-left:52px;font-size:12px;"
	"color:var(--dim)}"
	".plot .good{fill:var(--good)}.plot .ok{fill:var(--ok)}.plot .warn{fill:var(--warn)}"
	".plot .bad{fill:var(--bad)}.plot .none{fill:var(--none)}.plot .count{fill:#6f8fb8}"
	".plot .unknown{fill:#c9d0d8}.key{display:inline-block;width:10px;height:10px;"
	"vertical-align:-1px}.key.count{background:#6f8fb8}.key.unknown{background:#c9d0d8}"
	/* bars: one grid for all rows, so the labels take the widest one's room */
	".bars{display:grid;grid-template-columns:minmax(4em,max-content) minmax(60px,1fr)"
	" max-content;gap:4px 10px;align-items:center;margin:8px 0 4px;max-width:1100px;"
	"font-size:13px}.bar{display:contents}.bars .more{grid-column:1/-1;margin:0}"
	".bl{text-align:right;overflow-wrap:anywhere}"
	".bt{height:14px;background:#eef1f4;border-radius:3px;overflow:hidden}"
	".fill{display:block;height:100%;background:var(--none)}"
	".bar.good .fill{background:var(--good)}.bar.ok .fill{background:var(--ok)}"
	".bar.warn .fill{background:var(--warn)}.bar.bad .fill{background:var(--bad)}"
	".bv{font-variant-numeric:tabular-nums;white-space:nowrap}"
	/* legend */
	"footer{margin-top:40px;color:#33404d;"
	"font-size:13px}footer ul{padding-left:0;list-style:none}footer li{margin:3px 0}"
	".sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;"
	"vertical-align:-1px;background:var(--none)}.sw.good{background:var(--good)}"
	".sw.ok{background:var(--ok)}.sw.warn{background:var(--warn)}.sw.bad{background:var(--bad)}"
	/* phones: cards two abreast, bars under their labels, wide tables as cards */
	"@media (max-width:600px){body{padding:12px}h2{font-size:17px}"
	".cards{grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}"
	".card{padding:8px 10px}.card .big{font-size:22px}"
	".bars{grid-template-columns:minmax(0,1fr) max-content;grid-auto-flow:row dense;"
	"gap:1px 8px}.bl{grid-column:1;text-align:left}.bv{grid-column:2}"
	".bt{grid-column:1/-1;margin-bottom:5px}"
	".cap,.panel,.xlab{margin-left:40px}.panel.share{height:130px}"
	"th,td{padding:3px 6px}"
	".toc{columns:2}.toc ol{display:none}"
	"table.wide,table.wide tbody{display:block;width:100%}table.wide thead{display:none}"
	"table.wide tr{display:flex;flex-wrap:wrap;border-bottom:1px solid #d8dee6;padding:4px 0}"
	"table.wide tr.has-det{border-bottom:0}"
	"table.wide td{flex:0 0 50%;min-width:0;border:0;padding:1px 6px;text-align:right;"
	"white-space:normal}table.wide td:first-child{flex-basis:100%;text-align:left;"
	"font-weight:600}table.wide td:not(.n){flex-basis:100%}"
	"table.wide tr.det td{font-weight:normal}table.wide td.e{display:none}"
	"table.wide td[data-l]:not(:first-child)::before{content:attr(data-l);float:left;"
	"color:var(--dim);font-weight:normal;margin-right:12px}"
	"table.wide tr.det td{text-align:left}}";

/* ---- the page around the sections ------------------------------------------ */

static void head(const struct rmodel *m, FILE *out)
{
	char buf[512];
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"
	      " style-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>smtptls report: ", out);
	esc_html(out, m->meta.path);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n"
		     "<h1>smtptls report</h1>\n<p class=\"meta\">Database <code>", style);
	esc_html(out, m->meta.path);
	fputs("</code> &middot; sessions from ", out);
	render_period(&m->meta, buf, sizeof buf);
	esc_html(out, buf);
	fputs(" &middot; filters: ", out);
	render_filters(&m->meta.filter, buf, sizeof buf);
	esc_html(out, buf);
	fputs("</p>\n</header>\n", out);
}

/* Topics of the page, in the order the queries add their tables; a table
 * not listed here goes under the topic before it. */
static const struct {
	const char *table, *id, *title;
} parts[] = {
	{"encryption", "part-encryption", "Encryption"},
	{"tls_versions", "part-tls", "TLS"},
	{"blame_summary", "part-blame", "Weak crypto: whose fault"},
	{"client_offers", "part-offers", "What the clients offer"},
	{"certificates", "part-certs", "Certificates"},
	{"starttls", "part-smtp", "SMTP"},
	{"servers", "part-servers", "Servers"},
	{"downgrade_summary", "part-downgrade", "Downgrade"},
	{"dns_link", "part-domains", "Recipient domains"},
	{"clients", "part-clients", "Clients in clear"},
	{"ja3", "part-fingerprints", "Fingerprints"},
	{"capture", "part-capture", "Sensor"},
};
#define NPARTS (sizeof parts / sizeof parts[0])

/* The topic that starts with table t, or -1. */
static int part_of(const struct rtable *t)
{
	for (size_t i = 0; i < NPARTS; i++)
		if (!strcmp(parts[i].table, t->id))
			return (int)i;
	return -1;
}

static void toc_link(FILE *out, const char *id, const char *title)
{
	fputs("<li><a href=\"#", out);
	esc_html(out, id);
	fputs("\">", out);
	html_prose(out, title);
	fputs("</a></li>", out);
}

static void contents(const struct rmodel *m, FILE *out)
{
	int open = 0;
	fputs("<nav id=\"contents\" aria-label=\"Contents\">\n<h2>Contents</h2>\n<ol class=\"toc\">"
	      "<li><a href=\"#headline\">Headline</a></li>\n", out);
	for (size_t i = 0; i < m->ntables; i++) {
		const struct rtable *t = m->tables[i];
		int p = part_of(t);
		if (p >= 0) {
			fputs(open ? "</ol></li>\n<li><a href=\"#" : "<li><a href=\"#", out);
			fprintf(out, "%s\"><b>%s</b></a><ol>", parts[p].id, parts[p].title);
			open = 1;
		}
		toc_link(out, t->id, t->title ? t->title : t->id);
	}
	fputs(open ? "</ol></li>\n" : "", out);
	fputs("<li><a href=\"#legend\">Colours and thresholds</a></li></ol>\n</nav>\n", out);
}

static void legend(FILE *out)
{
	fprintf(out,
		"<footer id=\"legend\">\n<h2>Colours and thresholds</h2>\n<ul>"
		"<li><span class=\"sw good\"></span>good: TLS 1.3, forward-secret AEAD suites,"
		" post-quantum key exchange, established handshakes, STARTTLS offered and used</li>"
		"<li><span class=\"sw ok\"></span>acceptable: TLS 1.2, forward-secret CBC suites</li>"
		"<li><span class=\"sw warn\"></span>worth a look: no forward secrecy, no TLS 1.3"
		" offered, self-signed or mismatched certificates, handshakes without a"
		" ServerHello</li>"
		"<li><span class=\"sw bad\"></span>bad: weak suites (NULL, EXPORT, RC4, DES, 3DES,"
		" anonymous), SSLv2/SSLv3/TLS 1.0/1.1, refused or failed handshakes, no TLS after"
		" STARTTLS, STARTTLS not offered or not used, mail and AUTH in clear, expired"
		" certificates, downgrade evidence</li>"
		"<li><span class=\"sw\"></span>grey: no judgement</li></ul>\n"
		"<p>Versions and cipher suites are judged by the TLS registry's flags (IANA). A"
		" row with no sessions is not coloured.</p>\n"
		"<p>Headline cards and the bars over time: a share that should be high (encrypted"
		" sessions and bytes, forward secrecy) is green from %.0f%%, amber from %.0f%%,"
		" red below; a share that should be zero (mail and AUTH in clear, weak suites,"
		" the server's weak choices) is green at zero, amber under %.0f%%, red from"
		" %.0f%%.</p>\n<p>smtptls " SMTPTLS_VERSION "</p>\n</footer>\n",
		RATING_GOOD_MIN, RATING_WARN_MIN, RATING_BAD_FROM, RATING_BAD_FROM);
}

/* ---- headline cards ----------------------------------------------------------- */

static void card(FILE *out, const char *id, enum rating r, const char *value, const char *what,
		 const char *detail)
{
	fprintf(out, "<div class=\"card %s\" id=\"%s\"><div class=\"big\">", rating_name(r), id);
	esc_html(out, value);
	fputs("</div><div>", out);
	esc_html(out, what);
	fputs("</div><div class=\"sub\">", out);
	esc_html(out, detail);
	fputs("</div></div>\n", out);
}

static void cell(const struct rcell *c, char *buf, size_t n)
{
	render_cell(c, 1, buf, n);
}

/* A card from a shares table's line (item key): "% / what / n of N
 * denominator". Nothing when the table is absent (an older database).
 * high: the share should be high (else zero). */
static void share_card(FILE *out, const struct rtable *t, const char *key, const char *id,
		       const char *what, int high)
{
	char a[CELL_MAX], b[CELL_MAX], p[CELL_MAX], d[256];
	const struct rcell *den = rtable_lookup(t, key, "denominator");
	const struct rcell *pct = rtable_lookup(t, key, "sessions_pct");
	if (!t || !den || den->kind != RCELL_TEXT)
		return;
	cell(rtable_lookup(t, key, "sessions"), a, sizeof a);
	cell(rtable_lookup(t, key, "of"), b, sizeof b);
	cell(pct, p, sizeof p);
	snprintf(d, sizeof d, "%s of %s %s", a, b, den->text);
	card(out, id, high ? rating_high(pct) : rating_zero(rtable_lookup(t, key, "sessions"), pct),
	     p, what, d);
}

static void sessions_card(const struct rmodel *m, FILE *out)
{
	char all[CELL_MAX], known[CELL_MAX], unknown[CELL_MAX], d[256];
	render_count(m->meta.sessions, all, sizeof all);
	render_count(m->meta.known, known, sizeof known);
	render_count(m->meta.unknown, unknown, sizeof unknown);
	snprintf(d, sizeof d, "%s with SMTP or TLS seen; %s unknown, shown apart", known, unknown);
	card(out, "card-sessions", RATE_NONE, all, "sessions", d);
}

static void encryption_cards(const struct rmodel *m, FILE *out)
{
	const struct rtable *e = rmodel_find(m, "encryption"), *c = rmodel_find(m, "clear_mail");
	const struct rcell *pct = rtable_lookup(e, "all", "encrypted_pct");
	char a[CELL_MAX], b[CELL_MAX], p[CELL_MAX], d[256];
	cell(rtable_lookup(e, "all", "encrypted"), a, sizeof a);
	cell(rtable_lookup(e, "all", "sessions"), b, sizeof b);
	cell(pct, p, sizeof p);
	snprintf(d, sizeof d, "%s of %s sessions with SMTP or TLS seen: the TLS handshake"
		 " completed", a, b);
	card(out, "card-encrypted", rating_high(pct), p, "of sessions encrypted (TLS completed)", d);
	pct = rtable_lookup(e, "all", "tls_attempted_pct");
	cell(rtable_lookup(e, "all", "tls_attempted"), a, sizeof a);
	cell(pct, p, sizeof p);
	snprintf(d, sizeof d, "%s of %s sessions: a TLS hello seen or STARTTLS accepted", a, b);
	card(out, "card-attempted", rating_high(pct), p, "of sessions attempted TLS", d);
	render_lookup(e, "all", "encrypted_bytes", a, sizeof a);
	render_lookup(e, "all", "bytes", b, sizeof b);
	pct = rtable_lookup(e, "all", "encrypted_bytes_pct");
	cell(pct, p, sizeof p);
	snprintf(d, sizeof d, "%s of %s (TCP payload)", a, b);
	card(out, "card-bytes", rating_high(pct), p, "of bytes in encrypted sessions", d);
	pct = rtable_lookup(c, "all", "sessions_pct");
	cell(rtable_lookup(c, "all", "transactions"), a, sizeof a);
	cell(rtable_lookup(c, "all", "sessions"), b, sizeof b);
	cell(pct, p, sizeof p);
	snprintf(d, sizeof d, "%s MAIL transactions in clear, in %s sessions", a, b);
	card(out, "card-clear-mail", rating_zero(rtable_lookup(c, "all", "sessions"), pct), p,
	     "of sessions carried mail in clear", d);
}

static void cards(const struct rmodel *m, FILE *out)
{
	fputs("<section id=\"headline\">\n<h2>Headline</h2>\n<div class=\"cards\">\n", out);
	sessions_card(m, out);
	encryption_cards(m, out);
	share_card(out, rmodel_find(m, "starttls"), "cleartext_auth", "card-auth",
		   "of sessions sent AUTH in clear", 0);
	share_card(out, rmodel_find(m, "crypto_quality"), "forward_secrecy", "card-fs",
		   "of encrypted sessions forward secret", 1);
	share_card(out, rmodel_find(m, "crypto_quality"), "weak_cipher", "card-weak",
		   "of encrypted sessions with a weak cipher", 0);
	share_card(out, rmodel_find(m, "blame_summary"), "server_chose_weak", "card-server-weak",
		   "server chose a weak suite over a stronger offer", 0);
	fputs("</div>\n</section>\n", out);
}

/* ---- sections ------------------------------------------------------------------ */

/* Sections drawn as a chart, with the table folded under it. */
static const struct {
	const char *table, *label;
} bar_charts[] = {
	{"not_encrypted", "what"},  {"tls_versions", "version"}, {"ciphers", "cipher"},
	{"cipher_classes", "what"}, {"kx_groups", "group"},      {"tls_outcomes", "what"},
	{"client_versions", "version"},
};

static const char *bar_label(const struct rtable *t)
{
	for (size_t i = 0; i < sizeof bar_charts / sizeof bar_charts[0]; i++)
		if (!strcmp(bar_charts[i].table, t->id))
			return bar_charts[i].label;
	return NULL;
}

/* Reference lists, folded when longer than FOLD_ROWS: the operator opens
 * them when looking for a fingerprint or an issuer. */
static const char *const folded[] = {"ja3", "ja4", "ja3s", "cert_keys", "cert_sig_algs",
				     "cert_issuers"};
#define FOLD_ROWS 5

static int is_folded(const struct rtable *t)
{
	for (size_t i = 0; i < sizeof folded / sizeof folded[0]; i++)
		if (!strcmp(folded[i], t->id))
			return t->nrows > FOLD_ROWS;
	return 0;
}

static void section(const struct rtable *t, FILE *out)
{
	const char *label = bar_label(t);
	int chart = t->nrows > 0 && (label || !strcmp(t->id, "series"));
	int fold = chart || is_folded(t);
	fputs("<section id=\"", out);
	esc_html(out, t->id);
	fputs("\">\n<h3>", out);
	html_prose(out, t->title ? t->title : t->id);
	fputs("</h3>\n", out);
	if (t->note) {
		fputs("<p class=\"note\">", out);
		html_prose(out, t->note);
		fputs("</p>\n", out);
	}
	if (chart && label)
		chart_bars(out, t, label, CHART_ROWS);
	else if (chart)
		chart_series(out, t);
	if (fold)
		fprintf(out, "<details><summary>the table (%zu row%s)</summary>\n", t->nrows,
			t->nrows == 1 ? "" : "s");
	html_table(t, out);
	if (fold)
		fputs("</details>\n", out);
	fputs("</section>\n", out);
}

int render_html(const struct rmodel *m, FILE *out)
{
	head(m, out);
	contents(m, out);
	fputs("<main>\n", out);
	cards(m, out);
	for (size_t i = 0; i < m->ntables; i++) {
		int p = part_of(m->tables[i]);
		if (p >= 0)
			fprintf(out, "<h2 id=\"%s\">%s</h2>\n", parts[p].id, parts[p].title);
		section(m->tables[i], out);
	}
	fputs("</main>\n", out);
	legend(out);
	fputs("</body>\n</html>\n", out);
	return ferror(out) ? -1 : 0;
}
