#include "fingerprint.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../common/rd.h"
#include "../common/registry.h"

#define TEXT_MAX (1u << 20) /* a 64 KiB hello gives at most ~200 KB of text */
#define JA4_HASH_HEX 12

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

/* ---- lists ------------------------------------------------------------------------- */

static int has_type(const struct tls_hello *h, uint16_t type)
{
	for (size_t i = 0; i < h->n_ext; i++)
		if (h->ext_type[i] == type)
			return 1;
	return 0;
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

/* The extension types, GREASE left out, joined by '-'. */
static void t_ext_types(struct text *t, const struct tls_hello *h)
{
	char *o = h->n_ext ? t_room(t, h->n_ext * (1 + DEC16_MAX)) : NULL, *start = o;
	if (!o)
		return;
	for (size_t i = 0; i < h->n_ext; i++) {
		if (tls_is_grease(h->ext_type[i]))
			continue;
		if (o != start)
			*o++ = '-';
		o = put_dec(o, h->ext_type[i]);
	}
	t_done(t, o);
}

/* The JA3 text of a ClientHello into t (initialised here); -1 if the
 * hello is not complete. */
static int ja3_text(const struct tls_hello *h, struct text *t)
{
	t_init(t);
	if (h->kind != HELLO_CLIENT || !hello_complete(h))
		return -1;
	t_dec(t, h->version, 0);
	t_str(t, ",");
	t_list16(t, h->suites);
	t_str(t, ",");
	t_ext_types(t, h);
	t_str(t, ",");
	t_list16(t, h->groups);
	t_str(t, ",");
	t_list8(t, h->formats);
	return 0;
}

char *fp_ja3_string(const struct tls_hello *h)
{
	struct text t;
	if (ja3_text(h, &t) < 0)
		return NULL;
	return t_finish(&t);
}

/* The JA3S text of a ServerHello into t (initialised here); -1 if the
 * hello is not complete. */
static int ja3s_text(const struct tls_hello *h, struct text *t)
{
	t_init(t);
	if (h->kind != HELLO_SERVER || !hello_complete(h))
		return -1;
	t_dec(t, h->version, 0);
	t_dec(t, h->cipher, ',');
	t_str(t, ",");
	t_ext_types(t, h);
	return 0;
}

char *fp_ja3s_string(const struct tls_hello *h)
{
	struct text t;
	if (ja3s_text(h, &t) < 0)
		return NULL;
	return t_finish(&t);
}

/* MD5 of a JA3-style text (rc of its making, 0 if made) into out. */
static int md5_of(int rc, struct text *t, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	if (rc == 0 && !t->err && cap >= 33)
		rc = fp_digest_hex(GCRY_MD_MD5, t->p, t->n, out, 32);
	else
		rc = -1;
	t_free(t);
	return rc;
}

int fp_ja3(const struct tls_hello *h, char *out, size_t cap)
{
	struct text t;
	return md5_of(ja3_text(h, &t), &t, out, cap);
}

int fp_ja3s(const struct tls_hello *h, char *out, size_t cap)
{
	struct text t;
	return md5_of(ja3s_text(h, &t), &t, out, cap);
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
static void ja4_alpn(struct rd list, char out[3])
{
	static const char hex[] = "0123456789abcdef";
	struct rd first = rd_vec8(&list);
	strcpy(out, "00");
	if (list.err || first.len == 0)
		return;
	uint8_t f = first.p[0], l = first.p[first.len - 1];
	int plain = is_alnum(f) && is_alnum(l);
	out[0] = plain ? (char)f : hex[f >> 4];
	out[1] = plain ? (char)l : hex[l & 15];
}

/* Highest non-GREASE supported_versions entry (0 if none); the legacy
 * version without the extension. */
static unsigned ja4_version(const struct tls_hello *h)
{
	struct rd list = h->versions;
	unsigned best = 0;
	if (!has_type(h, EXT_VERSIONS))
		return h->version;
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

/* "t%s%c%02u%02u%s" by hand: version, d/i, the two counts, ALPN. */
static void ja4_a(struct ja4 *j, const struct tls_hello *h)
{
	char alpn[3];
	const char *vt = ja4_version_text(ja4_version(h));
	unsigned nc2 = (unsigned)(j->nc > 99 ? 99 : j->nc), ne2 = (unsigned)(j->ne > 99 ? 99 : j->ne);
	char *a = j->a;
	ja4_alpn(h->alpn, alpn);
	*a++ = 't';
	*a++ = vt[0];
	*a++ = vt[1];
	*a++ = h->sni ? 'd' : 'i';
	*a++ = (char)('0' + nc2 / 10);
	*a++ = (char)('0' + nc2 % 10);
	*a++ = (char)('0' + ne2 / 10);
	*a++ = (char)('0' + ne2 % 10);
	*a++ = alpn[0];
	*a++ = alpn[1];
	*a = '\0';
}

static int ja4_collect(const struct tls_hello *h, struct ja4 *j)
{
	j->buf = NULL;
	j->nc = j->ne = j->ns = 0;
	if (h->kind != HELLO_CLIENT || !hello_complete(h))
		return -1;
	size_t nc = h->suites.len / 2, ne = h->n_ext, ns = rd_left(&h->sigalgs) / 2;
	size_t total = nc + ne + ns + (nc > ne ? nc : ne) + 1;
	if (total <= JA4_LOCAL)
		j->buf = j->local;
	else if (!(j->buf = malloc(total * sizeof *j->buf)))
		return -1;
	j->ciphers = j->buf;
	j->exts = j->buf + nc;
	j->sigs = j->exts + ne;
	j->scratch = j->sigs + ns;
	push16(j->ciphers, &j->nc, h->suites);
	for (size_t i = 0; i < h->n_ext; i++)
		if (!tls_is_grease(h->ext_type[i]))
			j->exts[j->ne++] = h->ext_type[i];
	push16(j->sigs, &j->ns, h->sigalgs);
	ja4_a(j, h);
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

char *fp_ja4_raw(const struct tls_hello *h, int original_order)
{
	struct ja4 j;
	struct text t;
	if (ja4_collect(h, &j) < 0)
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
		rc = fp_digest_hex(GCRY_MD_SHA256, t->p, t->n, out, JA4_HASH_HEX);
	t_free(t);
	return rc;
}

int fp_ja4(const struct tls_hello *h, char *out, size_t cap)
{
	struct ja4 j;
	struct text t;
	char b[JA4_HASH_HEX + 1], c[JA4_HASH_HEX + 1];
	if (cap > 0)
		out[0] = '\0';
	if (cap < 37 || ja4_collect(h, &j) < 0)
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

/* ---- both client fingerprints, remembered --------------------------------------- */

/* What JA3 and JA4 are made of, in one byte string: the version, the
 * suites, the extension types in order, and the lists and flags either
 * reads, each after its length. The same hello from the same client build
 * gives the same key (the random, session id, key shares and SNI name,
 * which differ every time, are not in it), so each thread remembers the
 * fingerprints of its last FP_CLIENT_MEMO keys: sorting, formatting and
 * hashing are done once per client build. A hit needs the whole key
 * equal, so the fingerprints are always those computed from scratch. */
#define CLIENT_KEY_MAX 1024 /* longer keys are not remembered */
#define CLIENT_WAYS 4
#define CLIENT_SETS 16
#define FP_CLIENT_MEMO (CLIENT_WAYS * CLIENT_SETS)

struct client_key {
	uint8_t b[CLIENT_KEY_MAX];
	size_t n;
	int over;
};

static void key_add(struct client_key *k, const void *p, size_t n)
{
	uint16_t len = (uint16_t)n;
	if (k->over || k->n + 2 + n > sizeof k->b || n > UINT16_MAX) {
		k->over = 1;
		return;
	}
	memcpy(k->b + k->n, &len, 2);
	if (n)
		memcpy(k->b + k->n + 2, p, n);
	k->n += 2 + n;
}

static void key_add_list(struct client_key *k, struct rd list)
{
	size_t n = rd_left(&list);
	key_add(k, n ? list.p + list.off : NULL, n);
}

/* 0 and the key, or -1 when it does not fit. */
static int client_key(const struct tls_hello *h, struct client_key *k)
{
	uint8_t flags[2] = {(uint8_t)h->sni, (uint8_t)has_type(h, EXT_VERSIONS)};
	k->n = 0;
	k->over = 0;
	key_add(k, &h->version, sizeof h->version);
	key_add(k, flags, sizeof flags);
	key_add_list(k, h->suites);
	key_add(k, h->ext_type, h->n_ext * sizeof h->ext_type[0]);
	key_add_list(k, h->groups);
	key_add_list(k, h->formats);
	key_add_list(k, h->sigalgs);
	key_add_list(k, h->versions);
	key_add_list(k, h->alpn);
	return k->over ? -1 : 0;
}

struct client_entry {
	uint64_t used;      /* the clock at the last use, 0 never */
	uint64_t hash;
	size_t n;
	int rc3, rc4;
	char ja3[33], ja4[37];
	uint8_t key[CLIENT_KEY_MAX];
};

struct client_memo {
	struct client_entry e[CLIENT_SETS][CLIENT_WAYS];
	uint64_t clock;
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static pthread_key_t client_tls;
static int client_tls_ready;

static void client_init(void)
{
	client_tls_ready = pthread_key_create(&client_tls, free) == 0;
}

/* The calling thread's memo, made on first use; NULL without one. */
static struct client_memo *client_memo(void)
{
	struct client_memo *m;
	pthread_once(&client_once, client_init);
	if (!client_tls_ready)
		return NULL;
	if ((m = pthread_getspecific(client_tls)) != NULL)
		return m;
	if ((m = calloc(1, sizeof *m)) != NULL && pthread_setspecific(client_tls, m) != 0) {
		free(m);
		m = NULL;
	}
	return m;
}

/* The entry for the key: its way if remembered (*hit), else the way to
 * fill (the least recently used). */
static struct client_entry *client_find(struct client_memo *m, const struct client_key *k,
					uint64_t hash, int *hit)
{
	struct client_entry *set = m->e[hash % CLIENT_SETS], *victim = &set[0];
	for (int w = 0; w < CLIENT_WAYS; w++) {
		struct client_entry *e = &set[w];
		if (e->used && e->hash == hash && e->n == k->n && memcmp(e->key, k->b, k->n) == 0) {
			*hit = 1;
			return e;
		}
		if (e->used < victim->used)
			victim = e;
	}
	*hit = 0;
	return victim;
}

/* JA3 and JA4 as fp_ja3 and fp_ja4 give them (caps as theirs), through
 * the thread's memo; each writes its rc into *rc3, *rc4. */
void fp_client(const struct tls_hello *h, char *ja3, size_t cap3, int *rc3, char *ja4,
	       size_t cap4, int *rc4)
{
	struct client_key k;
	struct client_memo *m = cap3 >= 33 && cap4 >= 37 && h->kind == HELLO_CLIENT &&
					hello_complete(h) && client_key(h, &k) == 0
				? client_memo() : NULL;
	int hit;
	if (!m) {
		*rc3 = fp_ja3(h, ja3, cap3);
		*rc4 = fp_ja4(h, ja4, cap4);
		return;
	}
	uint64_t hash = fp_memo_key(k.b, k.n);
	struct client_entry *e = client_find(m, &k, hash, &hit);
	if (!hit) {
		e->rc3 = fp_ja3(h, e->ja3, sizeof e->ja3);
		e->rc4 = fp_ja4(h, e->ja4, sizeof e->ja4);
		e->hash = hash;
		e->n = k.n;
		memcpy(e->key, k.b, k.n);
	}
	e->used = ++m->clock;
	memcpy(ja3, e->ja3, sizeof e->ja3);
	memcpy(ja4, e->ja4, sizeof e->ja4);
	*rc3 = e->rc3;
	*rc4 = e->rc4;
}
