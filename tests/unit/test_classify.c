/* Unit tests for dissect/classify.c: the decision that keeps a connection
 * on a port nobody configured (--classify), from its bytes' evidence
 * (session.c) and nDPI's verdict; and nDPI's own verdict on packets built
 * here, so that the case nDPI misses is shown to be one. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../../dissect/classify.h"
#include "../../dissect/session.h"
#include "check.h"

static void test_decide(void)
{
	static const struct {
		enum classify_evidence bytes;
		enum classify_verdict ndpi, want;
	} table[] = {
		/* the bytes say SMTP: kept whatever nDPI says */
		{CLASSIFY_BYTES_SMTP, CLASSIFY_PENDING, CLASSIFY_SMTP},
		{CLASSIFY_BYTES_SMTP, CLASSIFY_OTHER, CLASSIFY_SMTP},
		{CLASSIFY_BYTES_SMTP, CLASSIFY_SMTP, CLASSIFY_SMTP},
		/* the bytes say not SMTP: dropped whatever nDPI says */
		{CLASSIFY_BYTES_OTHER, CLASSIFY_PENDING, CLASSIFY_OTHER},
		{CLASSIFY_BYTES_OTHER, CLASSIFY_SMTP, CLASSIFY_OTHER},
		{CLASSIFY_BYTES_OTHER, CLASSIFY_SMTPS, CLASSIFY_OTHER},
		/* TLS from the first byte: SMTP only if nDPI says so */
		{CLASSIFY_BYTES_TLS, CLASSIFY_PENDING, CLASSIFY_PENDING},
		{CLASSIFY_BYTES_TLS, CLASSIFY_SMTPS, CLASSIFY_SMTPS},
		{CLASSIFY_BYTES_TLS, CLASSIFY_SMTP, CLASSIFY_SMTPS},
		{CLASSIFY_BYTES_TLS, CLASSIFY_OTHER, CLASSIFY_OTHER},
		/* nothing decided by the bytes: nDPI's answer */
		{CLASSIFY_BYTES_UNDECIDED, CLASSIFY_PENDING, CLASSIFY_PENDING},
		{CLASSIFY_BYTES_UNDECIDED, CLASSIFY_SMTP, CLASSIFY_SMTP},
		{CLASSIFY_BYTES_UNDECIDED, CLASSIFY_SMTPS, CLASSIFY_SMTPS},
		{CLASSIFY_BYTES_UNDECIDED, CLASSIFY_OTHER, CLASSIFY_OTHER},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		enum classify_verdict got = classify_decide(table[i].bytes, table[i].ndpi);
		if (!CHECK(got == table[i].want))
			fprintf(stderr, "     row %zu: got %d, want %d\n", i, got, table[i].want);
	}
}

/* An IPv4/TCP packet 10.0.0.1:40000 <-> 10.0.0.2:2525 carrying payload. */
static size_t build_packet(uint8_t *p, int to_server, uint32_t seq, uint32_t ack,
			   const char *payload)
{
	size_t n = strlen(payload), len = 20 + 20 + n;
	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	p[8] = 64, p[9] = 6;
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	memcpy(p + 12, to_server ? a : b, 4);
	memcpy(p + 16, to_server ? b : a, 4);
	uint16_t sport = htons(to_server ? 40000 : 2525), dport = htons(to_server ? 2525 : 40000);
	uint32_t s = htonl(seq), k = htonl(ack);
	memcpy(p + 20, &sport, 2);
	memcpy(p + 22, &dport, 2);
	memcpy(p + 24, &s, 4);
	memcpy(p + 28, &k, 4);
	p[32] = 0x50, p[33] = 0x18; /* PSH, ACK */
	p[34] = 0xff, p[35] = 0xff;
	memcpy(p + 40, payload, n);
	return len;
}

/* nDPI's verdict on a dialogue, and the session's evidence from it. */
static void run_dialogue(const char *const *lines, size_t n, enum classify_verdict *ndpi,
			 enum classify_evidence *bytes)
{
	struct classifier *c = classifier_new();
	struct classifier_flow *f = classifier_flow_new();
	struct sess *s = sess_new(SESS_PORT_SMTP, 0);
	uint32_t seq[2] = {1000, 5000};
	uint8_t pkt[1500];
	for (size_t i = 0; i < n; i++) {
		int to_server = lines[i][0] == 'C';
		const char *text = lines[i] + 2;
		size_t len = build_packet(pkt, to_server, seq[!to_server], seq[to_server], text);
		classifier_packet(c, f, pkt, len, 1, 1.0 + (double)i / 10);
		sess_data(s, to_server ? DIR_C2S : DIR_S2C, (const uint8_t *)text, strlen(text));
		seq[!to_server] += (uint32_t)strlen(text);
	}
	*ndpi = classifier_finish(c, f);
	*bytes = sess_evidence(s);
	sess_free(s);
	classifier_flow_free(f);
	classifier_free(c);
}

static void test_ndpi(void)
{
	enum classify_verdict ndpi;
	enum classify_evidence bytes;

	/* nDPI 4.2 wants three distinct SMTP codes or commands: a greeting,
	 * EHLO and a 250 are enough */
	static const char *const whole[] = {
		"S 220 mx.example.org ESMTP\r\n", "C EHLO client.example.net\r\n",
		"S 250-mx.example.org\r\n250 PIPELINING\r\n", "C QUIT\r\n", "S 221 bye\r\n",
	};
	run_dialogue(whole, 5, &ndpi, &bytes);
	CHECK_INT(ndpi, CLASSIFY_SMTP);
	CHECK_INT(bytes, CLASSIFY_BYTES_SMTP);
	CHECK_INT(classify_decide(bytes, ndpi), CLASSIFY_SMTP);

	/* A server that turns the client away at EHLO (a 421, greylisting):
	 * two of nDPI's marks, so nDPI does not call it SMTP; its own bytes do. */
	static const char *const turned_away[] = {
		"S 220 mx.example.org ESMTP\r\n", "C EHLO client.example.net\r\n",
		"S 421 4.7.0 mx.example.org Try again later, closing connection.\r\n",
	};
	run_dialogue(turned_away, 3, &ndpi, &bytes);
	CHECK(ndpi != CLASSIFY_SMTP && ndpi != CLASSIFY_SMTPS);
	CHECK_INT(bytes, CLASSIFY_BYTES_SMTP);
	CHECK_INT(classify_decide(bytes, ndpi), CLASSIFY_SMTP);

	static const char *const pop3[] = {
		"S +OK POP3 server ready\r\n", "C CAPA\r\n", "S +OK\r\nSTLS\r\n.\r\n",
	};
	run_dialogue(pop3, 3, &ndpi, &bytes);
	CHECK_INT(bytes, CLASSIFY_BYTES_OTHER);
	CHECK_INT(classify_decide(bytes, ndpi), CLASSIFY_OTHER);
}

int main(void)
{
	test_decide();
	test_ndpi();
	return check_done("classify");
}
