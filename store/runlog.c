/* The runs table's own questions (runlog.h). */
#include "runlog.h"

#include <stdio.h>

#include "owner.h"

#define MARK_MAX 64 /* unfinished runs marked at one call (the rest at the next) */

struct dead_run {
	int64_t id;
	char text[400];
};

static int failed(const char **what, const char *doing)
{
	*what = doing;
	return -1;
}

/* The runs still 'running' whose process is gone: up to MARK_MAX into
 * dead (read only: most openings find none). */
static int find_dead(sqlite3 *db, struct dead_run *dead, const char **what)
{
	sqlite3_stmt *s;
	int n = 0, rc;
	if (sqlite3_prepare_v2(db, "SELECT id, source, datetime(started, 'unixepoch'), owner"
				   " FROM runs WHERE status = 'running';", -1, &s, NULL) != SQLITE_OK)
		return failed(what, "reading the runs");
	while (n < MARK_MAX && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (owner_alive((const char *)sqlite3_column_text(s, 3)) != 0)
			continue; /* running, or on another host: cannot tell */
		dead[n].id = sqlite3_column_int64(s, 0);
		snprintf(dead[n].text, sizeof dead[n].text, "run %lld (%s, started %s UTC) did not"
			 " end cleanly (killed or crashed): marked unfinished",
			 (long long)dead[n].id, sqlite3_column_text(s, 1), sqlite3_column_text(s, 2));
		n++;
	}
	sqlite3_finalize(s);
	return n;
}

/* Marks the runs in dead that are still 'running' (another capture may
 * have marked them meanwhile): done[i] for each marked. Inside the
 * caller's transaction. */
static int mark_dead(sqlite3 *db, const struct dead_run *dead, int n, int *done)
{
	sqlite3_stmt *u;
	int rc = SQLITE_DONE;
	if (sqlite3_prepare_v2(db, "UPDATE runs SET status = 'unfinished' WHERE id = ? AND"
				   " status = 'running';", -1, &u, NULL) != SQLITE_OK)
		return -1;
	for (int i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(u, 1, dead[i].id);
		rc = sqlite3_step(u);
		sqlite3_reset(u);
		done[i] = rc == SQLITE_DONE && sqlite3_changes(db) == 1;
	}
	sqlite3_finalize(u);
	return rc == SQLITE_DONE ? 0 : -1;
}

int runlog_mark_unfinished(sqlite3 *db, void (*line)(void *ctx, const char *text), void *ctx,
			   const char **what)
{
	struct dead_run dead[MARK_MAX];
	int n = find_dead(db, dead, what), marked = 0, done[MARK_MAX] = {0};
	if (n <= 0)
		return n;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL) != SQLITE_OK)
		return failed(what, "marking unfinished runs");
	if (mark_dead(db, dead, n, done) < 0 ||
	    sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK)
		return failed(what, "marking unfinished runs"); /* the caller rolls back */
	for (int i = 0; i < n; i++)
		if (done[i] && ++marked && line)
			line(ctx, dead[i].text);
	return marked;
}

int runlog_find_file(sqlite3 *db, const struct run_file *f, const char *sensor, char *text,
		     size_t textlen, const char **what)
{
	sqlite3_stmt *s;
	int found = STORE_RUN_BEGUN;
	if (sqlite3_prepare_v2(db, "SELECT id, source, datetime(started, 'unixepoch'),"
				   " coalesce(status, ''), file_sha256 IS NULL FROM runs WHERE"
				   " file_size = ?2 AND (?1 IS NULL OR file_sha256 IS NULL OR"
				   " file_sha256 = ?1) AND (sensor IS NULL OR ?3 IS NULL OR"
				   " sensor = ?3) ORDER BY file_sha256 IS NULL, id LIMIT 1;",
			       -1, &s, NULL) != SQLITE_OK)
		return failed(what, "reading the runs");
	if (f->sha256)
		sqlite3_bind_text(s, 1, f->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)f->size);
	if (sensor && *sensor)
		sqlite3_bind_text(s, 3, sensor, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		found = !f->sha256		       ? STORE_RUN_HASH_FIRST
			: sqlite3_column_int(s, 4) ? STORE_RUN_SAME_SIZE
						   : STORE_RUN_SAME_FILE;
		snprintf(text, textlen, "run %lld (of '%s', started %s UTC%s%s)",
			 (long long)sqlite3_column_int64(s, 0), sqlite3_column_text(s, 1),
			 sqlite3_column_text(s, 2), *sqlite3_column_text(s, 3) ? ", " : "",
			 sqlite3_column_text(s, 3));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : failed(what, "reading the runs");
}

int runlog_set_file_sha256(sqlite3 *db, int64_t id, const char *sha256, const char **what)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "UPDATE runs SET file_sha256 = ?1 WHERE id = ?2 AND"
				   " file_size IS NOT NULL;", -1, &s, NULL) != SQLITE_OK)
		return failed(what, "recording the file's SHA-256");
	sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : failed(what, "recording the file's SHA-256");
}
