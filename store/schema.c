/* Migrations from store/schema.sql and the lookup tables from the
 * registry. */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/registry.h"
#include "rollup.h"

static const char schema_sql[] =
#include "schema_sql.inc"
	;

#define STEP_MARK "-- migration "
#define SCHEMA_BUSY_TRIES 250 /* 20 ms apart, after SQLite's own busy timeout */

static int fail(sqlite3 *db, const char *path, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "database '%s': %s: %s", path, what, sqlite3_errmsg(db));
	return -1;
}

/* ---- the steps ----------------------------------------------------------- */

/* The start of the line "-- migration n:", or NULL. */
static const char *step_start(int n)
{
	char mark[32];
	size_t len = (size_t)snprintf(mark, sizeof mark, "\n" STEP_MARK "%d:", n);
	const char *p = strstr(schema_sql, mark);
	return p && len < sizeof mark ? p + 1 : NULL;
}

char *schema_step(int n)
{
	const char *start = step_start(n), *end;
	char *sql;
	if (!start)
		return NULL;
	end = strstr(start + 1, "\n" STEP_MARK);
	size_t len = end ? (size_t)(end - start) + 1 : strlen(start);
	if (!(sql = malloc(len + 1)))
		return NULL;
	memcpy(sql, start, len);
	sql[len] = '\0';
	return sql;
}

/* ---- what the database is ------------------------------------------------ */

/* The version and whether the database holds tables, from one snapshot:
 * a database another process is creating is seen before or after. */
static int read_version(sqlite3 *db, int *version, int *tables)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version),"
				   " (SELECT count(*) FROM sqlite_master);", -1, &s, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(s);
	*version = sqlite3_column_int(s, 0);
	*tables = sqlite3_column_int(s, 1);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int schema_version(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int version, tables;
	if (read_version(db, &version, &tables) < 0)
		return fail(db, path, "reading the schema", err, errlen);
	if (version == 0 && tables > 0) {
		snprintf(err, errlen, "database '%s' is not an smtptls database (it has other tables)",
			 path);
		return -1;
	}
	if (version < 0 || version > SCHEMA_VERSION) {
		snprintf(err, errlen, "database '%s' has schema version %d, newer than this smtptls"
			 " (version %d): use the smtptls that wrote it, or a newer one", path,
			 version, SCHEMA_VERSION);
		return -1;
	}
	return version;
}

/* ---- version 1 as it grew ------------------------------------------------ */

/* Version 1 had columns appended without a new version: a database
 * written before them lacks them. The columns step 1 makes today are read
 * from a scratch database; those missing get added (NULL in old rows). */
static int add_missing(sqlite3 *db, sqlite3 *ref, const char *table)
{
	static const char cols[] = "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid;";
	static const char have[] = "SELECT group_concat(',' || name || ',', '')"
				   " FROM pragma_table_info(?1);";
	sqlite3_stmt *r = NULL, *h = NULL;
	int rc = sqlite3_prepare_v2(ref, cols, -1, &r, NULL) == SQLITE_OK &&
			 sqlite3_prepare_v2(db, have, -1, &h, NULL) == SQLITE_OK
		 ? 0 : -1;
	sqlite3_bind_text(r, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(h, 1, table, -1, SQLITE_STATIC);
	if (rc == 0 && sqlite3_step(h) != SQLITE_ROW)
		rc = -1;
	const char *present = rc == 0 ? (const char *)sqlite3_column_text(h, 0) : NULL;
	while (rc == 0 && present && sqlite3_step(r) == SQLITE_ROW) {
		char sql[256], name[80];
		snprintf(name, sizeof name, ",%s,", (const char *)sqlite3_column_text(r, 0));
		if (strstr(present, name))
			continue;
		snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s;", table,
			 (const char *)sqlite3_column_text(r, 0), (const char *)sqlite3_column_text(r, 1));
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	}
	sqlite3_finalize(r);
	sqlite3_finalize(h);
	return rc;
}

static int complete_v1(sqlite3 *db)
{
	sqlite3 *ref = NULL;
	char *step = schema_step(1);
	int rc = step && sqlite3_open(":memory:", &ref) == SQLITE_OK &&
			 sqlite3_exec(ref, step, NULL, NULL, NULL) == SQLITE_OK
		 ? 0 : -1;
	if (rc == 0)
		rc = add_missing(db, ref, "runs");
	if (rc == 0)
		rc = add_missing(db, ref, "sessions");
	sqlite3_close(ref);
	free(step);
	return rc;
}

/* ---- migrating ------------------------------------------------------------ */

/* Step n on a database that was at version from before this migration. */
static int run_step(sqlite3 *db, int n, int from)
{
	char *sql = schema_step(n), version[48];
	int rc = sql ? 0 : -1;
	snprintf(version, sizeof version, "PRAGMA user_version = %d;", n);
	if (rc == 0 && n == 2 && from == 1)
		rc = complete_v1(db);
	if (rc == 0)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == 0 && n == ROLLUP_MIGRATION)
		rc = rollup_install(db);
	if (rc == 0)
		rc = sqlite3_exec(db, version, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	free(sql);
	return rc;
}

/* BEGIN IMMEDIATE, retried while SQLite answers busy without waiting. */
static int begin_immediate(sqlite3 *db)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	for (int i = 0;; i++) {
		int rc = sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || i == SCHEMA_BUSY_TRIES)
			return -1;
		nanosleep(&pause, NULL);
	}
}

/* One step, in a write transaction that reads the version again: several
 * processes may create or migrate the same database at once, and each
 * step is done by whichever comes first. 1 when the database is current,
 * 0 after a step, -1 on error. */
static int migrate_step(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char what[64];
	if (begin_immediate(db) < 0)
		return fail(db, path, "migrating the schema", err, errlen);
	int version = schema_version(db, path, err, errlen);
	if (version < 0 || version == SCHEMA_VERSION) {
		sqlite3_exec(db, version < 0 ? "ROLLBACK;" : "COMMIT;", NULL, NULL, NULL);
		return version < 0 ? -1 : 1;
	}
	snprintf(what, sizeof what, "migrating to schema version %d", version + 1);
	if (run_step(db, version + 1, version) < 0 ||
	    sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		fail(db, path, what, err, errlen);
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int rc;
	while ((rc = migrate_step(db, path, err, errlen)) == 0)
		;
	return rc < 0 ? -1 : 0;
}

/* ---- the registry's tables --------------------------------------------------- */

static int put_row(sqlite3_stmt *s, const int *ints, size_t nints, const char *name)
{
	sqlite3_bind_int(s, 1, ints[0]);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	for (size_t i = 1; i < nints; i++)
		sqlite3_bind_int(s, (int)i + 2, ints[i]);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	return sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK ? s : NULL;
}

static int put_names(sqlite3 *db, const char *table, const struct reg_name *t, size_t n)
{
	char sql[128];
	snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s VALUES (?1, ?2);", table);
	sqlite3_stmt *s = prepare(db, sql);
	int rc = s ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_row(s, &t[i].code, 1, t[i].name);
	sqlite3_finalize(s);
	return rc;
}

static int put_versions(sqlite3 *db)
{
	size_t n;
	const struct tls_version_info *v = tls_versions_all(&n);
	sqlite3_stmt *s = prepare(db, "INSERT OR REPLACE INTO tls_versions VALUES (?1, ?2, ?3, ?4);");
	int rc = s ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		for (int code = v[i].first; rc == 0 && code <= v[i].last; code++) {
			const int ints[] = {code, v[i].rank, v[i].legacy};
			rc = put_row(s, ints, 3, v[i].name);
		}
	sqlite3_finalize(s);
	return rc;
}

static int put_ciphers(sqlite3 *db)
{
	size_t n;
	const struct cipher_info *c = cipher_table_all(&n);
	sqlite3_stmt *s = prepare(db, "INSERT OR REPLACE INTO cipher_suites"
				      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8);");
	int rc = s ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned f = c[i].flags;
		const int ints[] = {c[i].code, !!(f & CIPHER_FS), !!(f & CIPHER_AEAD),
				    !!(f & CIPHER_CBC), !!(f & CIPHER_WEAK), !!(f & CIPHER_TLS13),
				    !!(f & CIPHER_SCSV)};
		rc = put_row(s, ints, 7, c[i].name);
	}
	sqlite3_finalize(s);
	return rc;
}

static int put_groups(sqlite3 *db)
{
	size_t n;
	const struct tls_group_info *g = tls_groups_all(&n);
	sqlite3_stmt *s = prepare(db, "INSERT OR REPLACE INTO kx_groups VALUES (?1, ?2, ?3);");
	int rc = s ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const int ints[] = {g[i].code, g[i].pq};
		rc = put_row(s, ints, 2, g[i].name);
	}
	sqlite3_finalize(s);
	return rc;
}

static int put_registry(sqlite3 *db)
{
	static const struct {
		const char *table;
		const struct reg_name *(*all)(size_t *n);
	} small[] = {
		{"tls_alerts", tls_alerts_all},       {"transports", transports_all},
		{"tls_outcomes", tls_outcomes_all},   {"end_reasons", end_reasons_all},
		{"directions", directions_all},       {"anomaly_names", anomalies_all},
		{"dane_states", dane_states_all},
	};
	int rc = put_versions(db);
	if (rc == 0)
		rc = put_ciphers(db);
	if (rc == 0)
		rc = put_groups(db);
	for (size_t i = 0; rc == 0 && i < sizeof small / sizeof small[0]; i++) {
		size_t n;
		const struct reg_name *t = small[i].all(&n);
		rc = put_names(db, small[i].table, t, n);
	}
	return rc;
}

static int write_registry(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	if (begin_immediate(db) < 0)
		return fail(db, path, "writing the lookup tables", err, errlen);
	if (put_registry(db) < 0 || sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL) != SQLITE_OK) {
		fail(db, path, "writing the lookup tables", err, errlen);
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int schema_upgrade(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int version = schema_version(db, path, err, errlen);
	if (version < 0)
		return -1;
	if (version < SCHEMA_VERSION && migrate(db, path, err, errlen) < 0)
		return -1;
	return write_registry(db, path, err, errlen);
}
