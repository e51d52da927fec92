/* The harness of the dissect/pdns.c and pdns_query.c unit tests
 * (test_pdns.c, test_pdns_caps.c, test_pdns_tlsa.c), header-only: each
 * program includes it once, and its functions are static inline, as each
 * uses a part of them.
 *
 * Answers are built by ldns (dns_build.h) and go through dns_parse(), as
 * the engine will feed them. The client C asks its resolver R; the server
 * S has the address the MX host resolves to. A session's columns are
 * written as one line and compared with the expected line. Each program's
 * main() allocates M. */
#ifndef SMTPTLS_PDNS_CASE_H
#define SMTPTLS_PDNS_CASE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dns_build.h"

static struct dns_msg *M;
static uint8_t wire[16384];

#define C "10.0.0.1"
#define C2 "10.0.0.2"
#define R "10.0.0.53"
#define S "192.0.2.25"
#define T 1000.0

/* A response from R to client at ts, made of presentation-format RRs. */
static inline void answer(struct pdns *t, const char *client, double ts, const char *qname,
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

static inline void mx(struct pdns *t, const char *client, double ts, const char *domain,
		      const char *host, int ttl)
{
	char rr[600], q[300];
	snprintf(q, sizeof q, "%s.", domain);
	snprintf(rr, sizeof rr, "%s. %d IN MX 10 %s.", domain, ttl, host);
	answer(t, client, ts, q, LDNS_RR_TYPE_MX, 0, 0, RRS(rr));
}

static inline void a(struct pdns *t, const char *client, double ts, const char *host,
		     const char *ip, int ttl)
{
	char rr[600], q[300];
	snprintf(q, sizeof q, "%s.", host);
	snprintf(rr, sizeof rr, "%s. %d IN A %s", host, ttl, ip);
	answer(t, client, ts, q, LDNS_RR_TYPE_A, 0, 0, RRS(rr));
}

/* A query from client to R. */
static inline void ask(struct pdns *t, const char *client, double ts, const char *qname,
		       ldns_rr_type qt)
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

static inline void https(struct pdns *t, const char *client, double ts, const char *sni)
{
	struct pdns_addr c = addr(client);
	pdns_add_https(t, &c, sni, ts);
}

/* The columns of a session as one line, its record built at now. */
static inline const char *columns_at(struct pdns *t, const char *client, const char *server,
				     double ts, double now)
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
static inline const char *columns(struct pdns *t, const char *client, const char *server,
				  double ts)
{
	return columns_at(t, client, server, ts, ts);
}

static inline struct pdns *table(void)
{
	struct pdns *t = pdns_new(NULL);
	CHECK(t != NULL);
	pdns_expire(t, 0); /* the watch starts at 0 */
	return t;
}

#endif
