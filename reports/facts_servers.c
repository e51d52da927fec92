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

/* "name count, ..." lists: TLS versions newest first, suites most used
 * first, in the sessions with a ServerHello. */
#define VERSION_LIST                                                                      \
	" {{wlist(CASE WHEN" RDB_SH "THEN {{rankname({{vrank(tls_version)}})}} END, n,"      \
	" -{{vrank(tls_version)}})}} "
#define CIPHER_NAME "coalesce({{cname(cipher_suite)}}, {{hex4(cipher_suite)}})"
#define CIPHER_LIST(w, cond) " {{wlist(CASE WHEN " cond " THEN " CIPHER_NAME " END, " w ", 0)}} "

/* The servers rollup with each row's certificate's self-signed flag. */
#define SERVERS_WITH_SELF                                                                 \
	" (SELECT * FROM {{src:servers}}) r {{ljoin}} (SELECT sha256 AS cert_sha256,"        \
	" self_signed AS self FROM certificates) c USING (cert_sha256) "

/* Per server and certificate: sessions, expired, name mismatches; its
 * self-signed flag from certificates. */
#define SERVER_CERTS(cond)                                                                \
	" (SELECT server_ip, server_port, cert_sha256, sum(n) AS k, sum(expired) AS e,"      \
	" sum(named) AS nm, sum(mismatch) AS mm FROM {{src:servers}}"                       \
	" WHERE cert_sha256 IS NOT NULL AND " cond                                          \
	" GROUP BY server_ip, server_port, cert_sha256) x {{ljoin}} (SELECT sha256 AS"       \
	" cert_sha256, self_signed AS self FROM certificates) c USING (cert_sha256) "

/* Everything per server in one pass: counts, posture, the most frequent
 * banner name and SNI, "name count" lists of versions and suites, its
 * certificates (the most used one's details joined). */
static const char servers_sql[] =
	"SELECT a.server_ip, a.server_port, a.a_n, a.a_enc, a.a_clear, a.a_unknown, a.a_mail,"
	" a.a_offered, a.a_ehlo, a.a_implicit, a.a_refused, a.a_auth, a.a_name, a.a_versions,"
	" a.a_ciphers, a.a_sni, a.a_worst, a.a_judged, a.a_weak, a.a_nofs, a.o_refused,"
	" a.o_failed, a.o_nosh, a.o_incomplete, a.o_notls, a.a_certs, a.a_expired, a.a_self,"
	" a.a_mismatch, a.a_distinct, cd.cn, cd.issuer, cd.kt, cd.kb, cd.sig"
	" FROM (SELECT server_ip, server_port, sum(n) AS a_n," RDB_N(RDB_ENC) "AS a_enc,"
	RDB_N(RDB_CLEAR) "AS a_clear," RDB_N("NOT" RDB_KNOWN) "AS a_unknown, sum(mail) AS a_mail,"
	"  sum(offered) AS a_offered, sum(ehlo) AS a_ehlo,"
	RDB_N("transport = " RDB_T_IMPLICIT) "AS a_implicit, sum(refused) AS a_refused,"
	"  sum(auth) AS a_auth, min(tls_version) AS a_minver, min(worst) AS a_worst,"
	"  sum(judged) AS a_judged, sum(weak) AS a_weak, sum(nofs) AS a_nofs,"
	RDB_N("tls_outcome = " RDB_O_REFUSED) "AS o_refused,"
	RDB_N("tls_outcome = " RDB_O_FAILED) "AS o_failed,"
	RDB_N("tls_outcome = " RDB_O_NO_SERVER_HELLO) "AS o_nosh,"
	RDB_N("tls_outcome = " RDB_O_INCOMPLETE) "AS o_incomplete,"
	RDB_N("tls_outcome = " RDB_O_NO_TLS_AFTER_220) "AS o_notls,"
	"  {{modew(server_name, n)}} AS a_name, {{modew(sni, n)}} AS a_sni,"
	VERSION_LIST "AS a_versions," CIPHER_LIST("n", RDB_SH "AND cipher_suite IS NOT NULL")
	"AS a_ciphers," RDB_N("cert_sha256 IS NOT NULL") "AS a_certs, sum(expired) AS a_expired,"
	RDB_N("self = 1") "AS a_self, sum(mismatch) AS a_mismatch,"
	"  count(DISTINCT cert_sha256) AS a_distinct, {{modew(cert_sha256, n)}} AS top"
	"  FROM" SERVERS_WITH_SELF "GROUP BY server_ip, server_port) a"
	" {{ljoin}} (SELECT sha256 AS top, subject_cn AS cn, coalesce(issuer_cn, issuer_org)"
	"  AS issuer, key_type AS kt, key_bits AS kb, sig_alg AS sig FROM certificates) cd"
	"  USING (top)"
	" ORDER BY a.a_clear DESC, a.a_mail DESC,"
	"  CASE WHEN a.a_ehlo = 0 THEN 3 WHEN a.a_offered = 0 THEN 0"
	"   WHEN a.a_offered < a.a_ehlo THEN 1 ELSE 2 END,"
	"  a.a_minver ASC NULLS LAST, a.a_n DESC, a.server_ip, a.server_port";

enum { C_IP, C_PORT, C_N, C_ENC, C_CLEAR, C_UNKNOWN, C_MAIL, C_OFFERED, C_EHLO, C_IMPLICIT,
       C_REFUSED, C_AUTH, C_NAME, C_VERSIONS, C_CIPHERS, C_SNI, P_WORST, P_JUDGED, P_WEAK,
       P_NOFS, P_REFUSED, P_FAILED, P_NOSH, P_INCOMPLETE, P_NOTLS, P_CERTS, P_EXPIRED, P_SELF,
       P_MISMATCH, P_DISTINCT, P_CN, P_ISSUER, P_KEY_TYPE, P_KEY_BITS, P_SIG };

/* "always", "sometimes", "never", "implicit TLS" or "no EHLO seen". */
static const char *posture(int64_t offered, int64_t ehlo, int64_t implicit, int64_t n)
{
	if (ehlo == 0)
		return implicit == n ? "implicit TLS" : "no EHLO seen";
	if (offered == 0)
		return "never";
	return offered < ehlo ? "sometimes" : "always";
}

static int set_text_col(struct rtable *t, long row, const char *key, struct rq_stmt *s, int col)
{
	return rtable_text(t, row, key, rq_text(s, col));
}

static void set_counts(struct rtable *t, long row, struct rq_stmt *s)
{
	int64_t known = rq_int(s, C_ENC) + rq_int(s, C_CLEAR);
	rtable_int(t, row, "sessions", rq_int(s, C_N));
	rtable_int(t, row, "encrypted", rq_int(s, C_ENC));
	rtable_int(t, row, "clear", rq_int(s, C_CLEAR));
	rtable_pct(t, row, "clear_pct", rq_int(s, C_CLEAR), known);
	rtable_int(t, row, "mail_clear", rq_int(s, C_MAIL));
	rtable_int(t, row, "starttls_offered", rq_int(s, C_OFFERED));
	rtable_int(t, row, "ehlo_replies", rq_int(s, C_EHLO));
	rtable_int(t, row, "starttls_refused", rq_int(s, C_REFUSED));
	rtable_int(t, row, "cleartext_auth", rq_int(s, C_AUTH));
	rtable_int(t, row, "unknown", rq_int(s, C_UNKNOWN));
}

struct ranked {
	struct rtable *t;
	long limit, seen;
};

/* A ranked table whose percentages have the denominator whole. */
struct counted_list {
	struct ranked r;
	int64_t whole;
};

/* Counts a row beyond --top in "more"; 1 when it is to be shown. */
static int shown(struct ranked *r)
{
	if (r->limit >= 0 && r->seen++ >= r->limit) {
		r->t->more++;
		return 0;
	}
	return 1;
}

static int set_posture(struct rtable *t, long row, struct rq_stmt *s);

static int add_server(void *arg, struct rq_stmt *s)
{
	struct ranked *r = arg;
	struct rtable *t = r->t;
	char server[320];
	if (!shown(r))
		return 0;
	long row = rtable_row(t);
	facts_server(rq_text(s, C_IP), (int)rq_int(s, C_PORT), server, sizeof server);
	if (row < 0 || rtable_text(t, row, "server", server) < 0 ||
	    set_text_col(t, row, "name", s, C_NAME) < 0 ||
	    set_text_col(t, row, "sni", s, C_SNI) < 0 ||
	    set_text_col(t, row, "versions", s, C_VERSIONS) < 0 ||
	    set_text_col(t, row, "ciphers", s, C_CIPHERS) < 0 ||
	    rtable_text(t, row, "starttls",
			posture(rq_int(s, C_OFFERED), rq_int(s, C_EHLO), rq_int(s, C_IMPLICIT),
				rq_int(s, C_N))) < 0)
		return -1;
	set_counts(t, row, s);
	return set_posture(t, row, s);
}

/* ---- TLS depth per server: worst crypto, faults, outcomes, certificate ---- */

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

static const char *col_text(struct rq_stmt *s, int col)
{
	const char *v = rq_text(s, col);
	return v ? v : "?";
}

/* "refused 2, incomplete 1": the handshakes that were not established. */
static void outcome_detail(struct rq_stmt *s, char *buf, size_t n)
{
	static const struct {
		int col;
		const char *name;
	} o[] = {{P_REFUSED, "refused"}, {P_FAILED, "failed"}, {P_NOSH, "no ServerHello"},
		 {P_INCOMPLETE, "incomplete"}, {P_NOTLS, "no TLS after STARTTLS"}};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof o / sizeof o[0]; i++)
		if (rq_int(s, o[i].col) > 0)
			append(buf, n, "%s%s %lld", buf[0] ? ", " : "", o[i].name,
			       (long long)rq_int(s, o[i].col));
}

/* "CN (issuer X), RSA 2048, sha256WithRSAEncryption; self-signed 3 of 3". */
static void cert_detail(struct rq_stmt *s, char *buf, size_t n)
{
	static const struct {
		int col;
		const char *name;
	} flags[] = {{P_EXPIRED, "expired"}, {P_SELF, "self-signed"},
		     {P_MISMATCH, "name not matching the greeting"}};
	int64_t certs = rq_int(s, P_CERTS);
	buf[0] = '\0';
	if (certs == 0)
		return;
	append(buf, n, "%s (issuer %s), %s", col_text(s, P_CN), col_text(s, P_ISSUER),
	       col_text(s, P_KEY_TYPE));
	if (!rq_null(s, P_KEY_BITS))
		append(buf, n, " %d", (int)rq_int(s, P_KEY_BITS));
	append(buf, n, ", %s", col_text(s, P_SIG));
	if (rq_int(s, P_DISTINCT) > 1)
		append(buf, n, "; %lld certificates, the most used shown",
		       (long long)rq_int(s, P_DISTINCT));
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (rq_int(s, flags[i].col) > 0)
			append(buf, n, "; %s in %lld of %lld", flags[i].name,
			       (long long)rq_int(s, flags[i].col), (long long)certs);
}

static const char *const worst_names[] = {"weak", "no FS", "CBC", "AEAD"};

static int set_posture(struct rtable *t, long row, struct rq_stmt *s)
{
	char buf[DETAIL_MAX];
	int64_t weak = rq_int(s, P_WEAK), nofs = rq_int(s, P_NOFS);
	int worst = rq_null(s, P_WORST) ? -1 : (int)rq_int(s, P_WORST);
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
		       (long long)rq_int(s, P_JUDGED));
		if (rtable_text(t, row, "fault", buf) < 0)
			return -1;
	}
	outcome_detail(s, buf, sizeof buf);
	if (buf[0] && rtable_text(t, row, "handshakes", buf) < 0)
		return -1;
	cert_detail(s, buf, sizeof buf);
	if (buf[0] && rtable_text(t, row, "certificate", buf) < 0)
		return -1;
	rtable_int(t, row, "both_hellos", rq_int(s, P_JUDGED));
	rtable_int(t, row, "chose_weak", weak);
	rtable_int(t, row, "declined_fs", nofs);
	rtable_int(t, row, "tls_refused", rq_int(s, P_REFUSED));
	rtable_int(t, row, "tls_failed", rq_int(s, P_FAILED));
	rtable_int(t, row, "cert_sessions", rq_int(s, P_CERTS));
	rtable_int(t, row, "cert_expired", rq_int(s, P_EXPIRED));
	rtable_int(t, row, "cert_self_signed", rq_int(s, P_SELF));
	rtable_int(t, row, "cert_name_mismatch", rq_int(s, P_MISMATCH));
	rtable_int(t, row, "certificates", rq_int(s, P_DISTINCT));
	return 0;
}

int facts_servers(struct rdb *db, struct rmodel *m)
{
	struct ranked r = {facts_table(db, m, "servers", server_cols, NCOLS(server_cols)),
			   facts_limit(m), 0};
	if (!r.t)
		return -1;
	if (rtable_title(r.t, "Servers, worst first") < 0 ||
	    rtable_note(r.t, "per server address and port; clear: sessions not encrypted;"
			     " STARTTLS: offered in always / sometimes / never of its EHLO"
			     " replies") < 0)
		return rdb_oom(db);
	return rdb_each(db, servers_sql, add_server, &r);
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
	"SELECT b.judged, b.weak, b.nofs, b.only_weak, b.no_fs_offer, v.weak_srv, v.nofs_srv,"
	" v.only_weak_srv, v.no_fs_offer_srv"
	" FROM (SELECT" RDB_N("server_chose_weak IS NOT NULL") "AS judged,"
	RDB_N("server_chose_weak = 1") "AS weak," RDB_N("server_declined_fs = 1") "AS nofs,"
	RDB_N("weak_cipher = 1 AND server_chose_weak = 0") "AS only_weak,"
	RDB_N("forward_secrecy = 0 AND server_declined_fs = 0") "AS no_fs_offer"
	"  FROM {{src:codes}}) b"
	" CROSS JOIN (SELECT" RDB_COUNT("w > 0") "AS weak_srv," RDB_COUNT("nf > 0") "AS nofs_srv,"
	RDB_COUNT("ow > 0") "AS only_weak_srv," RDB_COUNT("no > 0") "AS no_fs_offer_srv"
	"  FROM (SELECT server_ip, server_port, sum(weak) AS w, sum(nofs) AS nf,"
	"   sum(only_weak) AS ow, sum(nofs_offer) AS no FROM {{src:servers}}"
	"   GROUP BY server_ip, server_port) x) v";

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
	"SELECT server_ip, server_port, sum(judged) AS b_judged, sum(weak) AS b_weak,"
	" sum(nofs) AS b_nofs, {{modew(server_name, n)}}," CIPHER_LIST("bad", "bad > 0")
	" FROM {{src:servers}} GROUP BY server_ip, server_port HAVING sum(weak) + sum(nofs) > 0"
	" ORDER BY b_weak DESC, b_nofs DESC, b_judged DESC, server_ip, server_port";

/* The sessions of a server where it chose weaker than offered. */
#define BLAME_IDS "server_chose_weak = 1 OR server_declined_fs = 1"

struct blame {
	struct ranked r;
	struct rdb *db;
	struct facts_ids ids;
};

static int add_blame(void *arg, struct rq_stmt *s)
{
	struct blame *b = arg;
	struct rtable *t = b->r.t;
	char server[320], ids[400];
	int64_t judged = rq_int(s, 2), weak = rq_int(s, 3), nofs = rq_int(s, 4);
	if (!shown(&b->r))
		return 0;
	long row = rtable_row(t);
	facts_server(rq_text(s, 0), (int)rq_int(s, 1), server, sizeof server);
	if (facts_ids_list(&b->ids, rq_text(s, 0), rq_int(s, 1), BLAME_IDS_SHOWN, ids,
			   sizeof ids) < 0)
		return -1;
	if (weak + nofs > BLAME_IDS_SHOWN)
		snprintf(ids + strlen(ids), sizeof ids - strlen(ids), ", ...");
	if (row < 0 || rtable_text(t, row, "server", server) < 0 ||
	    set_text_col(t, row, "name", s, 5) < 0 || set_text_col(t, row, "suites", s, 6) < 0 ||
	    rtable_text(t, row, "session_ids", ids) < 0)
		return -1;
	rtable_int(t, row, "both_hellos", judged);
	rtable_int(t, row, "chose_weak", weak);
	rtable_pct(t, row, "chose_weak_pct", weak, judged);
	rtable_int(t, row, "declined_fs", nofs);
	rtable_pct(t, row, "declined_fs_pct", nofs, judged);
	return 0;
}

static int build_server_blame(struct rdb *db, struct rmodel *m)
{
	struct blame b = {{facts_table(db, m, "server_blame", server_blame_cols,
				       NCOLS(server_blame_cols)), facts_limit(m), 0}, db, {0}};
	int rc;
	if (!b.r.t)
		return -1;
	if (rtable_title(b.r.t, "The server's fault: weaker than the client offered, worst first") < 0 ||
	    rtable_note(b.r.t, "per server; of its sessions with both hellos seen; chose weak: a"
			       " weak suite although the client offered one that is not; declined"
			       " FS: no forward secrecy although the client offered it%s",
			facts_rows_note(db)) < 0)
		return rdb_oom(db);
	if (facts_ids_open(db, &b.ids, BLAME_IDS) < 0)
		return -1;
	rc = rdb_each(db, server_blame_sql, add_blame, &b);
	facts_ids_close(&b.ids);
	return rc;
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

#define CERT_SRV(cond) " count(DISTINCT CASE WHEN " cond " THEN srv END) "
#define CERT_DER(cond) " count(DISTINCT CASE WHEN " cond " THEN cert_sha256 END) "

static const char cert_summary_sql[] =
	"SELECT h.sh12, ct.seen, ct.expired, ct.self_k, ct.named, ct.mismatch, ct.seen_srv,"
	" ct.expired_srv, ct.self_srv, ct.mismatch_srv, ct.seen_certs, ct.expired_certs,"
	" ct.self_certs, ct.mismatch_certs"
	" FROM (SELECT" RDB_N("{{vrank(tls_version)}} <= :rank_tls12") "AS sh12"
	"  FROM {{src:codes}} WHERE" RDB_SH ") h"
	" CROSS JOIN (SELECT sum(k) AS seen, sum(e) AS expired,"
	"  sum(CASE WHEN self = 1 THEN k ELSE 0 END) AS self_k, sum(nm) AS named,"
	"  sum(mm) AS mismatch," CERT_SRV("1 = 1") "AS seen_srv," CERT_SRV("e > 0") "AS expired_srv,"
	CERT_SRV("self = 1") "AS self_srv," CERT_SRV("mm > 0") "AS mismatch_srv,"
	CERT_DER("1 = 1") "AS seen_certs," CERT_DER("e > 0") "AS expired_certs,"
	CERT_DER("self = 1") "AS self_certs," CERT_DER("mm > 0") "AS mismatch_certs"
	" FROM (SELECT" RDB_SERVER "AS srv, cert_sha256, k, e, self, nm, mm"
	"  FROM" SERVER_CERTS(RDB_SH) ") y) ct";

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

static int add_cert_row(void *arg, struct rq_stmt *s)
{
	struct counted_list *c = arg;
	if (!shown(&c->r))
		return 0;
	long row = rtable_counted(c->r.t, c->r.t->cols[0].key, rq_text(s, 0), rq_int(s, 1),
				  c->whole);
	if (row < 0)
		return -1;
	rtable_int(c->r.t, row, "certs", rq_int(s, 2));
	rtable_int(c->r.t, row, "servers", rq_int(s, 3));
	return 0;
}

/* A table of certificate sessions counted by the label the certificate
 * makes (an expression over certificates' columns); most sessions first,
 * --top rows. */
#define CERT_LIST_SQL(label)                                                              \
	"SELECT lb, sum(k) AS sessions, count(DISTINCT cert_sha256), count(DISTINCT srv)"     \
	" FROM (SELECT" RDB_SERVER "AS srv, cert_sha256, k, " label " AS lb FROM"             \
	" (SELECT server_ip, server_port, cert_sha256, sum(n) AS k FROM {{src:servers}}"     \
	"  WHERE" RDB_SH "AND cert_sha256 IS NOT NULL"                                        \
	"  GROUP BY server_ip, server_port, cert_sha256) x"                                  \
	" {{ljoin}} (SELECT sha256 AS cert_sha256, key_type, key_bits, sig_alg, issuer_cn,"   \
	"  issuer_org FROM certificates) c USING (cert_sha256)) y"                           \
	" GROUP BY lb ORDER BY sessions DESC, lb"

static int build_cert_list(struct rdb *db, struct rmodel *m, const char *id,
			   const struct rcol *cols, const char *title, const char *sql,
			   int64_t whole)
{
	struct counted_list c = {{facts_table(db, m, id, cols, CERT_LIST_NCOLS), facts_limit(m), 0},
				 whole};
	if (!c.r.t)
		return -1;
	if (rtable_title(c.r.t, "%s", title) < 0 ||
	    rtable_note(c.r.t, "of %lld sessions with a certificate in clear; certs: distinct"
			       " certificates (SHA-256); servers: address and port",
			(long long)whole) < 0)
		return rdb_oom(db);
	return rdb_each(db, sql, add_cert_row, &c);
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
	long col;
	if (!(t = facts_table(db, m, "certificates", cert_summary_cols,
			      NCOLS(cert_summary_cols))))
		return -1;
	if (rtable_title(t, "Server certificates seen in clear (TLS <= 1.2)") < 0 ||
	    rtable_note(t, "each line names its denominator (of); every session whose server"
			   " sent its certificate, however the handshake ended; TLS 1.3 encrypts the"
			   " certificate; nothing is verified, this is what the certificates"
			   " claim; certs: distinct certificates (SHA-256)") < 0)
		return rdb_oom(db);
	if (facts_shares(db, t, cert_summary_sql, cert_lines, NCOLS(cert_lines)) < 0)
		return -1;
	col = rtable_col(t, "sessions"); /* the first line: certificates seen */
	seen = t->nrows > 0 && col >= 0 ? rtable_at(t, 0, (size_t)col)->i : 0;
	if (build_cert_list(db, m, "cert_keys", key_cols, "Certificate keys",
			    CERT_LIST_SQL("{{cat(coalesce(key_type, '(unknown)'),"
					  " coalesce({{cat(' ', key_bits)}}, ''))}}"), seen) < 0 ||
	    build_cert_list(db, m, "cert_sig_algs", sig_cols, "Certificate signature algorithms",
			    CERT_LIST_SQL("coalesce(sig_alg, '(unknown)')"), seen) < 0 ||
	    build_cert_list(db, m, "cert_issuers", issuer_cols, "Certificate issuers",
			    CERT_LIST_SQL("{{cat(coalesce(issuer_cn, '-'),"
					  " coalesce({{cat(' / ', issuer_org)}}, ''))}}"), seen) < 0)
		return -1;
	return 0;
}
