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
