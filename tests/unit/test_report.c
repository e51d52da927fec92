/* Reports: every number of the model on a database written through the
 * store from a table of sessions built to show each case once (the
 * harness, report_case.h), the filters, what counts as encrypted
 * (contract C3) and the rendering. Export, merge and the migration of an
 * old database are tested in test_report_store.c, time and escaping in
 * test_report_helpers.c; the numbers on recorded captures are checked end
 * to end in tests/report. */
#include "report_case.h"

static void test_share(void)
{
	CHECK_INT(model.meta.sessions, 11);
	CHECK_INT(model.meta.known, 10);
	CHECK_INT(model.meta.unknown, 1);
	CHECK_INT(model.meta.encrypted, 4);
	CHECK_INT(num("encryption", "all", "sessions"), 10);
	CHECK_INT(num("encryption", "all", "encrypted"), 4);
	CHECK_PCT(pct("encryption", "all", "encrypted_pct"), 40.0);
	CHECK_INT(num("encryption", "25", "sessions"), 7);
	CHECK_INT(num("encryption", "25", "encrypted"), 2);
	CHECK_INT(num("encryption", "25", "unknown"), 1);
	CHECK_INT(num("encryption", "587", "sessions"), 2);
	CHECK_INT(num("encryption", "465", "encrypted"), 1);
	CHECK_INT(num("encryption", "587+465", "sessions"), 3);
	CHECK_INT(num("encryption", "587+465", "encrypted"), 2);
	/* bytes: 150 per packet; encrypted s1, s7, s8, s10 have 20 packets each */
	CHECK_INT(num("encryption", "all", "encrypted_bytes"), 4 * 20 * 150);
	CHECK_INT(num("encryption", "all", "bytes"), (4 * 20 + 5 * 10 + 8) * 150);
	CHECK_INT(num("not_encrypted", "not_offered", "sessions"), 2);
	CHECK_INT(num("not_encrypted", "offered_not_used", "sessions"), 2);
	CHECK_INT(num("not_encrypted", "starttls_refused", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "tls_no_server_hello", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "starttls_no_tls", "sessions"), 0);
	CHECK_INT(num("clear_mail", "all", "transactions"), 6);
	CHECK_INT(num("clear_mail", "all", "sessions"), 5);
	CHECK_INT(num("clear_mail", "587", "sessions"), 1);
}

static void test_tls(void)
{
	CHECK_INT(num("tls_versions", "TLSv1.2", "sessions"), 2);
	CHECK_INT(num("tls_versions", "TLSv1.3", "sessions"), 1);
	CHECK_INT(num("tls_versions", "TLSv1.0", "sessions"), 1);
	CHECK_STR(text("tls_versions", 0, "version"), "TLSv1.3");
	CHECK_INT(num("cipher_classes", "weak", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "no_forward_secrecy", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "forward_secret_cbc", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "forward_secret_aead", "sessions"), 1);
	CHECK_INT(num("cipher_classes", "unregistered", "sessions"), 0);
	CHECK_PCT(pct("cipher_classes", "weak", "sessions_pct"), 25.0);
	CHECK_INT(num("ciphers", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "sessions"), 1);
	CHECK_INT(rows("ciphers"), 4);
}

/* ---- TLS depth -------------------------------------------------------------- */

static void test_quality(void)
{
	CHECK_INT(num("crypto_quality", "forward_secrecy", "sessions"), 2);
	CHECK_INT(num("crypto_quality", "forward_secrecy", "of"), 4);
	CHECK_PCT(pct("crypto_quality", "forward_secrecy", "sessions_pct"), 50.0);
	CHECK_INT(num("crypto_quality", "aead", "sessions"), 2);
	CHECK_INT(num("crypto_quality", "weak_cipher", "sessions"), 1);
	CHECK_INT(num("crypto_quality", "post_quantum", "sessions"), 1);
	CHECK_INT(num("crypto_quality", "not_judged", "sessions"), 0);
	/* named groups first, then finite-field DHE, then none */
	CHECK_INT(rows("kx_groups"), 3);
	CHECK_STR(text("kx_groups", 0, "group"), "X25519MLKEM768");
	CHECK_STR(text("kx_groups", 0, "post_quantum"), "yes");
	CHECK_INT(num("kx_groups", "X25519MLKEM768", "tls13"), 1);
	CHECK_STR(text("kx_groups", 1, "group"), "secp256r1");
	CHECK_STR(text("kx_groups", 1, "post_quantum"), "no");
	CHECK_INT(num("kx_groups", "secp256r1", "tls12"), 1);
	CHECK_STR(text("kx_groups", 2, "group"), "(none: RSA key exchange)");
	CHECK_STR(text("kx_groups", 2, "post_quantum"), "-");
	CHECK_INT(num("kx_groups", "(none: RSA key exchange)", "sessions"), 2);
	CHECK_INT(num("kx_groups", "(none: RSA key exchange)", "tls12"), 2);
}

static void test_handshakes(void)
{
	CHECK_INT(rows("tls_outcomes"), 6);
	CHECK_INT(num("tls_outcomes", "established", "sessions"), 4);
	CHECK_PCT(pct("tls_outcomes", "established", "sessions_pct"), 80.0);
	CHECK_INT(num("tls_outcomes", "refused", "sessions"), 1);
	CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "failed", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "no_tls_after_220", "sessions"), 0);
	CHECK_INT(rows("tls_alerts"), 1);
	CHECK_STR(text("tls_alerts", 0, "alert"), "handshake_failure");
	CHECK_STR(text("tls_alerts", 0, "sent_by"), "server");
	CHECK_STR(text("tls_alerts", 0, "level"), "fatal");
	CHECK_STR(text("tls_alerts", 0, "outcome"), "refused");
	CHECK_INT(num("tls_alerts", "handshake_failure", "sessions"), 1);
	CHECK_PCT(pct("tls_alerts", "handshake_failure", "sessions_pct"), 100.0);
}

static void test_blame(void)
{
	CHECK_INT(num("blame_summary", "server_chose_weak", "sessions"), 1);
	CHECK_INT(num("blame_summary", "server_chose_weak", "of"), 4);
	CHECK_STR(text("blame_summary", 0, "fault"), "server");
	CHECK_INT(num("blame_summary", "server_declined_fs", "sessions"), 1);
	CHECK_INT(num("blame_summary", "client_offered_only_weak", "sessions"), 0);
	CHECK_INT(num("blame_summary", "client_offered_no_fs", "sessions"), 1);
	CHECK_STR(text("blame_summary", 3, "fault"), "client");
	CHECK_INT(rows("server_blame"), 1);
	CHECK_STR(text("server_blame", 0, "server"), "10.0.0.3:465");
	CHECK_INT(num("server_blame", "10.0.0.3:465", "both_hellos"), 1);
	CHECK_INT(num("server_blame", "10.0.0.3:465", "chose_weak"), 1);
	CHECK_INT(num("server_blame", "10.0.0.3:465", "declined_fs"), 1);
	CHECK_STR(text("server_blame", 0, "suites"), "TLS_RSA_WITH_3DES_EDE_CBC_SHA 1");
	CHECK_STR(text("server_blame", 0, "session_ids"), "10");
	CHECK_INT(num("client_offers", "offered_tls13", "sessions"), 3);
	CHECK_INT(num("client_offers", "offered_tls13", "of"), 5);
	CHECK_INT(num("client_offers", "no_tls13", "sessions"), 2);
	CHECK_INT(num("client_offers", "max_tls11_or_older", "sessions"), 1);
	CHECK_INT(num("client_offers", "offered_weak", "sessions"), 2);
	CHECK_INT(num("client_offers", "sslv2_hello", "sessions"), 0);
	CHECK_INT(rows("client_versions"), 3);
	CHECK_STR(text("client_versions", 0, "version"), "TLSv1.3");
	CHECK_INT(num("client_versions", "TLSv1.3", "sessions"), 3);
	CHECK_INT(num("client_versions", "TLSv1.0", "sessions"), 1);
	CHECK_INT(rows("client_weak"), 3);
	CHECK_STR(text("client_weak", 0, "client"), "10.1.0.10");
	CHECK_STR(text("client_weak", 0, "lowest_max"), "TLSv1.0");
	CHECK_STR(text("client_weak", 1, "client"), "10.1.0.5");
	CHECK_STR(text("client_weak", 2, "client"), "10.1.0.8");
	CHECK_INT(num("client_weak", "10.1.0.8", "no_fs"), 1);
	CHECK_INT(num("client_weak", "10.1.0.5", "offered_weak"), 1);
}

static void test_certs(void)
{
	CHECK_INT(num("certificates", "seen", "sessions"), 3);
	CHECK_INT(num("certificates", "seen", "of"), 3);
	CHECK_INT(num("certificates", "seen", "servers"), 3);
	CHECK_INT(num("certificates", "seen", "certs"), 3);
	CHECK_INT(num("certificates", "expired", "sessions"), 1);
	CHECK_INT(num("certificates", "self_signed", "sessions"), 1);
	CHECK_INT(num("certificates", "name_mismatch", "sessions"), 1);
	CHECK_INT(num("certificates", "name_mismatch", "of"), 2);
	CHECK_PCT(pct("certificates", "name_mismatch", "sessions_pct"), 50.0);
	CHECK_INT(rows("cert_keys"), 3);
	CHECK_STR(text("cert_keys", 0, "key"), "EC 256");
	CHECK_INT(num("cert_keys", "RSA 1024", "sessions"), 1);
	CHECK_INT(num("cert_sig_algs", "sha1WithRSAEncryption", "sessions"), 1);
	CHECK_STR(text("cert_issuers", 0, "issuer"), "Test CA / Tests");
	CHECK_INT(num("cert_issuers", "Test CA / Tests", "certs"), 2);
	CHECK_INT(num("cert_issuers", HOSTILE_CN, "servers"), 1);
	CHECK_INT(num("ja3", "j7", "sessions"), 2);
	CHECK_STR(text("ja3", 0, "fingerprint"), "j7");
	CHECK_PCT(pct("ja3", "j7", "sessions_pct"), 40.0);
	CHECK_INT(num("ja3", "j7", "clients"), 2);
	CHECK_INT(num("ja3", "j7", "servers"), 2);
	CHECK_INT(rows("ja3"), 4);
	CHECK_INT(num("ja4", "t13d0301h2_aaaaaaaaaaaa_eeeeeeeeeeee", "sessions"), 2);
	CHECK_INT(num("ja3s", "s7", "sessions"), 2);
	CHECK_PCT(pct("ja3s", "s7", "sessions_pct"), 50.0);
	/* per server */
	CHECK_STR(text("servers", 0, "worst_crypto"), "CBC");
	CHECK_STR(text("servers", 0, "handshakes"), "refused 1");
	CHECK_STR(text("servers", 0, "certificate"),
		  "mx.a (issuer Test CA), RSA 2048, sha256WithRSAEncryption; expired in 1 of 1");
	CHECK_STR(text("servers", 1, "worst_crypto"), "no FS");
	CHECK(text("servers", 1, "fault") == NULL);
	CHECK_INT(num("servers", "10.0.0.2:587", "cert_name_mismatch"), 1);
	CHECK_STR(text("servers", 2, "worst_crypto"), "weak");
	CHECK_STR(text("servers", 2, "fault"), "chose a weak suite over a stronger offer in 1;"
		  " declined the forward secrecy offered in 1 (of 1 sessions with both hellos)");
	CHECK(text("servers", 2, "handshakes") == NULL);
	CHECK_INT(num("servers", "10.0.0.3:465", "chose_weak"), 1);
	CHECK(text("servers", 3, "worst_crypto") == NULL);
}

static void test_smtp(void)
{
	CHECK_INT(num("starttls", "ehlo_reply", "sessions"), 9);
	CHECK_INT(num("starttls", "offered", "sessions"), 7);
	CHECK_INT(num("starttls", "offered", "of"), 9);
	CHECK_INT(num("starttls", "offered_not_used", "sessions"), 2);
	CHECK_INT(num("starttls", "sent", "sessions"), 5);
	CHECK_INT(num("starttls", "refused", "sessions"), 1);
	CHECK_INT(num("starttls", "refused", "of"), 5);
	CHECK_INT(num("starttls", "cleartext_auth", "sessions"), 1);
	CHECK_INT(num("starttls_refused", "454", "sessions"), 1);
	CHECK_INT(num("cleartext_auth", "LOGIN", "sessions"), 1);
	CHECK_INT(num("anomalies", "(any)", "sessions"), 3);
	CHECK_INT(num("anomalies", "capability_mangled", "sessions"), 1);
	CHECK_INT(num("anomalies", "plaintext_after_starttls", "sessions"), 1);
	CHECK_INT(num("anomalies", "midstream", "sessions"), 1);
}

static void test_servers(void)
{
	CHECK_INT(rows("servers"), 4);
	CHECK_STR(text("servers", 0, "server"), "10.0.0.1:25");
	CHECK_STR(text("servers", 0, "starttls"), "sometimes");
	CHECK_STR(text("servers", 0, "name"), "mx.a");
	CHECK_INT(num("servers", "10.0.0.1:25", "clear"), 5);
	CHECK_INT(num("servers", "10.0.0.1:25", "starttls_offered"), 5);
	CHECK_INT(num("servers", "10.0.0.1:25", "ehlo_replies"), 7);
	CHECK_INT(num("servers", "10.0.0.1:25", "mail_clear"), 5);
	CHECK_STR(text("servers", 1, "server"), "10.0.0.2:587");
	CHECK_STR(text("servers", 1, "starttls"), "always");
	CHECK_STR(text("servers", 2, "server"), "10.0.0.3:465");
	CHECK_STR(text("servers", 2, "starttls"), "implicit TLS");
	CHECK_STR(text("servers", 2, "versions"), "TLSv1.0 1");
	CHECK_STR(text("servers", 3, "server"), "10.0.0.4:25");
	CHECK_STR(text("servers", 3, "starttls"), "no EHLO seen");
	CHECK_INT(rows("clients"), 5);
	CHECK_STR(text("clients", 0, "client"), "10.1.0.2");
	CHECK_INT(num("clients", "10.1.0.5", "clear"), 2);
	CHECK_INT(num("clients", "10.1.0.9", "cleartext_auth"), 1);
	CHECK_INT(num("clients", "10.1.0.9", "starttls_not_used"), 1);
}

static void test_downgrade(void)
{
	static const char *const kinds[] = {"starttls_stripped", "capability_mangled",
					    "starttls_refused", "plaintext_fallback",
					    "plaintext_injection"};
	static const char *const ids[] = {"2", "3", "4", "5->6", "7"};
	for (size_t i = 0; i < 5; i++) {
		CHECK_INT(num("downgrade_summary", kinds[i], "sessions"), 1);
		CHECK_INT(num("downgrade_summary", kinds[i], "servers"), 1);
		CHECK_STR(text("downgrade", i, "kind"), kinds[i]);
		CHECK_STR(text("downgrade", i, "server"), "10.0.0.1:25");
		CHECK_STR(text("downgrade", i, "session_ids"), ids[i]);
	}
	CHECK_STR(text("downgrade", 0, "detail"), "STARTTLS offered in 5 of 7 EHLO replies");
	CHECK_STR(text("downgrade", 1, "detail"), "EHLO keyword XXXXXXXA");
	CHECK_STR(text("downgrade", 2, "detail"), "refused with 454; accepted in 3 other sessions");
}

/* The runs' named counters, summed. */
static void test_runs(void)
{
	CHECK_INT(rows("capture_counters"), 2);
	CHECK_INT(num("capture_counters", "gre_packets", "value"), 40);
	CHECK_INT(num("capture_counters", "fragments", "runs"), 1);
}

static void test_series(void)
{
	/* 8 days: day 0 (9 sessions), empty days filled, day 2, day 8 unknown */
	CHECK_INT(model.meta.by, REPORT_BY_DAY);
	CHECK_INT(rows("series"), 9);
	CHECK_INT(num("series", "2026-11-22", "sessions"), 9);
	CHECK_INT(num("series", "2026-11-22", "encrypted"), 3);
	CHECK_INT(num("series", "2026-11-23", "sessions"), 0);
	CHECK_INT(num("series", "2026-11-24", "encrypted"), 1);
	CHECK_INT(num("series", "2026-11-30", "unknown"), 1);
	CHECK_PCT(pct("series", "2026-11-30", "encrypted_pct"), -999.0);
}

static void test_filters(const char *db)
{
	struct report_options o;
	options(&o);
	o.filter.ports[o.filter.nports++] = 587;
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	snprintf(o.filter.server, sizeof o.filter.server, "10.0.0.1");
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 7);
	options(&o);
	snprintf(o.filter.server, sizeof o.filter.server, "MX.B");
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	o.filter.since = T0 + 2 * DAY;
	if (build(db, &o) == 0)
		CHECK_INT(model.meta.sessions, 2);
	options(&o);
	o.filter.until = T0 + DAY;
	o.filter.ports[o.filter.nports++] = 25;
	o.filter.ports[o.filter.nports++] = 465;
	if (build(db, &o) == 0) {
		CHECK_INT(model.meta.sessions, 7);
		CHECK_INT(model.meta.by, REPORT_BY_HOUR);
	}
	options(&o);
	o.by = REPORT_BY_WEEK;
	o.top = 1;
	if (build(db, &o) == 0) {
		CHECK_INT(rows("series"), 3);
		CHECK_INT(num("series", "2026-W47", "sessions"), 9);
		CHECK_INT(num("series", "2026-W48", "sessions"), 1);
		CHECK_INT(num("series", "2026-W49", "unknown"), 1);
		CHECK_INT(rows("servers"), 1);
		CHECK_INT(rmodel_find(&model, "servers")->more, 3);
		CHECK_INT(rows("downgrade"), 5); /* --top applies per kind */
	}
}

/* ---- what counts as encrypted (contract C3) -------------------------------- */

/* A client whose handshake failed (a ServerHello, then its alert: it did
 * not trust the certificate) goes on in clear 20 s later; another session's
 * handshake is cut short (its end not captured); a third is established.
 * Encrypted is the completed handshake only: the failed one is not
 * encrypted ("TLS failed", its own reason), the retry is plaintext, the
 * incomplete one is unknown and shown apart; TLS was attempted in two of
 * the three known sessions. */
static const struct spec c3_specs[] = {
	{"10.2.0.1", "10.0.0.9", 2001, 25, 10, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0xC02F, 1,
	 0x0230, 0, NULL, NULL, "STARTTLS", "mx.f", "f1.example", 12},
	{"10.2.0.1", "10.0.0.9", 2002, 25, 30, TRANSPORT_PLAINTEXT, 1, 0, -1, -1, -1, 0, -1, 1,
	 NULL, NULL, "STARTTLS", "mx.f", "f1.example", 10},
	{"10.2.0.3", "10.0.0.9", 2003, 25, 40, TRANSPORT_STARTTLS, 1, 1, 220, 0x0303, 0xC02F, 1, -1,
	 0, NULL, NULL, "STARTTLS", "mx.f", "f3.example", 6},
	{"10.2.0.4", "10.0.0.9", 2004, 25, 50, TRANSPORT_STARTTLS, 1, 1, 220, 0x0304, 0x1302, 1, -1,
	 0, NULL, NULL, "STARTTLS", "mx.f", "f4.example", 20},
};
static const enum tls_outcome c3_outcomes[] = {OUTCOME_FAILED, OUTCOME_NONE,
					       OUTCOME_INCOMPLETE, OUTCOME_ESTABLISHED};

static void test_c3(const char *dir)
{
	char path[256], err[512];
	struct store *st;
	struct run_info ri = {"c3", "file", NULL, "25/smtp", T0, "test", NULL};
	struct session_record r;
	struct report_options o;
	snprintf(path, sizeof path, "%s/c3.db", dir);
	unlink(path);
	CHECK_INT(store_open(&st, path, err, sizeof err), 0);
	CHECK_INT(store_begin_run(st, &ri), 0);
	for (size_t i = 0; i < sizeof c3_specs / sizeof c3_specs[0]; i++) {
		fill(&r, &c3_specs[i], 0);
		r.tls_outcome = c3_outcomes[i];
		r.tls_established = r.tls_outcome == OUTCOME_ESTABLISHED;
		r.tls_alert_from = r.tls_alert >= 0 ? DIR_C2S : -1;
		CHECK_INT(store_add(st, &r), 0);
	}
	CHECK_INT(store_close(st), 0);
	options(&o);
	if (build(path, &o) < 0)
		return;
	CHECK_INT(model.meta.sessions, 4);
	CHECK_INT(model.meta.known, 3);
	CHECK_INT(model.meta.unknown, 1); /* the incomplete handshake */
	CHECK_INT(model.meta.encrypted, 1);
	CHECK_INT(model.meta.attempted, 2);
	CHECK_INT(num("encryption", "all", "not_encrypted"), 2);
	CHECK_INT(num("encryption", "all", "unknown"), 1);
	CHECK_INT(num("encryption", "all", "tls_attempted"), 2);
	CHECK_PCT(pct("encryption", "all", "tls_attempted_pct"), 66.7);
	CHECK_INT(num("not_encrypted", "tls_failed", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "offered_not_used", "sessions"), 1);
	CHECK_INT(num("not_encrypted", "tls_no_server_hello", "sessions"), 0);
	CHECK_INT(num("tls_outcomes", "failed", "sessions"), 1);
	CHECK_INT(num("tls_outcomes", "incomplete", "sessions"), 1);
	CHECK_INT(num("tls_versions", "TLSv1.2", "sessions"), -999); /* none completed */
	CHECK_INT(num("tls_versions", "TLSv1.3", "sessions"), 1);
	CHECK_STR(text("tls_alerts", 0, "alert"), "unknown_ca");
	CHECK_STR(text("tls_alerts", 0, "sent_by"), "client");
	CHECK_STR(text("tls_alerts", 0, "outcome"), "failed");
	CHECK_INT(num("servers", "10.0.0.9:25", "clear"), 2);
	CHECK_INT(num("servers", "10.0.0.9:25", "unknown"), 1);
	CHECK_INT(num("series", "2026-11-22 00:00", "encrypted"), 1);
	/* the SMTP facts count every session with SMTP seen, the incomplete one too */
	CHECK_INT(num("starttls", "ehlo_reply", "of"), 4);
	CHECK_INT(num("starttls", "sent", "sessions"), 3);
	CHECK_INT(num("clear_mail", "all", "of"), 4);
	CHECK_INT(num("downgrade_summary", "plaintext_fallback", "sessions"), 1);
	CHECK_STR(text("downgrade", 0, "session_ids"), "1->2");
}

/* ---- rendering ---------------------------------------------------------------- */

static char *render(int (*fn)(const struct rmodel *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK_INT(fn(&model, f), 0);
	fclose(f);
	return buf;
}

static void test_render(void)
{
	char *txt = render(render_text), *html = render(render_html), *json = render(render_json);
	char *csv = render(render_csv);
	size_t longest = 0;
	for (char *p = txt; p && *p;) {
		size_t n = strcspn(p, "\n");
		longest = n > longest ? n : longest;
		p += n + (p[n] == '\n');
	}
	CHECK(longest <= 80);
	CHECK(strstr(txt, "Sessions               11") != NULL);
	CHECK(strstr(txt, "TLS completed       40.0%   4 of 10 known sessions: encrypted") != NULL);
	CHECK(strstr(txt, "TLS attempted       50.0%   5 of 10 known sessions\n") != NULL);
	CHECK(strstr(html, "<script") == NULL);
	CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
	CHECK(strstr(html, "<svg") != NULL);
	CHECK(strstr(json, "\"<script>alert(1)</script>\"") != NULL);
	CHECK(strstr(json, "\"encrypted_pct\": 40.0, \"tls_attempted\": 5,") != NULL);
	CHECK(strstr(csv, "\nencryption,all,,,10,4,40.0,6,60.0,") != NULL);
	/* certificate names and fingerprints come from the wire */
	CHECK(strstr(html, "<img") == NULL);
	CHECK(strstr(html, "&lt;img src=x onerror=alert(2)&gt; (issuer &lt;img") != NULL);
	CHECK(strstr(html, "&quot;&gt;&lt;script&gt;ja3&lt;/script&gt;") != NULL);
	CHECK(strstr(json, "\"fingerprint\": \"\\\"><script>ja3</script>\"") != NULL);
	CHECK(strstr(csv, "\nja3,\"\"\"><script>ja3</script>\",1,20.0,1,1\n") != NULL);
	CHECK(strstr(csv, "\ncrypto_quality,forward_secrecy,forward secret (ephemeral key"
			  " exchange),2,4,50.0,encrypted sessions\n") != NULL);
	CHECK(strstr(txt, "\nForward secret      50.0%   2 of 4 encrypted sessions\n") != NULL);
	CHECK(strstr(txt, "\n  server's fault    25.0%   1 of 4 sessions with both hellos seen\n")
	      != NULL);
	CHECK(strstr(txt, "  10.0.0.3:465") != NULL);
	free(txt), free(html), free(json), free(csv);
}

int main(void)
{
	char dir[] = "/tmp/smtptls-test-report-XXXXXX", db[256];
	struct report_options o;
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s/all.db", dir);
	if (CHECK(make_db(db, "all", 0, NSPECS, 0, 0) == 0)) {
		options(&o);
		if (build(db, &o) == 0) {
			test_share();
			test_tls();
			test_quality();
			test_handshakes();
			test_blame();
			test_certs();
			test_smtp();
			test_servers();
			test_downgrade();
			test_series();
			test_runs();
			test_render();
		}
		test_filters(db);
		test_c3(dir);
	}
	rmodel_free(&model);
	remove_dir(dir);
	return check_done("report");
}
