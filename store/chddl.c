/* The ClickHouse tables on a server or a cluster (chddl.h). */
#define _POSIX_C_SOURCE 200809L
#include "chddl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "chschema.h"

struct ddl {
	struct chttp *http;
	const struct ch_url *url;
	char *err;
	size_t errlen;
	char endpoints[CHURL_MAX_SHARDS + 1][280]; /* where tables go: "" the URL's */
	int nendpoints;
};

/* Runs sql on an endpoint ("" the URL's); on failure the message names the
 * URL (and the shard when it is another). */
static int run_sql(struct ddl *c, const char *endpoint, const char *sql, struct tsv_buf *out)
{
	char why[700];
	int rc = chttp_query(c->http, endpoint && *endpoint ? endpoint : NULL, sql, NULL, 0, NULL,
			     out, why, sizeof why);
	if (rc != CH_OK)
		snprintf(c->err, c->errlen, "database '%s'%s%s%s: %s", c->url->shown,
			 endpoint && *endpoint ? " (shard " : "", endpoint && *endpoint ? endpoint : "",
			 endpoint && *endpoint ? ")" : "", why);
	return rc;
}

/* ---- the tables ----------------------------------------------------------------- */

/* The shards' HTTP endpoints from system.clusters: the entry server for
 * the local one, the URL's shards= in order for the others (else their
 * address with the URL's port). */
static int find_shards(struct ddl *c)
{
	struct tsv_buf out = {0}, q = {0};
	tsv_puts(&q, "SELECT host_address, is_local FROM system.clusters WHERE cluster = ");
	tsv_puts(&q, "'");
	tsv_puts(&q, c->url->cluster); /* an identifier: no quote in it */
	tsv_puts(&q, "' ORDER BY shard_num, replica_num FORMAT TabSeparated");
	int rc = q.failed ? CH_REFUSED : run_sql(c, NULL, q.p, &out);
	int other = 0;
	c->nendpoints = 0;
	for (char *line = out.p, *nl; rc == 0 && line && (nl = memchr(line, '\n', out.p + out.len - line));
	     line = nl + 1) {
		struct tsv_row r;
		if (tsv_split(line, (size_t)(nl - line), &r) < 0 || r.n != 2 ||
		    c->nendpoints == CHURL_MAX_SHARDS + 1) {
			rc = CH_GARBAGE;
			break;
		}
		char *ep = c->endpoints[c->nendpoints++];
		if (!strcmp(r.f[1], "1"))
			ep[0] = '\0';
		else if (other < c->url->nshards)
			snprintf(ep, sizeof c->endpoints[0], "%s", c->url->shards[other++]);
		else
			snprintf(ep, sizeof c->endpoints[0], "%s%s%s:%d", strchr(r.f[0], ':') ? "[" : "",
				 r.f[0], strchr(r.f[0], ':') ? "]" : "", c->url->port);
	}
	if (rc == 0 && c->nendpoints == 0) {
		snprintf(c->err, c->errlen, "database '%s': the server knows no cluster '%s'"
			 " (system.clusters; remote_servers in its configuration)", c->url->shown,
			 c->url->cluster);
		rc = CH_REFUSED;
	}
	tsv_buf_free(&out);
	tsv_buf_free(&q);
	return rc;
}

/* The database and tables on one server: local tables with suffix (and
 * the Distributed tables over them, on a cluster). */
static int make_tables(struct ddl *c, const char *endpoint, const char *suffix)
{
	struct tsv_buf q = {0};
	char name[160];
	size_t n;
	const struct ch_table *t = chschema_tables(&n);
	tsv_puts(&q, "CREATE DATABASE IF NOT EXISTS ");
	tsv_puts(&q, c->url->database);
	int rc = run_sql(c, endpoint, q.p, NULL);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		snprintf(name, sizeof name, "%s%s", t[i].name, suffix);
		chschema_create(&q, c->url->database, &t[i], name);
		rc = run_sql(c, endpoint, q.p, NULL);
		if (rc == 0 && *suffix) {
			tsv_buf_reset(&q);
			tsv_puts(&q, "CREATE TABLE IF NOT EXISTS ");
			tsv_puts(&q, c->url->database);
			tsv_puts(&q, ".");
			tsv_puts(&q, t[i].name);
			tsv_puts(&q, " AS ");
			tsv_puts(&q, c->url->database);
			tsv_puts(&q, ".");
			tsv_puts(&q, name);
			tsv_puts(&q, " ENGINE = Distributed(");
			tsv_puts(&q, c->url->cluster);
			tsv_puts(&q, ", ");
			tsv_puts(&q, c->url->database);
			tsv_puts(&q, ", ");
			tsv_puts(&q, name);
			tsv_puts(&q, ", ");
			tsv_puts(&q, t[i].shard_by);
			tsv_puts(&q, ")");
			rc = run_sql(c, endpoint, q.p, NULL);
		}
	}
	for (size_t i = 0; rc == 0 && i < chschema_nviews(); i++) {
		chschema_view(&q, c->url->database, i);
		rc = run_sql(c, endpoint, q.p, NULL);
	}
	tsv_buf_free(&q);
	return rc;
}

int chddl_setup(struct chttp *http, const struct ch_url *url, char *err, size_t errlen)
{
	static struct ddl d; /* endpoints: too big for a thread's stack; one caller at a time */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	d = (struct ddl){.http = http, .url = url, .err = err, .errlen = errlen};
	int rc = 0;
	if (!url->cluster[0])
		rc = make_tables(&d, NULL, "");
	else if ((rc = find_shards(&d)) == 0)
		for (int i = 0; rc == 0 && i < d.nendpoints; i++)
			rc = make_tables(&d, d.endpoints[i], "_local");
	pthread_mutex_unlock(&lock);
	return rc;
}
