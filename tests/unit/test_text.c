/* Unit tests for common/text.c: text_sanitize() and text_ieq(). */
#include <stdlib.h>
#include <string.h>

#include "../../common/text.h"
#include "check.h"

struct sanitize_case {
	const char *in;
	size_t in_len;
	size_t cap;
	const char *want;
};

#define IN(s) s, sizeof(s) - 1

static const struct sanitize_case sanitize_cases[] = {
	{IN("mx.example.org"), 64, "mx.example.org"},
	{IN(""), 64, ""},
	{IN("a b~"), 64, "a b~"},                          /* space and ~ are printable */
	{IN("tab\there"), 64, "tab\\x09here"},
	{IN("crlf\r\n"), 64, "crlf\\x0d\\x0a"},
	{IN("nul\0x"), 64, "nul\\x00x"},
	{IN("back\\slash"), 64, "back\\x5cslash"},         /* backslash is escaped too */
	{IN("del\x7f"), 64, "del\\x7f"},
	{IN("caf\xc3\xa9"), 64, "caf\\xc3\\xa9"},           /* UTF-8 bytes are escaped */
	{IN("\xff\x80\x1f"), 64, "\\xff\\x80\\x1f"},
	/* truncation: always NUL-terminated, never half an escape */
	{IN("abcdef"), 4, "abc"},
	{IN("abcdef"), 7, "abcdef"},
	{IN("abcdef"), 6, "abcde"},
	{IN("ab\x01"), 6, "ab"},         /* "ab\x01" needs 7 with the NUL */
	{IN("ab\x01"), 7, "ab\\x01"},
	{IN("ab\x01z"), 7, "ab\\x01"},
	{IN("ab\x01z"), 8, "ab\\x01z"},
	{IN("\x01"), 4, ""},
	{IN("\x01"), 5, "\\x01"},
	{IN("\\"), 4, ""},
	{IN("x"), 1, ""},
	{IN("a\x01" "b"), 3, "a"},       /* the escape does not fit, nor what follows */
};

static void test_sanitize_table(void)
{
	for (size_t i = 0; i < sizeof sanitize_cases / sizeof sanitize_cases[0]; i++) {
		const struct sanitize_case *c = &sanitize_cases[i];
		char *dst = malloc(c->cap); /* exact size: ASan sees an over-write */
		uint8_t *src = malloc(c->in_len ? c->in_len : 1);
		memcpy(src, c->in, c->in_len);
		memset(dst, '#', c->cap);
		size_t n = text_sanitize(dst, c->cap, src, c->in_len);
		CHECK_STR(dst, c->want);
		CHECK_INT(n, strlen(c->want));
		free(dst);
		free(src);
	}
}

/* cap 0 writes nothing at all. */
static void test_sanitize_cap0(void)
{
	char dst[4] = "###";
	CHECK_INT(text_sanitize(dst, 0, (const uint8_t *)"abc", 3), 0);
	CHECK_STR(dst, "###");
}

/* Every byte value at every capacity: the output is NUL-terminated within
 * cap, holds only printable ASCII, and is a prefix of the full output
 * that ends on a character boundary. */
static void test_sanitize_all_bytes(void)
{
	uint8_t src[256];
	char full[256 * 4 + 1], dst[256 * 4 + 1];
	for (int i = 0; i < 256; i++)
		src[i] = (uint8_t)i;
	size_t full_len = text_sanitize(full, sizeof full, src, sizeof src);
	CHECK_INT(full_len, 94 + 162 * 4); /* 94 kept; '\\' and 161 others escaped */
	int bad = 0;
	for (size_t cap = 1; cap <= sizeof full; cap++) {
		size_t n = text_sanitize(dst, cap, src, sizeof src);
		if (n >= cap || dst[n] != '\0' || strncmp(dst, full, n) != 0)
			bad++;
		for (size_t k = 0; k < n; k++)
			if (dst[k] < 0x20 || dst[k] > 0x7e)
				bad++;
		/* a boundary: the next full character did not fit */
		size_t next = n < full_len ? (full[n] == '\\' ? 4 : 1) : 0;
		if (n < full_len && n + next < cap)
			bad++;
	}
	CHECK_INT(bad, 0);
}

/* The byte-by-byte definition, to check the word-at-a-time one against. */
static size_t reference_sanitize(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

/* Plain text with one byte of every value at every offset of an 8-byte
 * word, and pseudo-random mixes, at every capacity up to past the output:
 * the same output as the definition. */
static void test_sanitize_matches_definition(void)
{
	uint8_t src[40];
	char got[40 * 4 + 1], want[40 * 4 + 1];
	uint32_t seed = 12345;
	int bad = 0;
	for (int round = 0; round < 256 * 24 + 2000; round++) {
		size_t len = round < 256 * 24 ? 24 : (size_t)(round % 41);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly plain, like host names; sometimes anything */
			src[i] = (seed >> 24) % 8 ? (uint8_t)('a' + (seed >> 16) % 26) : (uint8_t)(seed >> 16);
		}
		if (round < 256 * 24) { /* one byte of value round / 24 at offset round % 24 */
			memset(src, 'm', len);
			src[round % 24] = (uint8_t)(round / 24);
		}
		for (size_t cap = 1; cap <= sizeof got; cap += round < 256 * 24 ? 7 : 1) {
			size_t g = text_sanitize(got, cap, src, len);
			size_t w = reference_sanitize(want, cap, src, len);
			bad += g != w || strcmp(got, want) != 0;
		}
	}
	CHECK_INT(bad, 0);
}

struct ieq_case {
	const char *word;
	const char *upper;
	int want;
};

static const struct ieq_case ieq_cases[] = {
	{"EHLO", "EHLO", 1},    {"ehlo", "EHLO", 1},     {"eHlO", "EHLO", 1},
	{"EHL", "EHLO", 0},     {"EHLOX", "EHLO", 0},    {"", "", 1},
	{"", "EHLO", 0},        {"HELO", "EHLO", 0},     {"starttls", "STARTTLS", 1},
	{"8bitmime", "8BITMIME", 1},
	{"{", "[", 0},          /* only a-z are folded: 0x7b is not 0x5b */
	{"`", "@", 0},
	{"\xc5hlo", "EHLO", 0},
};

static void test_ieq(void)
{
	for (size_t i = 0; i < sizeof ieq_cases / sizeof ieq_cases[0]; i++) {
		const struct ieq_case *c = &ieq_cases[i];
		size_t n = strlen(c->word);
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, c->word, n);
		if (text_ieq(p, n, c->upper) != c->want)
			fprintf(stderr, "     text_ieq(\"%s\", \"%s\")\n", c->word, c->upper);
		CHECK_INT(text_ieq(p, n, c->upper), c->want);
		free(p);
	}
	/* the length bounds the comparison: "EHLO" is a prefix of the buffer */
	CHECK_INT(text_ieq((const uint8_t *)"EHLO x", 4, "EHLO"), 1);
	CHECK_INT(text_ieq((const uint8_t *)"EHLO", 3, "EHL"), 1);
}

int main(void)
{
	test_sanitize_table();
	test_sanitize_cap0();
	test_sanitize_all_bytes();
	test_sanitize_matches_definition();
	test_ieq();
	return check_done("text");
}
