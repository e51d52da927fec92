/* Unit tests for dissect/pdns_query.c and x509's TLSA digests: the
 * digests against openssl's, DANE matching of a certificate against the
 * TLSA records seen, and the recorded nsd/unbound exchange of
 * dns_vectors.h replayed (its columns and its TLSA against the real
 * certificates). Expected digests come from openssl (`openssl x509 -pubkey
 * | openssl pkey -pubin -outform DER | sha256sum`), not from x509.c. The
 * harness is pdns_case.h (see test_pdns.c). */
#include "../../dissect/x509.h"
#include "cert_postfix.h"
#include "pdns_case.h"

/* (as in test_x509.c) ECDSA P-256 leaf of the smtptls test CA, DNS and IP SANs, a wildcard */
static const char der_ec[] =
	"308201ea30820190a003020102021435e65e3c8b82474d520550e9767f1b1c62"
	"cea057300a06082a8648ce3d040302303f310b30090603550406130244453116"
	"3014060355040a0c0d736d7470746c732074657374733118301606035504030c"
	"0f736d7470746c732074657374204341301e170d323631313232323232343431"
	"5a170d3336313131393232323434315a301b3119301706035504030c106d7837"
	"2e736d7470746c732e746573743059301306072a8648ce3d020106082a8648ce"
	"3d03010703420004876c7ac84565c9d49abaaf03934641b705e082675a57ddbb"
	"d833caf2ad801089eafb8ce91384eb0aabe74b0edc5bdb64a69bc4dc10724113"
	"d021ccf69bca887fa3818d30818a30480603551d110441303f82106d78372e73"
	"6d7470746c732e7465737482132a2e6d61696c2e736d7470746c732e74657374"
	"87047f000007871000000000000000000000000000000001301d0603551d0e04"
	"160414f4192f119f69a989350704ed3c49e3fc5e7b3633301f0603551d230418"
	"301680145524e6cfb6302b0cbd797186e0e0c762724b0adf300a06082a8648ce"
	"3d040302034800304502204122aa5fcad5e5a28ea9289b96bcc1f83f720a6e93"
	"ca79b72ecc811b9366dced022100c939b132745e30f5015b6959f7736e06e04c"
	"e792ff9e0b9b921edaa72ad502ee";

/* its SubjectPublicKeyInfo (openssl pkey -pubin -outform DER) */
#define SPKI_DER \
	"30820122300d06092a864886f70d01010105000382010f003082010a02820101" \
	"00f0ad71da68bf53aa6051ea7e215f456900ac27e5684ef5e2161435518a5bec" \
	"27e01a7f78fa2ae8173091a2dceb5d62de7e17d202919cee1847e0b4ac2ba550" \
	"c2a338e228dafa440199113ec8f336cec69e9a887be392197002e0d640dd4473" \
	"8657e3251fe0dcdc323202fb31de2518f3bf5dc4e98e35c547e9cc9a2e20fd20" \
	"f4d21671a2e7e5db05478216c7966fea041f1a8903d54d4ddd8facc3a8f9ab68" \
	"da43ec669a439d3c752593e9316e10e30aa52a937384ea751f5211402808fa28" \
	"3a69f2ba89f930fc8122692612fb6f53d16a17adebb9867090c05265f4027a6e" \
	"39c7217fefe8d6ae5658f04645a9bb8e20071a7ce480fb8bc6298bfc76075ccb" \
	"3d0203010001"

/* ---- TLSA --------------------------------------------------------------------------- */

static void digests_of(const char *hex, struct x509_tlsa *d)
{
	static uint8_t der[4096];
	static struct x509_cert c;
	size_t n = hex_decode(der, hex);
	CHECK_INT(x509_parse(der, n, &c), 0);
	CHECK_INT(x509_tlsa_digests(der, n, &c, d), 0);
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* x509_tlsa_digests against openssl's. */
static void test_digests(void)
{
	struct x509_tlsa d;
	struct x509_cert c;
	char h[129];
	uint8_t der[4096];
	size_t n = hex_decode(der, der_postfix);
	digests_of(der_postfix, &d);
	hex_of(d.spki_sha256, 32, h);
	CHECK_STR(h, "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f");
	hex_of(d.cert_sha256, 32, h);
	CHECK_STR(h, "39f9d7b40cf6ab735803cfd878f5169e1b1bf4052e6fde32540ec92df11c8644");
	hex_of(d.spki_sha512, 64, h);
	CHECK_STR(h, "36ebc714f30319673bd1e8a94c9f64846002c421681c54c4de9b46c46d979ec3"
		     "f355db6edd07de81bf5db88c3fbaae68368baa9317dc2963487f8a9d32e41c1a");
	hex_of(d.cert_sha512, 64, h);
	CHECK_STR(h, "0dd78a937c0988750ade1ab295e2a37f4fa0bc62d3b7305d1226175621f7612a"
		     "7ad71d7342f50e57c3db82a7d54904cd675c86a4fd1c796f0db418d17b008490");
	digests_of(der_ec, &d);
	hex_of(d.spki_sha256, 32, h);
	CHECK_STR(h, "b193c5800898a2c11a1965768c363b03891a5dab9a87360a05e252bbfe3a1bba");
	/* the range must lie inside the bytes given */
	CHECK_INT(x509_parse(der, n, &c), 0);
	CHECK_INT(c.spki_len, 294);
	CHECK_INT(x509_tlsa_digests(der, c.spki_off + c.spki_len - 1, &c, &d), -1);
	CHECK(!d.present);
	x509_init(&c);
	CHECK_INT(x509_tlsa_digests(der, n, &c, &d), -1);
}

struct tlsa_case {
	const char *what;
	const char *rrs[10]; /* the TLSA records' rdata */
	int with_chain, chain_complete;
	int want;
};

#define SPKI256 "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f"
#define CERT256 "39f9d7b40cf6ab735803cfd878f5169e1b1bf4052e6fde32540ec92df11c8644"
#define SPKI512 "36ebc714f30319673bd1e8a94c9f64846002c421681c54c4de9b46c46d979ec3" \
		"f355db6edd07de81bf5db88c3fbaae68368baa9317dc2963487f8a9d32e41c1a"
#define EC_SPKI256 "b193c5800898a2c11a1965768c363b03891a5dab9a87360a05e252bbfe3a1bba"
#define WRONG256 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const struct tlsa_case tlsa_cases[] = {
	{"3 1 1", {"3 1 1 " SPKI256}, 0, 0, 1},
	{"3 0 1", {"3 0 1 " CERT256}, 0, 0, 1},
	{"3 1 2", {"3 1 2 " SPKI512}, 0, 0, 1},
	{"3 1 0 exact SPKI", {"3 1 0 @SPKI@"}, 0, 0, 1},
	{"3 0 0 exact cert", {"3 0 0 @CERT@"}, 0, 0, 1},
	{"wrong digest", {"3 1 1 " WRONG256}, 0, 0, 0},
	{"one of two", {"3 1 1 " WRONG256, "3 0 1 " CERT256}, 0, 0, 1},
	{"selector swapped", {"3 0 1 " SPKI256}, 0, 0, 0},
	{"DANE-TA, leaf only", {"2 1 1 " EC_SPKI256}, 0, 0, -1},
	{"DANE-TA on the chain", {"2 1 1 " EC_SPKI256}, 1, 1, 1},
	{"DANE-TA, chain known, no match", {"2 1 1 " WRONG256}, 1, 1, 0},
	{"DANE-TA, chain incomplete", {"2 1 1 " WRONG256}, 1, 0, -1},
	{"DANE-TA 2 1 0 may be absent", {"2 1 0 " WRONG256}, 1, 1, -1},
	{"DANE-EE fails, DANE-TA unknown", {"3 1 1 " WRONG256, "2 1 1 " WRONG256}, 0, 0, -1},
	{"PKIX-EE is unusable", {"1 1 1 " SPKI256}, 0, 0, -1},
	{"digest too short", {"3 1 1 8ddfc6af"}, 0, 0, -1},
	{"capped set", {"3 1 1 " WRONG256, "3 1 1 01" WRONG256 "", "3 1 1 02" WRONG256, "3 1 1 03" WRONG256,
			"3 1 1 04" WRONG256, "3 1 1 05" WRONG256, "3 1 1 06" WRONG256, "3 1 1 07" WRONG256,
			"3 1 1 08" WRONG256}, 0, 0, -1},
};

/* Replaces @SPKI@ / @CERT@ with the DER in hex. */
static void expand(const char *rdata, char *out, size_t cap)
{
	const char *at = strchr(rdata, '@');
	if (!at) {
		snprintf(out, cap, "%s", rdata);
		return;
	}
	snprintf(out, cap, "%.*s%s", (int)(at - rdata), rdata,
		 strncmp(at, "@SPKI@", 6) == 0 ? SPKI_DER : der_postfix);
}

static void test_tlsa_match(void)
{
	struct x509_tlsa chain[2];
	static char rr[10][8300];
	digests_of(der_postfix, &chain[0]);
	digests_of(der_ec, &chain[1]);
	for (size_t i = 0; i < sizeof tlsa_cases / sizeof tlsa_cases[0]; i++) {
		const struct tlsa_case *tc = &tlsa_cases[i];
		const char *rrs[11] = {NULL};
		struct pdns *t = table();
		char rdata[8192];
		for (size_t k = 0; k < 10 && tc->rrs[k]; k++) {
			expand(tc->rrs[k], rdata, sizeof rdata);
			snprintf(rr[k], sizeof rr[k], "_25._tcp.mx1.example.com. 300 IN TLSA %s", rdata);
			rrs[k] = rr[k];
		}
		answer(t, C, T - 5, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA, 0, 1, rrs);
		int got = pdns_tlsa_match(t, "mx1.example.com", T, chain, tc->with_chain ? 2 : 1,
					  tc->chain_complete);
		if (got != tc->want)
			fprintf(stderr, "     case \"%s\"\n", tc->what);
		CHECK_INT(got, tc->want);
		pdns_free(t);
	}
	/* no TLSA, a none, no certificate: NULL */
	struct pdns *t = table();
	CHECK_INT(pdns_tlsa_match(t, "mx1.example.com", T, chain, 1, 0), -1);
	answer(t, C, T - 5, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA, 3, 1, NULL);
	CHECK_INT(pdns_tlsa_match(t, "mx1.example.com", T, chain, 1, 0), -1);
	answer(t, C, T - 4, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA, 0, 1,
	       RRS("_25._tcp.mx1.example.com. 300 IN TLSA 3 1 1 " SPKI256));
	CHECK_INT(pdns_tlsa_match(t, "mx1.example.com", T, NULL, 0, 0), -1);
	CHECK_INT(pdns_tlsa_match(t, "", T, chain, 1, 0), -1);
	CHECK_INT(pdns_tlsa_match(t, "mx1.example.com", T, chain, 1, 0), 1);
	pdns_free(t);
}

/* ---- the recorded exchange --------------------------------------------------------------- */

static void feed_vector(struct pdns *t, const struct dns_vector *v)
{
	static uint8_t raw[4096];
	size_t n = hex_decode(raw, v->hex), off = 0, used, len;
	struct pdns_addr src = addr(v->src), dst = addr(v->dst);
	const uint8_t *msg;
	struct dns_stream *s;
	if (!v->tcp) {
		if (dns_parse(raw, n, M, NULL) == DNS_OK)
			pdns_add_dns(t, M, &src, &dst, 100 + v->ts);
		return;
	}
	s = dns_stream_new(0);
	while (off < n) {
		int st = dns_stream_feed(s, raw + off, n - off, &used, &msg, &len);
		off += used;
		if (st == DNS_STREAM_MSG && dns_parse(msg, len, M, NULL) == DNS_OK)
			pdns_add_dns(t, M, &src, &dst, 100 + v->ts);
	}
	dns_stream_free(s);
}

/* drill asked unbound (127.0.0.2) from 127.0.0.1, and unbound asked nsd
 * from 127.0.0.1 too: the client's own lookups. The zones say which MX
 * leads where, what is published and signed; the capture is too short
 * for a 0 (the window was not watched). */
static void test_recorded(void)
{
	struct pdns *t = pdns_new(NULL);
	struct x509_tlsa d[2];
	double end = 100;
	pdns_expire(t, 100);
	for (size_t i = 0; i < NVEC; i++) {
		feed_vector(t, &dns_vectors[i]);
		end = 100 + dns_vectors[i].ts;
	}
	CHECK_STR(columns(t, "127.0.0.1", "192.0.2.25", end + 1),
		  "mx=smtptls.test/mx1.smtptls.test sts=1 id=20240101T000000 dane=signed rpt=1 "
		  "look_sts=1 look_tlsa=1 fetch=-1");
	CHECK_STR(columns(t, "127.0.0.1", "198.51.100.7", end + 1),
		  "mx=plain.test/mail.plain.test sts=-1 dane=unsigned rpt=-1 look_sts=-1 "
		  "look_tlsa=1 fetch=-1");
	CHECK_STR(columns(t, "127.0.0.1", "192.0.2.26", end + 1), /* mx2: no A asked */
		  "mx=/ sts=-1 dane=NULL rpt=-1 look_sts=-1 look_tlsa=-1 fetch=-1");
	digests_of(der_postfix, &d[0]);
	digests_of(der_ec, &d[1]);
	CHECK_INT(pdns_tlsa_match(t, "mx1.smtptls.test", end + 1, d, 1, 0), 1);
	CHECK_INT(pdns_tlsa_match(t, "mx1.smtptls.test", end + 1, &d[1], 1, 0), 0);
	CHECK_INT(pdns_tlsa_match(t, "mail.plain.test", end + 1, &d[1], 1, 0), 0);
	CHECK_INT(pdns_tlsa_match(t, "mx2.smtptls.test", end + 1, d, 1, 0), -1);
	pdns_free(t);
}

int main(void)
{
	M = malloc(sizeof *M);
	test_digests();
	test_tlsa_match();
	test_recorded();
	free(M);
	return check_done("pdns_tlsa");
}
