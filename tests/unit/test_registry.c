/* Unit tests for common/registry.c: the IANA cipher suite table, GREASE,
 * protocol versions (name, order, judgement), groups, alerts and the names
 * of the record's own codes, each table also walked whole as the store
 * does when it writes the database's lookup tables.
 *
 * The names below are the IANA registry's; while writing this test they
 * were also checked against `openssl ciphers -V -stdname
 * 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'` (OpenSSL 3.0.19): all 158 suites
 * OpenSSL knows carry the same name in common/data/tls-cipher-suites.csv. */
#include <stddef.h>

#include "../../common/registry.h"
#include "check.h"

#define FS CIPHER_FS
#define AEAD CIPHER_AEAD
#define CBC CIPHER_CBC
#define WEAK CIPHER_WEAK
#define NUL CIPHER_NULL
#define EXP CIPHER_EXPORT
#define ANON CIPHER_ANON
#define T13 CIPHER_TLS13
#define SCSV CIPHER_SCSV

struct cipher_case {
	uint16_t code;
	const char *name; /* NULL: not assigned */
	unsigned flags;
};

static const struct cipher_case cipher_cases[] = {
	{0x0000, "TLS_NULL_WITH_NULL_NULL", NUL | WEAK},
	{0x0001, "TLS_RSA_WITH_NULL_MD5", NUL | WEAK},
	{0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", EXP | WEAK},
	{0x0004, "TLS_RSA_WITH_RC4_128_MD5", WEAK},
	{0x0005, "TLS_RSA_WITH_RC4_128_SHA", WEAK},
	{0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", CBC | WEAK},
	{0x0009, "TLS_RSA_WITH_DES_CBC_SHA", CBC | WEAK},
	{0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", CBC | WEAK},
	{0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", CBC},
	{0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", FS | CBC},
	{0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", ANON | WEAK | CBC},
	{0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", CBC},
	{0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", FS | AEAD},
	{0x00FF, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV", SCSV},
	{0x1301, "TLS_AES_128_GCM_SHA256", T13 | FS | AEAD},
	{0x1302, "TLS_AES_256_GCM_SHA384", T13 | FS | AEAD},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", T13 | FS | AEAD},
	{0x1304, "TLS_AES_128_CCM_SHA256", T13 | FS | AEAD},
	{0x1306, "TLS_AEGIS_256_SHA384", T13 | FS | AEAD},
	{0x5600, "TLS_FALLBACK_SCSV", SCSV},
	{0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", FS | CBC},
	{0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", FS | AEAD},
	{0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", FS | AEAD},
	{0xC0B4, "TLS_SHA256_SHA256", T13 | FS | NUL | WEAK}, /* RFC 9150: integrity only */
	{0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", FS | AEAD},
	/* not assigned */
	{0x0A0A, NULL, 0}, /* GREASE */
	{0xFAFA, NULL, 0},
	{0x0100, NULL, 0},
	{0x1308, NULL, 0},
	{0x5601, NULL, 0},
	{0xFFFF, NULL, 0},
};

static void test_lookup_table(void)
{
	for (size_t i = 0; i < sizeof cipher_cases / sizeof cipher_cases[0]; i++) {
		const struct cipher_case *c = &cipher_cases[i];
		const struct cipher_info *ci = cipher_lookup(c->code);
		if (!c->name) {
			if (ci)
				fprintf(stderr, "     0x%04x found as %s\n", c->code, ci->name);
			CHECK(ci == NULL);
			continue;
		}
		if (!CHECK(ci != NULL)) {
			fprintf(stderr, "     0x%04x not found\n", c->code);
			continue;
		}
		CHECK_INT(ci->code, c->code);
		CHECK_STR(ci->name, c->name);
		if (ci->flags != c->flags)
			fprintf(stderr, "     %s\n", c->name);
		CHECK_INT(ci->flags, c->flags);
	}
}

/* Every code point: a hit is the entry asked for, and the binary search
 * finds all 352 rows of common/data/tls-cipher-suites.csv (a row out of
 * order would be missed). No weak suite is AEAD, no TLS 1.3 suite lacks FS. */
static void test_lookup_all(void)
{
	unsigned found = 0, wrong = 0, odd_flags = 0;
	for (uint32_t code = 0; code <= 0xffff; code++) {
		const struct cipher_info *ci = cipher_lookup((uint16_t)code);
		if (!ci)
			continue;
		found++;
		if (ci->code != code || !ci->name || ci->name[0] == '\0')
			wrong++;
		if ((ci->flags & AEAD) && (ci->flags & (CBC | NUL)))
			odd_flags++;
		if ((ci->flags & T13) && !(ci->flags & FS))
			odd_flags++;
		if ((ci->flags & (NUL | EXP | ANON)) && !(ci->flags & WEAK))
			odd_flags++;
	}
	CHECK_INT(found, 352);
	CHECK_INT(wrong, 0);
	CHECK_INT(odd_flags, 0);
}

static void test_grease(void)
{
	unsigned n = 0;
	for (uint32_t v = 0; v <= 0xffff; v++)
		n += (unsigned)tls_is_grease((uint16_t)v);
	CHECK_INT(n, 16);
	for (unsigned i = 0; i < 16; i++)
		CHECK_INT(tls_is_grease((uint16_t)(0x0a0a + i * 0x1010)), 1);
	CHECK_INT(tls_is_grease(0xdada), 1);
	CHECK_INT(tls_is_grease(0x0a1a), 0);
	CHECK_INT(tls_is_grease(0x0b0b), 0);
	CHECK_INT(tls_is_grease(0x0a0b), 0);
	CHECK_INT(tls_is_grease(0x0000), 0);
	CHECK_INT(tls_is_grease(0x0303), 0);
}

struct version_case {
	int code;
	const char *name;
	int rank, legacy;
};

static const struct version_case version_cases[] = {
	{0x0002, "SSLv2", 1, 1},   {0x0300, "SSLv3", 2, 1},   {0x0301, "TLSv1.0", 3, 1},
	{0x0302, "TLSv1.1", 4, 1}, {0x0303, "TLSv1.2", 5, 0}, {0x0304, "TLSv1.3", 6, 0},
	{0x7f1c, "TLSv1.3", 6, 0}, /* draft 28 */
	{0x7f12, "TLSv1.3", 6, 0}, /* draft 18 */
	{0x7f00, "TLSv1.3", 6, 0}, {0x7fff, "TLSv1.3", 6, 0},
	{0xfb1a, "TLSv1.3", 6, 0}, /* Facebook Fizz */
	{0x0305, NULL, 0, -1},     {0x0200, NULL, 0, -1},     {0xfeff, NULL, 0, -1}, /* DTLS 1.0 */
	{0xfefd, NULL, 0, -1},     {0x0a0a, NULL, 0, -1},     {0x0000, NULL, 0, -1},
	{0x7eff, NULL, 0, -1},     {0x8000, NULL, 0, -1},     {-1, NULL, 0, -1},
};

static void test_versions(void)
{
	for (size_t i = 0; i < sizeof version_cases / sizeof version_cases[0]; i++) {
		const struct version_case *c = &version_cases[i];
		if (!CHECK(tls_version_name(c->code) == c->name ||
			   (c->name && tls_version_name(c->code) &&
			    strcmp(tls_version_name(c->code), c->name) == 0)))
			fprintf(stderr, "     0x%04x: got %s, want %s\n", c->code,
				tls_version_name(c->code) ? tls_version_name(c->code) : "NULL",
				c->name ? c->name : "NULL");
		CHECK_INT(tls_version_rank(c->code), c->rank);
		CHECK_INT(tls_version_legacy(c->code), c->legacy);
	}
	CHECK_STR(tls_rank_name(1), "SSLv2");
	CHECK_STR(tls_rank_name(3), "TLSv1.0");
	CHECK_STR(tls_rank_name(6), "TLSv1.3");
	CHECK(tls_rank_name(0) == NULL);
	CHECK(tls_rank_name(7) == NULL);
}

/* The version table walked whole: ranks never fall, every code of a row
 * looks up to that row, no code is in two rows, legacy is below TLS 1.2. */
static void test_version_table(void)
{
	size_t n;
	const struct tls_version_info *v = tls_versions_all(&n);
	unsigned codes = 0, wrong = 0;
	CHECK_INT(n, 8);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && v[i].rank < v[i - 1].rank)
			wrong++;
		if (v[i].legacy != (v[i].rank < tls_version_rank(0x0303)))
			wrong++;
		for (int c = v[i].first; c <= v[i].last; c++, codes++)
			if (tls_version_rank(c) != v[i].rank || strcmp(tls_version_name(c), v[i].name))
				wrong++;
	}
	CHECK_INT(codes, 7 + 256);
	CHECK_INT(wrong, 0);
	for (int c = 0, named = 0; c <= 0xffff; c++) {
		named += tls_version_name(c) != NULL;
		if (c == 0xffff)
			CHECK_INT(named, 7 + 256);
	}
}

/* The ServerKeyExchange shape of each key exchange family. */
static void test_ske(void)
{
	static const struct {
		uint16_t code;
		enum cipher_ske ske;
	} cases[] = {
		{0x002F, CIPHER_SKE_NONE},     /* RSA */
		{0x0033, CIPHER_SKE_DH},       /* DHE_RSA */
		{0x0014, CIPHER_SKE_DH},       /* DHE_RSA_EXPORT */
		{0x0034, CIPHER_SKE_DH},       /* DH_anon */
		{0x0030, CIPHER_SKE_NONE},     /* DH_DSS: static DH in the certificate */
		{0x00AA, CIPHER_SKE_PSK_DH},   /* DHE_PSK */
		{0xC0AA, CIPHER_SKE_PSK_DH},   /* PSK_DHE */
		{0x008C, CIPHER_SKE_NONE},     /* PSK: only a hint */
		{0xC02F, CIPHER_SKE_ECDH},     /* ECDHE_RSA */
		{0xC02B, CIPHER_SKE_ECDH},     /* ECDHE_ECDSA */
		{0xC018, CIPHER_SKE_ECDH},     /* ECDH_anon */
		{0xC004, CIPHER_SKE_NONE},     /* ECDH_ECDSA: static */
		{0xC035, CIPHER_SKE_PSK_ECDH}, /* ECDHE_PSK */
		{0x1301, CIPHER_SKE_NONE},     /* TLS 1.3 */
		{0x00FF, CIPHER_SKE_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct cipher_info *ci = cipher_lookup(cases[i].code);
		if (CHECK(ci != NULL))
			CHECK_INT(ci->ske, cases[i].ske);
	}
}

static void test_groups_alerts(void)
{
	int pq = -1;
	CHECK_STR(tls_group_name(0x11ec, &pq), "X25519MLKEM768");
	CHECK_INT(pq, 1);
	CHECK_STR(tls_group_name(0x11eb, &pq), "SecP256r1MLKEM768");
	CHECK_INT(pq, 1);
	CHECK_STR(tls_group_name(0x6399, &pq), "X25519Kyber768Draft00");
	CHECK_INT(pq, 1);
	CHECK_STR(tls_group_name(0x001d, &pq), "x25519");
	CHECK_INT(pq, 0);
	CHECK_STR(tls_group_name(0x0016, &pq), "secp256k1");
	CHECK_STR(tls_group_name(0x0100, &pq), "ffdhe2048");
	CHECK(tls_group_name(0x0a0a, &pq) == NULL);
	CHECK_INT(pq, 0);
	CHECK(tls_group_name(-1, NULL) == NULL);
	CHECK_STR(tls_alert_name(0), "close_notify");
	CHECK_STR(tls_alert_name(40), "handshake_failure");
	CHECK_STR(tls_alert_name(70), "protocol_version");
	CHECK_STR(tls_alert_name(71), "insufficient_security");
	CHECK_STR(tls_alert_name(112), "unrecognized_name");
	CHECK(tls_alert_name(1) == NULL);
	CHECK(tls_alert_name(255) == NULL);
}

/* Every table walked: codes strictly increasing (one row each in the
 * database), every name present and found again by its lookup. */
static void test_tables(void)
{
	size_t n, wrong = 0;
	const struct tls_group_info *g = tls_groups_all(&n);
	CHECK_INT(n, 48);
	for (size_t i = 0; i < n; i++) {
		int pq = -1;
		if ((i && g[i].code <= g[i - 1].code) || tls_group_name(g[i].code, &pq) != g[i].name ||
		    pq != g[i].pq)
			wrong++;
	}
	const struct reg_name *a = tls_alerts_all(&n);
	CHECK_INT(n, 36);
	for (size_t i = 0; i < n; i++)
		if ((i && a[i].code <= a[i - 1].code) || tls_alert_name(a[i].code) != a[i].name)
			wrong++;
	const struct cipher_info *c = cipher_table_all(&n);
	CHECK_INT(n, 352);
	for (size_t i = 0; i < n; i++)
		if ((i && c[i].code <= c[i - 1].code) || cipher_lookup(c[i].code) != &c[i])
			wrong++;
	CHECK_INT(wrong, 0);
}

static void test_record_names(void)
{
	size_t n;
	char buf[64];
	CHECK_STR(transport_name(TRANSPORT_IMPLICIT_TLS), "implicit_tls");
	CHECK_STR(transport_name((enum transport)9), "unknown");
	transports_all(&n);
	CHECK_INT(n, 4);
	CHECK_STR(end_reason_name(END_REUSED), "reused");
	end_reasons_all(&n);
	CHECK_INT(n, 6);
	CHECK(tls_outcome_name(OUTCOME_NONE) == NULL);
	CHECK_STR(tls_outcome_name(OUTCOME_NO_TLS_AFTER_220), "no_tls_after_220");
	tls_outcomes_all(&n);
	CHECK_INT(n, 6);
	CHECK_STR(direction_name(DIR_C2S), "client");
	CHECK_STR(direction_name(DIR_S2C), "server");
	CHECK(direction_name(-1) == NULL);
	const struct reg_name *an = anomalies_all(&n);
	CHECK_INT(n, ANOM_COUNT);
	for (size_t i = 0; i < n; i++) {
		CHECK_INT(an[i].code, (int)i);
		CHECK_INT(anomaly_from_name(an[i].name, strlen(an[i].name)), 1u << i);
		CHECK(anomaly_name(1u << i) == an[i].name);
	}
	CHECK(anomaly_name(1u << ANOM_COUNT) == NULL);
	CHECK_INT(anomalies_format(ANOM_MIDSTREAM | ANOM_CERT_NAMES_CAPPED, buf, sizeof buf), 0);
	CHECK_STR(buf, "midstream,cert_names_capped");
	CHECK_INT(anomalies_format(ANOM_MIDSTREAM | ANOM_GAP, buf, 12), -1);
	CHECK_STR(buf, "midstream");
}

int main(void)
{
	test_lookup_table();
	test_lookup_all();
	test_grease();
	test_versions();
	test_ske();
	test_version_table();
	test_groups_alerts();
	test_tables();
	test_record_names();
	return check_done("registry");
}
