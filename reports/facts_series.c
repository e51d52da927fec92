/* The time series: sessions and encrypted share per hour, day or week
 * (UTC). Empty buckets between the first and the last are filled in when
 * there are at most SERIES_FILL_MAX of them. */
#include <math.h>

#include "rtime.h"
#include "facts.h"

#define SERIES_FILL_MAX 5000

static const struct rcol series_cols[] = {
	{"bucket", "", 0},
	{"start", "start", RCOL_NOTEXT},
	{"sessions", "sessions", RCOL_NUM},
	{"encrypted", "encrypted", RCOL_NUM},
	{"encrypted_pct", "%", RCOL_PCT | RCOL_BAR},
	{"bytes", "bytes", RCOL_NUM | RCOL_BYTES | RCOL_NOTEXT},
	{"encrypted_bytes", "enc. bytes", RCOL_NUM | RCOL_BYTES | RCOL_NOTEXT},
	{"encrypted_bytes_pct", "%", RCOL_PCT | RCOL_NOTEXT},
	{"unknown", "unknown", RCOL_NUM},
};

static const char series_sql[] =
	"SELECT CAST((ts_start - :origin) / :width AS INTEGER) AS k,"
	" sum(" RDB_KNOWN "), sum(" RDB_ENC "), sum(NOT " RDB_KNOWN "),"
	" sum(CASE WHEN " RDB_KNOWN " THEN " RDB_BYTES " ELSE 0 END),"
	" sum(CASE WHEN " RDB_ENC " THEN " RDB_BYTES " ELSE 0 END)"
	" FROM session_rows WHERE" RDB_FILTER "GROUP BY k ORDER BY k;";

struct series {
	struct rtable *t;
	enum report_by by;
	struct rtime_bucket b;
	int fill;
	int64_t next; /* the bucket index expected next, when filling */
};

struct bucket {
	int64_t k, known, enc, unknown, bytes, enc_bytes;
};

static int bucket_row(struct series *se, const struct bucket *b)
{
	char label[32], iso[32];
	double start = se->b.origin + (double)b->k * se->b.width;
	long row = rtable_row(se->t);
	rtime_label(se->by, start, label, sizeof label);
	rtime_iso(start, iso, sizeof iso);
	if (row < 0 || rtable_text(se->t, row, "bucket", label) < 0 ||
	    rtable_text(se->t, row, "start", iso) < 0)
		return -1;
	rtable_int(se->t, row, "sessions", b->known);
	rtable_int(se->t, row, "encrypted", b->enc);
	rtable_pct(se->t, row, "encrypted_pct", b->enc, b->known);
	rtable_int(se->t, row, "bytes", b->bytes);
	rtable_int(se->t, row, "encrypted_bytes", b->enc_bytes);
	rtable_pct(se->t, row, "encrypted_bytes_pct", b->enc_bytes, b->bytes);
	rtable_int(se->t, row, "unknown", b->unknown);
	return 0;
}

static int add_bucket(void *arg, sqlite3_stmt *s)
{
	struct series *se = arg;
	struct bucket b = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
			   sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
			   sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5)};
	if (se->next == INT64_MIN)
		se->next = b.k;
	for (; se->fill && se->next < b.k; se->next++) {
		struct bucket empty = {se->next, 0, 0, 0, 0, 0};
		if (bucket_row(se, &empty) < 0)
			return -1;
	}
	se->next = b.k + 1;
	return bucket_row(se, &b);
}

int facts_series(struct rdb *db, struct rmodel *m)
{
	struct series se = {facts_table(db, m, "series", series_cols, NCOLS(series_cols)),
			    m->meta.by, rtime_bucket(m->meta.by), 0, INT64_MIN};
	sqlite3_stmt *s;
	int rc;
	if (!se.t)
		return -1;
	se.fill = isfinite(m->meta.first) &&
		  (m->meta.last - m->meta.first) / se.b.width <= SERIES_FILL_MAX;
	if (rtable_title(se.t, "Encrypted share per %s (UTC)", rtime_by_name(se.by)) < 0 ||
	    rtable_note(se.t, "sessions: known ones (encrypted or not), by start time; unknown ones"
			      " apart") < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, series_sql)))
		return -1;
	rdb_bind_real(s, ":origin", se.b.origin);
	rdb_bind_real(s, ":width", se.b.width);
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_bucket(&se, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	return rdb_finish(db, s, rc);
}
