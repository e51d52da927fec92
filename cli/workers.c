#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "../capture/source.h"
#include "../common/wait.h"

/* A single-producer single-consumer byte ring of frames. Entries are
 * 8-byte aligned: a header, then the frame. A writer that would cross the
 * end writes a WRAP entry (or leaves under a header's worth) and starts
 * again at 0. Each side sleeps on the condition variable when it cannot
 * go on, after announcing it in an atomic flag the other side checks. */
enum entry_kind { ENTRY_PACKET = 1, ENTRY_TICK, ENTRY_WRAP, ENTRY_END };

struct entry {
	uint32_t kind;
	uint32_t caplen;
	uint32_t wirelen;
	uint32_t reason;
	double ts;
};

struct ring {
	uint8_t *buf;
	size_t cap;
	_Atomic size_t head;  /* bytes consumed */
	_Atomic size_t tail;  /* bytes produced */
	_Atomic int consumer_sleeping;
	_Atomic int producer_sleeping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct worker {
	pthread_t thread;
	struct ring ring;
	struct pipeline *pl;
	int started;
	int result;
	struct source *src;      /* shared mode: the source this worker reads */
	char err[512];
};

struct workers {
	unsigned n;
	struct worker w[WORKERS_MAX];
	struct pipeline_opts o;
	struct port_map ports;
	const struct link_decoder *link;
	int shared;              /* every worker reads the whole source */
	struct pipeline_counters front; /* frames dropped before dispatch */
	struct pipeline_counters sum;
	struct flow_stats flows;
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void timed_wait(struct ring *r)
{
	cond_wait_ms(&r->cond, &r->lock, 10);
}

static void wake(struct ring *r, _Atomic int *sleeping)
{
	if (atomic_load(sleeping)) {
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
}

/* Producer: waits until total bytes are free. */
static void wait_room(struct ring *r, size_t total)
{
	while (r->cap - (atomic_load(&r->tail) - atomic_load(&r->head)) < total) {
		pthread_mutex_lock(&r->lock);
		atomic_store(&r->producer_sleeping, 1);
		if (r->cap - (atomic_load(&r->tail) - atomic_load(&r->head)) < total)
			timed_wait(r);
		atomic_store(&r->producer_sleeping, 0);
		pthread_mutex_unlock(&r->lock);
	}
}

static void ring_put(struct ring *r, const struct entry *e, const uint8_t *data)
{
	size_t need = align8(sizeof *e + e->caplen);
	size_t tail = atomic_load(&r->tail);
	size_t pos = tail & (r->cap - 1);
	size_t skip = pos + need > r->cap ? r->cap - pos : 0;
	wait_room(r, skip + need);
	if (skip >= sizeof *e) {
		struct entry wrap = {ENTRY_WRAP, 0, 0, 0, 0};
		memcpy(r->buf + pos, &wrap, sizeof wrap);
	}
	pos = (pos + skip) & (r->cap - 1);
	memcpy(r->buf + pos, e, sizeof *e);
	if (e->caplen)
		memcpy(r->buf + pos + sizeof *e, data, e->caplen);
	atomic_store(&r->tail, tail + skip + need);
	wake(r, &r->consumer_sleeping);
}

/* Consumer: the next entry, waiting for one; *used gets its size. */
static const struct entry *ring_get(struct ring *r, size_t *used)
{
	for (;;) {
		size_t head = atomic_load(&r->head);
		if (head == atomic_load(&r->tail)) {
			pthread_mutex_lock(&r->lock);
			atomic_store(&r->consumer_sleeping, 1);
			if (head == atomic_load(&r->tail))
				timed_wait(r);
			atomic_store(&r->consumer_sleeping, 0);
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		size_t pos = head & (r->cap - 1);
		const struct entry *e = (const struct entry *)(const void *)(r->buf + pos);
		if (r->cap - pos < sizeof *e || e->kind == ENTRY_WRAP) {
			atomic_store(&r->head, head + (r->cap - pos));
			continue;
		}
		*used = align8(sizeof *e + e->caplen);
		return e;
	}
}

static void ring_release(struct ring *r, size_t used)
{
	atomic_store(&r->head, atomic_load(&r->head) + used);
	wake(r, &r->producer_sleeping);
}

/* ---- worker threads ------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	thread_name("smtptls-worker");
	for (;;) {
		size_t used;
		const struct entry *e = ring_get(&w->ring, &used);
		if (e->kind == ENTRY_PACKET) {
			struct frame f = {e->ts, (const uint8_t *)(e + 1), e->caplen, e->wirelen};
			pipeline_frames(w->pl, &f, 1);
		}
		else if (e->kind == ENTRY_TICK)
			pipeline_tick(w->pl, e->ts);
		if (e->kind == ENTRY_END) {
			w->result = pipeline_finish(w->pl, (enum end_reason)e->reason);
			ring_release(&w->ring, used);
			return NULL;
		}
		ring_release(&w->ring, used);
	}
}

static int worker_start(struct worker *w, const struct pipeline_opts *o, struct store *st)
{
	w->ring.cap = WORKERS_RING_BYTES;
	w->ring.buf = malloc(w->ring.cap);
	if (!w->ring.buf)
		return -1;
	pthread_mutex_init(&w->ring.lock, NULL);
	pthread_cond_init(&w->ring.cond, NULL);
	w->pl = pipeline_new(o, st);
	if (!w->pl)
		return -1;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

struct workers *workers_new(unsigned n, const struct pipeline_opts *o, struct store *st)
{
	struct workers *ws = calloc(1, sizeof *ws);
	struct pipeline_opts per = *o;
	if (!ws || n == 0 || n > WORKERS_MAX) {
		free(ws);
		return NULL;
	}
	ws->n = n;
	ws->o = *o;
	ws->ports = *o->ports;
	ws->link = decode_link(o->linktype);
	per.limits.max_flows = o->limits.max_flows / n ? o->limits.max_flows / n : 1;
	per.limits.max_buffered = o->limits.max_buffered / n;
	for (unsigned i = 0; i < n; i++) {
		if (worker_start(&ws->w[i], &per, st) < 0) {
			workers_finish(ws, END_EOF);
			workers_free(ws);
			return NULL;
		}
	}
	return ws;
}

/* ---- dispatch -------------------------------------------------------------- */

static void dispatch(struct workers *ws, const struct frame *f)
{
	struct tcp_packet t;
	int rc = decode_frame(ws->link, f->data, f->caplen, &t);
	if (pipeline_skip(&ws->front, &ws->ports, ws->o.classify, rc, &t)) {
		ws->front.packets++; /* the workers count the frames they get */
		ws->front.bytes += f->wirelen;
		return;
	}
	struct worker *w = &ws->w[pipeline_shard_of(&t, ws->n)];
	struct entry e = {ENTRY_PACKET, f->caplen, f->wirelen, 0, f->ts};
	ring_put(&w->ring, &e, f->data);
}

void workers_frames(void *ctx, const struct frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dispatch(ctx, &f[i]);
}

void workers_tick(void *ctx, double now)
{
	struct workers *ws = ctx;
	struct entry e = {ENTRY_TICK, 0, 0, 0, now};
	for (unsigned i = 0; i < ws->n; i++)
		ring_put(&ws->w[i].ring, &e, NULL);
}

/* ---- the end ------------------------------------------------------------------ */

static void add_counters(struct pipeline_counters *to, const struct pipeline_counters *c)
{
	to->packets += c->packets;
	to->bytes += c->bytes;
	to->decode_errors += c->decode_errors;
	to->truncated += c->truncated;
	to->non_tcp += c->non_tcp;
	to->fragments += c->fragments;
	to->other_ports += c->other_ports;
	to->sessions += c->sessions;
	to->without_payload += c->without_payload;
	to->classified_away += c->classified_away;
}

static void add_flow_stats(struct flow_stats *to, const struct flow_stats *f)
{
	to->created += f->created;
	to->evicted += f->evicted;
	to->timed_out += f->timed_out;
	to->ignored_packets += f->ignored_packets;
	to->reasm_overflows += f->reasm_overflows;
	to->peak_active += f->peak_active;
	to->peak_buffered += f->peak_buffered;
}

int workers_finish(struct workers *ws, enum end_reason reason)
{
	int rc = 0;
	struct entry e = {ENTRY_END, 0, 0, (uint32_t)reason, 0};
	ws->sum = ws->front;
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (ws->shared && w->pl) {
			w->result = pipeline_finish(w->pl, reason);
		} else if (w->started) {
			ring_put(&w->ring, &e, NULL);
			pthread_join(w->thread, NULL);
			w->started = 0;
		} else {
			continue;
		}
		rc |= w->result;
		add_counters(&ws->sum, pipeline_counters(w->pl));
		add_flow_stats(&ws->flows, pipeline_flow_stats(w->pl));
	}
	return rc < 0 ? -1 : 0;
}

/* ---- shared reading ------------------------------------------------------------- */

struct workers *workers_new_shared(unsigned n, const struct pipeline_opts *o, struct store *st,
				   struct source *src)
{
	struct workers *ws = calloc(1, sizeof *ws);
	struct pipeline_opts per = *o;
	if (!ws || n < 2 || n > WORKERS_MAX || !source_can_share(src)) {
		free(ws);
		return NULL;
	}
	ws->n = n;
	ws->shared = 1;
	per.limits.max_flows = o->limits.max_flows / n ? o->limits.max_flows / n : 1;
	per.limits.max_buffered = o->limits.max_buffered / n;
	per.shards = n;
	for (unsigned i = 0; i < n; i++) {
		per.shard = i;
		ws->w[i].src = src;
		if (!(ws->w[i].pl = pipeline_new(&per, st))) {
			workers_free(ws);
			return NULL;
		}
	}
	return ws;
}

static void *shared_main(void *arg)
{
	struct worker *w = arg;
	w->result = source_run_shared(w->src, pipeline_frames, w->pl, w->err, sizeof w->err);
	return NULL;
}

/* Workers after the first: threads of their own, named. */
static void *shared_thread_main(void *arg)
{
	thread_name("smtptls-worker");
	return shared_main(arg);
}

int workers_run_shared(struct workers *ws, char *err, size_t errlen)
{
	int rc = 0;
	for (unsigned i = 1; i < ws->n; i++)
		ws->w[i].started = pthread_create(&ws->w[i].thread, NULL, shared_thread_main, &ws->w[i]) == 0;
	shared_main(&ws->w[0]); /* this thread is worker 0 */
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (i > 0 && !w->started) {
			snprintf(err, errlen, "cannot start worker thread %u", i);
			rc = -1;
			continue;
		}
		if (i > 0)
			pthread_join(w->thread, NULL);
		w->started = 0;
		if (w->result < 0 && rc == 0) {
			snprintf(err, errlen, "%s", w->err);
			rc = -1;
		}
	}
	return rc;
}

int workers_failed(const struct workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].pl && pipeline_failed(ws->w[i].pl))
			return 1;
	return 0;
}

void workers_counters(const struct workers *ws, struct pipeline_counters *c,
		      struct flow_stats *fs)
{
	*c = ws->sum;
	*fs = ws->flows;
}

void workers_free(struct workers *ws)
{
	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		pipeline_free(w->pl);
		if (w->ring.buf) {
			pthread_mutex_destroy(&w->ring.lock);
			pthread_cond_destroy(&w->ring.cond);
		}
		free(w->ring.buf);
	}
	free(ws);
}
