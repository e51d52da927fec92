#include "text.h"

#include <stdint.h>
#include <string.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Whether any of the 8 bytes in w needs escaping: below 0x20, above 0x7e
 * or a backslash (the bit tricks are exact for these bounds). */
static int needs_escape8(uint64_t w)
{
	uint64_t below = (w - ONES * 0x20) & ~w;
	uint64_t above = (w + ONES * (127 - 0x7e)) | w;
	uint64_t bs = w ^ (ONES * '\\');
	uint64_t backslash = (bs - ONES) & ~bs;
	return ((below | above | backslash) & HIGHS) != 0;
}

static int needs_escape(uint8_t c)
{
	return c < 0x20 || c >= 0x7f || c == '\\';
}

/* How many bytes from p on need no escaping, at most n: eight at a time
 * while no byte in the eight does. Host names and EHLO keywords are
 * plain, and this runs for every one of them. */
static size_t plain_run(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t w;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		if (needs_escape8(w))
			break;
	}
	while (i < n && !needs_escape(p[i]))
		i++;
	return i;
}

size_t text_sanitize(char *dst, size_t cap, const uint8_t *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;
	if (cap == 0)
		return 0;
	while (i < len) {
		size_t run = plain_run(src + i, len - i);
		size_t room = cap - 1 - o;
		if (run > room)
			run = room;
		memcpy(dst + o, src + i, run);
		o += run;
		i += run;
		if (i == len || !needs_escape(src[i]) || o + 4 >= cap)
			break; /* done, or full */
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[src[i] >> 4];
		dst[o++] = hex[src[i] & 15];
		i++;
	}
	dst[o] = '\0';
	return o;
}

int text_ieq(const uint8_t *p, size_t len, const char *upper)
{
	size_t n = strlen(upper);
	if (n != len)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c >= 'a' && c <= 'z')
			c = (uint8_t)(c - 32);
		if (c != (uint8_t)upper[i])
			return 0;
	}
	return 1;
}
