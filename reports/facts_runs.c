/* The capture runs behind the database: how much was seen and lost. Not
 * filtered (runs are not tied to a time range or a server). */
#include "facts.h"

static const struct rcol run_cols[] = {
	{"runs", "capture runs", RCOL_NUM},
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
	"SELECT count(*), NULL, sum(packets), sum(bytes), sum(dropped_kernel), sum(dropped_iface),"
	" sum(flows), sum(flows_without_payload), sum(flows_evicted), sum(decode_errors),"
	" sum(reassembly_overflows) FROM runs;";

static int add_runs(void *arg, sqlite3_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	if (row < 0)
		return -1;
	for (size_t i = 0; i < t->ncols; i++)
		if (sqlite3_column_type(s, (int)i) != SQLITE_NULL)
			rtable_int(t, row, t->cols[i].key, sqlite3_column_int64(s, (int)i));
	return 0;
}

int facts_runs(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "capture", run_cols, NCOLS(run_cols));
	int64_t origins = 0, sensors = 0;
	if (!t)
		return -1;
	t->vertical = 1;
	if (rtable_title(t, "Capture") < 0 ||
	    rtable_note(t, "all runs in the database, whatever the filters; '-' is unknown") < 0)
		return rdb_oom(db);
	if (rdb_each(db, runs_sql, add_runs, t) < 0 ||
	    rdb_scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			   " AND name = 'run_origins';", &origins) < 0)
		return -1;
	if (origins && rdb_scalar(db, "SELECT count(DISTINCT origin_db) FROM run_origins;",
				  &sensors) < 0)
		return -1;
	if (origins)
		rtable_int(t, 0, "sensors", sensors);
	return 0;
}
