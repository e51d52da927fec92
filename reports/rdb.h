/* Read-only access to a session database for reports and exports: opens
 * it read-only, checks it is an smtptls database, and prepares statements
 * with the filter's parameters (:since :until :ports :server) bound. */
#ifndef SMTPTLS_RDB_H
#define SMTPTLS_RDB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The filter as SQL over the sessions table; every value is a parameter. */
#define RDB_FILTER                                                                   \
	" ts_start >= :since AND ts_start < :until"                                  \
	" AND (:ports IS NULL OR instr(:ports, ',' || server_port || ',') > 0)"      \
	" AND (:server IS NULL OR server_ip = :server"                               \
	"      OR server_name = :server COLLATE NOCASE) "

/* Encrypted: a ServerHello was seen. Known: not an 'unknown' session. */
#define RDB_ENC " (tls_version IS NOT NULL) "
#define RDB_KNOWN " (tls_version IS NOT NULL OR transport <> 'unknown') "
#define RDB_CLEAR " (tls_version IS NULL AND transport <> 'unknown') "
#define RDB_BYTES " (bytes_c2s + bytes_s2c) "
/* A version name (tls_version, client_max_version) as a rank: SSLv2 1 ...
 * TLSv1.3 6; 0 for NULL or a name not listed. */
#define RDB_VERSION_RANK(col)                                                        \
	" (CASE " col " WHEN 'SSLv2' THEN 1 WHEN 'SSLv3' THEN 2 WHEN 'TLSv1.0' THEN 3"  \
	" WHEN 'TLSv1.1' THEN 4 WHEN 'TLSv1.2' THEN 5 WHEN 'TLSv1.3' THEN 6 ELSE 0 END) "
/* The rows where cond is true: 0, never NULL, when there are none. */
#define RDB_COUNT(cond) " count(CASE WHEN " cond " THEN 1 END) "
/* A server as "address port", for counting distinct servers. */
#define RDB_SERVER " (server_ip || ' ' || server_port) "
/* 1 when the comma list in anomalies holds the (constant) name; GLOB, as
 * LIKE would take the '_' in names for a wildcard. */
#define RDB_ANOMALY(name) " (',' || coalesce(anomalies, '') || ',' GLOB '*," name ",*') "

struct rdb;

/* Opens path read-only; f may be NULL (no filter). On failure writes a
 * message naming the database into err and returns -1. */
int rdb_open(struct rdb **out, const char *path, const struct report_filter *f, char *err,
	     size_t errlen);
void rdb_close(struct rdb *db);

/* Prepares sql and binds the filter parameters it names; NULL on error. */
sqlite3_stmt *rdb_prepare(struct rdb *db, const char *sql);
/* Binds an extra named integer or real parameter if sql has it. */
void rdb_bind_int(sqlite3_stmt *s, const char *name, int64_t v);
void rdb_bind_real(sqlite3_stmt *s, const char *name, double v);
/* Steps; SQLITE_ROW or SQLITE_DONE, anything else records an error. */
int rdb_step(struct rdb *db, sqlite3_stmt *s);
/* Finalizes; returns 0 if the last step was SQLITE_DONE, else -1. */
int rdb_finish(struct rdb *db, sqlite3_stmt *s, int last_rc);

/* Runs a query, handing each row to fn (which returns 0, or -1 to stop
 * with an error); returns 0 or -1. */
typedef int (*rdb_row_fn)(void *arg, sqlite3_stmt *s);
int rdb_each(struct rdb *db, const char *sql, rdb_row_fn fn, void *arg);

/* The first column of the first row as an integer (0 if no row). */
int rdb_scalar(struct rdb *db, const char *sql, int64_t *out);

/* 1 if the sessions table has that column. */
int rdb_has_column(struct rdb *db, const char *column);

/* Records an SQLite error naming the database; returns -1. */
int rdb_fail(struct rdb *db, const char *what);
/* Records "out of memory" naming the database; returns -1. */
int rdb_oom(struct rdb *db);
const char *rdb_error(const struct rdb *db);
const char *rdb_path(const struct rdb *db);

#endif
