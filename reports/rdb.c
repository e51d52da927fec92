#include "rdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"

struct rdb {
	sqlite3 *db;
	struct report_filter filter;
	char ports[REPORT_MAX_PORTS * 7 + 2]; /* ",25,587," or "" */
	char path[512];
	char err[768];
};

int rdb_fail(struct rdb *db, const char *what)
{
	snprintf(db->err, sizeof db->err, "database '%s': %s%s%s", db->path, what,
		 db->db ? ": " : "", db->db ? sqlite3_errmsg(db->db) : "");
	return -1;
}

int rdb_oom(struct rdb *db)
{
	snprintf(db->err, sizeof db->err, "database '%s': out of memory", db->path);
	return -1;
}

const char *rdb_error(const struct rdb *db)
{
	return db->err;
}

const char *rdb_path(const struct rdb *db)
{
	return db->path;
}

static void ports_list(struct rdb *db)
{
	size_t used = 0;
	db->ports[0] = '\0';
	for (size_t i = 0; i < db->filter.nports; i++)
		used += (size_t)snprintf(db->ports + used, sizeof db->ports - used, ",%u",
					 db->filter.ports[i]);
	if (used)
		snprintf(db->ports + used, sizeof db->ports - used, ",");
}

static int check_schema(struct rdb *db)
{
	int64_t version = -1, tables = 0;
	if (rdb_scalar(db, "PRAGMA user_version;", &version) < 0 ||
	    rdb_scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			   " AND name IN ('sessions', 'runs');", &tables) < 0)
		return -1;
	if (version == STORE_SCHEMA_VERSION && tables == 2)
		return 0;
	if (version == 0 || tables != 2)
		snprintf(db->err, sizeof db->err, "database '%s' is not an smtptls database",
			 db->path);
	else
		snprintf(db->err, sizeof db->err,
			 "database '%s' has schema version %lld; this smtptls reads version %d",
			 db->path, (long long)version, STORE_SCHEMA_VERSION);
	return -1;
}

static int open_readonly(struct rdb *db)
{
	if (sqlite3_open_v2(db->path, &db->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return rdb_fail(db, "cannot open");
	sqlite3_busy_timeout(db->db, 5000);
	sqlite3_db_config(db->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (sqlite3_exec(db->db, "PRAGMA query_only = 1;", NULL, NULL, NULL) != SQLITE_OK)
		return rdb_fail(db, "cannot open");
	return check_schema(db);
}

int rdb_open(struct rdb **out, const char *path, const struct report_filter *f, char *err,
	     size_t errlen)
{
	struct rdb *db = calloc(1, sizeof *db);
	*out = NULL;
	if (!db) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	snprintf(db->path, sizeof db->path, "%s", path);
	if (f)
		db->filter = *f;
	else
		report_filter_init(&db->filter);
	ports_list(db);
	if (open_readonly(db) < 0) {
		snprintf(err, errlen, "%s", db->err);
		rdb_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

void rdb_close(struct rdb *db)
{
	if (!db)
		return;
	sqlite3_close(db->db);
	free(db);
}

void rdb_bind_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);
	if (i > 0)
		sqlite3_bind_int64(s, i, v);
}

void rdb_bind_real(sqlite3_stmt *s, const char *name, double v)
{
	int i = sqlite3_bind_parameter_index(s, name);
	if (i > 0)
		sqlite3_bind_double(s, i, v);
}

static void bind_text(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);
	if (i > 0 && v && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

sqlite3_stmt *rdb_prepare(struct rdb *db, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db->db, sql, -1, &s, NULL) != SQLITE_OK) {
		rdb_fail(db, "querying");
		return NULL;
	}
	rdb_bind_real(s, ":since", db->filter.since);
	rdb_bind_real(s, ":until", db->filter.until);
	bind_text(s, ":ports", db->ports);
	bind_text(s, ":server", db->filter.server);
	return s;
}

int rdb_step(struct rdb *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		rdb_fail(db, "querying");
	return rc;
}

int rdb_finish(struct rdb *db, sqlite3_stmt *s, int last_rc)
{
	(void)db;
	sqlite3_finalize(s);
	return last_rc == SQLITE_DONE ? 0 : -1;
}

int rdb_each(struct rdb *db, const char *sql, rdb_row_fn fn, void *arg)
{
	sqlite3_stmt *s = rdb_prepare(db, sql);
	int rc;
	if (!s)
		return -1;
	while ((rc = rdb_step(db, s)) == SQLITE_ROW) {
		if (fn(arg, s) < 0) {
			if (!db->err[0])
				rdb_oom(db);
			sqlite3_finalize(s);
			return -1;
		}
	}
	return rdb_finish(db, s, rc);
}

static int first_int(void *arg, sqlite3_stmt *s)
{
	int64_t *out = arg;
	*out = sqlite3_column_int64(s, 0);
	return 0;
}

int rdb_scalar(struct rdb *db, const char *sql, int64_t *out)
{
	*out = 0;
	return rdb_each(db, sql, first_int, out);
}

int rdb_has_column(struct rdb *db, const char *column)
{
	sqlite3_stmt *s = rdb_prepare(db, "SELECT 1 FROM pragma_table_info('sessions')"
					  " WHERE name = :column;");
	int found;
	if (!s)
		return 0;
	sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, ":column"), column, -1,
			  SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}
