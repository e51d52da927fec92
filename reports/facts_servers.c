/* Per server (address and port), its posture across sessions: STARTTLS
 * offered always / sometimes / never, the versions and ciphers it
 * negotiated, the weakest crypto it settled for, its own faults, how its
 * handshakes ended, its certificate, and what it received in clear.
 * Worst offenders first: most plaintext sessions, then most mail in clear,
 * then STARTTLS never before sometimes before always, then the oldest TLS
 * version.
 *
 * Also what only the server decides: the suite. Sessions where it picked a
 * weak suite or one without forward secrecy although the client offered
 * better (the server's fault), against those where the client offered
 * nothing better; and the certificates servers present in clear. */
#include <stdarg.h>
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
	{"worst_crypto", "worst", RCOL_SPARE},
	{"fault", "server's fault", RCOL_DETAIL},
	{"handshakes", "handshakes not established", RCOL_DETAIL},
	{"certificate", "certificate", RCOL_WIRE | RCOL_DETAIL},
	{"both_hellos", "both hellos", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"chose_weak", "chose weak", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"declined_fs", "declined FS", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"tls_refused", "TLS refused", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"tls_failed", "TLS failed", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"cert_sessions", "with certificate", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"cert_expired", "certificate expired", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"cert_self_signed", "self-signed", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"cert_name_mismatch", "name mismatch", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
	{"certificates", "certificates", RCOL_NUM | RCOL_NOTEXT | RCOL_DATA},
};

/* One statement: per-server counts, the most frequent banner name, and
 * "name count" lists of versions and ciphers. */
static const char servers_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM session_rows WHERE" RDB_FILTER "),"
	" agg AS (SELECT server_ip, server_port, count(*) AS n, sum(" RDB_ENC ") AS enc,"
	"  sum(" RDB_CLEAR ") AS clear, sum(NOT " RDB_KNOWN ") AS unknown,"
	"  sum(plaintext_transactions) AS mail, sum(starttls_offered = 1) AS offered,"
	"  sum(starttls_offered IS NOT NULL) AS ehlo,"
	"  sum(transport = " RDB_T_IMPLICIT ") AS implicit,"
	"  sum(starttls_sent = 1 AND starttls_reply IS NOT NULL"
	"      AND starttls_reply NOT BETWEEN 200 AND 299) AS refused,"
	"  sum(cleartext_auth = 1) AS auth, min(tls_version) AS minver"
	"  FROM f GROUP BY 1, 2),"
	" names AS (SELECT server_ip, server_port, server_name, max(k) FROM"
	"  (SELECT server_ip, server_port, server_name, count(*) AS k FROM f"
	"   WHERE server_name IS NOT NULL GROUP BY 1, 2, 3) GROUP BY 1, 2),"
	" snis AS (SELECT server_ip, server_port, sni, max(k) FROM"
	"  (SELECT server_ip, server_port, sni, count(*) AS k FROM f"
	"   WHERE sni IS NOT NULL GROUP BY 1, 2, 3) GROUP BY 1, 2),"
	" vers AS (SELECT server_ip, server_port,"
	"  group_concat(tls_rank_name(r) || ' ' || k, ', ') AS l"
	"  FROM (SELECT server_ip, server_port, tls_version_rank(tls_version) AS r,"
	"   count(*) AS k FROM f WHERE" RDB_SH
	"   GROUP BY 1, 2, 3 ORDER BY 1, 2, r DESC) GROUP BY 1, 2),"
	" ciph AS (SELECT server_ip, server_port, group_concat(cn || ' ' || k, ', ') AS l"
	"  FROM (SELECT server_ip, server_port,"
	"   coalesce(cipher_name(cipher_suite), printf('0x%04X', cipher_suite)) AS cn,"
	"   count(*) AS k FROM f WHERE" RDB_SH "AND cipher_suite IS NOT NULL"
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
	char server[320];
	long row = rtable_row(t);
	facts_server((const char *)sqlite3_column_text(s, C_IP), sqlite3_column_int(s, C_PORT),
		     server, sizeof server);
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

/* ---- TLS depth per server: worst crypto, faults, outcomes, certificate ---- */

static const char posture_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM" RDB_WITH_CERT "WHERE" RDB_FILTER "),"
	" agg AS (SELECT server_ip, server_port,"
	"  min(CASE WHEN weak_cipher = 1 THEN 0 WHEN forward_secrecy = 0 THEN 1"
	"   WHEN aead = 0 THEN 2 WHEN aead = 1 THEN 3 END) AS worst,"
	"  sum(server_chose_weak IS NOT NULL) AS judged, sum(server_chose_weak = 1) AS weak,"
	"  sum(server_declined_fs = 1) AS nofs,"
	"  sum(tls_outcome = " RDB_O_REFUSED ") AS refused,"
	"  sum(tls_outcome = " RDB_O_FAILED ") AS failed,"
	"  sum(tls_outcome = " RDB_O_NO_SERVER_HELLO ") AS nosh,"
	"  sum(tls_outcome = " RDB_O_INCOMPLETE ") AS incomplete,"
	"  sum(tls_outcome = " RDB_O_NO_TLS_AFTER_220 ") AS notls,"
	"  sum(cert_sha256 IS NOT NULL) AS certs, sum(cert_expired = 1) AS expired,"
	"  sum(cert_self_signed = 1) AS self, sum(cert_name_match = 0) AS mismatch,"
	"  count(DISTINCT cert_sha256) AS distinct_certs"
	"  FROM f GROUP BY 1, 2),"
	" cert AS (SELECT server_ip, server_port, cn, issuer, kt, kb, sig, max(k) FROM"
	"  (SELECT server_ip, server_port, cert_sha256, max(cert_subject_cn) AS cn,"
	"    max(coalesce(cert_issuer_cn, cert_issuer_org)) AS issuer,"
	"    max(cert_key_type) AS kt, max(cert_key_bits) AS kb, max(cert_sig_alg) AS sig,"
	"    count(*) AS k FROM f WHERE cert_sha256 IS NOT NULL GROUP BY 1, 2, 3)"
	"  GROUP BY 1, 2)"
	" SELECT a.server_ip, a.server_port, a.worst, a.judged, a.weak, a.nofs, a.refused,"
	"  a.failed, a.nosh, a.incomplete, a.notls, a.certs, a.expired, a.self, a.mismatch,"
	"  a.distinct_certs, c.cn, c.issuer, c.kt, c.kb, c.sig"
	" FROM agg a LEFT JOIN cert c USING (server_ip, server_port);";

enum { P_IP, P_PORT, P_WORST, P_JUDGED, P_WEAK, P_NOFS, P_REFUSED, P_FAILED, P_NOSH,
       P_INCOMPLETE, P_NOTLS, P_CERTS, P_EXPIRED, P_SELF, P_MISMATCH, P_DISTINCT, P_CN,
       P_ISSUER, P_KEY_TYPE, P_KEY_BITS, P_SIG };

#define DETAIL_MAX 600

/* Appends printf output to buf (size n), keeping it terminated. */
static void append(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	if (used + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, n - used, fmt, ap);
	va_end(ap);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	const char *v = (const char *)sqlite3_column_text(s, col);
	return v ? v : "?";
}

/* "refused 2, incomplete 1": the handshakes that were not established. */
static void outcome_detail(sqlite3_stmt *s, char *buf, size_t n)
{
	static const struct {
		int col;
		const char *name;
	} o[] = {{P_REFUSED, "refused"}, {P_FAILED, "failed"}, {P_NOSH, "no ServerHello"},
		 {P_INCOMPLETE, "incomplete"}, {P_NOTLS, "no TLS after STARTTLS"}};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
		if (sqlite3_column_int64(s, o[i].col) > 0)
			append(buf, n, "%s%s %lld", buf[0] ? ", " : "", o[i].name,
			       (long long)sqlite3_column_int64(s, o[i].col));
}

/* "CN (issuer X), RSA 2048, sha256WithRSAEncryption; self-signed 3 of 3". */
static void cert_detail(sqlite3_stmt *s, char *buf, size_t n)
{
	static const struct {
		int col;
		const char *name;
	} flags[] = {{P_EXPIRED, "expired"}, {P_SELF, "self-signed"},
		     {P_MISMATCH, "name not matching the greeting"}};
	int64_t certs = sqlite3_column_int64(s, P_CERTS);
	buf[0] = '\0';
	if (certs == 0)
		return;
	append(buf, n, "%s (issuer %s), %s", col_text(s, P_CN), col_text(s, P_ISSUER),
	       col_text(s, P_KEY_TYPE));
	if (sqlite3_column_type(s, P_KEY_BITS) != SQLITE_NULL)
		append(buf, n, " %d", sqlite3_column_int(s, P_KEY_BITS));
	append(buf, n, ", %s", col_text(s, P_SIG));
	if (sqlite3_column_int64(s, P_DISTINCT) > 1)
		append(buf, n, "; %lld certificates, the most used shown",
		       (long long)sqlite3_column_int64(s, P_DISTINCT));
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (sqlite3_column_int64(s, flags[i].col) > 0)
			append(buf, n, "; %s in %lld of %lld", flags[i].name,
			       (long long)sqlite3_column_int64(s, flags[i].col), (long long)certs);
}

static const char *const worst_names[] = {"weak", "no FS", "CBC", "AEAD"};

static int set_posture(struct rtable *t, long row, sqlite3_stmt *s)
{
	char buf[DETAIL_MAX];
	int64_t weak = sqlite3_column_int64(s, P_WEAK), nofs = sqlite3_column_int64(s, P_NOFS);
	int worst = sqlite3_column_type(s, P_WORST) == SQLITE_NULL ? -1
									: sqlite3_column_int(s, P_WORST);
	if (worst >= 0 && worst < 4 && rtable_text(t, row, "worst_crypto", worst_names[worst]) < 0)
		return -1;
	buf[0] = '\0';
	if (weak > 0)
		append(buf, sizeof buf, "chose a weak suite over a stronger offer in %lld",
		       (long long)weak);
	if (nofs > 0)
		append(buf, sizeof buf, "%sdeclined the forward secrecy offered in %lld",
		       weak > 0 ? "; " : "", (long long)nofs);
	if (buf[0]) {
		append(buf, sizeof buf, " (of %lld sessions with both hellos)",
		       (long long)sqlite3_column_int64(s, P_JUDGED));
		if (rtable_text(t, row, "fault", buf) < 0)
			return -1;
	}
	outcome_detail(s, buf, sizeof buf);
	if (buf[0] && rtable_text(t, row, "handshakes", buf) < 0)
		return -1;
	cert_detail(s, buf, sizeof buf);
	if (buf[0] && rtable_text(t, row, "certificate", buf) < 0)
		return -1;
	rtable_int(t, row, "both_hellos", sqlite3_column_int64(s, P_JUDGED));
	rtable_int(t, row, "chose_weak", weak);
	rtable_int(t, row, "declined_fs", nofs);
	rtable_int(t, row, "tls_refused", sqlite3_column_int64(s, P_REFUSED));
	rtable_int(t, row, "tls_failed", sqlite3_column_int64(s, P_FAILED));
	rtable_int(t, row, "cert_sessions", sqlite3_column_int64(s, P_CERTS));
	rtable_int(t, row, "cert_expired", sqlite3_column_int64(s, P_EXPIRED));
	rtable_int(t, row, "cert_self_signed", sqlite3_column_int64(s, P_SELF));
	rtable_int(t, row, "cert_name_mismatch", sqlite3_column_int64(s, P_MISMATCH));
	rtable_int(t, row, "certificates", sqlite3_column_int64(s, P_DISTINCT));
	return 0;
}

/* Fills the TLS-depth columns of the rows already in t (the --top ones). */
static int add_posture(struct rdb *db, struct rtable *t)
{
	sqlite3_stmt *s = rdb_prepare(db, posture_sql);
	char server[320];
	int rc;
	if (!s)
		return -1;
	while ((rc = rdb_step(db, s)) == SQLITE_ROW) {
		long row;
		facts_server((const char *)sqlite3_column_text(s, P_IP),
			     sqlite3_column_int(s, P_PORT), server, sizeof server);
		if ((row = facts_find_row(t, server)) >= 0 && set_posture(t, row, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	}
	return rdb_finish(db, s, rc);
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
	if (rdb_finish(db, s, rc) < 0)
		return -1;
	return add_posture(db, t);
}

/* ---- whose fault is weak crypto ---------------------------------------------- */

static const struct rcol blame_summary_cols[] = {
	{"item", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"fault", "whose", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"of", "of", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"servers", "servers", RCOL_NUM},
	{"denominator", "denominator", RCOL_NOTEXT},
};

enum { B_JUDGED, B_WEAK, B_NOFS, B_ONLY_WEAK, B_NO_FS_OFFER, B_WEAK_SRV, B_NOFS_SRV,
       B_ONLY_WEAK_SRV, B_NO_FS_OFFER_SRV };

/* A weak suite with server_chose_weak 0 means the client offered nothing
 * that is not weak (likewise for forward secrecy): the client's side. */
static const char blame_sql[] =
	"SELECT sum(server_chose_weak IS NOT NULL), sum(server_chose_weak = 1),"
	" sum(server_declined_fs = 1), sum(weak_cipher = 1 AND server_chose_weak = 0),"
	" sum(forward_secrecy = 0 AND server_declined_fs = 0),"
	" count(DISTINCT CASE WHEN server_chose_weak = 1 THEN" RDB_SERVER "END),"
	" count(DISTINCT CASE WHEN server_declined_fs = 1 THEN" RDB_SERVER "END),"
	" count(DISTINCT CASE WHEN weak_cipher = 1 AND server_chose_weak = 0 THEN" RDB_SERVER
	"END),"
	" count(DISTINCT CASE WHEN forward_secrecy = 0 AND server_declined_fs = 0 THEN"
	  RDB_SERVER "END)"
	" FROM session_rows WHERE" RDB_FILTER ";";

#define BOTH_HELLOS "sessions with both hellos seen"
static const struct facts_share blame_lines[] = {
	{"server_chose_weak", "server chose weak, client offered better", "server", B_WEAK,
	 B_JUDGED, BOTH_HELLOS, B_WEAK_SRV, -1},
	{"server_declined_fs", "server declined the offered FS", "server", B_NOFS, B_JUDGED,
	 BOTH_HELLOS, B_NOFS_SRV, -1},
	{"client_offered_only_weak", "client offered only weak suites", "client", B_ONLY_WEAK,
	 B_JUDGED, BOTH_HELLOS, B_ONLY_WEAK_SRV, -1},
	{"client_offered_no_fs", "client offered no forward secrecy", "client", B_NO_FS_OFFER,
	 B_JUDGED, BOTH_HELLOS, B_NO_FS_OFFER_SRV, -1},
};

static int build_blame_summary(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "blame_summary", blame_summary_cols,
				       NCOLS(blame_summary_cols));
	if (!t)
		return -1;
	if (facts_shares(db, t, blame_sql, blame_lines, NCOLS(blame_lines)) < 0)
		return -1;
	if (rtable_title(t, "Weak crypto: the server's choice or the client's offer") < 0 ||
	    rtable_note(t, "of %lld sessions with both hellos seen; the server picks the suite"
			   " from the client's offer, so a weak pick from a strong offer is the"
			   " server's fault; servers: how many servers it happened with",
			(long long)rtable_at(t, 0, (size_t)rtable_col(t, "of"))->i) < 0)
		return rdb_oom(db);
	return 0;
}

static const struct rcol server_blame_cols[] = {
	{"server", "server", 0},
	{"name", "banner name", RCOL_WIRE | RCOL_DETAIL},
	{"both_hellos", "both hellos", RCOL_NUM},
	{"chose_weak", "chose weak", RCOL_NUM},
	{"chose_weak_pct", "%", RCOL_PCT},
	{"declined_fs", "declined FS", RCOL_NUM},
	{"declined_fs_pct", "%", RCOL_PCT},
	{"suites", "suites it chose there", RCOL_DETAIL},
	{"session_ids", "session ids", RCOL_DETAIL},
};

#define BLAME_IDS_SHOWN 20

static const char server_blame_sql[] =
	"WITH f AS NOT MATERIALIZED (SELECT * FROM session_rows WHERE" RDB_FILTER "),"
	" agg AS (SELECT server_ip, server_port, sum(server_chose_weak IS NOT NULL) AS judged,"
	RDB_COUNT("server_chose_weak = 1") "AS weak," RDB_COUNT("server_declined_fs = 1") "AS nofs"
	"  FROM f GROUP BY 1, 2 HAVING weak + nofs > 0),"
	" bad AS (SELECT * FROM f WHERE server_chose_weak = 1 OR server_declined_fs = 1),"
	" names AS (SELECT server_ip, server_port, server_name, max(k) FROM"
	"  (SELECT server_ip, server_port, server_name, count(*) AS k FROM f"
	"   WHERE server_name IS NOT NULL GROUP BY 1, 2, 3) GROUP BY 1, 2),"
	" ciph AS (SELECT server_ip, server_port, group_concat(cn || ' ' || k, ', ') AS l"
	"  FROM (SELECT server_ip, server_port,"
	"   coalesce(cipher_name(cipher_suite), printf('0x%04X', cipher_suite)) AS cn,"
	"   count(*) AS k FROM bad GROUP BY 1, 2, 3 ORDER BY 1, 2, k DESC, cn) GROUP BY 1, 2),"
	" ids AS (SELECT server_ip, server_port, group_concat(id, ', ') AS l, count(*) AS n"
	"  FROM (SELECT server_ip, server_port, id, row_number() OVER"
	"   (PARTITION BY server_ip, server_port ORDER BY id) AS k FROM bad)"
	"  WHERE k <= :ids GROUP BY 1, 2)"
	" SELECT a.server_ip, a.server_port, a.judged, a.weak, a.nofs, names.server_name,"
	"  ciph.l, ids.l, (SELECT count(*) FROM agg)"
	" FROM agg a LEFT JOIN names USING (server_ip, server_port)"
	"  LEFT JOIN ciph USING (server_ip, server_port)"
	"  LEFT JOIN ids USING (server_ip, server_port)"
	" ORDER BY a.weak DESC, a.nofs DESC, a.judged DESC, a.server_ip, a.server_port"
	" LIMIT :limit;";

static int add_blame(void *arg, sqlite3_stmt *s)
{
	struct rtable *t = arg;
	char server[320], ids[400];
	int64_t judged = sqlite3_column_int64(s, 2), weak = sqlite3_column_int64(s, 3);
	int64_t nofs = sqlite3_column_int64(s, 4);
	long row = rtable_row(t);
	const char *list = (const char *)sqlite3_column_text(s, 7);
	facts_server((const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1), server,
		     sizeof server);
	snprintf(ids, sizeof ids, "%s%s", list ? list : "",
		 weak + nofs > BLAME_IDS_SHOWN ? ", ..." : "");
	if (row < 0 || rtable_text(t, row, "server", server) < 0 ||
	    set_text_col(t, row, "name", s, 5) < 0 || set_text_col(t, row, "suites", s, 6) < 0 ||
	    rtable_text(t, row, "session_ids", ids) < 0)
		return -1;
	rtable_int(t, row, "both_hellos", judged);
	rtable_int(t, row, "chose_weak", weak);
	rtable_pct(t, row, "chose_weak_pct", weak, judged);
	rtable_int(t, row, "declined_fs", nofs);
	rtable_pct(t, row, "declined_fs_pct", nofs, judged);
	t->more = sqlite3_column_int64(s, 8);
	return 0;
}

static int build_server_blame(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "server_blame", server_blame_cols,
				       NCOLS(server_blame_cols));
	sqlite3_stmt *s;
	int rc;
	if (!t)
		return -1;
	if (rtable_title(t, "The server's fault: weaker than the client offered, worst first") < 0 ||
	    rtable_note(t, "per server; of its sessions with both hellos seen; chose weak: a"
			   " weak suite although the client offered one that is not; declined"
			   " FS: no forward secrecy although the client offered it") < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, server_blame_sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	rdb_bind_int(s, ":ids", BLAME_IDS_SHOWN);
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_blame(t, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	t->more = t->more > (int64_t)t->nrows ? t->more - (int64_t)t->nrows : 0;
	return rdb_finish(db, s, rc);
}

int facts_blame(struct rdb *db, struct rmodel *m)
{
	if (build_blame_summary(db, m) < 0 || build_server_blame(db, m) < 0)
		return -1;
	return 0;
}

/* ---- certificates (TLS <= 1.2 sends them in clear) ------------------------------ */

static const struct rcol cert_summary_cols[] = {
	{"item", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"of", "of", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"servers", "servers", RCOL_NUM},
	{"certs", "certs", RCOL_NUM},
	{"denominator", "denominator", RCOL_NOTEXT},
};

enum { K_SH12, K_SEEN, K_EXPIRED, K_SELF, K_NAMED, K_MISMATCH, K_SEEN_SRV, K_EXPIRED_SRV,
       K_SELF_SRV, K_MISMATCH_SRV, K_SEEN_CERTS, K_EXPIRED_CERTS, K_SELF_CERTS,
       K_MISMATCH_CERTS };

#define CERT_SRV(cond) " count(DISTINCT CASE WHEN " cond " THEN" RDB_SERVER "END),"
#define CERT_DER(cond) " count(DISTINCT CASE WHEN " cond " THEN cert_sha256 END)"

static const char cert_summary_sql[] =
	"SELECT sum(tls_version_rank(tls_version) <= :rank_tls12), sum(cert_sha256 IS NOT NULL),"
	" sum(cert_expired = 1),"
	" sum(cert_self_signed = 1), sum(cert_name_match IS NOT NULL), sum(cert_name_match = 0),"
	CERT_SRV("cert_sha256 IS NOT NULL") CERT_SRV("cert_expired = 1")
	CERT_SRV("cert_self_signed = 1") CERT_SRV("cert_name_match = 0")
	CERT_DER("1") "," CERT_DER("cert_expired = 1") "," CERT_DER("cert_self_signed = 1") ","
	CERT_DER("cert_name_match = 0")
	" FROM" RDB_WITH_CERT "WHERE" RDB_FILTER "AND" RDB_SH ";";

#define WITH_CERT "sessions with a certificate"
static const struct facts_share cert_lines[] = {
	{"seen", "certificate seen (TLS <= 1.2)", NULL, K_SEEN, K_SH12,
	 "sessions with a ServerHello, TLS <= 1.2", K_SEEN_SRV, K_SEEN_CERTS},
	{"expired", "expired at capture time", NULL, K_EXPIRED, K_SEEN, WITH_CERT, K_EXPIRED_SRV,
	 K_EXPIRED_CERTS},
	{"self_signed", "self-signed (issuer = subject)", NULL, K_SELF, K_SEEN, WITH_CERT,
	 K_SELF_SRV, K_SELF_CERTS},
	{"name_mismatch", "name not matching the greeting", NULL, K_MISMATCH, K_NAMED,
	 "sessions with a certificate and a greeting name", K_MISMATCH_SRV, K_MISMATCH_CERTS},
};

/* The tables below: a name, then these columns. */
#define CERT_LIST_NCOLS 5

struct cert_list {
	struct rtable *t;
	int64_t whole, distinct;
};

static int add_cert_row(void *arg, sqlite3_stmt *s)
{
	struct cert_list *c = arg;
	long row = rtable_counted(c->t, c->t->cols[0].key, (const char *)sqlite3_column_text(s, 0),
				  sqlite3_column_int64(s, 1), c->whole);
	if (row < 0)
		return -1;
	rtable_int(c->t, row, "certs", sqlite3_column_int64(s, 2));
	rtable_int(c->t, row, "servers", sqlite3_column_int64(s, 3));
	c->distinct = sqlite3_column_int64(s, 4);
	return 0;
}

/* A table of certificate sessions counted by the text the query's first
 * column makes of them; most sessions first, --top rows. */
#define CERT_LIST_SQL(expr)                                                              \
	"SELECT " expr ", count(*), count(DISTINCT cert_sha256), count(DISTINCT" RDB_SERVER \
	"), count(*) OVER () FROM" RDB_WITH_CERT "WHERE" RDB_FILTER "AND" RDB_SH           \
	"AND cert_sha256 IS NOT NULL"                                                        \
	" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :limit;"

static int build_cert_list(struct rdb *db, struct rmodel *m, const char *id,
			   const struct rcol *cols, const char *title, const char *sql,
			   int64_t whole)
{
	struct cert_list c = {facts_table(db, m, id, cols, CERT_LIST_NCOLS), whole, 0};
	sqlite3_stmt *s;
	int rc;
	if (!c.t)
		return -1;
	if (rtable_title(c.t, "%s", title) < 0 ||
	    rtable_note(c.t, "of %lld sessions with a certificate in clear; certs: distinct"
			     " certificates (SHA-256); servers: address and port",
			(long long)whole) < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_cert_row(&c, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	c.t->more = c.distinct > (int64_t)c.t->nrows ? c.distinct - (int64_t)c.t->nrows : 0;
	return rdb_finish(db, s, rc);
}

static const struct rcol key_cols[CERT_LIST_NCOLS] = {
	{"key", "key", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"certs", "certs", RCOL_NUM},
	{"servers", "servers", RCOL_NUM},
};
static const struct rcol sig_cols[CERT_LIST_NCOLS] = {
	{"signature", "signature algorithm", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"certs", "certs", RCOL_NUM},
	{"servers", "servers", RCOL_NUM},
};
static const struct rcol issuer_cols[CERT_LIST_NCOLS] = {
	{"issuer", "issuer", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
	{"certs", "certs", RCOL_NUM},
	{"servers", "servers", RCOL_NUM},
};

int facts_certs(struct rdb *db, struct rmodel *m)
{
	struct rtable *t;
	int64_t seen;
	if (!(t = facts_table(db, m, "certificates", cert_summary_cols,
			      NCOLS(cert_summary_cols))))
		return -1;
	if (rtable_title(t, "Server certificates seen in clear (TLS <= 1.2)") < 0 ||
	    rtable_note(t, "each line names its denominator (of); every session whose server"
			   " sent its certificate, however the handshake ended; TLS 1.3 encrypts the"
			   " certificate; nothing is verified, this is what the certificates"
			   " claim; certs: distinct certificates (SHA-256)") < 0)
		return rdb_oom(db);
	if (facts_shares(db, t, cert_summary_sql, cert_lines, NCOLS(cert_lines)) < 0 ||
	    rdb_scalar(db, "SELECT count(*) FROM session_rows WHERE" RDB_FILTER "AND" RDB_SH
			   "AND cert_sha256 IS NOT NULL;", &seen) < 0)
		return -1;
	if (build_cert_list(db, m, "cert_keys", key_cols, "Certificate keys",
			    CERT_LIST_SQL("coalesce(cert_key_type, '(unknown)')"
					  " || coalesce(' ' || cert_key_bits, '')"), seen) < 0 ||
	    build_cert_list(db, m, "cert_sig_algs", sig_cols, "Certificate signature algorithms",
			    CERT_LIST_SQL("coalesce(cert_sig_alg, '(unknown)')"), seen) < 0 ||
	    build_cert_list(db, m, "cert_issuers", issuer_cols, "Certificate issuers",
			    CERT_LIST_SQL("coalesce(cert_issuer_cn, '-') || coalesce(' / ' ||"
					  " cert_issuer_org, '')"), seen) < 0)
		return -1;
	return 0;
}
