#include "fingerprint.h"

#include <gcrypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ciphers.h"
#include "rd.h"

#define TEXT_MAX (1u << 20) /* a 64 KiB hello gives at most ~200 KB of text */
#define JA4_HASH_HEX 12

enum { EXT_SNI = 0, EXT_GROUPS = 10, EXT_POINT_FORMATS = 11, EXT_SIG_ALGS = 13,
       EXT_ALPN = 16, EXT_VERSIONS = 43 };

/* ---- hashing -------------------------------------------------------------- */

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static int gcrypt_ready;

static void gcrypt_init(void)
{
	gcrypt_ready = gcry_check_version(NULL) != NULL;
}

/* Digest of p[0..n) as hex, the first hex_len digits; -1 on failure. */
static int digest_hex(int algo, const void *p, size_t n, char *out, size_t hex_len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[32];
	pthread_once(&gcrypt_once, gcrypt_init);
	if (!gcrypt_ready || gcry_md_get_algo_dlen(algo) * 2 < hex_len)
		return -1;
	gcry_md_hash_buffer(algo, d, p, n);
	for (size_t i = 0; i < hex_len; i++)
		out[i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[hex_len] = '\0';
	return 0;
}

void fp_sha256_hex(const uint8_t *p, size_t len, char out[FP_SHA256_HEX])
{
	if (digest_hex(GCRY_MD_SHA256, p, len, out, 64) < 0)
		out[0] = '\0';
}

/* ---- a growing text buffer whose failure sticks ----------------------------- */

struct text {
	char *p;
	size_t n, cap;
	int err;
};

static void t_add(struct text *t, const char *s, size_t n)
{
	if (t->err)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		while (cap < t->n + n + 1 && cap <= TEXT_MAX)
			cap *= 2;
		char *p = cap <= TEXT_MAX ? realloc(t->p, cap) : NULL;
		if (!p) {
			t->err = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

static void t_str(struct text *t, const char *s)
{
	t_add(t, s, strlen(s));
}

/* A value in decimal (JA3) or 4-digit lower-case hex (JA4), after sep
 * unless first. Formatted by hand: these run for every value of every
 * hello, and printf costs more than all the rest of the parsing. */
static void t_val(struct text *t, unsigned v, int hex, const char *sep, int first)
{
	static const char digits[] = "0123456789abcdef";
	char b[24], d[12];
	size_t n = 0, i = sizeof d;
	while (!first && *sep && n < 8)
		b[n++] = *sep++;
	if (hex) {
		for (int k = 12; k >= 0; k -= 4)
			b[n++] = digits[(v >> k) & 15];
	} else {
		do
			d[--i] = digits[v % 10];
		while ((v /= 10) != 0);
		memcpy(b + n, d + i, sizeof d - i);
		n += sizeof d - i;
	}
	t_add(t, b, n);
}

/* The text, or NULL (freed) on failure; "" for an empty text. */
static char *t_finish(struct text *t)
{
	if (!t->err && !t->p)
		t_add(t, "", 0);
	if (t->err) {
		free(t->p);
		return NULL;
	}
	return t->p;
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

/* The u16 values of a list, GREASE left out, in decimal joined by '-'. */
static void t_list16(struct text *t, struct rd list)
{
	int first = 1;
	while (rd_left(&list) >= 2) {
		uint16_t v = rd_u16(&list);
		if (!tls_is_grease(v))
			t_val(t, v, 0, "-", first), first = 0;
	}
}

static void t_list8(struct text *t, struct rd list)
{
	for (int first = 1; rd_left(&list) > 0; first = 0)
		t_val(t, rd_u8(&list), 0, "-", first);
}

/* ---- JA3, JA3S ------------------------------------------------------------------ */

/* "extensions,groups,point formats" of a ClientHello. */
static void ja3_extensions(struct text *t, struct rd exts)
{
	struct rd groups = rd_init(NULL, 0), formats = rd_init(NULL, 0), body;
	uint16_t type;
	int first = 1;
	while (ext_next(&exts, &type, &body) > 0) {
		if (type == EXT_GROUPS)
			groups = rd_vec16(&body);
		else if (type == EXT_POINT_FORMATS)
			formats = rd_vec8(&body);
		if (!tls_is_grease(type))
			t_val(t, type, 0, "-", first), first = 0;
	}
	t_str(t, ",");
	t_list16(t, groups);
	t_str(t, ",");
	t_list8(t, formats);
}

char *fp_ja3_string(const uint8_t *ch, size_t len)
{
	struct hello h;
	struct text t = {0};
	if (hello_parse(ch, len, 1, &h) < 0)
		return NULL;
	t_val(&t, h.version, 0, "", 1);
	t_str(&t, ",");
	t_list16(&t, h.suites);
	t_str(&t, ",");
	ja3_extensions(&t, h.exts);
	return t_finish(&t);
}

char *fp_ja3s_string(const uint8_t *sh, size_t len)
{
	struct hello h;
	struct text t = {0};
	struct rd body;
	uint16_t type;
	int first = 1;
	if (hello_parse(sh, len, 0, &h) < 0)
		return NULL;
	t_val(&t, h.version, 0, "", 1);
	t_val(&t, h.cipher, 0, ",", 0);
	t_str(&t, ",");
	while (ext_next(&h.exts, &type, &body) > 0)
		if (!tls_is_grease(type))
			t_val(&t, type, 0, "-", first), first = 0;
	return t_finish(&t);
}

/* MD5 of a JA3-style string into out. */
static int md5_of(char *s, char *out, size_t cap)
{
	int rc = -1;
	if (cap > 0)
		out[0] = '\0';
	if (s && cap >= 33)
		rc = digest_hex(GCRY_MD_MD5, s, strlen(s), out, 32);
	free(s);
	return rc;
}

int fp_ja3(const uint8_t *ch, size_t len, char *out, size_t cap)
{
	return md5_of(fp_ja3_string(ch, len), out, cap);
}

int fp_ja3s(const uint8_t *sh, size_t len, char *out, size_t cap)
{
	return md5_of(fp_ja3s_string(sh, len), out, cap);
}

/* ---- JA4 -------------------------------------------------------------------------- */

/* Lists are GREASE-free; exts in the order sent, SNI and ALPN included. */
struct ja4 {
	char a[16];     /* t13d1516h2 */
	uint16_t *buf;  /* one allocation for the three lists */
	uint16_t *ciphers, *exts, *sigs;
	size_t nc, ne, ns;
};

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
	while (rd_left(&src) >= 2) {
		uint16_t v = rd_u16(&src);
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
	memset(j, 0, sizeof *j);
	if (hello_parse(ch, len, 1, &h) < 0)
		return -1;
	size_t nc = h.suites.len / 2, ne = h.exts.len / 4, ns = h.exts.len / 2;
	j->buf = malloc((nc + ne + ns + 1) * sizeof *j->buf);
	if (!j->buf)
		return -1;
	j->ciphers = j->buf;
	j->exts = j->buf + nc;
	j->sigs = j->exts + ne;
	push16(j->ciphers, &j->nc, h.suites);
	version = h.version;
	ja4_scan(j, &h, &version, &sni, alpn);
	snprintf(j->a, sizeof j->a, "t%s%c%02u%02u%s", ja4_version_text(version), sni ? 'd' : 'i',
		 (unsigned)(j->nc > 99 ? 99 : j->nc), (unsigned)(j->ne > 99 ? 99 : j->ne), alpn);
	return 0;
}

/* Sorts a short list in place (a hello's suites and extensions: tens of
 * values; qsort's callback and scratch buffer cost more than the sort). */
static void sort16(uint16_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint16_t x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Hex values joined by ','; SNI and ALPN left out when skip is set. */
static void t_hex_list(struct text *t, const uint16_t *v, size_t n, int skip_sni_alpn)
{
	int first = 1;
	for (size_t i = 0; i < n; i++)
		if (!skip_sni_alpn || (v[i] != EXT_SNI && v[i] != EXT_ALPN))
			t_val(t, v[i], 1, ",", first), first = 0;
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
	struct text t = {0};
	if (ja4_collect(ch, len, &j) < 0)
		return NULL;
	if (!original_order) {
		sort16(j.ciphers, j.nc);
		sort16(j.exts, j.ne);
	}
	t_str(&t, j.a);
	t_str(&t, "_");
	t_hex_list(&t, j.ciphers, j.nc, 0);
	t_str(&t, "_");
	ja4_c_text(&t, &j, original_order);
	free(j.buf);
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
	free(t->p);
	return rc;
}

int fp_ja4(const uint8_t *ch, size_t len, char *out, size_t cap)
{
	struct ja4 j;
	struct text tb = {0}, tc = {0};
	char b[JA4_HASH_HEX + 1], c[JA4_HASH_HEX + 1];
	if (cap > 0)
		out[0] = '\0';
	if (cap < 37 || ja4_collect(ch, len, &j) < 0)
		return -1;
	sort16(j.ciphers, j.nc);
	sort16(j.exts, j.ne);
	t_hex_list(&tb, j.ciphers, j.nc, 0);
	ja4_c_text(&tc, &j, 0);
	int rc = ja4_hash(&tb, b) | ja4_hash(&tc, c);
	if (rc == 0)
		snprintf(out, cap, "%s_%s_%s", j.a, b, c);
	free(j.buf);
	return rc ? -1 : 0;
}
