/* The passive-DNS table: entries, index, lifetime, caps, clocks and
 * expiry. What feeds it (DNS answers, HTTPS hellos) is in pdns_feed.c, the
 * queries in pdns_query.c; the design note in pdns.h. */
#include "pdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pdns_table.h"

struct pdns_addr pdns_addr_make(uint8_t family, const uint8_t *a)
{
	struct pdns_addr p;
	memset(&p, 0, sizeof p);
	p.family = family;
	memcpy(p.a, a, family == 4 ? 4 : 16);
	return p;
}

#define MERGE_SECONDS 1.0 /* sightings this close are one */

/* Per kind: is name2 part of the key, which index and eviction mark it
 * has, and whether a new answer replaces the entry rather than adding a
 * sighting. No kind replaces any more: a policy keeps one entry per
 * distinct answer (its variant in name2, indexed by the name), so that a
 * session is judged by the answers seen before it however late it is
 * asked (pdns_query.c). */
enum { X_NONE, X_NAME2, X_ADDR, X_WHO, X_NAME };

static const struct kind_info {
	uint8_t name2_key;
	uint8_t xindex;
	int8_t mark;
	uint8_t replace;
} kinds[K_COUNT] = {
	[K_MX] = {1, X_NAME2, M_MX, 0},
	[K_ADDR] = {0, X_ADDR, M_ADDR, 0},
	[K_CNAME] = {1, X_NAME2, M_CNAME, 0},
	[K_STS] = {1, X_NAME, M_NONE, 0},
	[K_TLSRPT] = {1, X_NAME, M_NONE, 0},
	[K_TLSA] = {1, X_NAME, M_NONE, 0},
	[K_LOOKUP_STS] = {0, X_WHO, M_LOOKUP, 0},
	[K_LOOKUP_TLSA] = {0, X_WHO, M_LOOKUP, 0},
	[K_FETCH] = {0, X_WHO, M_LOOKUP, 0},
	[K_FETCH_UNREAD] = {0, X_WHO, M_LOOKUP, 0},
	[K_CLIENT] = {0, X_NONE, M_NONE, 0},
};

static const struct pdns_addr no_addr;

void pdns_limits_default(struct pdns_limits *lim)
{
	lim->max_bytes = 64u << 20;
	lim->max_entries = 0;
	lim->ttl_min = 60;
	lim->ttl_max = 86400;
	lim->window = 300;
	lim->linger = 900;
	lim->tie = 2;
	lim->fresh = 60;
}

/* ---- hashing (seeded: names come from the network) ------------------------ */

static uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

uint64_t pdns_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;
	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = rotl((h ^ w) * 0x9e3779b97f4a7c15u, 29);
	}
	w = n;
	for (size_t i = 0; i < n; i++)
		w = w << 8 | b[i];
	return rotl((h ^ w) * 0x9e3779b97f4a7c15u, 29);
}

static uint32_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	return (uint32_t)h;
}

uint32_t pdns_hash_name(const struct pdns *t, const char *name)
{
	return hash_final(pdns_hash_bytes(t->seed, name, strlen(name) + 1));
}

uint32_t pdns_hash_addr(const struct pdns *t, const struct pdns_addr *a)
{
	return hash_final(pdns_hash_bytes(t->seed ^ 0x5bd1e995u, a ? a : &no_addr, sizeof *a));
}

static uint32_t key_hash(const struct pdns *t, const struct pdns_key *k)
{
	uint64_t h = pdns_hash_bytes(t->seed + k->kind, k->name, strlen(k->name) + 1);
	if (kinds[k->kind].name2_key)
		h = pdns_hash_bytes(h, k->name2, strlen(k->name2) + 1);
	h = pdns_hash_bytes(h, k->addr ? k->addr : &no_addr, sizeof(struct pdns_addr));
	h = pdns_hash_bytes(h, k->who ? k->who : &no_addr, sizeof(struct pdns_addr));
	return hash_final(h);
}

/* The secondary hash: the index of MX and CNAME by their second name, of
 * addresses by address, and the eviction mark of lookups by client. */
static uint32_t key_xhash(const struct pdns *t, const struct pdns_key *k)
{
	switch (kinds[k->kind].xindex) {
	case X_NAME: return pdns_hash_name(t, k->name);
	case X_NAME2: return pdns_hash_name(t, k->name2);
	case X_ADDR: return pdns_hash_addr(t, k->addr);
	case X_WHO: return pdns_hash_addr(t, k->who);
	default: return 0;
	}
}

int pdns_addr_eq(const struct pdns_addr *a, const struct pdns_addr *b)
{
	return memcmp(a ? a : &no_addr, b ? b : &no_addr, sizeof *a) == 0;
}

/* ---- the table ------------------------------------------------------------------ */

static size_t pow2_at_least(size_t n)
{
	size_t p = 256;
	while (p < n && p < ((size_t)1 << 24))
		p <<= 1;
	return p;
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
		s = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)&s;
	return s;
}

struct pdns *pdns_new(const struct pdns_limits *lim)
{
	struct pdns *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	if (lim)
		t->lim = *lim;
	else
		pdns_limits_default(&t->lim);
	if (t->lim.ttl_max < t->lim.ttl_min)
		t->lim.ttl_max = t->lim.ttl_min;
	t->nb = pow2_at_least(t->lim.max_bytes / 256);
	t->st.bytes = 2 * t->nb * sizeof(struct node *);
	t->hb = calloc(t->nb, sizeof *t->hb);
	t->xb = calloc(t->nb, sizeof *t->xb);
	if (!t->hb || !t->xb || t->st.bytes >= t->lim.max_bytes ||
	    pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->hb);
		free(t->xb);
		free(t);
		return NULL;
	}
	t->st.bytes_peak = t->st.bytes;
	t->seed = random_seed();
	atomic_init(&t->nclocks, 0);
	atomic_init(&t->dns_noted, 0);
	for (int i = 0; i < PDNS_CLOCKS; i++)
		atomic_init(&t->clocks[i], 0);
	return t;
}

void pdns_free(struct pdns *t)
{
	if (!t)
		return;
	for (struct node *n = t->newest, *next; n; n = next) {
		next = n->older;
		free(n);
	}
	free(t->hb);
	free(t->xb);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- entries ---------------------------------------------------------------------- */

static int key_matches(const struct node *n, const struct pdns_key *k, uint32_t hash)
{
	return n->hash == hash && n->kind == k->kind && pdns_addr_eq(&n->who, k->who) &&
	       pdns_addr_eq(&n->addr, k->addr) && strcmp(node_name(n), k->name) == 0 &&
	       (!kinds[k->kind].name2_key || strcmp(node_name2(n), k->name2) == 0);
}

struct node *pdns_find(struct pdns *t, const struct pdns_key *k)
{
	uint32_t h = key_hash(t, k);
	for (struct node *n = t->hb[h & (t->nb - 1)]; n; n = n->hnext)
		if (key_matches(n, k, h))
			return n;
	return NULL;
}

struct node *pdns_xchain(const struct pdns *t, uint32_t xhash)
{
	return t->xb[xhash & (t->nb - 1)];
}

static void lru_unlink(struct pdns *t, struct node *n)
{
	if (n->newer)
		n->newer->older = n->older;
	else
		t->newest = n->older;
	if (n->older)
		n->older->newer = n->newer;
	else
		t->oldest = n->newer;
	n->older = n->newer = NULL;
}

static void lru_push(struct pdns *t, struct node *n)
{
	n->older = t->newest;
	n->newer = NULL;
	if (t->newest)
		t->newest->newer = n;
	t->newest = n;
	if (!t->oldest)
		t->oldest = n;
}

void pdns_touch(struct pdns *t, struct node *n)
{
	if (t->newest == n)
		return;
	lru_unlink(t, n);
	lru_push(t, n);
}

static void chain_unlink(struct node **head, struct node *n, int secondary)
{
	for (struct node **pp = head; *pp; pp = secondary ? &(*pp)->xnext : &(*pp)->hnext) {
		if (*pp == n) {
			*pp = secondary ? n->xnext : n->hnext;
			return;
		}
	}
}

/* Whether entries of a kind are on the secondary index (a lookup's client
 * is only hashed for its eviction mark). */
static int indexed(uint8_t kind)
{
	uint8_t x = kinds[kind].xindex;
	return x == X_NAME2 || x == X_ADDR || x == X_NAME;
}

enum removal { RM_REPLACED, RM_SWEPT, RM_PUSHED_OUT };

static void mark(struct pdns *t, const struct node *n)
{
	int m = kinds[n->kind].mark;
	double *slot;
	if (m == M_NONE)
		return;
	slot = &t->marks[m][n->xhash % PDNS_MARK_SLOTS];
	if (n->until_max > *slot)
		*slot = n->until_max;
}

static void node_remove(struct pdns *t, struct node *n, enum removal why)
{
	chain_unlink(&t->hb[n->hash & (t->nb - 1)], n, 0);
	if (indexed(n->kind))
		chain_unlink(&t->xb[n->xhash & (t->nb - 1)], n, 1);
	lru_unlink(t, n);
	if (why == RM_PUSHED_OUT) {
		mark(t, n); /* a query about its time may now be missing it */
		if (n->until_max + t->lim.linger >= t->now)
			t->st.evicted++;
		else
			t->st.expired++;
	} else if (why == RM_SWEPT) {
		t->st.expired++;
	}
	t->st.entries--;
	t->st.bytes -= n->cost;
	free(n);
}

/* As malloc takes it: the size and an 8-byte header, rounded to 16. */
static size_t cost_of(size_t size)
{
	return (size + 8 + 15) & ~(size_t)15;
}

/* Pushes out least recently used entries until cost fits; 0 if it never
 * can. */
static int make_room(struct pdns *t, size_t cost)
{
	size_t buckets = 2 * t->nb * sizeof(struct node *);
	if (cost > t->lim.max_bytes - buckets)
		return 0;
	while (t->oldest && (t->st.bytes + cost > t->lim.max_bytes ||
			     (t->lim.max_entries && t->st.entries >= t->lim.max_entries)))
		node_remove(t, t->oldest, RM_PUSHED_OUT);
	return t->lim.max_entries == 0 || t->st.entries < t->lim.max_entries;
}

static struct node *node_new(struct pdns *t, const struct pdns_key *k, size_t extra)
{
	size_t l1 = strlen(k->name), l2 = strlen(k->name2);
	size_t size = sizeof(struct node) + l1 + 1 + l2 + 1 + extra;
	size_t cost = cost_of(size);
	struct node *n;
	if (l1 >= DNS_NAME_MAX || l2 >= DNS_NAME_MAX || !make_room(t, cost) ||
	    (n = calloc(1, size)) == NULL) {
		t->st.dropped++;
		return NULL;
	}
	n->cost = cost;
	n->kind = k->kind;
	n->addr = k->addr ? *k->addr : no_addr;
	n->who = k->who ? *k->who : no_addr;
	n->len1 = (uint16_t)l1;
	n->len2 = (uint16_t)l2;
	memcpy(n->text, k->name, l1 + 1);
	memcpy(n->text + l1 + 1, k->name2, l2 + 1);
	n->hash = key_hash(t, k);
	n->xhash = key_xhash(t, k);
	n->hnext = t->hb[n->hash & (t->nb - 1)];
	t->hb[n->hash & (t->nb - 1)] = n;
	if (indexed(k->kind)) {
		n->xnext = t->xb[n->xhash & (t->nb - 1)];
		t->xb[n->xhash & (t->nb - 1)] = n;
	}
	lru_push(t, n);
	t->st.entries++;
	t->st.inserted++;
	t->st.bytes += cost;
	if (t->st.bytes > t->st.bytes_peak)
		t->st.bytes_peak = t->st.bytes;
	return n;
}

/* ---- sightings ---------------------------------------------------------------------- */

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

/* Merges group i + 1 (older) into group i (newer). */
static void sight_merge(struct node *n, size_t i)
{
	struct sight *newer = &n->s[i], *older = &n->s[i + 1];
	newer->gapless = newer->gapless && older->gapless && newer->lo <= older->until;
	newer->lo = older->lo;
	newer->until = dmax(newer->until, older->until);
	memmove(older, older + 1, (n->n_sights - i - 2) * sizeof n->s[0]);
	n->n_sights--;
}

/* Keeps at most PDNS_SIGHTS groups by merging the two closest in time:
 * what is lost is precision where answers were densest, never an
 * answer. */
static void sight_squeeze(struct node *n)
{
	size_t best = 0;
	double gap = -1;
	while (n->n_sights > PDNS_SIGHTS) {
		for (size_t i = 0; i + 1 < n->n_sights; i++) {
			double g = n->s[i].lo - n->s[i + 1].hi;
			if (gap < 0 || g < gap)
				gap = g, best = i;
		}
		sight_merge(n, best);
		gap = -1;
	}
}

/* Adds an answer seen at `seen`, valid until `until`; one within
 * MERGE_SECONDS of a group joins it. */
static void sight_add(struct node *n, double seen, double until)
{
	size_t i = 0;
	n->until_max = dmax(n->until_max, until);
	for (size_t j = 0; j < n->n_sights; j++) {
		struct sight *s = &n->s[j];
		if (seen >= s->lo - MERGE_SECONDS && seen <= s->hi + MERGE_SECONDS) {
			s->gapless = s->gapless && (seen >= s->lo || until >= s->lo);
			s->lo = seen < s->lo ? seen : s->lo;
			s->hi = dmax(s->hi, seen);
			s->until = dmax(s->until, until);
			return;
		}
	}
	while (i < n->n_sights && n->s[i].hi > seen)
		i++;
	memmove(&n->s[i + 1], &n->s[i], (n->n_sights - i) * sizeof n->s[0]);
	n->s[i] = (struct sight){seen, seen, until, 1};
	n->n_sights++;
	sight_squeeze(n);
}

int pdns_sight_at(const struct node *n, double ts, double *lo, double *hi)
{
	for (size_t i = 0; i < n->n_sights; i++) {
		const struct sight *s = &n->s[i];
		if (s->lo > ts)
			continue; /* all of it after ts */
		if (s->hi <= ts) { /* its last answer is the latest before ts */
			*lo = *hi = s->hi;
			return ts <= s->until ? SIGHT_YES : SIGHT_NO;
		}
		if (!s->gapless)
			return SIGHT_UNSURE; /* merged: the answers around ts are not known */
		*lo = s->lo;
		*hi = ts;
		return SIGHT_YES;
	}
	return SIGHT_NO;
}

int pdns_answer_before(const struct node *n, double ts, double *lo, double *hi)
{
	for (size_t i = 0; i < n->n_sights; i++) {
		const struct sight *s = &n->s[i];
		if (s->lo > ts)
			continue;
		*lo = s->hi <= ts ? s->hi : s->lo;
		*hi = s->hi <= ts ? s->hi : ts;
		return 1;
	}
	return 0;
}

int pdns_marked(const struct pdns *t, enum pdns_mark m, uint32_t xhash, double ts)
{
	return t->marks[m][xhash % PDNS_MARK_SLOTS] >= ts;
}

/* ---- putting ------------------------------------------------------------------------ */

double pdns_until(const struct pdns *t, double ts, uint32_t ttl)
{
	uint32_t v = ttl < t->lim.ttl_min ? t->lim.ttl_min : ttl > t->lim.ttl_max ? t->lim.ttl_max : ttl;
	return ts + v;
}

struct node *pdns_put(struct pdns *t, const struct pdns_key *k, size_t extra, double ts,
		      double until)
{
	struct node *n = pdns_find(t, k);
	if (n && !kinds[k->kind].replace) {
		t->st.refreshed++;
		pdns_touch(t, n);
	} else {
		if (n)
			node_remove(t, n, RM_REPLACED);
		if ((n = node_new(t, k, extra)) == NULL)
			return NULL;
	}
	sight_add(n, ts, until);
	return n;
}

void pdns_tick(struct pdns *t, double ts)
{
	if (!t->started || ts < t->start)
		t->start = ts;
	if (!t->started || ts > t->now)
		t->now = ts;
	t->started = 1;
}

/* ---- clocks ------------------------------------------------------------------------------ */

int pdns_clock_new(struct pdns *t)
{
	int id = atomic_fetch_add(&t->nclocks, 1);
	if (id >= PDNS_CLOCKS)
		return -1;
	pdns_clock_set(t, id, PDNS_CAUGHT_UP);
	return id;
}

void pdns_clock_set(struct pdns *t, int id, double ts)
{
	uint64_t bits;
	if (id < 0 || id >= PDNS_CLOCKS)
		return;
	memcpy(&bits, &ts, sizeof bits);
	atomic_store_explicit(&t->clocks[id], bits, memory_order_release);
}

/* The time entries may be swept by: no feeder that still builds records
 * is behind it (the lock held). */
static double sweep_time(struct pdns *t)
{
	double now = t->now;
	int n = atomic_load(&t->nclocks);
	for (int i = 0; i < n && i < PDNS_CLOCKS; i++) {
		uint64_t bits = atomic_load_explicit(&t->clocks[i], memory_order_acquire);
		double c;
		memcpy(&c, &bits, sizeof c);
		if (c < now)
			now = c;
	}
	return now;
}

/* ---- expiry ------------------------------------------------------------------------------ */

void pdns_expire(struct pdns *t, double now)
{
	pthread_mutex_lock(&t->lock);
	pdns_tick(t, now);
	size_t buckets = t->nb / PDNS_SWEEP_CALLS;
	double upto = sweep_time(t);
	for (size_t i = 0; i < buckets; i++) {
		struct node *n = t->hb[t->sweep_at], *next;
		for (; n; n = next) {
			next = n->hnext;
			if (n->until_max + t->lim.linger < upto)
				node_remove(t, n, RM_SWEPT);
		}
		t->sweep_at = (t->sweep_at + 1) & (t->nb - 1);
	}
	pthread_mutex_unlock(&t->lock);
}

void pdns_stats(struct pdns *t, struct pdns_stats *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->st;
	out->bytes_cap = t->lim.max_bytes;
	pthread_mutex_unlock(&t->lock);
}

int pdns_link_has_dns(struct pdns *t)
{
	int v;
	pthread_mutex_lock(&t->lock);
	v = t->dns_seen;
	pthread_mutex_unlock(&t->lock);
	return v;
}
