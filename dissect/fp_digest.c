/* The digests behind the fingerprints and certificate hashes (libgcrypt),
 * through a per-thread memo of recent inputs: see fingerprint.h. */
#include "fingerprint.h"
#include "../common/crypto.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing -------------------------------------------------------------- */

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static int gcrypt_ready;
static pthread_key_t md5_key; /* each thread's MD5 handle */
static int md5_key_ready;
static pthread_key_t memo_key; /* each thread's digest memo, below */
static int memo_key_ready;

static void md5_close(void *h)
{
	gcry_md_close(h);
}

static void gcrypt_init(void)
{
	gcrypt_ready = crypto_ready();
	md5_key_ready = pthread_key_create(&md5_key, md5_close) == 0;
	memo_key_ready = pthread_key_create(&memo_key, free) == 0;
}

/* The calling thread's MD5 handle, reset, or NULL. gcry_md_hash_buffer
 * has no shortcut for MD5: it opened and closed a handle per JA3 and
 * JA3S, which cost as much as the hashing. A handle per thread (closed
 * when the thread ends) is reset instead. */
static gcry_md_hd_t md5_handle(void)
{
	gcry_md_hd_t h;
	if (!md5_key_ready)
		return NULL;
	if ((h = pthread_getspecific(md5_key)) != NULL) {
		gcry_md_reset(h);
		return h;
	}
	if (gcry_md_open(&h, GCRY_MD_MD5, 0) != 0)
		return NULL;
	if (pthread_setspecific(md5_key, h) != 0) {
		gcry_md_close(h);
		return NULL;
	}
	return h;
}

/* The digest of p[0..n) into d: MD5 through the thread's handle, other
 * algorithms (and MD5 without a handle) through gcry_md_hash_buffer. */
static void digest_raw(int algo, const void *p, size_t n, uint8_t *d)
{
	gcry_md_hd_t h = algo == GCRY_MD_MD5 ? md5_handle() : NULL;
	const unsigned char *md = NULL;
	if (h) {
		gcry_md_write(h, p, n);
		md = gcry_md_read(h, GCRY_MD_MD5);
	}
	if (md)
		memcpy(d, md, 16);
	else
		gcry_md_hash_buffer(algo, d, p, n);
}

/* ---- a per-thread memo of recent digests ------------------------------------- */

/* The same JA3/JA4 texts (a few hundred client and server builds) and
 * certificates (a server's, on every session to it) recur all the time,
 * so each thread remembers its last FP_MEMO_ENTRIES digests, in 8-way
 * sets chosen by a 64-bit key of the input, least recently used out.
 * (With 2 ways, four inputs of one busy client and server shared a set
 * on the benchmark capture and missed every time.) An entry keeps a
 * copy of its input, and a hit needs the algorithm, length and every
 * byte equal, so the digest is always the one hashing gives. Inputs
 * longer than FP_MEMO_MAX (and empty ones) are hashed each time. Per
 * thread: one table of sizeof(struct memo) = 64 * (8 + 8 + 2088) + 24 =
 * 134,680 bytes (132 KiB, on LP64), allocated zeroed on first use,
 * freed when the thread ends; no locks, nothing shared. */
#define MEMO_WAYS 8
#define MEMO_SET_BITS 3
#define MEMO_SETS (1u << MEMO_SET_BITS)
#define MEMO_MUL 0x9e3779b97f4a7c15u
#define MEMO_ROT 29

_Static_assert(MEMO_SETS * MEMO_WAYS == FP_MEMO_ENTRIES, "memo geometry");

struct memo_entry {
	uint32_t len;
	int algo; /* 0 while empty */
	uint8_t digest[32];
	uint8_t input[FP_MEMO_MAX];
};

struct memo {
	uint64_t key[MEMO_SETS][MEMO_WAYS];  /* a set's keys: one cache line */
	uint64_t used[MEMO_SETS][MEMO_WAYS]; /* clock at the last use, 0 never */
	struct memo_entry e[MEMO_SETS][MEMO_WAYS];
	uint64_t clock;
	unsigned long hits, misses;
};

_Static_assert(sizeof(struct memo) <= 256 * 1024, "a modest table per thread");

static uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t memo_step(uint64_t lane, uint64_t w)
{
	return rotl64((lane ^ w) * MEMO_MUL, MEMO_ROT);
}

struct lanes {
	uint64_t a, b, c, d;
};

static void memo_block(struct lanes *l, const uint8_t *p)
{
	uint64_t w[4];
	memcpy(w, p, sizeof w);
	l->a = memo_step(l->a, w[0]);
	l->b = memo_step(l->b, w[1]);
	l->c = memo_step(l->c, w[2]);
	l->d = memo_step(l->d, w[3]);
}

/* Four lanes over 32-byte blocks (words read with memcpy, in host
 * order), the last block zero-padded, then the length and the lanes
 * folded together: about half an instruction a byte. */
uint64_t fp_memo_key(const void *p, size_t n)
{
	struct lanes l = {0x243f6a8885a308d3u, 0x13198a2e03707344u, 0xa4093822299f31d0u,
			  0x082efa98ec4e6c89u};
	const uint8_t *b = p;
	uint8_t tail[32] = {0};
	uint64_t h = n;
	size_t i = 0;
	for (; n - i >= sizeof tail; i += sizeof tail)
		memo_block(&l, b + i);
	if (n > i)
		memcpy(tail, b + i, n - i);
	memo_block(&l, tail);
	h = memo_step(memo_step(memo_step(memo_step(h, l.a), l.b), l.c), l.d);
	h ^= h >> 32;
	h *= MEMO_MUL;
	return h ^ h >> 29;
}

/* The calling thread's table, made on first use; NULL without one. */
static struct memo *memo_table(void)
{
	struct memo *m;
	if (!memo_key_ready)
		return NULL;
	if ((m = pthread_getspecific(memo_key)) != NULL)
		return m;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	if (pthread_setspecific(memo_key, m) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

/* The way of set s that holds (algo, p[0..n)), or -1. */
static int memo_find(const struct memo *m, unsigned s, uint64_t key, int algo, const void *p,
		     size_t n)
{
	for (int w = 0; w < MEMO_WAYS; w++) {
		const struct memo_entry *e = &m->e[s][w];
		if (m->key[s][w] == key && e->algo == algo && e->len == n &&
		    memcmp(e->input, p, n) == 0)
			return w;
	}
	return -1;
}

/* The least recently used way of set s (an empty one first). */
static int memo_victim(const struct memo *m, unsigned s)
{
	int v = 0;
	for (int w = 1; w < MEMO_WAYS; w++)
		if (m->used[s][w] < m->used[s][v])
			v = w;
	return v;
}

/* The digest (dlen bytes) of p[0..n), 0 < n <= FP_MEMO_MAX, into d: from
 * the table when it holds the same input, else hashed and remembered. */
static void memo_digest(struct memo *m, int algo, const void *p, size_t n, uint8_t *d,
			size_t dlen)
{
	uint64_t key = fp_memo_key(p, n);
	unsigned s = (unsigned)(key >> (64 - MEMO_SET_BITS));
	int w = memo_find(m, s, key, algo, p, n);
	if (w >= 0) {
		memcpy(d, m->e[s][w].digest, dlen);
		m->hits++;
	} else {
		struct memo_entry *e = &m->e[s][w = memo_victim(m, s)];
		digest_raw(algo, p, n, d);
		m->key[s][w] = key;
		e->algo = algo;
		e->len = (uint32_t)n;
		memcpy(e->digest, d, dlen);
		memcpy(e->input, p, n);
		m->misses++;
	}
	m->used[s][w] = ++m->clock;
}

void fp_memo_stats(unsigned long *hits, unsigned long *misses)
{
	pthread_once(&gcrypt_once, gcrypt_init);
	struct memo *m = memo_key_ready ? pthread_getspecific(memo_key) : NULL;
	*hits = m ? m->hits : 0;
	*misses = m ? m->misses : 0;
}

/* ---- hex digests ------------------------------------------------------------------ */

/* Digest of p[0..n) as hex, the first hex_len digits; -1 on failure
 * (also for an algorithm whose digest would not fit d). */
static int digest_hex(int algo, const void *p, size_t n, char *out, size_t hex_len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[32];
	pthread_once(&gcrypt_once, gcrypt_init);
	size_t dlen = gcrypt_ready ? gcry_md_get_algo_dlen(algo) : 0;
	if (dlen == 0 || dlen > sizeof d || dlen * 2 < hex_len)
		return -1;
	struct memo *m = n > 0 && n <= FP_MEMO_MAX ? memo_table() : NULL;
	if (m)
		memo_digest(m, algo, p, n, d, dlen);
	else
		digest_raw(algo, p, n, d);
	for (size_t i = 0; i < hex_len / 2; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	if (hex_len % 2)
		out[hex_len - 1] = hex[d[hex_len / 2] >> 4];
	out[hex_len] = '\0';
	return 0;
}

int fp_digest_hex(int algo, const void *p, size_t n, char *out, size_t hex_len)
{
	return digest_hex(algo, p, n, out, hex_len);
}

void fp_sha256_hex(const uint8_t *p, size_t len, char out[FP_SHA256_HEX])
{
	if (digest_hex(GCRY_MD_SHA256, p, len, out, 64) < 0)
		out[0] = '\0';
}

