/* The reassembler through a recording sink: a table of segment sequences
 * (each run with several ISN pairs, wrap-around included), the caps, and a
 * property test on random streams cut, shuffled and duplicated. */
#include <stdlib.h>
#include <string.h>

#include "../../capture/decode.h"
#include "../../capture/reasm.h"
#include "../../common/record.h"
#include "check.h"

/* ---- a recording sink: data as is, gaps as "<gap N>" -------------------- */

#define REC_MAX 8192

struct rec {
	char out[2][REC_MAX];
	size_t len[2];
	int calls;
};

static void rec_put(struct rec *rc, int dir, const char *p, size_t n)
{
	if (rc->len[dir] + n >= REC_MAX)
		n = REC_MAX - 1 - rc->len[dir];
	memcpy(rc->out[dir] + rc->len[dir], p, n);
	rc->len[dir] += n;
	rc->out[dir][rc->len[dir]] = '\0';
}

static void rec_data(void *ctx, int dir, const uint8_t *p, size_t len)
{
	struct rec *rc = ctx;
	rc->calls++;
	CHECK(len > 0);
	rec_put(rc, dir, (const char *)p, len);
}

static void rec_gap(void *ctx, int dir, uint64_t len)
{
	struct rec *rc = ctx;
	char b[40];
	rc->calls++;
	int n = snprintf(b, sizeof b, "<gap %llu>", (unsigned long long)len);
	rec_put(rc, dir, b, (size_t)n);
}

static const struct reasm_sink rec_sink = {rec_data, rec_gap};

/* ---- table: segment sequences --------------------------------------------- */

enum { C = DIR_C2S, S = DIR_S2C };
enum { UNCHECKED = 0, OPEN = 1, CLOSED = 2 };

struct step {
	int dir;
	uint32_t seq;      /* relative to the direction's ISN */
	uint32_t ack;      /* relative to the other direction's ISN (with TCP_ACK) */
	uint8_t flags;
	const char *data;
	unsigned lost;     /* trailing bytes of data cut by the snapshot length */
	const char *want0; /* C2S output after this step; NULL: not checked */
	int closed;        /* reasm_closed() after this step */
};

#define SYN_C {C, 0, 0, TCP_SYN, NULL, 0, NULL, 0}
#define SYNACK_S {S, 0, 1, TCP_SYN | TCP_ACK, NULL, 0, NULL, 0}
#define DATA(d, seq, text) {d, seq, 0, TCP_PSH, text, 0, NULL, 0}
#define DATA_THEN(d, seq, text, want) {d, seq, 0, TCP_PSH, text, 0, want, 0}
#define ACKED(d, seq, ack) {d, seq, ack, TCP_ACK, NULL, 0, NULL, 0}
#define FIN(d, seq) {d, seq, 0, TCP_FIN, NULL, 0, NULL, 0}
#define SNAP(d, seq, text, lost) {d, seq, 0, TCP_PSH, text, lost, NULL, 0}
#define MAX_STEPS 12

struct reasm_case {
	const char *name;
	struct step steps[MAX_STEPS];
	int flush;
	const char *want[2];
	uint32_t anomalies;
	uint64_t retransmitted;
	int midstream;
	int closed;
};

static const struct reasm_case cases[] = {
	{"handshake, in order",
	 {SYN_C, SYNACK_S, ACKED(C, 1, 1),
	  {C, 1, 1, TCP_PSH | TCP_ACK, "EHLO a\r\n", 0, NULL, 0},
	  {S, 1, 9, TCP_PSH | TCP_ACK, "250 ok\r\n", 0, NULL, 0}},
	 0, {"EHLO a\r\n", "250 ok\r\n"}, 0, 0, 0, OPEN},
	{"out of order, held, then in order",
	 {SYN_C, SYNACK_S, DATA_THEN(C, 5, "EFGH", ""), DATA_THEN(C, 9, "IJ", ""),
	  DATA_THEN(C, 1, "ABCD", "ABCDEFGHIJ")},
	 0, {"ABCDEFGHIJ", ""}, 0, 0, 0, 0},
	{"reverse order",
	 {SYN_C, SYNACK_S, DATA(C, 6, "F"), DATA(C, 5, "E"), DATA(C, 4, "D"), DATA(C, 3, "C"),
	  DATA(C, 2, "B"), DATA_THEN(C, 1, "A", "ABCDEF")},
	 0, {"ABCDEF", ""}, 0, 0, 0, 0},
	{"both directions interleaved out of order",
	 {SYN_C, SYNACK_S, DATA(S, 4, "456"), DATA(C, 3, "cd"), DATA(S, 1, "123"),
	  DATA(C, 1, "ab")},
	 0, {"abcd", "123456"}, 0, 0, 0, 0},
	{"exact retransmissions",
	 {SYN_C, SYNACK_S, DATA(C, 1, "ABCD"), DATA(C, 1, "ABCD"), DATA(C, 5, "EF"),
	  DATA(C, 5, "EF")},
	 0, {"ABCDEF", ""}, 0, 2, 0, 0},
	{"partial overlaps",
	 {SYN_C, SYNACK_S, DATA(C, 1, "ABCD"), DATA(C, 3, "CDEF"), DATA(C, 2, "BCDEFG")},
	 0, {"ABCDEFG", ""}, 0, 0, 0, 0},
	{"retransmissions while held",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EFGH"), DATA(C, 5, "EFGH"), DATA(C, 7, "GHIJ"),
	  DATA(C, 1, "ABCD")},
	 0, {"ABCDEFGHIJ", ""}, 0, 0, 0, 0},
	{"agreeing overlaps flag nothing",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EFGH"), DATA(C, 3, "CDEF"), DATA(C, 7, "GHIJ"),
	  DATA(C, 1, "ABCDE")},
	 0, {"ABCDEFGHIJ", ""}, 0, 0, 0, 0},
	{"mismatch: same start, the first copy wins",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EFGH"), DATA(C, 5, "EFzz"), DATA(C, 1, "ABCD")},
	 0, {"ABCDEFGH", ""}, ANOM_OVERLAP_MISMATCH, 0, 0, 0},
	{"mismatch: a later copy starting earlier, the first copy wins",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EFGH"), DATA(C, 3, "xxxx"), DATA(C, 1, "AB")},
	 0, {"ABxxEFGH", ""}, ANOM_OVERLAP_MISMATCH, 0, 0, 0},
	{"mismatch: an in-order copy overlapping held data",
	 {SYN_C, SYNACK_S, DATA(C, 3, "CDEF"), DATA_THEN(C, 1, "ABxy", "ABCDEF")},
	 0, {"ABCDEF", ""}, ANOM_OVERLAP_MISMATCH, 0, 0, 0},
	{"mismatch: a copy spanning two held segments",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EF"), DATA(C, 7, "GH"), DATA(C, 3, "CDEFGz"),
	  DATA(C, 1, "AB")},
	 0, {"ABCDEFGH", ""}, ANOM_OVERLAP_MISMATCH, 0, 0, 0},
	{"a hole the peer acknowledged becomes a gap",
	 {SYN_C, SYNACK_S, DATA_THEN(C, 5, "EFGH", ""),
	  {S, 1, 9, TCP_ACK, NULL, 0, "<gap 4>EFGH", 0}},
	 0, {"<gap 4>EFGH", ""}, ANOM_GAP, 0, 0, 0},
	{"the ack on a data segment declares the hole",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EF"), {S, 1, 7, TCP_PSH | TCP_ACK, "250", 0,
	  "<gap 4>EF", 0}},
	 0, {"<gap 4>EF", "250"}, ANOM_GAP, 0, 0, 0},
	{"an ack covering part of the holes",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EF"), DATA(C, 9, "IJ"),
	  {S, 1, 7, TCP_ACK, NULL, 0, "<gap 4>EF", 0}},
	 1, {"<gap 4>EF<gap 2>IJ", ""}, ANOM_GAP, 0, 0, 0},
	{"an ack not beyond the hole declares nothing",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EF"), {S, 1, 1, TCP_ACK, NULL, 0, "", 0},
	  DATA(C, 1, "ABCD")},
	 0, {"ABCDEF", ""}, 0, 0, 0, 0},
	{"flush declares the holes",
	 {SYN_C, SYNACK_S, DATA(C, 3, "CD"), DATA_THEN(C, 7, "GH", "")},
	 1, {"<gap 2>CD<gap 2>GH", ""}, ANOM_GAP, 0, 0, 0},
	{"flush: acknowledged bytes never seen",
	 {SYN_C, SYNACK_S, DATA(C, 1, "AB"), {S, 1, 10, TCP_ACK, NULL, 0, "AB", 0}},
	 1, {"AB<gap 7>", ""}, ANOM_GAP, 0, 0, 0},
	{"flush: the FIN bounds the acknowledged gap",
	 {SYN_C, SYNACK_S, DATA(C, 1, "AB"), FIN(C, 6), ACKED(S, 1, 7)},
	 1, {"AB<gap 3>", ""}, ANOM_GAP, 0, 0, 0},
	{"flush: one acknowledged byte may be a FIN",
	 {SYN_C, SYNACK_S, DATA(C, 1, "AB"), ACKED(S, 1, 4)},
	 1, {"AB", ""}, 0, 0, 0, 0},
	{"snaplen cut in order",
	 {SYN_C, SYNACK_S, {C, 1, 0, TCP_PSH, "ABCD", 2, "AB<gap 2>", 0}, DATA(C, 5, "EF")},
	 0, {"AB<gap 2>EF", ""}, ANOM_SNAPLEN | ANOM_GAP, 0, 0, 0},
	{"snaplen cut while held",
	 {SYN_C, SYNACK_S, SNAP(C, 5, "EFGH", 3), DATA_THEN(C, 1, "ABCD", "ABCDE<gap 3>"),
	  DATA(C, 9, "IJ")},
	 0, {"ABCDE<gap 3>IJ", ""}, ANOM_SNAPLEN | ANOM_GAP, 0, 0, 0},
	{"snaplen cut the whole payload",
	 {SYN_C, SYNACK_S, SNAP(C, 1, "ABCD", 4), DATA(C, 5, "EF")},
	 0, {"<gap 4>EF", ""}, ANOM_SNAPLEN | ANOM_GAP, 0, 0, 0},
	{"a retransmission after a snaplen gap adds nothing",
	 {SYN_C, SYNACK_S, SNAP(C, 1, "ABCD", 2), DATA(C, 1, "ABCD")},
	 0, {"AB<gap 2>", ""}, ANOM_SNAPLEN | ANOM_GAP, 1, 0, 0},
	{"mid-stream start",
	 {DATA(C, 100, "MAIL"), DATA(S, 200, "250"), DATA(C, 104, " FROM")},
	 0, {"MAIL FROM", "250"}, 0, 0, 1, 0},
	{"mid-stream: a bare ACK does not start a direction",
	 {ACKED(C, 1, 1), DATA(C, 3, "xy"), DATA(C, 1, "ab")},
	 0, {"xy", ""}, 0, 1, 1, 0},
	{"a SYN with data: it starts at ISN+1",
	 {{C, 0, 0, TCP_SYN, "hi", 0, NULL, 0}, DATA(C, 3, "!")},
	 0, {"hi!", ""}, 0, 0, 0, 0},
	{"a retransmitted SYN",
	 {SYN_C, SYN_C, SYNACK_S, SYNACK_S, DATA(C, 1, "AB"), DATA(S, 1, "22")},
	 0, {"AB", "22"}, 0, 0, 0, 0},
	{"the SYN-ACK gives the client's start",
	 {SYNACK_S, DATA(C, 5, "EF"), DATA(C, 1, "ABCD")},
	 0, {"ABCDEF", ""}, 0, 0, 0, 0},
	{"FIN: closed once every byte before it was delivered",
	 {SYN_C, SYNACK_S, DATA(C, 5, "EF"), {C, 7, 0, TCP_FIN, NULL, 0, NULL, OPEN},
	  {S, 1, 0, TCP_FIN, NULL, 0, NULL, OPEN}, {C, 1, 0, TCP_PSH, "ABCD", 0, NULL, CLOSED}},
	 0, {"ABCDEF", ""}, 0, 0, 0, CLOSED},
	{"FIN with data, out of order",
	 {SYN_C, SYNACK_S, {C, 5, 0, TCP_FIN | TCP_PSH, "QUIT", 0, NULL, 0},
	  {S, 1, 0, TCP_FIN | TCP_PSH, "221", 0, NULL, OPEN},
	  {C, 1, 0, TCP_PSH, "ABCD", 0, NULL, CLOSED}},
	 0, {"ABCDQUIT", "221"}, 0, 0, 0, CLOSED},
	{"FIN in one direction only",
	 {SYN_C, SYNACK_S, DATA(C, 1, "A"), FIN(C, 2)},
	 0, {"A", ""}, 0, 0, 0, OPEN},
	{"the server FIN first",
	 {SYN_C, SYNACK_S, {S, 1, 0, TCP_FIN, NULL, 0, NULL, OPEN},
	  {C, 1, 0, TCP_FIN, NULL, 0, NULL, CLOSED}},
	 0, {"", ""}, 0, 0, 0, CLOSED},
};

/* ISN pairs (client, server): plain, and wrapping within a few bytes. */
static const uint32_t isns[][2] = {
	{1000, 5000},
	{0xffffffffu, 0xfffffffdu},
	{0xfffffffau, 0x7ffffffeu},
	{0x7ffffffcu, 0},
	{0xfffffff0u, 0xffffffffu},
};

static struct reasm_budget big_budget(void)
{
	struct reasm_budget b = {0, 1u << 30, 0};
	return b;
}

static void run_step(struct reasm *r, const struct step *st, const uint32_t isn[2])
{
	size_t len = st->data ? strlen(st->data) : 0;
	reasm_segment(r, st->dir, isn[st->dir] + st->seq, isn[!st->dir] + st->ack, st->flags,
		      (const uint8_t *)st->data, len - st->lost, len, 0);
}

static void run_case(const struct reasm_case *tc, const uint32_t isn[2])
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	int failed = check_failed;
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &rec_sink, &rc);
	for (int i = 0; i < MAX_STEPS && (tc->steps[i].flags || tc->steps[i].data); i++) {
		const struct step *st = &tc->steps[i];
		run_step(r, st, isn);
		if (st->want0)
			CHECK_STR(rc.out[C], st->want0);
		if (st->closed)
			CHECK_INT(reasm_closed(r), st->closed == CLOSED);
		if (check_failed != failed) {
			fprintf(stderr, "     at step %d\n", i);
			break;
		}
	}
	if (tc->flush)
		reasm_flush(r);
	const struct reasm_stats *rs = reasm_stats(r);
	CHECK_STR(rc.out[C], tc->want[C]);
	CHECK_STR(rc.out[S], tc->want[S]);
	CHECK_INT(rs->anomalies, tc->anomalies);
	CHECK_INT(rs->retransmitted, tc->retransmitted);
	CHECK_INT(reasm_midstream(r), tc->midstream);
	if (tc->closed)
		CHECK_INT(reasm_closed(r), tc->closed == CLOSED);
	reasm_free(r);
	CHECK_INT(b.used, 0);
	if (check_failed != failed)
		fprintf(stderr, "     in: %s, ISNs %08x/%08x\n", tc->name, isn[0], isn[1]);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t j = 0; j < sizeof isns / sizeof isns[0]; j++)
			run_case(&cases[i], isns[j]);
}

/* The stats count bytes: delivered, gaps, per direction. */
static void test_stats(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &rec_sink, &rc);
	reasm_segment(r, C, 0xfffffffe, 0, TCP_SYN, NULL, 0, 0, 0);
	reasm_segment(r, S, 77, 0xffffffff, TCP_SYN | TCP_ACK, NULL, 0, 0, 0);
	reasm_segment(r, C, 0xffffffff, 0, TCP_PSH, (const uint8_t *)"abcdef", 6, 6, 0);
	reasm_segment(r, C, 9, 0, TCP_PSH, (const uint8_t *)"xyz", 1, 3, 0); /* after a hole */
	reasm_segment(r, S, 78, 0, TCP_PSH, (const uint8_t *)"1234567", 7, 7, 0);
	reasm_flush(r);
	const struct reasm_stats *rs = reasm_stats(r);
	CHECK_STR(rc.out[C], "abcdef<gap 4>x<gap 2>");
	CHECK_INT(rs->delivered[C], 7);
	CHECK_INT(rs->delivered[S], 7);
	CHECK_INT(rs->gap_bytes[C], 6);
	CHECK_INT(rs->gap_bytes[S], 0);
	CHECK_INT(rs->anomalies, ANOM_GAP | ANOM_SNAPLEN);
	reasm_free(r);
	reasm_free(NULL);
}

/* ---- caps ------------------------------------------------------------------ */

static void seg(struct reasm *r, int dir, uint32_t seq, const char *text)
{
	size_t n = strlen(text);
	reasm_segment(r, dir, seq, 0, TCP_PSH, (const uint8_t *)text, n, n, 0);
}

static struct reasm *new_started(struct reasm_budget *b, size_t dir_cap, struct rec *rc)
{
	struct reasm *r = reasm_new(b, dir_cap, &rec_sink, rc);
	reasm_segment(r, C, 0, 0, TCP_SYN, NULL, 0, 0, 0);
	reasm_segment(r, S, 0, 1, TCP_SYN | TCP_ACK, NULL, 0, 0, 0);
	return r;
}

/* The per-direction cap: the first hole is skipped, nothing after it lost. */
static void test_dir_cap(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	struct reasm *r = new_started(&b, 8, &rc);
	seg(r, C, 3, "CD");
	seg(r, C, 5, "EF");
	seg(r, C, 7, "GH");
	seg(r, C, 9, "IJ");
	CHECK_STR(rc.out[C], "");
	CHECK_INT(b.used, 8);
	seg(r, C, 11, "KL"); /* 10 bytes would be held */
	CHECK_STR(rc.out[C], "<gap 2>CDEFGHIJKL");
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 0);
	seg(r, C, 1, "AB"); /* too late */
	CHECK_STR(rc.out[C], "<gap 2>CDEFGHIJKL");
	CHECK_INT(reasm_stats(r)->anomalies, ANOM_REASM_OVERFLOW | ANOM_GAP);
	reasm_free(r);
	CHECK_INT(b.used, 0);
}

/* The segment forcing the skip lies before the held data: it is delivered,
 * then the held data. */
static void test_dir_cap_before_held(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	struct reasm *r = new_started(&b, 4, &rc);
	seg(r, C, 7, "GHIJ");
	seg(r, C, 3, "CDEF");
	CHECK_STR(rc.out[C], "<gap 2>CDEFGHIJ");
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 0);
	reasm_free(r);
}

/* Only the holes needed to make room are skipped. */
static void test_dir_cap_one_hole(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	struct reasm *r = new_started(&b, 4, &rc);
	seg(r, C, 5, "EF");
	seg(r, C, 9, "IJ");
	seg(r, C, 13, "MN");
	CHECK_STR(rc.out[C], "<gap 4>EF");
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 4);
	seg(r, C, 7, "GH");
	CHECK_STR(rc.out[C], "<gap 4>EFGHIJ");
	reasm_flush(r);
	CHECK_STR(rc.out[C], "<gap 4>EFGHIJ<gap 2>MN");
	CHECK_INT(b.used, 0);
	reasm_free(r);
}

/* A segment larger than the cap itself. */
static void test_dir_cap_huge_segment(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	struct reasm *r = new_started(&b, 4, &rc);
	seg(r, C, 3, "CD");
	seg(r, C, 9, "IJKLMNOP");
	CHECK_STR(rc.out[C], "<gap 2>CD<gap 4>IJKLMNOP");
	CHECK_INT(b.overflows, 2);
	CHECK_INT(b.used, 0);
	reasm_free(r);
}

/* REASM_SEGS_MAX segments held, one more forces the skip. */
static void test_seg_cap(void)
{
	struct reasm_budget b = big_budget();
	struct rec rc = {0};
	char want[REASM_SEGS_MAX + 16];
	struct reasm *r = new_started(&b, REASM_DIR_CAP_DEFAULT, &rc);
	memcpy(want, "<gap 2>", 7);
	for (uint32_t i = REASM_SEGS_MAX; i > 0; i--) {
		char c[2] = {(char)('a' + i % 26), 0};
		seg(r, C, 2 + i, c);
	}
	for (uint32_t i = 1; i <= REASM_SEGS_MAX + 1; i++)
		want[6 + i] = (char)('a' + i % 26);
	want[7 + REASM_SEGS_MAX + 1] = '\0';
	CHECK_STR(rc.out[C], "");
	CHECK_INT(b.used, REASM_SEGS_MAX);
	CHECK_INT(b.overflows, 0);
	char c[2] = {(char)('a' + (REASM_SEGS_MAX + 1) % 26), 0};
	seg(r, C, 2 + REASM_SEGS_MAX + 1, c);
	CHECK_STR(rc.out[C], want);
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 0);
	CHECK_INT(reasm_stats(r)->anomalies, ANOM_REASM_OVERFLOW | ANOM_GAP);
	reasm_free(r);
}

/* The global budget, shared by two connections. */
static void test_global_budget(void)
{
	struct reasm_budget b = {0, 6, 0};
	struct rec rc1 = {0}, rc2 = {0};
	struct reasm *r1 = new_started(&b, 1000, &rc1);
	struct reasm *r2 = new_started(&b, 1000, &rc2);
	seg(r1, C, 5, "EFGH");
	seg(r2, S, 3, "CD");
	CHECK_INT(b.used, 6);
	seg(r2, S, 7, "GH"); /* no room: r2 skips its own hole */
	CHECK_STR(rc2.out[S], "<gap 2>CD");
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 6);
	CHECK_STR(rc1.out[C], "");
	seg(r1, C, 1, "ABCD");
	CHECK_STR(rc1.out[C], "ABCDEFGH");
	CHECK_INT(b.used, 2);
	CHECK_INT(reasm_stats(r1)->anomalies, 0);
	CHECK_INT(reasm_stats(r2)->anomalies, ANOM_REASM_OVERFLOW | ANOM_GAP);
	reasm_free(r1);
	CHECK_INT(b.used, 2);
	reasm_free(r2); /* frees the held "GH" */
	CHECK_INT(b.used, 0);
}

/* The budget is full with another connection's data: nothing to skip here
 * but the hole before the segment. */
static void test_global_budget_other(void)
{
	struct reasm_budget b = {0, 4, 0};
	struct rec rc1 = {0}, rc2 = {0};
	struct reasm *r1 = new_started(&b, 1000, &rc1);
	struct reasm *r2 = new_started(&b, 1000, &rc2);
	seg(r1, C, 5, "EFGH");
	seg(r2, C, 3, "CD");
	CHECK_STR(rc2.out[C], "<gap 2>CD");
	seg(r2, C, 5, "EF");
	CHECK_STR(rc2.out[C], "<gap 2>CDEF");
	CHECK_INT(b.overflows, 1);
	CHECK_INT(b.used, 4);
	reasm_free(r2);
	reasm_free(r1);
	CHECK_INT(b.used, 0);
}

/* ---- property: random streams ------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

#define PROP_MAX 6000
#define PROP_SEGS 1000

struct pseg {
	int dir;
	uint32_t off, len;
	uint8_t data[300];
};

struct prop {
	uint8_t src[2][PROP_MAX];
	uint8_t first[2][PROP_MAX]; /* the first copy of each byte fed */
	uint8_t seen[2][PROP_MAX];
	uint32_t len[2];
	uint8_t out[2][PROP_MAX];
	uint64_t off[2], gaps[2];
	int overrun;
	struct pseg segs[PROP_SEGS];
	size_t nsegs;
};

static void prop_data(void *ctx, int dir, const uint8_t *p, size_t len)
{
	struct prop *pr = ctx;
	if (pr->off[dir] + len > pr->len[dir]) {
		pr->overrun = 1;
		return;
	}
	memcpy(pr->out[dir] + pr->off[dir], p, len);
	pr->off[dir] += len;
}

static void prop_gap(void *ctx, int dir, uint64_t len)
{
	struct prop *pr = ctx;
	if (pr->off[dir] + len > pr->len[dir]) {
		pr->overrun = 1;
		return;
	}
	memset(pr->seen[dir] + pr->off[dir], 2, len); /* 2: declared lost */
	pr->off[dir] += len;
	pr->gaps[dir] += len;
}

static void prop_add(struct prop *pr, int dir, uint32_t off, uint32_t len, int corrupt)
{
	if (pr->nsegs == PROP_SEGS)
		return;
	struct pseg *s = &pr->segs[pr->nsegs++];
	s->dir = dir;
	s->off = off;
	s->len = len;
	memcpy(s->data, pr->src[dir] + off, len);
	if (corrupt)
		s->data[rnd() % len] ^= (uint8_t)(1 + rnd() % 255);
}

/* Cuts both streams into segments, adds duplicates of random ranges (some
 * corrupted), shuffles. */
static void prop_build(struct prop *pr, int corrupt)
{
	pr->nsegs = 0;
	for (int dir = 0; dir < 2; dir++) {
		pr->len[dir] = 1 + rnd() % 3000;
		for (uint32_t i = 0; i < pr->len[dir]; i++)
			pr->src[dir][i] = (uint8_t)rnd();
		for (uint32_t off = 0; off < pr->len[dir];) {
			uint32_t n = 1 + rnd() % 300;
			n = n > pr->len[dir] - off ? pr->len[dir] - off : n;
			prop_add(pr, dir, off, n, 0);
			off += n;
		}
		for (uint32_t dups = rnd() % 40; dups > 0; dups--) {
			uint32_t off = rnd() % pr->len[dir];
			uint32_t n = 1 + rnd() % 300;
			n = n > pr->len[dir] - off ? pr->len[dir] - off : n;
			prop_add(pr, dir, off, n, corrupt && rnd() % 2);
		}
	}
	for (size_t i = pr->nsegs; i > 1; i--) {
		size_t j = rnd() % i;
		struct pseg t = pr->segs[i - 1];
		pr->segs[i - 1] = pr->segs[j];
		pr->segs[j] = t;
	}
}

static uint32_t prop_isn(void)
{
	switch (rnd() % 3) {
	case 0:
		return 0xffffffffu - rnd() % 4000; /* wraps inside the stream */
	case 1:
		return 0x7fffffffu - rnd() % 4000;
	default:
		return rnd();
	}
}

/* Feeds the segments; records the first copy of each byte. */
static void prop_feed(struct prop *pr, struct reasm *r, const uint32_t isn[2])
{
	memset(pr->seen, 0, sizeof pr->seen);
	reasm_segment(r, C, isn[C] - 1, 0, TCP_SYN, NULL, 0, 0, 0);
	reasm_segment(r, S, isn[S] - 1, isn[C], TCP_SYN | TCP_ACK, NULL, 0, 0, 0);
	for (size_t i = 0; i < pr->nsegs; i++) {
		const struct pseg *s = &pr->segs[i];
		for (uint32_t k = 0; k < s->len; k++)
			if (!pr->seen[s->dir][s->off + k]) {
				pr->seen[s->dir][s->off + k] = 1;
				pr->first[s->dir][s->off + k] = s->data[k];
			}
		reasm_segment(r, s->dir, isn[s->dir] + s->off, 0, TCP_PSH, s->data, s->len,
			      s->len, 0);
	}
}

/* Unbounded: every byte exactly once, in order, the first copy of it. */
static int prop_exact(struct prop *pr, uint64_t seed, int corrupt)
{
	struct reasm_budget b = big_budget();
	uint32_t isn[2] = {prop_isn(), prop_isn()};
	memset(pr->off, 0, sizeof pr->off);
	memset(pr->gaps, 0, sizeof pr->gaps);
	pr->overrun = 0;
	prop_build(pr, corrupt);
	struct reasm_sink sink = {prop_data, prop_gap};
	struct reasm *r = reasm_new(&b, REASM_DIR_CAP_DEFAULT, &sink, pr);
	prop_feed(pr, r, isn);
	int ok = !pr->overrun;
	for (int dir = 0; dir < 2; dir++) /* all in order before any flush */
		ok = ok && pr->off[dir] == pr->len[dir] && pr->gaps[dir] == 0 &&
		     memcmp(pr->out[dir], pr->first[dir], pr->len[dir]) == 0 &&
		     reasm_stats(r)->delivered[dir] == pr->len[dir];
	ok = ok && b.used == 0;
	if (!corrupt)
		ok = ok && reasm_stats(r)->anomalies == 0 &&
		     memcmp(pr->first[C], pr->src[C], pr->len[C]) == 0 &&
		     memcmp(pr->first[S], pr->src[S], pr->len[S]) == 0;
	else
		ok = ok && (reasm_stats(r)->anomalies & ~(uint32_t)ANOM_OVERLAP_MISMATCH) == 0;
	if (!ok)
		fprintf(stderr, "     property failed: seed %llu corrupt %d ISNs %08x/%08x: "
			"out %llu/%u %llu/%u, gaps %llu %llu, anomalies %#x\n",
			(unsigned long long)seed, corrupt, isn[0], isn[1],
			(unsigned long long)pr->off[0], pr->len[0], (unsigned long long)pr->off[1],
			pr->len[1], (unsigned long long)pr->gaps[0], (unsigned long long)pr->gaps[1],
			reasm_stats(r)->anomalies);
	reasm_free(r);
	return ok;
}

/* Under tight caps: bytes may become gaps, but what is delivered is right
 * and in place, and data plus gaps cover each stream exactly. */
static int prop_capped(struct prop *pr, uint64_t seed)
{
	struct reasm_budget b = {0, 64 + rnd() % 2000, 0};
	uint32_t isn[2] = {prop_isn(), prop_isn()};
	memset(pr->off, 0, sizeof pr->off);
	memset(pr->gaps, 0, sizeof pr->gaps);
	pr->overrun = 0;
	prop_build(pr, 0);
	struct reasm_sink sink = {prop_data, prop_gap};
	struct reasm *r = reasm_new(&b, 32 + rnd() % 1500, &sink, pr);
	prop_feed(pr, r, isn);
	reasm_flush(r);
	int ok = !pr->overrun && b.used == 0;
	for (int dir = 0; dir < 2 && ok; dir++) {
		ok = pr->off[dir] == pr->len[dir] &&
		     reasm_stats(r)->delivered[dir] + pr->gaps[dir] == pr->len[dir];
		for (uint32_t i = 0; i < pr->len[dir] && ok; i++)
			ok = pr->seen[dir][i] == 2 || pr->out[dir][i] == pr->src[dir][i];
	}
	reasm_free(r);
	if (!ok)
		fprintf(stderr, "     capped property failed: seed %llu\n", (unsigned long long)seed);
	return ok;
}

static void test_property(void)
{
	static struct prop pr;
	int exact = 1, corrupt = 1, capped = 1;
	for (uint64_t seed = 1; seed <= 5000; seed++) {
		rng_state = seed * 0x9e3779b97f4a7c15ull;
		exact = exact && prop_exact(&pr, seed, 0);
		corrupt = corrupt && prop_exact(&pr, seed, 1);
		capped = capped && prop_capped(&pr, seed);
	}
	CHECK(exact);
	CHECK(corrupt);
	CHECK(capped);
}


int main(void)
{
	test_table();
	test_stats();
	test_dir_cap();
	test_dir_cap_before_held();
	test_dir_cap_one_hole();
	test_dir_cap_huge_segment();
	test_seg_cap();
	test_global_budget();
	test_global_budget_other();
	test_property();
	return check_done("reasm");
}
