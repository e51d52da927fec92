/* The reassembler delivers both directions in the order the peers saw
 * them, whatever the capture order: replies captured before their
 * commands wait for them; a direction whose peer is not captured waits
 * REASM_PEER_WAIT, then no more; a budget or the flush lets waiting data
 * out; and a property test on dialogues from two skewed taps. */
#include <stdlib.h>
#include <string.h>

#include "../../capture/decode.h"
#include "../../capture/reasm.h"
#include "../../common/record.h"
#include "check.h"

enum { C = DIR_C2S, S = DIR_S2C };
#define PA (TCP_PSH | TCP_ACK)

static struct reasm_budget big_budget(void)
{
	struct reasm_budget b = {0, 1u << 30, 0};
	return b;
}

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* A log of both directions: a marker at each change of direction. */
struct dlog {
	char s[8192];
	size_t n;
	int last;
};

static void dlog_put(struct dlog *l, int dir, const char *p, size_t len)
{
	if (l->n + len + 2 >= sizeof l->s)
		return;
	if (l->last != dir + 1)
		l->s[l->n++] = dir == C ? '>' : '<';
	l->last = dir + 1;
	memcpy(l->s + l->n, p, len);
	l->n += len;
	l->s[l->n] = '\0';
}

static void dlog_data(void *ctx, int dir, const uint8_t *p, size_t len)
{
	dlog_put(ctx, dir, (const char *)p, len);
}

static void dlog_gap(void *ctx, int dir, uint64_t len)
{
	(void)len;
	dlog_put(ctx, dir, "#", 1);
}

static const struct reasm_sink dlog_sink = {dlog_data, dlog_gap};

/* Replies before their commands (the server's tap ahead): each waits for
 * the client bytes it acknowledges. */
static void test_reply_before_command(void)
{
	struct reasm_budget b = big_budget();
	struct dlog l = {0};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
	reasm_segment(r, S, 500, 101, TCP_SYN | TCP_ACK, NULL, 0, 0, 1.00);
	reasm_segment(r, S, 501, 101, PA, (const uint8_t *)"220\n", 4, 4, 1.01);
	reasm_segment(r, S, 505, 106, PA, (const uint8_t *)"250\n", 4, 4, 1.02);
	reasm_segment(r, S, 509, 111, PA, (const uint8_t *)"354\n", 4, 4, 1.03);
	CHECK_STR(l.s, "<220\n");
	reasm_segment(r, C, 100, 0, TCP_SYN, NULL, 0, 0, 1.05);
	reasm_segment(r, C, 101, 505, PA, (const uint8_t *)"EHLO\n", 5, 5, 1.06);
	CHECK_STR(l.s, "<220\n>EHLO\n<250\n");
	reasm_segment(r, C, 106, 509, PA, (const uint8_t *)"DATA\n", 5, 5, 1.07);
	CHECK_STR(l.s, "<220\n>EHLO\n<250\n>DATA\n<354\n");
	CHECK_INT(reasm_midstream(r), 0);
	CHECK_INT(b.used, 0);
	reasm_free(r);
}

/* The other direction never comes (one tap only): data waits
 * REASM_PEER_WAIT of packet time, then the direction waits no more. */
static void test_peer_missing(void)
{
	struct reasm_budget b = big_budget();
	struct dlog l = {0};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
	reasm_segment(r, C, 100, 0, TCP_SYN, NULL, 0, 0, 1.0);
	reasm_segment(r, C, 101, 5000, PA, (const uint8_t *)"EHLO\n", 5, 5, 1.1);
	reasm_segment(r, C, 106, 5050, PA, (const uint8_t *)"MAIL\n", 5, 5, 1.2);
	CHECK_STR(l.s, "");
	CHECK_INT(b.used, 10);
	reasm_segment(r, C, 111, 5080, TCP_ACK, NULL, 0, 0, 1.1 + REASM_PEER_WAIT + 0.01);
	CHECK_STR(l.s, ">EHLO\nMAIL\n");
	reasm_segment(r, C, 111, 5100, PA, (const uint8_t *)"RCPT\n", 5, 5, 2.2);
	CHECK_STR(l.s, ">EHLO\nMAIL\nRCPT\n");
	CHECK_INT(b.used, 0);
	reasm_free(r);
	/* or the flush lets it out */
	memset(&l, 0, sizeof l);
	r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
	reasm_segment(r, S, 7, 0, TCP_PSH, (const uint8_t *)"250\n", 4, 4, 1.0);
	reasm_segment(r, S, 11, 0, TCP_PSH, (const uint8_t *)"250\n", 4, 4, 1.0);
	CHECK_STR(l.s, "<250\n250\n"); /* no ACK flag: nothing to wait for */
	reasm_segment(r, S, 15, 40, PA, (const uint8_t *)"354\n", 4, 4, 1.1);
	CHECK_STR(l.s, "<250\n250\n");
	reasm_flush(r);
	CHECK_STR(l.s, "<250\n250\n354\n");
	CHECK_INT(reasm_midstream(r), 1);
	reasm_free(r);
	CHECK_INT(b.used, 0);
}

/* Waiting within the per-direction cap; beyond it, out it goes. */
static void test_wait_cap(void)
{
	struct reasm_budget b = big_budget();
	struct dlog l = {0};
	struct reasm *r = reasm_new(&b, 8, &dlog_sink, &l);
	reasm_segment(r, C, 100, 0, TCP_SYN, NULL, 0, 0, 1.0);
	reasm_segment(r, S, 500, 101, TCP_SYN | TCP_ACK, NULL, 0, 0, 1.0);
	reasm_segment(r, C, 101, 600, PA, (const uint8_t *)"abcd", 4, 4, 1.0);
	reasm_segment(r, C, 105, 600, PA, (const uint8_t *)"efgh", 4, 4, 1.0);
	CHECK_STR(l.s, "");
	reasm_segment(r, C, 109, 600, PA, (const uint8_t *)"ijkl", 4, 4, 1.0);
	CHECK_STR(l.s, ">abcdefghijkl");
	CHECK_INT(reasm_stats(r)->anomalies, 0);
	CHECK_INT(b.used, 0);
	reasm_free(r);
}

/* A FIN acknowledged counts as delivered: data after the peer's FIN
 * does not wait. */
static void test_wait_fin(void)
{
	struct reasm_budget b = big_budget();
	struct dlog l = {0};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
	reasm_segment(r, C, 100, 0, TCP_SYN, NULL, 0, 0, 1.0);
	reasm_segment(r, S, 500, 101, TCP_SYN | TCP_ACK, NULL, 0, 0, 1.0);
	reasm_segment(r, S, 501, 101, TCP_FIN | TCP_ACK | TCP_PSH, (const uint8_t *)"bye", 3, 3, 1.0);
	reasm_segment(r, C, 101, 505, PA, (const uint8_t *)"QUIT", 4, 4, 1.0);
	CHECK_STR(l.s, "<bye>QUIT");
	reasm_free(r);
}

/* Skewed taps: a hole the peer acknowledged may be filled late by the
 * other tap's order; it becomes a gap only REASM_PEER_WAIT later. */
static void test_skewed_hole(void)
{
	struct reasm_budget b = big_budget();
	for (int late = 0; late < 2; late++) {
		struct dlog l = {0};
		struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
		reasm_skewed(r);
		reasm_segment(r, C, 100, 0, TCP_SYN, NULL, 0, 0, 1.0);
		reasm_segment(r, S, 500, 101, TCP_SYN | TCP_ACK, NULL, 0, 0, 1.0);
		reasm_segment(r, C, 105, 501, PA, (const uint8_t *)"EF", 2, 2, 1.01);
		reasm_segment(r, S, 501, 107, TCP_ACK, NULL, 0, 0, 1.02);
		CHECK_STR(l.s, "");
		double t = late ? 1.01 + REASM_PEER_WAIT + 0.1 : 1.03;
		reasm_segment(r, S, 501, 107, TCP_ACK, NULL, 0, 0, t);
		reasm_segment(r, C, 101, 501, PA, (const uint8_t *)"ABCD", 4, 4, t);
		CHECK_STR(l.s, late ? ">#EF" : ">ABCDEF");
		CHECK_INT(reasm_stats(r)->anomalies, late ? ANOM_GAP : 0);
		reasm_free(r);
	}
	CHECK_INT(b.used, 0);
}

struct dseg {
	int dir;
	uint32_t seq, ack;
	const char *p;
	size_t len;
	double ts;
};

/* Property: a dialogue where each message answers the last (no
 * pipelining), cut into segments, the client's tap skewed by up to
 * 100 ms either way: it comes out in the dialogue's order. */
static int prop_dialogue(uint64_t seed)
{
	static char msgs[32][40];
	int from[32], nmsg = 2 + (int)(rnd() % 30);
	double t = 0, skew = ((double)(rnd() % 2001) - 1000) / 10000.0;
	struct dseg segs[128];
	size_t nsegs = 0;
	uint32_t next[2] = {1000, 5000};
	char want[4096] = "";
	size_t wn = 0;
	int last = -1;
	for (int m = 0; m < nmsg; m++) {
		from[m] = m == 0 ? S : (int)(rnd() % 2);
		size_t len = 1 + rnd() % 30;
		for (size_t k = 0; k < len; k++)
			msgs[m][k] = (char)('a' + rnd() % 26);
		t += 0.0005 + (double)(rnd() % 200) / 10000.0;
		for (size_t off = 0; off < len;) {
			size_t n = 1 + rnd() % len;
			n = n > len - off ? len - off : n;
			segs[nsegs++] = (struct dseg){from[m], next[from[m]] + (uint32_t)off,
							   next[!from[m]], msgs[m] + off, n,
							   t + (from[m] == C ? skew : 0)};
			off += n;
		}
		if (last != from[m])
			want[wn++] = from[m] == C ? '>' : '<';
		last = from[m];
		memcpy(want + wn, msgs[m], len);
		wn += len;
		next[from[m]] += (uint32_t)len;
	}
	want[wn] = '\0';
	for (size_t i = 1; i < nsegs; i++) /* merge by stamped time, stable */
		for (size_t j = i; j > 0 && segs[j - 1].ts > segs[j].ts; j--) {
			struct dseg x = segs[j];
			segs[j] = segs[j - 1];
			segs[j - 1] = x;
		}
	struct reasm_budget b = big_budget();
	struct dlog l = {0};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &dlog_sink, &l);
	reasm_segment(r, skew < 0 ? C : S, skew < 0 ? 999 : 4999, skew < 0 ? 0 : 1000,
		      skew < 0 ? TCP_SYN : TCP_SYN | TCP_ACK, NULL, 0, 0, 0);
	for (size_t i = 0; i < nsegs; i++)
		reasm_segment(r, segs[i].dir, segs[i].seq, segs[i].ack, PA,
			      (const uint8_t *)segs[i].p, segs[i].len, segs[i].len, segs[i].ts);
	int ok = strcmp(l.s, want) == 0 && b.used == 0;
	if (!ok)
		fprintf(stderr, "     dialogue seed %llu skew %g:\n     got  %s\n     want %s\n",
			(unsigned long long)seed, skew, l.s, want);
	reasm_free(r);
	return ok;
}

static void test_dialogue_property(void)
{
	int ok = 1;
	for (uint64_t seed = 1; seed <= 3000 && ok; seed++) {
		rng_state = seed * 0x2545f4914f6cdd1dull;
		ok = prop_dialogue(seed);
	}
	CHECK(ok);
}

int main(void)
{
	test_reply_before_command();
	test_peer_missing();
	test_wait_cap();
	test_wait_fin();
	test_skewed_hole();
	test_dialogue_property();
	return check_done("reasm_order");
}
