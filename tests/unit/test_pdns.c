/* Unit tests for dissect/pdns.c and pdns_query.c: the passive-DNS table
 * and the session columns of issue 17, and x509's TLSA digests.
 *
 * Answers are built by ldns (dns_build.h) and go through dns_parse(), as
 * the engine will feed them; the recorded nsd/unbound exchange of
 * dns_vectors.h is replayed too. The client C asks its resolver R; the
 * server S has the address the MX host resolves to. Expected digests come
 * from openssl (`openssl x509 -pubkey | openssl pkey -pubin -outform DER |
 * sha256sum`), not from x509.c. */
#include <stdlib.h>
#include <string.h>

#include "../../dissect/x509.h"
#include "check.h"
#include "dns_build.h"

/* (as in test_x509.c) tests/data/record/setup.sh: Postfix self-signed RSA-2048, CN mx.smtptls.test */
static const char der_postfix[] =
	"308203553082023da00302010202146a91c6a7ed1395e7f09e72f919d3d8a2c2"
	"9127a3300d06092a864886f70d01010b0500301a3118301606035504030c0f6d"
	"782e736d7470746c732e74657374301e170d3236313132323231333633345a17"
	"0d3336313131393231333633345a301a3118301606035504030c0f6d782e736d"
	"7470746c732e7465737430820122300d06092a864886f70d0101010500038201"
	"0f003082010a0282010100f0ad71da68bf53aa6051ea7e215f456900ac27e568"
	"4ef5e2161435518a5bec27e01a7f78fa2ae8173091a2dceb5d62de7e17d20291"
	"9cee1847e0b4ac2ba550c2a338e228dafa440199113ec8f336cec69e9a887be3"
	"92197002e0d640dd44738657e3251fe0dcdc323202fb31de2518f3bf5dc4e98e"
	"35c547e9cc9a2e20fd20f4d21671a2e7e5db05478216c7966fea041f1a8903d5"
	"4d4ddd8facc3a8f9ab68da43ec669a439d3c752593e9316e10e30aa52a937384"
	"ea751f5211402808fa283a69f2ba89f930fc8122692612fb6f53d16a17adebb9"
	"867090c05265f4027a6e39c7217fefe8d6ae5658f04645a9bb8e20071a7ce480"
	"fb8bc6298bfc76075ccb3d0203010001a3819230818f301d0603551d0e041604"
	"14874d0c419b1f528550bb13bafddb99f2f61c8300301f0603551d2304183016"
	"8014874d0c419b1f528550bb13bafddb99f2f61c8300300f0603551d130101ff"
	"040530030101ff303c0603551d1104353033820f6d782e736d7470746c732e74"
	"65737482106d78312e736d7470746c732e74657374820e2a2e736d7470746c73"
	"2e74657374300d06092a864886f70d01010b050003820101000142ddcaf8c1f6"
	"450ce1e556f7b8c4737d54065a004b88901f61c668d4294e5059cd16b38b5305"
	"8374971c480f6e8b5daf7f22237b50246485896679b6ce171d70373b483b90ae"
	"26ac97e65739beca4470feafbc53fd279adf9cd469c46ae789941853a6c520b8"
	"c187c385d40e55d5bc38fcb58aa21d205572dadd515064cbd5f7a5a76048bf1e"
	"f1c1f497623044f74d1ece4106df0f353b6920170ead1cd45252874bd5299f5f"
	"9144a54ae448730fbcabdc313358836c6f723228fffd1f634eff2134ca97f736"
	"a598373f474aec5b7c7dca303fc3bf3633b5769f87f5ba711f171fc5c7f92a7d"
	"ab63f03837fb52251ea6c271bd215e38ec409da55e3f33fa8a";

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

static struct dns_msg *M;
static uint8_t wire[16384];

#define C "10.0.0.1"
#define C2 "10.0.0.2"
#define R "10.0.0.53"
#define S "192.0.2.25"
#define T 1000.0

/* A response from R to client at ts, made of presentation-format RRs. */
static void answer(struct pdns *t, const char *client, double ts, const char *qname,
		   ldns_rr_type qt, int rcode, int ad, const char *const *rrs)
{
	struct msgspec s;
	struct pdns_addr src = addr(R), dst = addr(client);
	size_t n, i;
	memset(&s, 0, sizeof s);
	s.qname = qname;
	s.qtype = qt;
	s.response = 1;
	s.rcode = rcode;
	s.ra = 1;
	s.ad = ad;
	for (i = 0; rrs && rrs[i] && i < 47; i++)
		s.answer[i] = rrs[i];
	n = ldns_build(&s, wire, sizeof wire);
	if (!CHECK(n > 0 && dns_parse(wire, n, M, NULL) == DNS_OK))
		return;
	pdns_add_dns(t, M, &src, &dst, ts);
}

#define RRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void mx(struct pdns *t, const char *client, double ts, const char *domain, const char *host,
	       int ttl)
{
	char rr[600], q[300];
	snprintf(q, sizeof q, "%s.", domain);
	snprintf(rr, sizeof rr, "%s. %d IN MX 10 %s.", domain, ttl, host);
	answer(t, client, ts, q, LDNS_RR_TYPE_MX, 0, 0, RRS(rr));
}

static void a(struct pdns *t, const char *client, double ts, const char *host, const char *ip,
	      int ttl)
{
	char rr[600], q[300];
	snprintf(q, sizeof q, "%s.", host);
	snprintf(rr, sizeof rr, "%s. %d IN A %s", host, ttl, ip);
	answer(t, client, ts, q, LDNS_RR_TYPE_A, 0, 0, RRS(rr));
}

/* A query from client to R. */
static void ask(struct pdns *t, const char *client, double ts, const char *qname, ldns_rr_type qt)
{
	struct msgspec s;
	struct pdns_addr src = addr(client), dst = addr(R);
	size_t n;
	memset(&s, 0, sizeof s);
	s.qname = qname;
	s.qtype = qt;
	n = ldns_build(&s, wire, sizeof wire);
	if (CHECK(n > 0 && dns_parse(wire, n, M, NULL) == DNS_OK))
		pdns_add_dns(t, M, &src, &dst, ts);
}

static void https(struct pdns *t, const char *client, double ts, const char *sni)
{
	struct pdns_addr c = addr(client);
	pdns_add_https(t, &c, sni, ts);
}

/* The columns of a session as one line, its record built at now. */
static const char *columns_at(struct pdns *t, const char *client, const char *server, double ts,
			      double now)
{
	static char out[1024];
	struct pdns_session s;
	struct pdns_addr c = addr(client), srv = addr(server);
	pdns_session(t, &srv, &c, ts, now, &s);
	snprintf(out, sizeof out, "mx=%s/%s sts=%d%s%s dane=%s rpt=%d look_sts=%d look_tlsa=%d fetch=%d",
		 s.mx_domain, s.mx_host, s.domain_mta_sts, s.sts_id[0] ? " id=" : "", s.sts_id,
		 pdns_dane_name(s.domain_dane) ? pdns_dane_name(s.domain_dane) : "NULL",
		 s.domain_tlsrpt, s.sender_looked_up_mta_sts, s.sender_looked_up_tlsa,
		 s.sender_fetched_policy);
	return out;
}

/* ... built at its start. */
static const char *columns(struct pdns *t, const char *client, const char *server, double ts)
{
	return columns_at(t, client, server, ts, ts);
}

static struct pdns *table(void)
{
	struct pdns *t = pdns_new(NULL);
	CHECK(t != NULL);
	pdns_expire(t, 0); /* the watch starts at 0 */
	return t;
}

#define NONE_ALL "mx=/ sts=-1 dane=NULL rpt=-1 look_sts=-1 look_tlsa=-1 fetch=-1"

/* A sender's whole delivery: policy lookups, MX, address, TLSA. */
static void delivery(struct pdns *t, const char *client, double ts)
{
	answer(t, client, ts, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 0, 1,
	       RRS("_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=abc\""));
	answer(t, client, ts + 1, "_smtp._tls.example.com.", LDNS_RR_TYPE_TXT, 0, 1,
	       RRS("_smtp._tls.example.com. 600 IN TXT \"v=TLSRPTv1; rua=mailto:r@example.com\""));
	mx(t, client, ts + 2, "example.com", "mx1.example.com", 300);
	a(t, client, ts + 3, "mx1.example.com", S, 300);
	answer(t, client, ts + 4, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA, 0, 0,
	       RRS("_25._tcp.mx1.example.com. 300 IN TLSA 3 1 1 "
		   "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f",
		   "_25._tcp.mx1.example.com. 300 IN RRSIG TLSA 13 5 300 20360101000000 "
		   "20250101000000 1 example.com. AAAA"));
}

static void test_basic(void)
{
	struct pdns *t = table();
	delivery(t, C, T - 10);
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=1 id=abc dane=signed "
				       "rpt=1 look_sts=1 look_tlsa=1 fetch=-1");
	https(t, C, 500, "www.example.org"); /* HTTPS is seen on the link: 0 becomes possible */
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=1 id=abc dane=signed "
				       "rpt=1 look_sts=1 look_tlsa=1 fetch=0");
	https(t, C, T - 5, "MTA-STS.Example.COM");
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=1 id=abc dane=signed "
				       "rpt=1 look_sts=1 look_tlsa=1 fetch=1");
	/* another server, another client: nothing leads there */
	CHECK_STR(columns(t, C, "192.0.2.99", T), "mx=/ sts=-1 dane=NULL rpt=-1 look_sts=-1 "
						  "look_tlsa=-1 fetch=-1");
	CHECK(pdns_link_has_dns(t));
	pdns_free(t);
	pdns_free(NULL);
}

/* No DNS on the link: every column NULL, whatever else was seen. */
static void test_no_dns(void)
{
	struct pdns *t = table();
	https(t, C, T - 5, "mta-sts.example.com");
	CHECK(!pdns_link_has_dns(t));
	CHECK_STR(columns(t, C, S, T), NONE_ALL);
	/* a message of a type not read still shows DNS on the link */
	struct msgspec ptr = {"1.2.0.192.in-addr.arpa.", LDNS_RR_TYPE_PTR, 0, 0, 0, 0, 0, {NULL}, {NULL}};
	struct pdns_addr c = addr(C), r = addr(R);
	size_t n = ldns_build(&ptr, wire, sizeof wire);
	CHECK_INT(dns_parse(wire, n, M, NULL), DNS_ERR_IGNORED);
	pdns_add_dns(t, M, &c, &r, T - 4);
	CHECK(pdns_link_has_dns(t));
	CHECK_STR(columns(t, C, S, T), NONE_ALL); /* and decides nothing */
	pdns_free(t);
}

/* The window: a lookup within [T - 300, T] is 1; earlier or only later is
 * 0 when the table watched the whole window and saw the client's DNS;
 * NULL when it did not watch long enough or never saw the client's DNS. */
static void test_window(void)
{
	struct pdns *t = table();
	mx(t, C, T - 10, "example.com", "mx1.example.com", 3600);
	a(t, C, T - 9, "mx1.example.com", S, 3600);
	ask(t, C, T - 400, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT);
	ask(t, C, T + 5, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA);
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=-1 dane=NULL rpt=-1 "
				       "look_sts=0 look_tlsa=0 fetch=-1");
	ask(t, C, T - 100, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT);
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=-1 dane=NULL rpt=-1 "
				       "look_sts=1 look_tlsa=0 fetch=-1");
	/* C2 reaches S too, but its own DNS never crossed the link */
	CHECK_STR(columns(t, C2, S, T), "mx=example.com/mx1.example.com sts=-1 dane=NULL rpt=-1 "
					"look_sts=-1 look_tlsa=-1 fetch=-1");
	pdns_free(t);

	t = pdns_new(NULL); /* watching from T - 100 only */
	pdns_expire(t, T - 100);
	mx(t, C, T - 10, "example.com", "mx1.example.com", 3600);
	a(t, C, T - 9, "mx1.example.com", S, 3600);
	ask(t, C, T - 8, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA);
	CHECK_STR(columns(t, C, S, T), "mx=example.com/mx1.example.com sts=-1 dane=NULL rpt=-1 "
				       "look_sts=-1 look_tlsa=1 fetch=-1");
	pdns_free(t);
}

/* Which domain: the client's own lookups first, then the latest MX
 * answer; rivals within the tie, or a stale winner with any rival, are
 * ambiguous. */
static void test_ambiguity(void)
{
	struct pdns *t = table();
	struct pdns_stats st;
	mx(t, C, T - 5, "one.example", "mx.shared.example", 3600);
	mx(t, C, T - 4, "two.example", "mx.shared.example", 3600);
	a(t, C, T - 3, "mx.shared.example", S, 3600);
	CHECK_STR(columns(t, C, S, T), "mx=/ sts=-1 dane=NULL rpt=-1 look_sts=-1 look_tlsa=-1 fetch=-1");
	pdns_stats(t, &st);
	CHECK_INT(st.mx_ambiguous, 1);
	pdns_free(t);

	t = table(); /* another client's fresher lookup loses to the session's own */
	mx(t, C, T - 20, "one.example", "mx.shared.example", 3600);
	a(t, C, T - 19, "mx.shared.example", S, 3600);
	mx(t, C2, T - 2, "two.example", "mx.shared.example", 3600);
	a(t, C2, T - 1, "mx.shared.example", S, 3600);
	CHECK(strncmp(columns(t, C, S, T), "mx=one.example/mx.shared.example ", 33) == 0);
	CHECK(strncmp(columns(t, C2, S, T), "mx=two.example/mx.shared.example ", 33) == 0);
	/* a third client, whose DNS is not seen: the latest of anybody's */
	CHECK(strncmp(columns(t, "10.0.0.3", S, T), "mx=two.example/mx.shared.example ", 33) == 0);
	pdns_free(t);

	t = table(); /* the latest wins when the other is older than the tie */
	mx(t, C, T - 100, "one.example", "mx.shared.example", 3600);
	mx(t, C, T - 3, "two.example", "mx.shared.example", 3600);
	a(t, C, T - 2, "mx.shared.example", S, 3600);
	CHECK(strncmp(columns(t, C, S, T), "mx=two.example/mx.shared.example ", 33) == 0);
	/* ... but not when the winner itself is older than `fresh` (60 s) */
	CHECK(strncmp(columns(t, C, S, T + 70), "mx=/ ", 5) == 0);
	pdns_free(t);

	t = table(); /* one domain, two exchanges at S: the host is unknown */
	mx(t, C, T - 5, "one.example", "mxa.one.example", 3600);
	mx(t, C, T - 5, "one.example", "mxb.one.example", 3600);
	a(t, C, T - 4, "mxa.one.example", S, 3600);
	a(t, C, T - 4, "mxb.one.example", S, 3600);
	CHECK(strncmp(columns(t, C, S, T), "mx=one.example/ ", 16) == 0);
	pdns_stats(t, &st);
	CHECK_INT(st.mx_host_ambiguous, 1);
	pdns_free(t);
}

/* TTLs: clamped to [60, 86400]; an answer counts from its packet time. */
static void test_ttl(void)
{
	struct pdns *t = table();
	mx(t, C, 100, "example.com", "mx1.example.com", 300);
	a(t, C, 100, "mx1.example.com", S, 5); /* floored to 60 */
	CHECK(strncmp(columns(t, C, S, 150), "mx=example.com/", 15) == 0);
	CHECK(strncmp(columns(t, C, S, 170), "mx=/ ", 5) == 0);   /* the address expired */
	CHECK(strncmp(columns(t, C, S, 99), "mx=/ ", 5) == 0);    /* not yet seen */
	pdns_free(t);

	t = table();
	mx(t, C, 100, "example.com", "mx1.example.com", 1000000);
	a(t, C, 100, "mx1.example.com", S, 1000000); /* capped to a day */
	pdns_expire(t, 100 + 86400);
	CHECK(strncmp(columns(t, C, S, 100 + 86400), "mx=example.com/", 15) == 0);
	pdns_expire(t, 100 + 86401 + 10);
	CHECK(strncmp(columns(t, C, S, 100 + 86401), "mx=/ ", 5) == 0);
	pdns_free(t);

	/* a refresh after the session does not hide the answer before it */
	t = table();
	mx(t, C, T - 30, "two.example", "mx.shared.example", 3600);
	mx(t, C, T - 1, "one.example", "mx.shared.example", 3600);
	a(t, C, T - 1, "mx.shared.example", S, 3600);
	for (int i = 1; i <= 5; i++)
		mx(t, C, T + 5 * i, "one.example", "mx.shared.example", 3600);
	CHECK(strncmp(columns(t, C, S, T), "mx=one.example/", 15) == 0);
	pdns_free(t);
}

/* Entries go linger (900 s) after their validity; a query later than
 * linger after the session's start is refused, not guessed. */
static void test_linger(void)
{
	struct pdns *t = table();
	struct pdns_stats st;
	delivery(t, C, 100);
	pdns_stats(t, &st);
	CHECK(st.entries >= 7);
	pdns_expire(t, 200);
	CHECK(strncmp(columns_at(t, C, S, 110, 200), "mx=example.com/", 15) == 0); /* at its end */
	pdns_expire(t, 100 + 1100);
	CHECK(strncmp(columns_at(t, C, S, 110, 1000), "mx=example.com/", 15) == 0);
	CHECK_STR(columns_at(t, C, S, 110, 100 + 1100), NONE_ALL); /* too late */
	pdns_stats(t, &st);
	CHECK_INT(st.too_late, 1);
	for (int i = 0; i < 64; i++)
		pdns_expire(t, 100 + 86400 + 1000); /* past every validity and linger */
	pdns_stats(t, &st);
	CHECK_INT(st.entries, 0);
	CHECK(st.expired >= 7);
	CHECK_INT(st.evicted, 0);
	pdns_free(t);
}

/* CNAMEs inside one answer (named after the question) and across answers
 * (an authority's CNAME, then the target's address). */
static void test_cname(void)
{
	struct pdns *t = table();
	mx(t, C, T - 5, "example.com", "mx.alias.example", 3600);
	answer(t, C, T - 4, "mx.alias.example.", LDNS_RR_TYPE_A, 0, 0,
	       RRS("mx.alias.example. 300 IN CNAME real.host.example.",
		   "real.host.example. 300 IN A " S));
	CHECK(strncmp(columns(t, C, S, T), "mx=example.com/mx.alias.example ", 32) == 0);
	pdns_free(t);

	t = table();
	mx(t, C, T - 5, "example.com", "mx.alias.example", 3600);
	answer(t, C, T - 4, "mx.alias.example.", LDNS_RR_TYPE_A, 0, 0,
	       RRS("mx.alias.example. 300 IN CNAME real.host.example."));
	a(t, C, T - 3, "real.host.example", S, 300);
	CHECK(strncmp(columns(t, C, S, T), "mx=example.com/mx.alias.example ", 32) == 0);
	pdns_free(t);
}

/* The policy columns from negative answers, and the implicit MX. */
static void test_policies(void)
{
	struct pdns *t = table();
	answer(t, C, T - 5, "example.com.", LDNS_RR_TYPE_MX, 0, 0, NULL); /* NODATA */
	a(t, C, T - 4, "example.com", S, 300);
	answer(t, C, T - 3, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 3, 0, NULL);
	answer(t, C, T - 3, "_smtp._tls.example.com.", LDNS_RR_TYPE_TXT, 0, 0,
	       RRS("_smtp._tls.example.com. 300 IN TXT \"v=spf1 -all\""));
	answer(t, C, T - 2, "_25._tcp.example.com.", LDNS_RR_TYPE_TLSA, 3, 1, NULL);
	CHECK_STR(columns(t, C, S, T), "mx=example.com/example.com sts=0 dane=none rpt=0 "
				       "look_sts=1 look_tlsa=1 fetch=-1");
	/* a TLSA answer without RRSIG but with AD from a validating resolver */
	answer(t, C, T - 1, "_25._tcp.example.com.", LDNS_RR_TYPE_TLSA, 0, 1,
	       RRS("_25._tcp.example.com. 300 IN TLSA 3 1 1 "
		   "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f"));
	CHECK(strstr(columns(t, C, S, T), "dane=signed") != NULL);
	answer(t, C, T - 0.5, "_25._tcp.example.com.", LDNS_RR_TYPE_TLSA, 0, 0,
	       RRS("_25._tcp.example.com. 300 IN TLSA 3 1 1 "
		   "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f"));
	CHECK(strstr(columns(t, C, S, T), "dane=unsigned") != NULL); /* the latest */
	answer(t, C, T - 0.5, "_25._tcp.example.com.", LDNS_RR_TYPE_TLSA, 3, 1, NULL);
	/* two different answers at the same moment: which is the latest? */
	CHECK(strstr(columns(t, C, S, T), "dane=NULL") != NULL);
	answer(t, C, T + 10, "_25._tcp.example.com.", LDNS_RR_TYPE_TLSA, 0, 0,
	       RRS("_25._tcp.example.com. 300 IN TLSA 3 1 1 "
		   "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f"));
	CHECK(strstr(columns(t, C, S, T + 20), "dane=unsigned") != NULL);
	pdns_free(t);
}

/* A session is judged by what was seen before it, however late it is
 * asked: answers after its start change nothing, and a policy answer that
 * changed since does not hide the one before. */
static void test_as_of(void)
{
	struct pdns *t = table();
	const char *before;
	mx(t, C, T - 5, "example.com", "mx1.example.com", 3600);
	a(t, C, T - 5, "mx1.example.com", S, 3600);
	answer(t, C, T - 4, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 3, 1, NULL);
	before = "mx=example.com/mx1.example.com sts=0 dane=NULL rpt=-1 look_sts=1 look_tlsa=0 fetch=-1";
	CHECK_STR(columns(t, C, S, T), before);
	answer(t, C, T + 30, "_mta-sts.example.com.", LDNS_RR_TYPE_TXT, 0, 1,
	       RRS("_mta-sts.example.com. 600 IN TXT \"v=STSv1; id=later\""));
	answer(t, C, T + 31, "_25._tcp.mx1.example.com.", LDNS_RR_TYPE_TLSA, 0, 1,
	       RRS("_25._tcp.mx1.example.com. 300 IN TLSA 3 1 1 " "8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f"));
	CHECK_STR(columns_at(t, C, S, T, T + 40), before);
	CHECK(strstr(columns(t, C, S, T + 40), "sts=1 id=later dane=signed") != NULL);
	mx(t, C, T + 32, "other.example", "mx1.example.com", 3600);
	CHECK_STR(columns_at(t, C, S, T, T + 40), before);
	/* the client's first DNS after the start: no 0 before it */
	CHECK_STR(columns(t, C2, S, T), "mx=example.com/mx1.example.com sts=0 dane=NULL rpt=-1 "
					"look_sts=-1 look_tlsa=-1 fetch=-1");
	ask(t, C2, T + 50, "example.com.", LDNS_RR_TYPE_MX);
	CHECK_STR(columns_at(t, C2, S, T, T + 60), "mx=example.com/mx1.example.com sts=0 dane=NULL "
						    "rpt=-1 look_sts=-1 look_tlsa=-1 fetch=-1");
	/* HTTPS first seen after the start: no 0 for the fetch yet */
	https(t, C, T + 1, "www.example.org");
	CHECK(strstr(columns_at(t, C, S, T, T + 60), "fetch=-1") != NULL);
	CHECK(strstr(columns(t, C, S, T + 60), "fetch=0") != NULL);
	/* a hello whose SNI could not be read may have been the fetch */
	https(t, C, T + 100, NULL);
	CHECK(strstr(columns(t, C, S, T + 120), "fetch=-1") != NULL);
	pdns_free(t);
}

/* Sweeping waits for the slowest clock: a thread behind the feeder still
 * finds its sessions' answers. */
static void test_clocks(void)
{
	struct pdns *t = table();
	struct pdns_stats st;
	int slow = pdns_clock_new(t), idle = pdns_clock_new(t);
	CHECK(slow >= 0 && idle >= 0);
	delivery(t, C, 100);
	pdns_clock_set(t, slow, 110);
	for (int i = 0; i < 2 * PDNS_SWEEP_CALLS; i++)
		pdns_expire(t, 100 + 86400 * 2);
	pdns_stats(t, &st);
	CHECK(st.entries >= 7);
	CHECK(strncmp(columns_at(t, C, S, 106, 120), "mx=example.com/", 15) == 0);
	pdns_clock_set(t, slow, PDNS_CAUGHT_UP);
	for (int i = 0; i < 2 * PDNS_SWEEP_CALLS; i++)
		pdns_expire(t, 100 + 86400 * 2);
	pdns_stats(t, &st);
	CHECK_INT(st.entries, 0);
	pdns_free(t);
}

/* ---- caps and eviction ------------------------------------------------------------ */

/* An answer added straight as a parsed message: fast enough for a
 * million. MX: domain dN.example -> NAMEN.example; ADDR: NAMEN.example. */
static void add_fact(struct pdns *t, enum dns_fact_kind kind, const char *name, uint32_t n,
		     double ts)
{
	struct pdns_addr r = addr(R), c = addr(C);
	struct dns_fact *f = &M->facts[0];
	memset(M, 0, offsetof(struct dns_msg, facts));
	memset(f, 0, sizeof *f);
	M->response = 1;
	M->n_facts = 1;
	M->qkind = kind == DNS_FACT_ADDR ? DNS_Q_ADDR : kind == DNS_FACT_MX ? DNS_Q_MX : DNS_Q_STS;
	f->kind = kind;
	f->ttl = 3600;
	snprintf(f->name, sizeof f->name, "%s%u.example", name, n);
	if (kind == DNS_FACT_MX) {
		strcpy(f->target, f->name);
		snprintf(f->name, sizeof f->name, "d%u.example", n);
	}
	f->family = 4;
	memcpy(f->addr, &n, 4);
	f->addr[0] = 10;
	strcpy(M->subject, f->name);
	pdns_add_dns(t, M, &r, &c, ts);
}

/* The bytes never exceed the cap; the least recently used goes first, so
 * a relation kept fresh survives a flood. */
static void test_cap_lru(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	int over = 0;
	pdns_limits_default(&lim);
	lim.max_bytes = 96 * 1024;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	for (uint32_t i = 0; i < 5000; i++) {
		if (i % 50 == 0) {
			mx(t, C, T - 5, "example.com", "mx1.example.com", 3600);
			a(t, C, T - 5, "mx1.example.com", S, 3600);
		}
		add_fact(t, DNS_FACT_STS, "flood", i, T - 4); /* policies leave no mark */
		pdns_stats(t, &st);
		over |= st.bytes > lim.max_bytes;
	}
	CHECK(!over);
	CHECK(st.bytes_peak <= lim.max_bytes);
	CHECK(st.evicted > 4000);
	CHECK(st.entries < 1000);
	CHECK(strncmp(columns(t, C, S, T), "mx=example.com/mx1.example.com ", 31) == 0);
	pdns_free(t);
}

/* An evicted rival makes the answer uncertain (NULL), not the survivor. */
static void test_eviction_mark(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	pdns_limits_default(&lim);
	lim.max_bytes = 64 * 1024;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	mx(t, C, T - 10, "two.example", "mx2.example", 3600);
	a(t, C, T - 10, "mx2.example", S, 3600);
	for (uint32_t i = 0; i < 3000; i++) {
		if (i % 20 == 0) {
			mx(t, C, T - 9, "one.example", "mx1.example", 3600);
			a(t, C, T - 9, "mx1.example", S, 3600);
		}
		add_fact(t, DNS_FACT_STS, "flood", i, T - 8);
	}
	CHECK(strncmp(columns(t, C, S, T), "mx=/ ", 5) == 0);
	pdns_stats(t, &st);
	CHECK_INT(st.mx_uncertain, 1);
	CHECK_INT(st.mx_found, 0);
	pdns_free(t);
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A million distinct domains, each with its MX host and address: the
 * counted bytes stay under the cap, and so does the process's growth (not
 * under ASan, whose redzones and quarantine are not the table's). */
static void test_million(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	long before = rss_kib(), after;
	int over = 0;
	pdns_limits_default(&lim);
	lim.max_bytes = 16u << 20;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	for (uint32_t i = 0; i < 1000000; i++) {
		add_fact(t, DNS_FACT_MX, "host-with-a-longish-name-", i, 10 + i / 1000.0);
		add_fact(t, DNS_FACT_ADDR, "host-with-a-longish-name-", i, 10 + i / 1000.0);
		if (i % 10000 == 0) {
			pdns_stats(t, &st);
			over |= st.bytes > lim.max_bytes;
		}
	}
	pdns_stats(t, &st);
	after = rss_kib();
	CHECK(!over);
	CHECK(st.bytes_peak <= lim.max_bytes);
	CHECK(st.bytes > lim.max_bytes / 2); /* it did fill up */
	CHECK_INT(st.evicted + st.entries, 2000000 + 1); /* + the client's mail DNS entry */
	CHECK_INT(st.not_mail, 0);
	printf("million: %llu entries, %llu bytes counted, %llu evicted, RSS +%ld KiB\n",
	       (unsigned long long)st.entries, (unsigned long long)st.bytes,
	       (unsigned long long)st.evicted, after - before);
#ifndef UNDER_ASAN
	CHECK(after - before < (long)(lim.max_bytes / 1024) * 3 / 2 + 8192);
#endif
	pdns_free(t);
}

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

/* Addresses of hosts that are not MX exchanges stay out of the table, and
 * clients that only resolve web names do not count as watched. */
static void test_not_mail(void)
{
	struct pdns *t = table();
	struct pdns_stats st;
	a(t, C, T - 5, "www.example.org", "198.51.100.1", 300);
	answer(t, C, T - 5, "cdn.example.org.", LDNS_RR_TYPE_A, 0, 0,
	       RRS("cdn.example.org. 300 IN CNAME edge.example.net.", "edge.example.net. 300 IN A 198.51.100.2"));
	a(t, C, T - 4, "mx1.example.com", S, 300); /* before its MX answer: not yet a mail host */
	mx(t, C2, T - 3, "example.com", "mx1.example.com", 300);
	pdns_stats(t, &st);
	CHECK_INT(st.not_mail, 4);
	CHECK_INT(st.entries, 2); /* C2's MX answer and C2's mail DNS */
	CHECK_STR(columns(t, C, S, T), NONE_ALL);
	pdns_free(t);
}

int main(void)
{
	M = malloc(sizeof *M);
	test_digests();
	test_basic();
	test_no_dns();
	test_window();
	test_ambiguity();
	test_ttl();
	test_linger();
	test_cname();
	test_policies();
	test_as_of();
	test_clocks();
	test_tlsa_match();
	test_recorded();
	test_not_mail();
	test_cap_lru();
	test_eviction_mark();
	test_million();
	CHECK(pdns_dane_name(PDNS_DANE_UNKNOWN) == NULL);
	free(M);
	return check_done("pdns");
}
