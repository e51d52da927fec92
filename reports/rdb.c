#include "rdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/registry.h"
#include "../store/chttp.h"
#include "../store/churl.h"
#include "../store/schema.h"
#include "../store/store.h"
#include "rdb_conn.h"
#include "rsource.h"

struct rdb {
	sqlite3 *db;              /* conn.db */
	struct rdb_conn conn;
	struct rq *q;             /* the query layer on db, made on first use */
	struct rsource *src;      /* the filter's rollup sources, from rdb_begin */
	int in_tx;
	struct report_filter filter;
	char path[768];           /* a URL without its password */
	char err[1536];
	struct chttp *http;       /* ClickHouse (a clickhouse:// URL), else NULL */
	void *chconn;             /* the ClickHouse driver's */
};

int rdb_fail(struct rdb *db, const char *what)
{
	const char *note = rdb_conn_note(&db->conn);
	snprintf(db->err, sizeof db->err, "database '%s': %s%s%s", db->path, what,
		 db->db || note ? ": " : "", note ? note : db->db ? sqlite3_errmsg(db->db) : "");
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

/* The codes in rdb.h's SQL are record.h's. */
_Static_assert(RDB_T_UNKNOWN_N == TRANSPORT_UNKNOWN && RDB_T_PLAINTEXT_N == TRANSPORT_PLAINTEXT &&
		       RDB_T_STARTTLS_N == TRANSPORT_STARTTLS &&
		       RDB_T_IMPLICIT_N == TRANSPORT_IMPLICIT_TLS,
	       "transport codes");
_Static_assert(RDB_O_ESTABLISHED_N == OUTCOME_ESTABLISHED && RDB_O_REFUSED_N == OUTCOME_REFUSED &&
		       RDB_O_FAILED_N == OUTCOME_FAILED &&
		       RDB_O_NO_SERVER_HELLO_N == OUTCOME_NO_SERVER_HELLO &&
		       RDB_O_INCOMPLETE_N == OUTCOME_INCOMPLETE &&
		       RDB_O_NO_TLS_AFTER_220_N == OUTCOME_NO_TLS_AFTER_220,
	       "outcome codes");
_Static_assert((1u << RDB_A_PLAINTEXT_AFTER_STARTTLS_N) == ANOM_PLAINTEXT_AFTER_STARTTLS &&
		       (1u << RDB_A_CAPABILITY_MANGLED_N) == ANOM_CAPABILITY_MANGLED,
	       "anomaly bits");

/* ---- the registry as SQL functions --------------------------------------------- */

static int arg_code(sqlite3_value *v, int *code)
{
	if (sqlite3_value_type(v) != SQLITE_INTEGER)
		return -1;
	sqlite3_int64 c = sqlite3_value_int64(v);
	if (c < 0 || c > 0xffff)
		return -1;
	*code = (int)c;
	return 0;
}

static void fn_version_rank(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int code;
	(void)n;
	sqlite3_result_int(cx, arg_code(v[0], &code) < 0 ? 0 : tls_version_rank(code));
}

static void fn_version_legacy(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int code, legacy;
	(void)n;
	if (arg_code(v[0], &code) < 0 || (legacy = tls_version_legacy(code)) < 0)
		sqlite3_result_null(cx);
	else
		sqlite3_result_int(cx, legacy);
}

static void result_name(sqlite3_context *cx, const char *name)
{
	if (name)
		sqlite3_result_text(cx, name, -1, SQLITE_STATIC);
	else
		sqlite3_result_null(cx);
}

static void fn_rank_name(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int rank;
	(void)n;
	result_name(cx, arg_code(v[0], &rank) < 0 ? NULL : tls_rank_name(rank));
}

static void fn_group_pq(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int code, pq;
	(void)n;
	if (arg_code(v[0], &code) < 0 || !tls_group_name(code, &pq))
		sqlite3_result_null(cx);
	else
		sqlite3_result_int(cx, pq);
}

static void fn_cipher_name(sqlite3_context *cx, int n, sqlite3_value **v)
{
	int code;
	const struct cipher_info *ci;
	(void)n;
	ci = arg_code(v[0], &code) < 0 ? NULL : cipher_lookup((uint16_t)code);
	result_name(cx, ci ? ci->name : NULL);
}

static int add_functions(struct rdb *db)
{
	static const struct {
		const char *name;
		void (*fn)(sqlite3_context *, int, sqlite3_value **);
	} fns[] = {
		{"tls_version_rank", fn_version_rank}, {"tls_version_legacy", fn_version_legacy},
		{"tls_rank_name", fn_rank_name},       {"tls_group_pq", fn_group_pq},
		{"cipher_name", fn_cipher_name},
	};
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
		if (sqlite3_create_function(db->db, fns[i].name, 1,
					    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
					    NULL, fns[i].fn, NULL, NULL) != SQLITE_OK)
			return rdb_fail(db, "cannot open");
	return 0;
}

/* ---- opening ---------------------------------------------------------------- */

static int open_readonly(struct rdb *db)
{
	if (rdb_conn_open(&db->conn, db->path, db->err, sizeof db->err) < 0)
		return -1;
	db->db = db->conn.db;
	return add_functions(db);
}

static void close_db(struct rdb *db)
{
	rdb_conn_close(&db->conn);
	db->db = NULL;
}

/* The database's schema version; -1 with the error recorded when it is
 * none smtptls reads. An empty file is not an smtptls database here. */
static int read_version(struct rdb *db)
{
	int version = schema_version(db->db, db->path, db->err, sizeof db->err);
	if (version == 0) {
		snprintf(db->err, sizeof db->err, "database '%s' is not an smtptls database",
			 db->path);
		return -1;
	}
	return version;
}

/* An older database is migrated in place, through a writing connection of
 * its own, and opened again; one that cannot be written is refused with
 * the reason. */
static int open_current(struct rdb *db)
{
	char err[640], named[560];
	int version;
	if (open_readonly(db) < 0 || (version = read_version(db)) < 0)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	close_db(db);
	if (store_migrate(db->path, err, sizeof err) < 0) {
		size_t n = (size_t)snprintf(named, sizeof named, "database '%s': ", db->path);
		const char *why = strncmp(err, named, n) == 0 ? err + n : err; /* named once */
		snprintf(db->err, sizeof db->err, "database '%s' has schema version %d and must be"
			 " migrated to version %d, which needs write access: %s", db->path,
			 version, STORE_SCHEMA_VERSION, why);
		return -1;
	}
	return open_readonly(db) < 0 || read_version(db) < 0 ? -1 : 0;
}

/* A ClickHouse database a capture made (store/chddl.c): its tables and
 * views answer. */
static int open_clickhouse(struct rdb *db, const char *url)
{
	struct ch_url u;
	struct tsv_buf out = {0};
	char why[600];
	churl_redact(url, db->path, sizeof db->path);
	if (churl_parse(url, &u, db->err, sizeof db->err) < 0)
		return -1;
	if (!(db->http = chttp_new(&u))) {
		memset(u.password, 0, sizeof u.password);
		return rdb_oom(db);
	}
	memset(u.password, 0, sizeof u.password);
	int rc = chttp_query(db->http, NULL, "SELECT count() FROM system.tables WHERE database ="
			     " currentDatabase() AND name IN ('session_rows', 'certificates',"
			     " 'run_origins', 'runs', 'run_counters')", NULL, 0, NULL, &out, why,
			     sizeof why);
	if (rc != CH_OK)
		snprintf(db->err, sizeof db->err, "database '%s': %.600s", db->path, why);
	else if (out.len < 1 || out.p[0] != '5')
		snprintf(db->err, sizeof db->err, "database '%s' holds no smtptls tables (a capture"
			 " into it makes them)", db->path);
	tsv_buf_free(&out);
	return db->err[0] ? -1 : 0;
}

int rdb_open(struct rdb **out, const char *path, const struct report_filter *f, char *err,
	     size_t errlen)
{
	*out = NULL;
	struct rdb *db = calloc(1, sizeof *db);
	if (!db) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	db->conn.lock_fd = -1;
	snprintf(db->path, sizeof db->path, "%s", path);
	if (f)
		db->filter = *f;
	else
		report_filter_init(&db->filter);
	if (churl_is_url(path) ? open_clickhouse(db, path) < 0 : open_current(db) < 0) {
		snprintf(err, errlen, "%s", db->err);
		rdb_close(db);
		return -1;
	}
	*out = db;
	return 0;
}

int rdb_clickhouse(const struct rdb *db)
{
	return db->http != NULL;
}

void rdb_close(struct rdb *db)
{
	if (!db)
		return;
	rdb_end(db);
	rq_free(db->q);
	db->q = NULL;
	free(db->chconn);
	chttp_free(db->http);
	if (db->db)
		close_db(db);
	free(db);
}

/* ---- queries ------------------------------------------------------------------ */

static int query_fail(struct rdb *db)
{
	snprintf(db->err, sizeof db->err, "database '%s': querying: %s", db->path,
		 db->q ? rq_error(db->q) : "out of memory");
	return -1;
}

static struct rq *query_layer(struct rdb *db)
{
	if (!db->q)
		db->q = db->http ? rq_clickhouse(db->http, db->path, &db->chconn) : rq_sqlite(db->db);
	return db->q;
}

int rdb_begin(struct rdb *db, enum rdb_mode mode)
{
	char err[640];
	rdb_end(db);
	if (!query_layer(db) || rq_exec(db->q, "BEGIN;") < 0)
		return query_fail(db);
	db->in_tx = 1;
	/* the edges go into temporary tables: the file stays read-only */
	if (db->db)
		sqlite3_exec(db->db, "PRAGMA query_only = 0;", NULL, NULL, NULL);
	db->src = rsource_new(db->q, &db->filter, mode == RDB_SCAN, mode == RDB_ROWS, err,
			      sizeof err);
	if (db->db)
		sqlite3_exec(db->db, "PRAGMA query_only = 1;", NULL, NULL, NULL);
	if (!db->src) {
		snprintf(db->err, sizeof db->err, "database '%s': %s", db->path, err);
		return -1;
	}
	return 0;
}

void rdb_end(struct rdb *db)
{
	rsource_free(db->src);
	db->src = NULL;
	if (db->in_tx)
		rq_exec(db->q, "COMMIT;");
	db->in_tx = 0;
}

const struct rdb_coverage *rdb_coverage(const struct rdb *db)
{
	return rsource_coverage(db->src);
}

struct rq_stmt *rdb_query(struct rdb *db, const char *tmpl)
{
	size_t nvars = 0;
	const struct sqlt_var *vars = db->src ? rsource_vars(db->src, &nvars) : NULL;
	struct rq_stmt *s = query_layer(db) ? rq_prepare(db->q, tmpl, vars, nvars) : NULL;
	if (!s) {
		query_fail(db);
		return NULL;
	}
	rq_bind_int(s, ":rank_tls12", tls_version_rank(0x0303));
	rq_bind_int(s, ":rank_tls13", tls_version_rank(0x0304));
	rq_bind_real(s, ":since", db->filter.since);
	rq_bind_real(s, ":until", db->filter.until);
	rq_bind_text(s, ":server", db->filter.server[0] ? db->filter.server : NULL);
	rq_bind_text(s, ":sensor", db->filter.sensor[0] ? db->filter.sensor : NULL);
	return s;
}

int rdb_step(struct rdb *db, struct rq_stmt *s)
{
	int rc = rq_step(s);
	if (rc < 0)
		query_fail(db);
	return rc;
}

int rdb_finish(struct rdb *db, struct rq_stmt *s)
{
	(void)db;
	return rq_finish(s);
}

int rdb_each(struct rdb *db, const char *tmpl, rdb_row_fn fn, void *arg)
{
	struct rq_stmt *s = rdb_query(db, tmpl);
	int rc;
	if (!s)
		return -1;
	while ((rc = rdb_step(db, s)) > 0) {
		if (fn(arg, s) < 0) {
			if (!db->err[0])
				rdb_oom(db);
			rq_finish(s);
			return -1;
		}
	}
	return rq_finish(s);
}

static int first_int(void *arg, struct rq_stmt *s)
{
	int64_t *out = arg;
	*out = rq_int(s, 0);
	return 0;
}

int rdb_scalar(struct rdb *db, const char *tmpl, int64_t *out)
{
	*out = 0;
	return rdb_each(db, tmpl, first_int, out);
}
