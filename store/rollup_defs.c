/* The rollups' one definition (rollup.h): what each counts, as SQL over
 * the session rows s. The writer's fold (rollup_fold.c), the SQL fold and
 * the readers' on-the-fly sources (rollup.c, reports/rsource.c) all read
 * these tables. */
#include "rollup.h"

#include <string.h>

/* ---- the definitions ----------------------------------------------------------- */

#define K(n) {n, ROLLUP_KEY, 'i', "s." n}
#define T(n) {n, ROLLUP_KEY, 't', "s." n}
/* Keys never NULL in session_rows: stored as they are. */
#define KN(n) {n, ROLLUP_KEY, 'I', "s." n}
#define TN(n) {n, ROLLUP_KEY, 'T', "s." n}
#define SUM(n, e) {n, ROLLUP_SUM, 'i', e}
#define MIN(n, t, e) {n, ROLLUP_MIN, t, e}
#define MAX(n, t, e) {n, ROLLUP_MAX, t, e}
#define DEF(n, cols, where) {n, cols, sizeof cols / sizeof cols[0], where}

/* An EHLO capability overwritten (anomaly capability_mangled, bit 16), or
 * XXXXXXXA in the EHLO reply of a database written before that anomaly. */
#define MANGLED                                                                          \
	"({{bit(s.anomalies, 16)}} = 1 OR {{contains(coalesce(s.ehlo_keywords, ''),"   \
	" 'XXXXXXXA')}})"

/* Sessions by port and by every code the report's definitions and its
 * tables of codes look at: the headline, the SMTP facts, what was
 * negotiated, what the client offered. A few hundred rows an hour. */
static const struct rollup_col codes[] = {
	KN("server_port"), KN("transport"), K("tls_outcome"), K("tls_version"),
	K("starttls_offered"), K("starttls_sent"), K("starttls_reply"), K("client_hello"),
	K("cleartext_auth"), T("auth_mechanism"), KN("anomalies"), K("cipher_suite"),
	K("kx_group"), K("kx_dh_bits"), K("resumed"), K("forward_secrecy"), K("aead"),
	K("weak_cipher"), K("client_offered_tls13"), K("client_max_version"),
	K("client_offered_weak"), K("sslv2_hello"), K("server_chose_weak"),
	K("server_declined_fs"),
	SUM("n", "1"), SUM("bytes", "s.bytes_c2s + s.bytes_s2c"),
	SUM("mail", "s.plaintext_transactions"), SUM("rcpts", "s.plaintext_rcpts"),
	SUM("mail_sessions", "s.plaintext_transactions > 0"),
	MIN("ts_min", 'r', "s.ts_start"), MAX("ts_max", 'r', "s.ts_start"),
};

/* Per server (address and port): its sessions by the headline's codes,
 * its banner names, SNI, suites, certificates and alerts, and counts of
 * the facts the server sections show. */
static const struct rollup_col servers[] = {
	TN("server_ip"), KN("server_port"), KN("transport"), K("tls_outcome"), K("tls_version"),
	T("server_name"), T("sni"), K("cipher_suite"), T("cert_sha256"), K("tls_alert"),
	K("tls_alert_from"),
	SUM("n", "1"), SUM("mail", "s.plaintext_transactions"),
	SUM("offered", "s.starttls_offered = 1"), SUM("ehlo", "s.starttls_offered IS NOT NULL"),
	SUM("refused", "s.starttls_sent = 1 AND s.starttls_reply IS NOT NULL"
		       " AND NOT (s.starttls_reply BETWEEN 200 AND 299)"),
	SUM("accepted", "s.starttls_reply BETWEEN 200 AND 299"),
	SUM("auth", "s.cleartext_auth = 1"), SUM("judged", "s.server_chose_weak IS NOT NULL"),
	SUM("weak", "s.server_chose_weak = 1"), SUM("nofs", "s.server_declined_fs = 1"),
	SUM("only_weak", "s.weak_cipher = 1 AND s.server_chose_weak = 0"),
	SUM("nofs_offer", "s.forward_secrecy = 0 AND s.server_declined_fs = 0"),
	SUM("bad", "s.server_chose_weak = 1 OR s.server_declined_fs = 1"),
	SUM("stripped", "s.starttls_offered = 0 AND NOT " MANGLED),
	SUM("mangled", MANGLED), SUM("injected", "{{bit(s.anomalies, 13)}} = 1"),
	SUM("expired", "s.cert_expired = 1"), SUM("named", "s.cert_name_match IS NOT NULL"),
	SUM("mismatch", "s.cert_name_match = 0"),
	MIN("worst", 'i', "CASE WHEN s.weak_cipher = 1 THEN 0 WHEN s.forward_secrecy = 0 THEN 1"
			  " WHEN s.aead = 0 THEN 2 WHEN s.aead = 1 THEN 3 END"),
	MAX("mangled_kw", 't', "CASE WHEN " MANGLED " THEN s.ehlo_keywords END"),
};

/* Per client and server: the client's side, its names and fingerprints. */
static const struct rollup_col clients[] = {
	TN("client_ip"), TN("server_ip"), KN("server_port"), KN("transport"), K("tls_outcome"),
	K("tls_version"), K("client_max_version"), T("ehlo_name"), T("ja3"), T("ja4"), T("ja3s"),
	SUM("n", "1"), SUM("mail", "s.plaintext_transactions"),
	SUM("not_used", "s.starttls_offered = 1 AND s.starttls_sent = 0"),
	SUM("auth", "s.cleartext_auth = 1"), SUM("hellos", "s.client_hello = 1"),
	SUM("no13", "s.client_hello = 1 AND s.client_offered_tls13 = 0"),
	SUM("weak", "s.client_hello = 1 AND s.client_offered_weak = 1"),
	SUM("only_weak", "s.client_hello = 1 AND s.weak_cipher = 1 AND s.server_chose_weak = 0"),
	SUM("nofs", "s.client_hello = 1 AND s.forward_secrecy = 0 AND s.server_declined_fs = 0"),
};

static const struct rollup_def defs[] = {
	DEF("codes", codes, NULL),
	DEF("servers", servers, NULL),
	DEF("clients", clients, NULL),
};
#define NDEFS (sizeof defs / sizeof defs[0])
_Static_assert(NDEFS == ROLLUP_NDEFS, "ROLLUP_NDEFS");

const struct rollup_def *rollup_defs(size_t *n)
{
	*n = NDEFS;
	return defs;
}

const struct rollup_def *rollup_find(const char *name)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcmp(defs[i].name, name))
			return &defs[i];
	return NULL;
}

