#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "../common/record.h"
#include "decode.h"

/* A held-back segment: len bytes captured, then missing bytes cut by the
 * snapshot length. */
struct seg {
	struct seg *next;
	double ts;        /* when it was captured */
	uint32_t seq;
	uint32_t len;
	uint32_t missing;
	uint32_t ack;     /* with has_ack: the other direction's bytes it follows */
	int has_ack;
	uint8_t data[];
};

/* A segment as it comes in. */
struct segin {
	const uint8_t *p;
	size_t caplen, wirelen;
	uint32_t ack;
	int has_ack;
	double ts;
};

/* One per direction of every open connection: flags in bytes, so that
 * struct reasm fits jemalloc's 192-byte size class (256 with ints). */
struct rdir {
	uint8_t started;  /* next is known */
	uint8_t unproven; /* started from data before the other direction, no
			   * SYN leading to it seen: picked up mid-stream */
	uint8_t nowait;   /* gave up waiting for the other direction */
	uint8_t fin;
	uint8_t closed;   /* delivered up to the FIN */
	uint8_t ack_valid;
	uint32_t start;   /* where it started */
	uint32_t next;    /* next sequence number to deliver */
	uint32_t fin_seq;
	uint32_t peer_ack;/* highest acknowledgement from the other side */
	unsigned held_segs;
	struct seg *held; /* sorted by seq */
	size_t held_bytes;
};

struct reasm {
	struct rdir d[2];
	struct reasm_budget *budget;
	uint32_t dir_cap; /* bytes held per direction (a larger cap is this one) */
	int skewed;       /* acknowledged holes wait REASM_PEER_WAIT */
	struct reasm_sink sink;
	void *ctx;
	double now;       /* the latest segment's time */
	struct reasm_stats st;
};
_Static_assert(sizeof(struct reasm) <= 192 || sizeof(void *) > 8, "struct reasm fits 192 bytes");

static int32_t sdiff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

struct reasm *reasm_new(struct reasm_budget *budget, size_t dir_cap,
			const struct reasm_sink *sink, void *ctx)
{
	struct reasm *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->budget = budget;
	r->dir_cap = dir_cap < UINT32_MAX ? (uint32_t)dir_cap : UINT32_MAX;
	r->sink = *sink;
	r->ctx = ctx;
	return r;
}

static void seg_release(struct reasm *r, struct rdir *d, struct seg *s)
{
	d->held_bytes -= s->len;
	d->held_segs--;
	r->budget->used -= s->len;
	free(s);
}

void reasm_free(struct reasm *r)
{
	if (!r)
		return;
	for (int i = 0; i < 2; i++) {
		struct rdir *d = &r->d[i];
		while (d->held) {
			struct seg *s = d->held;
			d->held = s->next;
			seg_release(r, d, s);
		}
	}
	free(r);
}

static void emit_gap(struct reasm *r, int dir, uint32_t len)
{
	if (len == 0)
		return;
	r->st.gap_bytes[dir] += len;
	r->st.anomalies |= ANOM_GAP;
	r->d[dir].next += len;
	r->sink.gap(r->ctx, dir, len);
}

/* Hands over captured bytes followed by `missing` bytes cut by snaplen. */
static void emit_data(struct reasm *r, int dir, const uint8_t *p, size_t len,
		      uint32_t missing)
{
	if (len) {
		r->st.delivered[dir] += len;
		r->d[dir].next += (uint32_t)len;
		r->sink.data(r->ctx, dir, p, len);
	}
	if (missing) {
		r->st.anomalies |= ANOM_SNAPLEN;
		emit_gap(r, dir, missing);
		r->st.anomalies |= ANOM_SNAPLEN;
	}
}

/* Delivers the part of a held segment beyond next. */
static void emit_held(struct reasm *r, int dir, struct seg *s)
{
	struct rdir *d = &r->d[dir];
	uint32_t end = s->seq + s->len + s->missing;
	if (sdiff(end, d->next) <= 0)
		return;
	uint32_t off = d->next - s->seq;
	if (off < s->len)
		emit_data(r, dir, s->data + off, s->len - off, s->missing);
	else
		emit_gap(r, dir, end - d->next);
}

static void check_closed(struct rdir *d)
{
	if (d->fin && !d->held && sdiff(d->next, d->fin_seq) >= 0)
		d->closed = 1;
}

/* The other direction delivered every byte up to ack (its FIN counts
 * for one). */
static inline int peer_delivered(const struct rdir *peer, uint32_t ack)
{
	if (!peer->started)
		return 0;
	uint32_t next = peer->next + (peer->fin && peer->next == peer->fin_seq);
	return sdiff(ack, next) <= 0;
}

/* Waited long enough for the other direction: it waits no more. */
static int __attribute__((noinline)) waited(struct reasm *r, int dir, double ts)
{
	if (r->now - ts <= REASM_PEER_WAIT)
		return 0;
	r->d[dir].nowait = 1;
	return 1;
}

/* 1 if data of dir, acknowledging the other direction up to ack and
 * captured at ts, may come out now: what it acknowledges came out, or it
 * has waited long enough (then the direction waits no more). */
static inline int may_deliver(struct reasm *r, int dir, int has_ack, uint32_t ack, double ts)
{
	if (!has_ack || r->d[dir].nowait || peer_delivered(&r->d[!dir], ack))
		return 1;
	return waited(r, dir, ts);
}

/* Delivers held segments that are now in order (and whose peer bytes came
 * out); skips a hole the peer has acknowledged (sent, but not captured).
 * 1 if anything moved. */
static int drain(struct reasm *r, int dir)
{
	struct rdir *d = &r->d[dir];
	int moved = 0;
	while (d->held) {
		struct seg *s = d->held;
		if (sdiff(s->seq, d->next) > 0) {
			if (!d->ack_valid || sdiff(d->peer_ack, d->next) <= 0 ||
			    (r->skewed && !d->nowait && r->now - s->ts <= REASM_PEER_WAIT))
				break; /* not acknowledged, or its bytes may be late */
			uint32_t to = sdiff(d->peer_ack, s->seq) < 0 ? d->peer_ack : s->seq;
			emit_gap(r, dir, to - d->next);
			moved = 1;
			continue;
		}
		if (!may_deliver(r, dir, s->has_ack, s->ack, s->ts))
			break;
		d->held = s->next;
		emit_held(r, dir, s);
		seg_release(r, d, s);
		moved = 1;
	}
	check_closed(d);
	return moved;
}

/* Drains both directions until neither moves: bytes coming out of one
 * may release data of the other waiting for them. */
static void drain_both(struct reasm *r, int dir)
{
	int moved;
	do {
		moved = drain(r, dir);
		moved |= drain(r, !dir);
	} while (moved);
}

/* Gives up on the first hole: declares it a gap and delivers what follows. */
static void skip_hole(struct reasm *r, int dir)
{
	struct rdir *d = &r->d[dir];
	if (d->held && sdiff(d->held->seq, d->next) > 0)
		emit_gap(r, dir, d->held->seq - d->next);
	drain(r, dir);
}

static void flush_dir(struct reasm *r, int dir)
{
	while (r->d[dir].held)
		skip_hole(r, dir);
}

/* Makes the captured bytes n shares with held segments equal to the held
 * copies (the first copy seen wins); 1 if any of them differed. */
static int take_held_bytes(const struct rdir *d, struct seg *n)
{
	int differ = 0;
	uint32_t n_end = n->seq + n->len;
	for (const struct seg *s = d->held; s && sdiff(s->seq, n_end) < 0; s = s->next) {
		uint32_t s_end = s->seq + s->len;
		uint32_t lo = sdiff(s->seq, n->seq) > 0 ? s->seq : n->seq;
		uint32_t hi = sdiff(s_end, n_end) < 0 ? s_end : n_end;
		if (sdiff(hi, lo) <= 0)
			continue;
		uint8_t *mine = n->data + (lo - n->seq);
		const uint8_t *first = s->data + (lo - s->seq);
		if (memcmp(mine, first, hi - lo) != 0) {
			differ = 1;
			memcpy(mine, first, hi - lo);
		}
	}
	return differ;
}

static void hold_insert(struct reasm *r, struct rdir *d, struct seg *n)
{
	struct seg **pp = &d->held;
	if (take_held_bytes(d, n))
		r->st.anomalies |= ANOM_OVERLAP_MISMATCH;
	while (*pp && sdiff((*pp)->seq, n->seq) <= 0)
		pp = &(*pp)->next;
	n->next = *pp;
	*pp = n;
	d->held_bytes += n->len;
	d->held_segs++;
	r->budget->used += n->len;
}

static int hold_has_room(const struct reasm *r, const struct rdir *d, size_t len)
{
	return d->held_segs < REASM_SEGS_MAX && d->held_bytes + len <= r->dir_cap &&
	       r->budget->used + len <= r->budget->cap;
}

/* No room to hold a segment at seq (beyond next): gives up on the first
 * hole, the one before the earliest of the held data and the segment. */
static void skip_for(struct reasm *r, int dir, uint32_t seq)
{
	struct rdir *d = &r->d[dir];
	d->nowait = 1; /* no room to keep order with the other direction either */
	r->st.anomalies |= ANOM_REASM_OVERFLOW;
	r->budget->overflows++;
	if (d->held && sdiff(d->held->seq, seq) < 0)
		skip_hole(r, dir);
	else
		emit_gap(r, dir, seq - d->next);
}

/* Keeps a segment until the bytes before it (and the peer's bytes it
 * acknowledges) are delivered; one at next waits only for the drain that
 * follows (held data may overlap it), or for the peer. */
static void hold(struct reasm *r, int dir, uint32_t seq, const struct segin *in)
{
	struct seg *s = malloc(sizeof *s + in->caplen);
	if (!s) {
		r->st.anomalies |= ANOM_REASM_OVERFLOW;
		r->budget->overflows++;
		if (seq == r->d[dir].next)
			emit_data(r, dir, in->p, in->caplen, (uint32_t)(in->wirelen - in->caplen));
		return; /* else the hole is declared by an ack or the flush */
	}
	s->seq = seq;
	s->len = (uint32_t)in->caplen;
	s->missing = (uint32_t)(in->wirelen - in->caplen);
	s->ack = in->ack;
	s->has_ack = in->has_ack;
	s->ts = in->ts;
	memcpy(s->data, in->p, in->caplen);
	hold_insert(r, &r->d[dir], s);
}

/* Data waiting for the other direction is at the head of the held list. */
static int waiting(const struct rdir *d)
{
	return d->held && sdiff(d->held->seq, d->next) <= 0;
}

static void insert(struct reasm *r, int dir, uint32_t seq, struct segin in)
{
	struct rdir *d = &r->d[dir];
	while (sdiff(seq, d->next) > 0 && !hold_has_room(r, d, in.caplen)) {
		if (waiting(d) && !d->nowait) {
			d->nowait = 1; /* no room to wait: out before anything is skipped */
			drain(r, dir);
		} else {
			skip_for(r, dir, seq);
		}
	}
	uint32_t end = seq + (uint32_t)in.wirelen;
	if (sdiff(end, d->next) <= 0) {
		r->st.retransmitted++;
		return;
	}
	if (sdiff(seq, d->next) < 0) {
		uint32_t off = d->next - seq;
		in.p += off < in.caplen ? off : in.caplen;
		in.caplen = off < in.caplen ? in.caplen - off : 0;
		in.wirelen -= off;
		seq = d->next;
	}
	if (seq == d->next && !d->held && may_deliver(r, dir, in.has_ack, in.ack, in.ts)) {
		emit_data(r, dir, in.p, in.caplen, (uint32_t)(in.wirelen - in.caplen));
		return;
	}
	if (seq == d->next && !hold_has_room(r, d, in.caplen))
		d->nowait = 1; /* no room to wait for the other direction */
	hold(r, dir, seq, &in);
}

/* Starts a direction: from its SYN, from the peer's SYN-ACK, or mid-stream
 * from its first data. A SYN for a direction started from its data proves
 * that start when it leads right to it (two taps merged out of order). */
static void start_dir(struct reasm *r, int dir, uint32_t next, int from_syn)
{
	struct rdir *d = &r->d[dir];
	if (d->started) {
		if (from_syn && d->unproven && next == d->start)
			d->unproven = 0;
		return;
	}
	d->started = 1;
	d->next = d->start = next;
	d->unproven = !from_syn && !r->d[!dir].started;
}

/* The other side acknowledged ack for direction dir. */
static void note_ack(struct reasm *r, int dir, uint32_t ack)
{
	struct rdir *d = &r->d[dir];
	if (!d->ack_valid || sdiff(ack, d->peer_ack) > 0) {
		d->peer_ack = ack;
		d->ack_valid = 1;
	}
	if (d->started && d->held)
		drain(r, dir);
}

void reasm_segment(struct reasm *r, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
		   const uint8_t *payload, size_t caplen, size_t wirelen, double ts)
{
	struct rdir *d = &r->d[dir & 1];
	dir &= 1;
	if (ts > r->now)
		r->now = ts;
	if ((flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		start_dir(r, !dir, ack, 1); /* the SYN-ACK tells the client's ISN */
	if (flags & TCP_ACK)
		note_ack(r, !dir, ack);
	if (flags & TCP_SYN) {
		start_dir(r, dir, seq + 1, 1);
		seq += 1;
	}
	if (!d->started) {
		if (wirelen == 0 && !(flags & TCP_FIN))
			return;
		start_dir(r, dir, seq, 0);
	}
	if (wirelen > 0) {
		struct segin in = {payload, caplen, wirelen, ack, (flags & TCP_ACK) != 0, ts};
		insert(r, dir, seq, in);
	}
	if ((flags & TCP_FIN) && !d->fin) {
		d->fin = 1;
		d->fin_seq = seq + (uint32_t)wirelen;
	}
	if (d->held || r->d[!dir].held)
		drain_both(r, dir);
	else
		check_closed(d);
}

void reasm_skewed(struct reasm *r)
{
	r->skewed = 1;
}

void reasm_flush(struct reasm *r)
{
	r->d[0].nowait = r->d[1].nowait = 1;
	drain_both(r, 0);
	for (int dir = 0; dir < 2; dir++) {
		struct rdir *d = &r->d[dir];
		flush_dir(r, dir);
		uint32_t to = d->fin ? d->fin_seq : d->peer_ack;
		/* bytes the peer acknowledged but we never saw (1 may be a FIN) */
		if (d->started && d->ack_valid && sdiff(d->peer_ack, d->next) > 1 &&
		    sdiff(to, d->next) > 0)
			emit_gap(r, dir, to - d->next);
	}
}

int reasm_closed(const struct reasm *r)
{
	return r->d[0].closed && r->d[1].closed;
}

int reasm_midstream(const struct reasm *r)
{
	return r->d[0].unproven || r->d[1].unproven;
}

const struct reasm_stats *reasm_stats(const struct reasm *r)
{
	return &r->st;
}
