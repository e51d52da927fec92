/* Unit tests for dissect/sni_peek.c: the SNI of port-443 ClientHellos in
 * one segment, in two at every split point, and what goes unread (a third
 * segment, out of order, a slot taken over, a timeout, several records).
 * The hellos are built here, byte by byte, as TLS 1.3 clients send them:
 * a server_name extension, then padding to the size wanted (a hello of a
 * post-quantum key share is ~1.8 kB). */
#include <stdlib.h>
#include <string.h>

#include "../../dissect/sni_peek.h"
#include "check.h"

static uint8_t *put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/* A TLS record holding one ClientHello with SNI name (none if NULL) and
 * padding, the extension that sni sits before or after; its length. */
static size_t hello(uint8_t *out, const char *name, size_t pad, int sni_last)
{
	uint8_t body[20000], *b = body, ext[20000], *e = ext;
	size_t nlen = name ? strlen(name) : 0;
	if (name && !sni_last) {
		e = put16(e, 0), e = put16(e, nlen + 5), e = put16(e, nlen + 3);
		*e++ = 0, e = put16(e, nlen);
		memcpy(e, name, nlen), e += nlen;
	}
	e = put16(e, 21), e = put16(e, pad); /* padding */
	memset(e, 0, pad), e += pad;
	if (name && sni_last) {
		e = put16(e, 0), e = put16(e, nlen + 5), e = put16(e, nlen + 3);
		*e++ = 0, e = put16(e, nlen);
		memcpy(e, name, nlen), e += nlen;
	}
	b = put16(b, 0x0303);
	memset(b, 0x5a, 32), b += 32;
	*b++ = 0;                                  /* session id */
	b = put16(b, 2), b = put16(b, 0x1301);     /* suites */
	*b++ = 1, *b++ = 0;                        /* compression */
	b = put16(b, (size_t)(e - ext));
	memcpy(b, ext, (size_t)(e - ext)), b += e - ext;
	size_t blen = (size_t)(b - body);
	out[0] = 22, out[1] = 3, out[2] = 1;
	put16(out + 3, blen + 4);
	out[5] = 1, out[6] = (uint8_t)(blen >> 16), out[7] = (uint8_t)(blen >> 8), out[8] = (uint8_t)blen;
	memcpy(out + 9, body, blen);
	return blen + 9;
}

static const uint8_t C[4] = {192, 0, 2, 26}, S[4] = {203, 0, 113, 80};

static struct sni_seg seg(const uint8_t *p, size_t len, uint32_t seq, uint16_t sport, double ts)
{
	struct sni_seg s = {4, C, S, sport, 443, seq, p, len, len, ts};
	return s;
}

static int lost_calls;
static double lost_ts;

static void on_lost(void *ctx, uint8_t family, const uint8_t *src, double ts)
{
	(void)ctx;
	CHECK_INT(family, 4);
	CHECK(memcmp(src, C, 4) == 0);
	lost_calls++;
	lost_ts = ts;
}

struct one_case {
	const char *what, *name;
	size_t pad;
	int sni_last;
	const char *want; /* NULL: unread */
};

static const struct one_case one_cases[] = {
	{"small, SNI first", "mta-sts.example.com", 100, 0, "mta-sts.example.com"},
	{"no SNI", NULL, 50, 0, ""},
	{"SNI after the padding", "www.example.org", 300, 1, "www.example.org"},
	{"a byte outside ASCII", "mta-sts.ex\x01mple", 10, 0, "mta-sts.ex\\x01mple"},
};

/* A whole hello in the first segment, with more bytes after it. */
static void test_one_segment(void)
{
	static uint8_t buf[20000];
	char sni[REC_NAME_MAX];
	for (size_t i = 0; i < sizeof one_cases / sizeof one_cases[0]; i++) {
		const struct one_case *c = &one_cases[i];
		struct sni_peek *p = sni_peek_new(on_lost, NULL);
		size_t n = hello(buf, c->name, c->pad, c->sni_last);
		struct sni_seg s = seg(buf, n + 7, 1000, 40000, 1.0); /* 7 more bytes */
		CHECK_INT(sni_peek_segment(p, &s, sni), SNI_PEEK_HELLO);
		CHECK_STR(sni, c->want);
		CHECK_INT(sni_peek_stats(p)->hellos, 1);
		sni_peek_free(p);
	}
}

/* Split at every byte into two in-order segments: read, whatever the
 * split; the SNI may lie in either. */
static void test_two_segments(void)
{
	static uint8_t buf[4000];
	char sni[REC_NAME_MAX];
	int sni_last = 0;
	size_t n = hello(buf, "mta-sts.sts.test", 1700, sni_last);
	struct sni_peek *p = sni_peek_new(on_lost, NULL);
	int bad = 0;
	for (int last = 0; last < 2; last++) {
		n = hello(buf, "mta-sts.sts.test", 1700, last);
		for (size_t cut = 6; cut < n; cut++) {
			uint16_t port = (uint16_t)(20000 + cut);
			struct sni_seg a = seg(buf, cut, 5000, port, 10.0), b = seg(buf + cut, n - cut, 5000 + (uint32_t)cut, port, 10.01);
			int r1 = sni_peek_segment(p, &a, sni);
			int r2 = sni_peek_segment(p, &b, sni);
			bad += r1 != SNI_PEEK_WAIT_MORE || r2 != SNI_PEEK_HELLO ||
			       strcmp(sni, "mta-sts.sts.test") != 0;
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(sni_peek_stats(p)->unread, 0);
	CHECK_INT(sni_peek_stats(p)->two_segments, 2 * (n - 6));
	sni_peek_free(p);
}

/* What goes unread, and that each is reported with its client. */
static void test_unread(void)
{
	static uint8_t buf[4000];
	char sni[REC_NAME_MAX];
	size_t n = hello(buf, "mta-sts.sts.test", 3000, 1);
	struct sni_peek *p = sni_peek_new(on_lost, NULL);
	struct sni_seg a = seg(buf, 1400, 7000, 30001, 20.0);
	struct sni_seg b = seg(buf + 1400, 1000, 8400, 30001, 20.01); /* a third is needed */
	lost_calls = 0;
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_WAIT_MORE);
	CHECK_INT(sni_peek_segment(p, &b, sni), SNI_PEEK_UNREAD);
	/* out of order: the second segment's successor comes first */
	a = seg(buf, 1400, 9000, 30002, 21.0);
	b = seg(buf + 2000, n - 2000, 9000 + 2000, 30002, 21.01);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_WAIT_MORE);
	CHECK_INT(sni_peek_segment(p, &b, sni), SNI_PEEK_UNREAD);
	CHECK_INT(lost_calls, 0); /* reported on their own segment, not twice */
	/* a pure ACK and a retransmission of the first change nothing */
	a = seg(buf, 1400, 11000, 30003, 22.0);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_WAIT_MORE);
	b = seg(buf, 0, 12400, 30003, 22.01);
	CHECK_INT(sni_peek_segment(p, &b, sni), SNI_PEEK_NONE);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_NONE);
	/* too long a wait: given up by time, with the first segment's time */
	sni_peek_expire(p, 22.0 + SNI_PEEK_WAIT + 1);
	CHECK_INT(lost_calls, 1);
	CHECK(lost_ts == 22.0);
	/* a hello cut by the snapshot length cannot wait */
	a = seg(buf, 1400, 13000, 30004, 30.0);
	a.wirelen = 1500;
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_UNREAD);
	/* not a hello: HTTP, an application data record, a ServerHello type */
	static const uint8_t http[] = "GET / HTTP/1.1\r\n", appdata[] = {23, 3, 3, 0, 5, 1, 2, 3, 4, 5};
	uint8_t sh[64];
	memcpy(sh, buf, sizeof sh);
	sh[5] = 2;
	a = seg(http, sizeof http - 1, 1, 30005, 31.0);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_NONE);
	a = seg(appdata, sizeof appdata, 1, 30006, 31.0);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_NONE);
	a = seg(sh, sizeof sh, 1, 30007, 31.0);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_NONE);
	/* the end of the capture: whatever waits is given up */
	a = seg(buf, 1400, 14000, 30008, 40.0);
	CHECK_INT(sni_peek_segment(p, &a, sni), SNI_PEEK_WAIT_MORE);
	sni_peek_expire(p, 1e300);
	CHECK_INT(lost_calls, 2);
	CHECK_INT(sni_peek_stats(p)->unread, 5);
	sni_peek_free(p);
	sni_peek_free(NULL);
}

/* More connections waiting than slots: the older in a slot goes, counted,
 * and the newer is read. */
static void test_slots(void)
{
	static uint8_t buf[4000];
	char sni[REC_NAME_MAX];
	size_t n = hello(buf, "mta-sts.both.test", 2000, 1);
	struct sni_peek *p = sni_peek_new(NULL, NULL);
	int read = 0;
	for (int i = 0; i < 4 * SNI_PEEK_SLOTS; i++) {
		struct sni_seg a = seg(buf, 1000, 100, (uint16_t)(50000 + i), 50.0);
		sni_peek_segment(p, &a, sni);
	}
	for (int i = 0; i < 4 * SNI_PEEK_SLOTS; i++) {
		struct sni_seg b = seg(buf + 1000, n - 1000, 1100, (uint16_t)(50000 + i), 50.1);
		read += sni_peek_segment(p, &b, sni) == SNI_PEEK_HELLO;
	}
	CHECK(read > 0 && read <= SNI_PEEK_SLOTS);
	CHECK_INT(sni_peek_stats(p)->unread + (uint64_t)read, 4 * SNI_PEEK_SLOTS);
	sni_peek_free(p);
}

int main(void)
{
	test_one_segment();
	test_two_segments();
	test_unread();
	test_slots();
	return check_done("sni_peek");
}
