/* Who still sends in clear: per client address, the sessions that were not
 * encrypted, the mail and AUTH sent in clear, and how often the client
 * left an offered STARTTLS unused. Clients with no clear session are left
 * out; most mail in clear first. */
#include <stdio.h>

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
	"WITH f AS NOT MATERIALIZED (SELECT * FROM sessions WHERE" RDB_FILTER "),"
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
	    rtable_note(t, "per client address; sessions: with SMTP or TLS seen; clear: not"
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
