/* Recipient domains and their policies, from the DNS columns of issue 17
 * (README.md, "Domains and their policies"):
 *   dns_link          whether the link showed DNS at all (the capture
 *                     runs' counters) and how many sessions it could name
 *                     a recipient domain for;
 *   domains           per recipient domain (mx_domain), worst first:
 *                     sessions, TLS completed (the headline's definition)
 *                     and its versions, STARTTLS offered, mail in clear,
 *                     what the link last showed the domain to publish,
 *                     plaintext deliveries to it as a policy domain and
 *                     TLSA mismatches;
 *   policy_adoption   shares of sessions to domains publishing MTA-STS,
 *                     DANE (signed TLSA) and TLS-RPT, of those whose
 *                     status was seen; shares of those where the sender
 *                     was seen looking the policy up;
 *   policy_evidence   plaintext deliveries to policy domains and TLSA
 *                     mismatches, per domain with the session ids.
 * A database without DNS columns filled says why (dns_link) instead of
 * showing empty numbers. */
#include <stdio.h>
#include <string.h>

#include "../common/registry.h"
#include "facts.h"

#define IDS_SHOWN 20

static const struct rcol link_cols[] = {
	{"status", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "DNS on the link", 0},
	{"sessions_with_domain", "sessions with a recipient domain", RCOL_NUM},
	{"runs_following_dns", "capture runs following DNS", RCOL_NUM},
	{"runs_with_dns", "capture runs whose link carried DNS", RCOL_NUM},
};

static const struct rcol domain_cols[] = {
	{"domain", "domain", RCOL_WIRE},
	{"sessions", "sessions", RCOL_NUM},
	{"tls_completed", "TLS", RCOL_NUM},
	{"tls_completed_pct", "%", RCOL_PCT},
	{"starttls_offered", "STARTTLS", RCOL_NUM | RCOL_SPARE},
	{"plaintext_mail", "in clear", RCOL_NUM},
	{"policy_plaintext", "policy clear", RCOL_NUM},
	{"tlsa_mismatch", "TLSA mismatch", RCOL_NUM},
	{"mta_sts", "MTA-STS", RCOL_DATA | RCOL_NOTEXT},
	{"dane", "DANE", RCOL_DATA | RCOL_NOTEXT},
	{"tlsrpt", "TLS-RPT", RCOL_DATA | RCOL_NOTEXT},
	{"publishes", "publishes", RCOL_DETAIL},
	{"tls_versions", "versions", RCOL_DETAIL},
};

static const struct rcol evidence_cols[] = {
	{"domain", "domain", RCOL_WIRE},
	{"kind", "evidence", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"detail", "detail", RCOL_DETAIL | RCOL_WIRE},
	{"session_ids", "session ids", RCOL_DETAIL},
};

/* The sessions with a recipient domain (a policy result needs one), found
 * through the partial index on mx_domain rather than the time index the
 * filter would take: few sessions have one where the link shows no DNS. */
#define DOMAIN_ROWS " id IN (SELECT id FROM session_rows WHERE mx_domain IS NOT NULL) "

/* ---- whether the link showed DNS ------------------------------------------- */

struct dns_state {
	int64_t sessions_with_domain, runs_following, runs_with_dns;
};

static int read_state(void *arg, struct rq_stmt *s)
{
	struct dns_state *d = arg;
	d->sessions_with_domain = rq_int(s, 0);
	d->runs_following = rq_int(s, 1);
	d->runs_with_dns = rq_int(s, 2);
	return 0;
}

static const char state_sql[] =
	"SELECT (SELECT count(*) FROM session_rows WHERE" RDB_FILTER "AND" DOMAIN_ROWS "),"
	" (SELECT count(*) FROM run_counters WHERE name = 'dns.followed' AND value > 0),"
	" (SELECT count(*) FROM run_counters WHERE name = 'dns.link_carried_dns' AND value > 0);";

static void state_words(const struct dns_state *d, const char **key, const char **what)
{
	if (d->sessions_with_domain > 0) {
		*key = "dns", *what = "shown, leading to these sessions";
	} else if (d->runs_with_dns > 0) {
		*key = "no_domains", *what = "shown, but leading to none of them";
	} else if (d->runs_following > 0) {
		*key = "no_dns", *what = "the link showed no DNS";
	} else {
		*key = "not_followed", *what = "not followed (--no-dns)";
	}
}

static int dns_link(struct rdb *db, struct rmodel *m, struct dns_state *d)
{
	struct rtable *t = facts_table(db, m, "dns_link", link_cols, NCOLS(link_cols));
	const char *key, *what;
	long row;
	if (!t || rdb_each(db, state_sql, read_state, d) < 0)
		return -1;
	state_words(d, &key, &what);
	t->vertical = 1;
	if (rtable_title(t, "Recipient domains and their policies (DNS on the link)") < 0 ||
	    rtable_note(t, "a session's recipient domain and its policies come from the DNS "
			   "answers the link showed before it; without DNS on the link (or with "
			   "capture --no-dns, or a database written before smtptls followed DNS) "
			   "none can be known and every DNS column is NULL") < 0 ||
	    (row = rtable_row(t)) < 0 || rtable_text(t, row, "status", key) < 0 ||
	    rtable_text(t, row, "what", what) < 0)
		return rdb_oom(db);
	rtable_int(t, row, "sessions_with_domain", d->sessions_with_domain);
	rtable_int(t, row, "runs_following_dns", d->runs_following);
	rtable_int(t, row, "runs_with_dns", d->runs_with_dns);
	return 0;
}

/* ---- per domain ---------------------------------------------------------------- */

/* The latest non-NULL value of a column among a domain's sessions (start
 * times to the microsecond; of two at the same time, the smaller). */
#define LATEST(col) " {{mode(" col ", {{int(ts_start * 1000000)}})}} "

static const char domains_sql[] =
	"SELECT mx_domain, count(*), sum(" RDB_ENC "), sum(starttls_offered = 1),"
	" sum(coalesce(plaintext_transactions, 0) > 0)," LATEST("domain_mta_sts") ","
	LATEST("domain_dane") "," LATEST("domain_tlsrpt") ", sum(policy_plaintext = 1),"
	" sum(tlsa_match = 0)"
	" FROM session_rows WHERE" RDB_FILTER "AND" DOMAIN_ROWS ""
	" GROUP BY mx_domain ORDER BY sum(" RDB_ENC ") * 1.0 / count(*), mx_domain;";

static const char versions_sql[] =
	"SELECT mx_domain, {{rankname(rank)}} AS version, n FROM (SELECT mx_domain,"
	" {{vrank(tls_version)}} AS rank, count(*) AS n FROM session_rows WHERE" RDB_FILTER
	"AND" DOMAIN_ROWS "AND" RDB_ENC "GROUP BY mx_domain, rank) v"
	" ORDER BY mx_domain, rank DESC;";

struct domains {
	struct rtable *t;
	long limit, shown;
};

static int set_flag(struct rtable *t, long row, const char *key, struct rq_stmt *s, int i)
{
	static const char *const yes_no[] = {"no", "yes"};
	int v = rq_null(s, i) ? -1 : (int)rq_int(s, i);
	const char *text = !strcmp(key, "dane") ? dane_state_name(v)
			   : v == 0 || v == 1 ? yes_no[v] : NULL;
	return text ? rtable_text(t, row, key, text) : 0;
}

/* "MTA-STS yes, DANE signed, TLS-RPT ?" for people; the three columns for
 * JSON and CSV. */
static int publishes(struct rtable *t, long row)
{
	static const char *const keys[] = {"mta_sts", "dane", "tlsrpt"};
	static const char *const names[] = {"MTA-STS", "DANE", "TLS-RPT"};
	char text[128];
	size_t used = 0;
	for (int i = 0; i < 3; i++) {
		const struct rcell *c = rtable_at(t, (size_t)row, (size_t)rtable_col(t, keys[i]));
		int n = snprintf(text + used, sizeof text - used, "%s%s %s", i ? ", " : "", names[i],
				 c->kind == RCELL_TEXT ? c->text : "?");
		if (n > 0 && (size_t)n < sizeof text - used)
			used += (size_t)n;
	}
	return rtable_text(t, row, "publishes", text);
}

static int add_domain(void *arg, struct rq_stmt *s)
{
	struct domains *d = arg;
	static const char *const flags[] = {"mta_sts", "dane", "tlsrpt"};
	long row;
	if (d->limit >= 0 && d->shown++ >= d->limit) {
		d->t->more++;
		return 0;
	}
	if ((row = rtable_row(d->t)) < 0 ||
	    rtable_text(d->t, row, "domain", rq_text(s, 0)) < 0)
		return -1;
	rtable_int(d->t, row, "sessions", rq_int(s, 1));
	rtable_int(d->t, row, "tls_completed", rq_int(s, 2));
	rtable_pct(d->t, row, "tls_completed_pct", rq_int(s, 2),
		   rq_int(s, 1));
	rtable_int(d->t, row, "starttls_offered", rq_int(s, 3));
	rtable_int(d->t, row, "plaintext_mail", rq_int(s, 4));
	for (int i = 0; i < 3; i++)
		if (set_flag(d->t, row, flags[i], s, 5 + i) < 0)
			return -1;
	if (publishes(d->t, row) < 0)
		return -1;
	rtable_int(d->t, row, "policy_plaintext", rq_int(s, 8));
	rtable_int(d->t, row, "tlsa_mismatch", rq_int(s, 9));
	return 0;
}

/* "TLSv1.3 3, TLSv1.2 1" under the domain's row. */
static int add_version(void *arg, struct rq_stmt *s)
{
	struct rtable *t = arg;
	long row = facts_find_row(t, rq_text(s, 0));
	const char *name = rq_text(s, 1);
	const struct rcell *old;
	char text[512];
	if (row < 0)
		return 0; /* beyond --top */
	old = rtable_at(t, (size_t)row, (size_t)rtable_col(t, "tls_versions"));
	snprintf(text, sizeof text, "%s%s%s %lld", old->kind == RCELL_TEXT ? old->text : "",
		 old->kind == RCELL_TEXT ? ", " : "", name ? name : "unknown",
		 (long long)rq_int(s, 2));
	return rtable_text(t, row, "tls_versions", text);
}

static int domains(struct rdb *db, struct rmodel *m, const struct dns_state *st)
{
	struct rtable *t = facts_table(db, m, "domains", domain_cols, NCOLS(domain_cols));
	struct domains d = {t, facts_limit(m), 0};
	if (!t)
		return -1;
	if (rtable_title(t, "Recipient domains, worst first") < 0 ||
	    rtable_note(t, st->sessions_with_domain > 0
			       ? "sessions to port 25 whose server an MX answer followed by an address "
				 "answer led to; TLS: completed handshakes; in clear: sessions with mail "
				 "in clear; policy clear: of those, to the domain while it was seen to "
				 "publish MTA-STS or DANE; TLSA mismatch: certificates matching no TLSA "
				 "record; publishes: what the link last showed the domain to publish (?: not seen)"
			       : "none: see the DNS on the link above") < 0)
		return rdb_oom(db);
	if (rdb_each(db, domains_sql, add_domain, &d) < 0 ||
	    rdb_each(db, versions_sql, add_version, t) < 0)
		return -1;
	return 0;
}

/* ---- adoption --------------------------------------------------------------------- */

static const char adoption_sql[] =
	"SELECT count(*), sum(domain_mta_sts = 1), sum(domain_mta_sts IS NOT NULL),"
	" sum(domain_dane = 2), sum(domain_dane IS NOT NULL), sum(domain_tlsrpt = 1),"
	" sum(domain_tlsrpt IS NOT NULL),"
	" sum(domain_mta_sts = 1 AND sender_looked_up_mta_sts = 1),"
	" sum(domain_mta_sts = 1 AND sender_looked_up_mta_sts IS NOT NULL),"
	" sum(domain_dane = 2 AND sender_looked_up_tlsa = 1),"
	" sum(domain_dane = 2 AND sender_looked_up_tlsa IS NOT NULL),"
	" sum(domain_mta_sts = 1 AND sender_fetched_policy = 1),"
	" sum(domain_mta_sts = 1 AND sender_fetched_policy IS NOT NULL)"
	" FROM session_rows WHERE" RDB_FILTER "AND" DOMAIN_ROWS ";";

static const struct facts_share adoption_lines[] = {
	{"mta_sts", "to domains publishing MTA-STS", NULL, 1, 2,
	 "sessions whose domain's MTA-STS record (or its absence) was seen", -1, -1},
	{"dane", "to domains publishing DANE (signed TLSA)", NULL, 3, 4,
	 "sessions whose MX host's TLSA answer was seen", -1, -1},
	{"tlsrpt", "to domains publishing TLS-RPT", NULL, 5, 6,
	 "sessions whose domain's TLS-RPT record (or its absence) was seen", -1, -1},
	{"looked_up_mta_sts", "sender looked the MTA-STS record up", NULL, 7, 8,
	 "sessions to MTA-STS domains where the window before was watched", -1, -1},
	{"looked_up_tlsa", "sender looked the TLSA records up", NULL, 9, 10,
	 "sessions to DANE domains where the window before was watched", -1, -1},
	{"fetched_policy", "sender fetched the MTA-STS policy (HTTPS)", NULL, 11, 12,
	 "sessions to MTA-STS domains where the window before was watched", -1, -1},
};

static int adoption(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "policy_adoption", facts_share_cols,
				       FACTS_SHARE_NCOLS);
	if (!t)
		return -1;
	if (rtable_title(t, "Policy adoption") < 0 ||
	    rtable_note(t, "sessions with a recipient domain; each line names its denominator") < 0)
		return rdb_oom(db);
	return facts_shares(db, t, adoption_sql, adoption_lines, NCOLS(adoption_lines));
}

/* ---- evidence ----------------------------------------------------------------------- */

/* The sessions of the filter where a condition follows, in id order. */
#define EVIDENCE_ROWS                                                                \
	"SELECT id, mx_domain, mx_host, domain_dane, domain_mta_sts FROM session_rows"  \
	" WHERE" RDB_FILTER "AND" DOMAIN_ROWS "AND "

static const char evidence_sql[] =
	"SELECT domain, kind, n, ids, dane, sts, host FROM ("
	" SELECT mx_domain AS domain, 'policy_plaintext' AS kind, count(*) AS n, {{list(id)}} AS ids,"
	" max(CASE WHEN domain_dane = 2 THEN 'DANE (signed TLSA)' END) AS dane,"
	" max(CASE WHEN domain_mta_sts = 1 THEN 'MTA-STS' END) AS sts, max(mx_host) AS host"
	" FROM (" EVIDENCE_ROWS "policy_plaintext = 1 ORDER BY id) p GROUP BY mx_domain"
	" UNION ALL"
	" SELECT mx_domain AS domain, 'tlsa_mismatch' AS kind, count(*) AS n, {{list(id)}} AS ids,"
	" NULL AS dane, NULL AS sts, max(mx_host) AS host"
	" FROM (" EVIDENCE_ROWS "tlsa_match = 0 ORDER BY id) t GROUP BY mx_domain"
	") e ORDER BY n DESC, domain, kind;";

static void cap_ids(const char *list, char *out, size_t n)
{
	int total = 0;
	size_t cut = 0;
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

static void evidence_detail(struct rq_stmt *s, char *out, size_t n)
{
	const char *kind = rq_text(s, 1);
	const char *dane = rq_text(s, 4);
	const char *sts = rq_text(s, 5);
	const char *host = rq_text(s, 6);
	if (kind && !strcmp(kind, "tlsa_mismatch"))
		snprintf(out, n, "the certificate in clear matches no TLSA record of %s",
			 host ? host : "its MX host");
	else
		snprintf(out, n, "mail in clear to a domain publishing %s%s%s", sts ? sts : "",
			 sts && dane ? " and " : "", dane ? dane : "");
}

static int add_evidence(void *arg, struct rq_stmt *s)
{
	struct domains *d = arg;
	char detail[600], ids[400];
	long row;
	if (d->limit >= 0 && d->shown++ >= d->limit) {
		d->t->more++;
		return 0;
	}
	evidence_detail(s, detail, sizeof detail);
	cap_ids(rq_text(s, 3), ids, sizeof ids);
	if ((row = rtable_row(d->t)) < 0 ||
	    rtable_text(d->t, row, "domain", rq_text(s, 0)) < 0 ||
	    rtable_text(d->t, row, "kind", rq_text(s, 1)) < 0 ||
	    rtable_text(d->t, row, "detail", detail) < 0 ||
	    rtable_text(d->t, row, "session_ids", ids) < 0)
		return -1;
	rtable_int(d->t, row, "sessions", rq_int(s, 2));
	return 0;
}

static int evidence(struct rdb *db, struct rmodel *m)
{
	struct rtable *t = facts_table(db, m, "policy_evidence", evidence_cols, NCOLS(evidence_cols));
	struct domains d = {t, facts_limit(m), 0};
	if (!t)
		return -1;
	if (rtable_title(t, "Downgrade evidence: policy domains") < 0 ||
	    rtable_note(t, "plaintext deliveries to domains publishing MTA-STS or DANE, and "
			   "certificates matching none of the MX host's TLSA records; session ids "
			   "as in the sessions table") < 0)
		return rdb_oom(db);
	return rdb_each(db, evidence_sql, add_evidence, &d);
}

int facts_domains(struct rdb *db, struct rmodel *m)
{
	struct dns_state st = {0, 0, 0};
	if (dns_link(db, m, &st) < 0 || domains(db, m, &st) < 0 || adoption(db, m) < 0)
		return -1;
	return evidence(db, m);
}
