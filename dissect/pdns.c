/* The passive-DNS table: entries, index, lifetime, caps and feeding.
 * The queries are in pdns_query.c; the design note in pdns.h. */
#include "pdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pdns_table.h"

#define NELEM(a) (sizeof a / sizeof a[0])
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

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
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
	return hash_final(hash_bytes(t->seed, name, strlen(name) + 1));
}

uint32_t pdns_hash_addr(const struct pdns *t, const struct pdns_addr *a)
{
	return hash_final(hash_bytes(t->seed ^ 0x5bd1e995u, a ? a : &no_addr, sizeof *a));
}

static uint32_t key_hash(const struct pdns *t, const struct pdns_key *k)
{
	uint64_t h = hash_bytes(t->seed + k->kind, k->name, strlen(k->name) + 1);
	if (kinds[k->kind].name2_key)
		h = hash_bytes(h, k->name2, strlen(k->name2) + 1);
	h = hash_bytes(h, k->addr ? k->addr : &no_addr, sizeof(struct pdns_addr));
	h = hash_bytes(h, k->who ? k->who : &no_addr, sizeof(struct pdns_addr));
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

static double until_of(const struct pdns *t, double ts, uint32_t ttl)
{
	uint32_t v = ttl < t->lim.ttl_min ? t->lim.ttl_min : ttl > t->lim.ttl_max ? t->lim.ttl_max : ttl;
	return ts + v;
}

/* The entry for k with a sighting from ts to until; a kind that replaces
 * gets a fresh entry with room for extra bytes. NULL if it could not be
 * stored. */
static struct node *put(struct pdns *t, const struct pdns_key *k, size_t extra, double ts,
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

static void tick(struct pdns *t, double ts)
{
	if (!t->started || ts < t->start)
		t->start = ts;
	if (!t->started || ts > t->now)
		t->now = ts;
	t->started = 1;
}

/* ---- DNS facts -------------------------------------------------------------------------- */

struct feed {
	struct pdns *t;
	const struct pdns_addr *who; /* the receiver of the answer */
	double ts;
};

static void fact_mx(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_key k = {K_MX, f->name, f->target, NULL, fd->who};
	struct node *n = put(fd->t, &k, 0, fd->ts, until_of(fd->t, fd->ts, f->ttl));
	if (n)
		n->pref = f->pref;
}

/* Whether host is an MX exchange in the table, or the target of CNAMEs
 * (at most PDNS_CNAME_DEPTH) leading back to one: only such addresses and
 * CNAMEs are kept, not those of every web site the link resolves. */
static int mail_host(struct pdns *t, const char *host)
{
	const char *name = host;
	for (int depth = 0; depth <= PDNS_CNAME_DEPTH && name; depth++) {
		const char *alias = NULL;
		for (const struct node *n = pdns_xchain(t, pdns_hash_name(t, name)); n; n = n->xnext) {
			if (strcmp(node_name2(n), name) != 0)
				continue;
			if (n->kind == K_MX)
				return 1;
			if (n->kind == K_CNAME && !alias)
				alias = node_name(n);
		}
		name = alias;
	}
	return 0;
}

static void fact_addr(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_addr a = {f->family, {0}};
	struct pdns_key k = {K_ADDR, f->name, "", &a, fd->who};
	if (!mail_host(fd->t, f->name)) {
		fd->t->st.not_mail++;
		return;
	}
	memcpy(a.a, f->addr, f->family == 4 ? 4 : 16);
	put(fd->t, &k, 0, fd->ts, until_of(fd->t, fd->ts, f->ttl));
}

static void fact_cname(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_key k = {K_CNAME, f->name, f->target, NULL, fd->who};
	if (!mail_host(fd->t, f->name)) {
		fd->t->st.not_mail++;
		return;
	}
	put(fd->t, &k, 0, fd->ts, until_of(fd->t, fd->ts, f->ttl));
}

/* A policy answer: its entry is the variant (name2) of the domain's. */
static void policy(const struct feed *fd, uint8_t kind, const char *domain, const char *variant,
		   int value, uint32_t ttl)
{
	struct pdns_key k = {kind, domain, variant, NULL, NULL};
	struct node *n = put(fd->t, &k, 0, fd->ts, until_of(fd->t, fd->ts, ttl));
	if (n)
		n->value = (uint8_t)value;
}

static void fact_sts(const struct feed *fd, const struct dns_fact *f)
{
	policy(fd, K_STS, f->name, f->sts_id, 1, f->ttl);
}

static void fact_tlsrpt(const struct feed *fd, const struct dns_fact *f)
{
	policy(fd, K_TLSRPT, f->name, "1", 1, f->ttl);
}

/* The variant of a TLSA answer: signed or not, and a digest of its
 * records, so that the same set seen again refreshes its entry. */
static void tlsa_variant(const struct pdns *t, int value, const struct dns_tlsa *rr, size_t n,
			 int capped, char *out, size_t cap)
{
	uint64_t h = hash_bytes(t->seed ^ (uint64_t)capped, rr, n * sizeof *rr);
	snprintf(out, cap, "%c%016llx", value == PDNS_DANE_SIGNED ? 's' : 'u',
		 (unsigned long long)h);
}

static void tlsa_set(const struct feed *fd, const char *host, int value,
		     const struct dns_tlsa *rr, size_t n, int capped, uint32_t ttl)
{
	char variant[24] = "";
	struct pdns_key k = {K_TLSA, host, variant, NULL, NULL};
	struct node *node;
	if (value != PDNS_DANE_NONE)
		tlsa_variant(fd->t, value, rr, n, capped, variant, sizeof variant);
	node = put(fd->t, &k, n * sizeof *rr, fd->ts, until_of(fd->t, fd->ts, ttl));
	if (!node)
		return;
	node->value = (uint8_t)value;
	node->ntlsa = (uint8_t)n;
	node->tlsa_capped = (uint8_t)capped;
	if (n)
		memcpy((void *)node_tlsa(node), rr, n * sizeof *rr);
	if (capped)
		fd->t->st.tlsa_capped++;
}

/* NODATA for MX: the implicit MX (RFC 5321 5.1); for the policies: 0. */
static void fact_none(const struct feed *fd, const struct dns_fact *f)
{
	if (f->none_of == DNS_Q_MX && !f->nxdomain) {
		struct dns_fact implicit = *f;
		memcpy(implicit.target, f->name, sizeof implicit.target);
		implicit.pref = 0;
		fact_mx(fd, &implicit);
	} else if (f->none_of == DNS_Q_STS) {
		policy(fd, K_STS, f->name, "", 0, f->ttl);
	} else if (f->none_of == DNS_Q_TLSRPT) {
		policy(fd, K_TLSRPT, f->name, "", 0, f->ttl);
	} else if (f->none_of == DNS_Q_TLSA) {
		tlsa_set(fd, f->name, PDNS_DANE_NONE, NULL, 0, 0, f->ttl);
	}
}

/* The TLSA records of one response: dns.c names them all after the
 * question, so they are one set. */
static void fact_tlsa_all(const struct feed *fd, const struct dns_msg *m)
{
	struct dns_tlsa rr[PDNS_TLSA_MAX];
	size_t n = 0, seen = 0;
	int rrsig = 0;
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < m->n_facts; i++) {
		const struct dns_fact *f = &m->facts[i];
		if (f->kind != DNS_FACT_TLSA)
			continue;
		seen++;
		rrsig |= f->rrsig;
		ttl = f->ttl < ttl ? f->ttl : ttl;
		if (n < PDNS_TLSA_MAX)
			rr[n++] = f->tlsa;
	}
	if (seen == 0)
		return;
	tlsa_set(fd, m->subject, rrsig || m->ad ? PDNS_DANE_SIGNED : PDNS_DANE_UNSIGNED, rr, n,
		 seen > n || m->facts_capped, ttl);
}

static void (*const fact_fn[])(const struct feed *, const struct dns_fact *) = {
	[DNS_FACT_MX] = fact_mx, [DNS_FACT_ADDR] = fact_addr, [DNS_FACT_CNAME] = fact_cname,
	[DNS_FACT_STS] = fact_sts, [DNS_FACT_TLSRPT] = fact_tlsrpt, [DNS_FACT_NONE] = fact_none,
};

static void lookup(const struct feed *fd, uint8_t kind, const char *name)
{
	struct pdns_key k = {kind, name, "", NULL, fd->who};
	put(fd->t, &k, 0, fd->ts, fd->ts + fd->t->lim.window);
}

static struct pdns_addr addr_clean(const struct pdns_addr *a)
{
	struct pdns_addr c = no_addr;
	if (a && (a->family == 4 || a->family == 6)) {
		c.family = a->family;
		memcpy(c.a, a->a, a->family == 4 ? 4 : 16);
	}
	return c;
}

void pdns_add_dns(struct pdns *t, const struct dns_msg *m, const struct pdns_addr *src,
		  const struct pdns_addr *dst, double ts)
{
	struct pdns_addr who = addr_clean(m->response ? dst : src);
	struct pdns_key client = {K_CLIENT, "", "", NULL, &who};
	struct feed fd = {t, &who, ts};
	pthread_mutex_lock(&t->lock);
	tick(t, ts);
	t->st.dns_messages++;
	t->dns_seen = 1;
	if (m->qkind != DNS_Q_OTHER && m->qkind != DNS_Q_ADDR)
		put(t, &client, 0, ts, ts + t->lim.ttl_max); /* its mail DNS is on the link */
	if (m->qkind == DNS_Q_STS)
		lookup(&fd, K_LOOKUP_STS, m->subject);
	else if (m->qkind == DNS_Q_TLSA)
		lookup(&fd, K_LOOKUP_TLSA, m->subject);
	for (size_t i = 0; m->response && i < m->n_facts; i++) {
		enum dns_fact_kind kind = m->facts[i].kind;
		if ((size_t)kind < NELEM(fact_fn) && fact_fn[kind])
			fact_fn[kind](&fd, &m->facts[i]);
	}
	if (m->response)
		fact_tlsa_all(&fd, m);
	pthread_mutex_unlock(&t->lock);
}

/* ---- HTTPS ---------------------------------------------------------------------------- */

/* The domain of an SNI "mta-sts.DOMAIN", lowercased, into out; 0 if the
 * SNI is not one (or does not fit). */
static int policy_host(const char *sni, char *out, size_t cap, int *too_long)
{
	static const char prefix[] = "mta-sts.";
	size_t n = strlen(sni), pl = sizeof prefix - 1;
	*too_long = n >= cap;
	if (n <= pl || n >= cap)
		return 0;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(sni[i] >= 'A' && sni[i] <= 'Z' ? sni[i] + 32 : sni[i]);
	if (out[n - 1] == '.')
		out[--n] = '\0';
	if (n <= pl || memcmp(out, prefix, pl) != 0)
		return 0;
	memmove(out, out + pl, n - pl + 1);
	return 1;
}

void pdns_add_https(struct pdns *t, const struct pdns_addr *client, const char *sni, double ts)
{
	char domain[DNS_NAME_MAX];
	int too_long = 0;
	struct pdns_addr who = addr_clean(client);
	struct feed fd = {t, &who, ts};
	pthread_mutex_lock(&t->lock);
	tick(t, ts);
	t->st.https_hellos++;
	if (!t->https_seen || ts < t->https_first)
		t->https_first = ts;
	t->https_seen = 1;
	if (!sni) {
		t->st.https_unread++; /* it may have been a fetch: no 0 for this client */
		lookup(&fd, K_FETCH_UNREAD, "");
	} else if (policy_host(sni, domain, sizeof domain, &too_long)) {
		t->st.policy_fetches++;
		lookup(&fd, K_FETCH, domain);
	}
	t->st.names_too_long += too_long;
	pthread_mutex_unlock(&t->lock);
}

void pdns_note_dns(struct pdns *t)
{
	if (!atomic_load_explicit(&t->dns_noted, memory_order_relaxed))
		atomic_store(&t->dns_noted, 1);
}

int pdns_dns_noted(struct pdns *t)
{
	return atomic_load(&t->dns_noted);
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
	tick(t, now);
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
