/* JSON: one object. "sessions" holds the totals; "sections" holds every
 * table by id, as {title, denominator, more, rows: [{column: value}]}.
 * Counts are integers, percentages numbers with one decimal, unknown
 * values null. */
#include <math.h>

#include "rescape.h"
#include "render.h"
#include "rtime.h"

static void time_or_null(FILE *out, double t, int given)
{
	char buf[32];
	if (!given || !isfinite(t)) {
		fputs("null", out);
		return;
	}
	rtime_iso(t, buf, sizeof buf);
	esc_json(out, buf);
}

static void filters(const struct report_filter *f, FILE *out)
{
	fputs("{\"since\": ", out);
	time_or_null(out, f->since, f->since > REPORT_TIME_MIN);
	fputs(", \"until\": ", out);
	time_or_null(out, f->until, f->until < REPORT_TIME_MAX);
	fputs(", \"ports\": [", out);
	for (size_t i = 0; i < f->nports; i++)
		fprintf(out, "%s%u", i ? ", " : "", f->ports[i]);
	fputs("], \"server\": ", out);
	esc_json(out, f->server[0] ? f->server : NULL);
	fputs(", \"sensor\": ", out);
	esc_json(out, f->sensor[0] ? f->sensor : NULL);
	fputc('}', out);
}

static void pct_or_null(FILE *out, int64_t part, int64_t whole)
{
	if (whole > 0)
		fprintf(out, "%.1f", 100.0 * (double)part / (double)whole);
	else
		fputs("null", out);
}

static void meta(const struct rmodel *m, FILE *out)
{
	const struct rmeta *mt = &m->meta;
	fprintf(out, "{\n \"report\": \"smtptls\",\n \"version\": \"%s\",\n \"database\": ",
		SMTPTLS_VERSION);
	esc_json(out, mt->path);
	fputs(",\n \"filters\": ", out);
	filters(&mt->filter, out);
	fprintf(out, ",\n \"by\": \"%s\",\n \"top\": %ld,\n \"first\": ", rtime_by_name(mt->by),
		mt->top);
	time_or_null(out, mt->first, 1);
	fputs(", \"last\": ", out);
	time_or_null(out, mt->last, 1);
	fprintf(out, ",\n \"sessions\": {\"total\": %lld, \"known\": %lld, \"unknown\": %lld,"
		     " \"encrypted\": %lld, \"encrypted_pct\": ",
		(long long)mt->sessions, (long long)mt->known, (long long)mt->unknown,
		(long long)mt->encrypted);
	pct_or_null(out, mt->encrypted, mt->known);
	fprintf(out, ", \"tls_attempted\": %lld, \"tls_attempted_pct\": ", (long long)mt->attempted);
	pct_or_null(out, mt->attempted, mt->known);
	fputc('}', out);
}

static void cell(const struct rcell *c, FILE *out)
{
	switch (c->kind) {
	case RCELL_INT: fprintf(out, "%lld", (long long)c->i); break;
	case RCELL_REAL: fprintf(out, "%.1f", c->r); break;
	case RCELL_TEXT: esc_json(out, c->text); break;
	case RCELL_NULL: fputs("null", out); break;
	}
}

static void table(const struct rtable *t, FILE *out)
{
	fputs("  ", out);
	esc_json(out, t->id);
	fputs(": {\"title\": ", out);
	esc_json(out, t->title);
	fputs(", \"denominator\": ", out);
	esc_json(out, t->note);
	fprintf(out, ", \"more\": %lld, \"rows\": [", (long long)t->more);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(r ? ",\n   {" : "\n   {", out);
		for (size_t c = 0; c < t->ncols; c++) {
			fprintf(out, "%s\"%s\": ", c ? ", " : "", t->cols[c].key);
			cell(rtable_at(t, r, c), out);
		}
		fputc('}', out);
	}
	fputs(t->nrows ? "\n  ]}" : "]}", out);
}

int render_json(const struct rmodel *m, FILE *out)
{
	meta(m, out);
	fputs(",\n \"sections\": {\n", out);
	for (size_t i = 0; i < m->ntables; i++) {
		table(m->tables[i], out);
		fputs(i + 1 < m->ntables ? ",\n" : "\n", out);
	}
	fputs(" }\n}\n", out);
	return ferror(out) ? -1 : 0;
}
