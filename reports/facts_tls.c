/* TLS breakdowns of the encrypted sessions: versions, cipher suites, cipher
 * classes (from the IANA registry's flags) and key-exchange groups. */
#include <stdio.h>
#include <string.h>

#include "../dissect/ciphers.h"
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
		long row = rtable_row(t);
		if (row < 0 || rtable_text(t, row, "class", classes[i].key) < 0 ||
		    rtable_text(t, row, "what", classes[i].what) < 0)
			return rdb_oom(db);
		rtable_int(t, row, "sessions", counts[i]);
		rtable_pct(t, row, "sessions_pct", counts[i], m->meta.encrypted);
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

/* ---- key-exchange groups ---------------------------------------------------- */

static int add_group(void *arg, sqlite3_stmt *s)
{
	struct ctx *c = arg;
	int pq = 0, known = sqlite3_column_type(s, 1) != SQLITE_NULL;
	int64_t n = sqlite3_column_int64(s, 2);
	const char *name = (const char *)sqlite3_column_text(s, 0);
	long row = rtable_row(c->t);
	if (known)
		tls_group_name(sqlite3_column_int(s, 1), &pq);
	if (row < 0 || rtable_text(c->t, row, "group", name ? name : "(not recorded)") < 0 ||
	    rtable_text(c->t, row, "post_quantum", known ? (pq ? "yes" : "no") : "-") < 0)
		return -1;
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
	    rtable_note(c.t, "of %lld encrypted sessions; recorded from the TLS 1.3"
			     " ServerHello key_share", (long long)m->meta.encrypted) < 0)
		return rdb_oom(db);
	return rdb_each(db, "SELECT kx_group, max(kx_group_code), count(*) FROM sessions"
			    " WHERE" RDB_FILTER "AND" RDB_ENC
			    "GROUP BY kx_group ORDER BY kx_group IS NULL, 3 DESC, 1;",
			add_group, &c);
}

int facts_tls(struct rdb *db, struct rmodel *m)
{
	if (build_versions(db, m) < 0 || build_ciphers(db, m) < 0 || build_groups(db, m) < 0)
		return -1;
	return 0;
}
