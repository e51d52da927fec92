/* The SMTP side: STARTTLS offered, used, refused (by reply code), AUTH in
 * clear (by mechanism), and the sessions with anomalies. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../common/registry.h"
#include "facts.h"

#define ANOMALY_NAME_MAX 48

static const struct rcol code_cols[] = {
	{"code", "reply", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

static const struct rcol auth_cols[] = {
	{"mechanism", "mechanism", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

static const struct rcol anomaly_cols[] = {
	{"anomaly", "anomaly", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

/* ---- STARTTLS and AUTH, with the denominator of each line ---------------- */

enum { S_KNOWN, S_EHLO, S_OFFERED, S_NOT_USED, S_SENT, S_REFUSED, S_NO_TLS, S_AUTH, S_N };

static const char starttls_sql[] =
	"SELECT" RDB_N(RDB_SEEN) "," RDB_N("starttls_offered IS NOT NULL") ","
	RDB_N("starttls_offered = 1") "," RDB_N("starttls_offered = 1 AND starttls_sent = 0") ","
	RDB_N("starttls_sent = 1") ","
	RDB_N("starttls_sent = 1 AND starttls_reply IS NOT NULL"
	      " AND NOT (starttls_reply BETWEEN 200 AND 299)") ","
	RDB_N("transport = " RDB_T_STARTTLS " AND NOT" RDB_SH "AND client_hello = 0") ","
	RDB_N("cleartext_auth = 1") " FROM {{src:codes}}";

static const struct {
	const char *key, *what;
	int part, whole;
	const char *denominator;
} starttls_rows[] = {
	{"ehlo_reply", "EHLO reply seen", S_EHLO, S_KNOWN, "sessions with SMTP or TLS seen"},
	{"offered", "STARTTLS offered", S_OFFERED, S_EHLO, "sessions with an EHLO reply"},
	{"offered_not_used", "offered but not used", S_NOT_USED, S_OFFERED,
	 "sessions where STARTTLS was offered"},
	{"sent", "STARTTLS sent", S_SENT, S_KNOWN, "sessions with SMTP or TLS seen"},
	{"refused", "STARTTLS refused (not 2xx)", S_REFUSED, S_SENT,
	 "sessions where STARTTLS was sent"},
	{"accepted_no_tls", "STARTTLS accepted, no TLS", S_NO_TLS, S_SENT,
	 "sessions where STARTTLS was sent"},
	{"cleartext_auth", "AUTH sent in clear", S_AUTH, S_KNOWN, "sessions with SMTP or TLS seen"},
};

static int read_counts(void *arg, struct rq_stmt *s)
{
	int64_t *c = arg;
	for (int i = 0; i < S_N; i++)
		c[i] = rq_int(s, i);
	return 0;
}

static int build_starttls(struct rdb *db, struct rmodel *m)
{
	int64_t c[S_N] = {0};
	struct rtable *t = facts_table(db, m, "starttls", facts_share_cols, FACTS_SHARE_NCOLS);
	if (!t || rdb_each(db, starttls_sql, read_counts, c) < 0)
		return -1;
	if (rtable_title(t, "STARTTLS and AUTH") < 0 ||
	    rtable_note(t, "each line names its denominator (of)") < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NCOLS(starttls_rows); i++) {
		long row = rtable_row(t);
		int64_t part = c[starttls_rows[i].part], whole = c[starttls_rows[i].whole];
		if (row < 0 || rtable_text(t, row, "item", starttls_rows[i].key) < 0 ||
		    rtable_text(t, row, "what", starttls_rows[i].what) < 0 ||
		    rtable_text(t, row, "denominator", starttls_rows[i].denominator) < 0)
			return rdb_oom(db);
		rtable_int(t, row, "sessions", part);
		rtable_int(t, row, "of", whole);
		rtable_pct(t, row, "sessions_pct", part, whole);
	}
	return 0;
}

/* ---- counted lists ------------------------------------------------------- */

struct list {
	struct rtable *t;
	const char *key;
	int64_t whole;
};

static int add_counted(void *arg, struct rq_stmt *s)
{
	struct list *l = arg;
	long row = rtable_row(l->t);
	int64_t n = rq_int(s, 1);
	if (row < 0)
		return -1;
	if (rq_type(s, 0) == RQ_INT)
		rtable_int(l->t, row, l->key, rq_int(s, 0));
	else if (rtable_text(l->t, row, l->key, rq_text(s, 0)) < 0)
		return -1;
	rtable_int(l->t, row, "sessions", n);
	rtable_pct(l->t, row, "sessions_pct", n, l->whole);
	return 0;
}

#define REFUSED                                                                        \
	" starttls_sent = 1 AND starttls_reply IS NOT NULL"                            \
	" AND NOT (starttls_reply BETWEEN 200 AND 299) "

static int build_refused(struct rdb *db, struct rmodel *m)
{
	struct list l = {facts_table(db, m, "starttls_refused", code_cols, NCOLS(code_cols)),
			 "code", 0};
	if (!l.t || rdb_scalar(db, "SELECT sum(n) FROM {{src:codes}} WHERE" REFUSED, &l.whole) < 0)
		return -1;
	if (rtable_title(l.t, "STARTTLS refused, by reply code") < 0 ||
	    rtable_note(l.t, "of %lld sessions where STARTTLS was refused", (long long)l.whole) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT starttls_reply, sum(n) AS k FROM {{src:codes}} WHERE" REFUSED
			    "GROUP BY starttls_reply ORDER BY k DESC, starttls_reply", add_counted, &l);
}

static int build_auth(struct rdb *db, struct rmodel *m)
{
	struct list l = {facts_table(db, m, "cleartext_auth", auth_cols, NCOLS(auth_cols)),
			 "mechanism", 0};
	if (!l.t || rdb_scalar(db, "SELECT sum(n) FROM {{src:codes}} WHERE cleartext_auth = 1",
			       &l.whole) < 0)
		return -1;
	if (rtable_title(l.t, "AUTH sent in clear, by mechanism") < 0 ||
	    rtable_note(l.t, "of %lld sessions with AUTH in clear", (long long)l.whole) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT coalesce(auth_mechanism, '(not seen)') AS mechanism,"
			    " sum(n) AS k FROM {{src:codes}} WHERE cleartext_auth = 1"
			    " GROUP BY mechanism ORDER BY k DESC, mechanism", add_counted, &l);
}

/* ---- anomalies: counted by bit, named by the registry ---------------------- */

#define MAX_BITS 64

struct anomaly_count {
	char name[ANOMALY_NAME_MAX];
	int64_t n;
};

struct anomalies {
	int64_t bits[MAX_BITS];
	int64_t any;
};

static int add_anomalies(void *arg, struct rq_stmt *s)
{
	struct anomalies *an = arg;
	uint64_t set = (uint64_t)rq_int(s, 0);
	int64_t n = rq_int(s, 1);
	an->any += n;
	for (int b = 0; b < MAX_BITS; b++)
		if (set >> b & 1)
			an->bits[b] += n;
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const struct anomaly_count *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The bits seen, as names ("bit N" for one the registry does not name). */
static size_t anomaly_names(const struct anomalies *an, struct anomaly_count *out)
{
	size_t n = 0;
	for (int b = 0; b < MAX_BITS; b++) {
		const char *name = b < 32 ? anomaly_name(1u << b) : NULL;
		if (!an->bits[b])
			continue;
		if (name)
			snprintf(out[n].name, sizeof out[n].name, "%s", name);
		else
			snprintf(out[n].name, sizeof out[n].name, "bit %d", b);
		out[n++].n = an->bits[b];
	}
	qsort(out, n, sizeof out[0], by_count);
	return n;
}

static int anomaly_row(struct rtable *t, const char *name, int64_t n, int64_t whole)
{
	return rtable_counted(t, "anomaly", name, n, whole) < 0 ? -1 : 0;
}

static int build_anomalies(struct rdb *db, struct rmodel *m)
{
	struct anomalies an;
	struct anomaly_count named[MAX_BITS];
	struct rtable *t = facts_table(db, m, "anomalies", anomaly_cols, NCOLS(anomaly_cols));
	memset(&an, 0, sizeof an);
	if (!t || rdb_each(db, "SELECT anomalies, sum(n) FROM {{src:codes}} WHERE anomalies <> 0"
			       " GROUP BY anomalies", add_anomalies, &an) < 0)
		return -1;
	size_t n = anomaly_names(&an, named);
	if (rtable_title(t, "Sessions with anomalies") < 0 ||
	    rtable_note(t, "of all %lld sessions, unknown ones included; a session can have"
			   " several", (long long)m->meta.sessions) < 0 ||
	    anomaly_row(t, "(any)", an.any, m->meta.sessions) < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < n; i++)
		if (anomaly_row(t, named[i].name, named[i].n, m->meta.sessions) < 0)
			return rdb_oom(db);
	return 0;
}

int facts_smtp(struct rdb *db, struct rmodel *m)
{
	if (build_starttls(db, m) < 0 || build_refused(db, m) < 0 || build_auth(db, m) < 0 ||
	    build_anomalies(db, m) < 0)
		return -1;
	return 0;
}
