/* Who still sends in clear: per client address, the sessions that were not
 * encrypted, the mail and AUTH sent in clear, and how often the client
 * left an offered STARTTLS unused. Clients with no clear session are left
 * out; most mail in clear first.
 *
 * The client's side of TLS: what the first ClientHello offered (TLS 1.3,
 * weak suites, the highest version, SSLv2 format), and per client address
 * the clients that offer old or weak TLS, worst first. */
#include <stdio.h>

#include "../common/registry.h"
#include "facts.h"

static const struct rcol client_cols[] = {
	{"client", "client", 0},
	{"ehlo_name", "EHLO name in clear", RCOL_WIRE | RCOL_DETAIL},
	{"sessions", "sessions", RCOL_NUM},
	{"clear", "clear", RCOL_NUM},
	{"clear_pct", "%", RCOL_PCT},
	{"mail_clear", "MAIL clear", RCOL_NUM},
	{"starttls_not_used", "not used", RCOL_NUM},
	{"cleartext_auth", "AUTH clear", RCOL_NUM},
	{"servers", "servers", RCOL_NUM | RCOL_NOTEXT},
};

static const char clients_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM session_rows WHERE" RDB_FILTER "),"
	" agg AS (SELECT client_ip, sum(" RDB_KNOWN ") AS n, sum(" RDB_CLEAR ") AS clear,"
	"  sum(plaintext_transactions) AS mail,"
	"  sum(starttls_offered = 1 AND starttls_sent = 0) AS not_used,"
	"  sum(cleartext_auth = 1) AS auth, count(DISTINCT server_ip || ' ' || server_port) AS srv"
	"  FROM f GROUP BY 1 HAVING clear > 0),"
	" names AS (SELECT client_ip, ehlo_name, max(k) FROM"
	"  (SELECT client_ip, ehlo_name, count(*) AS k FROM f WHERE ehlo_name IS NOT NULL"
	"   AND" RDB_CLEAR
	"   GROUP BY 1, 2) GROUP BY 1)"
	" SELECT a.client_ip, names.ehlo_name, a.n, a.clear, a.mail, a.not_used, a.auth, a.srv,"
	"  (SELECT count(*) FROM agg)"
	" FROM agg a LEFT JOIN names USING (client_ip)"
	" ORDER BY a.mail DESC, a.auth DESC, a.clear DESC, a.client_ip LIMIT :limit;";

static int add_client(void *arg, sqlite3_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	if (row < 0 || rtable_text(t, row, "client", (const char *)sqlite3_column_text(s, 0)) < 0 ||
	    rtable_text(t, row, "ehlo_name", (const char *)sqlite3_column_text(s, 1)) < 0)
		return -1;
	rtable_int(t, row, "sessions", sqlite3_column_int64(s, 2));
	rtable_int(t, row, "clear", sqlite3_column_int64(s, 3));
	rtable_pct(t, row, "clear_pct", sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 2));
	rtable_int(t, row, "mail_clear", sqlite3_column_int64(s, 4));
	rtable_int(t, row, "starttls_not_used", sqlite3_column_int64(s, 5));
	rtable_int(t, row, "cleartext_auth", sqlite3_column_int64(s, 6));
	rtable_int(t, row, "servers", sqlite3_column_int64(s, 7));
	t->more = sqlite3_column_int64(s, 8);
	return 0;
}

int facts_clients(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "clients", client_cols, NCOLS(client_cols));
	sqlite3_stmt *s;
	int rc;
	if (!t)
		return -1;
	if (rtable_title(t, "Clients sending in clear, most mail first") < 0 ||
	    rtable_note(t, "per client address; sessions: known ones (unknown apart); clear: not"
			   " encrypted; not used: STARTTLS offered but not used") < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, clients_sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_client(t, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	t->more = t->more > (int64_t)t->nrows ? t->more - (int64_t)t->nrows : 0;
	return rdb_finish(db, s, rc);
}

/* ---- what the clients offer ------------------------------------------------- */

enum { O_HELLOS, O_TLS13, O_NO_TLS13, O_OLD, O_WEAK, O_SSLV2 };

static const char offer_sql[] =
	"SELECT sum(client_hello = 1), sum(client_offered_tls13 = 1),"
	" sum(client_offered_tls13 = 0),"
	" sum(client_hello = 1 AND tls_version_legacy(client_max_version) = 1),"
	" sum(client_offered_weak = 1), sum(sslv2_hello = 1)"
	" FROM session_rows WHERE" RDB_FILTER ";";

#define HELLOS "sessions with a ClientHello"
static const struct facts_share offer_lines[] = {
	{"offered_tls13", "offered TLS 1.3", NULL, O_TLS13, O_HELLOS, HELLOS, -1, -1},
	{"no_tls13", "did not offer TLS 1.3", NULL, O_NO_TLS13, O_HELLOS, HELLOS, -1, -1},
	{"max_tls11_or_older", "offered nothing newer than TLS 1.1", NULL, O_OLD, O_HELLOS,
	 HELLOS, -1, -1},
	{"offered_weak", "offered a weak suite (among others)", NULL, O_WEAK, O_HELLOS, HELLOS,
	 -1, -1},
	{"sslv2_hello", "sent an SSLv2-format hello", NULL, O_SSLV2, O_HELLOS, HELLOS, -1, -1},
};

static const struct rcol version_cols[] = {
	{"version", "highest offered", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT | RCOL_BAR},
};

/* Highest versions by rank (the registry's order), newest first. */
static int add_version(void *arg, sqlite3_stmt *s)
{
	struct counted *c = arg;
	const char *name = tls_rank_name(sqlite3_column_int(s, 0));
	return rtable_counted(c->t, "version", name ? name : "(unknown)",
			      sqlite3_column_int64(s, 1), c->whole) < 0 ? -1 : 0;
}

static int build_offers(struct rdb *db, struct rmodel *m)
{
	struct counted c = {facts_table(db, m, "client_offers", facts_share_cols, FACTS_SHARE_NCOLS), 0};
	if (!c.t)
		return -1;
	if (facts_shares(db, c.t, offer_sql, offer_lines, NCOLS(offer_lines)) < 0)
		return -1;
	c.whole = rtable_at(c.t, 0, (size_t)rtable_col(c.t, "of"))->i;
	if (rtable_title(c.t, "What the clients offered (the client's side)") < 0 ||
	    rtable_note(c.t, "of %lld sessions with a ClientHello (the first one); weak: NULL,"
			     " EXPORT, anon, RC4, DES, 3DES or SSLv2 ciphers",
			(long long)c.whole) < 0)
		return rdb_oom(db);
	if (!(c.t = facts_table(db, m, "client_versions", version_cols, NCOLS(version_cols))))
		return -1;
	if (rtable_title(c.t, "Highest TLS version the clients offered") < 0 ||
	    rtable_note(c.t, "of %lld sessions with a ClientHello", (long long)c.whole) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT tls_version_rank(client_max_version) AS r, count(*)"
			    " FROM session_rows WHERE" RDB_FILTER "AND client_hello = 1 GROUP BY r"
			    " ORDER BY r DESC;",
			add_version, &c);
}

/* ---- per client: old or weak offers -------------------------------------------- */

static const struct rcol weak_cols[] = {
	{"client", "client", 0},
	{"ehlo_name", "EHLO name", RCOL_WIRE | RCOL_DETAIL},
	{"ja4", "JA4", RCOL_WIRE | RCOL_DETAIL},
	{"hellos", "hellos", RCOL_NUM},
	{"no_tls13", "no 1.3", RCOL_NUM},
	{"no_tls13_pct", "%", RCOL_PCT},
	{"lowest_max", "lowest max", 0},
	{"offered_weak", "weak", RCOL_NUM},
	{"only_weak", "only weak", RCOL_NUM},
	{"no_fs", "no FS", RCOL_NUM | RCOL_SPARE},
	{"servers", "servers", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
};

static const char weak_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM session_rows WHERE" RDB_FILTER
	"  AND client_hello = 1),"
	" agg AS (SELECT client_ip, count(*) AS n," RDB_COUNT("client_offered_tls13 = 0") "AS no13,"
	RDB_COUNT("client_offered_weak = 1") "AS weak,"
	RDB_COUNT("weak_cipher = 1 AND server_chose_weak = 0") "AS only_weak,"
	RDB_COUNT("forward_secrecy = 0 AND server_declined_fs = 0") "AS nofs,"
	"  min(tls_version_rank(client_max_version)) AS lowest,"
	"  count(DISTINCT" RDB_SERVER ") AS srv"
	"  FROM f GROUP BY 1 HAVING no13 + weak + only_weak + nofs > 0),"
	" names AS (SELECT client_ip, ehlo_name, max(k) FROM (SELECT client_ip, ehlo_name,"
	"  count(*) AS k FROM f WHERE ehlo_name IS NOT NULL GROUP BY 1, 2) GROUP BY 1),"
	" fps AS (SELECT client_ip, ja4, max(k) FROM (SELECT client_ip, ja4, count(*) AS k"
	"  FROM f WHERE ja4 IS NOT NULL GROUP BY 1, 2) GROUP BY 1)"
	" SELECT a.client_ip, names.ehlo_name, fps.ja4, a.n, a.no13, a.lowest, a.weak,"
	"  a.only_weak, a.nofs, a.srv, (SELECT count(*) FROM agg)"
	" FROM agg a LEFT JOIN names USING (client_ip) LEFT JOIN fps USING (client_ip)"
	" ORDER BY a.only_weak DESC, a.lowest, a.nofs DESC, a.weak DESC, a.no13 DESC,"
	"  a.n DESC, a.client_ip LIMIT :limit;";

static int add_weak(void *arg, sqlite3_stmt *s)
{
	struct rtable *t = arg;
	long row = rtable_row(t);
	const char *lowest = tls_rank_name(sqlite3_column_int(s, 5));
	int64_t n = sqlite3_column_int64(s, 3), no13 = sqlite3_column_int64(s, 4);
	if (row < 0 || rtable_text(t, row, "client", (const char *)sqlite3_column_text(s, 0)) < 0 ||
	    rtable_text(t, row, "ehlo_name", (const char *)sqlite3_column_text(s, 1)) < 0 ||
	    rtable_text(t, row, "ja4", (const char *)sqlite3_column_text(s, 2)) < 0 ||
	    rtable_text(t, row, "lowest_max", lowest ? lowest : "-") < 0)
		return -1;
	rtable_int(t, row, "hellos", n);
	rtable_int(t, row, "no_tls13", no13);
	rtable_pct(t, row, "no_tls13_pct", no13, n);
	rtable_int(t, row, "offered_weak", sqlite3_column_int64(s, 6));
	rtable_int(t, row, "only_weak", sqlite3_column_int64(s, 7));
	rtable_int(t, row, "no_fs", sqlite3_column_int64(s, 8));
	rtable_int(t, row, "servers", sqlite3_column_int64(s, 9));
	t->more = sqlite3_column_int64(s, 10);
	return 0;
}

static int build_weak(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "client_weak", weak_cols, NCOLS(weak_cols));
	sqlite3_stmt *s;
	int rc;
	if (!t)
		return -1;
	if (rtable_title(t, "Clients offering old or weak TLS, worst first (the client's side)") < 0 ||
	    rtable_note(t, "per client address; hellos: sessions with a ClientHello; no 1.3:"
			   " TLS 1.3 not offered; lowest max: the oldest highest version it"
			   " offered; weak: a weak suite among those offered; only weak, no FS:"
			   " the server had nothing better to pick") < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, weak_sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_weak(t, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	t->more = t->more > (int64_t)t->nrows ? t->more - (int64_t)t->nrows : 0;
	return rdb_finish(db, s, rc);
}

int facts_offers(struct rdb *db, struct rmodel *m)
{
	if (build_offers(db, m) < 0 || build_weak(db, m) < 0)
		return -1;
	return 0;
}
