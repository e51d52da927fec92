#include "workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/wait.h"

/* Each worker has a single-producer single-consumer ring of segments. The
 * reader writes segments, then publishes them by moving tail; the worker
 * follows them and moves head. Either side sleeps on a condition variable
 * (10 ms at most, a safety net) after announcing it in an atomic the other
 * side checks, and is woken with some slack: a sleeping worker once
 * WAKE_MIN segments wait (or the reader must wait itself), the waiting
 * reader once the worker has passed what it waits for. Every wake costs
 * both sides a system call, and on a machine with fewer CPUs than threads
 * waking a worker for every batch cost more than the work. */
#define WAKE_MIN 512
#define WAIT_MS 10
#define WORKER_CHUNK 64  /* segments followed between two moves of head */
#define CACHE_LINE 64
#define NO_WANT SIZE_MAX

/* Fields one side writes often are apart from those the other reads, on
 * cache lines of their own. */
struct ring {
	struct segment *seg;       /* WORKERS_RING */
	/* the reader's */
	_Alignas(CACHE_LINE) _Atomic size_t tail; /* published */
	size_t next;               /* written up to here */
	size_t head_seen;          /* head, when the reader last looked */
	/* the worker's */
	_Alignas(CACHE_LINE) _Atomic size_t head; /* followed */
	_Atomic int sleeping;      /* the worker waits for segments */
	/* written rarely */
	_Alignas(CACHE_LINE) _Atomic size_t want; /* the reader waits for head to get here */
	_Atomic unsigned tick_seq; /* ticks passed */
	size_t tick_pos;           /* under lock: the last tick comes after this many */
	double tick_now;           /* under lock: its time */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct worker {
	struct ring r;
	struct workers *ws;
	struct pipeline *pl;
	_Atomic uint64_t done;     /* every segment of its before this place is followed */
	pthread_t thread;
	int started;
	int result;
	unsigned tick_seen;
	double cpu;                /* the thread's CPU seconds, when it ended */
};

/* A buffer the reader has moved past, and how far each ring had been
 * written then: once every worker has followed that far, nothing points
 * into it any more. */
struct retired {
	uint8_t *buf;
	size_t mark[WORKERS_MAX];
};

struct workers {
	unsigned n;
	struct worker *w;
	_Atomic int ending;
	_Atomic uint64_t published; /* every segment before this place is in a ring */
	uint64_t seq;               /* the reader's: the next segment's place */
	enum end_reason reason;
	_Atomic int reader_waiting; /* for room in a ring, or for a buffer */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* the reader's own, apart from what the workers read */
	_Alignas(CACHE_LINE) unsigned nbuf, nbuf_max; /* buffers allocated, allowed */
	uint8_t **free_buf;
	unsigned nfree;
	struct retired *retired;    /* a queue of nbuf_max */
	unsigned ret_first, ret_count;
	uint8_t *spill;             /* where segments that would not last go */
	size_t spill_used;
};

/* ---- waking and waiting ---------------------------------------------------- */

static void signal_locked(pthread_mutex_t *lock, pthread_cond_t *cond)
{
	pthread_mutex_lock(lock);
	pthread_cond_broadcast(cond);
	pthread_mutex_unlock(lock);
}

/* Reader: makes what is written visible; wakes a sleeping worker when
 * enough waits, or always with force. The waker clears the flag, so that
 * a worker slow to get a CPU is signalled once, not on every batch. */
static void publish(struct ring *r, int force)
{
	if (atomic_load_explicit(&r->tail, memory_order_relaxed) != r->next)
		atomic_store(&r->tail, r->next);
	if (atomic_load(&r->sleeping) &&
	    (force || r->next - atomic_load(&r->head) >= WAKE_MIN) &&
	    atomic_exchange(&r->sleeping, 0))
		signal_locked(&r->lock, &r->cond);
}

static void publish_all(struct workers *ws, int force)
{
	for (unsigned i = 0; i < ws->n; i++)
		publish(&ws->w[i].r, force);
	atomic_store(&ws->published, ws->seq); /* after every tail */
}

/* Reader: sleeps until a worker reports progress (or WAIT_MS pass);
 * ready() is checked once more after announcing the wait. */
static void reader_wait(struct workers *ws, int (*ready)(struct workers *ws, void *arg), void *arg)
{
	pthread_mutex_lock(&ws->lock);
	atomic_store(&ws->reader_waiting, 1);
	if (!ready(ws, arg))
		cond_wait_ms(&ws->cond, &ws->lock, WAIT_MS);
	atomic_store(&ws->reader_waiting, 0);
	pthread_mutex_unlock(&ws->lock);
}

/* Worker: wakes the reader if it waits for this worker to get to head. */
static void wake_reader(struct worker *w, size_t head)
{
	struct workers *ws = w->ws;
	if (atomic_load(&ws->reader_waiting) && head >= atomic_load(&w->r.want) &&
	    atomic_exchange(&ws->reader_waiting, 0)) {
		atomic_store(&w->r.want, NO_WANT);
		signal_locked(&ws->lock, &ws->cond);
	}
}

/* ---- the workers ----------------------------------------------------------------- */

static int tick_pending(struct worker *w)
{
	return atomic_load_explicit(&w->r.tick_seq, memory_order_relaxed) != w->tick_seen;
}

/* A tick is taken in its place among the segments: once those handed
 * over before it are followed. */
static void take_tick(struct worker *w, size_t head)
{
	struct ring *r = &w->r;
	if (!tick_pending(w))
		return;
	pthread_mutex_lock(&r->lock);
	size_t pos = r->tick_pos;
	double now = r->tick_now;
	unsigned seq = atomic_load(&r->tick_seq);
	pthread_mutex_unlock(&r->lock);
	if (head < pos)
		return;
	w->tick_seen = seq;
	pipeline_tick(w->pl, now);
}

static void sleep_empty(struct worker *w, size_t head)
{
	struct ring *r = &w->r;
	pthread_mutex_lock(&r->lock);
	atomic_store(&r->sleeping, 1);
	if (atomic_load(&r->tail) == head && !atomic_load(&w->ws->ending) && !tick_pending(w))
		cond_wait_ms(&r->cond, &r->lock, WAIT_MS);
	atomic_store(&r->sleeping, 0);
	pthread_mutex_unlock(&r->lock);
}

/* Follows what is published, until the reader has ended and all is done. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ring *r = &w->r;
	size_t head = atomic_load(&r->head);
	thread_name("smtptls-worker");
	for (;;) {
		size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
		take_tick(w, head);
		if (head == tail) {
			wake_reader(w, head);
			if (atomic_load(&w->ws->ending) && head == atomic_load(&r->tail))
				break;
			pipeline_idle(w->pl);
			sleep_empty(w, head);
			continue;
		}
		size_t pos = head & (WORKERS_RING - 1), k = tail - head;
		if (k > WORKERS_RING - pos)
			k = WORKERS_RING - pos;
		if (k > WORKER_CHUNK)
			k = WORKER_CHUNK;
		pipeline_segments(w->pl, &r->seg[pos], k);
		head += k;
		atomic_store(&w->done, r->seg[(head - 1) & (WORKERS_RING - 1)].seq + 1);
		atomic_store(&r->head, head);
		wake_reader(w, head);
	}
	atomic_store(&w->done, UINT64_MAX);
	take_tick(w, head);
	w->result = pipeline_finish(w->pl, w->ws->reason);
	w->cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

static void ring_init(struct ring *r)
{
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->sleeping, 0);
	atomic_init(&r->want, NO_WANT);
	atomic_init(&r->tick_seq, 0);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
}

/* ---- DNS before a record ------------------------------------------------------- */

/* Every DNS segment goes to the worker that owns INTAKE_DNS_HASH. */
static unsigned owner(const struct workers *ws, uint32_t hash);

static struct worker *dns_owner(struct workers *ws)
{
	return &ws->w[owner(ws, INTAKE_DNS_HASH(0))];
}

/* Whether worker o has followed every segment of its placed before seq:
 * all of those are in its ring once `published` has passed seq, and
 * followed once its done has passed seq or its ring is empty. */
static int has_passed(struct workers *ws, struct worker *o, uint64_t seq)
{
	if (atomic_load(&ws->published) < seq)
		return 0;
	return atomic_load(&o->done) >= seq ||
	       atomic_load(&o->r.head) == atomic_load_explicit(&o->r.tail, memory_order_acquire);
}

/* A worker about to build a record of a session that began at seq waits
 * until the DNS owner has followed what came before: the DNS answers
 * before the session's start are then in the table. The owner never
 * waits (its own sessions' DNS is behind it), so nothing waits in a
 * circle. */
static int dns_wait(void *ctx, uint64_t seq)
{
	struct worker *w = ctx, *o = dns_owner(w->ws);
	int waited = 0;
	if (o == w)
		return 0;
	while (!has_passed(w->ws, o, seq)) {
		struct timespec pause = {0, 20000};
		nanosleep(&pause, NULL);
		waited = 1;
	}
	return waited;
}

static int worker_start(struct worker *w, const struct pipeline_opts *o, struct store *st)
{
	struct pipeline_opts mine = *o;
	if (mine.pdns) {
		mine.dns_wait = dns_wait;
		mine.dns_wait_ctx = w;
	}
	w->r.seg = malloc(WORKERS_RING * sizeof *w->r.seg);
	w->pl = pipeline_new(&mine, st);
	if (!w->r.seg || !w->pl || pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

/* Reader: stops the workers once they have followed all that is queued. */
static int stop_workers(struct workers *ws, enum end_reason reason)
{
	int rc = 0;
	ws->reason = reason;
	publish_all(ws, 0);
	atomic_store(&ws->ending, 1);
	publish_all(ws, 1);
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *w = &ws->w[i];
		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		w->started = 0;
		rc |= w->result;
	}
	return rc < 0 ? -1 : 0;
}

struct workers *workers_new(unsigned n, const struct pipeline_opts *o, struct store *st)
{
	if (n < 2 || n > WORKERS_MAX)
		return NULL;
	struct workers *ws = aligned_alloc(CACHE_LINE, sizeof *ws);
	struct pipeline_opts per = *o;
	if (!ws)
		return NULL;
	memset(ws, 0, sizeof *ws);
	ws->n = n;
	ws->nbuf_max = n + 3; /* each worker lags by about one; the reader's, the copies' */
	ws->w = aligned_alloc(CACHE_LINE, (n * sizeof *ws->w + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
	ws->free_buf = calloc(ws->nbuf_max, sizeof *ws->free_buf);
	ws->retired = calloc(ws->nbuf_max, sizeof *ws->retired);
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->cond, NULL);
	if (!ws->w || !ws->free_buf || !ws->retired) {
		workers_free(ws);
		return NULL;
	}
	memset(ws->w, 0, n * sizeof *ws->w);
	atomic_init(&ws->published, 0);
	for (unsigned i = 0; i < n; i++) {
		ring_init(&ws->w[i].r);
		atomic_init(&ws->w[i].done, 0);
		ws->w[i].ws = ws;
	}
	per.limits.max_flows = o->limits.max_flows / n ? o->limits.max_flows / n : 1;
	per.limits.max_buffered = o->limits.max_buffered / n;
	for (unsigned i = 0; i < n; i++) {
		if (worker_start(&ws->w[i], &per, st) < 0) {
			stop_workers(ws, END_EOF);
			workers_free(ws);
			return NULL;
		}
	}
	return ws;
}

/* ---- buffers ------------------------------------------------------------------- */

static int passed(struct workers *ws, void *arg)
{
	const struct retired *rt = arg;
	for (unsigned i = 0; i < ws->n; i++)
		if (atomic_load(&ws->w[i].r.head) < rt->mark[i])
			return 0;
	return 1;
}

/* The oldest retired buffer, once every worker has passed it. */
static uint8_t *reclaim(struct workers *ws, int wait)
{
	struct retired *rt = &ws->retired[ws->ret_first];
	if (ws->ret_count == 0 || (!wait && !passed(ws, rt)))
		return NULL;
	if (!passed(ws, rt))
		publish_all(ws, 1);
	while (!passed(ws, rt)) {
		for (unsigned i = 0; i < ws->n; i++) {
			struct ring *r = &ws->w[i].r;
			atomic_store(&r->want, atomic_load(&r->head) < rt->mark[i] ? rt->mark[i] : NO_WANT);
		}
		reader_wait(ws, passed, rt);
	}
	ws->ret_first = (ws->ret_first + 1) % ws->nbuf_max;
	ws->ret_count--;
	return rt->buf;
}

static uint8_t *buffer_get(void *ctx)
{
	struct workers *ws = ctx;
	uint8_t *b;
	if (ws->nfree > 0)
		return ws->free_buf[--ws->nfree];
	if ((b = reclaim(ws, 0)) != NULL)
		return b;
	if (ws->nbuf < ws->nbuf_max && (b = malloc(SOURCE_READ_BUFFER)) != NULL) {
		ws->nbuf++;
		return b;
	}
	return reclaim(ws, 1);
}

static void buffer_put(void *ctx, uint8_t *buf)
{
	struct workers *ws = ctx;
	struct retired *rt = &ws->retired[(ws->ret_first + ws->ret_count) % ws->nbuf_max];
	if (ws->ret_count == ws->nbuf_max) { /* more handed back than handed out */
		free(buf);
		return;
	}
	rt->buf = buf;
	for (unsigned i = 0; i < ws->n; i++)
		rt->mark[i] = ws->w[i].r.next;
	ws->ret_count++;
}

struct source_buffers workers_buffers(struct workers *ws)
{
	return (struct source_buffers){buffer_get, buffer_put, ws};
}

/* Copies the segment's bytes (its IP datagram, the payload within it) into
 * the spill buffer and points the segment there; -1 without memory. */
static int spill(struct workers *ws, struct segment *s)
{
	struct tcp_packet *t = &s->t;
	int inside = t->caplen == 0 || (t->payload >= t->l3 && t->caplen <= t->l3_len &&
					(size_t)(t->payload - t->l3) <= t->l3_len - t->caplen);
	size_t need = (t->l3_len + (inside ? 0 : t->caplen) + 7) & ~(size_t)7;
	if (need > SOURCE_READ_BUFFER)
		return -1;
	if (!ws->spill || SOURCE_READ_BUFFER - ws->spill_used < need) {
		if (ws->spill)
			buffer_put(ws, ws->spill);
		ws->spill_used = 0;
		if (!(ws->spill = buffer_get(ws)))
			return -1;
	}
	uint8_t *d = ws->spill + ws->spill_used;
	memcpy(d, t->l3, t->l3_len);
	if (inside && t->caplen)
		t->payload = d + (t->payload - t->l3);
	else if (t->caplen)
		t->payload = memcpy(d + t->l3_len, t->payload, t->caplen);
	t->l3 = d;
	ws->spill_used += need;
	s->lasting = 1;
	return 0;
}

/* ---- the reader's side ---------------------------------------------------------- */

static int has_room(struct workers *ws, void *arg)
{
	(void)ws;
	struct ring *r = arg;
	r->head_seen = atomic_load(&r->head);
	return r->next - r->head_seen < WORKERS_RING;
}

/* The worker's head is read only when the ring looks full: it is a line
 * the worker keeps writing. */
static void wait_room(struct workers *ws, struct ring *r)
{
	if (r->next - r->head_seen < WORKERS_RING || has_room(ws, r))
		return;
	publish_all(ws, 1);
	while (!has_room(ws, r)) {
		atomic_store(&r->want, r->next - WORKERS_RING / 2);
		reader_wait(ws, has_room, r);
	}
}

static unsigned owner(const struct workers *ws, uint32_t hash)
{
	return (hash >> 16) % ws->n; /* the flow table's buckets use the low bits */
}

void workers_segments(struct workers *ws, const struct segment *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ring *r = &ws->w[owner(ws, s[i].hash)].r;
		wait_room(ws, r);
		struct segment *slot = &r->seg[r->next & (WORKERS_RING - 1)];
		*slot = s[i];
		slot->seq = ws->seq++;
		if (!slot->lasting && spill(ws, slot) < 0)
			continue; /* out of memory: the segment is lost */
		r->next++;
	}
	publish_all(ws, 0);
}

void workers_tick(struct workers *ws, double now)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct ring *r = &ws->w[i].r;
		pthread_mutex_lock(&r->lock);
		r->tick_pos = r->next;
		r->tick_now = now;
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&r->tick_seq, 1);
	}
	publish_all(ws, 1);
}

int workers_finish(struct workers *ws, enum end_reason reason)
{
	return stop_workers(ws, reason);
}

unsigned workers_count(const struct workers *ws)
{
	return ws->n;
}

const struct pipeline_counters *workers_counters(const struct workers *ws, unsigned i)
{
	return pipeline_counters(ws->w[i].pl);
}

double workers_cpu(const struct workers *ws, unsigned i)
{
	return ws->w[i].cpu;
}

void workers_live(const struct workers *ws, unsigned i, struct pipeline_counters *c,
		  struct flow_stats *fs)
{
	pipeline_live(ws->w[i].pl, c, fs);
}

const struct flow_stats *workers_flow_stats(const struct workers *ws, unsigned i)
{
	return pipeline_flow_stats(ws->w[i].pl);
}

void workers_free(struct workers *ws)
{
	if (!ws)
		return;
	if (ws->w) {
		stop_workers(ws, END_EOF);
		for (unsigned i = 0; i < ws->n; i++) {
			pipeline_free(ws->w[i].pl);
			free(ws->w[i].r.seg);
			pthread_mutex_destroy(&ws->w[i].r.lock);
			pthread_cond_destroy(&ws->w[i].r.cond);
		}
	}
	while (ws->nfree > 0)
		free(ws->free_buf[--ws->nfree]);
	for (; ws->ret_count > 0; ws->ret_count--, ws->ret_first = (ws->ret_first + 1) % ws->nbuf_max)
		free(ws->retired[ws->ret_first].buf);
	free(ws->spill);
	pthread_mutex_destroy(&ws->lock);
	pthread_cond_destroy(&ws->cond);
	free(ws->free_buf);
	free(ws->retired);
	free(ws->w);
	free(ws);
}
