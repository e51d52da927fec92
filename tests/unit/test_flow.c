/* The flow table with fake callbacks: one flow per connection whatever the
 * first packet, client and server roles, the ways a flow ends (RST, FIN,
 * idle, eviction, end_all), the caps, and hash table growth. */
#include <stdlib.h>
#include <string.h>

#include "../../capture/decode.h"
#include "../../capture/flow.h"
#include "../../common/record.h"
#include "check.h"

/* ---- fake callbacks --------------------------------------------------------- */

struct fake;

struct user {
	struct fake *fk;
	int id;       /* 1, 2, ... in open order */
	int closes;
	enum end_reason why;
	struct flow_info open_fi, close_fi;
	char out[2][64];
	size_t len[2];
	char log[256];    /* both directions in delivery order: '>' C2S, '<' S2C */
	size_t log_len;
	uint64_t gaps[2], bytes;
	unsigned packets[2];
};

struct fake {
	int refuse;    /* open returns NULL */
	uint64_t done_at; /* done() once this many bytes arrived; 0: never */
	int keep;      /* keep users to inspect them (else freed at close) */
	struct user **users;
	size_t nusers, cap;
	int opens, closes, double_closes, late;
	int reasons[END_REUSED + 1];
};

static int fk_is_server_port(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == 25 || port == 465 || port == 587;
}

static void *fk_open(void *ctx, const struct flow_info *fi)
{
	struct fake *fk = ctx;
	fk->opens++;
	if (fk->refuse)
		return NULL;
	struct user *u = calloc(1, sizeof *u);
	u->fk = fk;
	u->id = fk->opens;
	u->open_fi = *fi;
	if (fk->keep) {
		if (fk->nusers == fk->cap) {
			fk->cap = fk->cap ? fk->cap * 2 : 16;
			fk->users = realloc(fk->users, fk->cap * sizeof *fk->users);
		}
		fk->users[fk->nusers++] = u;
	}
	return u;
}

static void fk_packet(void *ctx, void *user, int dir, const struct tcp_packet *pkt, double ts)
{
	struct user *u = user;
	(void)ctx, (void)pkt, (void)ts;
	u->packets[dir]++;
	if (u->closes)
		u->fk->late++;
}

static void fk_data(void *user, int dir, const uint8_t *p, size_t len)
{
	struct user *u = user;
	size_t n = len < sizeof u->out[dir] - 1 - u->len[dir] ? len
							     : sizeof u->out[dir] - 1 - u->len[dir];
	memcpy(u->out[dir] + u->len[dir], p, n);
	u->len[dir] += n;
	u->out[dir][u->len[dir]] = '\0';
	if (u->log_len + 1 + len < sizeof u->log) {
		u->log[u->log_len++] = dir == DIR_C2S ? '>' : '<';
		memcpy(u->log + u->log_len, p, len);
		u->log_len += len;
		u->log[u->log_len] = '\0';
	}
	u->bytes += len;
	if (u->closes)
		u->fk->late++;
}

static void fk_gap(void *user, int dir, uint64_t len)
{
	struct user *u = user;
	u->gaps[dir] += len;
	if (u->closes)
		u->fk->late++;
}

static int fk_done(void *user)
{
	struct user *u = user;
	return u->fk->done_at && u->bytes >= u->fk->done_at;
}

static void fk_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct fake *fk = ctx;
	struct user *u = user;
	fk->closes++;
	fk->reasons[why]++;
	if (++u->closes > 1)
		fk->double_closes++;
	u->why = why;
	u->close_fi = *fi;
	if (!fk->keep)
		free(u);
}

static const struct flow_callbacks fk_cb = {fk_is_server_port, fk_open, fk_packet, fk_data,
					    fk_gap, fk_done, fk_close};

static void fake_free(struct fake *fk)
{
	for (size_t i = 0; i < fk->nusers; i++)
		free(fk->users[i]);
	free(fk->users);
	memset(fk, 0, sizeof *fk);
}

/* The user of the id-th open; a failed check and a blank user if none. */
static struct user *user_n(struct fake *fk, int id)
{
	static struct user none;
	if (id >= 1 && (size_t)id <= fk->nusers)
		return fk->users[id - 1];
	CHECK(!"no such flow");
	memset(&none, 0, sizeof none);
	return &none;
}

/* ---- packets ---------------------------------------------------------------- */

struct ep {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
};

static struct ep ep4(uint32_t a, uint16_t port)
{
	struct ep e = {4, {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a},
		       port};
	return e;
}

static struct ep ep6(uint16_t last, uint16_t port)
{
	struct ep e = {6, {0x20, 0x01, 0x0d, 0xb8}, port};
	e.addr[14] = (uint8_t)(last >> 8);
	e.addr[15] = (uint8_t)last;
	return e;
}

/* A packet whose payload is data, of which wire bytes were sent (wire >=
 * strlen(data): the snapshot length cut the rest). */
static void pkt_cut(struct flow_table *ft, const struct ep *src, const struct ep *dst,
		    uint8_t flags, uint32_t seq, uint32_t ack, const char *data, size_t wire,
		    double ts)
{
	struct tcp_packet t;
	memset(&t, 0, sizeof t);
	t.family = src->family;
	memcpy(t.src, src->addr, 16);
	memcpy(t.dst, dst->addr, 16);
	t.sport = src->port;
	t.dport = dst->port;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.payload = (const uint8_t *)data;
	t.caplen = data ? strlen(data) : 0;
	t.wirelen = wire;
	flow_table_packet(ft, &t, ts);
}

static void pkt(struct flow_table *ft, const struct ep *src, const struct ep *dst,
		uint8_t flags, uint32_t seq, uint32_t ack, const char *data, double ts)
{
	pkt_cut(ft, src, dst, flags, seq, ack, data, data ? strlen(data) : 0, ts);
}

#define PA (TCP_PSH | TCP_ACK)
enum { CISN = 100, SISN = 500 };

static void handshake(struct flow_table *ft, const struct ep *c, const struct ep *s, double ts)
{
	pkt(ft, c, s, TCP_SYN, CISN, 0, NULL, ts);
	pkt(ft, s, c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, ts + 0.001);
	pkt(ft, c, s, TCP_ACK, CISN + 1, SISN + 1, NULL, ts + 0.002);
}

static const struct flow_limits lim_default = {1000, 1u << 20, 1u << 16, 60.0, 5.0};

static struct flow_table *table(struct fake *fk, const struct flow_limits *lim)
{
	memset(fk, 0, sizeof *fk);
	fk->keep = 1;
	return flow_table_new(lim, &fk_cb, fk);
}

static int ep_is(const uint8_t *addr, uint16_t port, const struct ep *e, uint16_t eport)
{
	return memcmp(addr, e->addr, 16) == 0 && port == eport;
}

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
	pkt(ft, &s, &c, TCP_RST, SISN + 9, 0, NULL, 1.02);
	CHECK_INT(fk.closes, 1);
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.05); /* the other tap's, late */
	pkt(ft, &c, &s, TCP_SYN, CISN, 0, NULL, 1.06);
	CHECK_INT(fk.opens, 1);
	CHECK_INT(user_n(&fk, 1)->open_fi.midstream, 0);
	CHECK(ep_is(user_n(&fk, 1)->open_fi.client, user_n(&fk, 1)->open_fi.client_port, &c, 40000));
	flow_table_free(ft);
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
	test_skewed_taps();
	test_duplicated_taps();
	test_late_syn();
	test_syn_verdicts();
	test_reuse_skewed();
	return check_done("flow");
}
