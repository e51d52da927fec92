/* libFuzzer target: DNS messages (ldns and the glue of dns.c), DNS over
 * TCP (dns_stream) and the passive-DNS table with its queries (pdns.c).
 *
 * Input: records of [ctl u8][len u16 big-endian][len bytes].
 *   ctl bit 0: the direction (0 client to resolver, 1 resolver to client);
 *   bit 1: the bytes also go to the TCP stream of that direction;
 *   bit 2: the bytes are a ClientHello's SNI on port 443 instead;
 *   bits 3-4: which of four clients; bits 5-7: seconds to advance the
 *   clock (0-5), 6 meaning 30 seconds back (answers out of order), 7
 *   meaning 1000 forward (past TTLs and linger).
 * Every message is copied into a buffer of exactly its size, so ASan sees
 * a one-byte over-read. A small table is made per input: its caps and
 * evictions are exercised too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/dns.h"
#include "../dissect/pdns.h"
#include "../dissect/x509.h"

static struct dns_msg msg;

static struct pdns_addr make_addr(unsigned i)
{
	struct pdns_addr a;
	memset(&a, 0, sizeof a);
	a.family = i == 3 ? 6 : 4;
	a.a[0] = 10;
	a.a[3] = (uint8_t)(i + 1);
	return a;
}

static void add_message(struct pdns *t, const uint8_t *p, size_t n, unsigned client, int dir,
			double ts)
{
	struct pdns_addr c = make_addr(client), r = make_addr(7);
	if (dns_parse(p, n, &msg, NULL) == DNS_OK)
		pdns_add_dns(t, &msg, dir ? &r : &c, dir ? &c : &r, ts);
}

static void add_stream(struct pdns *t, struct dns_stream *s, const uint8_t *p, size_t n,
		       unsigned client, int dir, double ts)
{
	size_t off = 0, used, len;
	const uint8_t *m;
	while (off < n) {
		int st = dns_stream_feed(s, p + off, n - off, &used, &m, &len);
		if (used > n - off)
			abort();
		off += used;
		if (st == DNS_STREAM_MSG)
			add_message(t, m, len, client, dir, ts);
		else
			break;
	}
}

static void add_sni(struct pdns *t, const uint8_t *p, size_t n, unsigned client, double ts)
{
	struct pdns_addr c = make_addr(client);
	char *sni = malloc(n + 1);
	memcpy(sni, p, n);
	sni[n] = '\0';
	pdns_add_https(t, &c, sni, ts);
	free(sni);
}

/* Every client against every address the table learnt a host for is too
 * much; these few cover the paths. */
static void query(struct pdns *t, double ts)
{
	static const uint8_t server_bytes[][4] = {{192, 0, 2, 25}, {10, 0, 0, 1}, {0, 0, 0, 0}};
	struct x509_tlsa certs[2];
	memset(certs, 0x5a, sizeof certs);
	certs[0].present = certs[1].present = 1;
	for (unsigned c = 0; c < 4; c++) {
		for (size_t s = 0; s < sizeof server_bytes / sizeof server_bytes[0]; s++) {
			struct pdns_addr srv = make_addr(0), cli = make_addr(c);
			struct pdns_session out;
			memcpy(srv.a, server_bytes[s], 4);
			pdns_session(t, &srv, &cli, ts, ts, &out);
			if (out.domain_mta_sts < -1 || out.domain_mta_sts > 1 ||
			    strnlen(out.mx_domain, sizeof out.mx_domain) == sizeof out.mx_domain)
				abort();
			pdns_tlsa_match(t, out.mx_host, ts, certs, 2, (int)c & 1);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pdns_limits lim;
	struct pdns *t;
	struct dns_stream *tcp[2] = {dns_stream_new(512), dns_stream_new(0)};
	double ts = 1000;
	pdns_limits_default(&lim);
	lim.max_bytes = 48 * 1024;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t n = (size_t)data[1] << 8 | data[2];
		unsigned step = ctl >> 5, client = (ctl >> 3) & 3;
		int dir = ctl & 1;
		uint8_t *copy;
		data += 3;
		size -= 3;
		n = n < size ? n : size;
		ts += step == 7 ? 1000 : step == 6 ? -30 : step;
		pdns_expire(t, ts);
		copy = malloc(n ? n : 1); /* exact size: ASan sees over-reads */
		memcpy(copy, data, n);
		if (ctl & 4)
			add_sni(t, copy, n, client, ts);
		else
			add_message(t, copy, n, client, dir, ts);
		if (ctl & 2)
			add_stream(t, tcp[dir], copy, n, client, dir, ts);
		free(copy);
		data += n;
		size -= n;
	}
	query(t, ts);
	query(t, ts - 5);
	pdns_free(t);
	dns_stream_free(tcp[0]);
	dns_stream_free(tcp[1]);
	return 0;
}
