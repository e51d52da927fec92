#include "fingerprint.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ciphers.h"
#include "../common/rd.h"

#define TEXT_MAX (1u << 20) /* a 64 KiB hello gives at most ~200 KB of text */
#define JA4_HASH_HEX 12

enum { EXT_SNI = 0, EXT_GROUPS = 10, EXT_POINT_FORMATS = 11, EXT_SIG_ALGS = 13,
       EXT_ALPN = 16, EXT_VERSIONS = 43 };

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
	gcrypt_ready = gcry_check_version(NULL) != NULL;
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

/* ---- a text buffer whose failure sticks ------------------------------------ */

#define TEXT_STACK 1024 /* holds the texts of nearly every hello */

/* Starts in its own array (so it must not be copied), moves to the heap
 * when a text outgrows it. */
struct text {
	char *p;
	size_t n, cap;
	int err;
	char local[TEXT_STACK];
};

static void t_init(struct text *t)
{
	t->p = t->local;
	t->n = 0;
	t->cap = sizeof t->local;
	t->err = 0;
	t->local[0] = '\0';
}

static void t_free(struct text *t)
{
	if (t->p != t->local)
		free(t->p);
	t->p = NULL;
}

/* Where to write up to need more characters (and a NUL), or NULL once
 * the text would pass TEXT_MAX or memory runs out. */
static char *t_room(struct text *t, size_t need)
{
	if (t->err)
		return NULL;
	if (t->n + need + 1 > t->cap) {
		size_t cap = t->cap;
		while (cap < t->n + need + 1 && cap <= TEXT_MAX)
			cap *= 2;
		char *p = cap <= TEXT_MAX ? (t->p == t->local ? malloc(cap) : realloc(t->p, cap))
					  : NULL;
		if (!p) {
			t->err = 1;
			return NULL;
		}
		if (t->p == t->local)
			memcpy(p, t->local, t->n + 1);
		t->p = p;
		t->cap = cap;
	}
	return t->p + t->n;
}

/* Ends a write begun at t_room: o is one past the last character. */
static void t_done(struct text *t, char *o)
{
	*o = '\0';
	t->n = (size_t)(o - t->p);
}

static void t_add(struct text *t, const char *s, size_t n)
{
	char *o = t_room(t, n);
	if (!o)
		return;
	memcpy(o, s, n);
	t_done(t, o + n);
}

static void t_str(struct text *t, const char *s)
{
	t_add(t, s, strlen(s));
}

/* Decimal and 4-digit lower-case hex by hand: these run for every value
 * of every hello, and printf cost more than all the rest of the parsing. */
#define DEC16_MAX 5 /* digits of 65535 */
#define HEX16_MAX 4

static const char dec_pairs[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* A 16-bit value in decimal, two digits at a time. */
static char *put_dec(char *o, uint16_t v)
{
	unsigned hi, lo;
	if (v < 10) {
		*o = (char)('0' + v);
		return o + 1;
	}
	if (v < 100) {
		memcpy(o, dec_pairs + 2 * v, 2);
		return o + 2;
	}
	if (v >= 10000) {
		*o++ = (char)('0' + v / 10000);
		v %= 10000;
	} else if (v < 1000) {
		*o = (char)('0' + v / 100);
		memcpy(o + 1, dec_pairs + 2 * (v % 100), 2);
		return o + 3;
	}
	hi = v / 100u;
	lo = v % 100u;
	memcpy(o, dec_pairs + 2 * hi, 2);
	memcpy(o + 2, dec_pairs + 2 * lo, 2);
	return o + 4;
}

static char *put_hex4(char *o, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	o[0] = hex[(v >> 12) & 15];
	o[1] = hex[(v >> 8) & 15];
	o[2] = hex[(v >> 4) & 15];
	o[3] = hex[v & 15];
	return o + 4;
}

/* One decimal value, after sep unless it is the text's first. */
static void t_dec(struct text *t, uint16_t v, char sep)
{
	char *o = t_room(t, 1 + DEC16_MAX);
	if (!o)
		return;
	if (sep)
		*o++ = sep;
	t_done(t, put_dec(o, v));
}

/* The text, allocated, or NULL on failure; "" for an empty text. Frees
 * the buffer either way. */
static char *t_finish(struct text *t)
{
	char *s = NULL;
	if (!t->err && t->p != t->local) {
		s = t->p; /* already on the heap */
		t->p = t->local;
	} else if (!t->err && (s = malloc(t->n + 1)) != NULL) {
		memcpy(s, t->p, t->n + 1);
	}
	t_free(t);
	return s;
}

/* ---- hello structure ------------------------------------------------------------ */

struct hello {
	uint16_t version;
	struct rd suites;  /* ClientHello: the cipher suite list */
	uint16_t cipher;   /* ServerHello: the selected suite */
	struct rd exts;    /* the extensions block, empty if absent */
};

/* Next extension: 1 with its type and body, 0 at the end, -1 if malformed. */
static int ext_next(struct rd *exts, uint16_t *type, struct rd *body)
{
	if (rd_left(exts) == 0)
		return exts->err ? -1 : 0;
	*type = rd_u16(exts);
	*body = rd_vec16(exts);
	return exts->err ? -1 : 1;
}

static int exts_valid(struct rd exts)
{
	uint16_t type;
	struct rd body;
	int rc;
	while ((rc = ext_next(&exts, &type, &body)) > 0)
		;
	return rc == 0;
}

static int hello_parse(const uint8_t *p, size_t len, int client, struct hello *h)
{
	struct rd r = rd_init(p, len);
	memset(h, 0, sizeof *h);
	h->version = rd_u16(&r);
	rd_skip(&r, 32);
	rd_vec8(&r); /* session id */
	if (client) {
		h->suites = rd_vec16(&r);
		rd_vec8(&r); /* compression methods */
	} else {
		h->cipher = rd_u16(&r);
		rd_u8(&r);
	}
	if (rd_left(&r) > 0)
		h->exts = rd_vec16(&r);
	return r.err || !exts_valid(h->exts) ? -1 : 0;
}

/* The u16 values of a list, GREASE left out, in decimal joined by '-';
 * room for the whole list is made once. */
static void t_list16(struct text *t, struct rd list)
{
	size_t n = rd_left(&list) / 2;
	const uint8_t *p = n ? list.p + list.off : NULL;
	char *o = n ? t_room(t, n * (1 + DEC16_MAX)) : NULL, *start = o;
	if (!o)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned v = (unsigned)p[2 * i] << 8 | p[2 * i + 1];
		if (tls_is_grease((uint16_t)v))
			continue;
		if (o != start)
			*o++ = '-';
		o = put_dec(o, (uint16_t)v);
	}
	t_done(t, o);
}

static void t_list8(struct text *t, struct rd list)
{
	size_t n = rd_left(&list);
	const uint8_t *p = n ? list.p + list.off : NULL;
	char *o = n ? t_room(t, n * 4) : NULL;
	if (!o)
		return;
	for (size_t i = 0; i < n; i++) {
		if (i)
			*o++ = '-';
		o = put_dec(o, p[i]);
	}
	t_done(t, o);
}

/* ---- JA3, JA3S ------------------------------------------------------------------ */

/* "extensions,groups,point formats" of a ClientHello. */
/* The extension types, GREASE left out, joined by '-'; where groups and
 * formats are given, the bodies of those two extensions go there. */
static void t_ext_types(struct text *t, struct rd exts, struct rd *groups, struct rd *formats)
{
	struct rd body;
	uint16_t type;
	char *o = t_room(t, rd_left(&exts) / 4 * (1 + DEC16_MAX)), *start = o;
	if (!o)
		return;
	while (ext_next(&exts, &type, &body) > 0) {
		if (type == EXT_GROUPS && groups)
			*groups = rd_vec16(&body);
		else if (type == EXT_POINT_FORMATS && formats)
			*formats = rd_vec8(&body);
		if (tls_is_grease(type))
			continue;
		if (o != start)
			*o++ = '-';
		o = put_dec(o, type);
	}
	t_done(t, o);
}

static void ja3_extensions(struct text *t, struct rd exts)
{
	struct rd groups = rd_init(NULL, 0), formats = rd_init(NULL, 0);
	t_ext_types(t, exts, &groups, &formats);
	t_str(t, ",");
	t_list16(t, groups);
	t_str(t, ",");
	t_list8(t, formats);
}

/* The JA3 text of a ClientHello into t (initialised here); -1 if the
 * hello is malformed. */
static int ja3_text(const uint8_t *ch, size_t len, struct text *t)
{
	struct hello h;
	t_init(t);
	if (hello_parse(ch, len, 1, &h) < 0)
		return -1;
	t_dec(t, h.version, 0);
	t_str(t, ",");
	t_list16(t, h.suites);
	t_str(t, ",");
	ja3_extensions(t, h.exts);
	return 0;
}

char *fp_ja3_string(const uint8_t *ch, size_t len)
{
	struct text t;
	if (ja3_text(ch, len, &t) < 0)
		return NULL;
	return t_finish(&t);
}

/* The JA3S text of a ServerHello into t (initialised here); -1 if the
 * hello is malformed. */
static int ja3s_text(const uint8_t *sh, size_t len, struct text *t)
{
	struct hello h;
	t_init(t);
	if (hello_parse(sh, len, 0, &h) < 0)
		return -1;
	t_dec(t, h.version, 0);
	t_dec(t, h.cipher, ',');
	t_str(t, ",");
	t_ext_types(t, h.exts, NULL, NULL);
	return 0;
}

char *fp_ja3s_string(const uint8_t *sh, size_t len)
{
	struct text t;
	if (ja3s_text(sh, len, &t) < 0)
		return NULL;
	return t_finish(&t);
}

/* MD5 of a JA3-style text (rc of its making, 0 if made) into out. */
static int md5_of(int rc, struct text *t, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	if (rc == 0 && !t->err && cap >= 33)
		rc = digest_hex(GCRY_MD_MD5, t->p, t->n, out, 32);
	else
		rc = -1;
	t_free(t);
	return rc;
}

int fp_ja3(const uint8_t *ch, size_t len, char *out, size_t cap)
{
	struct text t;
	return md5_of(ja3_text(ch, len, &t), &t, out, cap);
}

int fp_ja3s(const uint8_t *sh, size_t len, char *out, size_t cap)
{
	struct text t;
	return md5_of(ja3s_text(sh, len, &t), &t, out, cap);
}

/* ---- JA4 -------------------------------------------------------------------------- */

/* Lists are GREASE-free; exts in the order sent, SNI and ALPN included. */
#define JA4_LOCAL 1024 /* list entries without an allocation */

struct ja4 {
	char a[16];     /* t13d1516h2 */
	uint16_t *buf;  /* local or one allocation for the three lists */
	uint16_t *ciphers, *exts, *sigs;
	uint16_t *scratch; /* for sorting ciphers or extensions */
	size_t nc, ne, ns;
	uint16_t local[JA4_LOCAL];
};

static void ja4_free(struct ja4 *j)
{
	if (j->buf != j->local)
		free(j->buf);
	j->buf = NULL;
}

struct ja4_version {
	uint16_t code;
	const char *text;
};

static const struct ja4_version ja4_versions[] = {
	{0x0304, "13"}, {0x0303, "12"}, {0x0302, "11"}, {0x0301, "10"},
	{0x0300, "s3"}, {0x0002, "s2"}, {0xfeff, "d1"}, {0xfefd, "d2"}, {0xfefc, "d3"},
};

static const char *ja4_version_text(unsigned v)
{
	for (size_t i = 0; i < sizeof ja4_versions / sizeof ja4_versions[0]; i++)
		if (ja4_versions[i].code == v)
			return ja4_versions[i].text;
	return "00";
}

static int is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last character of the first ALPN value; hex digits when
 * either is not alphanumeric; "00" without one. */
static void ja4_alpn(struct rd body, char out[3])
{
	static const char hex[] = "0123456789abcdef";
	struct rd list = rd_vec16(&body);
	struct rd first = rd_vec8(&list);
	strcpy(out, "00");
	if (list.err || first.len == 0)
		return;
	uint8_t f = first.p[0], l = first.p[first.len - 1];
	int plain = is_alnum(f) && is_alnum(l);
	out[0] = plain ? (char)f : hex[f >> 4];
	out[1] = plain ? (char)l : hex[l & 15];
}

/* Highest non-GREASE supported_versions entry (0 if none). */
static unsigned ja4_max_version(struct rd body)
{
	struct rd list = rd_vec8(&body);
	unsigned best = 0;
	while (rd_left(&list) >= 2) {
		uint16_t v = rd_u16(&list);
		if (!tls_is_grease(v) && v > best)
			best = v;
	}
	return best;
}

static void push16(uint16_t *list, size_t *n, struct rd src)
{
	size_t m = rd_left(&src) / 2;
	const uint8_t *p = m ? src.p + src.off : NULL;
	for (size_t i = 0; i < m; i++) {
		uint16_t v = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
		if (!tls_is_grease(v))
			list[(*n)++] = v;
	}
}

/* Walks the extensions: their list, SNI, ALPN, versions, signature
 * algorithms. */
static void ja4_scan(struct ja4 *j, const struct hello *h, unsigned *version, int *sni,
		     char alpn[3])
{
	struct rd exts = h->exts, body;
	uint16_t type;
	while (ext_next(&exts, &type, &body) > 0) {
		if (tls_is_grease(type))
			continue;
		j->exts[j->ne++] = type;
		if (type == EXT_SNI)
			*sni = 1;
		else if (type == EXT_ALPN)
			ja4_alpn(body, alpn);
		else if (type == EXT_VERSIONS)
			*version = ja4_max_version(body);
		else if (type == EXT_SIG_ALGS)
			push16(j->sigs, &j->ns, rd_vec16(&body));
	}
}

static int ja4_collect(const uint8_t *ch, size_t len, struct ja4 *j)
{
	struct hello h;
	unsigned version;
	int sni = 0;
	char alpn[3] = "00";
	j->buf = NULL;
	j->nc = j->ne = j->ns = 0;
	if (hello_parse(ch, len, 1, &h) < 0)
		return -1;
	size_t nc = h.suites.len / 2, ne = h.exts.len / 4, ns = h.exts.len / 2;
	size_t total = nc + ne + ns + (nc > ne ? nc : ne) + 1;
	if (total <= JA4_LOCAL)
		j->buf = j->local;
	else if (!(j->buf = malloc(total * sizeof *j->buf)))
		return -1;
	j->ciphers = j->buf;
	j->exts = j->buf + nc;
	j->sigs = j->exts + ne;
	j->scratch = j->sigs + ns;
	push16(j->ciphers, &j->nc, h.suites);
	version = h.version;
	ja4_scan(j, &h, &version, &sni, alpn);
	/* "t%s%c%02u%02u%s" by hand: version, d/i, the two counts, ALPN */
	const char *vt = ja4_version_text(version);
	unsigned nc2 = (unsigned)(j->nc > 99 ? 99 : j->nc), ne2 = (unsigned)(j->ne > 99 ? 99 : j->ne);
	char *a = j->a;
	*a++ = 't';
	*a++ = vt[0];
	*a++ = vt[1];
	*a++ = sni ? 'd' : 'i';
	*a++ = (char)('0' + nc2 / 10);
	*a++ = (char)('0' + nc2 % 10);
	*a++ = (char)('0' + ne2 / 10);
	*a++ = (char)('0' + ne2 % 10);
	*a++ = alpn[0];
	*a++ = alpn[1];
	*a = '\0';
	return 0;
}

/* Sorts a list (a hello's suites or extensions; tmp holds as many):
 * insertion sort of runs of 8, then merged bottom-up. Tens of values
 * as a rule (qsort's callback costs more than the sort), but a hostile
 * hello may send 32k, which insertion sort alone takes ~10^9 steps for. */
static void sort16(uint16_t *v, size_t n, uint16_t *tmp)
{
	enum { RUN = 8 };
	uint16_t *a = v, *b = tmp, *t;
	for (size_t s = 0; s < n; s += RUN) {
		size_t e = n - s < RUN ? n : s + RUN;
		for (size_t i = s + 1; i < e; i++) {
			uint16_t x = v[i];
			size_t j = i;
			for (; j > s && v[j - 1] > x; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	}
	for (size_t w = RUN; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = n - lo < w ? n : lo + w, hi = n - lo < 2 * w ? n : lo + 2 * w;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				b[k++] = a[j] < a[i] ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		t = a, a = b, b = t;
	}
	if (a != v)
		memcpy(v, a, n * sizeof *v);
}

/* Hex values joined by ','; SNI and ALPN left out when skip is set. */
static void t_hex_list(struct text *t, const uint16_t *v, size_t n, int skip_sni_alpn)
{
	char *o = n ? t_room(t, n * (1 + HEX16_MAX)) : NULL, *start = o;
	if (!o)
		return;
	for (size_t i = 0; i < n; i++) {
		if (skip_sni_alpn && (v[i] == EXT_SNI || v[i] == EXT_ALPN))
			continue;
		if (o != start)
			*o++ = ',';
		o = put_hex4(o, v[i]);
	}
	t_done(t, o);
}

/* JA4_c input: extensions (sorted unless original), then '_' and the
 * signature algorithms if there are any. */
static void ja4_c_text(struct text *t, const struct ja4 *j, int original)
{
	t_hex_list(t, j->exts, j->ne, !original);
	if (j->ns > 0) {
		t_str(t, "_");
		t_hex_list(t, j->sigs, j->ns, 0);
	}
}

char *fp_ja4_raw(const uint8_t *ch, size_t len, int original_order)
{
	struct ja4 j;
	struct text t;
	if (ja4_collect(ch, len, &j) < 0)
		return NULL;
	t_init(&t);
	if (!original_order) {
		sort16(j.ciphers, j.nc, j.scratch);
		sort16(j.exts, j.ne, j.scratch);
	}
	t_str(&t, j.a);
	t_str(&t, "_");
	t_hex_list(&t, j.ciphers, j.nc, 0);
	t_str(&t, "_");
	ja4_c_text(&t, &j, original_order);
	ja4_free(&j);
	return t_finish(&t);
}

/* The truncated SHA-256 of a text, or 12 zeros for an empty one. */
static int ja4_hash(struct text *t, char out[JA4_HASH_HEX + 1])
{
	int rc = 0;
	if (t->err)
		rc = -1;
	else if (t->n == 0)
		strcpy(out, "000000000000");
	else
		rc = digest_hex(GCRY_MD_SHA256, t->p, t->n, out, JA4_HASH_HEX);
	t_free(t);
	return rc;
}

int fp_ja4(const uint8_t *ch, size_t len, char *out, size_t cap)
{
	struct ja4 j;
	struct text t;
	char b[JA4_HASH_HEX + 1], c[JA4_HASH_HEX + 1];
	if (cap > 0)
		out[0] = '\0';
	if (cap < 37 || ja4_collect(ch, len, &j) < 0)
		return -1;
	sort16(j.ciphers, j.nc, j.scratch);
	sort16(j.exts, j.ne, j.scratch);
	t_init(&t);
	t_hex_list(&t, j.ciphers, j.nc, 0);
	int rc = ja4_hash(&t, b);
	t_init(&t);
	ja4_c_text(&t, &j, 0);
	rc |= ja4_hash(&t, c);
	if (rc == 0) { /* "%s_%s_%s": 10 + 1 + 12 + 1 + 12 characters */
		size_t na = strlen(j.a);
		memcpy(out, j.a, na);
		out[na] = '_';
		memcpy(out + na + 1, b, JA4_HASH_HEX);
		out[na + 1 + JA4_HASH_HEX] = '_';
		memcpy(out + na + 2 + JA4_HASH_HEX, c, JA4_HASH_HEX + 1);
	}
	ja4_free(&j);
	return rc ? -1 : 0;
}
