/* Ended flows lingering in the table: the table keeps only their entry
 * (key, sequence numbers, times), moved out of the flow at its end while
 * other flows sit before and after it in its hash chain and in the LRU
 * list; late packets of each are still absorbed without a new
 * connection, a new connection on its tuple still opens, and the linger
 * still runs out. */
#include "flow_fake.h"

enum { LINGER_N = 3000, LINGER_STEP = 7 }; /* 7 is prime to LINGER_N: every flow, scattered */

static struct ep linger_ep(int i)
{
	return i % 2 ? ep4(0x0a000000u + (uint32_t)(i % 61), (uint16_t)(20000 + i))
		     : ep6((uint16_t)(i % 53), (uint16_t)(20000 + i));
}

static struct ep linger_server(int i)
{
	return i % 2 ? ep4(0xac100001u, 25) : ep6(0x25, 25);
}

/* Opens every flow and has it say its number both ways. */
static void linger_open_all(struct flow_table *ft)
{
	char msg[32];
	for (int i = 0; i < LINGER_N; i++) {
		struct ep c = linger_ep(i), s = linger_server(i);
		handshake(ft, &c, &s, 1);
		snprintf(msg, sizeof msg, "%05d", i);
		pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, msg, 1.1);
		pkt(ft, &c, &s, PA, CISN + 1, SISN + 6, msg, 1.2);
	}
}

/* Ends the flows in a scattered order, half by FIN, half by RST. */
static void linger_end_all(struct flow_table *ft)
{
	for (int k = 0, i = 0; k < LINGER_N; k++, i = (i + LINGER_STEP) % LINGER_N) {
		struct ep c = linger_ep(i), s = linger_server(i);
		if (i % 3 == 0) {
			pkt(ft, &c, &s, TCP_RST | TCP_ACK, CISN + 6, SISN + 6, NULL, 2);
			continue;
		}
		pkt(ft, &s, &c, TCP_FIN | TCP_ACK, SISN + 6, CISN + 6, NULL, 2);
		pkt(ft, &c, &s, TCP_FIN | TCP_ACK, CISN + 6, SISN + 7, NULL, 2.1);
	}
}

/* Late packets of every ended flow: a retransmitted segment of each side,
 * the last ACK, a repeated SYN-ACK of the same connection. */
static void linger_late(struct flow_table *ft, double ts)
{
	char msg[32];
	for (int i = LINGER_N - 1; i >= 0; i--) {
		struct ep c = linger_ep(i), s = linger_server(i);
		snprintf(msg, sizeof msg, "%05d", i);
		pkt(ft, &s, &c, PA, SISN + 1, CISN + 1, msg, ts);
		pkt(ft, &c, &s, PA, CISN + 1, SISN + 6, msg, ts);
		pkt(ft, &s, &c, TCP_ACK, SISN + 7, CISN + 7, NULL, ts);
		pkt(ft, &s, &c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, ts);
	}
}

/* Flows whose record shows another's addresses, or bytes, or ending. */
static int linger_wrong(struct fake *fk)
{
	int wrong = 0;
	for (int i = 0; i < LINGER_N; i++) {
		struct user *u = (size_t)i < fk->nusers ? fk->users[i] : NULL;
		struct ep c = linger_ep(i), s = linger_server(i);
		char want[32];
		snprintf(want, sizeof want, "%05d", i);
		if (!u || u->closes != 1 || strcmp(u->out[DIR_C2S], want) ||
		    strcmp(u->out[DIR_S2C], want) || u->close_fi.family != c.family ||
		    !ep_is(u->close_fi.client, u->close_fi.client_port, &c, c.port) ||
		    !ep_is(u->close_fi.server, u->close_fi.server_port, &s, 25) ||
		    u->close_fi.first_ts != 1 || u->close_fi.payload[DIR_C2S] != 5 ||
		    u->why != (i % 3 == 0 ? END_RST : END_FIN))
			wrong++;
	}
	return wrong;
}

static void test_linger_many(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 100000;
	struct flow_table *ft = table(&fk, &lim);
	linger_open_all(ft);
	linger_end_all(ft);
	CHECK_INT(fk.closes, LINGER_N);
	CHECK_INT(linger_wrong(&fk), 0);
	CHECK_INT(flow_table_stats(ft)->active, LINGER_N); /* all lingering */
	linger_late(ft, 3);
	linger_late(ft, 6.5); /* the linger counts from the last late packet */
	CHECK_INT(fk.opens, LINGER_N);
	CHECK_INT(fk.late, 0);
	CHECK_INT(fk.double_closes, 0);
	CHECK_INT(flow_table_stats(ft)->ignored_packets, 0);
	CHECK_INT(flow_table_stats(ft)->active, LINGER_N);
	/* a SYN with another ISN on every other tuple: a new connection */
	for (int i = 0; i < LINGER_N; i += 2) {
		struct ep c = linger_ep(i), s = linger_server(i);
		pkt(ft, &c, &s, TCP_SYN, 90000, 0, NULL, 7);
	}
	CHECK_INT(fk.opens, LINGER_N + LINGER_N / 2);
	CHECK_INT(flow_table_stats(ft)->active, LINGER_N);
	/* the other half's linger runs out: only the new connections stay */
	struct ep c = ep4(0x0b000001, 40000), s = ep4(0x0b000002, 25);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 6.5 + lim.closed_linger + 0.1);
	CHECK_INT(flow_table_stats(ft)->active, LINGER_N / 2 + 1);
	CHECK_INT(fk.closes, LINGER_N);
	flow_table_free(ft);
	CHECK_INT(fk.closes, LINGER_N + LINGER_N / 2 + 1);
	CHECK_INT(fk.double_closes, 0);
	CHECK_INT(fk.late, 0);
	fake_free(&fk);
}

/* Lingering entries pushed out by max_flows, from the LRU head, the
 * middle (the cheapest near the head) and with open flows around them. */
static void test_linger_evicted(void)
{
	struct fake fk;
	struct flow_limits lim = lim_default;
	lim.max_flows = 8;
	struct flow_table *ft = table(&fk, &lim);
	for (int i = 0; i < 8; i++) {
		struct ep c = linger_ep(i), s = linger_server(i);
		handshake(ft, &c, &s, 1 + i * 0.01);
		if (i % 2)
			pkt(ft, &c, &s, TCP_RST, CISN + 1, 0, NULL, 1.5);
	}
	CHECK_INT(fk.closes, 4);
	for (int i = 8; i < 12; i++) { /* each pushes out one lingering flow */
		struct ep c = linger_ep(i), s = linger_server(i);
		handshake(ft, &c, &s, 2);
	}
	CHECK_INT(fk.closes, 4);
	CHECK_INT(flow_table_stats(ft)->evicted, 0);
	CHECK_INT(flow_table_stats(ft)->active, 8);
	for (int i = 0; i < 8; i += 2) { /* the open ones are all still there */
		struct ep c = linger_ep(i), s = linger_server(i);
		pkt(ft, &c, &s, PA, CISN + 1, SISN + 1, "x", 3);
	}
	CHECK_INT(fk.opens, 12);
	flow_table_free(ft);
	CHECK_INT(fk.closes, 12);
	CHECK_INT(fk.double_closes, 0);
	fake_free(&fk);
}

int main(void)
{
	test_linger_many();
	test_linger_evicted();
	return check_done("flow_linger");
}
