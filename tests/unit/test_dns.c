/* Unit tests for dissect/dns.c: DNS messages to facts, and DNS over TCP.
 *
 * Three sources of messages: recorded from nsd and unbound (dns_vectors.h,
 * made by dns_record.sh; the expected facts below come from the zone files
 * there, not from this parser), built by ldns from presentation-format
 * records, and written byte by byte for what real servers do not send
 * (loops, compression, odd bytes, caps). Every message is also parsed cut
 * at every length, flush against an unreadable page: no cut may parse and
 * none may read a byte too far. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "split_feed.h"
#include "dns_build.h"

static struct dns_stats stats;

/* The facts as one line of words: what the expectations are written in. */
static void describe_fact(const struct dns_fact *f, char *out, size_t cap, int ttl)
{
	char a[64];
	switch (f->kind) {
	case DNS_FACT_MX:
		check_describe(out, cap, "mx %s>%s/%u", f->name, f->target, f->pref);
		break;
	case DNS_FACT_ADDR:
		inet_ntop(f->family == 4 ? AF_INET : AF_INET6, f->addr, a, sizeof a);
		check_describe(out, cap, "addr %s=%s", f->name, a);
		break;
	case DNS_FACT_CNAME:
		check_describe(out, cap, "cname %s>%s", f->name, f->target);
		break;
	case DNS_FACT_STS:
		check_describe(out, cap, "sts %s id=%s", f->name, f->sts_id);
		break;
	case DNS_FACT_TLSRPT:
		check_describe(out, cap, "tlsrpt %s", f->name);
		break;
	case DNS_FACT_TLSA:
		for (int i = 0; i < 8 && i < f->tlsa.len; i++)
			snprintf(a + 2 * i, sizeof a - 2 * (size_t)i, "%02x", f->tlsa.data[i]);
		if (f->tlsa.len == 0)
			a[0] = '\0';
		check_describe(out, cap, "tlsa %s %u %u %u %s %s%s", f->name, f->tlsa.usage,
			       f->tlsa.selector, f->tlsa.mtype, a, f->rrsig ? "rrsig " : "",
			       f->tlsa.usable ? "usable" : "unusable");
		break;
	case DNS_FACT_NONE:
		check_describe(out, cap, "none %s %s%s", dns_qkind_name(f->none_of), f->name,
			       f->nxdomain ? " nx" : "");
		break;
	}
	if (ttl)
		check_describe(out, cap, "ttl=%u", f->ttl);
}

static void describe(const struct dns_msg *m, char *out, size_t cap, int ttl)
{
	out[0] = '\0';
	if (!m->response) {
		check_describe(out, cap, "query %s", dns_qkind_name(m->qkind));
		if (m->qkind != DNS_Q_OTHER)
			check_describe(out, cap, "%s", m->subject);
		return;
	}
	check_describe(out, cap, "rcode=%d%s%s", m->rcode, m->ad ? " ad" : "", m->tc ? " tc" : "");
	for (size_t i = 0; i < m->n_facts; i++)
		describe_fact(&m->facts[i], out, cap, ttl);
	if (m->facts_capped)
		check_describe(out, cap, "capped");
}

/* Parses p[0..n) from a guarded buffer, and every cut of it. */
static int parse_all_ways(const uint8_t *p, size_t n, struct dns_msg *m)
{
	int rc;
	for (size_t cut = 0; cut < n; cut++) {
		if (dns_parse(guarded(p, cut), cut, m, &stats) == DNS_OK) {
			fprintf(stderr, "     a cut at %zu of %zu parsed\n", cut, n);
			CHECK(!"a cut message parses");
			break;
		}
	}
	rc = dns_parse(guarded(p, n), n, m, &stats);
	return rc;
}

/* ---- recorded from nsd and unbound ------------------------------------------------------ */

struct expect {
	const char *prefix; /* of the vector's name */
	const char *facts;
};

/* in the signed zone's canonical order (RFC 4034 6.3) */
#define TLSA_MX1 "tlsa mx1.smtptls.test 3 0 1 39f9d7b40cf6ab73 rrsig usable " \
		 "tlsa mx1.smtptls.test 3 1 1 8ddfc6af034c01e3 rrsig usable"

static const struct expect expects[] = {
	{"query smtptls.test 15 ", "query mx smtptls.test"},
	{"query smtptls.test 48 ", "ignored"}, /* DNSKEY */
	{"query _ta-", "ignored"},             /* NULL: unbound's key tag signal */
	{"query mx1.smtptls.test ", "query addr mx1.smtptls.test"},
	{"query _mta-sts.smtptls.test ", "query sts smtptls.test"},
	{"query _smtp._tls.smtptls.test ", "query tlsrpt smtptls.test"},
	{"query _25._tcp.mx1.smtptls.test ", "query tlsa mx1.smtptls.test"},
	{"query _25._tcp.mx2.smtptls.test ", "query tlsa mx2.smtptls.test"},
	{"query _mta-sts.nosts.smtptls.test ", "query sts nosts.smtptls.test"},
	{"query _mta-sts.none.smtptls.test ", "query sts none.smtptls.test"},
	{"query mxalias.smtptls.test ", "query addr mxalias.smtptls.test"},
	{"query plain.test ", "query mx plain.test"},
	{"query _25._tcp.mail.plain.test ", "query tlsa mail.plain.test"},
	{"query mail.plain.test ", "query addr mail.plain.test"},
	/* nsd (127.0.0.1 > 127.0.0.1): authoritative, no AD */
	{"resp smtptls.test 15 127.0.0.1>",
	 "rcode=0 mx smtptls.test>mx1.smtptls.test/10 mx smtptls.test>mx2.smtptls.test/20"},
	{"resp smtptls.test 48 ", "ignored"},
	{"resp _ta-", "ignored"},
	{"resp mx1.smtptls.test 1 127.0.0.1>", "rcode=0 addr mx1.smtptls.test=192.0.2.25"},
	{"resp mx1.smtptls.test 28 127.0.0.1>", "rcode=0 addr mx1.smtptls.test=2001:db8::25"},
	{"resp _mta-sts.smtptls.test 16 127.0.0.1>", "rcode=0 sts smtptls.test id=20240101T000000"},
	{"resp _smtp._tls.smtptls.test 16 127.0.0.1>", "rcode=0 tlsrpt smtptls.test"},
	{"resp _25._tcp.mx1.smtptls.test 52 127.0.0.1>", "rcode=0 " TLSA_MX1},
	{"resp _25._tcp.mx2.smtptls.test 52 127.0.0.1>", "rcode=3 none tlsa mx2.smtptls.test nx"},
	{"resp _mta-sts.nosts.smtptls.test 16 127.0.0.1>", "rcode=0 none sts nosts.smtptls.test"},
	{"resp _mta-sts.none.smtptls.test 16 127.0.0.1>", "rcode=3 none sts none.smtptls.test nx"},
	{"resp mxalias.smtptls.test 1 127.0.0.1>",
	 "rcode=0 cname mxalias.smtptls.test>mx1.smtptls.test addr mxalias.smtptls.test=192.0.2.25"},
	/* unbound (127.0.0.2 > 127.0.0.1): validated, AD with DO */
	{"resp smtptls.test 15 127.0.0.2>",
	 "rcode=0 ad mx smtptls.test>mx1.smtptls.test/10 mx smtptls.test>mx2.smtptls.test/20"},
	{"resp mx1.smtptls.test 1 127.0.0.2>", "rcode=0 ad addr mx1.smtptls.test=192.0.2.25"},
	{"resp mx1.smtptls.test 28 127.0.0.2>", "rcode=0 ad addr mx1.smtptls.test=2001:db8::25"},
	{"resp _mta-sts.smtptls.test 16 127.0.0.2>", "rcode=0 ad sts smtptls.test id=20240101T000000"},
	{"resp _smtp._tls.smtptls.test 16 127.0.0.2>", "rcode=0 ad tlsrpt smtptls.test"},
	{"resp _25._tcp.mx1.smtptls.test 52 127.0.0.2>", "rcode=0 ad " TLSA_MX1},
	{"resp _25._tcp.mx2.smtptls.test 52 127.0.0.2>", "rcode=3 ad none tlsa mx2.smtptls.test nx"},
	{"resp _mta-sts.nosts.smtptls.test 16 127.0.0.2>", "rcode=0 ad none sts nosts.smtptls.test"},
	{"resp _mta-sts.none.smtptls.test 16 127.0.0.2>", "rcode=3 ad none sts none.smtptls.test nx"},
	{"resp mxalias.smtptls.test 1 127.0.0.2>",
	 "rcode=0 ad cname mxalias.smtptls.test>mx1.smtptls.test addr mxalias.smtptls.test=192.0.2.25"},
	/* the unsigned zone: no AD, no RRSIG, with or without DO */
	{"resp plain.test 15 ", "rcode=0 mx plain.test>mail.plain.test/5"},
	{"resp _25._tcp.mail.plain.test 52 ", "rcode=0 tlsa mail.plain.test 3 1 1 8ddfc6af034c01e3 usable"},
	{"resp mail.plain.test 1 ", "rcode=0 addr mail.plain.test=198.51.100.7"},
};

static const char *expected_for(const char *name)
{
	for (size_t i = 0; i < sizeof expects / sizeof expects[0]; i++)
		if (strncmp(name, expects[i].prefix, strlen(expects[i].prefix)) == 0)
			return expects[i].facts;
	return NULL;
}

/* A TCP vector's messages, through the stream splitter. */
static size_t stream_messages(const uint8_t *p, size_t n, uint8_t out[][1024], size_t *lens, size_t max)
{
	struct dns_stream *s = dns_stream_new(0);
	size_t got = 0, off = 0, used;
	const uint8_t *msg;
	size_t len;
	while (off < n) {
		int st = dns_stream_feed(s, p + off, n - off, &used, &msg, &len);
		off += used;
		if (st == DNS_STREAM_MSG && got < max && len <= 1024) {
			memcpy(out[got], msg, len);
			lens[got++] = len;
		}
	}
	dns_stream_free(s);
	return got;
}

static void check_vector(const struct dns_vector *v, struct dns_msg *m)
{
	uint8_t raw[4096], msgs[4][1024];
	size_t n = hex_decode(raw, v->hex), lens[4], k = 1;
	const char *want = expected_for(v->name);
	char got[2048];
	if (!CHECK(want != NULL)) {
		fprintf(stderr, "     no expectation for \"%s\"\n", v->name);
		return;
	}
	if (v->tcp) {
		k = stream_messages(raw, n, msgs, lens, 4);
		CHECK_INT(k, 1);
	} else {
		memcpy(msgs[0], raw, n);
		lens[0] = n;
	}
	for (size_t i = 0; i < k; i++) {
		int rc = parse_all_ways(msgs[i], lens[i], m);
		CHECK_INT(rc, strcmp(want, "ignored") == 0 ? DNS_ERR_IGNORED : DNS_OK);
		describe(m, got, sizeof got, 0);
		if (rc == DNS_ERR_IGNORED)
			snprintf(got, sizeof got, "ignored");
		if (strcmp(got, want) != 0)
			fprintf(stderr, "     in \"%s\"\n", v->name);
		CHECK_STR(got, want);
	}
}

static void test_recorded(struct dns_msg *m)
{
	uint8_t raw[4096];
	char got[2048];
	CHECK(NVEC >= 40);
	for (size_t i = 0; i < NVEC; i++)
		check_vector(&dns_vectors[i], m);
	/* RFC 2308: the negative TTL, min(SOA TTL, SOA MINIMUM 120) */
	for (size_t i = 0; i < NVEC; i++) {
		if (strncmp(dns_vectors[i].name, "resp _25._tcp.mx2.smtptls.test 52 127.0.0.1>", 44) != 0)
			continue;
		size_t n = hex_decode(raw, dns_vectors[i].hex);
		CHECK_INT(dns_parse(raw, n, m, NULL), DNS_OK);
		describe(m, got, sizeof got, 1);
		CHECK_STR(got, "rcode=3 none tlsa mx2.smtptls.test nx ttl=120");
	}
}

/* ---- built by ldns ----------------------------------------------------------------------- */

struct built_case {
	struct msgspec spec;
	const char *facts; /* with TTLs */
};

static const struct built_case built[] = {
	{{"Example.COM.", LDNS_RR_TYPE_MX, 1, 0, 1, 0, 0,
	  {"example.com. 300 IN MX 10 MX1.Example.com.", "example.com. 60 IN MX 0 .",
	   "example.com. 300 IN A 192.0.2.1", NULL}, {NULL}},
	 "rcode=0 mx example.com>mx1.example.com/10 ttl=300"},
	{{"_25._tcp.mx.example.com.", LDNS_RR_TYPE_TLSA, 1, 0, 1, 0, 0,
	  {"_25._tcp.mx.example.com. 120 IN TLSA 3 1 2 "
	   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	   "_25._tcp.mx.example.com. 120 IN TLSA 2 0 0 616263",
	   "_25._tcp.mx.example.com. 120 IN TLSA 3 1 1 0011",
	   "_25._tcp.mx.example.com. 120 IN RRSIG A 13 5 300 20360101000000 20250101000000 1 example.com. AAAA",
	   NULL}, {NULL}},
	 /* 2 0 0 "abc": SHA-256 ba7816bf... (FIPS 180-2); a 2-byte SHA-256 is unusable */
	 "rcode=0 tlsa mx.example.com 3 1 2 0011223344556677 usable ttl=120 "
	 "tlsa mx.example.com 2 0 0 ba7816bf8f01cfea usable ttl=120 "
	 "tlsa mx.example.com 3 1 1 0011 unusable ttl=120"},
	{{"_25._tcp.mx.example.com.", LDNS_RR_TYPE_TLSA, 1, 0, 1, 0, 0,
	  {"_25._tcp.mx.example.com. 3600 IN CNAME _25._tcp.mx.example.net.",
	   "_25._tcp.mx.example.net. 300 IN TLSA 3 0 1 "
	   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	   "_25._tcp.mx.example.net. 300 IN RRSIG TLSA 13 5 300 20360101000000 20250101000000 1 example.net. AAAA",
	   NULL}, {NULL}},
	 "rcode=0 cname _25._tcp.mx.example.com>_25._tcp.mx.example.net ttl=3600 "
	 "tlsa mx.example.com 3 0 1 0011223344556677 rrsig usable ttl=300"},
	{{"_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_mta-sts.example.com. 600 IN TXT \"v=STSv1;id=abc\" \"123\"",
	   "_mta-sts.example.com. 60 IN TXT \"google-site-verification=x\"", NULL}, {NULL}},
	 "rcode=0 sts example.com id=abc123 ttl=600"},
	{{"_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=1\"",
	   "_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=2\"", NULL},
	  {"example.com. 900 IN SOA ns. host. 1 2 3 4 30", NULL}},
	 "rcode=0 none sts example.com ttl=30"}, /* two records: no policy (RFC 8461 3.1) */
	{{"_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=has-dash\"", NULL}, {NULL}},
	 "rcode=0 none sts example.com ttl=0"},
	{{"_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_mta-sts.example.com. 600 IN TXT \"v=STSv10; id=1\"", NULL}, {NULL}},
	 "rcode=0 none sts example.com ttl=0"},
	{{"_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=123456789012345678901234567890123\"", NULL},
	  {NULL}},
	 "rcode=0 none sts example.com ttl=0"}, /* 33 characters */
	{{"_smtp._tls.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_smtp._tls.example.com. 600 IN TXT \"v=TLSRPTv1\"", NULL}, {NULL}},
	 "rcode=0 none tlsrpt example.com ttl=0"}, /* rua is required */
	{{"_smtp._tls.example.com.", LDNS_RR_TYPE_TXT, 1, 0, 1, 0, 0,
	  {"_smtp._tls.example.com. 600 IN TXT \"v=TLSRPTv1;rua=mailto:r@example.com\"", NULL}, {NULL}},
	 "rcode=0 tlsrpt example.com ttl=600"},
	{{"example.com.", LDNS_RR_TYPE_MX, 1, 0, 1, 0, 0, {NULL},
	  {"example.com. 900 IN SOA ns. host. 1 2 3 4 45", NULL}},
	 "rcode=0 none mx example.com ttl=45"}, /* NODATA: the implicit MX */
	{{"example.com.", LDNS_RR_TYPE_MX, 1, 2, 1, 0, 0, {NULL}, {NULL}}, "rcode=2"}, /* SERVFAIL */
	{{"_25._tcp.mx.example.com.", LDNS_RR_TYPE_TLSA, 1, 0, 1, 0, 1, {NULL}, {NULL}},
	 "rcode=0 tc"}, /* truncated: no conclusion */
	{{"_25._tcp.mx.example.com.", LDNS_RR_TYPE_TLSA, 1, 0, 0, 0, 0,
	  {"_25._tcp.mx.example.com. 3600 IN CNAME other.example.net.", NULL}, {NULL}},
	 "rcode=0 cname _25._tcp.mx.example.com>other.example.net ttl=3600"}, /* an authority's partial chain */
	{{"_25._tcp.mx.example.com.", LDNS_RR_TYPE_TLSA, 1, 3, 1, 1, 0,
	  {"_25._tcp.mx.example.com. 3600 IN CNAME other.example.net.", NULL}, {NULL}},
	 "rcode=3 ad cname _25._tcp.mx.example.com>other.example.net ttl=3600 none tlsa mx.example.com nx ttl=0"},
	{{"mx.example.com.", LDNS_RR_TYPE_AAAA, 1, 0, 1, 0, 0,
	  {"mx.example.com. 30 IN AAAA 2001:db8::1", "mx.example.com. 30 IN A 192.0.2.1",
	   "evil.example. 30 IN AAAA 2001:db8::666", NULL}, {NULL}},
	 "rcode=0 addr mx.example.com=2001:db8::1 ttl=30"},
	{{"mx.example.com.", LDNS_RR_TYPE_A, 0, 0, 0, 0, 0, {NULL}, {NULL}}, "query addr mx.example.com"},
	{{"example.com.", LDNS_RR_TYPE_A, 1, 0, 1, 0, 0,
	  {"example.com. 30 IN A 192.0.2.1", "example.com. 30 IN A 192.0.2.2",
	   "example.com. 30 IN A 192.0.2.3", "example.com. 30 IN A 192.0.2.4",
	   "example.com. 30 IN A 192.0.2.5", "example.com. 30 IN A 192.0.2.6",
	   "example.com. 30 IN A 192.0.2.7", "example.com. 30 IN A 192.0.2.8",
	   "example.com. 30 IN A 192.0.2.9", "example.com. 30 IN A 192.0.2.10",
	   "example.com. 30 IN A 192.0.2.11", "example.com. 30 IN A 192.0.2.12",
	   "example.com. 30 IN A 192.0.2.13", "example.com. 30 IN A 192.0.2.14",
	   "example.com. 30 IN A 192.0.2.15", "example.com. 30 IN A 192.0.2.16",
	   "example.com. 30 IN A 192.0.2.17", "example.com. 30 IN A 192.0.2.18",
	   "example.com. 30 IN A 192.0.2.19", "example.com. 30 IN A 192.0.2.20",
	   "example.com. 30 IN A 192.0.2.21", "example.com. 30 IN A 192.0.2.22",
	   "example.com. 30 IN A 192.0.2.23", "example.com. 30 IN A 192.0.2.24",
	   "example.com. 30 IN A 192.0.2.25", "example.com. 30 IN A 192.0.2.26",
	   "example.com. 30 IN A 192.0.2.27", "example.com. 30 IN A 192.0.2.28",
	   "example.com. 30 IN A 192.0.2.29", "example.com. 30 IN A 192.0.2.30",
	   "example.com. 30 IN A 192.0.2.31", "example.com. 30 IN A 192.0.2.32",
	   "example.com. 30 IN A 192.0.2.33", NULL}, {NULL}},
	 NULL}, /* checked apart: 32 facts and capped */
};

static void test_built(struct dns_msg *m)
{
	static uint8_t wire[8192];
	char got[4096];
	for (size_t i = 0; i < sizeof built / sizeof built[0]; i++) {
		size_t n = ldns_build(&built[i].spec, wire, sizeof wire);
		CHECK(n > 12);
		CHECK_INT(parse_all_ways(wire, n, m), DNS_OK);
		describe(m, got, sizeof got, 1);
		if (built[i].facts) {
			CHECK_STR(got, built[i].facts);
		} else {
			CHECK_INT(m->n_facts, DNS_FACTS_MAX);
			CHECK(m->facts_capped);
			CHECK(strstr(got, "addr example.com=192.0.2.32 ttl=30 capped") != NULL);
		}
	}
}

/* ---- byte by byte ---------------------------------------------------------------------- */

/* Compression pointers, upper case, odd bytes in a label. */
static void test_names(struct buf *b, struct dns_msg *m)
{
	char got[2048];
	b->n = 0;
	w_header(b, 1, F_QR | F_RA, 1, 2, 0, 0);
	w_name(b, "EXAMPLE.com");          /* at offset 12 */
	b_u16(b, DNS_TYPE_MX);
	b_u16(b, 1);
	b_hex(b, "c00c000f0001000000640008"); /* pointer to the question's name, MX, TTL 100 */
	b_hex(b, "000a036d7831c00c");         /* 10 mx1.<pointer> */
	b_hex(b, "c00c000f000100000064000a"); /* another MX ... */
	b_hex(b, "0014"); /* pref 20: "a.b" as one label, a \ and a byte 0xe9 */
	b_hex(b, "05612e5c4de9c00c");
	CHECK_INT(parse_all_ways(b->b, b->n, m), DNS_OK);
	describe(m, got, sizeof got, 1);
	CHECK_STR(got, "rcode=0 mx example.com>mx1.example.com/10 ttl=100 "
		       "mx example.com>a\\x2e\\x5cm\\xe9.example.com/20 ttl=100");

	/* a pointer loop: ldns refuses it */
	b->n = 0;
	w_header(b, 1, F_QR, 1, 0, 0, 0);
	b_hex(b, "c00c00010001");
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_MALFORMED);
}

/* A name that fits the wire (255) but not the text (\xHH for each byte). */
static void test_name_too_long(struct buf *b, struct dns_msg *m)
{
	uint64_t before = stats.names_too_long;
	b->n = 0;
	w_header(b, 1, F_QR, 1, 0, 0, 0);
	for (int l = 0; l < 3; l++) {
		b_u8(b, 63);
		b_fill(b, 0xff, 63);
	}
	b_u8(b, 0);
	b_u16(b, DNS_TYPE_A);
	b_u16(b, 1);
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_IGNORED);
	CHECK_INT(stats.names_too_long, before + 1);
	CHECK_INT(m->n_facts, 0);
}

/* CNAME chains: a loop stops; a chain longer than DNS_CHAIN_MAX stops
 * there; the smallest TTL along the chain applies. */
static void test_chains(struct buf *b, struct dns_msg *m)
{
	char got[4096], name[32], next[32];
	b->n = 0;
	w_header(b, 1, F_QR | F_RA, 1, 3, 0, 0);
	w_question(b, "a.example", DNS_TYPE_A);
	w_cname(b, "a.example", 50, "b.example");
	w_cname(b, "b.example", 500, "a.example");
	w_a(b, "b.example", 300, "192.0.2.9");
	CHECK_INT(parse_all_ways(b->b, b->n, m), DNS_OK);
	describe(m, got, sizeof got, 1);
	CHECK_STR(got, "rcode=0 cname a.example>b.example ttl=50 addr a.example=192.0.2.9 ttl=50");

	b->n = 0;
	w_header(b, 1, F_QR | F_RA, 1, 11, 0, 0);
	w_question(b, "c0.example", DNS_TYPE_A);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "c%d.example", i);
		snprintf(next, sizeof next, "c%d.example", i + 1);
		w_cname(b, name, 100 + (unsigned)i, next);
	}
	w_a(b, "c10.example", 300, "192.0.2.10");
	CHECK_INT(parse_all_ways(b->b, b->n, m), DNS_OK);
	CHECK_INT(m->n_facts, DNS_CHAIN_MAX); /* the A at the end is beyond the chain followed */
	for (size_t i = 0; i < m->n_facts; i++)
		CHECK_INT(m->facts[i].kind, DNS_FACT_CNAME);
}

/* Messages that are not read: two questions, an UPDATE, class CH, too
 * short, too long, garbage. */
static void test_refused(struct buf *b, struct dns_msg *m)
{
	static uint8_t big[DNS_MSG_MAX + 1];
	b->n = 0;
	w_header(b, 1, F_QR, 2, 0, 0, 0);
	w_question(b, "a.example", DNS_TYPE_A);
	w_question(b, "b.example", DNS_TYPE_A);
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_IGNORED);
	b->n = 0;
	w_header(b, 1, F_QR | (5 << 11), 1, 0, 0, 0);
	w_question(b, "a.example", DNS_TYPE_A);
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_IGNORED);
	b->n = 0;
	w_header(b, 1, F_QR, 1, 0, 0, 0);
	w_name(b, "version.bind");
	b_u16(b, DNS_TYPE_TXT);
	b_u16(b, 3);
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_IGNORED);
	CHECK_INT(dns_parse(b->b, 11, m, &stats), DNS_ERR_MALFORMED);
	CHECK_INT(dns_parse(big, sizeof big, m, &stats), DNS_ERR_MALFORMED);
	b->n = 0;
	w_header(b, 1, F_QR, 1, 1, 0, 0);
	b_fill(b, 0x41, 40);
	CHECK_INT(dns_parse(b->b, b->n, m, &stats), DNS_ERR_MALFORMED);
	CHECK_INT(m->n_facts, 0);
}

/* ---- DNS over TCP ----------------------------------------------------------------------- */

struct collect {
	struct dns_stream *s;
	uint8_t got[8192];
	size_t n;
	int msgs;
	unsigned contract; /* more consumed than given */
};

static void *stream_start(void *arg)
{
	struct collect *c = calloc(1, sizeof *c);
	(void)arg;
	if (!c)
		abort();
	c->s = dns_stream_new(100);
	return c;
}

/* Feeds a piece, appending every message (with its length) to got. */
static void stream_data(void *run, int dir, const uint8_t *p, size_t len)
{
	struct collect *c = run;
	size_t off = 0, used, mlen;
	const uint8_t *msg;
	(void)dir;
	while (off < len) {
		int st = dns_stream_feed(c->s, p + off, len - off, &used, &msg, &mlen);
		if (used > len - off) {
			c->contract++;
			break;
		}
		off += used;
		if (st != DNS_STREAM_MSG || c->n + 2 + mlen > sizeof c->got)
			break;
		c->got[c->n++] = (uint8_t)(mlen >> 8);
		c->got[c->n++] = (uint8_t)mlen;
		memcpy(c->got + c->n, msg, mlen);
		c->n += mlen;
		c->msgs++;
	}
}

static void stream_gap(void *run, int dir, uint64_t n)
{
	struct collect *c = run;
	(void)dir, (void)n;
	dns_stream_gap(c->s);
}

static void describe_stream(char *out, size_t cap, int msgs, const uint8_t *got, size_t n,
			    const struct dns_stream_stats *st)
{
	check_describe(out, cap, "msgs=%d bytes=", msgs);
	size_t used = strlen(out);
	for (size_t i = 0; i < n && used + 3 < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%02x", got[i]);
	check_describe(out, cap, "oversize=%llu empty=%llu messages=%llu lost=%d",
		       (unsigned long long)st->oversize, (unsigned long long)st->empty,
		       (unsigned long long)st->messages, st->lost);
}

static unsigned stream_finish(void *run, char *out, size_t cap)
{
	struct collect *c = run;
	unsigned contract = c->contract;
	describe_stream(out, cap, c->msgs, c->got, c->n, dns_stream_stats(c->s));
	dns_stream_free(c->s);
	free(c);
	return contract;
}

static const struct split_ops stream_ops = {stream_start, stream_data, stream_gap,
					    stream_finish};

/* Three framed messages, one of them too long for a 100-byte cap and one
 * empty, fed whole, split at every byte, and byte by byte (split_feed.h):
 * the kept ones come out whole and the skipped one is counted. */
static void test_stream(void)
{
	static struct buf in;
	static uint8_t want[4096];
	size_t want_n = 0;
	char want_line[2048] = "";
	in.n = 0;
	for (int i = 0; i < 4; i++) {
		size_t len = i == 1 ? 200 : i == 2 ? 0 : 40 + (size_t)i;
		b_u16(&in, (unsigned)len);
		for (size_t k = 0; k < len; k++)
			b_u8(&in, (unsigned)(i * 31 + k));
		if (i != 1 && i != 2) {
			memcpy(want + want_n, in.b + in.n - len - 2, len + 2);
			want_n += len + 2;
		}
	}
	struct dns_stream_stats st = {2, 1, 1, 0};
	describe_stream(want_line, sizeof want_line, 2, want, want_n, &st);
	struct split_step step = {0, in.b, in.n, 0};
	split_feed_check(&stream_ops, NULL, &step, 1, want_line, "three framed messages");
}

static void test_stream_gap(void)
{
	struct dns_stream *s = dns_stream_new(0);
	const uint8_t two[] = {0, 3, 1, 2, 3};
	const uint8_t *msg;
	size_t used, len;
	CHECK_INT(dns_stream_feed(s, two, 3, &used, &msg, &len), DNS_STREAM_MORE);
	dns_stream_gap(s);
	CHECK_INT(dns_stream_feed(s, two + 3, 2, &used, &msg, &len), DNS_STREAM_LOST);
	CHECK_INT(used, 2);
	CHECK(dns_stream_stats(s)->lost);
	dns_stream_free(s);
	dns_stream_free(NULL);
}

int main(void)
{
	struct dns_msg *m = malloc(sizeof *m);
	struct buf *b = malloc(sizeof *b);
	memset(b, 0, sizeof *b);
	test_recorded(m);
	test_built(m);
	test_names(b, m);
	test_name_too_long(b, m);
	test_chains(b, m);
	test_refused(b, m);
	test_stream();
	test_stream_gap();
	CHECK(stats.malformed > 0 && stats.responses > 0 && stats.queries > 0);
	CHECK(strcmp(dns_fact_kind_name(DNS_FACT_TLSA), "tlsa") == 0);
	free(m);
	free(b);
	return check_done("dns");
}
