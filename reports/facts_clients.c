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

/* One pass over the clients rollup: the servers of a client are its
 * distinct server keys, its EHLO name the most frequent in its sessions in
 * clear. */
static const char clients_sql[] =
	"SELECT client_ip, {{modew(ehlo_name, CASE WHEN" RDB_CLEAR "THEN n ELSE 0 END)}},"
	RDB_N(RDB_KNOWN) "AS kn," RDB_N(RDB_CLEAR) "AS cl, sum(mail) AS ml, sum(not_used),"
	" sum(auth) AS au, count(DISTINCT" RDB_SERVER ")"
	" FROM {{src:clients}} GROUP BY client_ip HAVING" RDB_N(RDB_CLEAR) "> 0"
	" ORDER BY ml DESC, au DESC, cl DESC, client_ip";

struct ranked {
	struct rtable *t;
	long limit, seen;
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

static int add_client(void *arg, struct rq_stmt *s)
{
	struct ranked *r = arg;
	struct rtable *t = r->t;
	if (!shown(r))
		return 0;
	long row = rtable_row(t);
	if (row < 0 || rtable_text(t, row, "client", rq_text(s, 0)) < 0 ||
	    rtable_text(t, row, "ehlo_name", rq_text(s, 1)) < 0)
		return -1;
	rtable_int(t, row, "sessions", rq_int(s, 2));
	rtable_int(t, row, "clear", rq_int(s, 3));
	rtable_pct(t, row, "clear_pct", rq_int(s, 3), rq_int(s, 2));
	rtable_int(t, row, "mail_clear", rq_int(s, 4));
	rtable_int(t, row, "starttls_not_used", rq_int(s, 5));
	rtable_int(t, row, "cleartext_auth", rq_int(s, 6));
	rtable_int(t, row, "servers", rq_int(s, 7));
	return 0;
}

int facts_clients(struct rdb *db, struct rmodel *m)
{
	struct ranked r = {facts_table(db, m, "clients", client_cols, NCOLS(client_cols)),
			   facts_limit(m), 0};
	if (!r.t)
		return -1;
	if (rtable_title(r.t, "Clients sending in clear, most mail first") < 0 ||
	    rtable_note(r.t, "per client address; sessions: known ones (unknown apart); clear: not"
			     " encrypted; not used: STARTTLS offered but not used") < 0)
		return rdb_oom(db);
	return rdb_each(db, clients_sql, add_client, &r);
}

/* ---- what the clients offer ------------------------------------------------- */

enum { O_HELLOS, O_TLS13, O_NO_TLS13, O_OLD, O_WEAK, O_SSLV2 };

static const char offer_sql[] =
	"SELECT" RDB_N("client_hello = 1") "," RDB_N("client_offered_tls13 = 1") ","
	RDB_N("client_offered_tls13 = 0") ","
	RDB_N("client_hello = 1 AND {{vlegacy(client_max_version)}} = 1") ","
	RDB_N("client_offered_weak = 1") "," RDB_N("sslv2_hello = 1") " FROM {{src:codes}}";

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
static int add_version(void *arg, struct rq_stmt *s)
{
	struct counted *c = arg;
	const char *name = tls_rank_name((int)rq_int(s, 0));
	return rtable_counted(c->t, "version", name ? name : "(unknown)", rq_int(s, 1), c->whole) < 0
		       ? -1 : 0;
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
	return rdb_each(db, "SELECT {{vrank(client_max_version)}} AS r, sum(n) FROM {{src:codes}}"
			    " WHERE client_hello = 1 GROUP BY r ORDER BY r DESC",
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

/* Of the sessions with a ClientHello, per client, in one pass. */
static const char weak_sql[] =
	"SELECT client_ip, {{modew(ehlo_name, hellos)}}, {{modew(ja4, hellos)}}, sum(hellos),"
	" sum(no13) AS n13, min({{vrank(client_max_version)}}) AS lo, sum(weak) AS w,"
	" sum(only_weak) AS ow, sum(nofs) AS nf, count(DISTINCT" RDB_SERVER ")"
	" FROM {{src:clients}} WHERE hellos > 0 GROUP BY client_ip"
	" HAVING sum(no13) + sum(weak) + sum(only_weak) + sum(nofs) > 0"
	" ORDER BY ow DESC, lo, nf DESC, w DESC, n13 DESC, sum(hellos) DESC, client_ip";

static int add_weak(void *arg, struct rq_stmt *s)
{
	struct ranked *r = arg;
	struct rtable *t = r->t;
	if (!shown(r))
		return 0;
	long row = rtable_row(t);
	const char *lowest = tls_rank_name((int)rq_int(s, 5));
	int64_t n = rq_int(s, 3), no13 = rq_int(s, 4);
	if (row < 0 || rtable_text(t, row, "client", rq_text(s, 0)) < 0 ||
	    rtable_text(t, row, "ehlo_name", rq_text(s, 1)) < 0 ||
	    rtable_text(t, row, "ja4", rq_text(s, 2)) < 0 ||
	    rtable_text(t, row, "lowest_max", lowest ? lowest : "-") < 0)
		return -1;
	rtable_int(t, row, "hellos", n);
	rtable_int(t, row, "no_tls13", no13);
	rtable_pct(t, row, "no_tls13_pct", no13, n);
	rtable_int(t, row, "offered_weak", rq_int(s, 6));
	rtable_int(t, row, "only_weak", rq_int(s, 7));
	rtable_int(t, row, "no_fs", rq_int(s, 8));
	rtable_int(t, row, "servers", rq_int(s, 9));
	return 0;
}

static int build_weak(struct rdb *db, struct rmodel *m)
{
	struct ranked r = {facts_table(db, m, "client_weak", weak_cols, NCOLS(weak_cols)),
			   facts_limit(m), 0};
	if (!r.t)
		return -1;
	if (rtable_title(r.t, "Clients offering old or weak TLS, worst first (the client's side)") < 0 ||
	    rtable_note(r.t, "per client address; hellos: sessions with a ClientHello; no 1.3:"
			     " TLS 1.3 not offered; lowest max: the oldest highest version it"
			     " offered; weak: a weak suite among those offered; only weak, no FS:"
			     " the server had nothing better to pick") < 0)
		return rdb_oom(db);
	return rdb_each(db, weak_sql, add_weak, &r);
}

int facts_offers(struct rdb *db, struct rmodel *m)
{
	if (build_offers(db, m) < 0 || build_weak(db, m) < 0)
		return -1;
	return 0;
}
