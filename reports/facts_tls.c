/* TLS breakdowns of the encrypted sessions: versions, cipher suites, cipher
 * classes (from the IANA registry's flags), the stored judgement of the
 * negotiated suite (forward secrecy, AEAD, weak, post-quantum) and
 * key-exchange groups. Names come from the registry. */
#include <stdio.h>
#include <stdlib.h>
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

/* Versions by rank (the registry's order, one name each), newest first. */
static int add_version(void *arg, struct rq_stmt *s)
{
	struct ctx *c = arg;
	long row = rtable_row(c->t);
	int64_t n = rq_int(s, 1);
	const char *name = tls_rank_name((int)rq_int(s, 0));
	if (row < 0 || rtable_text(c->t, row, "version", name ? name : "?") < 0)
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
	return rdb_each(db, "SELECT {{vrank(tls_version)}} AS r, sum(n) FROM {{src:codes}}"
			    " WHERE" RDB_ENC "GROUP BY r ORDER BY r DESC",
			add_version, &c);
}

/* ---- cipher suites and their classes --------------------------------------- */

static int add_cipher(void *arg, struct rq_stmt *s)
{
	struct ctx *c = arg;
	int has_code = !rq_null(s, 0);
	int code = (int)rq_int(s, 0);
	int64_t n = rq_int(s, 1);
	const struct cipher_info *ci = has_code ? cipher_lookup((uint16_t)code) : NULL;
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
	snprintf(name, sizeof name, "%s", ci ? ci->name : has_code ? hex : "(not seen)");
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
	if (rdb_each(db, "SELECT cipher_suite, sum(n) AS k FROM {{src:codes}} WHERE" RDB_ENC
			 "GROUP BY cipher_suite ORDER BY k DESC, cipher_suite NULLS FIRST",
		     add_cipher, &c) < 0)
		return -1;
	return build_classes(db, m, c.class_counts);
}

/* ---- crypto quality: the stored judgement of the negotiated suite ---------- */

enum { Q_ENC, Q_FS, Q_AEAD, Q_WEAK, Q_PQ, Q_UNJUDGED };

static const char quality_sql[] =
	"SELECT sum(n)," RDB_N("forward_secrecy = 1") "," RDB_N("aead = 1") ","
	RDB_N("weak_cipher = 1") "," RDB_N("{{gpq(kx_group)}} = 1") ","
	RDB_N("forward_secrecy IS NULL") " FROM {{src:codes}} WHERE" RDB_ENC;

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
	if (!(t = facts_table(db, m, "crypto_quality", facts_share_cols, FACTS_SHARE_NCOLS)))
		return -1;
	if (rtable_title(t, "Crypto quality of the encrypted sessions") < 0 ||
	    rtable_note(t, "of %lld encrypted sessions (TLS completed); the negotiated"
			   " suite judged by the IANA registry; post-quantum: the key-exchange"
			   " group", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	return facts_shares(db, t, quality_sql, quality_lines, NCOLS(quality_lines));
}

/* ---- key-exchange groups ---------------------------------------------------- */

/* Named groups (TLS 1.3 key_share, TLS <= 1.2 ServerKeyExchange curve),
 * then finite-field DHE by prime size, then the sessions without one:
 * counted by kind and key (the group's code, the prime's size, why there
 * is none), labelled and ordered here. */
enum group_kind { GK_NAMED, GK_DHE, GK_NONE };
enum { GN_NOT_RECORDED, GN_RESUMED, GN_RSA }; /* keys of GK_NONE */

static const char groups_sql[] =
	"SELECT kind, gkey, max(kx_dh_bits)," RDB_N("{{vrank(tls_version)}} >= :rank_tls13") ","
	RDB_N("{{vrank(tls_version)}} < :rank_tls13") ", sum(n)"
	" FROM (SELECT CASE WHEN {{gpq(kx_group)}} IS NOT NULL THEN 0"
	"  WHEN kx_dh_bits IS NOT NULL THEN 1 ELSE 2 END AS kind,"
	" CASE WHEN {{gpq(kx_group)}} IS NOT NULL THEN kx_group"
	"  WHEN kx_dh_bits IS NOT NULL THEN kx_dh_bits"
	"  WHEN resumed = 1 THEN 1 WHEN forward_secrecy = 0 THEN 2 ELSE 0 END AS gkey,"
	" kx_dh_bits, tls_version, n FROM {{src:codes}} WHERE" RDB_ENC ") g GROUP BY kind, gkey";

#define GROUP_LABEL_MAX 64
#define MAX_GROUP_ROWS 100000

struct group_row {
	enum group_kind kind;
	char label[GROUP_LABEL_MAX];
	int pq;        /* -1 unknown */
	int64_t dh_bits; /* -1 none */
	int64_t tls13, tls12, n;
};

struct group_rows {
	struct group_row *r;
	size_t n, cap;
};

static void group_label(struct group_row *g, int64_t key)
{
	static const char *const none[] = {[GN_NOT_RECORDED] = "(not recorded)",
					   [GN_RESUMED] = "(none: resumed)",
					   [GN_RSA] = "(none: RSA key exchange)"};
	const char *name;
	g->pq = -1;
	if (g->kind == GK_NAMED && (name = tls_group_name((int)key, &g->pq)))
		snprintf(g->label, sizeof g->label, "%s", name);
	else if (g->kind == GK_DHE) {
		snprintf(g->label, sizeof g->label, "DHE, %lld-bit prime", (long long)key);
		g->pq = 0; /* finite-field DHE */
	} else
		snprintf(g->label, sizeof g->label, "%s",
			 key >= 0 && key <= GN_RSA ? none[key] : none[GN_NOT_RECORDED]);
}

static int add_group(void *arg, struct rq_stmt *s)
{
	struct group_rows *gr = arg;
	if (gr->n == gr->cap) {
		size_t cap = gr->cap ? gr->cap * 2 : 16;
		struct group_row *r = cap <= MAX_GROUP_ROWS ? realloc(gr->r, cap * sizeof *r) : NULL;
		if (!r)
			return -1;
		gr->r = r;
		gr->cap = cap;
	}
	struct group_row *g = &gr->r[gr->n++];
	g->kind = (enum group_kind)rq_int(s, 0);
	group_label(g, rq_int(s, 1));
	g->dh_bits = rq_null(s, 2) ? -1 : rq_int(s, 2);
	g->tls13 = rq_int(s, 3);
	g->tls12 = rq_int(s, 4);
	g->n = rq_int(s, 5);
	return 0;
}

/* Named first, then DHE, then none; most sessions first; the larger prime
 * first; by label. */
static int group_order(const void *a, const void *b)
{
	const struct group_row *x = a, *y = b;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->dh_bits != y->dh_bits)
		return x->dh_bits > y->dh_bits ? -1 : 1;
	return strcmp(x->label, y->label);
}

static int group_table_row(struct ctx *c, const struct group_row *g)
{
	long row = rtable_row(c->t);
	const char *pq = g->pq < 0 ? "-" : g->pq ? "yes" : "no";
	if (row < 0 || rtable_text(c->t, row, "group", g->label) < 0 ||
	    rtable_text(c->t, row, "post_quantum", pq) < 0)
		return -1;
	if (g->dh_bits >= 0)
		rtable_int(c->t, row, "dh_bits", g->dh_bits);
	rtable_int(c->t, row, "tls13", g->tls13);
	rtable_int(c->t, row, "tls12", g->tls12);
	rtable_int(c->t, row, "sessions", g->n);
	rtable_pct(c->t, row, "sessions_pct", g->n, c->m->meta.encrypted);
	return 0;
}

static int build_groups(struct rdb *db, struct rmodel *m)
{
	struct ctx c = {m, NULL, {0}, 0, 0};
	struct group_rows gr = {NULL, 0, 0};
	int rc;
	if (!(c.t = facts_table(db, m, "kx_groups", group_cols, NCOLS(group_cols))))
		return -1;
	if (rtable_title(c.t, "Key-exchange groups") < 0 ||
	    rtable_note(c.t, "of %lld encrypted sessions; named groups from the TLS 1.3"
			     " key_share or the TLS <= 1.2 ServerKeyExchange, finite-field DHE by"
			     " the size of the server's prime", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	rc = rdb_each(db, groups_sql, add_group, &gr);
	if (rc == 0 && gr.n)
		qsort(gr.r, gr.n, sizeof gr.r[0], group_order);
	for (size_t i = 0; rc == 0 && i < gr.n; i++)
		if (group_table_row(&c, &gr.r[i]) < 0)
			rc = rdb_oom(db);
	free(gr.r);
	return rc;
}

int facts_tls(struct rdb *db, struct rmodel *m)
{
	if (build_versions(db, m) < 0 || build_ciphers(db, m) < 0 || build_quality(db, m) < 0 ||
	    build_groups(db, m) < 0)
		return -1;
	return 0;
}
