#include "export.h"

#include <stdio.h>

#include "rdb.h"
#include "rescape.h"

static const char export_sql[] =
	"SELECT * FROM sessions WHERE" RDB_FILTER "ORDER BY ts_start, id;";

static void real(FILE *out, double v)
{
	fprintf(out, "%.6f", v);
}

static void jsonl_row(sqlite3_stmt *s, FILE *out)
{
	int n = sqlite3_column_count(s);
	fputc('{', out);
	for (int i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		esc_json(out, sqlite3_column_name(s, i));
		fputc(':', out);
		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER: fprintf(out, "%lld", sqlite3_column_int64(s, i)); break;
		case SQLITE_FLOAT: real(out, sqlite3_column_double(s, i)); break;
		case SQLITE_NULL: fputs("null", out); break;
		default: esc_json(out, (const char *)sqlite3_column_text(s, i)); break;
		}
	}
	fputs("}\n", out);
}

static void csv_header(sqlite3_stmt *s, FILE *out)
{
	for (int i = 0; i < sqlite3_column_count(s); i++) {
		if (i)
			fputc(',', out);
		esc_csv(out, sqlite3_column_name(s, i));
	}
	fputc('\n', out);
}

static void csv_row(sqlite3_stmt *s, FILE *out)
{
	for (int i = 0; i < sqlite3_column_count(s); i++) {
		if (i)
			fputc(',', out);
		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER: fprintf(out, "%lld", sqlite3_column_int64(s, i)); break;
		case SQLITE_FLOAT: real(out, sqlite3_column_double(s, i)); break;
		case SQLITE_NULL: break;
		default: esc_csv(out, (const char *)sqlite3_column_text(s, i)); break;
		}
	}
	fputc('\n', out);
}

long long report_export(const char *path, enum export_format fmt,
			const struct report_filter *f, FILE *out, char *err, size_t errlen)
{
	struct rdb *db;
	sqlite3_stmt *s;
	long long rows = 0;
	int rc;
	if (rdb_open(&db, path, f, err, errlen) < 0)
		return -1;
	if (!(s = rdb_prepare(db, export_sql))) {
		snprintf(err, errlen, "%s", rdb_error(db));
		rdb_close(db);
		return -1;
	}
	if (fmt == EXPORT_CSV)
		csv_header(s, out);
	while ((rc = rdb_step(db, s)) == SQLITE_ROW && !ferror(out)) {
		if (fmt == EXPORT_CSV)
			csv_row(s, out);
		else
			jsonl_row(s, out);
		rows++;
	}
	if (rdb_finish(db, s, rc) < 0 || ferror(out)) {
		if (ferror(out))
			snprintf(err, errlen, "database '%s': cannot write the export", path);
		else
			snprintf(err, errlen, "%s", rdb_error(db));
		rows = -1;
	}
	rdb_close(db);
	return rows;
}
