/* What the renderers share: cells, filters and the period as text. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "rtime.h"

static void thousands(int64_t v, char *buf, size_t n)
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
			thousands(c->i, buf, n);
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
