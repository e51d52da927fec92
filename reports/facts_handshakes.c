/* How the handshakes ended and the alerts sent in clear, by code with
 * the registry's names; the most common JA3, JA4 and JA3S fingerprints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/registry.h"
#include "facts.h"

static const struct rcol outcome_cols[] = {
	{"outcome", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT | RCOL_BAR},
};

static const struct rcol alert_cols[] = {
	{"alert", "alert", 0},
	{"sent_by", "sent by", 0},
	{"level", "level", 0},
	{"outcome", "outcome", RCOL_SPARE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"servers", "servers", RCOL_NUM},
};

static const struct rcol fp_cols[] = {
	{"fingerprint", "fingerprint", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"clients", "clients", RCOL_NUM},
	{"servers", "servers", RCOL_NUM},
};

/* ---- handshake outcomes and alerts -------------------------------------------- */

/* The outcomes, always listed, with what each means; the key is the
 * registry's name. */
static const struct {
	enum tls_outcome code;
	const char *what;
} outcomes[] = {
	{OUTCOME_ESTABLISHED, "established: encrypted data both ways"},
	{OUTCOME_REFUSED, "refused: an alert instead of a ServerHello"},
	{OUTCOME_FAILED, "failed: a ServerHello, then an alert"},
	{OUTCOME_NO_SERVER_HELLO, "no ServerHello: a ClientHello, then nothing"},
	{OUTCOME_INCOMPLETE, "incomplete: a ServerHello, then cut short"},
	{OUTCOME_NO_TLS_AFTER_220, "no TLS hello after STARTTLS was accepted"},
};

#define MAX_OTHER_OUTCOMES 16
#define OUTCOME_NAME_MAX 32

/* The listed outcomes' counts, and codes not listed (a newer capture). */
struct outcome_counts {
	int64_t n[NCOLS(outcomes)];
	struct {
		int code;
		int64_t n;
	} other[MAX_OTHER_OUTCOMES];
	size_t nother;
	int64_t total;
};

static int read_outcome(void *arg, sqlite3_stmt *s)
{
	struct outcome_counts *oc = arg;
	int code = sqlite3_column_int(s, 0);
	int64_t n = sqlite3_column_int64(s, 1);
	oc->total += n;
	for (size_t i = 0; i < NCOLS(outcomes); i++)
		if (code == (int)outcomes[i].code) {
			oc->n[i] += n;
			return 0;
		}
	if (oc->nother < MAX_OTHER_OUTCOMES) {
		oc->other[oc->nother].code = code;
		oc->other[oc->nother++].n = n;
	}
	return 0;
}

/* The registry's name of an outcome, or "outcome N". */
static const char *outcome_label(int code, char *buf, size_t n)
{
	const char *name = tls_outcome_name((enum tls_outcome)code);
	if (name)
		return name;
	snprintf(buf, n, "outcome %d", code);
	return buf;
}

static int outcome_row(struct rtable *t, const char *key, const char *what, int64_t n,
		       int64_t total)
{
	long row = rtable_counted(t, "outcome", key, n, total);
	return row < 0 || rtable_text(t, row, "what", what) < 0 ? -1 : 0;
}

static int build_outcomes(struct rdb *db, struct rmodel *m)
{
	struct outcome_counts oc;
	char buf[OUTCOME_NAME_MAX];
	struct rtable *t = facts_table(db, m, "tls_outcomes", outcome_cols, NCOLS(outcome_cols));
	memset(&oc, 0, sizeof oc);
	if (!t || rdb_each(db, "SELECT tls_outcome, count(*) FROM session_rows WHERE" RDB_FILTER
			       "AND tls_outcome IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1;",
			   read_outcome, &oc) < 0)
		return -1;
	if (rtable_title(t, "TLS handshake outcomes") < 0 ||
	    rtable_note(t, "of %lld sessions where TLS was attempted (a TLS hello seen, or"
			   " STARTTLS accepted)", (long long)oc.total) < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NCOLS(outcomes); i++) {
		const char *key = outcome_label((int)outcomes[i].code, buf, sizeof buf);
		if (outcome_row(t, key, outcomes[i].what, oc.n[i], oc.total) < 0)
			return rdb_oom(db);
	}
	for (size_t i = 0; i < oc.nother; i++) {
		const char *key = outcome_label(oc.other[i].code, buf, sizeof buf);
		if (outcome_row(t, key, key, oc.other[i].n, oc.total) < 0)
			return rdb_oom(db);
	}
	return 0;
}

/* ---- alerts: counted by code and sender, labelled and ordered here ------------ */

#define ALERT_LABEL_MAX 48
#define ALERT_OUTCOMES_MAX 160
#define MAX_ALERT_ROWS 100000

struct alert_row {
	char name[ALERT_LABEL_MAX], from[ALERT_LABEL_MAX], level[ALERT_LABEL_MAX];
	char outcomes[ALERT_OUTCOMES_MAX];
	int has_outcomes;
	int64_t n, servers;
};

struct alert_rows {
	struct alert_row *r;
	size_t n, cap;
};

/* "3,2" (outcome codes) as "failed,refused". */
static void outcome_list(const char *codes, char *out, size_t n)
{
	char buf[OUTCOME_NAME_MAX];
	size_t used = 0;
	out[0] = '\0';
	while (codes && *codes && used + 1 < n) {
		const char *name = outcome_label(atoi(codes), buf, sizeof buf);
		used += (size_t)snprintf(out + used, n - used, "%s%s", used ? "," : "", name);
		codes += strcspn(codes, ",");
		codes += *codes == ',';
	}
}

static void alert_labels(struct alert_row *a, int alert, int has_from, int from)
{
	const char *name = tls_alert_name(alert % 256), *dir = has_from ? direction_name(from) : NULL;
	if (name)
		snprintf(a->name, sizeof a->name, "%s", name);
	else
		snprintf(a->name, sizeof a->name, "alert %d", alert % 256);
	snprintf(a->from, sizeof a->from, "%s", dir ? dir : "-");
	if (alert / 256 == 1 || alert / 256 == 2)
		snprintf(a->level, sizeof a->level, "%s", alert / 256 == 1 ? "warning" : "fatal");
	else
		snprintf(a->level, sizeof a->level, "level %d", alert / 256);
}

static int add_alert(void *arg, sqlite3_stmt *s)
{
	struct alert_rows *ar = arg;
	if (ar->n == ar->cap) {
		size_t cap = ar->cap ? ar->cap * 2 : 16;
		struct alert_row *r = cap <= MAX_ALERT_ROWS ? realloc(ar->r, cap * sizeof *r) : NULL;
		if (!r)
			return -1;
		ar->r = r;
		ar->cap = cap;
	}
	struct alert_row *a = &ar->r[ar->n++];
	alert_labels(a, sqlite3_column_int(s, 0), sqlite3_column_type(s, 1) != SQLITE_NULL,
		     sqlite3_column_int(s, 1));
	a->has_outcomes = sqlite3_column_type(s, 2) != SQLITE_NULL;
	outcome_list((const char *)sqlite3_column_text(s, 2), a->outcomes, sizeof a->outcomes);
	a->n = sqlite3_column_int64(s, 3);
	a->servers = sqlite3_column_int64(s, 4);
	return 0;
}

/* Most sessions first, then by description, sender and level. */
static int alert_order(const void *x, const void *y)
{
	const struct alert_row *a = x, *b = y;
	int c;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	if ((c = strcmp(a->name, b->name)) || (c = strcmp(a->from, b->from)))
		return c;
	return strcmp(a->level, b->level);
}

static int alert_table_row(struct counted *l, const struct alert_row *a)
{
	long row = rtable_counted(l->t, "alert", a->name, a->n, l->whole);
	if (row < 0 || rtable_text(l->t, row, "sent_by", a->from) < 0 ||
	    rtable_text(l->t, row, "level", a->level) < 0 ||
	    rtable_text(l->t, row, "outcome", a->has_outcomes ? a->outcomes : NULL) < 0)
		return -1;
	rtable_int(l->t, row, "servers", a->servers);
	return 0;
}

static int build_alerts(struct rdb *db, struct rmodel *m)
{
	struct counted l = {facts_table(db, m, "tls_alerts", alert_cols, NCOLS(alert_cols)), 0};
	struct alert_rows ar = {NULL, 0, 0};
	int rc;
	if (!l.t || rdb_scalar(db, "SELECT count(*) FROM session_rows WHERE" RDB_FILTER
				   "AND tls_alert IS NOT NULL;", &l.whole) < 0)
		return -1;
	if (rtable_title(l.t, "TLS alerts sent in clear, by description and sender") < 0 ||
	    rtable_note(l.t, "of %lld sessions with an alert in clear (the first one);"
			     " outcome: how those handshakes ended", (long long)l.whole) < 0)
		return rdb_oom(db);
	rc = rdb_each(db, "SELECT tls_alert, tls_alert_from, group_concat(DISTINCT tls_outcome),"
			  " count(*), count(DISTINCT" RDB_SERVER ") FROM session_rows WHERE"
			  RDB_FILTER "AND tls_alert IS NOT NULL GROUP BY 1, 2;",
		      add_alert, &ar);
	if (rc == 0 && ar.n)
		qsort(ar.r, ar.n, sizeof ar.r[0], alert_order);
	for (size_t i = 0; rc == 0 && i < ar.n; i++)
		if (alert_table_row(&l, &ar.r[i]) < 0)
			rc = rdb_oom(db);
	free(ar.r);
	return rc;
}

int facts_handshakes(struct rdb *db, struct rmodel *m)
{
	if (build_outcomes(db, m) < 0 || build_alerts(db, m) < 0)
		return -1;
	return 0;
}

/* ---- fingerprints --------------------------------------------------------------- */

#define FP_SQL(col)                                                                      \
	"SELECT " col ", count(*), count(DISTINCT client_ip), count(DISTINCT" RDB_SERVER "),"   \
	" count(*) OVER () FROM session_rows WHERE" RDB_FILTER "AND " col " IS NOT NULL"           \
	" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :limit;"

struct fp_ctx {
	struct rtable *t;
	int64_t whole, distinct;
};

static int add_fp(void *arg, sqlite3_stmt *s)
{
	struct fp_ctx *c = arg;
	long row = rtable_counted(c->t, "fingerprint", (const char *)sqlite3_column_text(s, 0),
				  sqlite3_column_int64(s, 1), c->whole);
	if (row < 0)
		return -1;
	rtable_int(c->t, row, "clients", sqlite3_column_int64(s, 2));
	rtable_int(c->t, row, "servers", sqlite3_column_int64(s, 3));
	c->distinct = sqlite3_column_int64(s, 4);
	return 0;
}

static int build_fp(struct rdb *db, struct rmodel *m, const char *id, const char *title,
		    const char *count_sql, const char *sql, const char *of)
{
	struct fp_ctx c = {facts_table(db, m, id, fp_cols, NCOLS(fp_cols)), 0, 0};
	sqlite3_stmt *s;
	int rc;
	if (!c.t || rdb_scalar(db, count_sql, &c.whole) < 0)
		return -1;
	if (rtable_title(c.t, "%s", title) < 0 ||
	    rtable_note(c.t, "of %lld %s; clients: addresses; servers: address and port",
			(long long)c.whole, of) < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_fp(&c, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	c.t->more = c.distinct > (int64_t)c.t->nrows ? c.distinct - (int64_t)c.t->nrows : 0;
	return rdb_finish(db, s, rc);
}

int facts_fingerprints(struct rdb *db, struct rmodel *m)
{
	if (build_fp(db, m, "ja3", "Client fingerprints: JA3, most common first",
		     "SELECT count(*) FROM session_rows WHERE" RDB_FILTER "AND ja3 IS NOT NULL;",
		     FP_SQL("ja3"), "sessions with a JA3 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja4", "Client fingerprints: JA4, most common first",
		     "SELECT count(*) FROM session_rows WHERE" RDB_FILTER "AND ja4 IS NOT NULL;",
		     FP_SQL("ja4"), "sessions with a JA4 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja3s", "Server fingerprints: JA3S, most common first",
		     "SELECT count(*) FROM session_rows WHERE" RDB_FILTER "AND ja3s IS NOT NULL;",
		     FP_SQL("ja3s"), "sessions with a JA3S (final ServerHello)") < 0)
		return -1;
	return 0;
}
