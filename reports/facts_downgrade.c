/* Downgrade evidence, counted per server with the sessions that show it:
 *   starttls_stripped     no STARTTLS in the EHLO reply of a server that
 *                         offers it in other sessions (capability removed;
 *                         a mangled one counts under capability_mangled);
 *   capability_mangled    an EHLO keyword overwritten (e.g. XXXXXXXA);
 *   starttls_refused      STARTTLS refused (not 2xx) by a server that
 *                         accepts it in other sessions;
 *   plaintext_fallback    a client's next session to the same server, in
 *                         clear, starting within FALLBACK_WINDOW seconds of
 *                         the end of a failed TLS handshake;
 *   plaintext_injection   clear data after STARTTLS, before TLS
 *                         (anomaly plaintext_after_starttls). */
#include <stdio.h>
#include <string.h>

#include "facts.h"

#define FALLBACK_WINDOW 300 /* seconds from the failed session's end */
#define IDS_SHOWN 20        /* session ids listed per row */

static const struct rcol summary_cols[] = {
	{"kind", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"servers", "servers", RCOL_NUM},
};

static const struct rcol evidence_cols[] = {
	{"server", "server", 0},
	{"kind", "evidence", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"detail", "detail", RCOL_DETAIL | RCOL_WIRE},
	{"session_ids", "session ids", RCOL_DETAIL},
};

/* The mangled-capability test: the anomaly, or XXXXXXXA in the EHLO reply. */
#define MANGLED                                                                    \
	" (" RDB_ANOMALY(RDB_A_CAPABILITY_MANGLED_N)                                 \
	" OR coalesce(ehlo_keywords, '') GLOB '*XXXXXXXA*') "
#define FAILED_HANDSHAKE                                                           \
	" (tls_outcome IN (" RDB_O_REFUSED ", " RDB_O_FAILED ", " RDB_O_NO_SERVER_HELLO "))"

/* Every query returns server_ip, server_port, count, id list, then up to
 * three values for the detail. */
static const char stripped_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT id, server_ip, server_port, starttls_offered,"
	MANGLED "AS mangled FROM session_rows WHERE" RDB_FILTER "),"
	" s AS (SELECT server_ip, server_port, sum(starttls_offered = 1) AS yes,"
	"  sum(starttls_offered IS NOT NULL) AS ehlo FROM f GROUP BY 1, 2)"
	" SELECT f.server_ip, f.server_port, count(*), group_concat(f.id, ', '),"
	"  s.yes, s.ehlo FROM f JOIN s USING (server_ip, server_port)"
	" WHERE s.yes > 0 AND f.starttls_offered = 0 AND NOT f.mangled"
	" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2;";

static const char mangled_sql[] =
	"SELECT server_ip, server_port, count(*), group_concat(id, ', '), max(ehlo_keywords)"
	" FROM session_rows WHERE" RDB_FILTER "AND" MANGLED
	"GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2;";

static const char refused_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT id, server_ip, server_port, starttls_sent, starttls_reply"
	"  FROM session_rows WHERE" RDB_FILTER "),"
	" acc AS (SELECT server_ip, server_port, count(*) AS k FROM f"
	"  WHERE starttls_reply BETWEEN 200 AND 299 GROUP BY 1, 2)"
	" SELECT f.server_ip, f.server_port, count(*), group_concat(f.id, ', '),"
	"  group_concat(DISTINCT f.starttls_reply), acc.k"
	" FROM f JOIN acc USING (server_ip, server_port)"
	" WHERE f.starttls_sent = 1 AND f.starttls_reply IS NOT NULL"
	"  AND f.starttls_reply NOT BETWEEN 200 AND 299"
	" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2;";

/* For each failed handshake, the same client's next session to the same
 * server within the window (found through the ts_start index), if that
 * one was in clear. */
static const char fallback_sql[] =
	"WITH n AS (SELECT fl.id AS failed_id, fl.ts_end AS failed_end,"
	"  (SELECT g.id FROM session_rows g WHERE" RDB_FILTER
	"   AND g.ts_start BETWEEN fl.ts_start AND fl.ts_end + :window"
	"   AND g.client_ip = fl.client_ip AND g.server_ip = fl.server_ip"
	"   AND g.server_port = fl.server_port AND g.id <> fl.id"
	"   AND (g.ts_start > fl.ts_start OR g.id > fl.id)"
	"   ORDER BY g.ts_start, g.id LIMIT 1) AS next_id"
	"  FROM session_rows fl WHERE" RDB_FILTER "AND" FAILED_HANDSHAKE ")"
	" SELECT s.server_ip, s.server_port, count(*),"
	"  group_concat(n.failed_id || '->' || s.id, ', '), count(DISTINCT s.client_ip)"
	" FROM n JOIN session_rows s ON s.id = n.next_id"
	" WHERE tls_version_rank(s.tls_version) = 0 AND s.transport = " RDB_T_PLAINTEXT
	"  AND s.ts_start - n.failed_end <= :window"
	" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2;";

static const char injection_sql[] =
	"SELECT server_ip, server_port, count(*), group_concat(id, ', ')"
	" FROM session_rows WHERE" RDB_FILTER "AND" RDB_ANOMALY(RDB_A_PLAINTEXT_AFTER_STARTTLS_N)
	" GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2;";

struct kind;
typedef void (*detail_fn)(sqlite3_stmt *s, char *out, size_t n);

struct kind {
	const char *key, *what;
	const char *sql;
	detail_fn detail;
};

struct ctx {
	struct rtable *t;
	const struct kind *k;
	int64_t sessions, servers;
	long limit, shown;
};

static int64_t col(sqlite3_stmt *s, int i)
{
	return sqlite3_column_int64(s, i);
}

static void stripped_detail(sqlite3_stmt *s, char *out, size_t n)
{
	snprintf(out, n, "STARTTLS offered in %lld of %lld EHLO replies", (long long)col(s, 4),
		 (long long)col(s, 5));
}

/* The keyword of the EHLO list that holds "XXXX", or the whole list. */
static void mangled_detail(sqlite3_stmt *s, char *out, size_t n)
{
	const char *kw = (const char *)sqlite3_column_text(s, 4);
	const char *x = kw ? strstr(kw, "XXXX") : NULL;
	size_t start = 0, len;
	if (!kw) {
		snprintf(out, n, "flagged capability_mangled");
		return;
	}
	if (x) {
		start = (size_t)(x - kw);
		while (start > 0 && kw[start - 1] != ',')
			start--;
	}
	len = x ? strcspn(kw + start, ",") : strlen(kw);
	snprintf(out, n, "EHLO keyword%s %.*s", x ? "" : "s", (int)len, kw + start);
}

static void refused_detail(sqlite3_stmt *s, char *out, size_t n)
{
	const char *codes = (const char *)sqlite3_column_text(s, 4);
	snprintf(out, n, "refused with %s; accepted in %lld other sessions", codes ? codes : "?",
		 (long long)col(s, 5));
}

static void fallback_detail(sqlite3_stmt *s, char *out, size_t n)
{
	snprintf(out, n, "%lld client(s) went on in clear within %d s of a failed handshake"
		 " (ids: failed->clear)", (long long)col(s, 4), FALLBACK_WINDOW);
}

static void injection_detail(sqlite3_stmt *s, char *out, size_t n)
{
	(void)s;
	snprintf(out, n, "clear data after STARTTLS, before TLS");
}

static const struct kind kinds[] = {
	{"starttls_stripped", "STARTTLS missing where the server offers it elsewhere",
	 stripped_sql, stripped_detail},
	{"capability_mangled", "EHLO capability mangled (e.g. XXXXXXXA)",
	 mangled_sql, mangled_detail},
	{"starttls_refused", "STARTTLS refused where the server accepts it elsewhere",
	 refused_sql, refused_detail},
	{"plaintext_fallback", "client went on in clear after a failed handshake",
	 fallback_sql, fallback_detail},
	{"plaintext_injection", "clear data injected after STARTTLS, before TLS",
	 injection_sql, injection_detail},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* "1, 2, 3" cut after IDS_SHOWN entries, with "(+N more)". */
static void cap_ids(const char *list, char *out, size_t n)
{
	size_t cut = 0;
	int total = 0;
	if (!list)
		list = "";
	for (const char *p = list; *p; p++)
		if (*p == ',' && ++total == IDS_SHOWN)
			cut = (size_t)(p - list);
	total += *list != '\0';
	if (total <= IDS_SHOWN)
		snprintf(out, n, "%s", list);
	else
		snprintf(out, n, "%.*s (+%d more)", (int)cut, list, total - IDS_SHOWN);
}

static int add_evidence(void *arg, sqlite3_stmt *s)
{
	struct ctx *c = arg;
	const char *ip = (const char *)sqlite3_column_text(s, 0);
	char server[320], detail[400], ids[400];
	long row;
	c->sessions += col(s, 2);
	c->servers++;
	if (c->limit >= 0 && c->shown++ >= c->limit) {
		c->t->more++;
		return 0;
	}
	snprintf(server, sizeof server, strchr(ip ? ip : "", ':') ? "[%s]:%d" : "%s:%d",
		 ip ? ip : "?", sqlite3_column_int(s, 1));
	c->k->detail(s, detail, sizeof detail);
	cap_ids((const char *)sqlite3_column_text(s, 3), ids, sizeof ids);
	if ((row = rtable_row(c->t)) < 0 || rtable_text(c->t, row, "server", server) < 0 ||
	    rtable_text(c->t, row, "kind", c->k->key) < 0 ||
	    rtable_text(c->t, row, "detail", detail) < 0 ||
	    rtable_text(c->t, row, "session_ids", ids) < 0)
		return -1;
	rtable_int(c->t, row, "sessions", col(s, 2));
	return 0;
}

static int run_kind(struct rdb *db, struct ctx *c)
{
	sqlite3_stmt *s = rdb_prepare(db, c->k->sql);
	int rc;
	if (!s)
		return -1;
	rdb_bind_int(s, ":window", FALLBACK_WINDOW);
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_evidence(c, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	return rdb_finish(db, s, rc);
}

static int summary_row(struct rtable *t, const struct kind *k, const struct ctx *c)
{
	long row = rtable_row(t);
	if (row < 0 || rtable_text(t, row, "kind", k->key) < 0 ||
	    rtable_text(t, row, "what", k->what) < 0)
		return -1;
	rtable_int(t, row, "sessions", c->sessions);
	rtable_int(t, row, "servers", c->servers);
	return 0;
}

int facts_downgrade(struct rdb *db, struct rmodel *m)
{
	struct rtable *sum = facts_table(db, m, "downgrade_summary", summary_cols,
					 NCOLS(summary_cols));
	struct rtable *ev = facts_table(db, m, "downgrade", evidence_cols, NCOLS(evidence_cols));
	if (!sum || !ev)
		return -1;
	if (rtable_title(sum, "Downgrade evidence") < 0 ||
	    rtable_note(sum, "sessions showing each kind, and the servers they went to") < 0 ||
	    rtable_title(ev, "Downgrade evidence, per server") < 0 ||
	    rtable_note(ev, "session ids as in the sessions table") < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NKINDS; i++) {
		struct ctx c = {ev, &kinds[i], 0, 0, facts_limit(m), 0};
		if (run_kind(db, &c) < 0)
			return -1;
		if (summary_row(sum, &kinds[i], &c) < 0)
			return rdb_oom(db);
	}
	return 0;
}
