/* The flow table's test harness: fake callbacks that record what each
 * connection got (its bytes per direction and in delivery order, gaps,
 * how it ended), and packet builders. Shared by test_flow.c and
 * test_flow_taps.c; header-only like check.h. */
#ifndef SMTPTLS_TEST_FLOW_FAKE_H
#define SMTPTLS_TEST_FLOW_FAKE_H

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

static inline int fk_is_server_port(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == 25 || port == 465 || port == 587;
}

static inline void *fk_open(void *ctx, const struct flow_info *fi)
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

static inline void fk_packet(void *ctx, void *user, int dir, const struct tcp_packet *pkt,
			     double ts)
{
	struct user *u = user;
	(void)ctx, (void)pkt, (void)ts;
	u->packets[dir]++;
	if (u->closes)
		u->fk->late++;
}

static inline void fk_data(void *user, int dir, const uint8_t *p, size_t len)
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

static inline void fk_gap(void *user, int dir, uint64_t len)
{
	struct user *u = user;
	u->gaps[dir] += len;
	if (u->closes)
		u->fk->late++;
}

static inline int fk_done(void *user)
{
	struct user *u = user;
	return u->fk->done_at && u->bytes >= u->fk->done_at;
}

static inline void fk_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
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

static inline void fake_free(struct fake *fk)
{
	for (size_t i = 0; i < fk->nusers; i++)
		free(fk->users[i]);
	free(fk->users);
	memset(fk, 0, sizeof *fk);
}

/* The user of the id-th open; a failed check and a blank user if none. */
static inline struct user *user_n(struct fake *fk, int id)
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

static inline struct ep ep4(uint32_t a, uint16_t port)
{
	struct ep e = {4, {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a},
		       port};
	return e;
}

static inline struct ep ep6(uint16_t last, uint16_t port)
{
	struct ep e = {6, {0x20, 0x01, 0x0d, 0xb8}, port};
	e.addr[14] = (uint8_t)(last >> 8);
	e.addr[15] = (uint8_t)last;
	return e;
}

/* A packet whose payload is data, of which wire bytes were sent (wire >=
 * strlen(data): the snapshot length cut the rest). */
static inline void pkt_cut(struct flow_table *ft, const struct ep *src, const struct ep *dst,
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

static inline void pkt(struct flow_table *ft, const struct ep *src, const struct ep *dst,
		uint8_t flags, uint32_t seq, uint32_t ack, const char *data, double ts)
{
	pkt_cut(ft, src, dst, flags, seq, ack, data, data ? strlen(data) : 0, ts);
}

#define PA (TCP_PSH | TCP_ACK)
enum { CISN = 100, SISN = 500 };

static inline void handshake(struct flow_table *ft, const struct ep *c, const struct ep *s,
			     double ts)
{
	pkt(ft, c, s, TCP_SYN, CISN, 0, NULL, ts);
	pkt(ft, s, c, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, ts + 0.001);
	pkt(ft, c, s, TCP_ACK, CISN + 1, SISN + 1, NULL, ts + 0.002);
}

static const struct flow_limits lim_default = {1000, 1u << 20, 1u << 16, 60.0, 5.0};

static inline struct flow_table *table(struct fake *fk, const struct flow_limits *lim)
{
	memset(fk, 0, sizeof *fk);
	fk->keep = 1;
	return flow_table_new(lim, &fk_cb, fk);
}

static inline int ep_is(const uint8_t *addr, uint16_t port, const struct ep *e, uint16_t eport)
{
	return memcmp(addr, e->addr, 16) == 0 && port == eport;
}

#endif
