/* Read-only access to a session database for reports and exports: opens
 * it read-only (migrating an older database in place first, when it can
 * be written), checks it is an smtptls database of this schema version.
 * Queries go through the query layer (rq.h) as SQL templates
 * (common/sqlt.h), in one read transaction (rdb_begin ... rdb_end: every
 * query of a report sees the same snapshot), with these names defined:
 *   {{filter}}         the report's filter over session_rows' columns
 *                      (time, ports, server), its values bound
 *   {{src:R}}          the rows of rollup R (store/rollup.c: codes,
 *                      servers, clients) for the filter: the materialised
 *                      buckets inside it and the same GROUP BY over the
 *                      sessions at its edges (reports/rsource.c); columns
 *                      bucket, R's keys (the sessions' column names, NULL
 *                      where unknown) and measures. Rows may repeat a key:
 *                      sum, min or max them.
 *   {{src:R/hour}}, {{src:R/day}}  the same from buckets no wider. */
#ifndef SMTPTLS_RDB_H
#define SMTPTLS_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "rq.h"

/* The filter as SQL over session_rows; its values are bound parameters. */
#define RDB_FILTER " {{filter}} "

/* The record's codes as SQL literals (rdb.c checks them against record.h
 * and registry.h). */
#define RDB_STR_(x) #x
#define RDB_STR(x) RDB_STR_(x)
#define RDB_T_UNKNOWN_N 0
#define RDB_T_PLAINTEXT_N 1
#define RDB_T_STARTTLS_N 2
#define RDB_T_IMPLICIT_N 3
#define RDB_T_UNKNOWN RDB_STR(RDB_T_UNKNOWN_N)
#define RDB_T_PLAINTEXT RDB_STR(RDB_T_PLAINTEXT_N)
#define RDB_T_STARTTLS RDB_STR(RDB_T_STARTTLS_N)
#define RDB_T_IMPLICIT RDB_STR(RDB_T_IMPLICIT_N)
#define RDB_O_ESTABLISHED_N 1
#define RDB_O_REFUSED_N 2
#define RDB_O_FAILED_N 3
#define RDB_O_NO_SERVER_HELLO_N 4
#define RDB_O_INCOMPLETE_N 5
#define RDB_O_NO_TLS_AFTER_220_N 6
#define RDB_O_ESTABLISHED RDB_STR(RDB_O_ESTABLISHED_N)
#define RDB_O_REFUSED RDB_STR(RDB_O_REFUSED_N)
#define RDB_O_FAILED RDB_STR(RDB_O_FAILED_N)
#define RDB_O_NO_SERVER_HELLO RDB_STR(RDB_O_NO_SERVER_HELLO_N)
#define RDB_O_INCOMPLETE RDB_STR(RDB_O_INCOMPLETE_N)
#define RDB_O_NO_TLS_AFTER_220 RDB_STR(RDB_O_NO_TLS_AFTER_220_N)
/* Anomaly bit numbers. */
#define RDB_A_PLAINTEXT_AFTER_STARTTLS_N 13
#define RDB_A_CAPABILITY_MANGLED_N 16

/* The headline's definitions (contract C3), here and nowhere else; each
 * is 0 or 1, never NULL. They read the codes tls_version, transport and
 * tls_outcome, which the session rows and every rollup have.
 * A ServerHello with a version the registry knows: */
#define RDB_SH " ({{vrank(tls_version)}} > 0) "
/* Encrypted: the TLS handshake completed (tls_outcome established). */
#define RDB_ENC " (coalesce(tls_outcome, 0) = " RDB_O_ESTABLISHED ") "
/* Unknown, shown apart and never counted as plaintext: neither SMTP nor a
 * TLS hello recognised, or a handshake whose end is not in the capture
 * (incomplete). Known: every other session; clear: known, not encrypted. */
#define RDB_KNOWN                                                                    \
	" (" RDB_ENC " OR ((" RDB_SH " OR transport <> " RDB_T_UNKNOWN ")"            \
	" AND coalesce(tls_outcome, 0) <> " RDB_O_INCOMPLETE ")) "
#define RDB_CLEAR " (" RDB_KNOWN " AND NOT" RDB_ENC ") "
/* SMTP or TLS seen (the denominator of the SMTP facts, whatever became of
 * the handshake): not an 'unknown' transport. */
#define RDB_SEEN " (" RDB_SH " OR transport <> " RDB_T_UNKNOWN ") "
/* TLS attempted, of the known sessions: a TLS hello seen or STARTTLS
 * accepted (an outcome recorded). */
#define RDB_ATTEMPTED " (" RDB_KNOWN " AND tls_outcome IS NOT NULL) "
/* Over rollup rows (a count n and measures per row): the sessions where
 * cond is true, and the measure m summed over them; 0 when there are none
 * (NULL in SQLite reads as 0). */
#define RDB_N(cond) " sum(CASE WHEN " cond " THEN n ELSE 0 END) "
#define RDB_SUM(m, cond) " sum(CASE WHEN " cond " THEN " m " ELSE 0 END) "
/* Over session rows: the rows where cond is true. */
#define RDB_COUNT(cond) " count(CASE WHEN " cond " THEN 1 END) "
/* The session rows of one server (:ip, :port) of the filter: through
 * {{server_ids}}, the filter's (server_ip, server_port, id), which the
 * reader keeps in a temporary table for the report (SQLite: there is no
 * index on the server, which would cost the writer). */
#define RDB_SERVER_ROWS                                                              \
	" id IN (SELECT id FROM {{server_ids}} WHERE server_ip = :ip AND server_port = :port) "
/* A server as "address port", for counting distinct servers. */
#define RDB_SERVER " {{cat(server_ip, ' ', server_port)}} "
/* 1 when the anomaly bit (number) is set. */
#define RDB_ANOMALY(bit) " {{bit(anomalies, " RDB_STR(bit) ")}} "

/* SQL functions the reader connection has, each the registry's
 * (common/registry.h) by the same name, and reached through the template
 * calls vrank, vlegacy, rankname, gpq, cname (common/sqlt.h):
 *   tls_version_rank(code)    0 for NULL or an unknown version
 *   tls_version_legacy(code)  1 SSLv2 to TLS 1.1, 0 newer, NULL unknown
 *   tls_rank_name(rank)       "TLSv1.2", NULL for an unknown rank
 *   tls_group_pq(code)        1 post-quantum, 0 classical, NULL unknown
 *   cipher_name(code)         IANA name, NULL if unassigned
 * and parameters bound wherever a statement names them:
 *   :rank_tls12, :rank_tls13  the ranks of TLS 1.2 and 1.3 */

struct rdb;

/* Opens path read-only; f may be NULL (no filter). On failure writes a
 * message naming the database into err and returns -1. */
int rdb_open(struct rdb **out, const char *path, const struct report_filter *f, char *err,
	     size_t errlen);
void rdb_close(struct rdb *db);
/* 1 when the database is a ClickHouse one (a clickhouse:// URL). */
int rdb_clickhouse(const struct rdb *db);

/* What rdb_begin prepares: the rollup sources of the filter, the same
 * computed from the session rows (the full scan the rollups must equal),
 * or only {{filter}} (export). */
enum rdb_mode { RDB_ROLLUPS = 0, RDB_SCAN, RDB_ROWS };

/* Starts the report's read transaction and works out what mode needs.
 * 0, or -1 with the error. */
int rdb_begin(struct rdb *db, enum rdb_mode mode);
/* Ends it. */
void rdb_end(struct rdb *db);

/* What the database holds, for the report's coverage: the first and last
 * start of the stored session rows and of the sessions the rollups count
 * (NAN when none); the rollups reach further back when retention deleted
 * sessions. Valid after rdb_begin. */
struct rdb_coverage {
	double sessions_first, sessions_last, rollups_first, rollups_last;
	int scan; /* the sources are the sessions themselves */
};
const struct rdb_coverage *rdb_coverage(const struct rdb *db);

/* Prepares a template with the names above and binds the filter's
 * parameters; NULL on error (recorded). */
struct rq_stmt *rdb_query(struct rdb *db, const char *tmpl);
/* Steps: 1 row, 0 done, -1 error (recorded). */
int rdb_step(struct rdb *db, struct rq_stmt *s);
/* Frees the statement; 0 if it ran to the end, else -1. */
int rdb_finish(struct rdb *db, struct rq_stmt *s);

/* Runs a query, handing each row to fn (which returns 0, or -1 to stop
 * with an error); returns 0 or -1. */
typedef int (*rdb_row_fn)(void *arg, struct rq_stmt *s);
int rdb_each(struct rdb *db, const char *tmpl, rdb_row_fn fn, void *arg);

/* The first column of the first row as an integer (0 if no row). */
int rdb_scalar(struct rdb *db, const char *tmpl, int64_t *out);

/* Records the last error naming the database; returns -1. */
int rdb_fail(struct rdb *db, const char *what);
/* Records "out of memory" naming the database; returns -1. */
int rdb_oom(struct rdb *db);
const char *rdb_error(const struct rdb *db);
const char *rdb_path(const struct rdb *db);

#endif
