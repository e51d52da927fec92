#include "build.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

/* Dotted quad without printf (inet_ntop formats through sprintf). */
static void format_ipv4(char *out, const uint8_t *a)
{
	char *o = out;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i < 3 ? '.' : '\0';
	}
}

static void format_addr(char *out, int family, const uint8_t *a)
{
	if (family == 4)
		format_ipv4(out, a);
	else if (!inet_ntop(AF_INET6, a, out, REC_ADDR_MAX))
		out[0] = '\0';
}

/* Addresses, and address literals the peers wrote (EHLO [192.0.2.1], an
 * IP as SNI, greeting name or certificate name), replaced by their
 * anonymised forms. */
static void anonymize(struct anon *a, struct session_record *r, const struct flow_info *fi)
{
	uint8_t client[16], server[16];
	memcpy(client, fi->client, 16);
	memcpy(server, fi->server, 16);
	anon_addr(a, fi->family, client);
	anon_addr(a, fi->family, server);
	format_addr(r->client_ip, fi->family, client);
	format_addr(r->server_ip, fi->family, server);
	anon_literal(a, r->ehlo_name, sizeof r->ehlo_name);
	anon_literal(a, r->server_name, sizeof r->server_name);
	anon_literal(a, r->sni, sizeof r->sni);
	anon_literal(a, r->cert.subject_cn, sizeof r->cert.subject_cn);
	anon_list(a, r->cert.sans, sizeof r->cert.sans);
}

void build_record(struct session_record *r, const struct sess *s, const struct flow_info *fi,
		  enum end_reason why, struct anon *anon)
{
	session_record_init(r);
	r->client_port = fi->client_port;
	r->server_port = fi->server_port;
	r->ts_start = fi->first_ts;
	r->ts_end = fi->last_ts;
	r->packets = fi->packets;
	r->bytes_c2s = fi->payload[DIR_C2S];
	r->bytes_s2c = fi->payload[DIR_S2C];
	r->end_reason = why;
	r->anomalies = fi->anomalies;
	if (fi->midstream)
		r->anomalies |= ANOM_MIDSTREAM;
	if (fi->payload[DIR_S2C] == 0)
		r->anomalies |= ANOM_CLIENT_ONLY;
	if (fi->payload[DIR_C2S] == 0)
		r->anomalies |= ANOM_SERVER_ONLY;
	sess_result(s, r);
	if (anon) {
		anonymize(anon, r, fi);
	} else {
		format_addr(r->client_ip, fi->family, fi->client);
		format_addr(r->server_ip, fi->family, fi->server);
	}
}

/* ---- the DNS columns ------------------------------------------------------ */

_Static_assert((int)PDNS_DANE_NONE == (int)DANE_NONE && (int)PDNS_DANE_UNSIGNED == (int)DANE_UNSIGNED &&
		       (int)PDNS_DANE_SIGNED == (int)DANE_SIGNED && (int)PDNS_DANE_UNKNOWN == -1,
	       "the table's DANE answers are the record's codes");

int build_wants_dns(const struct flow_info *fi)
{
	return fi->server_port == BUILD_MX_PORT;
}

/* policy_plaintext: mail went in clear to a domain seen to publish a
 * policy (MTA-STS, or DANE: TLSA signed; an unsigned TLSA is no DANE
 * policy, RFC 7672 2.2). 0 when no mail went in clear, or the domain was
 * seen to publish neither; NULL without a recipient domain, or when what
 * decides it was not seen. */
static int policy_plaintext(const struct session_record *r)
{
	int publishes = r->domain_mta_sts == 1 || r->domain_dane == DANE_SIGNED;
	int neither = r->domain_mta_sts == 0 &&
		      (r->domain_dane == DANE_NONE || r->domain_dane == DANE_UNSIGNED);
	if (!r->mx_domain[0])
		return -1;
	if (r->plaintext_transactions == 0 || neither)
		return 0;
	if (r->plaintext_transactions > 0 && publishes)
		return 1;
	return -1;
}

/* tlsa_match: where TLS <= 1.2 showed the certificates. */
static int tlsa_match(const struct session_record *r, const struct sess *s, struct pdns *t)
{
	const struct x509_tlsa *certs;
	int complete;
	size_t n = sess_tlsa(s, &certs, &complete);
	if (n == 0 || r->domain_dane < DANE_UNSIGNED || !r->mx_host[0])
		return -1;
	return pdns_tlsa_match(t, r->mx_host, r->ts_start, certs, n, complete);
}

void build_dns(struct session_record *r, const struct sess *s, const struct flow_info *fi,
	       struct pdns *t, double now)
{
	struct pdns_session ps;
	struct pdns_addr server = pdns_addr_make(fi->family, fi->server);
	struct pdns_addr client = pdns_addr_make(fi->family, fi->client);
	if (!build_wants_dns(fi))
		return;
	pdns_session(t, &server, &client, fi->first_ts, now, &ps);
	memcpy(r->mx_domain, ps.mx_domain, sizeof r->mx_domain);
	memcpy(r->mx_host, ps.mx_host, sizeof r->mx_host);
	r->domain_mta_sts = ps.domain_mta_sts;
	r->domain_dane = ps.domain_dane;
	r->domain_tlsrpt = ps.domain_tlsrpt;
	r->sender_looked_up_mta_sts = ps.sender_looked_up_mta_sts;
	r->sender_looked_up_tlsa = ps.sender_looked_up_tlsa;
	r->sender_fetched_policy = ps.sender_fetched_policy;
	r->tlsa_match = tlsa_match(r, s, t);
	r->policy_plaintext = policy_plaintext(r);
	if (r->domain_dane >= DANE_UNSIGNED)
		pdns_tlsa_text(t, r->mx_host, r->ts_start, r->tlsa_records, sizeof r->tlsa_records);
}
