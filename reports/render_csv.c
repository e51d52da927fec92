/* CSV: one block per table. A block starts with a header line whose first
 * field is "section"; every data line starts with the table's id, so
 * `grep '^encryption,'` (plus the header) is a plain CSV table. Numbers
 * are plain (no separators); percentages have one decimal; NULL is an
 * empty field. The first block, "summary", holds the totals. */
#include "rescape.h"
#include "render.h"
#include "rtime.h"

#define CELL_MAX 64

static void summary(const struct rmodel *m, FILE *out)
{
	const struct rmeta *meta = &m->meta;
	char first[32] = "", last[32] = "", filters[512];
	if (meta->sessions > 0) {
		rtime_iso(meta->first, first, sizeof first);
		rtime_iso(meta->last, last, sizeof last);
	}
	render_filters(&meta->filter, filters, sizeof filters);
	fputs("section,database,filters,by,first,last,sessions,known,unknown,encrypted,"
	      "encrypted_pct,tls_attempted,tls_attempted_pct\nsummary,", out);
	esc_csv(out, meta->path);
	fputc(',', out);
	esc_csv(out, filters);
	fprintf(out, ",%s,%s,%s,%lld,%lld,%lld,%lld,", rtime_by_name(meta->by), first, last,
		(long long)meta->sessions, (long long)meta->known, (long long)meta->unknown,
		(long long)meta->encrypted);
	if (meta->known > 0)
		fprintf(out, "%.1f", 100.0 * (double)meta->encrypted / (double)meta->known);
	fprintf(out, ",%lld,", (long long)meta->attempted);
	if (meta->known > 0)
		fprintf(out, "%.1f", 100.0 * (double)meta->attempted / (double)meta->known);
	fputc('\n', out);
}

static void table(const struct rtable *t, FILE *out)
{
	char buf[CELL_MAX];
	fputs("section", out);
	for (size_t c = 0; c < t->ncols; c++)
		fprintf(out, ",%s", t->cols[c].key);
	fputc('\n', out);
	for (size_t r = 0; r < t->nrows; r++) {
		fputs(t->id, out);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct rcell *cell = rtable_at(t, r, c);
			fputc(',', out);
			if (cell->kind == RCELL_TEXT) {
				esc_csv(out, cell->text);
				continue;
			}
			render_cell(cell, 0, buf, sizeof buf);
			fputs(buf, out);
		}
		fputc('\n', out);
	}
}

int render_csv(const struct rmodel *m, FILE *out)
{
	summary(m, out);
	for (size_t i = 0; i < m->ntables; i++)
		table(m->tables[i], out);
	return ferror(out) ? -1 : 0;
}
