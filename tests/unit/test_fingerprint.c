/* Unit tests for dissect/fingerprint.c: JA3, JA3S, JA4, from hellos read
 * by dissect/hello.c (the parser tls.c uses).
 *
 * Expected values are published ones, not this code's:
 *  - nDPI's test result for smtp-starttls.pcap stream 0 (JA3C
 *    fab507fe132c544e8a0eb7c394affeae, JA3S 6b96cf9c27b0223177b0e9f135fe4899,
 *    ../shared/corpus/MANIFEST.tsv), which tshark 4.0 also computes;
 *  - tshark 4.0's tls.handshake.ja3_full / ja3 / ja3s for stream 1;
 *  - a browser's hello as published by browserleaks.com (JA3 text and hash,
 *    JA4, JA4_r, JA4_ro), rebuilt here from its JA4_ro and JA3 text;
 *  - the worked example of the JA4 specification (FoxIO technical_details/
 *    JA4.md: extension hash e5627efa2ab1, 6d807ffa2a79 without signature
 *    algorithms).
 * Every hello is also fingerprinted from a buffer of exactly its size and
 * from every prefix (ASan catches an over-read). The per-thread digest
 * memo is checked against libgcrypt called directly and against the
 * MD5 and SHA-256 of "abc" (RFC 1321, FIPS 180-2). */
#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../../dissect/fingerprint.h"
#include "../../dissect/hello.h"
#include "bytes.h"
#include "check.h"

/* The fingerprints of a hello's bytes, parsed as tls.c parses them; a
 * hello that does not parse gives what an incomplete one gives. */
static int parse(const uint8_t *m, size_t n, enum hello_kind kind, struct tls_hello *h)
{
	if (hello_parse(m, n, kind, h) == 0)
		return 0;
	memset(h, 0, sizeof *h); /* neither complete nor of the kind */
	h->kind = kind == HELLO_CLIENT ? HELLO_SERVER : HELLO_CLIENT;
	return -1;
}

static int ja3_of(const uint8_t *m, size_t n, char *out, size_t cap)
{
	struct tls_hello h;
	parse(m, n, HELLO_CLIENT, &h);
	return fp_ja3(&h, out, cap);
}

static int ja3s_of(const uint8_t *m, size_t n, char *out, size_t cap)
{
	struct tls_hello h;
	parse(m, n, HELLO_SERVER, &h);
	return fp_ja3s(&h, out, cap);
}

static int ja4_of(const uint8_t *m, size_t n, char *out, size_t cap)
{
	struct tls_hello h;
	parse(m, n, HELLO_CLIENT, &h);
	return fp_ja4(&h, out, cap);
}

static char *ja3_string_of(const uint8_t *m, size_t n)
{
	struct tls_hello h;
	parse(m, n, HELLO_CLIENT, &h);
	return fp_ja3_string(&h);
}

static char *ja3s_string_of(const uint8_t *m, size_t n)
{
	struct tls_hello h;
	parse(m, n, HELLO_SERVER, &h);
	return fp_ja3s_string(&h);
}

static char *ja4_raw_of(const uint8_t *m, size_t n, int original)
{
	struct tls_hello h;
	parse(m, n, HELLO_CLIENT, &h);
	return fp_ja4_raw(&h, original);
}

/* nDPI smtp-starttls.pcap, stream 0: the ClientHello and ServerHello
 * messages (handshake header and record header removed). */
static const char ch_ndpi0[] =
	"030152bb75e44e872de2ee0fb3d4bb5ba46ef845fb548e"
	"37525b9523bb8ef8036add00003a00390038008800870035008400160013000a"
	"00330032009a009900450044002f009600410005000400150012000900140011"
	"00080006000300ff0100000400230000";
static const char sh_ndpi0[] =
	"030152bb75e4011709be91579d37359d812e8879690351"
	"7fd14be241a133cdc55647000005000009ff0100010000230000";

/* same capture, stream 1 (Postfix, TLS 1.2, SNI dovecot.weberlab.de) */
static const char ch_ndpi1[] =
	"0303512ced441054d9fba9f6dfbf82caeaf461183d0f24"
	"53d063ef1c96d44c1db23300001ec02bc02fcca9cca8c02cc030c00ac009c013"
	"c01400330039002f0035000a01000066000000180016000013646f7665636f74"
	"2e77656265726c61622e646500170000ff01000100000a000a0008001d001700"
	"180019000b0002010000230000000500050100000000ff030000000d00180016"
	"04030503060308040805080604010501060102030201";
static const char sh_ndpi1[] =
	"0303e351b3050b055e22e9d0fd1093949fd2fc725e7848"
	"705b0c1929202acc79837100c02f000011ff01000100000b0004030001020023"
	"0000";

/* ---- hello builders (the byte writer is bytes.h) ------------------------------ */

static void b_list16(struct buf *b, const char *words, int width)
{
	b_open(b, width);
	for (const char *p = words; *p;) {
		unsigned v;
		int used = 0;
		sscanf(p, "%4x%n", &v, &used);
		b_u16(b, v);
		p += used;
		p += *p == ',';
	}
	b_close(b);
}

struct hello_spec {
	unsigned version;
	const char *suites;
	const char *exts;    /* extension types in order, hex words */
	const char *groups;  /* supported_groups body, if listed in exts */
	const char *sigs;    /* signature_algorithms */
	const char *versions;
	const char *alpn;    /* '|' separated */
};

static void ext_body(struct buf *b, unsigned type, const struct hello_spec *h)
{
	if (type == 0x0000) {
		b_open(b, 2);
		b_u8(b, 0);
		b_open(b, 2);
		b_mem(b, "mx.example.org", 14);
		b_close(b);
		b_close(b);
	} else if (type == 0x000a) {
		b_list16(b, h->groups, 2);
	} else if (type == 0x000b) {
		b_mem(b, "\x01\x00", 2);
	} else if (type == 0x000d) {
		b_list16(b, h->sigs, 2);
	} else if (type == 0x002b) {
		b_list16(b, h->versions, 1);
	} else if (type == 0x0010) {
		b_open(b, 2);
		for (const char *p = h->alpn; *p;) {
			size_t l = strcspn(p, "|");
			b_u8(b, (unsigned)l);
			b_mem(b, p, l);
			p += l + (p[l] == '|');
		}
		b_close(b);
	}
}

/* A ClientHello body: version, random, empty session id, suites, null
 * compression, extensions (NULL exts: no extensions block). */
static size_t build_hello(uint8_t *out, const struct hello_spec *h)
{
	struct buf *b = calloc(1, sizeof *b);
	b_u16(b, h->version);
	memset(b->b + b->n, 0x5a, 32);
	b->n += 32;
	b_u8(b, 0);
	b_list16(b, h->suites, 2);
	b_mem(b, "\x01\x00", 2);
	if (h->exts) {
		b_open(b, 2);
		for (const char *p = h->exts; *p;) {
			unsigned type;
			int used = 0;
			sscanf(p, "%4x%n", &type, &used);
			p += used;
			p += *p == ',';
			b_u16(b, type);
			b_open(b, 2);
			ext_body(b, type, h);
			b_close(b);
		}
		b_close(b);
	}
	size_t n = b->n;
	memcpy(out, b->b, n);
	free(b);
	return n;
}

/* ---- checks -------------------------------------------------------------------- */

/* A copy of exactly n bytes. */
static uint8_t *exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, p, n);
	return c;
}

struct want {
	const char *ja3_text, *ja3, *ja4, *ja4_r, *ja4_ro;
};

static void check_client_hello(const char *what, const uint8_t *p, size_t n,
			       const struct want *w)
{
	uint8_t *m = exact(p, n);
	char out[48];
	int before = check_failed;
	char *s = ja3_string_of(m, n);
	if (w->ja3_text)
		CHECK_STR(s, w->ja3_text);
	free(s);
	CHECK_INT(ja3_of(m, n, out, sizeof out), 0);
	CHECK_STR(out, w->ja3);
	if (w->ja4) {
		CHECK_INT(ja4_of(m, n, out, sizeof out), 0);
		CHECK_STR(out, w->ja4);
	}
	if (w->ja4_r) {
		s = ja4_raw_of(m, n, 0);
		CHECK_STR(s, w->ja4_r);
		free(s);
	}
	if (w->ja4_ro) {
		s = ja4_raw_of(m, n, 1);
		CHECK_STR(s, w->ja4_ro);
		free(s);
	}
	if (check_failed != before)
		fprintf(stderr, "     in \"%s\"\n", what);
	free(m);
}

static void test_ndpi(void)
{
	uint8_t msg[512];
	size_t n = hex_decode(msg, ch_ndpi0);
	struct want w0 = {
		"769,57-56-136-135-53-132-22-19-10-51-50-154-153-69-68-47-150-65-5-4-21-18-9-20-17-8-"
		"6-3-255,35,,",
		"fab507fe132c544e8a0eb7c394affeae", NULL, NULL, NULL};
	check_client_hello("nDPI stream 0", msg, n, &w0);

	n = hex_decode(msg, ch_ndpi1);
	struct want w1 = {
		"771,49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-51-57-47-53-10,"
		"0-23-65281-10-11-35-5-65283-13,29-23-24-25,0",
		"7b38238e17474b8f6d113523bb5a8dd9", NULL, NULL, NULL};
	check_client_hello("nDPI stream 1", msg, n, &w1);

	char out[48], *s;
	uint8_t *m;
	n = hex_decode(msg, sh_ndpi0);
	m = exact(msg, n);
	s = ja3s_string_of(m, n);
	CHECK_STR(s, "769,5,65281-35");
	free(s);
	CHECK_INT(ja3s_of(m, n, out, sizeof out), 0);
	CHECK_STR(out, "6b96cf9c27b0223177b0e9f135fe4899");
	free(m);

	n = hex_decode(msg, sh_ndpi1);
	m = exact(msg, n);
	s = ja3s_string_of(m, n);
	CHECK_STR(s, "771,49199,65281-11-35");
	free(s);
	CHECK_INT(ja3s_of(m, n, out, sizeof out), 0);
	CHECK_STR(out, "ccc514751b175866924439bdbb5bba34");
	free(m);
}

/* browserleaks.com: a Chrome 143 hello (JA4 t13d1516h2_8daaf6152771_d8a2da3f94cd,
 * JA3 98487aa16281980e7d1120d399efb6a4), rebuilt from its JA4_ro and JA3
 * text: the extension order, the groups (GREASE 4588 X25519MLKEM768, 29,
 * 23, 24), point formats 0, the signature algorithms, ALPN h2. */
static const struct hello_spec chrome = {
	0x0303, "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035",
	"002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b",
	"11ec,001d,0017,0018", "0403,0804,0401,0503,0805,0501,0806,0601", "0304,0303",
	"h2|http/1.1"};

static const struct want chrome_want = {
	"771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
	"45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0",
	"98487aa16281980e7d1120d399efb6a4",
	"t13d1516h2_8daaf6152771_d8a2da3f94cd",
	"t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_"
	"0005,000a,000b,000d,0012,0017,001b,0023,002b,002d,0033,44cd,fe0d,ff01_"
	"0403,0804,0401,0503,0805,0501,0806,0601",
	"t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_"
	"002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,001b_"
	"0403,0804,0401,0503,0805,0501,0806,0601"};

static void test_published(void)
{
	uint8_t msg[2048];
	size_t n = build_hello(msg, &chrome);
	check_client_hello("browserleaks Chrome", msg, n, &chrome_want);

	/* The same with GREASE everywhere Chrome puts it: nothing changes. */
	struct hello_spec g = chrome;
	g.suites = "5a5a,1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035";
	g.exts = "fafa,002d,0033,0010,fe0d,0017,44cd,0000,000b,000a,002b,ff01,0023,0012,0005,000d,"
		 "001b,1a1a";
	g.groups = "2a2a,11ec,001d,0017,0018";
	g.versions = "7a7a,0304,0303";
	g.sigs = "0403,0804,0401,0503,0805,0501,0806,0601";
	n = build_hello(msg, &g);
	check_client_hello("browserleaks Chrome with GREASE", msg, n, &chrome_want);
}

/* The JA4 specification's example: its extension list (SNI, ALPN and
 * 0x0015 padding among them) with and without signature algorithms (the
 * spec's second hash keeps 000d in the list). */
static void test_ja4_spec(void)
{
	uint8_t msg[2048];
	char out[48];
	struct hello_spec h = {
		0x0303, "1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035",
		"001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015",
		"001d,0017,0018", "0403,0804,0401,0503,0805,0501,0806,0601", "0304,0303", "h2"};
	size_t n = build_hello(msg, &h);
	CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	h.sigs = ""; /* the extension is there, its list empty */
	n = build_hello(msg, &h);
	CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
	CHECK_STR(out, "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

/* JA4's "a" part: version, SNI, counts, ALPN rules. */
static void test_ja4_prefix(void)
{
	static const struct {
		const char *versions, *exts, *alpn, *want;
	} cases[] = {
		{"0304", "0000,002b,0010", "h2", "t13d0203h2"},
		{"0303", "002b,0010", "http/1.1", "t12i0202h1"},
		{"0304,0303", "002b", "", "t13i020100"},           /* no ALPN */
		{"0304", "002b,0010", "", "t13i020200"},           /* empty ALPN list */
		{"0304", "002b,0010", "x", "t13i0202xx"},          /* one character */
		{"0304", "002b,0010", "\x01\x02\xab\xcd", "t13i02020d"}, /* hex */
		{"0304", "002b,0010", "0\xab", "t13i02023b"},
		{"0304", "002b,0010", "01\xab\xcd", "t13i02023d"},
		{"0304", "002b,0010", "0\xab\xcd" "1", "t13i020201"},
		{"7f1c", "002b", "", "t00i020100"},                /* a draft: unknown */
		{"0300", "002b", "", "ts3i020100"},
		{"0a0a", "002b", "", "t00i020100"},                /* only GREASE */
		{"0302,0301", "002b", "", "t11i020100"},
	};
	uint8_t msg[2048];
	char out[48];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hello_spec h = {0x0303, "c02f,1301", cases[i].exts, "", "", cases[i].versions,
				       cases[i].alpn};
		size_t n = build_hello(msg, &h);
		CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
		out[10] = '\0';
		if (strcmp(out, cases[i].want) != 0)
			fprintf(stderr, "     case %zu\n", i);
		CHECK_STR(out, cases[i].want);
	}
}

static void test_edges(void)
{
	uint8_t msg[2048], *m;
	char out[48], *s;
	size_t n;

	/* No extensions block at all (allowed before TLS 1.2). */
	struct hello_spec bare = {0x0301, "002f,0035", NULL, "", "", "", ""};
	n = build_hello(msg, &bare);
	s = ja3_string_of(msg, n);
	CHECK_STR(s, "769,47-53,,,");
	free(s);
	CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
	CHECK(strncmp(out, "t10i020000_", 11) == 0);
	CHECK_STR(out + 24, "000000000000");
	s = ja4_raw_of(msg, n, 0);
	CHECK_STR(s, "t10i020000_002f,0035_");
	free(s);

	/* No suites: JA4_b is zeros. */
	struct hello_spec none = {0x0303, "", "000d", "", "0403", "", ""};
	n = build_hello(msg, &none);
	CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
	CHECK(strncmp(out, "t12i000100_000000000000_", 24) == 0);

	/* More than 99 suites: the count stops at 99. */
	char suites[150 * 5 + 1] = "";
	for (int i = 0; i < 150; i++)
		snprintf(suites + strlen(suites), sizeof suites - strlen(suites), "%s%04x",
			 i ? "," : "", 0xc000 + i);
	struct hello_spec many = {0x0303, suites, "0000", "", "", "", ""};
	n = build_hello(msg, &many);
	CHECK_INT(ja4_of(msg, n, out, sizeof out), 0);
	CHECK(strncmp(out, "t12d9901", 8) == 0);

	/* An extension longer than the block: no fingerprint. */
	struct hello_spec h = {0x0303, "c02f", "0000,0010", "", "", "", "h2"};
	n = build_hello(msg, &h);
	msg[n - 6] = 0x40;
	m = exact(msg, n);
	CHECK_INT(ja3_of(m, n, out, sizeof out), -1);
	CHECK_STR(out, "");
	CHECK_INT(ja4_of(m, n, out, sizeof out), -1);
	CHECK_STR(out, "");
	CHECK(ja3_string_of(m, n) == NULL);
	free(m);

	/* Too small an output buffer. */
	n = build_hello(msg, &chrome);
	CHECK_INT(ja3_of(msg, n, out, 32), -1);
	CHECK_INT(ja4_of(msg, n, out, 36), -1);

	/* SHA-256 of "abc" (FIPS 180-2). */
	char sha[FP_SHA256_HEX];
	fp_sha256_hex((const uint8_t *)"abc", 3, sha);
	CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Every prefix of every hello, from an exact-size buffer: no crash, and a
 * fingerprint only where the prefix is a complete hello by itself. */
static void test_prefixes(void)
{
	static const char *const hexes[] = {ch_ndpi0, ch_ndpi1, sh_ndpi0, sh_ndpi1};
	uint8_t msg[2048];
	char out[48];
	unsigned ok = 0, calls = 0;
	for (size_t k = 0; k < 5; k++) {
		size_t n = k < 4 ? hex_decode(msg, hexes[k]) : build_hello(msg, &chrome);
		for (size_t cut = 0; cut < n; cut++) {
			uint8_t *m = exact(msg, cut);
			int server = k == 2 || k == 3;
			if (server) {
				ok += ja3s_of(m, cut, out, sizeof out) == 0;
				free(ja3s_string_of(m, cut));
			} else {
				ok += ja3_of(m, cut, out, sizeof out) == 0;
				ok += ja4_of(m, cut, out, sizeof out) == 0;
				free(ja4_raw_of(m, cut, 1));
			}
			calls++;
			free(m);
		}
	}
	/* complete without extensions: right after compression (client) or the
	 * compression method (server) */
	CHECK_INT(ok, 2 * 2 + 2 * 1 + 2);
	CHECK_INT(calls, 585); /* the five hellos' lengths */
}

/* ---- the digest memo ------------------------------------------------------------ */

#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* The digest as hex from libgcrypt itself, past the memo. */
static void ref_hex(int algo, const void *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[32];
	size_t dlen = gcry_md_get_algo_dlen(algo);
	gcry_check_version(NULL);
	gcry_md_hash_buffer(algo, d, p, n);
	for (size_t i = 0; i < dlen; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * dlen] = '\0';
}

/* fp_digest_hex's full digest of p[0..n) checked against ref_hex. */
static void check_digest(int algo, const void *p, size_t n)
{
	char got[65], want[65];
	size_t hex_len = 2 * gcry_md_get_algo_dlen(algo);
	ref_hex(algo, p, n, want);
	CHECK_INT(fp_digest_hex(algo, p, n, got, hex_len), 0);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "     algo %d, %zu bytes\n", algo, n);
	CHECK_STR(got, want);
}

/* Memo hits and misses of this thread since the last call. */
static void memo_delta(unsigned long *hits, unsigned long *misses)
{
	static unsigned long h0, m0;
	unsigned long h, m;
	fp_memo_stats(&h, &m);
	*hits = h - h0;
	*misses = m - m0;
	h0 = h;
	m0 = m;
}

/* The same bytes under MD5 and SHA-256, twice: known values, the second
 * time from the memo, the algorithms kept apart. */
static void test_memo_known(void)
{
	char out[65];
	unsigned long hits, misses;
	for (int round = 0; round < 2; round++) {
		memo_delta(&hits, &misses);
		CHECK_INT(fp_digest_hex(GCRY_MD_MD5, "abc", 3, out, 32), 0);
		CHECK_STR(out, MD5_ABC);
		CHECK_INT(fp_digest_hex(GCRY_MD_SHA256, "abc", 3, out, 64), 0);
		CHECK_STR(out, SHA_ABC);
	}
	memo_delta(&hits, &misses);
	CHECK_INT(hits, 2); /* the second round */
	CHECK_INT(misses, 0);
	/* shorter and odd lengths of a remembered digest */
	CHECK_INT(fp_digest_hex(GCRY_MD_SHA256, "abc", 3, out, 12), 0);
	CHECK_STR(out, "ba7816bf8f01");
	CHECK_INT(fp_digest_hex(GCRY_MD_MD5, "abc", 3, out, 7), 0);
	CHECK_STR(out, "9001509");
	/* a prefix and an extension of the remembered input */
	check_digest(GCRY_MD_MD5, "ab", 2);
	check_digest(GCRY_MD_MD5, "abcd", 4);
	/* more digits than the algorithm has; a digest too long for it */
	CHECK_INT(fp_digest_hex(GCRY_MD_MD5, "abc", 3, out, 33), -1);
	CHECK_INT(fp_digest_hex(GCRY_MD_SHA512, "abc", 3, out, 64), -1);
}

/* Two 64-byte inputs with the same memo key. The key's first lane takes
 * words 0 and 4 (of 8) as lane = rotl((lane ^ w) * MUL, 29) from its
 * seed (fingerprint.c), so after a different word 0, word 4 can bring
 * the lane back to the state the other input reached. */
static void colliding_pair(uint8_t a[64], uint8_t b[64])
{
	const uint64_t seed0 = 0x243f6a8885a308d3u, mul = 0x9e3779b97f4a7c15u;
	uint64_t w[8], x, y;
	for (int i = 0; i < 8; i++)
		w[i] = 0x0123456789abcdefu * (uint64_t)(i + 1);
	memcpy(a, w, 64);
	x = (seed0 ^ w[0]) * mul;
	w[0] ^= 1;
	y = (seed0 ^ w[0]) * mul;
	w[4] ^= (x << 29 | x >> 35) ^ (y << 29 | y >> 35);
	memcpy(b, w, 64);
}

/* Inputs the 64-bit key cannot tell apart each get their own digest. */
static void test_memo_collision(void)
{
	uint8_t a[64], b[64];
	colliding_pair(a, b);
	CHECK(memcmp(a, b, sizeof a) != 0);
	/* if not, colliding_pair no longer matches fp_memo_key */
	CHECK(fp_memo_key(a, sizeof a) == fp_memo_key(b, sizeof b));
	for (int i = 0; i < 3; i++) {
		check_digest(GCRY_MD_SHA256, a, sizeof a);
		check_digest(GCRY_MD_SHA256, b, sizeof b);
		check_digest(GCRY_MD_MD5, b, sizeof b);
		check_digest(GCRY_MD_MD5, a, sizeof a);
	}
}

/* Four times as many inputs as the memo has entries, twice over, in
 * both algorithms: every set sees more inputs than it has ways. */
static void test_memo_many(void)
{
	char in[32];
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 4 * FP_MEMO_ENTRIES; i++) {
			int n = snprintf(in, sizeof in, "memo input %d", i);
			check_digest(i % 2 ? GCRY_MD_MD5 : GCRY_MD_SHA256, in, (size_t)n);
			check_digest(i % 2 ? GCRY_MD_SHA256 : GCRY_MD_MD5, in, (size_t)n);
		}
	}
}

/* The longest input the memo keeps and one byte more, which it hashes
 * each time; a change in the last byte is a new input. */
static void test_memo_cap(void)
{
	static uint8_t big[FP_MEMO_MAX + 1];
	unsigned long hits, misses;
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	memo_delta(&hits, &misses);
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX + 1);
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX + 1);
	memo_delta(&hits, &misses);
	CHECK_INT(hits + misses, 0);
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX);
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX);
	memo_delta(&hits, &misses);
	CHECK_INT(hits, 1);
	CHECK_INT(misses, 1);
	big[FP_MEMO_MAX - 1] ^= 0x80;
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX);
	big[FP_MEMO_MAX - 1] ^= 0x80;
	check_digest(GCRY_MD_SHA256, big, FP_MEMO_MAX);
	/* the empty input is not kept */
	check_digest(GCRY_MD_MD5, "", 0);
	memo_delta(&hits, &misses);
	CHECK_INT(hits + misses, 2);
}

static void *memo_thread(void *arg)
{
	unsigned long *stats = arg;
	char out[33];
	if (fp_digest_hex(GCRY_MD_MD5, "abc", 3, out, 32) == 0 && strcmp(out, MD5_ABC) == 0)
		stats[2] = 1;
	fp_memo_stats(&stats[0], &stats[1]);
	return NULL;
}

/* Another thread starts with a table of its own ("abc" is in this one). */
static void test_memo_thread(void)
{
	unsigned long stats[3] = {0, 0, 0};
	pthread_t t;
	CHECK_INT(pthread_create(&t, NULL, memo_thread, stats), 0);
	CHECK_INT(pthread_join(t, NULL), 0);
	CHECK_INT(stats[0], 0);
	CHECK_INT(stats[1], 1);
	CHECK_INT(stats[2], 1);
}

/* fp_client (the remembered pair) gives what fp_ja3 and fp_ja4 give,
 * on the first sight of a hello and on every later one, for hellos that
 * differ in one input of either fingerprint at a time; 80 different
 * builds, more than the memo holds, go round twice. */
static void check_pair(const uint8_t *msg, size_t n)
{
	struct tls_hello h;
	char ja3[48], ja4[48], pja3[48] = "x", pja4[48] = "x";
	int rc3, rc4;
	parse(msg, n, HELLO_CLIENT, &h);
	int want3 = fp_ja3(&h, ja3, sizeof ja3), want4 = fp_ja4(&h, ja4, sizeof ja4);
	fp_client(&h, pja3, sizeof pja3, &rc3, pja4, sizeof pja4, &rc4);
	CHECK_INT(rc3, want3);
	CHECK_INT(rc4, want4);
	CHECK_STR(pja3, ja3);
	CHECK_STR(pja4, ja4);
}

static void test_client_memo(void)
{
	static const char *const suites[] = {"c02f,1301", "1301,c02f", "1301", "0a0a,1301,c02f"};
	static const char *const exts[] = {"0000,000a,000b,000d,0010,002b", "000a,000b,000d,0010,002b",
					   "0010,002b,000d,000b,000a,0000", "0a0a,0000,002b"};
	static const char *const alpn[] = {"h2", "http/1.1", "h2|http/1.1", "x\xab"};
	uint8_t msg[2048];
	char many[700 * 5 + 1] = "";
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 80; i++) {
			struct hello_spec h = {0x0303, suites[i % 4], exts[i / 4 % 4], i % 2 ? "001d" : "0017",
					       i % 3 ? "0403" : "0804,0403", i % 5 ? "0304" : "0304,0303",
					       alpn[i / 16 % 4]};
			size_t n = build_hello(msg, &h);
			msg[2 + (size_t)i % 32] ^= (uint8_t)round; /* another random: the same build */
			check_pair(msg, n);
			check_pair(msg, n); /* remembered now */
		}
	for (int i = 0; i < 700; i++) /* a key too long to remember */
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s%04x", i ? "," : "", 0xc000 + i);
	struct hello_spec big = {0x0303, many, "0000", "", "", "", ""};
	uint8_t *m = malloc(4096);
	size_t n = build_hello(m, &big);
	check_pair(m, n);
	check_pair(m, n / 2); /* incomplete: both fail */
	free(m);
}

int main(void)
{
	test_ndpi();
	test_published();
	test_ja4_spec();
	test_ja4_prefix();
	test_edges();
	test_prefixes();
	test_memo_known();
	test_memo_collision();
	test_memo_many();
	test_memo_cap();
	test_memo_thread();
	test_client_memo();
	return check_done("fingerprint");
}
