/* The flow table with fake callbacks: one flow per connection whatever the
 * first packet, client and server roles, the ways a flow ends (RST, FIN,
 * idle, eviction, end_all), the caps, and hash table growth. */
#include "flow_fake.h"

/* ---- one flow for both directions ------------------------------------------- */

enum first { FIRST_SYN, FIRST_SYNACK, FIRST_DATA_C, FIRST_DATA_S };

struct pair {
	struct ep c, s;
};

static void converse(struct flow_table *ft, const struct pair *p, enum first first)
{
	const struct ep *c = &p->c, *s = &p->s;
	switch (first) {
	case FIRST_SYN:
		handshake(ft, c, s, 1.0);
		break;
	case FIRST_SYNACK:
		pkt(ft, s, c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, 1.0);
		pkt(ft, c, s, TCP_ACK, CISN + 1, SISN + 1, NULL, 1.001);
		break;
	case FIRST_DATA_C:
		pkt(ft, c, s, PA, CISN + 1, SISN + 1, "EHLO\r\n", 1.0);
		break;
	case FIRST_DATA_S:
		break;
	}
	pkt(ft, s, c, PA, SISN + 1, CISN + 1, "220 hi\r\n", 1.1);
	if (first != FIRST_DATA_C)
		pkt(ft, c, s, PA, CISN + 1, SISN + 9, "EHLO\r\n", 1.2);
}

static const struct pair pairs[] = {
	{{4, {10, 0, 0, 1}, 40000}, {4, {10, 0, 0, 2}, 25}},
	{{4, {10, 0, 0, 9}, 40000}, {4, {10, 0, 0, 2}, 25}},
	{{4, {127, 0, 0, 1}, 40000}, {4, {127, 0, 0, 1}, 25}},
	{{4, {127, 0, 0, 1}, 24}, {4, {127, 0, 0, 1}, 25}},
	{{4, {127, 0, 0, 1}, 26}, {4, {127, 0, 0, 1}, 25}},
	{{6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, 50000},
	 {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x25}, 587}},
	{{6, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x99}, 50000},
	 {6, {0x20, 0x01, 0x0d, 0xb8, [15] = 0x25}, 587}},
};

static void check_one_flow(struct fake *fk, struct flow_table *ft, const struct pair *p,
			   int first)
{
	struct user *u = fk->nusers ? fk->users[0] : NULL;
	CHECK_INT(fk->opens, 1);
	CHECK_INT(flow_table_stats(ft)->active, 1);
	if (!CHECK(u != NULL))
		return;
	CHECK_STR(u->out[DIR_C2S], "EHLO\r\n");
	CHECK_STR(u->out[DIR_S2C], "220 hi\r\n");
	CHECK_INT(u->open_fi.family, p->c.family);
	CHECK(ep_is(u->open_fi.client, u->open_fi.client_port, &p->c, p->c.port));
	CHECK(ep_is(u->open_fi.server, u->open_fi.server_port, &p->s, p->s.port));
	CHECK_INT(u->open_fi.midstream, first >= FIRST_DATA_C);
	CHECK_INT(u->packets[DIR_S2C], first <= FIRST_SYNACK ? 2 : 1);
	flow_table_end_all(ft, END_EOF);
	CHECK_INT(fk->closes, 1);
	CHECK_INT(u->why, END_EOF);
	CHECK_INT(u->close_fi.payload[DIR_C2S], 6);
	CHECK_INT(u->close_fi.payload[DIR_S2C], 8);
	CHECK_INT(u->close_fi.midstream, first >= FIRST_DATA_C);
	CHECK_INT(u->close_fi.anomalies, 0);
}

static void test_one_flow(void)
{
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		for (int first = FIRST_SYN; first <= FIRST_DATA_S; first++) {
			struct fake fk;
			struct flow_table *ft = table(&fk, &lim_default);
			int failed = check_failed;
			converse(ft, &pairs[i], (enum first)first);
			check_one_flow(&fk, ft, &pairs[i], first);
			if (check_failed != failed)
				fprintf(stderr, "     in: pair %zu, first packet %d\n", i, first);
			flow_table_free(ft);
			fake_free(&fk);
		}
	}
}

/* ---- roles ---------------------------------------------------------------------- */

struct role_case {
	const char *name;
	uint16_t sport, dport;
	uint8_t flags;
	int client_is_src;
	int midstream;
};

static const struct role_case roles[] = {
	{"SYN from a server port", 25, 40000, TCP_SYN, 1, 0},
	{"SYN between high ports", 6000, 5000, TCP_SYN, 1, 0},
	{"SYN-ACK from a high port", 2525, 3000, TCP_SYN | TCP_ACK, 0, 0},
	{"SYN-ACK from a client port", 40000, 25, TCP_SYN | TCP_ACK, 0, 0},
	{"data to a server port", 40000, 587, PA, 1, 1},
	{"data from a server port", 587, 40000, PA, 0, 1},
	{"data from 465 to a low port", 465, 1000, PA, 0, 1},
	{"no server port: the lower port serves", 6000, 5000, PA, 1, 1},
	{"no server port, reversed", 5000, 6000, PA, 0, 1},
	{"both server ports: the lower serves", 587, 25, PA, 1, 1},
	{"both server ports, reversed", 25, 587, PA, 0, 1},
};

static void test_roles(void)
{
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		const struct role_case *rc = &roles[i];
		struct fake fk;
		struct flow_table *ft = table(&fk, &lim_default);
		struct ep a = ep4(0xc0000201, rc->sport), b = ep4(0xc6336419, rc->dport);
		int failed = check_failed;
		pkt(ft, &a, &b, rc->flags, 1, 1, rc->flags & TCP_SYN ? NULL : "x", 3.5);
		struct user *u = fk.nusers ? fk.users[0] : NULL;
		if (CHECK(u != NULL)) {
			const struct ep *cl = rc->client_is_src ? &a : &b;
			const struct ep *sv = rc->client_is_src ? &b : &a;
			CHECK(ep_is(u->open_fi.client, u->open_fi.client_port, cl, cl->port));
			CHECK(ep_is(u->open_fi.server, u->open_fi.server_port, sv, sv->port));
			CHECK_INT(u->open_fi.midstream, rc->midstream);
			CHECK_INT(u->packets[rc->client_is_src ? DIR_C2S : DIR_S2C], 1);
			CHECK(u->open_fi.first_ts == 3.5 && u->open_fi.last_ts == 3.5);
		}
		if (check_failed != failed)
			fprintf(stderr, "     in: %s\n", rc->name);
		flow_table_free(ft);
		fake_free(&fk);
	}
}

/* ---- what starts nothing ------------------------------------------------------- */

static void test_stray(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	pkt(ft, &c, &s, TCP_ACK, 5, 6, NULL, 1);
	pkt(ft, &s, &c, TCP_RST, 6, 0, NULL, 2);
	pkt(ft, &c, &s, TCP_RST | TCP_ACK, 5, 6, NULL, 3);
	pkt(ft, &c, &s, TCP_FIN | TCP_ACK, 5, 6, NULL, 4);
	const struct flow_stats *st = flow_table_stats(ft);
	CHECK_INT(st->ignored_packets, 4);
	CHECK_INT(st->created, 0);
	CHECK_INT(st->active, 0);
	CHECK_INT(fk.opens, 0);
	pkt(ft, &c, &s, PA, 5, 6, "data", 5); /* payload: a mid-stream flow */
	CHECK_INT(st->created, 1);
	CHECK_INT(st->ignored_packets, 4);
	/* it acknowledges server bytes not seen: held for them, out at the end */
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "");
	flow_table_free(ft);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "data");
	CHECK_INT(user_n(&fk, 1)->close_fi.midstream, 1);
	fake_free(&fk);
}

/* open() returning NULL leaves the connection untracked. */
static void test_refused(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	fk.refuse = 1;
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	CHECK_INT(flow_table_stats(ft)->created, 0);
	CHECK_INT(flow_table_stats(ft)->active, 0);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 0);
	fake_free(&fk);
}

/* ---- how flows end ------------------------------------------------------------- */

static void test_rst(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	struct flow_table *ft = table(&fk, &lim);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	struct ep c2 = ep4(0x0a000003, 40000);
	handshake(ft, &c, &s, 10);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 hi\r\n", 10.1);
	pkt(ft, &c, &s, TCP_RST | TCP_ACK, CISN + 1, SISN + 9, NULL, 10.2);
	struct user *u = user_n(&fk, 1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(u->why, END_RST);
	CHECK_INT(u->close_fi.packets, 5);
	CHECK(u->close_fi.first_ts == 10 && u->close_fi.last_ts == 10.2);
	CHECK_INT(flow_table_stats(ft)->active, 1); /* lingering */
	/* late packets are absorbed: no new flow, no callbacks */
	pkt(ft, &s, &c, PA, SISN + 9, CISN + 1, "250 late\r\n", 11);
	pkt(ft, &c, &s, TCP_RST, CISN + 1, 0, NULL, 12);
	pkt(ft, &s, &c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, 13);
	CHECK_INT(fk.opens, 1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(fk.late, 0);
	CHECK_INT(flow_table_stats(ft)->ignored_packets, 0);
	CHECK_INT(flow_table_stats(ft)->active, 1);
	/* the linger counts from the last late packet */
	pkt(ft, &c2, &s, TCP_SYN, 1, 0, NULL, 13 + lim.closed_linger);
	CHECK_INT(flow_table_stats(ft)->active, 2);
	pkt(ft, &c2, &s, TCP_ACK, 2, 1, NULL, 13.01 + lim.closed_linger);
	CHECK_INT(flow_table_stats(ft)->active, 1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(flow_table_stats(ft)->timed_out, 0);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 2);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* A RST from the server ends the flow too. */
static void test_rst_server(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep6(1, 40000), s = ep6(2, 25);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1);
	pkt(ft, &s, &c, TCP_RST | TCP_ACK, 0, CISN + 1, NULL, 1.1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(fk.reasons[END_RST], 1);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 1);
	fake_free(&fk);
}

static void test_fin(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "221 bye\r\n", 2);
	pkt(ft, &c, &s, PA, CISN + 1, SISN + 10, "QUIT\r\n", 2.1);
	pkt(ft, &s, &c, TCP_FIN | TCP_ACK, SISN + 10, CISN + 7, NULL, 3);
	CHECK_INT(fk.closes, 0);
	pkt(ft, &c, &s, TCP_FIN | TCP_ACK, CISN + 7, SISN + 11, NULL, 4);
	struct user *u = user_n(&fk, 1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(u->why, END_FIN);
	CHECK_STR(u->out[DIR_C2S], "QUIT\r\n");
	CHECK_STR(u->out[DIR_S2C], "221 bye\r\n");
	pkt(ft, &s, &c, TCP_ACK, SISN + 11, CISN + 8, NULL, 4.1); /* the last ACK */
	CHECK_INT(fk.closes, 1);
	CHECK_INT(u->close_fi.packets, 7);
	CHECK_INT(u->close_fi.anomalies, 0);
	CHECK_INT(fk.opens, 1);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 1);
	fake_free(&fk);
}

/* A FIN before missing bytes: the flow ends once the peer's ack declared
 * them lost. */
static void test_fin_after_hole(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, PA | TCP_FIN, CISN + 5, SISN + 1, "QUIT", 2); /* 4 bytes lost */
	pkt(ft, &s, &c, TCP_FIN, SISN + 1, 0, NULL, 3);
	CHECK_INT(fk.closes, 0);
	pkt(ft, &s, &c, TCP_ACK, SISN + 2, CISN + 10, NULL, 4);
	struct user *u = user_n(&fk, 1);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(u->why, END_FIN);
	CHECK_STR(u->out[DIR_C2S], "QUIT");
	CHECK_INT(u->gaps[DIR_C2S], 4);
	CHECK_INT(u->close_fi.anomalies, ANOM_GAP);
	flow_table_free(ft);
	fake_free(&fk);
}

/* After a close, a SYN on the same 5-tuple starts a new flow. */
static void test_reuse(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, TCP_RST, CISN + 1, 0, NULL, 2);
	CHECK_INT(fk.closes, 1);
	pkt(ft, &c, &s, TCP_SYN, 9000, 0, NULL, 3); /* within the linger */
	pkt(ft, &s, &c, TCP_SYN | TCP_ACK, 7000, 9001, NULL, 3.1);
	pkt(ft, &s, &c, PA, 7001, 9001, "220 again\r\n", 3.2);
	CHECK_INT(fk.opens, 2);
	CHECK_INT(flow_table_stats(ft)->active, 1);
	CHECK_INT(flow_table_stats(ft)->created, 2);
	struct user *u2 = user_n(&fk, 2);
	CHECK_STR(u2->out[DIR_S2C], "220 again\r\n");
	CHECK_INT(u2->open_fi.midstream, 0);
	CHECK_STR(user_n(&fk, 1)->out[DIR_S2C], "");
	flow_table_free(ft);
	CHECK_INT(fk.closes, 2);
	CHECK_INT(u2->why, END_EOF);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* A new SYN on a connection that carried data and never ended: the tuple
 * was reused; the old connection ends as such, the new one starts clean. */
static void test_reuse_open(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 old\r\n", 1.5);
	pkt(ft, &c, &s, TCP_SYN, 500000, 0, NULL, 2);
	pkt(ft, &c, &s, TCP_SYN, 500000, 0, NULL, 2.05); /* its retransmission */
	CHECK_INT(fk.opens, 2);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(user_n(&fk, 1)->why, END_REUSED);
	CHECK_STR(user_n(&fk, 1)->out[DIR_S2C], "220 old\r\n");
	pkt(ft, &s, &c, TCP_SYN | TCP_ACK, 800000, 500001, NULL, 2.1);
	pkt(ft, &s, &c, PA, 800001, 500001, "220 new\r\n", 2.2);
	CHECK_INT(fk.opens, 2);
	CHECK_STR(user_n(&fk, 2)->out[DIR_S2C], "220 new\r\n");
	CHECK_INT(user_n(&fk, 2)->open_fi.midstream, 0);
	flow_table_free(ft);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* Data after the linger ran out starts a new, mid-stream flow. */
static void test_after_linger(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, TCP_RST, CISN + 1, 0, NULL, 2);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "late", 2 + 5.5);
	CHECK_INT(fk.opens, 2);
	CHECK_INT(user_n(&fk, 2)->open_fi.midstream, 1);
	flow_table_free(ft);
	fake_free(&fk);
}

static void test_idle(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default); /* idle 60 s */
	struct ep a = ep4(0x0a000001, 40000), b = ep4(0x0a000001, 40001);
	struct ep s = ep4(0x0a000002, 25);
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 100);
	pkt(ft, &b, &s, TCP_SYN, 1, 0, NULL, 130);
	pkt(ft, &b, &s, TCP_ACK, 2, 1, NULL, 160); /* a is 60 s idle: not yet */
	CHECK_INT(fk.closes, 0);
	pkt(ft, &b, &s, TCP_ACK, 2, 1, NULL, 160.5);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(user_n(&fk, 1)->why, END_IDLE);
	CHECK(user_n(&fk, 1)->close_fi.last_ts == 100);
	CHECK_INT(flow_table_stats(ft)->timed_out, 1);
	CHECK_INT(flow_table_stats(ft)->active, 1);
	flow_table_expire(ft, 220.5); /* b: exactly 60 s */
	CHECK_INT(fk.closes, 1);
	flow_table_expire(ft, 221);
	CHECK_INT(fk.closes, 2);
	CHECK_INT(user_n(&fk, 2)->why, END_IDLE);
	CHECK_INT(flow_table_stats(ft)->timed_out, 2);
	CHECK_INT(flow_table_stats(ft)->active, 0);
	/* a packet timestamped earlier moves no clock backwards */
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 300);
	pkt(ft, &b, &s, TCP_SYN, 1, 0, NULL, 50);
	CHECK_INT(flow_table_stats(ft)->active, 2);
	CHECK_INT(fk.closes, 2);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 4);
	CHECK_INT(fk.reasons[END_EOF], 2);
	fake_free(&fk);
}

/* ---- caps ------------------------------------------------------------------------ */

static void test_evict(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 3;
	lim.idle_timeout = 1000; /* packets 10 s apart: the LRU order is exact */
	struct flow_table *ft = table(&fk, &lim);
	struct ep s = ep4(0x0a000002, 25), e[5];
	for (int i = 0; i < 5; i++)
		e[i] = ep4(0x0a000010 + (uint32_t)i, 40000);
	for (int i = 0; i < 3; i++)
		pkt(ft, &e[i], &s, TCP_SYN, 1, 0, NULL, 10 + 10 * i);
	pkt(ft, &e[0], &s, TCP_ACK, 2, 1, NULL, 40); /* e[0] touched: e[1] is oldest */
	pkt(ft, &e[3], &s, TCP_SYN, 1, 0, NULL, 50);
	const struct flow_stats *st = flow_table_stats(ft);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(user_n(&fk, 2)->closes, 1);
	CHECK_INT(user_n(&fk, 2)->why, END_EVICTED);
	CHECK_INT(user_n(&fk, 2)->close_fi.anomalies, ANOM_EVICTED);
	CHECK_INT(st->evicted, 1);
	CHECK_INT(st->active, 3);
	pkt(ft, &e[4], &s, TCP_SYN, 1, 0, NULL, 60);
	CHECK_INT(user_n(&fk, 3)->why, END_EVICTED);
	CHECK_INT(user_n(&fk, 1)->closes, 0);
	CHECK_INT(st->evicted, 2);
	CHECK_INT(st->active, 3);
	CHECK_INT(st->peak_active, 3);
	pkt(ft, &e[1], &s, PA, 2, 1, "back", 70); /* the evicted one returns */
	CHECK_INT(fk.opens, 6);
	CHECK_INT(user_n(&fk, 1)->why, END_EVICTED);
	CHECK_INT(st->active, 3);
	flow_table_free(ft);
	CHECK_STR(user_n(&fk, 6)->out[DIR_C2S], "back");
	CHECK_INT(fk.closes, 6);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* Closed flows lingering count toward max_flows; pushing one out is not an
 * eviction. */
static void test_evict_lingering(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 2;
	struct flow_table *ft = table(&fk, &lim);
	struct ep s = ep4(0x0a000002, 25), a = ep4(0x0a000010, 1), b = ep4(0x0a000011, 2),
		  c = ep4(0x0a000012, 3);
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 1);
	pkt(ft, &a, &s, TCP_RST, 2, 0, NULL, 1.5);
	pkt(ft, &b, &s, TCP_SYN, 1, 0, NULL, 2);
	pkt(ft, &c, &s, TCP_SYN, 1, 0, NULL, 3);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(flow_table_stats(ft)->evicted, 0);
	CHECK_INT(flow_table_stats(ft)->active, 2);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 3);
	CHECK_INT(fk.reasons[END_EVICTED], 0);
	fake_free(&fk);
}

/* Room is made by dropping an ended, lingering flow near the LRU head
 * before ending an open one. */
static void test_evict_prefers_ended(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 3;
	lim.idle_timeout = 1000;
	lim.closed_linger = 100;
	struct flow_table *ft = table(&fk, &lim);
	struct ep s = ep4(0x0a000002, 25), a = ep4(0x0a000010, 1), b = ep4(0x0a000011, 2),
		  c = ep4(0x0a000012, 3), d = ep4(0x0a000013, 4);
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 10); /* open, least recently seen */
	pkt(ft, &b, &s, TCP_SYN, 1, 0, NULL, 20);
	pkt(ft, &b, &s, TCP_RST, 2, 0, NULL, 21); /* ended, lingering */
	pkt(ft, &c, &s, TCP_SYN, 1, 0, NULL, 30);
	pkt(ft, &d, &s, TCP_SYN, 1, 0, NULL, 40);
	CHECK_INT(flow_table_stats(ft)->evicted, 0);
	CHECK_INT(user_n(&fk, 1)->closes, 0);
	CHECK_INT(flow_table_stats(ft)->active, 3);
	flow_table_free(ft);
	CHECK_INT(fk.reasons[END_EVICTED], 0);
	fake_free(&fk);
}

static void test_syn_flood(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 1000;
	struct flow_table *ft = table(&fk, &lim);
	fk.keep = 0;
	struct ep s = ep4(0x0a000002, 25);
	size_t over = 0;
	for (uint32_t i = 0; i < 100000; i++) {
		struct ep c = ep4(0x0b000000 + i / 50, (uint16_t)(1024 + i % 50));
		pkt(ft, &c, &s, TCP_SYN, i, 0, NULL, 1 + i * 1e-5);
		if (flow_table_stats(ft)->active > 1000)
			over++;
	}
	const struct flow_stats *st = flow_table_stats(ft);
	CHECK_INT(over, 0);
	CHECK_INT(st->active, 1000);
	CHECK_INT(st->peak_active, 1000);
	CHECK_INT(st->created, 100000);
	CHECK_INT(st->evicted, 99000);
	CHECK_INT(fk.closes, 99000);
	CHECK_INT(fk.reasons[END_EVICTED], 99000);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 100000);
	CHECK_INT(fk.reasons[END_EOF], 1000);
	fake_free(&fk);
}

/* Bytes held for reassembly are counted while held, and no more once the
 * flow ended. */
static void test_buffered(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, TCP_PSH, CISN + 5, 0, "EFGH", 2);
	pkt(ft, &c, &s, TCP_PSH, CISN + 11, 0, "KL", 2.1);
	CHECK_INT(flow_table_stats(ft)->buffered, 6);
	CHECK_INT(flow_table_stats(ft)->peak_buffered, 6);
	pkt(ft, &c, &s, TCP_PSH, CISN + 1, 0, "ABCD", 3);
	CHECK_INT(flow_table_stats(ft)->buffered, 2);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "ABCDEFGH");
	pkt(ft, &c, &s, TCP_RST, CISN + 13, 0, NULL, 4);
	struct user *u = user_n(&fk, 1);
	CHECK_STR(u->out[DIR_C2S], "ABCDEFGHKL"); /* flushed at the end */
	CHECK_INT(u->gaps[DIR_C2S], 2);
	CHECK_INT(u->close_fi.anomalies, ANOM_GAP);
	CHECK_INT(flow_table_stats(ft)->buffered, 0);
	CHECK_INT(flow_table_stats(ft)->peak_buffered, 6);
	flow_table_free(ft);
	fake_free(&fk);
}

/* The global reassembly budget (max_buffered) is shared by the flows. */
static void test_budget(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_buffered = 4;
	struct flow_table *ft = table(&fk, &lim);
	struct ep a = ep4(0x0a000001, 40000), b = ep4(0x0a000001, 40001);
	struct ep s = ep4(0x0a000002, 25);
	handshake(ft, &a, &s, 1);
	handshake(ft, &b, &s, 1);
	pkt(ft, &a, &s, TCP_PSH, CISN + 3, 0, "CDEF", 2);
	pkt(ft, &b, &s, TCP_PSH, CISN + 3, 0, "cd", 2.1);
	CHECK_STR(user_n(&fk, 2)->out[DIR_C2S], "cd");
	CHECK_INT(user_n(&fk, 2)->gaps[DIR_C2S], 2);
	CHECK_INT(flow_table_stats(ft)->reasm_overflows, 1);
	CHECK_INT(flow_table_stats(ft)->buffered, 4);
	flow_table_free(ft);
	CHECK_INT(user_n(&fk, 2)->close_fi.anomalies, ANOM_GAP | ANOM_REASM_OVERFLOW);
	CHECK_INT(user_n(&fk, 1)->close_fi.anomalies, ANOM_GAP);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "CDEF");
	fake_free(&fk);
}

/* ---- IPv4 and IPv6, done, end_all, growth ------------------------------------------ */

/* The same address bytes under IPv4 and IPv6 are different flows. */
static void test_families(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c4 = ep4(0x0a000001, 40000), s4 = ep4(0x0a000002, 25);
	struct ep c6 = c4, s6 = s4;
	c6.family = s6.family = 6;
	pkt(ft, &c4, &s4, PA, 1, 1, "four", 1);
	pkt(ft, &c6, &s6, PA, 1, 1, "six", 1);
	pkt(ft, &s4, &c4, PA, 1, 5, "4", 1);
	pkt(ft, &s6, &c6, PA, 1, 4, "6", 1);
	CHECK_INT(fk.opens, 2);
	CHECK_INT(user_n(&fk, 1)->open_fi.family, 4);
	CHECK_INT(user_n(&fk, 2)->open_fi.family, 6);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "four");
	CHECK_STR(user_n(&fk, 1)->out[DIR_S2C], "4");
	CHECK_STR(user_n(&fk, 2)->out[DIR_C2S], "six");
	CHECK_STR(user_n(&fk, 2)->out[DIR_S2C], "6");
	flow_table_free(ft);
	fake_free(&fk);
}

static void test_done(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	fk.done_at = 3;
	struct ep c = ep6(1, 40000), s = ep6(2, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220", 2);
	pkt(ft, &s, &c, PA, SISN + 4, CISN + 1, " more", 3);
	pkt(ft, &c, &s, PA, CISN + 1, SISN + 9, "EHLO", 4);
	struct user *u = user_n(&fk, 1);
	CHECK_STR(u->out[DIR_S2C], "220");
	CHECK_STR(u->out[DIR_C2S], "");
	CHECK_INT(u->packets[DIR_S2C], 3);
	CHECK_INT(u->packets[DIR_C2S], 3);
	pkt(ft, &c, &s, TCP_FIN | TCP_ACK, CISN + 5, SISN + 9, NULL, 5);
	CHECK_INT(fk.closes, 0);
	pkt(ft, &s, &c, TCP_FIN | TCP_ACK, SISN + 9, CISN + 6, NULL, 6);
	CHECK_INT(fk.closes, 1);
	CHECK_INT(u->why, END_FIN);
	CHECK_INT(u->close_fi.payload[DIR_S2C], 8);
	CHECK_INT(u->close_fi.payload[DIR_C2S], 4);
	CHECK_INT(u->gaps[DIR_C2S] + u->gaps[DIR_S2C], 0);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 1);
	fake_free(&fk);
}

static void test_end_all(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep s = ep4(0x0a000002, 25), a = ep4(0x0a000010, 1), b = ep4(0x0a000011, 2),
		  c = ep4(0x0a000012, 3);
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 1);
	pkt(ft, &b, &s, PA, 1, 0, "head", 1); /* b mid-stream */
	pkt(ft, &b, &s, PA, 9, 0, "more", 1); /* held after a hole */
	pkt(ft, &c, &s, TCP_SYN, 1, 0, NULL, 1);
	pkt(ft, &c, &s, TCP_RST, 2, 0, NULL, 1);
	flow_table_end_all(ft, END_IDLE);
	CHECK_INT(fk.closes, 3);
	CHECK_INT(fk.reasons[END_IDLE], 2);
	CHECK_INT(fk.reasons[END_RST], 1);
	CHECK_INT(fk.double_closes, 0);
	CHECK_INT(flow_table_stats(ft)->active, 0);
	CHECK_STR(user_n(&fk, 2)->out[DIR_C2S], "headmore");
	CHECK_INT(user_n(&fk, 2)->gaps[DIR_C2S], 4);
	CHECK_INT(user_n(&fk, 2)->close_fi.midstream, 1);
	/* the table still works afterwards */
	pkt(ft, &a, &s, TCP_SYN, 1, 0, NULL, 2);
	CHECK_INT(fk.opens, 4);
	flow_table_end_all(ft, END_EOF);
	CHECK_INT(fk.reasons[END_EOF], 1);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 4);
	flow_table_free(NULL);
	fake_free(&fk);
}

/* More flows than the 1024 initial buckets: every packet still finds its
 * own flow. */
enum { GROWTH_N = 5000 };

static struct ep growth_ep(int i)
{
	return ep6((uint16_t)(1000 + i % 97), (uint16_t)(10000 + i));
}

static int growth_wrong(struct fake *fk)
{
	int wrong = 0;
	for (int i = 0; i < GROWTH_N; i++) {
		struct user *u = (size_t)i < fk->nusers ? fk->users[i] : NULL;
		char want[2][32];
		snprintf(want[0], sizeof want[0], "c%d;", i);
		snprintf(want[1], sizeof want[1], "s%d", i);
		if (!u || strcmp(u->out[DIR_C2S], want[0]) || strcmp(u->out[DIR_S2C], want[1]) ||
		    u->open_fi.client_port != 10000 + i)
			wrong++;
	}
	return wrong;
}

static void test_growth(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 100000;
	struct flow_table *ft = table(&fk, &lim);
	struct ep s = ep6(0x25, 25);
	char msg[32];
	for (int i = 0; i < GROWTH_N; i++) {
		struct ep c = growth_ep(i);
		snprintf(msg, sizeof msg, "c%d;", i);
		pkt(ft, &c, &s, PA, 1, 1, msg, 1);
	}
	for (int i = GROWTH_N - 1; i >= 0; i--) {
		struct ep c = growth_ep(i);
		snprintf(msg, sizeof msg, "s%d", i);
		pkt(ft, &s, &c, PA, 1, 1, msg, 2);
	}
	CHECK_INT(fk.opens, GROWTH_N);
	CHECK_INT(flow_table_stats(ft)->active, GROWTH_N);
	CHECK_INT(growth_wrong(&fk), 0);
	for (int i = 0; i < GROWTH_N; i += 2) { /* every flow is found again to end it */
		struct ep c = growth_ep(i);
		pkt(ft, &c, &s, TCP_RST, 5, 0, NULL, 3);
	}
	CHECK_INT(fk.reasons[END_RST], GROWTH_N / 2);
	CHECK_INT(flow_table_stats(ft)->active, GROWTH_N);
	flow_table_free(ft);
	CHECK_INT(fk.closes, GROWTH_N);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* The optional callbacks may be NULL. */
static void test_optional_callbacks(void)
{
	struct fake fk;
	struct flow_callbacks cb = fk_cb;
	cb.packet = NULL;
	cb.done = NULL;
	memset(&fk, 0, sizeof fk);
	fk.keep = 1;
	struct flow_table *ft = flow_table_new(&lim_default, &cb, &fk);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, PA, CISN + 1, SISN + 1, "EHLO", 2);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "EHLO");
	CHECK_INT(user_n(&fk, 1)->packets[DIR_C2S], 0);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 1);
	fake_free(&fk);
}

/* Snapshot-length cuts are reported in the flow's anomalies. */
static void test_snaplen(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt_cut(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 ", 1400, 2);
	pkt(ft, &s, &c, PA, SISN + 1401, CISN + 1, "250", 3);
	struct user *u = user_n(&fk, 1);
	CHECK_STR(u->out[DIR_S2C], "220 250");
	CHECK_INT(u->gaps[DIR_S2C], 1396);
	flow_table_free(ft);
	CHECK_INT(u->close_fi.payload[DIR_S2C], 1403);
	CHECK_INT(u->close_fi.anomalies, ANOM_SNAPLEN | ANOM_GAP);
	fake_free(&fk);
	/* TCP headers cut after their flags (snaplen 64): no payload captured,
	 * its length known; the connection is there, all gaps */
	ft = table(&fk, &lim_default);
	pkt_cut(ft, &c, &s, PA, CISN + 1, SISN + 1, "", 6, 1);
	pkt_cut(ft, &s, &c, PA, SISN + 1, CISN + 7, "", 30, 1.1);
	CHECK_INT(fk.opens, 1);
	flow_table_free(ft);
	u = user_n(&fk, 1);
	CHECK_INT(u->gaps[DIR_C2S], 6);
	CHECK_INT(u->gaps[DIR_S2C], 30);
	CHECK_INT(u->close_fi.payload[DIR_S2C], 30);
	CHECK_INT(u->close_fi.anomalies, ANOM_SNAPLEN | ANOM_GAP);
	CHECK_INT(u->close_fi.midstream, 1);
	fake_free(&fk);
}


int main(void)
{
	test_one_flow();
	test_roles();
	test_stray();
	test_refused();
	test_rst();
	test_rst_server();
	test_fin();
	test_fin_after_hole();
	test_reuse();
	test_reuse_open();
	test_after_linger();
	test_idle();
	test_evict();
	test_evict_lingering();
	test_evict_prefers_ended();
	test_syn_flood();
	test_buffered();
	test_budget();
	test_families();
	test_done();
	test_end_all();
	test_growth();
	test_optional_callbacks();
	test_snaplen();
	return check_done("flow");
}
