/* ClickHouse's HTTP interface through libcurl (internal to store/ and
 * reports/): one connection (kept alive) per object, used by one thread
 * at a time. Queries are POSTed; results are TabSeparated text.
 *
 * A failure is one of three kinds, so that callers know whether trying
 * again can help: the server could not be reached or did not answer in
 * time (CH_UNREACHABLE: try again later), the server answered with a
 * ClickHouse error (CH_REFUSED: its code in chttp_code(), e.g. 193 wrong
 * password, 164 read-only user, 291 no access to the database), or
 * something answered that is not ClickHouse (CH_GARBAGE). */
#ifndef SMTPTLS_CHTTP_H
#define SMTPTLS_CHTTP_H

#include <stddef.h>

#include "churl.h"
#include "tsv.h"

enum { CH_OK = 0, CH_UNREACHABLE = -1, CH_REFUSED = -2, CH_GARBAGE = -3 };

/* ClickHouse error codes met here. */
enum {
	CHE_UNKNOWN_TABLE = 60,
	CHE_UNKNOWN_DATABASE = 81,
	CHE_READONLY = 164,
	CHE_UNKNOWN_USER = 192,
	CHE_WRONG_PASSWORD = 193,
	CHE_NO_ACCESS_DB = 291,
};

struct chttp;

/* A connection to the URL's server; NULL when out of memory. */
struct chttp *chttp_new(const struct ch_url *u);
void chttp_free(struct chttp *c);

/* The default database of the queries from now on ("": none, names are
 * qualified: the writer's, which may have to create it). */
void chttp_set_database(struct chttp *c, const char *database);

/* Seconds to wait for a connection and for a whole request (defaults 5
 * and 120). */
void chttp_timeouts(struct chttp *c, long connect, long total);

/* Runs sql on endpoint ("host:port"; NULL: the URL's) with the URL's
 * database as the default. With body, sql goes in the URL and body is
 * the request's data (INSERT ... FORMAT TabSeparated and its rows).
 * settings: more URL parameters ("insert_distributed_sync=1") or NULL.
 * The result's text goes into out (reset first) when given. CH_OK, or a
 * failure kind with a message in err (without the URL: callers name it). */
int chttp_query(struct chttp *c, const char *endpoint, const char *sql, const char *body,
		size_t bodylen, const char *settings, struct tsv_buf *out, char *err,
		size_t errlen);

/* The ClickHouse error code of the last CH_REFUSED, else 0. */
int chttp_code(const struct chttp *c);

/* Requests and bytes sent so far. */
void chttp_counts(const struct chttp *c, unsigned long long *requests,
		  unsigned long long *bytes);

#endif
