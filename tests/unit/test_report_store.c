/* Reports and the store's files: export (JSON lines, CSV) of the
 * database test_report.c reads (report_case.h), merging the databases of
 * two sensors, and a database of schema version 1 migrated when a report
 * reads it. */
#include "report_case.h"

/* ---- export and merge ------------------------------------------------------------ */

static void test_export(const char *db)
{
	char *buf = NULL, err[512];
	size_t len = 0;
	sqlite3 *mem;
	sqlite3_stmt *s;
	FILE *f = open_memstream(&buf, &len);
	CHECK_INT(report_export(db, EXPORT_JSONL, NULL, f, err, sizeof err), 11);
	fclose(f);
	sqlite3_open(":memory:", &mem);
	sqlite3_prepare_v2(mem, "WITH RECURSIVE l(line, rest) AS (SELECT '', ?1 UNION ALL"
				" SELECT substr(rest, 1, instr(rest, char(10)) - 1),"
				" substr(rest, instr(rest, char(10)) + 1) FROM l WHERE rest <> '')"
				" SELECT count(*), sum(json_valid(line)),"
				" sum(json_extract(line, '$.ehlo_name') = '<script>alert(1)</script>')"
				" FROM l WHERE line <> '';", -1, &s, NULL);
	sqlite3_bind_text(s, 1, buf, -1, SQLITE_STATIC);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(s, 0), 11);
	CHECK_INT(sqlite3_column_int(s, 1), 11);
	CHECK_INT(sqlite3_column_int(s, 2), 1);
	sqlite3_finalize(s);
	sqlite3_close(mem);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	CHECK_INT(report_export(db, EXPORT_CSV, NULL, f, err, sizeof err), 11);
	fclose(f);
	CHECK(strncmp(buf, "id,run_id,client_ip,client_port,server_ip,server_port,", 54) == 0);
	free(buf);
}

static void test_merge(const char *dir)
{
	char a[256], b[256], out[256], err[512];
	struct merge_stats st;
	snprintf(a, sizeof a, "%s/a.db", dir);
	snprintf(b, sizeof b, "%s/b.db", dir);
	snprintf(out, sizeof out, "%s/out.db", dir);
	/* sensor A saw s1..s6; sensor B saw s4..s11, its clock 0.4 s ahead and
	 * two more packets per session */
	CHECK_INT(make_db(a, "sensor-a", 0, 6, 0, 0), 0);
	CHECK_INT(make_db(b, "sensor-b", 3, NSPECS, 0.4, 2), 0);
	const char *inputs[] = {a, b};
	unlink(out);
	CHECK_INT(store_merge(out, inputs, 2, 1.0, &st, err, sizeof err), 0);
	CHECK_INT(st.sessions_copied, 6 + 5);
	CHECK_INT(st.sessions_replaced, 3);
	CHECK_INT(st.sessions_duplicate, 0);
	CHECK_INT(st.runs_added, 2);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM sessions;"), 11);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM run_origins;"), 2);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM run_counters;"), 4); /* with their runs */
	CHECK_INT(db_scalar(out, "SELECT sessions_replaced FROM run_origins WHERE origin_db LIKE"
			     " '%/b.db' AND origin_run_id = 1;"), 3);
	/* merging again adds nothing */
	CHECK_INT(store_merge(out, inputs, 2, 1.0, &st, err, sizeof err), 0);
	CHECK_INT(st.sessions_copied + st.sessions_replaced, 0);
	CHECK_INT(st.sessions_duplicate, 14);
	CHECK_INT(st.runs_present, 2);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM sessions;"), 11);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM runs;"), 2);
	/* with a tolerance below the clock offset, B's three are other sessions */
	unlink(out);
	CHECK_INT(store_merge(out, inputs, 2, 0.1, &st, err, sizeof err), 0);
	CHECK_INT(db_scalar(out, "SELECT count(*) FROM sessions;"), 14);
	/* the output as an input, and a missing input, are refused */
	const char *self[] = {out};
	CHECK(store_merge(out, self, 1, 1.0, &st, err, sizeof err) < 0);
	CHECK(strstr(err, "is the output") != NULL);
	snprintf(a, sizeof a, "%s/missing.db", dir);
	CHECK(store_merge(out, inputs, 1, 1.0, &st, err, sizeof err) < 0);
}

/* A database of version 1 written before the TLS-depth columns (ja4,
 * tls_outcome and kx_pq dropped here from the rows of all.db, copied into
 * the schema of step 1): reading it migrates it in place, once. Every
 * section is there: the outcome is worked out from the columns the old
 * rows have, the post-quantum flag comes from the group's code, JA4 is not
 * known; the rest is as before. */
static void test_old_schema(const char *dir, const char *all)
{
	char path[256], sql[6144], cols[2048] = "", rcols[1024] = "", *err = NULL;
	char *step = schema_step(1);
	sqlite3 *h;
	sqlite3_stmt *q;
	struct report_options o;
	snprintf(path, sizeof path, "%s/old.db", dir);
	unlink(path);
	CHECK_INT(sqlite3_open(path, &h), SQLITE_OK);
	CHECK(step && sqlite3_exec(h, step, NULL, NULL, &err) == SQLITE_OK);
	/* the view's first columns are those of version 1's table, in order */
	if (sqlite3_prepare_v2(h, "SELECT group_concat(name, ',') FROM pragma_table_info('sessions');",
			       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		snprintf(cols, sizeof cols, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	/* and those of its runs (later steps add some) */
	if (sqlite3_prepare_v2(h, "SELECT group_concat(name, ',') FROM pragma_table_info('runs');",
			       -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
		snprintf(rcols, sizeof rcols, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	snprintf(sql, sizeof sql, "ATTACH '%s' AS n; INSERT INTO runs SELECT %s FROM n.runs;"
		 " INSERT INTO sessions SELECT %s FROM n.sessions; DETACH n;"
		 " ALTER TABLE sessions DROP COLUMN ja4; ALTER TABLE sessions DROP COLUMN tls_outcome;"
		 " ALTER TABLE sessions DROP COLUMN kx_pq; PRAGMA user_version = 1;", all, rcols, cols);
	if (!CHECK(cols[0] && rcols[0] && sqlite3_exec(h, sql, NULL, NULL, &err) == SQLITE_OK))
		fprintf(stderr, "     %s\n", err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(h);
	free(step);
	options(&o);
	if (build(path, &o) == 0) {
		CHECK_INT(num("crypto_quality", "post_quantum", "sessions"), 1);
		CHECK_INT(num("kx_groups", "X25519MLKEM768", "sessions"), 1);
		CHECK_STR(text("kx_groups", 0, "post_quantum"), "yes");
		CHECK_INT(num("tls_outcomes", "established", "sessions"), 4);
		CHECK_INT(num("tls_outcomes", "refused", "sessions"), 1);
		CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 0);
		CHECK_INT(rows("ja4"), 0);
		CHECK_INT(num("ja3", "j7", "sessions"), 2);
		CHECK_INT(num("encryption", "all", "encrypted"), 4);
		CHECK_STR(text("servers", 0, "worst_crypto"), "CBC");
	}
	CHECK_INT(db_scalar(path, "PRAGMA user_version;"), STORE_SCHEMA_VERSION);
	CHECK_INT(db_scalar(path, "SELECT count(*) FROM sessions WHERE ja4 IS NULL;"), 11);
}

int main(void)
{
	char dir[] = "/tmp/smtptls-test-report-XXXXXX", db[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s/all.db", dir);
	if (CHECK(make_db(db, "all", 0, NSPECS, 0, 0) == 0)) {
		test_export(db);
		test_merge(dir);
		test_old_schema(dir, db);
	}
	rmodel_free(&model);
	remove_dir(dir);
	return check_done("report_store");
}
