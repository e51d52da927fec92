/* The session store on ClickHouse (internal to store/: store.c hands a
 * clickhouse:// database to it). Rows go through a queue in memory to a
 * thread that inserts them over HTTP (chttp.h) in batches of up to half
 * the queue or one second of rows, whichever comes first; the capture
 * never waits for HTTP. Rows ClickHouse could not take (unreachable,
 * refused) go to a spool file that outlives the process (spool_resume) and
 * are delivered first by the next attempt: the thread retries with
 * backoff, and the next process writing through the same spool delivers
 * what an earlier one left. Every session carries its identity (writer,
 * seq) from the moment it is queued, so a batch sent twice is counted
 * once (chschema.h). */
#ifndef SMTPTLS_CHSTORE_H
#define SMTPTLS_CHSTORE_H

#include <stddef.h>

#include "store.h"

struct chstore;

/* Parses the URL, checks the server (a refusal or a server that is not
 * ClickHouse is an error; one that cannot be reached is a warning, the rows
 * are spooled), creates the database and tables, delivers what the spool
 * holds and starts the thread. 0, or -1 with a message naming the URL. */
int chstore_open(struct chstore **out, const char *url, const struct store_opts *o,
		 char *err, size_t errlen);
/* Delivers what it can, spools the rest (saying so on standard error) and
 * frees. 0, or -1 when ClickHouse refused rows (error in err). */
int chstore_close(struct chstore *c, char *err, size_t errlen);

/* store_begin_file_run's, f NULL for no file; a server that cannot be
 * reached cannot say whether the file was captured before: a warning,
 * and the run begins. */
int chstore_begin_run(struct chstore *c, const struct run_info *ri, const struct run_file *f,
		      char *dup, size_t duplen);
/* The run's file's SHA-256, carried by the run's next row. */
int chstore_set_file_sha256(struct chstore *c, const char *sha256);
int chstore_add(struct chstore *c, const struct session_record *r);
int chstore_failed(struct chstore *c);
int chstore_flush(struct chstore *c);
int chstore_update_run(struct chstore *c, const struct run_totals *t, const char *status);
int chstore_run_counters(struct chstore *c, const struct run_counter *cnt, size_t n);
void chstore_stats(struct chstore *c, struct store_stats *s);
double chstore_cpu(const struct chstore *c);
const char *chstore_error(const struct chstore *c);

#endif
