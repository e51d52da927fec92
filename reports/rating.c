/* What is good and what is bad in the report's tables: a table of (table
 * id, row key) judgements, the TLS registry for versions and cipher
 * suites, and a few rules that read the row's own cells. */
#include "rating.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/registry.h"

struct rule {
	const char *table;
	const char *key; /* in the row's first column; "*": every row */
	enum rating r;
};

/* Keys are those the queries write (reports/facts_*.c). */
static const struct rule rules[] = {
	{"not_encrypted", "not_offered", RATE_BAD},
	{"not_encrypted", "offered_not_used", RATE_BAD},
	{"not_encrypted", "starttls_refused", RATE_BAD},
	{"not_encrypted", "starttls_unanswered", RATE_WARN},
	{"not_encrypted", "no_ehlo_reply", RATE_WARN},
	{"not_encrypted", "starttls_no_tls", RATE_BAD},
	{"not_encrypted", "tls_no_server_hello", RATE_BAD},
	{"cipher_classes", "weak", RATE_BAD},
	{"cipher_classes", "no_forward_secrecy", RATE_WARN},
	{"cipher_classes", "forward_secret_cbc", RATE_OK},
	{"cipher_classes", "forward_secret_aead", RATE_GOOD},
	{"crypto_quality", "forward_secrecy", RATE_GOOD},
	{"crypto_quality", "aead", RATE_GOOD},
	{"crypto_quality", "weak_cipher", RATE_BAD},
	{"crypto_quality", "post_quantum", RATE_GOOD},
	{"tls_outcomes", "established", RATE_GOOD},
	{"tls_outcomes", "refused", RATE_BAD},
	{"tls_outcomes", "failed", RATE_BAD},
	{"tls_outcomes", "no_server_hello", RATE_WARN},
	{"tls_outcomes", "no_tls_after_220", RATE_BAD},
	{"blame_summary", "server_chose_weak", RATE_BAD},
	{"blame_summary", "server_declined_fs", RATE_WARN},
	{"blame_summary", "client_offered_only_weak", RATE_WARN},
	{"blame_summary", "client_offered_no_fs", RATE_WARN},
	{"server_blame", "*", RATE_BAD},
	{"client_offers", "offered_tls13", RATE_GOOD},
	{"client_offers", "no_tls13", RATE_WARN},
	{"client_offers", "max_tls11_or_older", RATE_BAD},
	{"client_offers", "offered_weak", RATE_WARN},
	{"client_offers", "sslv2_hello", RATE_BAD},
	{"client_weak", "*", RATE_WARN},
	{"certificates", "expired", RATE_BAD},
	{"certificates", "self_signed", RATE_WARN},
	{"certificates", "name_mismatch", RATE_WARN},
	{"starttls", "offered", RATE_GOOD},
	{"starttls", "offered_not_used", RATE_BAD},
	{"starttls", "sent", RATE_GOOD},
	{"starttls", "refused", RATE_BAD},
	{"starttls", "accepted_no_tls", RATE_BAD},
	{"starttls", "cleartext_auth", RATE_BAD},
	{"starttls_refused", "*", RATE_BAD},
	{"cleartext_auth", "*", RATE_BAD},
	{"anomalies", "plaintext_after_starttls", RATE_BAD},
	{"anomalies", "capability_mangled", RATE_BAD},
	{"anomalies", "plaintext_reply_to_tls", RATE_WARN},
	{"anomalies", "no_tls_after_220", RATE_WARN},
	{"downgrade_summary", "*", RATE_BAD},
	{"downgrade", "*", RATE_BAD},
	{"policy_evidence", "*", RATE_BAD},
	{"policy_adoption", "mta_sts", RATE_GOOD},
	{"policy_adoption", "dane", RATE_GOOD},
	{"policy_adoption", "tlsrpt", RATE_GOOD},
	{"dns_link", "no_dns", RATE_WARN},
	{"dns_link", "no_domains", RATE_WARN},
	{"clients", "*", RATE_WARN},
};

const char *rating_name(enum rating r)
{
	static const char *const names[] = {"none", "good", "ok", "warn", "bad"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "none";
}

static const char *text_of(const struct rtable *t, size_t r, const char *key)
{
	int c = key ? rtable_col(t, key) : 0;
	const struct rcell *cell = c < 0 ? NULL : rtable_at(t, r, (size_t)c);
	return cell && cell->kind == RCELL_TEXT ? cell->text : NULL;
}

static int64_t int_of(const struct rtable *t, size_t r, const char *key, int64_t none)
{
	int c = rtable_col(t, key);
	const struct rcell *cell = c < 0 ? NULL : rtable_at(t, r, (size_t)c);
	return cell && cell->kind == RCELL_INT ? cell->i : none;
}

/* A version by its name, through the registry's rank: TLS 1.3 good, TLS
 * 1.2 acceptable, anything older bad. The registry maps code points to
 * names; SSLv2 (0x0002) and SSLv3 to TLS 1.3 (0x0300-0x0304) all lie
 * below 0x0400, so the name is looked for there. */
static enum rating version_rating(const char *name)
{
	int rank = 0, tls12 = tls_version_rank(0x0303), tls13 = tls_version_rank(0x0304);
	for (int v = 0; name && v < 0x0400 && !rank; v++) {
		const char *n = tls_version_name(v);
		if (n && !strcmp(n, name))
			rank = tls_version_rank(v);
	}
	if (rank == 0)
		return RATE_NONE;
	return rank >= tls13 ? RATE_GOOD : rank >= tls12 ? RATE_OK : RATE_BAD;
}

/* A suite by its code ("0xC030"), from the registry's flags. */
static enum rating suite_rating(const char *code)
{
	char *end = NULL;
	long v = code && !strncmp(code, "0x", 2) && isxdigit((unsigned char)code[2])
			 ? strtol(code + 2, &end, 16) : -1;
	const struct cipher_info *ci = v >= 0 && v <= 0xffff && !*end ? cipher_lookup((uint16_t)v)
								     : NULL;
	if (!ci)
		return RATE_NONE;
	if (ci->flags & CIPHER_WEAK)
		return RATE_BAD;
	if (!(ci->flags & CIPHER_FS))
		return RATE_WARN;
	return ci->flags & CIPHER_AEAD ? RATE_GOOD : RATE_OK;
}

/* Key-exchange groups: post-quantum good, finite-field DHE under 2048
 * bits bad, RSA key exchange (no forward secrecy) middling, other named
 * groups acceptable; "(none: resumed)", "(not recorded)": no judgement. */
static enum rating group_rating(const struct rtable *t, size_t r)
{
	const char *pq = text_of(t, r, "post_quantum"), *name = text_of(t, r, NULL);
	int64_t dh = int_of(t, r, "dh_bits", -1);
	if (pq && !strcmp(pq, "yes"))
		return RATE_GOOD;
	if (dh >= 0 && dh < 2048)
		return RATE_BAD;
	if (name && !strcmp(name, "(none: RSA key exchange)"))
		return RATE_WARN;
	return name && name[0] != '(' ? RATE_OK : RATE_NONE;
}

/* A server: sessions in clear or its own faults are bad; handshakes
 * refused or failed and certificate problems at least middling; else the
 * weakest crypto it negotiated. Ratings are ordered: the worse wins. */
static enum rating server_rating(const struct rtable *t, size_t r)
{
	static const struct {
		const char *worst;
		enum rating r;
	} worst[] = {{"weak", RATE_BAD}, {"no FS", RATE_WARN}, {"CBC", RATE_OK},
		     {"AEAD", RATE_GOOD}};
	static const char *const doubtful[] = {"tls_refused", "tls_failed", "cert_expired",
					       "cert_self_signed", "cert_name_mismatch"};
	const char *w = text_of(t, r, "worst_crypto");
	enum rating rate = RATE_NONE;
	if (int_of(t, r, "clear", 0) > 0 || text_of(t, r, "fault"))
		return RATE_BAD;
	for (size_t i = 0; w && i < sizeof worst / sizeof worst[0]; i++)
		if (!strcmp(w, worst[i].worst))
			rate = worst[i].r;
	for (size_t i = 0; i < sizeof doubtful / sizeof doubtful[0]; i++)
		if (int_of(t, r, doubtful[i], 0) > 0 && rate < RATE_WARN)
			rate = RATE_WARN;
	return rate;
}

/* "RSA 1024": RSA and DSA keys under 2048 bits, EC keys under 224 bits. */
static enum rating key_rating(const char *key)
{
	const char *sp = key ? strrchr(key, ' ') : NULL;
	long bits = sp ? strtol(sp + 1, NULL, 10) : 0;
	if (!sp || bits <= 0)
		return RATE_NONE;
	if (!strncmp(key, "RSA", 3) || !strncmp(key, "DSA", 3))
		return bits < 2048 ? RATE_BAD : RATE_NONE;
	if (!strncmp(key, "EC ", 3))
		return bits < 224 ? RATE_BAD : RATE_NONE;
	return RATE_NONE;
}

/* Signatures over MD2, MD5 or SHA-1: "sha1WithRSAEncryption",
 * "ecdsa-with-SHA1". */
static enum rating signature_rating(const char *alg)
{
	static const char *const broken[] = {"md2", "md5", "sha1"};
	char low[128];
	size_t i = 0;
	for (; alg && alg[i] && i + 1 < sizeof low; i++)
		low[i] = (char)tolower((unsigned char)alg[i]);
	low[i] = '\0';
	for (size_t b = 0; b < sizeof broken / sizeof broken[0]; b++) {
		const char *p = strstr(low, broken[b]);
		if (p && !isdigit((unsigned char)p[strlen(broken[b])]))
			return RATE_BAD;
	}
	return RATE_NONE;
}

/* A recipient domain: plaintext deliveries to it as a policy domain or
 * TLSA mismatches are bad; sessions without completed TLS worth a look;
 * else good. */
static enum rating domain_rating(const struct rtable *t, size_t r)
{
	if (int_of(t, r, "policy_plaintext", 0) > 0 || int_of(t, r, "tlsa_mismatch", 0) > 0)
		return RATE_BAD;
	if (int_of(t, r, "tls_completed", 0) < int_of(t, r, "sessions", 0))
		return RATE_WARN;
	return RATE_GOOD;
}

static enum rating table_rating(const struct rtable *t, size_t r)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const char *key;
		if (strcmp(rules[i].table, t->id))
			continue;
		if (!strcmp(rules[i].key, "*"))
			return rules[i].r;
		key = text_of(t, r, NULL);
		if (key && !strcmp(rules[i].key, key))
			return rules[i].r;
	}
	return RATE_NONE;
}

static enum rating judge(const struct rtable *t, size_t r)
{
	if (!strcmp(t->id, "tls_versions") || !strcmp(t->id, "client_versions"))
		return version_rating(text_of(t, r, NULL));
	if (!strcmp(t->id, "ciphers"))
		return suite_rating(text_of(t, r, "code"));
	if (!strcmp(t->id, "kx_groups"))
		return group_rating(t, r);
	if (!strcmp(t->id, "servers"))
		return server_rating(t, r);
	if (!strcmp(t->id, "domains"))
		return domain_rating(t, r);
	if (!strcmp(t->id, "cert_keys"))
		return key_rating(text_of(t, r, NULL));
	if (!strcmp(t->id, "cert_sig_algs"))
		return signature_rating(text_of(t, r, NULL));
	return table_rating(t, r);
}

enum rating rating_row(const struct rtable *t, size_t r)
{
	if (!t || r >= t->nrows || int_of(t, r, "sessions", 1) == 0)
		return RATE_NONE;
	return judge(t, r);
}

/* The share as printed (one decimal), so that "95.0%" is never amber. */
static double shown(const struct rcell *pct)
{
	return round(pct->r * 10.0) / 10.0;
}

enum rating rating_high(const struct rcell *pct)
{
	if (!pct || pct->kind != RCELL_REAL)
		return RATE_NONE;
	return shown(pct) >= RATING_GOOD_MIN ? RATE_GOOD
	       : shown(pct) >= RATING_WARN_MIN ? RATE_WARN : RATE_BAD;
}

enum rating rating_zero(const struct rcell *part, const struct rcell *pct)
{
	if (part && part->kind == RCELL_INT && part->i == 0)
		return RATE_GOOD;
	if (!pct || pct->kind != RCELL_REAL)
		return RATE_NONE;
	return shown(pct) < RATING_BAD_FROM ? RATE_WARN : RATE_BAD;
}
