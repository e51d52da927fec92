/* Unit tests for dissect/hello.c, the one TLS hello parser: where the
 * fields and lists of a ClientHello and ServerHello lie, how damaged
 * framing is reported, and that every prefix of a hello is read within
 * its bounds (from a buffer of exactly that size, for ASan). */
#include <stdlib.h>
#include <string.h>

#include "../../dissect/fingerprint.h"
#include "../../dissect/hello.h"
#include "bytes.h"
#include "check.h"

static void ext(struct buf *b, unsigned type, const char *body_hex)
{
	b_u16(b, type);
	b_open(b, 2);
	b_hex(b, body_hex);
	b_close(b);
}

/* A ClientHello: version 0x0303, session id of sid bytes, two suites,
 * null compression, then the extensions the caller adds (it closes). */
static struct buf *client_hello(size_t sid)
{
	struct buf *b = calloc(1, sizeof *b);
	b_u16(b, 0x0303);
	b_fill(b, 0x11, 32);
	b_u8(b, (unsigned)sid);
	b_fill(b, 0x22, sid);
	b_hex(b, "0004" "1301" "c02f" "0100");
	b_open(b, 2);
	return b;
}

static uint8_t *exact(const struct buf *b, size_t n)
{
	uint8_t *m = malloc(n ? n : 1);
	memcpy(m, b->b, n);
	return m;
}

static void test_client_fields(void)
{
	struct buf *b = client_hello(4);
	struct tls_hello h;
	ext(b, 0x0a0a, "");                                   /* GREASE */
	ext(b, EXT_SNI, "000b" "00" "0008" "6d782e746573740a"); /* "mx.test\n" */
	ext(b, EXT_ALPN, "0006" "02" "6832" "02" "6869");     /* h2, hi */
	ext(b, EXT_GROUPS, "0004" "001d" "0017");
	ext(b, EXT_POINT_FORMATS, "0100");
	ext(b, EXT_SIG_ALGS, "0004" "0403" "0804");
	ext(b, EXT_VERSIONS, "04" "0304" "0303");
	ext(b, EXT_ALPN, "0003" "02" "7a7a");                 /* a second ALPN: zz */
	b_close(b);
	uint8_t *m = exact(b, b->n);
	CHECK_INT(hello_parse(m, b->n, HELLO_CLIENT, &h), 0);
	CHECK_INT(h.version, 0x0303);
	CHECK(h.random == m + 2);
	CHECK_INT(h.sid.len, 4);
	CHECK_INT(h.suites.len, 4);
	CHECK_INT(h.n_ext, 8);
	CHECK_INT(h.ext_type[0], 0x0a0a);
	CHECK_INT(h.ext_type[7], EXT_ALPN);
	CHECK(h.exts_ok && h.bodies_ok && hello_complete(&h));
	CHECK_INT(h.sni, 1);
	CHECK_INT(h.sni_name.len, 8);
	CHECK(memcmp(h.sni_name.p, "mx.test\n", 8) == 0);
	CHECK_INT(h.alpn_first.len, 6); /* the first for the facts ... */
	CHECK_INT(h.alpn.len, 3);       /* ... the last for the fingerprints */
	CHECK_INT(h.groups.len, 4);
	CHECK_INT(h.formats.len, 1);
	CHECK_INT(h.sigalgs.len, 4);
	CHECK_INT(h.versions.len, 4);
	CHECK_INT(h.selected_version, -1);
	free(m);
	free(b);
}

static void test_server_fields(void)
{
	struct buf *b = calloc(1, sizeof *b);
	struct tls_hello h;
	b_u16(b, 0x0303);
	b_fill(b, 0x33, 32);
	b_u8(b, 0);
	b_hex(b, "1302" "00");
	b_open(b, 2);
	ext(b, EXT_VERSIONS, "0304");
	ext(b, EXT_KEY_SHARE, "001d" "0002" "abcd");
	ext(b, EXT_PSK, "0000");
	ext(b, EXT_ALPN, "0003" "02" "6832");
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_SERVER, &h), 0);
	CHECK_INT(h.cipher, 0x1302);
	CHECK_INT(h.selected_version, 0x0304);
	CHECK_INT(h.key_share_group, 0x001d);
	CHECK_INT(h.psk, 1);
	CHECK_INT(h.alpn.len, 3);
	CHECK(hello_complete(&h));
	/* the same bytes read as a ClientHello: the suites vector swallows them */
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), -1);
	free(b);
}

/* Damage: framing errors keep what came before; a bad body is told apart. */
static void test_damage(void)
{
	struct tls_hello h;
	char out[48];
	struct buf *b = client_hello(0);
	ext(b, EXT_SNI, "000500" "0002" "6162");
	ext(b, EXT_GROUPS, "0002001d");
	b_close(b);
	b_u8(b, 0); /* a byte after the extensions block: ignored */
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK(hello_complete(&h));
	free(b);

	b = client_hello(0);
	ext(b, EXT_SNI, "000500" "0002" "6162");
	b_u16(b, EXT_GROUPS);
	b_u16(b, 0x40); /* a body longer than what is left */
	b_hex(b, "0002001d");
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK_INT(h.exts_ok, 0);
	CHECK_INT(h.sni_name.len, 2); /* before the damage: kept */
	CHECK_INT(h.n_ext, 1);
	CHECK_INT(fp_ja3(&h, out, sizeof out), -1);
	CHECK_STR(out, "");
	free(b);

	b = client_hello(0);
	ext(b, EXT_SNI, "0040"); /* the name list is longer than the extension */
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK_INT(h.exts_ok, 1);
	CHECK_INT(h.bodies_ok, 0);
	CHECK(h.sni_name.p == NULL);
	free(b);

	b = client_hello(0);
	b_u8(b, 0x00); /* 1 to 3 stray bytes at the end of the block */
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK_INT(h.exts_ok, 0);
	free(b);
}

/* More extension types than kept: no fingerprint, never a wrong one. */
static void test_capped(void)
{
	struct tls_hello h;
	char out[48];
	struct buf *b = client_hello(0);
	for (unsigned i = 0; i < HELLO_EXTS_MAX + 1; i++)
		ext(b, 0x1000 + i, "");
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK_INT(h.n_ext, HELLO_EXTS_MAX);
	CHECK_INT(h.exts_capped, 1);
	CHECK(!hello_complete(&h));
	CHECK_INT(fp_ja3(&h, out, sizeof out), -1);
	CHECK_INT(fp_ja4(&h, out, sizeof out), -1);
	free(b);
	b = client_hello(0);
	for (unsigned i = 0; i < HELLO_EXTS_MAX; i++)
		ext(b, 0x1000 + i, "");
	b_close(b);
	CHECK_INT(hello_parse(b->b, b->n, HELLO_CLIENT, &h), 0);
	CHECK(hello_complete(&h));
	CHECK_INT(fp_ja3(&h, out, sizeof out), 0);
	free(b);
}

/* Every prefix, from an exact-size buffer: parses within bounds; complete
 * only where the prefix ends right after the fixed fields or is whole. */
static void test_prefixes(void)
{
	struct tls_hello h;
	struct buf *b = client_hello(8);
	ext(b, EXT_SNI, "000500" "0002" "6162");
	ext(b, EXT_ALPN, "0003" "02" "6832");
	ext(b, EXT_VERSIONS, "020304");
	b_close(b);
	size_t fixed = 2 + 32 + 1 + 8 + 2 + 4 + 2, complete = 0;
	for (size_t cut = 0; cut <= b->n; cut++) {
		uint8_t *m = exact(b, cut);
		if (hello_parse(m, cut, HELLO_CLIENT, &h) == 0 && hello_complete(&h))
			complete++;
		CHECK_INT(hello_parse(m, cut, HELLO_CLIENT, &h) == 0, cut >= fixed);
		free(m);
	}
	CHECK_INT(complete, 2);
	free(b);
}

int main(void)
{
	test_client_fields();
	test_server_fields();
	test_damage();
	test_capped();
	test_prefixes();
	return check_done("hello");
}
