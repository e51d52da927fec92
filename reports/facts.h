/* The queries behind a report: each builder adds its tables to the model.
 * They run in order; facts_meta comes first (the others read its totals).
 * Each returns 0, or -1 with the error recorded in db. */
#ifndef SMTPTLS_FACTS_H
#define SMTPTLS_FACTS_H

#include "rdb.h"
#include "rtable.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

int facts_meta(struct rdb *db, struct rmodel *m);
int facts_coverage(struct rdb *db, struct rmodel *m); /* coverage: the period covered */
int facts_share(struct rdb *db, struct rmodel *m);     /* encryption, not_encrypted, clear_mail */
int facts_tls(struct rdb *db, struct rmodel *m);       /* tls_versions, ciphers, cipher_classes,
							  crypto_quality, kx_groups */
int facts_handshakes(struct rdb *db, struct rmodel *m); /* tls_outcomes, tls_alerts */
int facts_blame(struct rdb *db, struct rmodel *m);     /* blame_summary, server_blame */
int facts_offers(struct rdb *db, struct rmodel *m);    /* client_offers, client_versions, client_weak */
int facts_certs(struct rdb *db, struct rmodel *m);     /* certificates, cert_keys, cert_sig_algs,
							  cert_issuers */
int facts_fingerprints(struct rdb *db, struct rmodel *m); /* ja3, ja4, ja3s */
int facts_smtp(struct rdb *db, struct rmodel *m);      /* starttls, starttls_refused, cleartext_auth, anomalies */
int facts_series(struct rdb *db, struct rmodel *m);    /* series */
int facts_servers(struct rdb *db, struct rmodel *m);   /* servers */
int facts_clients(struct rdb *db, struct rmodel *m);   /* clients */
int facts_downgrade(struct rdb *db, struct rmodel *m); /* downgrade_summary, downgrade */
int facts_runs(struct rdb *db, struct rmodel *m);      /* capture, capture_counters */
int facts_domains(struct rdb *db, struct rmodel *m);   /* dns_link, domains, policy_adoption,
							  policy_evidence */

/* Adds a table, recording "out of memory" in db on failure. */
struct rtable *facts_table(struct rdb *db, struct rmodel *m, const char *id,
			   const struct rcol *cols, size_t ncols);
/* The rows of ranked lists: the --top value, or -1 for all. */
long facts_limit(const struct rmodel *m);
/* A note for the sections that list session rows: "" when every session
 * counted is stored, else that older rows were deleted (retention). */
const char *facts_rows_note(struct rdb *db);

/* One line of a table of shares: counts[part] of counts[whole], the line
 * naming its denominator; servers and certs index distinct counts of
 * servers and certificates (-1: none); fault names whose doing it is. */
struct facts_share {
	const char *key, *what, *fault;
	int part, whole;
	const char *denominator;
	int servers, certs;
};
#define FACTS_MAX_COUNTS 32
/* Runs sql, which returns one row of at most FACTS_MAX_COUNTS counts, and
 * adds a row per line to t (columns item, what, sessions, of,
 * sessions_pct, denominator; fault, servers, certs where t has them). */
int facts_shares(struct rdb *db, struct rtable *t, const char *sql,
		 const struct facts_share *lines, size_t n);
/* The columns of a plain table of shares, for facts_shares. */
#define FACTS_SHARE_NCOLS 6
extern const struct rcol facts_share_cols[FACTS_SHARE_NCOLS];
/* "192.0.2.1:25", "[2001:db8::1]:25". */
void facts_server(const char *ip, int port, char *buf, size_t n);
/* The row of t whose first column holds the text key, or -1. */
long facts_find_row(const struct rtable *t, const char *key);

/* The first session ids of a server that satisfy a condition, in the
 * report's filter, as "1, 2, 3": a statement prepared once (open), run per
 * server (list: at most max ids; 0 or -1), freed (close). */
struct facts_ids {
	struct rdb *db;
	struct rq_stmt *s;
};
int facts_ids_open(struct rdb *db, struct facts_ids *ids, const char *cond);
int facts_ids_list(struct facts_ids *ids, const char *ip, int64_t port, int max, char *out,
		   size_t n);
void facts_ids_close(struct facts_ids *ids);

/* Builds the whole model for the database at path (tests use it directly).
 * Returns 0, or -1 with a message in err; free with rmodel_free. */
int report_build(const char *path, const struct report_options *o, struct rmodel *m,
		 char *err, size_t errlen);

/* The context of a row callback that fills a counted table (see
 * rtable_counted): the table and the denominator of its percentages. */
struct counted {
	struct rtable *t;
	int64_t whole;
};

#endif
