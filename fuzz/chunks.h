/* The fuzz input format for the stream parsers: a sequence of chunks, each
 * a control byte (bit 0: direction; bits 1-2: 3 = a gap, else data), a
 * length byte (len + 1 bytes follow, or the gap's size), then the bytes.
 * Chunking exercises every parser's state across pieces. */
#ifndef SMTPTLS_FUZZ_CHUNKS_H
#define SMTPTLS_FUZZ_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

struct chunk {
	int dir;
	int gap;
	const uint8_t *p;
	size_t len;
};

/* Takes the next chunk from *in / *n; 0 when the input is used up. */
static inline int chunk_next(const uint8_t **in, size_t *n, struct chunk *c)
{
	if (*n < 2)
		return 0;
	uint8_t ctl = (*in)[0];
	size_t len = (size_t)(*in)[1] + 1;
	*in += 2;
	*n -= 2;
	c->dir = ctl & 1;
	c->gap = ((ctl >> 1) & 3) == 3;
	c->p = *in;
	c->len = c->gap ? len : (len < *n ? len : *n);
	if (!c->gap) {
		*in += c->len;
		*n -= c->len;
	}
	return 1;
}

#endif
