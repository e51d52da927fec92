#include "export.h"

#include <stdio.h>

#include "rdb.h"
#include "rescape.h"

static const char export_sql[] =
	"SELECT * FROM sessions WHERE" RDB_FILTER "ORDER BY ts_start, id";
/* ClickHouse: the view of the same columns, each session once (store/chschema.h) */
static const char export_sql_ch[] =
	"SELECT * FROM sessions_view WHERE" RDB_FILTER "ORDER BY ts_start, id";

static void real(FILE *out, double v)
{
	fprintf(out, "%.6f", v);
}

static void jsonl_row(struct rq_stmt *s, FILE *out)
{
	int n = rq_ncols(s);
	fputc('{', out);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		esc_json(out, rq_name(s, i));
		fputc(':', out);
		switch (rq_type(s, i)) {
		case RQ_INT: fprintf(out, "%lld", (long long)rq_int(s, i)); break;
		case RQ_REAL: real(out, rq_real(s, i)); break;
		case RQ_NULL: fputs("null", out); break;
		default: esc_json(out, rq_text(s, i)); break;
		}
	}
	fputs("}\n", out);
}

static void csv_header(struct rq_stmt *s, FILE *out)
{
	for (int i = 0; i < rq_ncols(s); i++) {
		if (i)
			fputc(',', out);
		esc_csv(out, rq_name(s, i));
	}
	fputc('\n', out);
}

static void csv_row(struct rq_stmt *s, FILE *out)
{
	for (int i = 0; i < rq_ncols(s); i++) {
		if (i)
			fputc(',', out);
		switch (rq_type(s, i)) {
		case RQ_INT: fprintf(out, "%lld", (long long)rq_int(s, i)); break;
		case RQ_REAL: real(out, rq_real(s, i)); break;
		case RQ_NULL: break;
		default: esc_csv(out, rq_text(s, i)); break;
		}
	}
	fputc('\n', out);
}

long long report_export(const char *path, enum export_format fmt,
			const struct report_filter *f, FILE *out, char *err, size_t errlen)
{
	struct rdb *db;
	struct rq_stmt *s = NULL;
	long long rows = 0;
	int rc;
	if (rdb_open(&db, path, f, err, errlen) < 0)
		return -1;
	if (rdb_begin(db, RDB_ROWS) < 0 ||
	    !(s = rdb_query(db, rdb_clickhouse(db) ? export_sql_ch : export_sql))) {
		snprintf(err, errlen, "%s", rdb_error(db));
		rdb_close(db);
		return -1;
	}
	if (fmt == EXPORT_CSV)
		csv_header(s, out);
	while ((rc = rdb_step(db, s)) > 0 && !ferror(out)) {
		if (fmt == EXPORT_CSV)
			csv_row(s, out);
		else
			jsonl_row(s, out);
		rows++;
	}
	if (rdb_finish(db, s) < 0 || ferror(out)) {
		if (ferror(out))
			snprintf(err, errlen, "database '%s': cannot write the export", path);
		else
			snprintf(err, errlen, "%s", rdb_error(db));
		rows = -1;
	}
	rdb_close(db);
	return rows;
}
