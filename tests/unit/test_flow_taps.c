/* The flow table fed as two tap ports (one per direction) merged with a
 * clock offset deliver a connection: one flow whatever the offset, its
 * bytes in the order the peers exchanged them; duplicates; a late SYN; a
 * SYN telling a new connection from a late one by its sequence numbers. */
#include "../../capture/reasm.h"
#include "flow_fake.h"

/* ---- two taps merged with a clock offset ------------------------------------------ */

/* A short session as the wire had it: each packet with its time; the
 * client's are stamped by one tap, the server's by another. */
struct wire_pkt {
	int from_client;
	uint8_t flags;
	uint32_t seq, ack; /* relative to the client's and server's ISNs */
	const char *data;
	double t;
};

static const struct wire_pkt session[] = {
	{1, TCP_SYN, 0, 0, NULL, 0.000},
	{0, TCP_SYN | TCP_ACK, 0, 1, NULL, 0.001},
	{1, TCP_ACK, 1, 1, NULL, 0.002},
	{0, PA, 1, 1, "220 mx\r\n", 0.010},
	{1, TCP_ACK, 1, 9, NULL, 0.011},
	{1, PA, 1, 9, "EHLO a\r\n", 0.020},
	{0, PA, 9, 9, "250 ok\r\n", 0.021},
	{1, PA, 9, 17, "MAIL\r\n", 0.030},
	{0, PA, 17, 15, "250 ok\r\n", 0.031},
	{1, PA, 15, 25, "QUIT\r\n", 0.040},
	{0, PA, 25, 21, "221 by\r\n", 0.041},
	{0, TCP_FIN | TCP_ACK, 33, 21, NULL, 0.042},
	{1, TCP_FIN | TCP_ACK, 21, 34, NULL, 0.043},
	{0, TCP_ACK, 34, 22, NULL, 0.044},
};

#define SESSION_LOG "<220 mx\r\n>EHLO a\r\n<250 ok\r\n>MAIL\r\n<250 ok\r\n>QUIT\r\n<221 by\r\n"
#define NPKT (sizeof session / sizeof session[0])

/* Ended as TLS sessions end here: the server's last bytes and FIN, the
 * client's RST acknowledging them. */
static const struct wire_pkt session_rst[] = {
	{1, TCP_SYN, 0, 0, NULL, 0.000},
	{0, TCP_SYN | TCP_ACK, 0, 1, NULL, 0.001},
	{1, TCP_ACK, 1, 1, NULL, 0.002},
	{0, PA, 1, 1, "220 mx\r\n", 0.010},
	{1, PA, 1, 9, "QUIT\r\n", 0.020},
	{0, PA, 9, 7, "221 by\r\n", 0.021},
	{0, TCP_FIN | TCP_ACK | TCP_PSH, 17, 7, "alert", 0.022},
	{1, TCP_RST | TCP_ACK, 7, 23, NULL, 0.023},
};

/* Ended the way Postfix hangs up on a client that went quiet
 * (tests/data/links/two-taps-*.pcap): its FIN, then a bare RST. With the
 * client's tap 50 ms late every server packet, the RST too, comes before
 * the client's SYN: only the SYN-ACK tells what the client sent. */
static const struct wire_pkt session_bare_rst[] = {
	{1, TCP_SYN, 0, 0, NULL, 0.000},
	{0, TCP_SYN | TCP_ACK, 0, 1, NULL, 0.001},
	{1, TCP_ACK, 1, 1, NULL, 0.002},
	{0, PA, 1, 1, "220 mx\r\n", 0.010},
	{1, PA, 1, 9, "QUIT\r\n", 0.020},
	{0, PA, 9, 7, "221 by\r\n", 0.021},
	{0, TCP_FIN | TCP_ACK, 17, 7, NULL, 0.022},
	{0, TCP_RST, 18, 0, NULL, 0.023},
};

struct script {
	const struct wire_pkt *p;
	size_t n;
	const char *log;
	enum end_reason why;
	uint64_t c2s, s2c;
};

static const struct script scripts[] = {
	{session, NPKT, SESSION_LOG, END_FIN, 20, 32},
	{session_rst, sizeof session_rst / sizeof session_rst[0],
	 "<220 mx\r\n>QUIT\r\n<221 by\r\n<alert", END_RST, 6, 21},
	{session_bare_rst, sizeof session_bare_rst / sizeof session_bare_rst[0],
	 "<220 mx\r\n>QUIT\r\n<221 by\r\n", END_RST, 6, 16},
};

/* The capture order when the client's tap stamps skew seconds late: by
 * stamped time, ties in wire order. */
static void merge_order(const struct script *sc, double skew, size_t *order)
{
	for (size_t i = 0; i < sc->n; i++)
		order[i] = i;
	for (size_t i = 1; i < sc->n; i++) {
		for (size_t j = i; j > 0; j--) {
			const struct wire_pkt *a = &sc->p[order[j - 1]], *b = &sc->p[order[j]];
			double ta = a->t + (a->from_client ? skew : 0);
			double tb = b->t + (b->from_client ? skew : 0);
			if (ta <= tb)
				break;
			size_t x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	}
}

static void replay(struct flow_table *ft, const struct script *sc, const size_t *order,
		   size_t n, double skew, uint32_t cisn, uint32_t sisn, double t0)
{
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	for (size_t k = 0; k < n; k++) {
		const struct wire_pkt *w = &sc->p[order[k]];
		if (w->from_client)
			pkt(ft, &c, &s, w->flags, cisn + w->seq, sisn + w->ack, w->data,
			    t0 + w->t + skew);
		else
			pkt(ft, &s, &c, w->flags, sisn + w->seq, cisn + w->ack, w->data, t0 + w->t);
	}
}

/* Whatever the offset (either tap late by up to 100 ms): one connection,
 * its bytes in the order the peers exchanged them, its start seen, its
 * packets counted (an RST waits for the bytes it acknowledges), the end
 * the wire had. */
static void test_skewed_taps(void)
{
	static const double skews[] = {-0.1, -0.05, -0.0205, -0.011, -0.002, 0, 0.0015, 0.009,
				       0.015, 0.05, 0.1};
	for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
		const struct script *sc = &scripts[k];
		for (size_t i = 0; i < sizeof skews / sizeof skews[0]; i++) {
			struct fake fk;
			size_t order[NPKT];
			int failed = check_failed;
			struct flow_table *ft = table(&fk, &lim_default);
			merge_order(sc, skews[i], order);
			replay(ft, sc, order, sc->n, skews[i], 1000, 0xfffffff0u, 5);
			CHECK_INT(fk.opens, 1);
			flow_table_free(ft);
			CHECK_INT(fk.closes, 1);
			struct user *u = user_n(&fk, 1);
			CHECK_STR(u->log, sc->log);
			CHECK_INT(u->why, sc->why);
			CHECK_INT(u->close_fi.midstream, 0);
			CHECK_INT(u->close_fi.anomalies, 0);
			/* the last ACK of a FIN may come after the end (then not counted) */
			CHECK(u->close_fi.packets == sc->n || (sc->why == END_FIN && u->close_fi.packets == sc->n - 1));
			CHECK_INT(u->close_fi.payload[DIR_C2S], sc->c2s);
			CHECK_INT(u->close_fi.payload[DIR_S2C], sc->s2c);
			struct ep c = ep4(0x0a000001, 40000);
			CHECK(ep_is(u->open_fi.client, u->open_fi.client_port, &c, 40000));
			if (check_failed != failed)
				fprintf(stderr, "     script %zu, skew %g\n", k, skews[i]);
			fake_free(&fk);
		}
	}
}

/* Every packet duplicated (both taps saw it): still one connection. */
static void test_duplicated_taps(void)
{
	struct fake fk;
	size_t order[2 * NPKT];
	struct flow_table *ft = table(&fk, &lim_default);
	merge_order(&scripts[0], 0.03, order);
	for (size_t i = NPKT; i-- > 0;)
		order[2 * i] = order[2 * i + 1] = order[i];
	replay(ft, &scripts[0], order, 2 * NPKT, 0.03, 77, 88, 1);
	CHECK_INT(fk.opens, 1);
	CHECK_STR(user_n(&fk, 1)->log, SESSION_LOG);
	flow_table_free(ft);
	fake_free(&fk);
}

/* The client's SYN after its first data, the SYN-ACK never seen: one
 * flow, and the late SYN proves its start was captured. */
static void test_late_syn(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	pkt(ft, &c, &s, PA, CISN + 1, SISN + 9, "EHLO a\r\n", 1.0);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.001);
	CHECK_INT(fk.opens, 1);
	CHECK_INT(user_n(&fk, 1)->open_fi.midstream, 1); /* all it knew then */
	flow_table_free(ft);
	CHECK_STR(user_n(&fk, 1)->out[DIR_C2S], "EHLO a\r\n");
	CHECK_INT(user_n(&fk, 1)->close_fi.midstream, 0);
	fake_free(&fk);
	/* a SYN further back: bytes before the data were missed */
	ft = table(&fk, &lim_default);
	pkt(ft, &c, &s, PA, CISN + 101, SISN + 9, "MAIL\r\n", 1.0);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.001);
	CHECK_INT(fk.opens, 1);
	flow_table_free(ft);
	CHECK_INT(user_n(&fk, 1)->close_fi.midstream, 1);
	fake_free(&fk);
}

/* A late SYN of a connection that ended by an RST is absorbed; a SYN
 * with a new ISN inside an open connection's sequence numbers is no new
 * connection; outside them it is one (test_reuse_open). */
static void test_syn_verdicts(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	pkt(ft, &s, &c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, 1.0);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 hi\r\n", 1.01);
	pkt(ft, &s, &c, TCP_RST | TCP_ACK, SISN + 9, CISN + 1, NULL, 1.02);
	CHECK_INT(fk.closes, 1);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.05); /* the other tap's, late */
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.06);
	CHECK_INT(fk.opens, 1);
	CHECK_INT(user_n(&fk, 1)->open_fi.midstream, 0);
	CHECK(ep_is(user_n(&fk, 1)->open_fi.client, user_n(&fk, 1)->open_fi.client_port, &c, 40000));
	flow_table_free(ft);
	fake_free(&fk);
	ft = table(&fk, &lim_default);
	handshake(ft, &c, &s, 1);
	pkt(ft, &c, &s, PA, CISN + 1, SISN + 1, "EHLO\r\n", 1.1);
	pkt(ft, &c, &s, TCP_SYN, CISN + 3000, 0, NULL, 1.2); /* in its window */
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 7, "250\r\n", 1.3);
	CHECK_INT(fk.opens, 1);
	CHECK_INT(fk.closes, 0);
	flow_table_free(ft);
	CHECK_STR(user_n(&fk, 1)->out[DIR_S2C], "250\r\n");
	fake_free(&fk);
}

/* The tuple reused after a FIN, the new connection's SYN-ACK before its
 * SYN (the server's tap ahead): two connections, the second whole. */
static void test_reuse_skewed(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	handshake(ft, &c, &s, 1);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 old\r\n", 1.1);
	pkt(ft, &c, &s, TCP_FIN | TCP_ACK, CISN + 1, SISN + 10, NULL, 1.2);
	pkt(ft, &s, &c, TCP_FIN | TCP_ACK, SISN + 10, CISN + 2, NULL, 1.3);
	pkt(ft, &c, &s, TCP_ACK, CISN + 2, SISN + 11, NULL, 1.4);
	CHECK_INT(fk.closes, 1);
	pkt(ft, &s, &c, TCP_SYN | TCP_ACK, 900000, 700001, NULL, 3.0);
	pkt(ft, &s, &c, PA, 900001, 700001, "220 new\r\n", 3.01);
	pkt(ft, &c, &s, TCP_SYN, 700000, 0, NULL, 3.05);
	pkt(ft, &c, &s, TCP_ACK, 700001, 900001, NULL, 3.06);
	CHECK_INT(fk.opens, 2);
	CHECK_INT(user_n(&fk, 1)->why, END_FIN);
	struct user *u2 = user_n(&fk, 2);
	CHECK_STR(u2->out[DIR_S2C], "220 new\r\n");
	CHECK_INT(u2->open_fi.midstream, 0);
	CHECK(ep_is(u2->open_fi.client, u2->open_fi.client_port, &c, 40000));
	flow_table_free(ft);
	CHECK_INT(fk.closes, 2);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* An RST acknowledging server bytes not yet seen: the flow waits for
 * them (counted when they come), or ends REASM_PEER_WAIT after the RST by
 * packet time, by any flow's packet. */
static void test_rst_waits(void)
{
	struct fake fk;
	struct flow_table *ft = table(&fk, &lim_default);
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	struct ep c2 = ep4(0x0a000003, 40000);
	handshake(ft, &c, &s, 1);
	pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, "220 hi\r\n", 1.1);
	pkt(ft, &c, &s, TCP_RST | TCP_ACK, CISN + 1, SISN + 14, NULL, 2.0);
	CHECK_INT(fk.closes, 0);
	pkt(ft, &s, &c, PA | TCP_FIN, SISN + 9, CISN + 1, "421\r\n", 2.05); /* the other tap's */
	CHECK_INT(fk.closes, 1);
	CHECK_INT(user_n(&fk, 1)->why, END_RST);
	CHECK_INT(user_n(&fk, 1)->close_fi.payload[DIR_S2C], 13);
	/* never coming: ended by time */
	handshake(ft, &c2, &s, 3);
	pkt(ft, &c2, &s, TCP_RST | TCP_ACK, CISN + 1, SISN + 50, NULL, 4.0);
	pkt(ft, &c, &s, TCP_SYN, 7777, 0, NULL, 4.0 + REASM_PEER_WAIT * 0.9);
	CHECK_INT(fk.closes, 1);
	pkt(ft, &c, &s, TCP_SYN, 7777, 0, NULL, 4.0 + REASM_PEER_WAIT * 1.1);
	CHECK_INT(fk.closes, 2);
	CHECK_INT(user_n(&fk, 2)->why, END_RST);
	CHECK_INT(flow_table_stats(ft)->timed_out, 0);
	flow_table_free(ft);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

/* An RST without ACK acknowledges nothing. Where the taps showed skew
 * (a reply came before its command), the peer's segments the other tap
 * delivers after it (the one it answered) still count, until
 * REASM_PEER_WAIT after it; from one tap it ends the flow at once. */
static void test_bare_rst(void)
{
	struct fake fk;
	struct ep c = ep4(0x0a000001, 40000), s = ep4(0x0a000002, 25);
	for (int skew = 0; skew < 2; skew++) {
		struct flow_table *ft = table(&fk, &lim_default);
		handshake(ft, &c, &s, 1);
		if (skew) { /* the reply first */
			pkt(ft, &s, &c, PA, SISN + 1, CISN + 7, "250\r\n", 1.5);
			pkt(ft, &c, &s, PA, CISN + 1, SISN + 1, "EHLO\r\n", 1.51);
		} else {
			pkt(ft, &c, &s, PA, CISN + 1, SISN + 1, "EHLO\r\n", 1.5);
			pkt(ft, &s, &c, PA, SISN + 1, CISN + 7, "250\r\n", 1.51);
		}
		pkt(ft, &s, &c, TCP_RST, SISN + 6, 0, NULL, 2.0);
		CHECK_INT(fk.closes, !skew);
		pkt(ft, &c, &s, PA, CISN + 7, SISN + 6, "late\r\n", 2.001);
		CHECK_INT(fk.closes, !skew);
		pkt(ft, &c, &s, PA, CISN + 13, SISN + 6, "later", 2.0 + REASM_PEER_WAIT * 1.1);
		CHECK_INT(fk.closes, 1);
		struct user *u = user_n(&fk, 1);
		CHECK_INT(u->why, END_RST);
		CHECK_STR(u->out[DIR_C2S], skew ? "EHLO\r\nlate\r\n" : "EHLO\r\n");
		CHECK_INT(u->close_fi.packets, skew ? 7 : 6);
		CHECK_INT(fk.opens, 1); /* the last is a late packet of the ended one */
		flow_table_free(ft);
		fake_free(&fk);
	}
}

int main(void)
{
	test_skewed_taps();
	test_duplicated_taps();
	test_late_syn();
	test_syn_verdicts();
	test_reuse_skewed();
	test_rst_waits();
	test_bare_rst();
	return check_done("flow_taps");
}
