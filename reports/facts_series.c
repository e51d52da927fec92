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

/* Buckets of a day or a week are whole days (weeks from a Monday at
 * 00:00 UTC), buckets of an hour whole hours: each from rollup rows no
 * wider (SRC). */
#define SERIES_SQL(SRC)                                                                  \
	"SELECT {{idiv(bucket - :origin, :width)}} AS k," RDB_N(RDB_KNOWN) "," RDB_N(RDB_ENC) \
	"," RDB_N("NOT" RDB_KNOWN) "," RDB_SUM("bytes", RDB_KNOWN) "," RDB_SUM("bytes", RDB_ENC) \
	" FROM " SRC " GROUP BY k ORDER BY k"

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

static int add_bucket(void *arg, struct rq_stmt *s)
{
	struct series *se = arg;
	struct bucket b = {rq_int(s, 0), rq_int(s, 1), rq_int(s, 2), rq_int(s, 3), rq_int(s, 4),
			   rq_int(s, 5)};
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
	struct rq_stmt *s;
	int rc;
	if (!se.t)
		return -1;
	se.fill = isfinite(m->meta.first) &&
		  (m->meta.last - m->meta.first) / se.b.width <= SERIES_FILL_MAX;
	if (rtable_title(se.t, "Encrypted share per %s (UTC)", rtime_by_name(se.by)) < 0 ||
	    rtable_note(se.t, "sessions: known ones (encrypted or not), by start time; unknown ones"
			      " apart") < 0)
		return rdb_oom(db);
	if (!(s = rdb_query(db, se.by == REPORT_BY_HOUR ? SERIES_SQL("{{src:codes/hour}}")
						       : SERIES_SQL("{{src:codes/day}}"))))
		return -1;
	rq_bind_int(s, ":origin", (int64_t)se.b.origin);
	rq_bind_int(s, ":width", (int64_t)se.b.width);
	while ((rc = rdb_step(db, s)) > 0)
		if (add_bucket(&se, s) < 0) {
			rq_finish(s);
			return rdb_oom(db);
		}
	return rdb_finish(db, s);
}
