/* What the renderers share: cells, filters and the period as text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "rtime.h"

void render_count(int64_t v, char *buf, size_t n)
{
	char digits[32];
	size_t len, used = 0;
	snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	len = strlen(digits);
	if (v < 0 && used + 1 < n)
		buf[used++] = '-';
	for (size_t i = 0; i < len && used + 1 < n; i++) {
		if (i > 0 && (len - i) % 3 == 0 && used + 2 < n)
			buf[used++] = ',';
		buf[used++] = digits[i];
	}
	buf[used] = '\0';
}

/* "812 B", "361.9 kB", "2.6 MB" ... (powers of 1000). */
void render_bytes(int64_t v, char *buf, size_t n)
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

/* Grouped: a run of digits standing alone, with a blank or "(" before it
 * and a blank, ",", ";", ")" or the end after it. */
static int standalone(const char *s, size_t start, size_t end)
{
	char before = start ? s[start - 1] : ' ', after = s[end];
	return (before == ' ' || before == '(') &&
	       (after == '\0' || after == ' ' || after == ',' || after == ';' || after == ')');
}

void render_prose(const char *s, char *buf, size_t n)
{
	size_t used = 0, i = 0;
	while (s[i] && used + 1 < n) {
		size_t run = strspn(s + i, "0123456789");
		if (run > 3 && run < 19 && standalone(s, i, i + run)) {
			char num[32];
			render_count(strtoll(s + i, NULL, 10), num, sizeof num);
			used += (size_t)snprintf(buf + used, n - used, "%s", num);
			used = used < n ? used : n - 1;
			i += run;
		} else {
			size_t k = run ? run : 1;
			for (size_t j = 0; j < k && used + 1 < n; j++)
				buf[used++] = s[i + j];
			i += k;
		}
	}
	buf[used] = '\0';
}

void render_value(const struct rtable *t, size_t r, size_t c, char *buf, size_t n)
{
	const struct rcell *cell = rtable_at(t, r, c);
	if (cell && (t->cols[c].flags & RCOL_BYTES) && cell->kind == RCELL_INT)
		render_bytes(cell->i, buf, n);
	else
		render_cell(cell, 1, buf, n);
}

void render_lookup(const struct rtable *t, const char *rowkey, const char *colkey, char *buf,
		   size_t n)
{
	int c = t ? rtable_col(t, colkey) : -1;
	for (size_t r = 0; c >= 0 && r < t->nrows; r++) {
		const struct rcell *k = rtable_at(t, r, 0);
		if (k->kind == RCELL_TEXT && !strcmp(k->text, rowkey)) {
			render_value(t, r, (size_t)c, buf, n);
			return;
		}
	}
	render_cell(NULL, 1, buf, n);
}

static void printable(const char *s, char *buf, size_t n)
{
	size_t i = 0;
	for (; s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	buf[i] = '\0';
}

void render_cell(const struct rcell *c, int pretty, char *buf, size_t n)
{
	switch (c ? c->kind : RCELL_NULL) {
	case RCELL_INT:
		if (pretty)
			render_count(c->i, buf, n);
		else
			snprintf(buf, n, "%lld", (long long)c->i);
		return;
	case RCELL_REAL:
		snprintf(buf, n, pretty ? "%.1f%%" : "%.1f", c->r);
		return;
	case RCELL_TEXT:
		if (pretty)
			printable(c->text, buf, n);
		else
			snprintf(buf, n, "%s", c->text);
		return;
	case RCELL_NULL:
		break;
	}
	snprintf(buf, n, "%s", pretty ? "-" : "");
}

void render_filters(const struct report_filter *f, char *buf, size_t n)
{
	size_t used = 0;
	char t[32];
	buf[0] = '\0';
	for (size_t i = 0; i < f->nports && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%u", i ? "," : "port ",
					 f->ports[i]);
	if (f->server[0] && used < n)
		used += (size_t)snprintf(buf + used, n - used, "%sserver %s", used ? ", " : "",
					 f->server);
	if (f->sensor[0] && used < n)
		used += (size_t)snprintf(buf + used, n - used, "%ssensor %s", used ? ", " : "",
					 f->sensor);
	if (f->since > REPORT_TIME_MIN && used < n) {
		rtime_format(f->since, t, sizeof t);
		used += (size_t)snprintf(buf + used, n - used, "%ssince %s", used ? ", " : "", t);
	}
	if (f->until < REPORT_TIME_MAX && used < n) {
		rtime_format(f->until, t, sizeof t);
		used += (size_t)snprintf(buf + used, n - used, "%suntil %s", used ? ", " : "", t);
	}
	if (!used)
		snprintf(buf, n, "none");
}

void render_period(const struct rmeta *meta, char *buf, size_t n)
{
	char a[32], b[32];
	if (!isfinite(meta->first)) {
		snprintf(buf, n, "-");
		return;
	}
	rtime_format(meta->first, a, sizeof a);
	rtime_format(meta->last, b, sizeof b);
	snprintf(buf, n, "%s to %s UTC", a, b);
}
