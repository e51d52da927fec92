/* Read-only access to a session database for reports and exports: opens
 * it read-only (migrating an older database in place first, when it can
 * be written), checks it is an smtptls database of this schema version,
 * and prepares statements with the filter's parameters (:since :until
 * :ports :server) bound. Queries read session_rows: codes, names from the
 * registry. */
#ifndef SMTPTLS_RDB_H
#define SMTPTLS_RDB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* The filter as SQL over session_rows; every value is a parameter. */
#define RDB_FILTER                                                                   \
	" ts_start >= :since AND ts_start < :until"                                  \
	" AND (:ports IS NULL OR instr(:ports, ',' || server_port || ',') > 0)"      \
	" AND (:server IS NULL OR server_ip = :server"                               \
	"      OR server_name = :server COLLATE NOCASE)"                              \
	" AND (:sensor IS NULL OR sensor = :sensor) "

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
 * is 0 or 1, never NULL.
 * A ServerHello with a version the registry knows: */
#define RDB_SH " (tls_version_rank(tls_version) > 0) "
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
#define RDB_BYTES " (bytes_c2s + bytes_s2c) "
/* The rows where cond is true: 0, never NULL, when there are none. */
#define RDB_COUNT(cond) " count(CASE WHEN " cond " THEN 1 END) "
/* A server as "address port", for counting distinct servers. */
#define RDB_SERVER " (server_ip || ' ' || server_port) "
/* 1 when the anomaly bit (number) is set. */
#define RDB_ANOMALY(bit) " ((anomalies >> " RDB_STR(bit) ") & 1) "
/* session_rows with the columns of its certificate (cert_subject_cn ...). */
#define RDB_WITH_CERT                                                                \
	" (SELECT s.*, c.subject_cn AS cert_subject_cn, c.sans AS cert_sans,"          \
	" c.issuer_cn AS cert_issuer_cn, c.issuer_org AS cert_issuer_org,"             \
	" c.not_before AS cert_not_before, c.not_after AS cert_not_after,"             \
	" c.key_type AS cert_key_type, c.key_bits AS cert_key_bits,"                   \
	" c.sig_alg AS cert_sig_alg, c.self_signed AS cert_self_signed"                \
	" FROM session_rows s LEFT JOIN certificates c ON c.sha256 = s.cert_sha256) "

/* SQL functions the reader connection has, each the registry's
 * (common/registry.h) by the same name:
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

/* Records an SQLite error naming the database; returns -1. */
int rdb_fail(struct rdb *db, const char *what);
/* Records "out of memory" naming the database; returns -1. */
int rdb_oom(struct rdb *db);
const char *rdb_error(const struct rdb *db);
const char *rdb_path(const struct rdb *db);

#endif
