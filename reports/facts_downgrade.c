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
#include <stdlib.h>
#include <string.h>

#include "../common/registry.h"
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

/* The mangled-capability test: the anomaly, or XXXXXXXA in the EHLO reply
 * (store/rollup.c counts the same in its measure mangled). */
#define MANGLED                                                                    \
	" (" RDB_ANOMALY(RDB_A_CAPABILITY_MANGLED_N) " = 1"                          \
	" OR {{contains(coalesce(ehlo_keywords, ''), 'XXXXXXXA')}}) "
#define FAILED_HANDSHAKE                                                           \
	" (tls_outcome IN (" RDB_O_REFUSED ", " RDB_O_FAILED ", " RDB_O_NO_SERVER_HELLO "))"

/* Per server from the servers rollup: server_ip, server_port, the sessions
 * showing the evidence, then up to two values for the detail; the ids come
 * from the session rows (cond). */
static const char stripped_sql[] =
	"SELECT server_ip, server_port, sum(stripped) AS k, sum(offered), sum(ehlo)"
	" FROM {{src:servers}} GROUP BY server_ip, server_port"
	" HAVING sum(stripped) > 0 AND sum(offered) > 0 ORDER BY k DESC, server_ip, server_port";
#define STRIPPED_IDS "starttls_offered = 0 AND NOT" MANGLED

static const char mangled_sql[] =
	"SELECT server_ip, server_port, sum(mangled) AS k, max(mangled_kw)"
	" FROM {{src:servers}} GROUP BY server_ip, server_port HAVING sum(mangled) > 0"
	" ORDER BY k DESC, server_ip, server_port";

#define REFUSED                                                                    \
	"starttls_sent = 1 AND starttls_reply IS NOT NULL"                          \
	" AND NOT (starttls_reply BETWEEN 200 AND 299)"
static const char refused_sql[] =
	"SELECT server_ip, server_port, sum(refused) AS k, sum(accepted)"
	" FROM {{src:servers}} GROUP BY server_ip, server_port"
	" HAVING sum(refused) > 0 AND sum(accepted) > 0 ORDER BY k DESC, server_ip, server_port";
/* The codes a server refused STARTTLS with, from the session rows. */
static const char refused_codes_sql[] =
	"SELECT starttls_reply FROM session_rows WHERE" RDB_SERVER_ROWS "AND" RDB_FILTER
	"AND " REFUSED " GROUP BY starttls_reply ORDER BY starttls_reply";

static const char injection_sql[] =
	"SELECT server_ip, server_port, sum(injected) AS k FROM {{src:servers}}"
	" GROUP BY server_ip, server_port HAVING sum(injected) > 0"
	" ORDER BY k DESC, server_ip, server_port";
#define INJECTION_IDS RDB_ANOMALY(RDB_A_PLAINTEXT_AFTER_STARTTLS_N) " = 1"

/* Plaintext fallback needs the session rows: the servers with a failed
 * handshake (from the rollup), then for each of them its failed sessions
 * and the same client's sessions that started during one or within the
 * window after its end, earliest first (the first one counts). */
static const char fallback_servers_sql[] =
	"SELECT server_ip, server_port FROM {{src:servers}} GROUP BY server_ip, server_port"
	" HAVING" RDB_N(FAILED_HANDSHAKE) "> 0"
	" ORDER BY server_ip, server_port";
static const char fallback_sql[] =
	"SELECT f.id, f.ts_end, client_ip, g.gid, g.gts, g.gv, g.gt"
	" FROM (SELECT id, client_ip, ts_start, ts_end FROM session_rows WHERE" RDB_SERVER_ROWS
	"  AND" RDB_FILTER "AND" FAILED_HANDSHAKE ") f"
	" {{joinall}} (SELECT id AS gid, client_ip, ts_start AS gts, tls_version AS gv,"
	"  transport AS gt FROM session_rows WHERE" RDB_SERVER_ROWS "AND" RDB_FILTER ") g"
	" USING (client_ip)"
	" WHERE g.gts >= f.ts_start AND g.gts <= f.ts_end + :window AND g.gid <> f.id"
	"  AND (g.gts > f.ts_start OR g.gid > f.id)"
	" ORDER BY f.id, g.gts, g.gid";

struct ctx;
/* Writes the detail of a row; 0 or -1. */
typedef int (*detail_fn)(struct ctx *c, struct rq_stmt *s, char *out, size_t n);

struct kind {
	const char *key, *what;
	const char *sql;
	const char *ids;  /* the condition on session rows, or NULL (fallback) */
	detail_fn detail;
};

struct ctx {
	struct rdb *db;
	struct rtable *t;
	const struct kind *k;
	struct facts_ids ids;
	struct rq_stmt *codes;
	int64_t sessions, servers;
	long limit, shown;
};

static int stripped_detail(struct ctx *c, struct rq_stmt *s, char *out, size_t n)
{
	(void)c;
	snprintf(out, n, "STARTTLS offered in %lld of %lld EHLO replies", (long long)rq_int(s, 3),
		 (long long)rq_int(s, 4));
	return 0;
}

/* The keyword of the EHLO list that holds "XXXX", or the whole list. */
static int mangled_detail(struct ctx *c, struct rq_stmt *s, char *out, size_t n)
{
	const char *kw = rq_text(s, 3);
	const char *x = kw ? strstr(kw, "XXXX") : NULL;
	size_t start = 0, len;
	(void)c;
	if (!kw) {
		snprintf(out, n, "flagged capability_mangled");
		return 0;
	}
	if (x) {
		start = (size_t)(x - kw);
		while (start > 0 && kw[start - 1] != ',')
			start--;
	}
	len = x ? strcspn(kw + start, ",") : strlen(kw);
	snprintf(out, n, "EHLO keyword%s %.*s", x ? "" : "s", (int)len, kw + start);
	return 0;
}

static int refused_detail(struct ctx *c, struct rq_stmt *s, char *out, size_t n)
{
	char codes[128] = "";
	size_t used = 0;
	int rc;
	rq_reset(c->codes);
	rq_bind_text(c->codes, ":ip", rq_text(s, 0));
	rq_bind_int(c->codes, ":port", rq_int(s, 1));
	while ((rc = rdb_step(c->db, c->codes)) > 0 && used < sizeof codes)
		used += (size_t)snprintf(codes + used, sizeof codes - used, "%s%lld", used ? "," : "",
					 (long long)rq_int(c->codes, 0));
	snprintf(out, n, "refused with %s; accepted in %lld other sessions", used ? codes : "?",
		 (long long)rq_int(s, 3));
	return rc < 0 ? -1 : 0;
}

static int injection_detail(struct ctx *c, struct rq_stmt *s, char *out, size_t n)
{
	(void)c;
	(void)s;
	snprintf(out, n, "clear data after STARTTLS, before TLS");
	return 0;
}

static const struct kind kinds[] = {
	{"starttls_stripped", "STARTTLS missing where the server offers it elsewhere",
	 stripped_sql, STRIPPED_IDS, stripped_detail},
	{"capability_mangled", "EHLO capability mangled (e.g. XXXXXXXA)", mangled_sql, MANGLED,
	 mangled_detail},
	{"starttls_refused", "STARTTLS refused where the server accepts it elsewhere",
	 refused_sql, REFUSED, refused_detail},
	{"plaintext_fallback", "client went on in clear after a failed handshake",
	 fallback_servers_sql, NULL, NULL},
	{"plaintext_injection", "clear data injected after STARTTLS, before TLS",
	 injection_sql, INJECTION_IDS, injection_detail},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* A row of evidence: counts it, and shows it within --top. */
static int evidence_row(struct ctx *c, const char *ip, int64_t port, int64_t sessions,
			const char *detail, const char *ids)
{
	char server[320];
	long row;
	c->sessions += sessions;
	c->servers++;
	if (c->limit >= 0 && c->shown++ >= c->limit) {
		c->t->more++;
		return 0;
	}
	facts_server(ip, (int)port, server, sizeof server);
	if ((row = rtable_row(c->t)) < 0 || rtable_text(c->t, row, "server", server) < 0 ||
	    rtable_text(c->t, row, "kind", c->k->key) < 0 ||
	    rtable_text(c->t, row, "detail", detail) < 0 ||
	    rtable_text(c->t, row, "session_ids", ids) < 0)
		return -1;
	rtable_int(c->t, row, "sessions", sessions);
	return 0;
}

/* "1, 2, 3", with "(+N more)" when there are more than IDS_SHOWN. */
static void more_ids(char *ids, size_t n, int64_t total)
{
	size_t used = strlen(ids);
	if (total > IDS_SHOWN)
		snprintf(ids + used, n - used, " (+%lld more)", (long long)(total - IDS_SHOWN));
}

/* A row of a kind counted by the rollups; the ids from the session rows. */
static int add_evidence(void *arg, struct rq_stmt *s)
{
	struct ctx *c = arg;
	char detail[400], ids[400] = "";
	int64_t k = rq_int(s, 2);
	int show = c->limit < 0 || c->shown < c->limit;
	if (show && (c->k->detail(c, s, detail, sizeof detail) < 0 ||
		     facts_ids_list(&c->ids, rq_text(s, 0), rq_int(s, 1), IDS_SHOWN, ids,
				    sizeof ids) < 0))
		return -1;
	more_ids(ids, sizeof ids, k);
	return evidence_row(c, rq_text(s, 0), rq_int(s, 1), k, show ? detail : "", ids);
}

static int run_kind(struct rdb *db, struct ctx *c)
{
	int rc = facts_ids_open(db, &c->ids, c->k->ids);
	if (rc == 0 && c->k->detail == refused_detail)
		rc = (c->codes = rdb_query(db, refused_codes_sql)) ? 0 : -1;
	if (rc == 0)
		rc = rdb_each(db, c->k->sql, add_evidence, c);
	facts_ids_close(&c->ids);
	if (c->codes)
		rq_finish(c->codes);
	c->codes = NULL;
	return rc;
}

/* ---- plaintext fallback ------------------------------------------------------------ */

#define MAX_FALLBACK_ROWS 1000000

/* One server's fallback evidence. */
struct fallback {
	char *ip;
	int64_t port, sessions, clients;
	char ids[400];
};

struct fallbacks {
	struct fallback *r;
	size_t n, cap;
	char **clients; /* of the server at hand */
	size_t nclients, cap_clients;
};

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct clients of the server at hand; frees them. */
static int64_t distinct_clients(struct fallbacks *fb)
{
	int64_t n = 0;
	if (fb->nclients)
		qsort(fb->clients, fb->nclients, sizeof fb->clients[0], by_text);
	for (size_t i = 0; i < fb->nclients; i++)
		n += i == 0 || strcmp(fb->clients[i], fb->clients[i - 1]) != 0;
	for (size_t i = 0; i < fb->nclients; i++)
		free(fb->clients[i]);
	fb->nclients = 0;
	return n;
}

static int note_client(struct fallbacks *fb, const char *ip)
{
	if (fb->nclients == fb->cap_clients) {
		size_t cap = fb->cap_clients ? fb->cap_clients * 2 : 16;
		char **c = cap <= MAX_FALLBACK_ROWS ? realloc(fb->clients, cap * sizeof *c) : NULL;
		if (!c)
			return -1;
		fb->clients = c;
		fb->cap_clients = cap;
	}
	if (!(fb->clients[fb->nclients] = strdup(ip ? ip : "")))
		return -1;
	fb->nclients++;
	return 0;
}

/* The first later session of each failed one (rows ordered by failed id):
 * evidence when it was in clear within the window. */
static int scan_server(struct rdb *db, struct rq_stmt *s, struct fallbacks *fb,
		       struct fallback *f)
{
	int64_t last = -1;
	size_t used = 0;
	int rc;
	while ((rc = rdb_step(db, s)) > 0) {
		int64_t id = rq_int(s, 0);
		if (id == last)
			continue;
		last = id;
		if (tls_version_rank(rq_null(s, 5) ? -1 : (int)rq_int(s, 5)) != 0 ||
		    rq_int(s, 6) != RDB_T_PLAINTEXT_N ||
		    rq_real(s, 4) - rq_real(s, 1) > FALLBACK_WINDOW)
			continue;
		if (f->sessions++ < IDS_SHOWN && used < sizeof f->ids)
			used += (size_t)snprintf(f->ids + used, sizeof f->ids - used, "%s%lld->%lld",
						 used ? ", " : "", (long long)id,
						 (long long)rq_int(s, 3));
		if (note_client(fb, rq_text(s, 2)) < 0)
			return -1;
	}
	return rc;
}

static int add_fallback(struct fallbacks *fb, struct fallback *f)
{
	if (fb->n == fb->cap) {
		size_t cap = fb->cap ? fb->cap * 2 : 16;
		struct fallback *r = cap <= MAX_FALLBACK_ROWS ? realloc(fb->r, cap * sizeof *r) : NULL;
		if (!r)
			return -1;
		fb->r = r;
		fb->cap = cap;
	}
	if (!(f->ip = strdup(f->ip)))
		return -1;
	fb->r[fb->n++] = *f;
	return 0;
}

struct fallback_run {
	struct rdb *db;
	struct rq_stmt *scan;
	struct fallbacks fb;
};

/* A server with a failed handshake: its evidence, if any. */
static int fallback_server(void *arg, struct rq_stmt *s)
{
	struct fallback_run *fr = arg;
	struct fallback f = {(char *)rq_text(s, 0), rq_int(s, 1), 0, 0, ""};
	int rc;
	rq_reset(fr->scan);
	rq_bind_text(fr->scan, ":ip", f.ip);
	rq_bind_int(fr->scan, ":port", f.port);
	rq_bind_int(fr->scan, ":window", FALLBACK_WINDOW);
	rc = scan_server(fr->db, fr->scan, &fr->fb, &f);
	f.clients = distinct_clients(&fr->fb);
	if (rc < 0)
		return -1;
	return f.sessions > 0 ? add_fallback(&fr->fb, &f) : 0;
}

/* Most sessions first, then by address and port. */
static int fallback_order(const void *a, const void *b)
{
	const struct fallback *x = a, *y = b;
	int c;
	if (x->sessions != y->sessions)
		return x->sessions > y->sessions ? -1 : 1;
	if ((c = strcmp(x->ip, y->ip)))
		return c;
	return x->port < y->port ? -1 : x->port > y->port;
}

static int run_fallback(struct rdb *db, struct ctx *c)
{
	struct fallback_run fr = {db, rdb_query(db, fallback_sql), {NULL, 0, 0, NULL, 0, 0}};
	int rc = fr.scan ? rdb_each(db, c->k->sql, fallback_server, &fr) : -1;
	if (rc == 0 && fr.fb.n)
		qsort(fr.fb.r, fr.fb.n, sizeof fr.fb.r[0], fallback_order);
	for (size_t i = 0; i < fr.fb.n; i++) {
		char detail[400];
		struct fallback *f = &fr.fb.r[i];
		snprintf(detail, sizeof detail, "%lld client(s) went on in clear within %d s of a"
			 " failed handshake (ids: failed->clear)", (long long)f->clients,
			 FALLBACK_WINDOW);
		more_ids(f->ids, sizeof f->ids, f->sessions);
		if (rc == 0 && evidence_row(c, f->ip, f->port, f->sessions, detail, f->ids) < 0)
			rc = rdb_oom(db);
		free(f->ip);
	}
	free(fr.fb.r);
	free(fr.fb.clients);
	rq_finish(fr.scan);
	return rc;
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
	    rtable_note(sum, "sessions showing each kind, and the servers they went to; plaintext"
			     " fallback from the session rows stored") < 0 ||
	    rtable_title(ev, "Downgrade evidence, per server") < 0 ||
	    rtable_note(ev, "session ids as in the sessions table%s", facts_rows_note(db)) < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NKINDS; i++) {
		struct ctx c = {db, ev, &kinds[i], {NULL, NULL}, NULL, 0, 0, facts_limit(m), 0};
		if ((kinds[i].ids ? run_kind(db, &c) : run_fallback(db, &c)) < 0)
			return -1;
		if (summary_row(sum, &kinds[i], &c) < 0)
			return rdb_oom(db);
	}
	return 0;
}
