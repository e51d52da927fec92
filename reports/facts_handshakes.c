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

static int read_outcome(void *arg, struct rq_stmt *s)
{
	struct outcome_counts *oc = arg;
	int code = (int)rq_int(s, 0);
	int64_t n = rq_int(s, 1);
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
	if (!t || rdb_each(db, "SELECT tls_outcome, sum(n) AS k FROM {{src:codes}}"
			       " WHERE tls_outcome IS NOT NULL GROUP BY tls_outcome"
			       " ORDER BY k DESC, tls_outcome",
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
	int alert, from; /* codes; from -1 when unknown */
	char name[ALERT_LABEL_MAX], from_name[ALERT_LABEL_MAX], level[ALERT_LABEL_MAX];
	char outcomes[ALERT_OUTCOMES_MAX];
	int has_outcomes;
	int64_t n, servers;
};

struct alert_rows {
	struct alert_row *r;
	size_t n, cap;
};

static void alert_labels(struct alert_row *a, int alert, int has_from, int from)
{
	const char *name = tls_alert_name(alert % 256), *dir = has_from ? direction_name(from) : NULL;
	a->alert = alert;
	a->from = has_from ? from : -1;
	if (name)
		snprintf(a->name, sizeof a->name, "%s", name);
	else
		snprintf(a->name, sizeof a->name, "alert %d", alert % 256);
	snprintf(a->from_name, sizeof a->from_name, "%s", dir ? dir : "-");
	if (alert / 256 == 1 || alert / 256 == 2)
		snprintf(a->level, sizeof a->level, "%s", alert / 256 == 1 ? "warning" : "fatal");
	else
		snprintf(a->level, sizeof a->level, "level %d", alert / 256);
}

/* Per alert and sender: its sessions and the distinct servers. */
static int add_alert(void *arg, struct rq_stmt *s)
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
	alert_labels(a, (int)rq_int(s, 0), !rq_null(s, 1), (int)rq_int(s, 1));
	a->has_outcomes = 0;
	a->outcomes[0] = '\0';
	a->n = rq_int(s, 2);
	a->servers = rq_int(s, 3);
	return 0;
}

/* How the handshakes with an alert ended: "failed,refused", outcome codes
 * in order. */
static int add_alert_outcome(void *arg, struct rq_stmt *s)
{
	struct alert_rows *ar = arg;
	int alert = (int)rq_int(s, 0), from = rq_null(s, 1) ? -1 : (int)rq_int(s, 1);
	char buf[OUTCOME_NAME_MAX];
	const char *name = outcome_label((int)rq_int(s, 2), buf, sizeof buf);
	for (size_t i = 0; i < ar->n; i++) {
		struct alert_row *a = &ar->r[i];
		size_t used = strlen(a->outcomes);
		if (a->alert != alert || a->from != from)
			continue;
		snprintf(a->outcomes + used, sizeof a->outcomes - used, "%s%s", used ? "," : "", name);
		a->has_outcomes = 1;
	}
	return 0;
}

/* Most sessions first, then by description, sender and level. */
static int alert_order(const void *x, const void *y)
{
	const struct alert_row *a = x, *b = y;
	int c;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	if ((c = strcmp(a->name, b->name)) || (c = strcmp(a->from_name, b->from_name)))
		return c;
	return strcmp(a->level, b->level);
}

static int alert_table_row(struct counted *l, const struct alert_row *a)
{
	long row = rtable_counted(l->t, "alert", a->name, a->n, l->whole);
	if (row < 0 || rtable_text(l->t, row, "sent_by", a->from_name) < 0 ||
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
	if (!l.t || rdb_scalar(db, "SELECT sum(n) FROM {{src:servers}} WHERE tls_alert IS NOT NULL",
			       &l.whole) < 0)
		return -1;
	if (rtable_title(l.t, "TLS alerts sent in clear, by description and sender") < 0 ||
	    rtable_note(l.t, "of %lld sessions with an alert in clear (the first one);"
			     " outcome: how those handshakes ended", (long long)l.whole) < 0)
		return rdb_oom(db);
	rc = rdb_each(db, "SELECT tls_alert, tls_alert_from, sum(k), count(*) FROM"
			  " (SELECT tls_alert, tls_alert_from, server_ip, server_port, sum(n) AS k"
			  " FROM {{src:servers}} WHERE tls_alert IS NOT NULL"
			  " GROUP BY tls_alert, tls_alert_from, server_ip, server_port) a"
			  " GROUP BY tls_alert, tls_alert_from",
		      add_alert, &ar);
	if (rc == 0)
		rc = rdb_each(db, "SELECT tls_alert, tls_alert_from, tls_outcome FROM {{src:servers}}"
				  " WHERE tls_alert IS NOT NULL AND tls_outcome IS NOT NULL"
				  " GROUP BY tls_alert, tls_alert_from, tls_outcome"
				  " ORDER BY tls_alert, tls_alert_from, tls_outcome",
			      add_alert_outcome, &ar);
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

/* A fingerprint's sessions, the client addresses and the servers that
 * had it; most sessions first. */
#define FP_SQL(col)                                                                      \
	"SELECT " col ", sum(n) AS k, count(DISTINCT client_ip), count(DISTINCT" RDB_SERVER ")" \
	" FROM {{src:clients}} WHERE " col " IS NOT NULL GROUP BY " col " ORDER BY k DESC, " col

struct fp_ctx {
	struct rtable *t;
	int64_t whole;
	long limit, seen;
};

/* First pass: the sessions with a fingerprint (the percentages' whole). */
static int sum_fp(void *arg, struct rq_stmt *s)
{
	((struct fp_ctx *)arg)->whole += rq_int(s, 1);
	return 0;
}

static int add_fp(void *arg, struct rq_stmt *s)
{
	struct fp_ctx *c = arg;
	if (c->limit >= 0 && c->seen++ >= c->limit) {
		c->t->more++;
		return 0;
	}
	long row = rtable_counted(c->t, "fingerprint", rq_text(s, 0), rq_int(s, 1), c->whole);
	if (row < 0)
		return -1;
	rtable_int(c->t, row, "clients", rq_int(s, 2));
	rtable_int(c->t, row, "servers", rq_int(s, 3));
	return 0;
}

static int build_fp(struct rdb *db, struct rmodel *m, const char *id, const char *title,
		    const char *count_sql, const char *sql, const char *of)
{
	struct fp_ctx c = {facts_table(db, m, id, fp_cols, NCOLS(fp_cols)), 0, facts_limit(m), 0};
	if (!c.t || rdb_each(db, count_sql, sum_fp, &c) < 0)
		return -1;
	if (rtable_title(c.t, "%s", title) < 0 ||
	    rtable_note(c.t, "of %lld %s; clients: addresses; servers: address and port",
			(long long)c.whole, of) < 0)
		return rdb_oom(db);
	return rdb_each(db, sql, add_fp, &c);
}

#define FP_COUNT(col) \
	"SELECT NULL, sum(n) FROM {{src:clients}} WHERE " col " IS NOT NULL"

int facts_fingerprints(struct rdb *db, struct rmodel *m)
{
	if (build_fp(db, m, "ja3", "Client fingerprints: JA3, most common first", FP_COUNT("ja3"),
		     FP_SQL("ja3"), "sessions with a JA3 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja4", "Client fingerprints: JA4, most common first", FP_COUNT("ja4"),
		     FP_SQL("ja4"), "sessions with a JA4 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja3s", "Server fingerprints: JA3S, most common first",
		     FP_COUNT("ja3s"), FP_SQL("ja3s"), "sessions with a JA3S (final ServerHello)") < 0)
		return -1;
	return 0;
}
