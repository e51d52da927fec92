/* The queries behind a report: each builder adds its tables to the model.
 * They run in order; facts_meta comes first (the others read its totals).
 * Each returns 0, or -1 with the error recorded in db. */
#ifndef SMTPTLS_FACTS_H
#define SMTPTLS_FACTS_H

#include "rdb.h"
#include "rtable.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

int facts_meta(struct rdb *db, struct rmodel *m);
int facts_share(struct rdb *db, struct rmodel *m);     /* encryption, not_encrypted, clear_mail */
int facts_tls(struct rdb *db, struct rmodel *m);       /* tls_versions, ciphers, cipher_classes, kx_groups */
int facts_smtp(struct rdb *db, struct rmodel *m);      /* starttls, starttls_refused, cleartext_auth, anomalies */
int facts_series(struct rdb *db, struct rmodel *m);    /* series */
int facts_servers(struct rdb *db, struct rmodel *m);   /* servers */
int facts_clients(struct rdb *db, struct rmodel *m);   /* clients */
int facts_downgrade(struct rdb *db, struct rmodel *m); /* downgrade_summary, downgrade */
int facts_runs(struct rdb *db, struct rmodel *m);      /* capture */

/* Adds a table, recording "out of memory" in db on failure. */
struct rtable *facts_table(struct rdb *db, struct rmodel *m, const char *id,
			   const struct rcol *cols, size_t ncols);
/* The LIMIT for ranked lists: the --top value, or -1 for all. */
long facts_limit(const struct rmodel *m);

/* Builds the whole model for the database at path (tests use it directly).
 * Returns 0, or -1 with a message in err; free with rmodel_free. */
int report_build(const char *path, const struct report_options *o, struct rmodel *m,
		 char *err, size_t errlen);

#endif
