/* Per server (address and port), its posture across sessions: STARTTLS
 * offered always / sometimes / never, the versions and ciphers it
 * negotiated, and what it received in clear. Worst offenders first: most
 * plaintext sessions, then most mail in clear, then STARTTLS never before
 * sometimes before always, then the oldest TLS version. */
#include <stdio.h>
#include <string.h>

#include "facts.h"

static const struct rcol server_cols[] = {
	{"server", "server", 0},
	{"name", "banner name", RCOL_WIRE | RCOL_DETAIL},
	{"sni", "SNI asked for", RCOL_WIRE | RCOL_DETAIL},
	{"sessions", "sessions", RCOL_NUM},
	{"encrypted", "enc.", RCOL_NUM},
	{"clear", "clear", RCOL_NUM},
	{"clear_pct", "%", RCOL_PCT | RCOL_NOTEXT},
	{"mail_clear", "MAIL clear", RCOL_NUM},
	{"starttls", "STARTTLS", 0},
	{"starttls_offered", "offered in", RCOL_NUM | RCOL_NOTEXT},
	{"ehlo_replies", "EHLO replies", RCOL_NUM | RCOL_NOTEXT},
	{"starttls_refused", "STARTTLS refused", RCOL_NUM | RCOL_DETAIL},
	{"cleartext_auth", "AUTH in clear", RCOL_NUM | RCOL_DETAIL},
	{"unknown", "unknown", RCOL_NUM | RCOL_NOTEXT},
	{"versions", "versions", RCOL_DETAIL},
	{"ciphers", "ciphers", RCOL_DETAIL},
};

/* One statement: per-server counts, the most frequent banner name, and
 * "name count" lists of versions and ciphers. */
static const char servers_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM sessions WHERE" RDB_FILTER "),"
	" agg AS (SELECT server_ip, server_port, count(*) AS n, sum(" RDB_ENC ") AS enc,"
	"  sum(" RDB_CLEAR ") AS clear, sum(NOT " RDB_KNOWN ") AS unknown,"
	"  sum(plaintext_transactions) AS mail, sum(starttls_offered = 1) AS offered,"
	"  sum(starttls_offered IS NOT NULL) AS ehlo, sum(transport = 'implicit_tls') AS implicit,"
	"  sum(starttls_sent = 1 AND starttls_reply IS NOT NULL"
	"      AND starttls_reply NOT BETWEEN 200 AND 299) AS refused,"
	"  sum(cleartext_auth = 1) AS auth, min(tls_version_code) AS minver"
	"  FROM f GROUP BY 1, 2),"
	" names AS (SELECT server_ip, server_port, server_name, max(k) FROM"
	"  (SELECT server_ip, server_port, server_name, count(*) AS k FROM f"
	"   WHERE server_name IS NOT NULL GROUP BY 1, 2, 3) GROUP BY 1, 2),"
	" snis AS (SELECT server_ip, server_port, sni, max(k) FROM"
	"  (SELECT server_ip, server_port, sni, count(*) AS k FROM f"
	"   WHERE sni IS NOT NULL GROUP BY 1, 2, 3) GROUP BY 1, 2),"
	" vers AS (SELECT server_ip, server_port, group_concat(tls_version || ' ' || k, ', ') AS l"
	"  FROM (SELECT server_ip, server_port, tls_version, count(*) AS k,"
	"   max(tls_version_code) AS c FROM f WHERE tls_version IS NOT NULL"
	"   GROUP BY 1, 2, 3 ORDER BY 1, 2, c DESC) GROUP BY 1, 2),"
	" ciph AS (SELECT server_ip, server_port, group_concat(cn || ' ' || k, ', ') AS l"
	"  FROM (SELECT server_ip, server_port,"
	"   coalesce(cipher_name, printf('0x%04X', cipher_suite)) AS cn, count(*) AS k"
	"   FROM f WHERE tls_version IS NOT NULL AND cipher_suite IS NOT NULL"
	"   GROUP BY 1, 2, 3 ORDER BY 1, 2, k DESC, cn) GROUP BY 1, 2)"
	" SELECT a.server_ip, a.server_port, a.n, a.enc, a.clear, a.unknown, a.mail, a.offered,"
	"  a.ehlo, a.implicit, a.refused, a.auth, names.server_name, vers.l, ciph.l, snis.sni,"
	"  (SELECT count(*) FROM agg)"
	" FROM agg a LEFT JOIN names USING (server_ip, server_port)"
	"  LEFT JOIN snis USING (server_ip, server_port)"
	"  LEFT JOIN vers USING (server_ip, server_port)"
	"  LEFT JOIN ciph USING (server_ip, server_port)"
	" ORDER BY a.clear DESC, a.mail DESC,"
	"  CASE WHEN a.ehlo = 0 THEN 3 WHEN a.offered = 0 THEN 0"
	"   WHEN a.offered < a.ehlo THEN 1 ELSE 2 END,"
	"  a.minver IS NULL, a.minver, a.n DESC, a.server_ip, a.server_port"
	" LIMIT :limit;";

enum { C_IP, C_PORT, C_N, C_ENC, C_CLEAR, C_UNKNOWN, C_MAIL, C_OFFERED, C_EHLO, C_IMPLICIT,
       C_REFUSED, C_AUTH, C_NAME, C_VERSIONS, C_CIPHERS, C_SNI, C_TOTAL };

/* "always", "sometimes", "never", "implicit TLS" or "no EHLO seen". */
static const char *posture(int64_t offered, int64_t ehlo, int64_t implicit, int64_t n)
{
	if (ehlo == 0)
		return implicit == n ? "implicit TLS" : "no EHLO seen";
	if (offered == 0)
		return "never";
	return offered < ehlo ? "sometimes" : "always";
}

static int set_text_col(struct rtable *t, long row, const char *key, sqlite3_stmt *s, int col)
{
	return rtable_text(t, row, key, (const char *)sqlite3_column_text(s, col));
}

static void set_counts(struct rtable *t, long row, sqlite3_stmt *s)
{
	int64_t known = sqlite3_column_int64(s, C_ENC) + sqlite3_column_int64(s, C_CLEAR);
	rtable_int(t, row, "sessions", sqlite3_column_int64(s, C_N));
	rtable_int(t, row, "encrypted", sqlite3_column_int64(s, C_ENC));
	rtable_int(t, row, "clear", sqlite3_column_int64(s, C_CLEAR));
	rtable_pct(t, row, "clear_pct", sqlite3_column_int64(s, C_CLEAR), known);
	rtable_int(t, row, "mail_clear", sqlite3_column_int64(s, C_MAIL));
	rtable_int(t, row, "starttls_offered", sqlite3_column_int64(s, C_OFFERED));
	rtable_int(t, row, "ehlo_replies", sqlite3_column_int64(s, C_EHLO));
	rtable_int(t, row, "starttls_refused", sqlite3_column_int64(s, C_REFUSED));
	rtable_int(t, row, "cleartext_auth", sqlite3_column_int64(s, C_AUTH));
	rtable_int(t, row, "unknown", sqlite3_column_int64(s, C_UNKNOWN));
}

static int add_server(void *arg, sqlite3_stmt *s)
{
	struct rtable *t = arg;
	const char *ip = (const char *)sqlite3_column_text(s, C_IP);
	char server[320];
	long row = rtable_row(t);
	snprintf(server, sizeof server, strchr(ip ? ip : "", ':') ? "[%s]:%d" : "%s:%d",
		 ip ? ip : "?", sqlite3_column_int(s, C_PORT));
	t->more = sqlite3_column_int64(s, C_TOTAL);
	if (row < 0 || rtable_text(t, row, "server", server) < 0 ||
	    set_text_col(t, row, "name", s, C_NAME) < 0 ||
	    set_text_col(t, row, "sni", s, C_SNI) < 0 ||
	    set_text_col(t, row, "versions", s, C_VERSIONS) < 0 ||
	    set_text_col(t, row, "ciphers", s, C_CIPHERS) < 0 ||
	    rtable_text(t, row, "starttls",
			posture(sqlite3_column_int64(s, C_OFFERED), sqlite3_column_int64(s, C_EHLO),
				sqlite3_column_int64(s, C_IMPLICIT),
				sqlite3_column_int64(s, C_N))) < 0)
		return -1;
	set_counts(t, row, s);
	return 0;
}

int facts_servers(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "servers", server_cols, NCOLS(server_cols));
	sqlite3_stmt *s;
	int rc;
	if (!t)
		return -1;
	if (rtable_title(t, "Servers, worst first") < 0 ||
	    rtable_note(t, "per server address and port; clear: sessions not encrypted;"
			   " STARTTLS: offered in always / sometimes / never of its EHLO"
			   " replies") < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, servers_sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_server(t, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	t->more = t->more > (int64_t)t->nrows ? t->more - (int64_t)t->nrows : 0;
	return rdb_finish(db, s, rc);
}
