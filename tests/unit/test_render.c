/* Unit tests for what the renderers for people share: the number formats
 * (reports/render_common.c) and the ratings that colour the HTML report
 * (reports/rating.c), on tables built by hand. */
#include <stdlib.h>
#include <string.h>

#include "../../reports/rating.h"
#include "../../reports/render.h"
#include "../../reports/rescape.h"
#include "check.h"

/* ---- number formats --------------------------------------------------------- */

static void test_count(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} cases[] = {
		{0, "0"},           {7, "7"},
		{999, "999"},       {1000, "1,000"},
		{414912, "414,912"}, {1000000, "1,000,000"},
		{-1234, "-1,234"},  {INT64_MAX, "9,223,372,036,854,775,807"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		render_count(cases[i].v, buf, sizeof buf);
		CHECK_STR(buf, cases[i].want);
	}
	render_count(1234567, buf, 6); /* cut, still terminated */
	CHECK(strlen(buf) < 6);
}

static void test_bytes(void)
{
	static const struct {
		int64_t v;
		const char *want;
	} cases[] = {
		{0, "0 B"},           {812, "812 B"},         {999, "999 B"},
		{1000, "1.0 kB"},     {361900, "361.9 kB"},   {2600000, "2.6 MB"},
		{14524353560, "14.5 GB"}, {3000000000000, "3.0 TB"},
	};
	char buf[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		render_bytes(cases[i].v, buf, sizeof buf);
		CHECK_STR(buf, cases[i].want);
	}
}

static void test_prose(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"of 549952 sessions with SMTP or TLS seen", "of 549,952 sessions with SMTP or TLS seen"},
		{"Not encrypted: 414912 sessions, by reason", "Not encrypted: 414,912 sessions, by reason"},
		{"in 12345 (of 23456 sessions)", "in 12,345 (of 23,456 sessions)"},
		{"TLSv1.2 1000000, TLSv1.3 3", "TLSv1.2 1,000,000, TLSv1.3 3"},
		{"of 999 sessions", "of 999 sessions"},
		/* digits in names and codes stay */
		{"DHE, 2048-bit prime", "DHE, 2048-bit prime"},
		{"X25519MLKEM768 and 0x1302", "X25519MLKEM768 and 0x1302"},
		{"since 2026-11-22", "since 2026-11-22"},
		{"TLS 1.3; SHA-256", "TLS 1.3; SHA-256"},
		{"1234->5678", "1234->5678"},
		{"", ""},
	};
	char buf[128];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		render_prose(cases[i].in, buf, sizeof buf);
		CHECK_STR(buf, cases[i].want);
	}
	render_prose("of 549952 sessions", buf, 9); /* cut, still terminated */
	CHECK(strlen(buf) < 9);
}

/* ---- tables by hand ------------------------------------------------------------ */

static struct rmodel model;

static const struct rcol counted_cols[] = {
	{"key", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"code", "code", RCOL_NOTEXT},
	{"bytes", "bytes", RCOL_NUM | RCOL_BYTES},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

/* A fresh model holding one table: counted rows keys[i] with i + 1 of 10
 * sessions. */
static struct rtable *table(const char *id, const char *const *keys, size_t n)
{
	struct rtable *t;
	rmodel_free(&model);
	t = rmodel_add(&model, id, counted_cols, 6);
	for (size_t i = 0; t && i < n; i++) {
		long row = rtable_counted(t, "key", keys[i], (int64_t)i + 1, 10);
		rtable_text(t, row, "what", keys[i]);
	}
	return t;
}

static enum rating rate(const struct rtable *t, const char *key)
{
	for (size_t r = 0; t && r < t->nrows; r++)
		if (!strcmp(rtable_at(t, r, 0)->text, key))
			return rating_row(t, r);
	return (enum rating)-1;
}

static void test_lookup(void)
{
	static const char *const keys[] = {"all", "25"};
	struct rtable *t = table("encryption", keys, 2);
	char buf[32];
	rtable_int(t, 0, "bytes", 508360);
	render_lookup(t, "all", "bytes", buf, sizeof buf);
	CHECK_STR(buf, "508.4 kB");
	render_lookup(t, "all", "sessions", buf, sizeof buf);
	CHECK_STR(buf, "1");
	render_lookup(t, "all", "sessions_pct", buf, sizeof buf);
	CHECK_STR(buf, "10.0%");
	render_lookup(t, "none", "bytes", buf, sizeof buf);
	CHECK_STR(buf, "-");
	render_lookup(t, "25", "bytes", buf, sizeof buf); /* NULL cell */
	CHECK_STR(buf, "-");
	render_lookup(NULL, "all", "bytes", buf, sizeof buf);
	CHECK_STR(buf, "-");
}

static void test_esc_html_n(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	esc_html_n(f, "a<b_c", 3);
	esc_html_n(f, "|x\0yz", 4); /* stops at the NUL */
	esc_html_n(f, NULL, 3);
	fclose(f);
	CHECK_STR(buf, "a&lt;b|x");
	free(buf);
}

/* A detail longer than any buffer comes out whole, its counts grouped,
 * and the page stays a page: a long server's cipher list. */
static void test_html_long(void)
{
	static const struct rcol cols[] = {
		{"server", "server", 0},
		{"ciphers", "ciphers", RCOL_DETAIL},
		{"sessions", "sessions", RCOL_NUM},
	};
	char detail[4000], *html = NULL;
	size_t len = 0, used = 0;
	struct rtable *t;
	FILE *f;
	rmodel_free(&model);
	t = rmodel_add(&model, "servers", cols, 3);
	while (used < 3000)
		used += (size_t)snprintf(detail + used, sizeof detail - used,
					 "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 %zu, ", used);
	snprintf(detail + used, sizeof detail - used, "END 123456");
	rtable_row(t);
	rtable_text(t, 0, "server", "<b>192.0.2.1:25</b>");
	rtable_text(t, 0, "ciphers", detail);
	rtable_int(t, 0, "sessions", 1234567);
	rtable_row(t); /* a name is not a count: port 2525 stays "2525" */
	rtable_text(t, 1, "server", "2525");
	rtable_text(t, 1, "ciphers", "TLS_AES_128_GCM_SHA256 2525");
	f = open_memstream(&html, &len);
	CHECK_INT(render_html(&model, f), 0);
	fclose(f);
	CHECK(strstr(html, "END 123,456</span>") != NULL);
	CHECK(strstr(html, "TLS_<wbr>ECDHE_<wbr>RSA_<wbr>") != NULL);
	CHECK(strstr(html, ">1,234,567</td>") != NULL);
	CHECK(strstr(html, "&lt;b&gt;192.0.2.1:25&lt;/b&gt;") != NULL);
	CHECK(strstr(html, "<b>192") == NULL);
	CHECK(strstr(html, ">2525</td>") != NULL);
	CHECK(strstr(html, "SHA256 2,525</span>") != NULL);
	CHECK(strstr(html, "<script") == NULL);
	CHECK(len > 0 && strstr(html, "</html>\n") == html + len - 8);
	free(html);
}

/* ---- ratings ----------------------------------------------------------------------- */

struct rate_case {
	const char *table, *key;
	enum rating want;
};

static const struct rate_case rate_cases[] = {
	/* versions: by the registry's rank */
	{"tls_versions", "SSLv3", RATE_BAD},        {"tls_versions", "TLSv1.0", RATE_BAD},
	{"tls_versions", "TLSv1.1", RATE_BAD},      {"tls_versions", "TLSv1.2", RATE_OK},
	{"tls_versions", "TLSv1.3", RATE_GOOD},     {"tls_versions", "TLSv9", RATE_NONE},
	{"client_versions", "SSLv2", RATE_BAD},     {"client_versions", "(unknown)", RATE_NONE},
	/* from the table of judgements */
	{"cipher_classes", "weak", RATE_BAD},       {"cipher_classes", "no_forward_secrecy", RATE_WARN},
	{"cipher_classes", "forward_secret_cbc", RATE_OK},
	{"cipher_classes", "forward_secret_aead", RATE_GOOD},
	{"cipher_classes", "unregistered", RATE_NONE},
	{"tls_outcomes", "established", RATE_GOOD}, {"tls_outcomes", "refused", RATE_BAD},
	{"tls_outcomes", "failed", RATE_BAD},       {"tls_outcomes", "no_tls_after_220", RATE_BAD},
	{"tls_outcomes", "incomplete", RATE_NONE},  {"tls_outcomes", "no_server_hello", RATE_WARN},
	{"not_encrypted", "not_offered", RATE_BAD}, {"not_encrypted", "offered_not_used", RATE_BAD},
	{"crypto_quality", "weak_cipher", RATE_BAD}, {"crypto_quality", "forward_secrecy", RATE_GOOD},
	{"starttls", "cleartext_auth", RATE_BAD},   {"starttls", "ehlo_reply", RATE_NONE},
	{"cleartext_auth", "PLAIN", RATE_BAD},      {"downgrade_summary", "starttls_stripped", RATE_BAD},
	{"encryption", "all", RATE_NONE},           {"ja3", "abc", RATE_NONE},
	/* from the row itself */
	{"cert_keys", "RSA 1024", RATE_BAD},        {"cert_keys", "RSA 2048", RATE_NONE},
	{"cert_keys", "EC 192", RATE_BAD},          {"cert_keys", "EC 256", RATE_NONE},
	{"cert_keys", "(unknown)", RATE_NONE},
	{"cert_sig_algs", "sha1WithRSAEncryption", RATE_BAD},
	{"cert_sig_algs", "ecdsa-with-SHA1", RATE_BAD},
	{"cert_sig_algs", "md5WithRSAEncryption", RATE_BAD},
	{"cert_sig_algs", "sha256WithRSAEncryption", RATE_NONE},
	{"cert_sig_algs", "ecdsa-with-SHA256", RATE_NONE},
};

static void test_rating_table(void)
{
	for (size_t i = 0; i < sizeof rate_cases / sizeof rate_cases[0]; i++) {
		const struct rate_case *c = &rate_cases[i];
		struct rtable *t = table(c->table, &c->key, 1);
		if (rate(t, c->key) != c->want)
			fprintf(stderr, "     %s %s\n", c->table, c->key);
		CHECK_INT(rate(t, c->key), c->want);
	}
}

/* Cipher suites by their code, from the registry's flags. */
static void test_rating_suites(void)
{
	static const struct {
		const char *code;
		enum rating want;
	} cases[] = {
		{"0xC006", RATE_BAD},  /* TLS_ECDHE_ECDSA_WITH_NULL_SHA */
		{"0x0034", RATE_BAD},  /* TLS_DH_anon_WITH_AES_128_CBC_SHA */
		{"0x002F", RATE_WARN}, /* TLS_RSA_WITH_AES_128_CBC_SHA: no FS */
		{"0xC014", RATE_OK},   /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA */
		{"0xC030", RATE_GOOD}, /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
		{"0x1302", RATE_GOOD}, /* TLS_AES_256_GCM_SHA384 */
		{"0x0A0A", RATE_NONE}, /* GREASE: not a suite */
		{"-", RATE_NONE},      {"0x12345", RATE_NONE}, {"0xC0ZZ", RATE_NONE},
		{"", RATE_NONE},       {"0x", RATE_NONE},
	};
	static const char *const name = "suite";
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rtable *t = table("ciphers", &name, 1);
		rtable_text(t, 0, "code", cases[i].code);
		CHECK_INT(rating_row(t, 0), cases[i].want);
	}
}

/* A row with no sessions is not coloured, whatever it is. */
static void test_rating_empty(void)
{
	static const char *const key = "weak";
	struct rtable *t = table("cipher_classes", &key, 1);
	CHECK_INT(rating_row(t, 0), RATE_BAD);
	rtable_int(t, 0, "sessions", 0);
	CHECK_INT(rating_row(t, 0), RATE_NONE);
	CHECK_INT(rating_row(t, 1), RATE_NONE);
	CHECK_INT(rating_row(NULL, 0), RATE_NONE);
	CHECK_STR(rating_name(RATE_BAD), "bad");
	CHECK_STR(rating_name(RATE_NONE), "none");
	CHECK_STR(rating_name((enum rating)42), "none");
}

static const struct rcol server_cols[] = {
	{"server", "server", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"clear", "clear", RCOL_NUM},
	{"worst_crypto", "worst", 0},
	{"fault", "fault", RCOL_DETAIL},
	{"cert_expired", "expired", RCOL_DATA},
};

static void test_rating_servers(void)
{
	static const struct {
		int64_t clear, expired;
		const char *worst, *fault;
		enum rating want;
	} cases[] = {
		{0, 0, "AEAD", NULL, RATE_GOOD},  {0, 0, "CBC", NULL, RATE_OK},
		{0, 0, "no FS", NULL, RATE_WARN}, {0, 0, "weak", NULL, RATE_BAD},
		{1, 0, "AEAD", NULL, RATE_BAD},   {0, 0, "AEAD", "chose weak", RATE_BAD},
		{0, 1, "AEAD", NULL, RATE_WARN},  {0, 1, "weak", NULL, RATE_BAD},
		{0, 0, NULL, NULL, RATE_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rtable *t;
		long row;
		rmodel_free(&model);
		t = rmodel_add(&model, "servers", server_cols, 6);
		row = rtable_row(t);
		rtable_text(t, row, "server", "192.0.2.1:25");
		rtable_int(t, row, "sessions", 3);
		rtable_int(t, row, "clear", cases[i].clear);
		rtable_int(t, row, "cert_expired", cases[i].expired);
		rtable_text(t, row, "worst_crypto", cases[i].worst);
		rtable_text(t, row, "fault", cases[i].fault);
		CHECK_INT(rating_row(t, 0), cases[i].want);
	}
}

/* The headline thresholds, at their edges, as printed. */
static void test_thresholds(void)
{
	static const struct {
		double pct;
		enum rating high, zero;
	} cases[] = {
		{100.0, RATE_GOOD, RATE_BAD}, {95.0, RATE_GOOD, RATE_BAD},
		{94.96, RATE_GOOD, RATE_BAD}, /* printed "95.0%" */
		{94.9, RATE_WARN, RATE_BAD},  {70.0, RATE_WARN, RATE_BAD},
		{69.9, RATE_BAD, RATE_BAD},   {1.0, RATE_BAD, RATE_BAD},
		{0.96, RATE_BAD, RATE_BAD},   /* printed "1.0%" */
		{0.9, RATE_BAD, RATE_WARN},   {0.0, RATE_BAD, RATE_WARN},
	};
	struct rcell pct = {RCELL_REAL, 0, 0, NULL}, some = {RCELL_INT, 3, 0, NULL};
	struct rcell none = {RCELL_INT, 0, 0, NULL}, null = {RCELL_NULL, 0, 0, NULL};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pct.r = cases[i].pct;
		CHECK_INT(rating_high(&pct), cases[i].high);
		CHECK_INT(rating_zero(&some, &pct), cases[i].zero);
		CHECK_INT(rating_zero(&none, &pct), RATE_GOOD); /* zero is green, never red */
	}
	CHECK_INT(rating_high(&null), RATE_NONE); /* no denominator */
	CHECK_INT(rating_high(NULL), RATE_NONE);
	CHECK_INT(rating_zero(&some, &null), RATE_NONE);
	CHECK_INT(rating_zero(&none, NULL), RATE_GOOD);
}

int main(void)
{
	test_count();
	test_bytes();
	test_prose();
	test_lookup();
	test_esc_html_n();
	test_html_long();
	test_rating_table();
	test_rating_suites();
	test_rating_empty();
	test_rating_servers();
	test_thresholds();
	rmodel_free(&model);
	return check_done("render");
}
