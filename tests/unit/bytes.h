/* A byte writer for synthetic protocol messages (TLS records, hellos,
 * DER) and a hex decoder, shared by the unit tests. Header-only like
 * check.h; a struct buf is large, so tests allocate it. */
#ifndef SMTPTLS_TEST_BYTES_H
#define SMTPTLS_TEST_BYTES_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct buf {
	uint8_t b[160000];
	size_t n;
	size_t open_at[8];
	int open_width[8];
	int depth;
};

static inline void b_u8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static inline void b_u16(struct buf *b, unsigned v)
{
	b_u8(b, v >> 8);
	b_u8(b, v & 0xff);
}

static inline void b_mem(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static inline void b_fill(struct buf *b, unsigned v, size_t n)
{
	memset(b->b + b->n, (int)v, n);
	b->n += n;
}

static inline void b_str(struct buf *b, const char *s)
{
	b_mem(b, s, strlen(s));
}

/* Decodes pairs of hex digits into out; returns the bytes written. */
static inline size_t hex_decode(uint8_t *out, const char *hex)
{
	size_t n = 0;
	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static inline void b_hex(struct buf *b, const char *hex)
{
	b->n += hex_decode(b->b + b->n, hex);
}

/* A length field of width bytes, filled in by b_close(). */
static inline void b_open(struct buf *b, int width)
{
	b->open_at[b->depth] = b->n;
	b->open_width[b->depth++] = width;
	b_fill(b, 0, (size_t)width);
}

static inline void b_close(struct buf *b)
{
	int w = b->open_width[--b->depth];
	size_t at = b->open_at[b->depth], len = b->n - at - (size_t)w;
	for (int i = w - 1; i >= 0; i--, len >>= 8)
		b->b[at + (size_t)i] = (uint8_t)(len & 0xff);
}

static inline void b_close_all(struct buf *b)
{
	while (b->depth > 0)
		b_close(b);
}

#endif
