/* Unit tests for dissect/pdns.c and pdns_query.c: the passive-DNS table
 * and the session columns of issue 17 (which domain, its policies, the
 * sender's lookups, the window, TTLs, linger, CNAMEs, the feeders'
 * clocks). The harness is pdns_case.h; caps and eviction are tested in
 * test_pdns_caps.c, the TLSA digests and DANE matching and the recorded
 * nsd/unbound exchange in test_pdns_tlsa.c. */
#include "pdns_case.h"

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
	test_not_mail();
	CHECK(pdns_dane_name(PDNS_DANE_UNKNOWN) == NULL);
	free(M);
	return check_done("pdns");
}
