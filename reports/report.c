/* The report: build the model from the database (facts_*.c), then render
 * it in the format asked for (render_*.c). */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "render.h"
#include "rtime.h"

#define TOP_DEFAULT_SHORT 25 /* text and HTML: rows per ranked list */
#define TOP_DEFAULT_DATA 100 /* CSV and JSON */
/* Set (to anything but 0) in the environment: every section computed from
 * the sessions, as the rollups must equal (tests/report/rollups.sh). */
#define SCAN_ENV "SMTPTLS_REPORT_SCAN"

void report_filter_init(struct report_filter *f)
{
	memset(f, 0, sizeof *f);
	f->since = REPORT_TIME_MIN;
	f->until = REPORT_TIME_MAX;
}

struct rtable *facts_table(struct rdb *db, struct rmodel *m, const char *id,
			   const struct rcol *cols, size_t ncols)
{
	struct rtable *t = rmodel_add(m, id, cols, ncols);
	if (!t)
		rdb_oom(db);
	return t;
}

long facts_limit(const struct rmodel *m)
{
	return m->meta.top > 0 ? m->meta.top : -1;
}

const char *facts_rows_note(struct rdb *db)
{
	const struct rdb_coverage *c = rdb_coverage(db);
	if (!isfinite(c->rollups_first) ||
	    (isfinite(c->sessions_first) && c->rollups_first >= c->sessions_first))
		return "";
	return "; older session rows were deleted: the ids are those of the rows stored";
}

static int read_counts(void *arg, struct rq_stmt *s)
{
	int64_t *c = arg;
	for (int i = 0; i < rq_ncols(s) && i < FACTS_MAX_COUNTS; i++)
		c[i] = rq_int(s, i);
	return 0;
}

static int64_t count_at(const int64_t *c, int i)
{
	return i >= 0 && i < FACTS_MAX_COUNTS ? c[i] : 0;
}

const struct rcol facts_share_cols[FACTS_SHARE_NCOLS] = {
	{"item", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"of", "of", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"denominator", "denominator", RCOL_NOTEXT},
};

int facts_shares(struct rdb *db, struct rtable *t, const char *sql,
		 const struct facts_share *lines, size_t n)
{
	int64_t c[FACTS_MAX_COUNTS] = {0};
	if (rdb_each(db, sql, read_counts, c) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct facts_share *l = &lines[i];
		long row = rtable_row(t);
		int64_t part = count_at(c, l->part), whole = count_at(c, l->whole);
		if (row < 0 || rtable_text(t, row, "item", l->key) < 0 ||
		    rtable_text(t, row, "what", l->what) < 0 ||
		    rtable_text(t, row, "fault", l->fault) < 0 ||
		    rtable_text(t, row, "denominator", l->denominator) < 0)
			return rdb_oom(db);
		rtable_int(t, row, "sessions", part);
		rtable_int(t, row, "of", whole);
		rtable_pct(t, row, "sessions_pct", part, whole);
		if (l->servers >= 0)
			rtable_int(t, row, "servers", count_at(c, l->servers));
		if (l->certs >= 0)
			rtable_int(t, row, "certs", count_at(c, l->certs));
	}
	return 0;
}

long facts_find_row(const struct rtable *t, const char *key)
{
	for (size_t r = 0; key && r < t->nrows; r++) {
		const struct rcell *k = rtable_at(t, r, 0);
		if (k->kind == RCELL_TEXT && !strcmp(k->text, key))
			return (long)r;
	}
	return -1;
}

void facts_server(const char *ip, int port, char *buf, size_t n)
{
	snprintf(buf, n, strchr(ip ? ip : "", ':') ? "[%s]:%d" : "%s:%d", ip ? ip : "?", port);
}

#define IDS_SQL_MAX 1024

int facts_ids_open(struct rdb *db, struct facts_ids *ids, const char *cond)
{
	char sql[IDS_SQL_MAX];
	snprintf(sql, sizeof sql, "SELECT id FROM session_rows WHERE" RDB_SERVER_ROWS "AND"
		 RDB_FILTER "AND (%s) ORDER BY id LIMIT :max", cond);
	ids->db = db;
	ids->s = rdb_query(db, sql);
	return ids->s ? 0 : -1;
}

int facts_ids_list(struct facts_ids *ids, const char *ip, int64_t port, int max, char *out,
		   size_t n)
{
	size_t used = 0;
	int rc;
	out[0] = '\0';
	rq_reset(ids->s);
	rq_bind_text(ids->s, ":ip", ip);
	rq_bind_int(ids->s, ":port", port);
	rq_bind_int(ids->s, ":max", max);
	while ((rc = rdb_step(ids->db, ids->s)) > 0 && used < n)
		used += (size_t)snprintf(out + used, n - used, "%s%lld", used ? ", " : "",
					 (long long)rq_int(ids->s, 0));
	return rc < 0 ? -1 : 0;
}

void facts_ids_close(struct facts_ids *ids)
{
	rq_finish(ids->s);
	ids->s = NULL;
}

static int read_meta(void *arg, struct rq_stmt *s)
{
	struct rmeta *meta = arg;
	meta->sessions = rq_int(s, 0);
	meta->known = rq_int(s, 1);
	meta->encrypted = rq_int(s, 2);
	meta->unknown = meta->sessions - meta->known;
	/* no sessions: no first and last (ClickHouse's min() of nothing is 0) */
	meta->first = rq_null(s, 3) || meta->sessions == 0 ? NAN : rq_real(s, 3);
	meta->last = rq_null(s, 4) || meta->sessions == 0 ? NAN : rq_real(s, 4);
	meta->attempted = rq_int(s, 5);
	return 0;
}

int facts_meta(struct rdb *db, struct rmodel *m)
{
	if (rdb_each(db, "SELECT sum(n)," RDB_N(RDB_KNOWN) "," RDB_N(RDB_ENC) ", min(ts_min),"
			 " max(ts_max)," RDB_N(RDB_ATTEMPTED) " FROM {{src:codes}}",
		     read_meta, &m->meta) < 0)
		return -1;
	if (m->meta.by == REPORT_BY_AUTO)
		m->meta.by = rtime_auto(m->meta.first, m->meta.last);
	return 0;
}

/* ---- what the report covers ------------------------------------------------------ */

static const struct rcol coverage_cols[] = {
	{"sessions_first", "session rows stored from", 0},
	{"sessions_last", "session rows stored to", 0},
	{"rollups_first", "sessions counted from", 0},
	{"rollups_last", "sessions counted to", 0},
	{"sessions_deleted", "older session rows deleted", 0},
};

static int time_cell(struct rtable *t, const char *key, double v)
{
	char buf[32];
	if (!isfinite(v))
		return 0;
	rtime_format(v, buf, sizeof buf);
	return rtable_text(t, 0, key, buf);
}

int facts_coverage(struct rdb *db, struct rmodel *m)
{
	const struct rdb_coverage *c = rdb_coverage(db);
	struct rtable *t = facts_table(db, m, "coverage", coverage_cols, NCOLS(coverage_cols));
	int deleted = isfinite(c->rollups_first) &&
		      (!isfinite(c->sessions_first) || c->rollups_first < c->sessions_first);
	if (!t)
		return -1;
	t->vertical = 1;
	if (rtable_title(t, "Period covered (UTC)") < 0 ||
	    rtable_note(t, "the whole database, whatever the filters; %s",
			deleted ? "older session rows were deleted (capture --retain): the"
				  " counts still hold them, the lists of session ids and the"
				  " fallback evidence only the rows stored"
				: "every session counted is stored") < 0 ||
	    rtable_row(t) < 0 || time_cell(t, "sessions_first", c->sessions_first) < 0 ||
	    time_cell(t, "sessions_last", c->sessions_last) < 0 ||
	    time_cell(t, "rollups_first", c->rollups_first) < 0 ||
	    time_cell(t, "rollups_last", c->rollups_last) < 0 ||
	    rtable_text(t, 0, "sessions_deleted", deleted ? "yes" : "no") < 0)
		return rdb_oom(db);
	return 0;
}

static long default_top(const struct report_options *o)
{
	if (o->top >= 0)
		return o->top;
	return o->format == REPORT_TEXT || o->format == REPORT_HTML ? TOP_DEFAULT_SHORT
								     : TOP_DEFAULT_DATA;
}

int report_build(const char *path, const struct report_options *o, struct rmodel *m,
		 char *err, size_t errlen)
{
	static int (*const builders[])(struct rdb *, struct rmodel *) = {
		facts_meta, facts_coverage, facts_share, facts_series, facts_tls, facts_handshakes,
		facts_blame, facts_offers, facts_certs, facts_smtp, facts_servers,
		facts_downgrade, facts_domains, facts_clients, facts_fingerprints, facts_runs,
	};
	struct rdb *db;
	memset(m, 0, sizeof *m);
	m->meta.path = path;
	m->meta.filter = o->filter;
	m->meta.by = o->by;
	m->meta.top = default_top(o);
	const char *scan = getenv(SCAN_ENV);
	if (rdb_open(&db, path, &o->filter, err, errlen) < 0)
		return -1;
	if (rdb_begin(db, scan && strcmp(scan, "0") != 0 ? RDB_SCAN : RDB_ROLLUPS) < 0) {
		snprintf(err, errlen, "%s", rdb_error(db));
		rdb_close(db);
		return -1;
	}
	for (size_t i = 0; i < sizeof builders / sizeof builders[0]; i++)
		if (builders[i](db, m) < 0) {
			snprintf(err, errlen, "%s", rdb_error(db));
			rdb_close(db);
			rmodel_free(m);
			return -1;
		}
	rdb_close(db);
	return 0;
}

int report_run(const char *path, const struct report_options *o, FILE *out, char *err,
	       size_t errlen)
{
	static int (*const renderers[])(const struct rmodel *, FILE *) = {
		[REPORT_TEXT] = render_text, [REPORT_CSV] = render_csv,
		[REPORT_JSON] = render_json, [REPORT_HTML] = render_html,
	};
	struct rmodel m;
	int rc;
	if ((unsigned)o->format >= sizeof renderers / sizeof renderers[0]) {
		snprintf(err, errlen, "unknown report format");
		return -1;
	}
	if (report_build(path, o, &m, err, errlen) < 0)
		return -1;
	rc = renderers[o->format](&m, out);
	rmodel_free(&m);
	if (rc < 0 || ferror(out)) {
		snprintf(err, errlen, "database '%s': cannot write the report", path);
		return -1;
	}
	return 0;
}
