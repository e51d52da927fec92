/* A bounds-checked read cursor over a byte buffer. Every read checks the
 * remaining length first (without overflow: compares against len - off);
 * the first failure sets err, which sticks, and later reads return 0. */
#ifndef SMTPTLS_RD_H
#define SMTPTLS_RD_H

#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

static inline struct rd rd_init(const uint8_t *p, size_t len)
{
	struct rd r = {p, len, 0, 0};
	return r;
}

static inline size_t rd_left(const struct rd *r)
{
	return r->err ? 0 : r->len - r->off;
}

static inline int rd_need(struct rd *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = 1;
		return 0;
	}
	return 1;
}

static inline uint8_t rd_u8(struct rd *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->p[r->off++];
}

static inline uint16_t rd_u16(struct rd *r)
{
	if (!rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
	r->off += 2;
	return v;
}

static inline uint32_t rd_u24(struct rd *r)
{
	if (!rd_need(r, 3))
		return 0;
	uint32_t v = ((uint32_t)r->p[r->off] << 16) |
		     ((uint32_t)r->p[r->off + 1] << 8) | r->p[r->off + 2];
	r->off += 3;
	return v;
}

/* Returns a pointer to the next n bytes and advances, or NULL. */
static inline const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (!rd_need(r, n))
		return NULL;
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static inline void rd_skip(struct rd *r, size_t n)
{
	(void)rd_bytes(r, n);
}

/* A sub-cursor over the next n bytes; the parent advances past them. A
 * failure marks both. */
static inline struct rd rd_sub(struct rd *r, size_t n)
{
	const uint8_t *p = rd_bytes(r, n);
	struct rd s = {p, p ? n : 0, 0, p ? 0 : 1};
	return s;
}

/* Length-prefixed vectors (TLS <0..2^8-1>, <0..2^16-1>, <0..2^24-1>). */
static inline struct rd rd_vec8(struct rd *r)
{
	return rd_sub(r, rd_u8(r));
}

static inline struct rd rd_vec16(struct rd *r)
{
	return rd_sub(r, rd_u16(r));
}

static inline struct rd rd_vec24(struct rd *r)
{
	return rd_sub(r, rd_u24(r));
}

#endif
