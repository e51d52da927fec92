/* ClickHouse's TabSeparated values (tsv.h). */
#include "tsv.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tsv_buf_free(struct tsv_buf *b)
{
	free(b->p);
	*b = (struct tsv_buf){.max = b->max};
}

void tsv_buf_reset(struct tsv_buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p)
		b->p[0] = '\0';
}

static int grow(struct tsv_buf *b, size_t n)
{
	if (b->max && b->len + n + 1 > b->max)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void tsv_put(struct tsv_buf *b, const void *p, size_t n)
{
	if (b->failed || grow(b, n) < 0) {
		b->failed = 1;
		return;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void tsv_puts(struct tsv_buf *b, const char *s)
{
	tsv_put(b, s, strlen(s));
}

/* The escape for byte c, or 0 when it goes as it is. */
static char escape_of(unsigned char c)
{
	switch (c) {
	case '\\': return '\\';
	case '\t': return 't';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\0': return '0';
	case '\'': return '\'';
	default: return 0;
	}
}

void tsv_put_text(struct tsv_buf *b, const char *s)
{
	if (!s) {
		tsv_put(b, "\\N", 2);
		return;
	}
	const char *run = s;
	for (const char *p = s; *p; p++) {
		char e = escape_of((unsigned char)*p);
		if (!e)
			continue;
		tsv_put(b, run, (size_t)(p - run));
		char esc[2] = {'\\', e};
		tsv_put(b, esc, 2);
		run = p + 1;
	}
	tsv_puts(b, run);
}

void tsv_put_int(struct tsv_buf *b, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%" PRId64, v);
	tsv_put(b, t, (size_t)n);
}

void tsv_put_uint(struct tsv_buf *b, uint64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%" PRIu64, v);
	tsv_put(b, t, (size_t)n);
}

void tsv_put_real(struct tsv_buf *b, double v)
{
	char t[40];
	if (!isfinite(v))
		v = 0;
	for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back exactly */
		snprintf(t, sizeof t, "%.*g", prec, v);
		if (strtod(t, NULL) == v)
			break;
	}
	tsv_puts(b, t);
}

/* ---- reading --------------------------------------------------------------- */

static char unescape_of(char c)
{
	switch (c) {
	case 't': return '\t';
	case 'n': return '\n';
	case 'r': return '\r';
	case 'b': return '\b';
	case 'f': return '\f';
	case '0': return '\0';
	default: return c; /* \\ \' and any other byte stand for themselves */
	}
}

long tsv_unescape(char *p, size_t len)
{
	size_t out = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\\') {
			p[out++] = p[i];
			continue;
		}
		if (++i == len)
			return -1;
		p[out++] = unescape_of(p[i]);
	}
	return (long)out;
}

int tsv_split(char *p, size_t len, struct tsv_row *row)
{
	size_t start = 0;
	row->n = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] == '\\') {
			i++; /* an escaped byte (a tab too) never ends a field */
			if (i == len)
				return -1;
			continue;
		}
		if (i < len && p[i] != '\t')
			continue;
		if (row->n == TSV_MAX_FIELDS)
			return -1;
		char *f = p + start;
		size_t flen = i - start;
		int null = flen == 2 && f[0] == '\\' && f[1] == 'N';
		long n = null ? 0 : tsv_unescape(f, flen);
		if (n < 0)
			return -1;
		f[n] = '\0'; /* over the tab, the newline's place, or inside the field */
		row->f[row->n] = f;
		row->len[row->n] = (size_t)n;
		row->null[row->n] = (unsigned char)null;
		row->n++;
		start = i + 1;
	}
	return 0;
}
