#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>

#define RANGES_MAX 32 /* disjoint runs of bytes a datagram may have at once */

/* A datagram being gathered: IPFRAG_HDR_MAX bytes of room for the header,
 * then the payload at buf + IPFRAG_HDR_MAX. */
struct dgram {
	struct dgram *hnext;          /* hash chain */
	struct dgram *older, *newer;  /* by first arrival: what times out first */
	struct ipfrag_key key;
	uint32_t hash;
	double first_ts;
	uint8_t *buf;
	size_t cap;                   /* payload bytes buf has room for */
	uint32_t total;               /* payload length, once the last fragment came */
	int have_last;
	size_t hdr_len;               /* 0 until the first fragment came */
	unsigned nranges;             /* payload bytes present, sorted, disjoint */
	struct { uint32_t lo, hi; } r[RANGES_MAX];
};

struct ipfrag {
	struct ipfrag_limits lim;
	struct ipfrag_stats *st;
	struct dgram **buckets;
	size_t nbuckets;              /* a power of two */
	struct dgram *oldest, *newest;
	uint8_t **done;               /* completed datagrams' buffers, a ring */
	unsigned done_next;
};

struct ipfrag *ipfrag_new(const struct ipfrag_limits *lim, struct ipfrag_stats *st)
{
	struct ipfrag *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->lim = *lim;
	if (t->lim.max_datagrams == 0)
		t->lim.max_datagrams = 1;
	if (t->lim.keep == 0)
		t->lim.keep = 1;
	t->st = st;
	t->nbuckets = 64;
	while (t->nbuckets < t->lim.max_datagrams && t->nbuckets < (1u << 16))
		t->nbuckets *= 2;
	t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
	t->done = calloc(t->lim.keep, sizeof *t->done);
	if (!t->buckets || !t->done) {
		ipfrag_free(t);
		return NULL;
	}
	return t;
}

/* ---- the table ---------------------------------------------------------- */

/* FNV-1a over the key's bytes: fragments are rare, the key is 44 bytes. */
static uint32_t key_hash(const struct ipfrag_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof *k; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct dgram **bucket_of(struct ipfrag *t, uint32_t h)
{
	return &t->buckets[h & (t->nbuckets - 1)];
}

static struct dgram *lookup(struct ipfrag *t, const struct ipfrag_key *k, uint32_t h)
{
	for (struct dgram *g = *bucket_of(t, h); g; g = g->hnext)
		if (g->hash == h && memcmp(&g->key, k, sizeof *k) == 0)
			return g;
	return NULL;
}

static void unlink_age(struct ipfrag *t, struct dgram *g)
{
	if (g->older)
		g->older->newer = g->newer;
	else
		t->oldest = g->newer;
	if (g->newer)
		g->newer->older = g->older;
	else
		t->newest = g->older;
}

/* Removes a datagram from the table; frees its buffer unless kept. */
static void drop(struct ipfrag *t, struct dgram *g, int free_buf)
{
	struct dgram **pp = bucket_of(t, g->hash);
	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	unlink_age(t, g);
	t->st->bytes_held -= g->cap;
	t->st->pending--;
	if (free_buf)
		free(g->buf);
	free(g);
}

static struct dgram *create(struct ipfrag *t, const struct ipfrag_key *k, uint32_t h, double ts)
{
	while (t->st->pending >= t->lim.max_datagrams && t->oldest) {
		t->st->dropped_cap++;
		drop(t, t->oldest, 1);
	}
	struct dgram *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->key = *k;
	g->hash = h;
	g->first_ts = ts;
	g->hnext = *bucket_of(t, h);
	*bucket_of(t, h) = g;
	g->older = t->newest;
	if (t->newest)
		t->newest->newer = g;
	else
		t->oldest = g;
	t->newest = g;
	t->st->pending++;
	return g;
}

void ipfrag_expire(struct ipfrag *t, double now)
{
	while (t->oldest && now - t->oldest->first_ts > t->lim.timeout) {
		t->st->timed_out++;
		drop(t, t->oldest, 1);
	}
}

void ipfrag_free(struct ipfrag *t)
{
	if (!t)
		return;
	while (t->oldest)
		drop(t, t->oldest, 1);
	if (t->done)
		for (unsigned i = 0; i < t->lim.keep; i++)
			free(t->done[i]);
	free(t->done);
	free(t->buckets);
	free(t);
}

/* ---- room for the payload ------------------------------------------------ */

/* Frees room for grow more bytes by dropping the oldest other datagrams;
 * 0 if it fits. */
static int make_room(struct ipfrag *t, const struct dgram *keep, size_t grow)
{
	while (t->st->bytes_held + grow > t->lim.max_bytes) {
		struct dgram *g = t->oldest;
		if (g == keep)
			g = g->newer;
		if (!g)
			return -1;
		t->st->dropped_cap++;
		drop(t, g, 1);
	}
	return 0;
}

/* Makes buf hold at least need payload bytes: exactly the total once it
 * is known, else doubling, up to the largest datagram. */
static int reserve(struct ipfrag *t, struct dgram *g, size_t need)
{
	if (need <= g->cap && g->buf)
		return 0;
	size_t cap = g->have_last ? g->total : g->cap * 2;
	if (cap < need)
		cap = need;
	if (cap < 1024 && !g->have_last)
		cap = 1024;
	if (cap > IPFRAG_PAYLOAD_MAX)
		cap = IPFRAG_PAYLOAD_MAX;
	if (make_room(t, g, cap - g->cap) < 0)
		return -1;
	uint8_t *b = realloc(g->buf, IPFRAG_HDR_MAX + cap);
	if (!b)
		return -1;
	g->buf = b;
	t->st->bytes_held += cap - g->cap;
	if (t->st->bytes_held > t->st->bytes_peak)
		t->st->bytes_peak = t->st->bytes_held;
	g->cap = cap;
	return 0;
}

/* ---- bytes ---------------------------------------------------------------- */

/* Compares the new bytes with those already held where they overlap:
 * 0 none overlap, 1 all agree, 2 some differ. */
static int compare_overlap(const struct dgram *g, uint32_t lo, uint32_t hi, const uint8_t *data)
{
	int verdict = 0;
	const uint8_t *have = g->buf + IPFRAG_HDR_MAX;
	for (unsigned i = 0; i < g->nranges; i++) {
		uint32_t a = g->r[i].lo > lo ? g->r[i].lo : lo;
		uint32_t b = g->r[i].hi < hi ? g->r[i].hi : hi;
		if (a >= b)
			continue;
		if (memcmp(have + a, data + (a - lo), b - a) != 0)
			return 2;
		verdict = 1;
	}
	return verdict;
}

/* Copies the bytes of [lo, hi) no range holds yet (the first copy wins). */
static void copy_new_bytes(struct dgram *g, uint32_t lo, uint32_t hi, const uint8_t *data)
{
	uint8_t *have = g->buf + IPFRAG_HDR_MAX;
	uint32_t at = lo;
	for (unsigned i = 0; i <= g->nranges && at < hi; i++) {
		uint32_t next_lo = i < g->nranges ? g->r[i].lo : hi;
		uint32_t stop = next_lo < hi ? next_lo : hi;
		if (stop > at)
			memcpy(have + at, data + (at - lo), stop - at);
		if (i < g->nranges && g->r[i].hi > at)
			at = g->r[i].hi;
	}
}

/* Adds [lo, hi) to the sorted ranges, merging what touches; -1 if the
 * ranges are full. */
static int add_range(struct dgram *g, uint32_t lo, uint32_t hi)
{
	unsigned i = 0, j;
	while (i < g->nranges && g->r[i].hi < lo)
		i++;
	j = i;
	while (j < g->nranges && g->r[j].lo <= hi) {
		lo = g->r[j].lo < lo ? g->r[j].lo : lo;
		hi = g->r[j].hi > hi ? g->r[j].hi : hi;
		j++;
	}
	if (i == j && g->nranges == RANGES_MAX)
		return -1;
	/* ranges i..j-1 become one */
	size_t tail = g->nranges - j;
	memmove(&g->r[i + 1], &g->r[j], tail * sizeof g->r[0]);
	g->r[i].lo = lo;
	g->r[i].hi = hi;
	g->nranges = i + 1 + (unsigned)tail;
	return 0;
}

/* ---- fragments ------------------------------------------------------------ */

/* Checks a fragment against what the datagram knows of its end; 0 if it
 * fits. Sets the end from a last fragment. */
static int check_end(struct dgram *g, const struct ipfrag_piece *pc, uint32_t end)
{
	if (!pc->more) {
		if (g->have_last && g->total != end)
			return -1;
		if (g->nranges && g->r[g->nranges - 1].hi > end)
			return -1;
		g->have_last = 1;
		g->total = end;
	} else if (g->have_last && end > g->total) {
		return -1;
	}
	return 0;
}

static int take_header(struct dgram *g, const struct ipfrag_piece *pc)
{
	if (pc->offset != 0 || !pc->hdr || g->hdr_len)
		return 0;
	if (pc->hdr_len == 0 || pc->hdr_len > IPFRAG_HDR_MAX)
		return -1;
	memcpy(g->buf + IPFRAG_HDR_MAX - pc->hdr_len, pc->hdr, pc->hdr_len);
	g->hdr_len = pc->hdr_len;
	return 0;
}

static int complete(const struct dgram *g)
{
	return g->have_last && g->hdr_len && g->nranges == 1 && g->r[0].lo == 0 &&
	       g->r[0].hi == g->total;
}

/* Hands the datagram's buffer to the ring of completed ones. */
static void finish(struct ipfrag *t, struct dgram *g, struct ipfrag_datagram *out)
{
	free(t->done[t->done_next]);
	t->done[t->done_next] = g->buf;
	t->done_next = (t->done_next + 1) % t->lim.keep;
	out->p = g->buf + IPFRAG_HDR_MAX - g->hdr_len;
	out->hdr_len = g->hdr_len;
	out->len = g->hdr_len + g->total;
	t->st->reassembled++;
	drop(t, g, 0);
}

enum { PIECE_OK = 0, PIECE_TOO_BIG = -1, PIECE_MALFORMED = -2 };

/* Whether the fragment alone is well-formed; counts what is not. */
static int piece_check(struct ipfrag *t, const struct ipfrag_piece *pc)
{
	uint64_t end = (uint64_t)pc->offset + pc->len;
	if (end > pc->max_end || end > IPFRAG_PAYLOAD_MAX) {
		t->st->too_big++;
		return PIECE_TOO_BIG;
	}
	if (pc->more && (pc->len == 0 || pc->len % 8 != 0)) {
		t->st->malformed++;
		return PIECE_MALFORMED;
	}
	return PIECE_OK;
}

/* Puts the fragment's bytes in; <0 if the datagram must go. */
static int merge(struct ipfrag *t, struct dgram *g, const struct ipfrag_piece *pc)
{
	uint32_t lo = pc->offset, hi = pc->offset + (uint32_t)pc->len;
	if (check_end(g, pc, hi) < 0) {
		t->st->malformed++;
		return -1;
	}
	if (reserve(t, g, g->have_last ? g->total : hi) < 0) {
		t->st->dropped_cap++;
		return -1;
	}
	if (take_header(g, pc) < 0) {
		t->st->malformed++;
		return -1;
	}
	if (lo == hi)
		return 0;
	int overlap = compare_overlap(g, lo, hi, pc->data);
	if (overlap == 1)
		t->st->overlaps++;
	else if (overlap == 2)
		t->st->conflicts++;
	copy_new_bytes(g, lo, hi, pc->data);
	if (add_range(g, lo, hi) < 0) {
		t->st->dropped_cap++;
		return -1;
	}
	return 0;
}

int ipfrag_add(struct ipfrag *t, const struct ipfrag_key *k, const struct ipfrag_piece *pc,
	       double ts, struct ipfrag_datagram *out)
{
	uint32_t h = key_hash(k);
	struct dgram *g = lookup(t, k, h);
	t->st->fragments++;
	int check = piece_check(t, pc);
	if (check != PIECE_OK) {
		if (g && check == PIECE_TOO_BIG)
			drop(t, g, 1); /* a datagram beyond its largest size is none */
		return IPFRAG_DROPPED;
	}
	if (!g && !(g = create(t, k, h, ts))) {
		t->st->dropped_cap++;
		return IPFRAG_DROPPED;
	}
	if (merge(t, g, pc) < 0) {
		drop(t, g, 1);
		return IPFRAG_DROPPED;
	}
	if (!complete(g))
		return IPFRAG_HELD;
	finish(t, g, out);
	return IPFRAG_DONE;
}
