/* TLS breakdowns of the encrypted sessions: versions, cipher suites, cipher
 * classes (from the IANA registry's flags), the stored judgement of the
 * negotiated suite (forward secrecy, AEAD, weak, post-quantum) and
 * key-exchange groups; how the handshakes ended and the alerts sent in
 * clear; the most common JA3, JA4 and JA3S fingerprints. */
#include <stdio.h>
#include <string.h>

#include "../common/registry.h"
#include "facts.h"

static const struct rcol version_cols[] = {
	{"version", "version", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT | RCOL_BAR},
};

static const struct rcol cipher_cols[] = {
	{"cipher", "cipher suite", 0},
	{"code", "code", RCOL_NOTEXT},
	{"class", "class", RCOL_NOTEXT},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

static const struct rcol class_cols[] = {
	{"class", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT | RCOL_BAR},
};

static const struct rcol group_cols[] = {
	{"group", "group", 0},
	{"post_quantum", "post-quantum", 0},
	{"dh_bits", "DH prime bits", RCOL_DATA | RCOL_NOTEXT},
	{"tls13", "TLS 1.3", RCOL_NUM},
	{"tls12", "TLS <= 1.2", RCOL_NUM},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

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

/* Cipher classes, worst first; each encrypted session is in exactly one. */
enum cipher_class { CC_WEAK, CC_NO_FS, CC_FS_CBC, CC_FS_AEAD, CC_UNREGISTERED, CC_COUNT };

static const struct {
	const char *key, *what;
} classes[CC_COUNT] = {
	{"weak", "weak (NULL, EXPORT, RC4, DES, anon)"},
	{"no_forward_secrecy", "no forward secrecy (static RSA/DH)"},
	{"forward_secret_cbc", "forward secret, CBC"},
	{"forward_secret_aead", "forward secret, AEAD"},
	{"unregistered", "suite not in the IANA registry"},
};

static enum cipher_class classify(int has_code, int code)
{
	const struct cipher_info *ci = has_code ? cipher_lookup((uint16_t)code) : NULL;
	if (!ci || (ci->flags & CIPHER_SCSV))
		return CC_UNREGISTERED;
	if (ci->flags & CIPHER_WEAK)
		return CC_WEAK;
	if (!(ci->flags & CIPHER_FS))
		return CC_NO_FS;
	return ci->flags & CIPHER_AEAD ? CC_FS_AEAD : CC_FS_CBC;
}

/* ---- versions -------------------------------------------------------------- */

struct ctx {
	struct rmodel *m;
	struct rtable *t;
	int64_t class_counts[CC_COUNT];
	long limit, seen;
};

static int add_version(void *arg, sqlite3_stmt *s)
{
	struct ctx *c = arg;
	long row = rtable_row(c->t);
	int64_t n = sqlite3_column_int64(s, 1);
	if (row < 0 || rtable_text(c->t, row, "version",
				   (const char *)sqlite3_column_text(s, 0)) < 0)
		return -1;
	rtable_int(c->t, row, "sessions", n);
	rtable_pct(c->t, row, "sessions_pct", n, c->m->meta.encrypted);
	return 0;
}

static int build_versions(struct rdb *db, struct rmodel *m)
{
	struct ctx c = {m, facts_table(db, m, "tls_versions", version_cols, NCOLS(version_cols)),
			{0}, 0, 0};
	if (!c.t)
		return -1;
	if (rtable_title(c.t, "TLS versions") < 0 ||
	    rtable_note(c.t, "of %lld encrypted sessions", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT tls_version, count(*), max(tls_version_code) FROM sessions"
			    " WHERE" RDB_FILTER "AND" RDB_ENC
			    "GROUP BY tls_version ORDER BY 3 DESC, 1;",
			add_version, &c);
}

/* ---- cipher suites and their classes --------------------------------------- */

static int add_cipher(void *arg, sqlite3_stmt *s)
{
	struct ctx *c = arg;
	int has_code = sqlite3_column_type(s, 0) != SQLITE_NULL;
	int code = sqlite3_column_int(s, 0);
	int64_t n = sqlite3_column_int64(s, 2);
	enum cipher_class cc = classify(has_code, code);
	char hex[16], name[160];
	long row;
	c->class_counts[cc] += n;
	if (c->limit >= 0 && c->seen++ >= c->limit) {
		c->t->more++;
		return 0;
	}
	if (has_code)
		snprintf(hex, sizeof hex, "0x%04X", (unsigned)code);
	else
		snprintf(hex, sizeof hex, "-");
	snprintf(name, sizeof name, "%s", sqlite3_column_type(s, 1) != SQLITE_NULL
		 ? (const char *)sqlite3_column_text(s, 1) : has_code ? hex : "(not seen)");
	if ((row = rtable_row(c->t)) < 0 || rtable_text(c->t, row, "cipher", name) < 0 ||
	    rtable_text(c->t, row, "code", hex) < 0 ||
	    rtable_text(c->t, row, "class", classes[cc].key) < 0)
		return -1;
	rtable_int(c->t, row, "sessions", n);
	rtable_pct(c->t, row, "sessions_pct", n, c->m->meta.encrypted);
	return 0;
}

static int build_classes(struct rdb *db, struct rmodel *m, const int64_t *counts)
{
	struct rtable *t = facts_table(db, m, "cipher_classes", class_cols, NCOLS(class_cols));
	if (!t)
		return -1;
	if (rtable_title(t, "Cipher classes, worst first") < 0 ||
	    rtable_note(t, "of %lld encrypted sessions; from the IANA registry",
			(long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	for (int i = 0; i < CC_COUNT; i++) {
		long row = rtable_counted(t, "class", classes[i].key, counts[i], m->meta.encrypted);
		if (row < 0 || rtable_text(t, row, "what", classes[i].what) < 0)
			return rdb_oom(db);
	}
	return 0;
}

static int build_ciphers(struct rdb *db, struct rmodel *m)
{
	struct ctx c = {m, facts_table(db, m, "ciphers", cipher_cols, NCOLS(cipher_cols)), {0},
			facts_limit(m), 0};
	if (!c.t)
		return -1;
	if (rtable_title(c.t, "Cipher suites") < 0 ||
	    rtable_note(c.t, "of %lld encrypted sessions", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	if (rdb_each(db, "SELECT cipher_suite, max(cipher_name), count(*) FROM sessions"
			 " WHERE" RDB_FILTER "AND" RDB_ENC
			 "GROUP BY cipher_suite ORDER BY 3 DESC, 1;",
		     add_cipher, &c) < 0)
		return -1;
	return build_classes(db, m, c.class_counts);
}

/* ---- crypto quality: the stored judgement of the negotiated suite ---------- */

enum { Q_ENC, Q_FS, Q_AEAD, Q_WEAK, Q_PQ, Q_UNJUDGED };

static const char quality_sql[] =
	"SELECT count(*), sum(forward_secrecy = 1), sum(aead = 1), sum(weak_cipher = 1),"
	" sum(kx_pq = 1), sum(forward_secrecy IS NULL)"
	" FROM sessions WHERE" RDB_FILTER "AND" RDB_ENC ";";

#define ENC_SESSIONS "encrypted sessions"
static const struct facts_share quality_lines[] = {
	{"forward_secrecy", "forward secret (ephemeral key exchange)", NULL, Q_FS, Q_ENC,
	 ENC_SESSIONS, -1, -1},
	{"aead", "AEAD cipher (GCM, CCM, ChaCha20-Poly1305)", NULL, Q_AEAD, Q_ENC, ENC_SESSIONS,
	 -1, -1},
	{"weak_cipher", "weak cipher (NULL, EXPORT, anon, RC4, DES, 3DES)", NULL, Q_WEAK, Q_ENC,
	 ENC_SESSIONS, -1, -1},
	{"post_quantum", "post-quantum or hybrid key exchange", NULL, Q_PQ, Q_ENC, ENC_SESSIONS,
	 -1, -1},
	{"not_judged", "suite not in the IANA registry, not judged", NULL, Q_UNJUDGED, Q_ENC,
	 ENC_SESSIONS, -1, -1},
};

static int build_quality(struct rdb *db, struct rmodel *m)
{
	struct rtable *t;
	if (!m->meta.has_depth)
		return 0;
	if (!(t = facts_table(db, m, "crypto_quality", facts_share_cols, FACTS_SHARE_NCOLS)))
		return -1;
	if (rtable_title(t, "Crypto quality of the encrypted sessions") < 0 ||
	    rtable_note(t, "of %lld encrypted sessions (a ServerHello seen); the negotiated"
			   " suite judged by the IANA registry; post-quantum: the key-exchange"
			   " group", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	return facts_shares(db, t, quality_sql, quality_lines, NCOLS(quality_lines));
}

/* ---- key-exchange groups ---------------------------------------------------- */

/* Named groups (TLS 1.3 key_share, TLS <= 1.2 ServerKeyExchange curve),
 * then finite-field DHE by prime size, then the sessions without one. */
static const char groups_sql[] =
	"SELECT CASE WHEN kx_group IS NOT NULL THEN kx_group"
	"  WHEN kx_dh_bits IS NOT NULL THEN 'DHE, ' || kx_dh_bits || '-bit prime'"
	"  WHEN resumed = 1 THEN '(none: resumed)'"
	"  WHEN forward_secrecy = 0 THEN '(none: RSA key exchange)'"
	"  ELSE '(not recorded)' END AS g,"
	" CASE WHEN kx_group IS NOT NULL THEN 0 WHEN kx_dh_bits IS NOT NULL THEN 1"
	"  ELSE 2 END AS kind, max(kx_pq), max(kx_dh_bits),"
	" sum(tls_version_code >= 772), sum(tls_version_code < 772), count(*),"
	" max(kx_group_code) FROM sessions WHERE" RDB_FILTER "AND" RDB_ENC
	" GROUP BY 1, 2 ORDER BY 2, 7 DESC, max(kx_dh_bits) DESC, 1;";

static const char groups_old_sql[] =
	"SELECT kx_group, CASE WHEN kx_group IS NULL THEN 2 ELSE 0 END, NULL, NULL, NULL, NULL,"
	" count(*), max(kx_group_code) FROM sessions WHERE" RDB_FILTER "AND" RDB_ENC
	" GROUP BY kx_group ORDER BY kx_group IS NULL, 7 DESC, 1;";

static int add_group(void *arg, sqlite3_stmt *s)
{
	struct ctx *c = arg;
	int kind = sqlite3_column_int(s, 1), pq = -1;
	int64_t n = sqlite3_column_int64(s, 6);
	const char *name = (const char *)sqlite3_column_text(s, 0);
	long row = rtable_row(c->t);
	if (kind == 1)
		pq = 0; /* finite-field DHE */
	else if (sqlite3_column_type(s, 2) != SQLITE_NULL)
		pq = sqlite3_column_int(s, 2);
	else if (sqlite3_column_type(s, 7) != SQLITE_NULL &&
		 !tls_group_name(sqlite3_column_int(s, 7), &pq))
		pq = -1;
	if (row < 0 || rtable_text(c->t, row, "group", name ? name : "(not recorded)") < 0 ||
	    rtable_text(c->t, row, "post_quantum", pq < 0 ? "-" : pq ? "yes" : "no") < 0)
		return -1;
	if (sqlite3_column_type(s, 3) != SQLITE_NULL)
		rtable_int(c->t, row, "dh_bits", sqlite3_column_int64(s, 3));
	if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
		rtable_int(c->t, row, "tls13", sqlite3_column_int64(s, 4));
		rtable_int(c->t, row, "tls12", sqlite3_column_int64(s, 5));
	}
	rtable_int(c->t, row, "sessions", n);
	rtable_pct(c->t, row, "sessions_pct", n, c->m->meta.encrypted);
	return 0;
}

static int build_groups(struct rdb *db, struct rmodel *m)
{
	struct ctx c = {m, NULL, {0}, 0, 0};
	if (!m->meta.has_kx_group)
		return 0;
	if (!(c.t = facts_table(db, m, "kx_groups", group_cols, NCOLS(group_cols))))
		return -1;
	if (rtable_title(c.t, "Key-exchange groups") < 0 ||
	    rtable_note(c.t, "of %lld encrypted sessions; named groups from the TLS 1.3"
			     " key_share or the TLS <= 1.2 ServerKeyExchange, finite-field DHE by"
			     " the size of the server's prime", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	return rdb_each(db, m->meta.has_depth ? groups_sql : groups_old_sql, add_group, &c);
}

int facts_tls(struct rdb *db, struct rmodel *m)
{
	if (build_versions(db, m) < 0 || build_ciphers(db, m) < 0 || build_quality(db, m) < 0 ||
	    build_groups(db, m) < 0)
		return -1;
	return 0;
}

/* ---- handshake outcomes and alerts -------------------------------------------- */

static const struct {
	const char *key, *what;
} outcomes[] = {
	{"established", "established: encrypted data both ways"},
	{"refused", "refused: an alert instead of a ServerHello"},
	{"failed", "failed: a ServerHello, then an alert"},
	{"no_server_hello", "no ServerHello: a ClientHello, then nothing"},
	{"incomplete", "incomplete: a ServerHello, then cut short"},
	{"no_tls_after_220", "no TLS hello after STARTTLS was accepted"},
};

#define MAX_OTHER_OUTCOMES 16
#define OUTCOME_NAME_MAX 32

/* The listed outcomes' counts, and names not listed (a newer capture). */
struct outcome_counts {
	int64_t n[NCOLS(outcomes)];
	struct {
		char name[OUTCOME_NAME_MAX];
		int64_t n;
	} other[MAX_OTHER_OUTCOMES];
	size_t nother;
	int64_t total;
};

static int read_outcome(void *arg, sqlite3_stmt *s)
{
	struct outcome_counts *oc = arg;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	int64_t n = sqlite3_column_int64(s, 1);
	oc->total += n;
	for (size_t i = 0; i < NCOLS(outcomes); i++)
		if (!strcmp(name, outcomes[i].key)) {
			oc->n[i] += n;
			return 0;
		}
	if (oc->nother < MAX_OTHER_OUTCOMES) {
		snprintf(oc->other[oc->nother].name, OUTCOME_NAME_MAX, "%s", name);
		oc->other[oc->nother++].n = n;
	}
	return 0;
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
	struct rtable *t = facts_table(db, m, "tls_outcomes", outcome_cols, NCOLS(outcome_cols));
	memset(&oc, 0, sizeof oc);
	if (!t || rdb_each(db, "SELECT tls_outcome, count(*) FROM sessions WHERE" RDB_FILTER
			       "AND tls_outcome IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1;",
			   read_outcome, &oc) < 0)
		return -1;
	if (rtable_title(t, "TLS handshake outcomes") < 0 ||
	    rtable_note(t, "of %lld sessions where TLS was attempted (a TLS hello seen, or"
			   " STARTTLS accepted)", (long long)oc.total) < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NCOLS(outcomes); i++)
		if (outcome_row(t, outcomes[i].key, outcomes[i].what, oc.n[i], oc.total) < 0)
			return rdb_oom(db);
	for (size_t i = 0; i < oc.nother; i++)
		if (outcome_row(t, oc.other[i].name, oc.other[i].name, oc.other[i].n, oc.total) < 0)
			return rdb_oom(db);
	return 0;
}

static int add_alert(void *arg, sqlite3_stmt *s)
{
	struct counted *l = arg;
	long row = rtable_counted(l->t, "alert", (const char *)sqlite3_column_text(s, 0),
				  sqlite3_column_int64(s, 4), l->whole);
	if (row < 0 || rtable_text(l->t, row, "sent_by", (const char *)sqlite3_column_text(s, 1)) < 0 ||
	    rtable_text(l->t, row, "level", (const char *)sqlite3_column_text(s, 2)) < 0 ||
	    rtable_text(l->t, row, "outcome", (const char *)sqlite3_column_text(s, 3)) < 0)
		return -1;
	rtable_int(l->t, row, "servers", sqlite3_column_int64(s, 5));
	return 0;
}

static int build_alerts(struct rdb *db, struct rmodel *m)
{
	struct counted l = {facts_table(db, m, "tls_alerts", alert_cols, NCOLS(alert_cols)), 0};
	if (!l.t || rdb_scalar(db, "SELECT count(*) FROM sessions WHERE" RDB_FILTER
				   "AND tls_alert IS NOT NULL;", &l.whole) < 0)
		return -1;
	if (rtable_title(l.t, "TLS alerts sent in clear, by description and sender") < 0 ||
	    rtable_note(l.t, "of %lld sessions with an alert in clear (the first one);"
			     " outcome: how those handshakes ended", (long long)l.whole) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT coalesce(tls_alert_name, 'alert ' || (tls_alert % 256)),"
			    " coalesce(tls_alert_from, '-'), CASE tls_alert / 256 WHEN 1 THEN"
			    " 'warning' WHEN 2 THEN 'fatal' ELSE 'level ' || (tls_alert / 256) END,"
			    " group_concat(DISTINCT tls_outcome), count(*),"
			    " count(DISTINCT" RDB_SERVER ") FROM sessions WHERE" RDB_FILTER
			    "AND tls_alert IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 5 DESC, 1, 2, 3;",
			add_alert, &l);
}

int facts_handshakes(struct rdb *db, struct rmodel *m)
{
	if (!m->meta.has_depth)
		return 0;
	if (build_outcomes(db, m) < 0 || build_alerts(db, m) < 0)
		return -1;
	return 0;
}

/* ---- fingerprints --------------------------------------------------------------- */

#define FP_SQL(col)                                                                      \
	"SELECT " col ", count(*), count(DISTINCT client_ip), count(DISTINCT" RDB_SERVER "),"   \
	" count(*) OVER () FROM sessions WHERE" RDB_FILTER "AND " col " IS NOT NULL"           \
	" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :limit;"

struct fp_ctx {
	struct rtable *t;
	int64_t whole, distinct;
};

static int add_fp(void *arg, sqlite3_stmt *s)
{
	struct fp_ctx *c = arg;
	long row = rtable_counted(c->t, "fingerprint", (const char *)sqlite3_column_text(s, 0),
				  sqlite3_column_int64(s, 1), c->whole);
	if (row < 0)
		return -1;
	rtable_int(c->t, row, "clients", sqlite3_column_int64(s, 2));
	rtable_int(c->t, row, "servers", sqlite3_column_int64(s, 3));
	c->distinct = sqlite3_column_int64(s, 4);
	return 0;
}

static int build_fp(struct rdb *db, struct rmodel *m, const char *id, const char *title,
		    const char *count_sql, const char *sql, const char *of)
{
	struct fp_ctx c = {facts_table(db, m, id, fp_cols, NCOLS(fp_cols)), 0, 0};
	sqlite3_stmt *s;
	int rc;
	if (!c.t || rdb_scalar(db, count_sql, &c.whole) < 0)
		return -1;
	if (rtable_title(c.t, "%s", title) < 0 ||
	    rtable_note(c.t, "of %lld %s; clients: addresses; servers: address and port",
			(long long)c.whole, of) < 0)
		return rdb_oom(db);
	if (!(s = rdb_prepare(db, sql)))
		return -1;
	rdb_bind_int(s, ":limit", facts_limit(m));
	while ((rc = rdb_step(db, s)) == SQLITE_ROW)
		if (add_fp(&c, s) < 0) {
			sqlite3_finalize(s);
			return rdb_oom(db);
		}
	c.t->more = c.distinct > (int64_t)c.t->nrows ? c.distinct - (int64_t)c.t->nrows : 0;
	return rdb_finish(db, s, rc);
}

int facts_fingerprints(struct rdb *db, struct rmodel *m)
{
	if (!m->meta.has_depth)
		return 0;
	if (build_fp(db, m, "ja3", "Client fingerprints: JA3, most common first",
		     "SELECT count(*) FROM sessions WHERE" RDB_FILTER "AND ja3 IS NOT NULL;",
		     FP_SQL("ja3"), "sessions with a JA3 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja4", "Client fingerprints: JA4, most common first",
		     "SELECT count(*) FROM sessions WHERE" RDB_FILTER "AND ja4 IS NOT NULL;",
		     FP_SQL("ja4"), "sessions with a JA4 (first ClientHello, not SSLv2)") < 0 ||
	    build_fp(db, m, "ja3s", "Server fingerprints: JA3S, most common first",
		     "SELECT count(*) FROM sessions WHERE" RDB_FILTER "AND ja3s IS NOT NULL;",
		     FP_SQL("ja3s"), "sessions with a JA3S (final ServerHello)") < 0)
		return -1;
	return 0;
}
