/* DNS messages for the unit tests of dns.c and pdns.c: written byte by
 * byte (bytes.h), built by ldns from presentation-format records, or
 * recorded from nsd and unbound (dns_vectors.h, see dns_record.sh). */
#ifndef SMTPTLS_TEST_DNS_BUILD_H
#define SMTPTLS_TEST_DNS_BUILD_H

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../dissect/dns.h"
#include "../../dissect/pdns.h"
#include "bytes.h"

struct dns_vector {
	const char *name;
	double ts;
	const char *src, *dst;
	int tcp;
	const char *hex;
};

#include "dns_vectors.h"

#define NVEC (sizeof dns_vectors / sizeof dns_vectors[0])

/* ---- byte by byte -------------------------------------------------------------- */

enum { F_QR = 0x8000, F_AA = 0x0400, F_TC = 0x0200, F_RD = 0x0100, F_RA = 0x0080,
       F_AD = 0x0020 };

static inline void w_header(struct buf *b, unsigned id, unsigned flags, unsigned qd, unsigned an,
			    unsigned ns, unsigned ar)
{
	b_u16(b, id);
	b_u16(b, flags);
	b_u16(b, qd);
	b_u16(b, an);
	b_u16(b, ns);
	b_u16(b, ar);
}

/* A dotted name as labels ("" is the root). */
static inline void w_name(struct buf *b, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		b_u8(b, (unsigned)n);
		b_mem(b, name, n);
		name += n + (dot ? 1 : 0);
	}
	b_u8(b, 0);
}

static inline void w_question(struct buf *b, const char *name, unsigned type)
{
	w_name(b, name);
	b_u16(b, type);
	b_u16(b, 1);
}

/* An RR's head; the rdata follows, then b_close(). */
static inline void w_rr(struct buf *b, const char *name, unsigned type, unsigned ttl)
{
	w_name(b, name);
	b_u16(b, type);
	b_u16(b, 1);
	b_u16(b, ttl >> 16);
	b_u16(b, ttl & 0xffff);
	b_open(b, 2);
}

static inline void w_txt(struct buf *b, const char *name, unsigned ttl, const char *s)
{
	w_rr(b, name, DNS_TYPE_TXT, ttl);
	b_u8(b, (unsigned)strlen(s));
	b_str(b, s);
	b_close(b);
}

static inline void w_a(struct buf *b, const char *name, unsigned ttl, const char *dotted)
{
	uint8_t a[4];
	inet_pton(AF_INET, dotted, a);
	w_rr(b, name, DNS_TYPE_A, ttl);
	b_mem(b, a, 4);
	b_close(b);
}

static inline void w_cname(struct buf *b, const char *name, unsigned ttl, const char *target)
{
	w_rr(b, name, DNS_TYPE_CNAME, ttl);
	w_name(b, target);
	b_close(b);
}

static inline void w_soa(struct buf *b, const char *zone, unsigned ttl, unsigned minimum)
{
	w_rr(b, zone, 6, ttl);
	w_name(b, "ns1");
	w_name(b, "host");
	for (int i = 0; i < 4; i++)
		b_u16(b, 0), b_u16(b, 100);
	b_u16(b, minimum >> 16);
	b_u16(b, minimum & 0xffff);
	b_close(b);
}

/* ---- built by ldns ------------------------------------------------------------------ */

struct msgspec {
	const char *qname;
	ldns_rr_type qtype;
	int response, rcode, ra, ad, tc;
	const char *answer[48];    /* presentation format, NULL-terminated */
	const char *authority[4];
};

/* Wire format of the message into out (cap bytes); its length, 0 on error. */
static inline size_t ldns_build(const struct msgspec *s, uint8_t *out, size_t cap)
{
	ldns_pkt *pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(s->qname), s->qtype,
					   LDNS_RR_CLASS_IN, LDNS_RD);
	uint8_t *wire = NULL;
	size_t n = 0;
	if (!pkt)
		return 0;
	ldns_pkt_set_id(pkt, 0x4242);
	ldns_pkt_set_qr(pkt, s->response);
	ldns_pkt_set_ra(pkt, s->ra);
	ldns_pkt_set_ad(pkt, s->ad);
	ldns_pkt_set_tc(pkt, s->tc);
	ldns_pkt_set_rcode(pkt, (uint8_t)s->rcode);
	for (int sec = 0; sec < 2; sec++) {
		const char *const *rrs = sec ? s->authority : s->answer;
		for (size_t i = 0; rrs[i]; i++) {
			ldns_rr *rr = NULL;
			if (ldns_rr_new_frm_str(&rr, rrs[i], 3600, NULL, NULL) != LDNS_STATUS_OK) {
				fprintf(stderr, "ldns_build: cannot read \"%s\"\n", rrs[i]);
				abort();
			}
			ldns_pkt_push_rr(pkt, sec ? LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER, rr);
		}
	}
	if (ldns_pkt2wire(&wire, pkt, &n) == LDNS_STATUS_OK && n <= cap)
		memcpy(out, wire, n);
	else
		n = 0;
	free(wire);
	ldns_pkt_free(pkt);
	return n;
}

/* ---- addresses and the guard page ------------------------------------------------------ */

static inline struct pdns_addr addr(const char *text)
{
	struct pdns_addr a;
	memset(&a, 0, sizeof a);
	if (inet_pton(AF_INET, text, a.a) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, text, a.a) == 1)
		a.family = 6;
	return a;
}

static uint8_t *guard_page; /* a readable page followed by an unreadable one */
static size_t guard_size;

/* p[0..n) copied flush against the unreadable page: a one-byte over-read
 * faults (with or without ASan). n at most one page. */
static inline const uint8_t *guarded(const uint8_t *p, size_t n)
{
	if (!guard_page) {
		guard_size = (size_t)sysconf(_SC_PAGESIZE);
		while (guard_size < DNS_MSG_MAX + 1)
			guard_size *= 2;
		guard_page = mmap(NULL, 2 * guard_size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guard_page == MAP_FAILED ||
		    mprotect(guard_page + guard_size, guard_size, PROT_NONE) != 0) {
			perror("mmap");
			exit(1);
		}
	}
	memcpy(guard_page + guard_size - n, p, n);
	return guard_page + guard_size - n;
}

#endif
