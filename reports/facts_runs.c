/* The capture runs behind the database: how much was seen and lost, and
 * the runs' named counters (run_counters) when there are any. Not filtered
 * (runs are not tied to a time range or a server). */
#include "facts.h"
#include "rtime.h"

static const struct rcol run_cols[] = {
	{"runs", "capture runs", RCOL_NUM},
	{"unfinished", "unfinished runs (killed, crashed)", RCOL_NUM},
	{"interrupted", "interrupted runs (stopped mid-file)", RCOL_NUM},
	{"running", "runs still capturing", RCOL_NUM},
	{"sensors", "merged from databases", RCOL_NUM | RCOL_DETAIL},
	{"packets", "packets", RCOL_NUM},
	{"bytes", "bytes", RCOL_NUM | RCOL_BYTES},
	{"dropped_kernel", "dropped by the kernel", RCOL_NUM},
	{"dropped_iface", "dropped by the interface", RCOL_NUM},
	{"flows", "TCP connections", RCOL_NUM},
	{"flows_without_payload", "connections without payload", RCOL_NUM},
	{"flows_evicted", "connections evicted (table full)", RCOL_NUM},
	{"decode_errors", "decode errors", RCOL_NUM},
	{"reassembly_overflows", "reassembly overflows", RCOL_NUM},
};

static const char runs_sql[] =
	"SELECT count(*), sum(status = 'unfinished'), sum(status = 'interrupted'),"
	" sum(status = 'running'), NULL, sum(packets), sum(bytes), sum(dropped_kernel), sum(dropped_iface),"
	" sum(flows), sum(flows_without_payload), sum(flows_evicted), sum(decode_errors),"
	" sum(reassembly_overflows) FROM runs";

static int add_runs(void *arg, struct rq_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	if (row < 0)
		return -1;
	for (size_t i = 0; i < t->ncols; i++)
		if (!rq_null(s, (int)i))
			rtable_int(t, row, t->cols[i].key, rq_int(s, (int)i));
	return 0;
}

static const struct rcol counter_cols[] = {
	{"counter", "counter", 0},
	{"value", "total", RCOL_NUM},
	{"runs", "runs", RCOL_NUM},
};

static int add_counter(void *arg, struct rq_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	if (row < 0 || rtable_text(t, row, "counter", rq_text(s, 0)) < 0)
		return -1;
	rtable_int(t, row, "value", rq_int(s, 1));
	rtable_int(t, row, "runs", rq_int(s, 2));
	return 0;
}

static int build_counters(struct rdb *db, struct rmodel *m)
{
	int64_t any = 0;
	struct rtable *t;
	if (rdb_scalar(db, "SELECT count(*) FROM run_counters", &any) < 0 || any == 0)
		return any == 0 ? 0 : -1;
	if (!(t = facts_table(db, m, "capture_counters", counter_cols, NCOLS(counter_cols))))
		return -1;
	if (rtable_title(t, "Capture counters") < 0 ||
	    rtable_note(t, "named counters of the runs, summed over all runs; runs: those that"
			   " counted it") < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT name, sum(value), count(*) FROM run_counters GROUP BY name"
			    " ORDER BY name", add_counter, t);
}

/* The runs that did not end cleanly, one row each, when there are any. */
static const struct rcol unfinished_cols[] = {
	{"run", "run", RCOL_NUM},
	{"source", "source", 0},
	{"started", "started (UTC)", 0},
	{"packets", "packets", RCOL_NUM},
	{"sessions", "sessions", RCOL_NUM},
};

static int add_unfinished(void *arg, struct rq_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	char started[32];
	rtime_format(rq_real(s, 2), started, sizeof started);
	if (row < 0 || rtable_text(t, row, "source", rq_text(s, 1)) < 0 ||
	    rtable_text(t, row, "started", started) < 0)
		return -1;
	rtable_int(t, row, "run", rq_int(s, 0));
	if (!rq_null(s, 3))
		rtable_int(t, row, "packets", rq_int(s, 3));
	rtable_int(t, row, "sessions", rq_int(s, 4));
	return 0;
}

static int build_unfinished(struct rdb *db, struct rmodel *m)
{
	int64_t any = 0;
	struct rtable *t;
	if (rdb_scalar(db, "SELECT count(*) FROM runs WHERE status = 'unfinished';", &any) < 0 ||
	    any == 0)
		return any == 0 ? 0 : -1;
	if (!(t = facts_table(db, m, "unfinished_runs", unfinished_cols, NCOLS(unfinished_cols))))
		return -1;
	if (rtable_title(t, "Unfinished capture runs") < 0 ||
	    rtable_note(t, "killed or crashed: their last counters (refreshed every 10 s) and"
			   " the sessions they wrote; what they had not written is missing") < 0)
		return rdb_oom(db);
	/* the sessions of those runs only: an index on run_id would cost the
	 * writer, and unfinished runs are rare */
	return rdb_each(db, "SELECT id, source, started, packets, coalesce(n, 0) AS sessions FROM"
			    " (SELECT id, source, started, packets FROM runs WHERE status = 'unfinished')"
			    " {{ljoin}} (SELECT run_id AS id, count(*) AS n FROM session_rows WHERE"
			    " run_id IN (SELECT id FROM runs WHERE status = 'unfinished')"
			    " GROUP BY run_id) USING (id) ORDER BY id;", add_unfinished, t);
}

int facts_runs(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "capture", run_cols, NCOLS(run_cols));
	int64_t sensors = 0;
	if (!t)
		return -1;
	t->vertical = 1;
	if (rtable_title(t, "Capture") < 0 ||
	    rtable_note(t, "all runs in the database, whatever the filters; '-' is unknown") < 0)
		return rdb_oom(db);
	if (rdb_each(db, runs_sql, add_runs, t) < 0 ||
	    rdb_scalar(db, "SELECT count(DISTINCT origin_db) FROM run_origins", &sensors) < 0)
		return -1;
	if (sensors > 0) /* merged from other databases */
		rtable_int(t, 0, "sensors", sensors);
	if (build_unfinished(db, m) < 0)
		return -1;
	return build_counters(db, m);
}
