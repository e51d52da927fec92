/* Frames built byte by byte for the decoder tests (test_tunnel.c,
 * test_ipfrag.c): headers are appended outermost first; the length fields
 * (IP, UDP, GTP-U) and IPv4 header checksums are filled in by f_done()
 * once the frame is complete. And a guard page: a frame decoded flush
 * against an unreadable page crashes on a one-byte over-read.
 * Header-only, like check.h. */
#ifndef SMTPTLS_TEST_LAYERS_H
#define SMTPTLS_TEST_LAYERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FRAME_MAX 70000

struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
	size_t l3, l4, payload; /* the innermost IP header, TCP/UDP header, payload */
	size_t wire;            /* payload bytes */
	struct {
		size_t at, from;    /* a 16-bit length field, and where what it counts starts */
		int sum;            /* an IPv4 header checksum at `at`, the header at `from` */
		int minus;          /* subtracted from the length */
	} fix[16];
	int nfix;
};

static inline void f_init(struct frame *f)
{
	f->len = f->l3 = f->l4 = f->payload = f->wire = 0;
	f->nfix = 0;
}

static inline void f_u8(struct frame *f, unsigned v)
{
	f->b[f->len++] = (uint8_t)v;
}

static inline void f_u16(struct frame *f, unsigned v)
{
	f_u8(f, v >> 8 & 0xff);
	f_u8(f, v & 0xff);
}

static inline void f_u32(struct frame *f, uint32_t v)
{
	f_u16(f, v >> 16);
	f_u16(f, v & 0xffff);
}

static inline void f_fill(struct frame *f, unsigned v, size_t n)
{
	memset(f->b + f->len, (int)v, n);
	f->len += n;
}

static inline void f_mem(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static inline void f_set16(struct frame *f, size_t at, unsigned v)
{
	f->b[at] = (uint8_t)(v >> 8);
	f->b[at + 1] = (uint8_t)v;
}

static inline void f_fix_len(struct frame *f, size_t at, size_t from, int minus)
{
	f->fix[f->nfix].at = at;
	f->fix[f->nfix].from = from;
	f->fix[f->nfix].minus = minus;
	f->fix[f->nfix++].sum = 0;
}

/* ---- headers -------------------------------------------------------------- */

static const uint8_t F_SRC4[4] = {192, 0, 2, 1}, F_DST4[4] = {198, 51, 100, 25};
static const uint8_t F_SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t F_DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x25};

static inline void f_eth(struct frame *f, unsigned type)
{
	static const uint8_t macs[12] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
					 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa};
	f_mem(f, macs, 12);
	f_u16(f, type);
}

/* A tag's TCI and the type after it (the TPID is the type before). */
static inline void f_vlan(struct frame *f, unsigned vid, unsigned type)
{
	f_u16(f, vid);
	f_u16(f, type);
}

static inline void f_mpls(struct frame *f, unsigned label, int bottom)
{
	f_u32(f, (uint32_t)label << 12 | (bottom ? 0x100u : 0) | 64);
}

/* IPv4 without options; frag is the flags and offset field. */
static inline void f_ipv4_addr(struct frame *f, unsigned proto, const uint8_t *src,
			       const uint8_t *dst, unsigned id, unsigned frag)
{
	size_t at = f->len;
	f->l3 = at;
	f_u8(f, 0x45);
	f_u8(f, 0);
	f_u16(f, 0);
	f_u16(f, id);
	f_u16(f, frag);
	f_u8(f, 64);
	f_u8(f, proto);
	f_u16(f, 0);
	f_mem(f, src, 4);
	f_mem(f, dst, 4);
	f_fix_len(f, at + 2, at, 0);
	f->fix[f->nfix].at = at + 10;
	f->fix[f->nfix].from = at;
	f->fix[f->nfix++].sum = 1;
}

static inline void f_ipv4(struct frame *f, unsigned proto)
{
	f_ipv4_addr(f, proto, F_SRC4, F_DST4, 0x1234, 0x4000);
}

static inline void f_ipv6_addr(struct frame *f, unsigned next, const uint8_t *src,
			       const uint8_t *dst)
{
	size_t at = f->len;
	f->l3 = at;
	f_u32(f, 0x60000000);
	f_u16(f, 0);
	f_u8(f, next);
	f_u8(f, 64);
	f_mem(f, src, 16);
	f_mem(f, dst, 16);
	f_fix_len(f, at + 4, at + 40, 0);
}

static inline void f_ipv6(struct frame *f, unsigned next)
{
	f_ipv6_addr(f, next, F_SRC6, F_DST6);
}

static inline void f_udp(struct frame *f, unsigned sport, unsigned dport)
{
	size_t at = f->len;
	f->l4 = at;
	f_u16(f, sport);
	f_u16(f, dport);
	f_u16(f, 0);
	f_u16(f, 0);
	f_fix_len(f, at + 4, at, 0);
}

enum { F_SPORT = 1025, F_DPORT = 25 };
#define F_SEQ 0xfffffff0u
#define F_ACK 0x80000001u

static inline void f_tcp(struct frame *f, uint8_t flags, unsigned optbytes)
{
	f->l4 = f->len;
	f_u16(f, F_SPORT);
	f_u16(f, F_DPORT);
	f_u32(f, F_SEQ);
	f_u32(f, F_ACK);
	f_u8(f, (20 + optbytes) / 4 << 4);
	f_u8(f, flags);
	f_u16(f, 0xffff);
	f_u32(f, 0);
	f_fill(f, 0x01, optbytes); /* NOPs */
}

static inline uint8_t f_payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline void f_payload(struct frame *f, size_t n)
{
	f->payload = f->len;
	f->wire = n;
	for (size_t i = 0; i < n; i++)
		f_u8(f, f_payload_byte(i));
}

/* Fills in the lengths, then the IPv4 checksums. */
static inline void f_done(struct frame *f)
{
	for (int i = 0; i < f->nfix; i++)
		if (!f->fix[i].sum)
			f_set16(f, f->fix[i].at, (unsigned)(f->len - f->fix[i].from -
							     (size_t)f->fix[i].minus));
	for (int i = f->nfix - 1; i >= 0; i--) {
		if (!f->fix[i].sum)
			continue;
		const uint8_t *h = f->b + f->fix[i].from;
		size_t ihl = (size_t)(h[0] & 15) * 4;
		uint32_t sum = 0;
		f_set16(f, f->fix[i].at, 0);
		for (size_t k = 0; k < ihl; k += 2)
			sum += (uint32_t)(h[k] << 8 | h[k + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		f_set16(f, f->fix[i].at, ~sum & 0xffff);
	}
}

/* ---- the guard page --------------------------------------------------------- */

static uint8_t *f_guard_base;
static size_t f_guard_room;

/* Copies n bytes so that they end where an unreadable page starts. */
static inline const uint8_t *f_guarded(const uint8_t *p, size_t n)
{
	if (!f_guard_base) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		f_guard_room = (FRAME_MAX + page - 1) / page * page;
		f_guard_base = mmap(NULL, f_guard_room + page, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (f_guard_base == MAP_FAILED ||
		    mprotect(f_guard_base + f_guard_room, page, PROT_NONE) != 0) {
			perror("mmap");
			exit(2);
		}
	}
	uint8_t *dst = f_guard_base + f_guard_room - n;
	memmove(dst, p, n);
	return dst;
}

#endif
