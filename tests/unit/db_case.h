/* What the tests that write databases share: one value read from a
 * database, and removing their temporary directory. */
#ifndef SMTPTLS_TEST_DB_CASE_H
#define SMTPTLS_TEST_DB_CASE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

/* The first column of the first row of sql on db (read-only), or -1. */
static inline long long db_scalar(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	long long n = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	return n;
}

/* Removes dir, unless a check failed or SMTPTLS_TEST_KEEP is set: what
 * was written is then kept to look at. */
static inline void remove_dir(const char *dir)
{
	if (!check_failed && !getenv("SMTPTLS_TEST_KEEP")) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

#endif
