#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "reasm.h"

/* Canonical key: endpoint 0 sorts before endpoint 1, so both directions
 * of a connection hash and compare alike. */
struct flow_key {
	uint8_t family;
	uint8_t addr[2][16];
	uint16_t port[2];
};

/* What a flow knows of one key endpoint's sequence numbers: enough to
 * tell a late or repeated SYN of this connection from a new connection
 * on the same addresses and ports. */
struct seqs {
	uint8_t isn_known;       /* its SYN, or the peer's SYN-ACK, was seen */
	uint8_t seen;            /* first and last are set */
	uint32_t isn;
	uint32_t first;          /* sequence number of its first segment seen */
	uint32_t last;           /* ... and the furthest end of one */
};

/* A flow's entry in the table: all that a flow keeps once it ended, while
 * it lingers to absorb late packets and to tell a new connection on its
 * addresses and ports (120 bytes: jemalloc's 128 class). An entry that is
 * not closed is the first member of a struct flow. */
struct flow_entry {
	/* what a hash chain walk reads, in the first cache line */
	struct flow_entry *hnext;
	uint32_t hash;
	uint8_t closed;          /* ended; lingering to absorb late packets */
	struct flow_key key;
	struct flow_entry *lru_prev, *lru_next; /* head = least recently seen */
	double lru_ts;           /* when last moved to the LRU tail */
	double last_ts;          /* its last packet */
	struct seqs sq[2];       /* per key endpoint */
};
_Static_assert(sizeof(struct flow_entry) <= 128, "a lingering flow fits 128 bytes");

/* What a flow counts for its struct flow_info (the rest of which comes
 * from the key). */
struct flow_tally {
	double first_ts;
	uint64_t packets;
	uint64_t payload[2];     /* TCP payload bytes on the wire, per direction */
	int midstream;           /* the connection's start was not captured */
	uint32_t anomalies;      /* reassembly anomalies (enum anomaly) */
};

/* An open connection (224 bytes: jemalloc's 224 class). */
struct flow {
	struct flow_entry e;
	uint8_t client_end;      /* which key endpoint is the client */
	uint8_t fin[2];
	uint8_t seen[2];         /* a packet came in this direction */
	uint8_t reset;           /* an RST was seen: the flow ends once the peer's
				  * bytes it acknowledges came (two taps may
				  * deliver them after it), or REASM_PEER_WAIT later */
	uint8_t rst_end;         /* which key endpoint sent it */
	uint8_t rst_has_ack;
	uint8_t rst_queued;      /* in the table's queue of RSTs waiting */
	uint8_t skewed;          /* a segment acknowledged bytes of the other
				  * direction not seen yet: two taps, skewed */
	uint32_t rst_ack;
	double rst_ts;
	struct flow *rst_prev, *rst_next;
	struct flow_table *ft;
	struct reasm *reasm;     /* NULL once the caller needs no more bytes */
	void *user;
	struct flow_tally t;
};
_Static_assert(sizeof(struct flow) <= 224 || sizeof(void *) > 8, "an open flow fits 224 bytes");

struct flow_table {
	struct flow_limits lim;
	struct flow_callbacks cb;
	void *ctx;
	struct flow_entry **buckets;
	size_t nbuckets;         /* a power of two */
	struct flow_entry *lru_head, *lru_tail;
	struct flow *rst_head, *rst_tail; /* reset flows waiting, oldest RST first */
	struct reasm_budget budget;
	struct flow_stats st;
	double now;
};

struct flow_table *flow_table_new(const struct flow_limits *lim,
				  const struct flow_callbacks *cb, void *ctx)
{
	struct flow_table *ft = calloc(1, sizeof *ft);
	if (!ft)
		return NULL;
	ft->lim = *lim;
	ft->cb = *cb;
	ft->ctx = ctx;
	ft->nbuckets = 1024;
	ft->buckets = calloc(ft->nbuckets, sizeof *ft->buckets);
	ft->budget.cap = lim->max_buffered;
	if (!ft->buckets) {
		free(ft);
		return NULL;
	}
	return ft;
}

const struct flow_stats *flow_table_stats(const struct flow_table *ft)
{
	return &ft->st;
}

/* ---- keys and hashing ------------------------------------------------- */

static int endpoint_cmp(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
	int c = memcmp(a, b, 16);
	return c ? c : (int)pa - (int)pb;
}

/* Builds the key; returns which key endpoint sent the packet. */
static int make_key(const struct tcp_packet *p, struct flow_key *k)
{
	int src_first = endpoint_cmp(p->src, p->sport, p->dst, p->dport) <= 0;
	memset(k, 0, sizeof *k);
	k->family = p->family;
	memcpy(k->addr[src_first ? 0 : 1], p->src, 16);
	memcpy(k->addr[src_first ? 1 : 0], p->dst, 16);
	k->port[src_first ? 0 : 1] = p->sport;
	k->port[src_first ? 1 : 0] = p->dport;
	return src_first ? 0 : 1;
}

/* One endpoint's hash: its address words and port folded in by 64-bit
 * multiplication, whose high half depends on every input bit (the table
 * takes the low bits of that half, the shards its high bits). One multiply
 * per word: the xor-shift mixer used before cost four per IPv4 endpoint,
 * 2.3% of all instructions. */
static uint32_t endpoint_hash(const uint8_t *addr, int words, uint16_t port)
{
	const uint64_t k = 0x9e3779b97f4a7c15ULL;
	uint64_t x = port;
	for (int i = 0; i < words; i++) {
		uint32_t w;
		memcpy(&w, addr + 4 * i, 4);
		x = ((x << 32 | x >> 32) ^ w) * k;
	}
	return (uint32_t)(x >> 32);
}

/* The sum of the two endpoints' hashes: the same from either end, and as
 * strong as each (an XOR of the raw fields would collide on structure). */
uint32_t flow_packet_hash(const struct tcp_packet *p)
{
	int words = p->family == 4 ? 1 : 4;
	return endpoint_hash(p->src, words, p->sport) + endpoint_hash(p->dst, words, p->dport);
}

static int addr_eq(const uint8_t *a, const uint8_t *b, int family)
{
	uint64_t x[2], y[2];
	if (family == 4)
		return memcmp(a, b, 4) == 0; /* a fixed size: compiled inline */
	memcpy(x, a, 16);
	memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

/* 1 if the packet belongs to f; *src_end says which key endpoint sent it. */
static int packet_matches(const struct flow_entry *e, const struct tcp_packet *p, int *src_end)
{
	const struct flow_key *k = &e->key;
	if (k->family != p->family)
		return 0;
	for (int e = 0; e < 2; e++) {
		if (k->port[e] == p->sport && k->port[!e] == p->dport &&
		    addr_eq(k->addr[e], p->src, p->family) &&
		    addr_eq(k->addr[!e], p->dst, p->family)) {
			*src_end = e;
			return 1;
		}
	}
	return 0;
}

/* ---- hash table and LRU list ------------------------------------------ */

static struct flow_entry *lookup(struct flow_table *ft, const struct tcp_packet *p, uint32_t h,
				 int *src_end)
{
	for (struct flow_entry *e = ft->buckets[h & (ft->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && packet_matches(e, p, src_end))
			return e;
	return NULL;
}

/* The open connection whose entry this is (e->closed is 0). */
static struct flow *open_flow(struct flow_entry *e)
{
	return (struct flow *)e; /* its first member */
}

static void grow(struct flow_table *ft)
{
	size_t n = ft->nbuckets * 2;
	struct flow_entry **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < ft->nbuckets; i++) {
		struct flow_entry *e = ft->buckets[i];
		while (e) {
			struct flow_entry *next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = next;
		}
	}
	free(ft->buckets);
	ft->buckets = b;
	ft->nbuckets = n;
}

static void lru_unlink(struct flow_table *ft, struct flow_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		ft->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		ft->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_append(struct flow_table *ft, struct flow_entry *e)
{
	e->lru_prev = ft->lru_tail;
	e->lru_next = NULL;
	if (ft->lru_tail)
		ft->lru_tail->lru_next = e;
	else
		ft->lru_head = e;
	ft->lru_tail = e;
}

/* Moves a flow to the LRU tail at most once per LRU_GRANULARITY seconds
 * of packet time: the order is exact to that granularity, which delays an
 * idle time-out by at most as much, and saves relinking on every packet. */
#define LRU_GRANULARITY 1.0

static void lru_touch(struct flow_table *ft, struct flow_entry *e, double ts)
{
	if (ts - e->lru_ts < LRU_GRANULARITY)
		return;
	e->lru_ts = ts;
	lru_unlink(ft, e);
	lru_append(ft, e);
}

/* Where the hash chain points to e (NULL if it does not). */
static struct flow_entry **chain_link(struct flow_table *ft, const struct flow_entry *e)
{
	struct flow_entry **pp = &ft->buckets[e->hash & (ft->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	return *pp ? pp : NULL;
}

static void hash_unlink(struct flow_table *ft, struct flow_entry *e)
{
	struct flow_entry **pp = chain_link(ft, e);
	if (pp)
		*pp = e->hnext;
}

/* ---- flow lifecycle ---------------------------------------------------- */

static void sink_data(void *ctx, int dir, const uint8_t *p, size_t len)
{
	struct flow *f = ctx;
	f->ft->cb.data(f->user, dir, p, len);
}

static void sink_gap(void *ctx, int dir, uint64_t len)
{
	struct flow *f = ctx;
	f->ft->cb.gap(f->user, dir, len);
}

static const struct reasm_sink flow_sink = {sink_data, sink_gap};

static void drop_reasm(struct flow *f)
{
	if (!f->reasm)
		return;
	const struct reasm_stats *rs = reasm_stats(f->reasm);
	f->t.anomalies |= rs->anomalies;
	f->t.midstream = reasm_midstream(f->reasm); /* a late SYN may have proved the start */
	reasm_free(f->reasm);
	f->reasm = NULL;
	f->ft->st.buffered = f->ft->budget.used; /* its held bytes are gone */
}

/* ---- reset flows waiting for the peer's bytes their RST acknowledges --- */

static void rst_queue(struct flow_table *ft, struct flow *f)
{
	if (f->rst_queued)
		return;
	f->rst_queued = 1;
	f->rst_prev = ft->rst_tail;
	f->rst_next = NULL;
	if (ft->rst_tail)
		ft->rst_tail->rst_next = f;
	else
		ft->rst_head = f;
	ft->rst_tail = f;
}

static void rst_unqueue(struct flow_table *ft, struct flow *f)
{
	if (!f->rst_queued)
		return;
	f->rst_queued = 0;
	if (f->rst_prev)
		f->rst_prev->rst_next = f->rst_next;
	else
		ft->rst_head = f->rst_next;
	if (f->rst_next)
		f->rst_next->rst_prev = f->rst_prev;
	else
		ft->rst_tail = f->rst_prev;
}

/* The flow_info handed to the caller: the key from the client's side, and
 * what the flow counted. */
static void make_info(const struct flow *f, struct flow_info *fi)
{
	const struct flow_key *k = &f->e.key;
	int cl = f->client_end;
	fi->family = k->family;
	memcpy(fi->client, k->addr[cl], 16);
	memcpy(fi->server, k->addr[!cl], 16);
	fi->client_port = k->port[cl];
	fi->server_port = k->port[!cl];
	fi->first_ts = f->t.first_ts;
	fi->last_ts = f->e.last_ts;
	fi->packets = f->t.packets;
	fi->payload[DIR_C2S] = f->t.payload[DIR_C2S];
	fi->payload[DIR_S2C] = f->t.payload[DIR_S2C];
	fi->midstream = f->t.midstream;
	fi->anomalies = f->t.anomalies;
}

/* Ends an open connection: delivers what is held, hands the flow to the
 * caller (who frees its data). */
static void end_flow(struct flow_table *ft, struct flow *f, enum end_reason why)
{
	struct flow_info fi;
	rst_unqueue(ft, f);
	if (f->reasm)
		reasm_flush(f->reasm);
	drop_reasm(f);
	if (why == END_EVICTED)
		f->t.anomalies |= ANOM_EVICTED;
	make_info(f, &fi);
	ft->cb.close(ft->ctx, f->user, &fi, why);
	f->user = NULL;
	f->e.closed = 1;
}

/* An ended flow lingers as its entry alone, moved to an allocation of its
 * size: the rest of the flow (its reassembler and the caller's data went
 * at its end) is freed. Without memory for the move, the whole flow stays. */
static void linger(struct flow_table *ft, struct flow *f)
{
	struct flow_entry **link = chain_link(ft, &f->e);
	struct flow_entry *e = link ? malloc(sizeof *e) : NULL;
	if (!e)
		return;
	*e = f->e;
	*link = e;
	if (e->lru_prev)
		e->lru_prev->lru_next = e;
	else
		ft->lru_head = e;
	if (e->lru_next)
		e->lru_next->lru_prev = e;
	else
		ft->lru_tail = e;
	free(f);
}

/* How a flow ends for want of packets: as reset if it was. */
static enum end_reason end_reason_of(const struct flow *f, enum end_reason otherwise)
{
	return f->reset ? END_RST : otherwise;
}

/* Takes an entry out of the table, an ended flow's or (its end handed to
 * the caller) an open one's. */
static void remove_flow(struct flow_table *ft, struct flow_entry *e)
{
	if (!e->closed)
		rst_unqueue(ft, open_flow(e));
	hash_unlink(ft, e);
	lru_unlink(ft, e);
	ft->st.active--;
	free(e);
}

#define EVICT_LOOKAHEAD 16 /* LRU entries searched for a cheap flow to drop */

/* What losing a flow costs: an ended, lingering one nothing; one that
 * only ever sent one way without a byte (a SYN flood's) least; one whose
 * handshake was answered a session to come; one with bytes a session. */
static int eviction_cost(const struct flow_entry *e)
{
	const struct flow *f = (const struct flow *)e; /* read only if open */
	if (e->closed || f->reset)
		return 0;
	if (f->t.payload[DIR_C2S] + f->t.payload[DIR_S2C] > 0)
		return 3;
	return f->seen[0] && f->seen[1] ? 2 : 1;
}

/* Makes room: of the flows nearest the LRU head, the cheapest goes (the
 * oldest among equals), so a flood of empty connections pushes out its
 * own kind before the sessions around it. */
static void evict_oldest(struct flow_table *ft)
{
	struct flow_entry *e = ft->lru_head, *pick = e;
	for (int i = 0; e && i < EVICT_LOOKAHEAD && eviction_cost(pick) > 0; i++) {
		if (eviction_cost(e) < eviction_cost(pick))
			pick = e;
		e = e->lru_next;
	}
	if (!pick)
		return;
	if (!pick->closed) {
		struct flow *f = open_flow(pick);
		ft->st.evicted += !f->reset; /* a reset one had ended */
		end_flow(ft, f, end_reason_of(f, END_EVICTED));
	}
	remove_flow(ft, pick);
}

/* Which key endpoint is the client: the SYN's sender, the SYN-ACK's
 * receiver, else the side not on a server port. */
static int client_end(struct flow_table *ft, const struct tcp_packet *p, int src_end)
{
	if (p->flags & TCP_SYN)
		return (p->flags & TCP_ACK) ? !src_end : src_end;
	int dst_server = ft->cb.is_server_port(ft->ctx, p->dport);
	int src_server = ft->cb.is_server_port(ft->ctx, p->sport);
	if (dst_server != src_server)
		return dst_server ? src_end : !src_end;
	return p->dport <= p->sport ? src_end : !src_end; /* lower port serves */
}

static struct flow *create_flow(struct flow_table *ft, const struct flow_key *k, uint32_t h,
				const struct tcp_packet *p, int src_end, double ts)
{
	while (ft->st.active >= ft->lim.max_flows && ft->lru_head)
		evict_oldest(ft);
	struct flow *f = calloc(1, sizeof *f);
	struct flow_info fi;
	if (!f)
		return NULL;
	f->e.key = *k;
	f->e.hash = h;
	f->e.lru_ts = f->e.last_ts = f->t.first_ts = ts;
	f->ft = ft;
	f->client_end = (uint8_t)client_end(ft, p, src_end);
	f->t.midstream = !(p->flags & TCP_SYN);
	make_info(f, &fi);
	f->user = ft->cb.open(ft->ctx, &fi);
	if (!f->user) {
		free(f);
		return NULL;
	}
	f->reasm = reasm_new(&ft->budget, ft->lim.dir_buffered, &flow_sink, f);
	if (!f->reasm) {
		ft->cb.close(ft->ctx, f->user, &fi, END_EOF);
		free(f);
		return NULL;
	}
	f->e.hnext = ft->buckets[h & (ft->nbuckets - 1)];
	ft->buckets[h & (ft->nbuckets - 1)] = &f->e;
	lru_append(ft, &f->e);
	ft->st.created++;
	if (++ft->st.active > ft->st.peak_active)
		ft->st.peak_active = ft->st.active;
	if (ft->st.active > ft->nbuckets / 2) /* short chains: each link is a miss */
		grow(ft);
	return f;
}

/* ---- packets ------------------------------------------------------------ */

/* A SYN or SYN-ACK: the ISNs it tells. */
static void note_isns(struct flow *f, int src_end, const struct tcp_packet *p)
{
	struct seqs *s = &f->e.sq[src_end], *peer = &f->e.sq[!src_end];
	if (!s->isn_known) {
		s->isn = p->seq;
		s->isn_known = 1;
	}
	if ((p->flags & TCP_ACK) && !peer->isn_known) {
		peer->isn = p->ack - 1;
		peer->isn_known = 1;
	}
}

/* Acknowledgements of bytes not seen yet: the directions come from two
 * taps with a clock offset (or the capture lost bytes). */
static void __attribute__((noinline)) note_skew(struct flow *f)
{
	f->skewed = 1;
	if (f->reasm)
		reasm_skewed(f->reasm);
}

/* 1 when ack reaches beyond what the peer was seen to send: past its last
 * byte, or, the peer not seen at all, past the first byte after the ISN a
 * SYN-ACK told (the other tap's copy of all of it may come later). */
static int acks_unseen(const struct seqs *peer, uint32_t ack)
{
	if (peer->seen)
		return (int32_t)(ack - peer->last) > 0;
	return peer->isn_known && (int32_t)(ack - (peer->isn + 1)) > 0;
}

/* Notes the sender's (src_end) sequence numbers: where it started, and
 * the furthest its segments reach (a SYN or FIN counting for a byte); and
 * whether it acknowledges more than the other direction showed. */
static void track_seqs(struct flow *f, int src_end, const struct tcp_packet *p)
{
	struct seqs *s = &f->e.sq[src_end], *peer = &f->e.sq[!src_end];
	uint32_t end = p->seq + (uint32_t)p->wirelen + ((p->flags & (TCP_SYN | TCP_FIN)) != 0);
	if ((p->flags & TCP_ACK) && !f->skewed && acks_unseen(peer, p->ack))
		note_skew(f); /* (or the capture lost them) */
	if (!s->seen) {
		s->first = p->seq;
		s->last = end;
		s->seen = 1;
	} else if ((int32_t)(end - s->last) > 0) {
		s->last = end;
	}
	if (p->flags & TCP_SYN)
		note_isns(f, src_end, p);
}

static void account(struct flow *f, int dir, const struct tcp_packet *p, double ts)
{
	f->t.packets++;
	f->seen[dir] = 1;
	f->t.payload[dir] += p->wirelen;
	if (ts > f->e.last_ts)
		f->e.last_ts = ts;
	if (p->caplen < p->wirelen)
		f->t.anomalies |= ANOM_SNAPLEN;
	if (p->flags & TCP_FIN)
		f->fin[dir] = 1;
	if ((p->flags & TCP_RST) && !f->reset) {
		f->reset = 1;
		f->rst_end = (uint8_t)(dir == DIR_C2S ? f->client_end : !f->client_end);
		f->rst_has_ack = (p->flags & TCP_ACK) != 0;
		f->rst_ack = p->ack;
		f->rst_ts = ts;
	}
}

/* The RST seen may end the flow: the peer's bytes it acknowledges came,
 * or they are not coming. An RST without ACK tells nothing of what the
 * peer sent before it; where the taps showed skew it may answer the
 * peer's last segment, which the other tap delivers later: then it ends
 * the flow REASM_PEER_WAIT later. */
static int rst_ends(const struct flow *f, double ts)
{
	const struct seqs *peer = &f->e.sq[!f->rst_end];
	if (ts - f->rst_ts > REASM_PEER_WAIT)
		return 1;
	if (!f->rst_has_ack)
		return !f->skewed;
	if (peer->seen)
		return (int32_t)(f->rst_ack - peer->last) <= 0;
	return peer->isn_known && f->rst_ack == peer->isn + 1; /* it sent nothing */
}

static void feed(struct flow_table *ft, struct flow *f, int dir, const struct tcp_packet *p,
		 double ts)
{
	if (f->reasm) {
		reasm_segment(f->reasm, dir, p->seq, p->ack, p->flags, p->payload, p->caplen,
			      p->wirelen, ts);
		if (p->wirelen && ft->cb.done && ft->cb.done(f->user))
			drop_reasm(f); /* nothing more to learn from the bytes */
	}
	ft->st.buffered = ft->budget.used;
	if (ft->budget.used > ft->st.peak_buffered)
		ft->st.peak_buffered = ft->budget.used;
	ft->st.reasm_overflows = ft->budget.overflows;
	if (f->reset) {
		if (rst_ends(f, ts)) {
			end_flow(ft, f, END_RST);
			linger(ft, f);
		} else {
			rst_queue(ft, f); /* ends by flow_table_expire if they do not come */
		}
	} else if (f->reasm ? reasm_closed(f->reasm) : (f->fin[0] && f->fin[1])) {
		end_flow(ft, f, END_FIN);
		linger(ft, f);
	}
}

/* ---- a new connection on the same addresses and ports? ------------------ */

#define SEQ_WINDOW 65536u /* around a connection's sequence numbers: still its own */

static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

enum { SYN_OTHER = 0, SYN_SAME = 1, SYN_UNKNOWN = 2 };

/* Whether a SYN with this ISN belongs to the endpoint's connection: the
 * same ISN, or (its SYN unseen) one leading to its first segment seen. */
static int syn_belongs(const struct seqs *s, uint32_t isn)
{
	if (s->isn_known)
		return s->isn == isn ? SYN_SAME : SYN_OTHER;
	if (!s->seen)
		return SYN_UNKNOWN;
	int32_t d = seq_diff(s->first, isn + 1);
	return d >= 0 && (uint32_t)d <= SEQ_WINDOW ? SYN_SAME : SYN_OTHER;
}

/* The ISN lies within the connection's sequence numbers seen so far. */
static int seq_in_window(const struct seqs *s, uint32_t isn)
{
	if (!s->seen)
		return 1;
	return seq_diff(isn, s->first - SEQ_WINDOW) >= 0 && seq_diff(s->last + SEQ_WINDOW, isn) >= 0;
}

/* Whether a packet with SYN (a SYN or a SYN-ACK) opens a new connection on
 * f's addresses and ports, from sequence numbers rather than arrival
 * order: two taps merged with a clock offset deliver a late SYN after the
 * connection's SYN-ACK, even after its data, and that is the same
 * connection. One whose ISNs differ from what f knows is new once f ended
 * (FIN or RST), or when it is outside f's sequence numbers. */
static int syn_opens_new(const struct flow_entry *e, int src_end, const struct tcp_packet *p)
{
	const struct flow *f = (const struct flow *)e; /* read only if open */
	int sender = syn_belongs(&e->sq[src_end], p->seq), receiver = SYN_UNKNOWN;
	if (p->flags & TCP_ACK)
		receiver = syn_belongs(&e->sq[!src_end], p->ack - 1);
	if (sender == SYN_SAME || receiver == SYN_SAME)
		return 0;
	if (sender == SYN_UNKNOWN && receiver == SYN_UNKNOWN)
		return 0; /* nothing to tell it by: keep the one connection */
	if (e->closed || f->reset || f->fin[0] || f->fin[1])
		return 1;
	return !seq_in_window(&e->sq[src_end], p->seq);
}

/* A packet for a flow that has ended: a new connection starts the tuple
 * afresh (the flow is removed: NULL), else it is a late packet. */
static struct flow_entry *reopen_if_new(struct flow_table *ft, struct flow_entry *e,
					int src_end, const struct tcp_packet *p, double ts)
{
	if ((p->flags & TCP_SYN) && syn_opens_new(e, src_end, p)) {
		remove_flow(ft, e);
		return NULL;
	}
	e->last_ts = ts > e->last_ts ? ts : e->last_ts;
	lru_touch(ft, e, ts);
	return e;
}

void flow_table_prefetch(const struct flow_table *ft, uint32_t h, enum flow_prefetch step)
{
	struct flow_entry *const *b = &ft->buckets[h & (ft->nbuckets - 1)];
	if (step == FLOW_PREFETCH_BUCKET) {
		__builtin_prefetch(b);
	} else if (*b) { /* the lines a packet touches: key, LRU stamp, counters */
		__builtin_prefetch(*b);
		__builtin_prefetch((const char *)*b + 64);
		__builtin_prefetch((const char *)*b + 128);
	}
}

void flow_table_packet(struct flow_table *ft, const struct tcp_packet *p, double ts)
{
	flow_table_packet_hashed(ft, p, flow_packet_hash(p), ts);
}

void flow_table_packet_hashed(struct flow_table *ft, const struct tcp_packet *p, uint32_t h,
			      double ts)
{
	struct flow_key k;
	struct flow *f = NULL;
	int src_end = 0;
	if (ts > ft->now)
		ft->now = ts;
	flow_table_expire(ft, ft->now);
	struct flow_entry *e = lookup(ft, p, h, &src_end);
	if (e && !e->closed && (p->flags & TCP_SYN) && syn_opens_new(e, src_end, p)) {
		f = open_flow(e);
		end_flow(ft, f, end_reason_of(f, END_REUSED));
		remove_flow(ft, e);
		e = NULL;
	}
	if (e && e->closed && (e = reopen_if_new(ft, e, src_end, p, ts)) != NULL)
		return; /* a late packet of an ended connection */
	if (!e && !(p->flags & TCP_SYN) && p->wirelen == 0) {
		ft->st.ignored_packets++;
		return; /* a stray ACK/RST/FIN starts nothing */
	}
	if (e) {
		f = open_flow(e);
	} else {
		src_end = make_key(p, &k);
		if (!(f = create_flow(ft, &k, h, p, src_end, ts)))
			return;
	}
	int dir = src_end == f->client_end ? DIR_C2S : DIR_S2C;
	lru_touch(ft, &f->e, ts);
	track_seqs(f, src_end, p);
	account(f, dir, p, ts);
	if (ft->cb.packet)
		ft->cb.packet(ft->ctx, f->user, dir, p, ts);
	feed(ft, f, dir, p, ts);
}

void flow_table_expire(struct flow_table *ft, double now)
{
	struct flow *f;
	struct flow_entry *e;
	while ((f = ft->rst_head) != NULL && now - f->rst_ts > REASM_PEER_WAIT) {
		end_flow(ft, f, END_RST); /* the bytes its RST acknowledged never came */
		linger(ft, f);
	}
	while ((e = ft->lru_head) != NULL) {
		double age = now - e->last_ts;
		if (e->closed && age > ft->lim.closed_linger) {
			remove_flow(ft, e);
		} else if (!e->closed && age > ft->lim.idle_timeout) {
			f = open_flow(e);
			ft->st.timed_out += !f->reset;
			end_flow(ft, f, end_reason_of(f, END_IDLE));
			remove_flow(ft, e);
		} else {
			break;
		}
	}
}

void flow_table_end_all(struct flow_table *ft, enum end_reason reason)
{
	while (ft->lru_head) {
		struct flow_entry *e = ft->lru_head;
		if (!e->closed) {
			struct flow *f = open_flow(e);
			end_flow(ft, f, end_reason_of(f, reason));
		}
		remove_flow(ft, e);
	}
}

void flow_table_free(struct flow_table *ft)
{
	if (!ft)
		return;
	flow_table_end_all(ft, END_EOF);
	free(ft->buckets);
	free(ft);
}
