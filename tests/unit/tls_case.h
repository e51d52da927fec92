/* The harness of the dissect/tls.c unit tests (test_tls.c, test_tls_records.c,
 * test_tls_proof.c, test_tls_depth.c), header-only: each program includes it
 * once, and its functions are static inline, as each uses a part of them.
 *
 * Synthetic records are built with a small writer (bytes.h and the builders
 * below); real ones are in tls_vectors.h. Each case is a list of steps
 * (client or server bytes, or a gap); the facts afterwards are written as
 * one line (only fields that differ from their initial value) and compared
 * with the expected line. Every case is replayed with each step cut in two
 * at every byte and with every step fed one byte at a time; each replay must
 * give the same line. Every piece is copied to a buffer of exactly its size,
 * so a read past len is an ASan error. */
#ifndef SMTPTLS_TLS_CASE_H
#define SMTPTLS_TLS_CASE_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/record.h"
#include "../../common/registry.h"
#include "../../dissect/tls.h"
#include "bytes.h"
#include "check.h"
#include "split_feed.h"
#include "tls_vectors.h"

/* ---- synthetic records (the byte writer is bytes.h) ----------------------- */

static inline void b_record(struct buf *b, unsigned type)
{
	b_u8(b, type);
	b_u16(b, 0x0303);
	b_open(b, 2);
}

/* Record and handshake header, legacy version, random. */
static inline void hello_begin(struct buf *b, unsigned type, unsigned legacy, const uint8_t *random)
{
	b_record(b, 22);
	b_u8(b, type);
	b_open(b, 3);
	b_u16(b, legacy);
	if (random)
		b_mem(b, random, 32);
	else
		b_fill(b, type == 1 ? 0x11 : 0x22, 32);
}

/* A ClientHello up to its extensions block (left open). */
static inline void ch_begin(struct buf *b, unsigned legacy, unsigned sid_fill, size_t sid_len)
{
	hello_begin(b, 1, legacy, NULL);
	b_u8(b, (unsigned)sid_len);
	b_fill(b, sid_fill, sid_len);
	b_hex(b, "0006" "1301" "c02f" "0035" "0100");
	b_open(b, 2);
}

/* A ServerHello up to its extensions block (left open). */
static inline void sh_begin(struct buf *b, unsigned legacy, const uint8_t *random, unsigned sid_fill,
		     size_t sid_len, unsigned cipher)
{
	hello_begin(b, 2, legacy, random);
	b_u8(b, (unsigned)sid_len);
	b_fill(b, sid_fill, sid_len);
	b_u16(b, cipher);
	b_u8(b, 0);
	b_open(b, 2);
}

static inline void ext_begin(struct buf *b, unsigned type)
{
	b_u16(b, type);
	b_open(b, 2);
}

static inline void ext_sni(struct buf *b, const char *name)
{
	ext_begin(b, 0);
	b_open(b, 2);
	b_u8(b, 0);
	b_open(b, 2);
	b_str(b, name);
	b_close(b);
	b_close(b);
	b_close(b);
}

/* ALPN: names separated by '|' in one string. */
static inline void ext_alpn(struct buf *b, const char *names)
{
	ext_begin(b, 16);
	b_open(b, 2);
	while (*names) {
		size_t l = strcspn(names, "|");
		b_u8(b, (unsigned)l);
		b_mem(b, names, l);
		names += l + (names[l] == '|');
	}
	b_close(b);
	b_close(b);
}

static inline void ext_u16(struct buf *b, unsigned type, unsigned v)
{
	ext_begin(b, type);
	b_u16(b, v);
	b_close(b);
}

static inline void ext_empty(struct buf *b, unsigned type)
{
	ext_begin(b, type);
	b_close(b);
}

/* ServerHello key_share: group and a 32-byte key. */
static inline void ext_key_share(struct buf *b, unsigned group)
{
	ext_begin(b, 51);
	b_u16(b, group);
	b_u16(b, 32);
	b_fill(b, 0x33, 32);
	b_close(b);
}

static inline void handshake_msg(struct buf *b, unsigned type, size_t len, unsigned fill)
{
	b_u8(b, type);
	b_u8(b, (unsigned)(len >> 16));
	b_u16(b, (unsigned)(len & 0xffff));
	b_fill(b, fill, len);
}

static inline void record_raw(struct buf *b, unsigned type, size_t len, unsigned fill)
{
	b_u8(b, type);
	b_u16(b, 0x0303);
	b_u16(b, (unsigned)len);
	b_fill(b, fill, len);
}

/* ---- cases: steps and a runner -------------------------------------------- */

#define MAX_STEPS 24

static struct tcase {
	const char *name;
	struct split_step st[MAX_STEPS];
	size_t n;
	uint8_t arena[262144];
	size_t used;
} tc;

static inline void tc_begin(const char *name)
{
	tc.name = name;
	tc.n = 0;
	tc.used = 0;
}

static inline void tc_bytes(int dir, const uint8_t *p, size_t n)
{
	struct split_step st = {dir, tc.arena + tc.used, n, 0};
	memcpy(tc.arena + tc.used, p, n);
	tc.used += n;
	tc.st[tc.n++] = st;
}

static inline void tc_hex(int dir, const char *hex)
{
	struct buf *b = calloc(1, sizeof *b);
	b_hex(b, hex);
	tc_bytes(dir, b->b, b->n);
	free(b);
}

static inline void tc_buf(int dir, struct buf *b)
{
	b_close_all(b);
	tc_bytes(dir, b->b, b->n);
	b->n = 0;
}

static inline void tc_gap(int dir, uint64_t n)
{
	struct split_step st = {dir, NULL, 0, n};
	tc.st[tc.n++] = st;
}

/* Set by the cases of the TLS depth facts (offers, fingerprints, key
 * exchange, certificate, alert sender): describe_facts() adds them. */
static int depth;

static inline void describe_depth(const struct tls_facts *f, char *out, size_t cap)
{
	const struct rec_cert *c = f->cert ? &f->cert->rec : NULL;
	if (f->client_hellos)
		check_describe(out, cap, "offer=%u/weak%d/strong%d/fs%d", f->client_suites, f->offered_weak,
		    f->offered_strong, f->offered_fs);
	if (f->ja3[0])
		check_describe(out, cap, "ja3=%s", f->ja3);
	if (f->ja4[0])
		check_describe(out, cap, "ja4=%s", f->ja4);
	if (f->ja3s[0])
		check_describe(out, cap, "ja3s=%s", f->ja3s);
	if (f->dh_bits != -1)
		check_describe(out, cap, "dh=%d", f->dh_bits);
	if (f->alert_dir != -1)
		check_describe(out, cap, "alert_from=%d", f->alert_dir);
	if (c && c->present)
		check_describe(out, cap, "cert=%s|%s|%s|%s|%s/%d|%s|self%d|%lld-%lld|%.8s", c->subject_cn, c->sans,
		    c->issuer_cn, c->issuer_org, c->key_type, c->key_bits, c->sig_alg, c->self_signed,
		    (long long)c->not_before, (long long)c->not_after, c->sha256);
}

static inline void describe_facts(const struct tls_facts *f, char *out, size_t cap)
{
	out[0] = '\0';
	if (f->client_hellos)
		check_describe(out, cap, "ch=%d", f->client_hellos);
	if (f->client_version != -1)
		check_describe(out, cap, "cv=0x%04x", f->client_version);
	if (f->client_version_max != -1)
		check_describe(out, cap, "cvmax=0x%04x", f->client_version_max);
	if (f->sslv2_hello)
		check_describe(out, cap, "sslv2=%d", f->sslv2_hello);
	if (f->suites_offered)
		check_describe(out, cap, "suites=%u", f->suites_offered);
	if (f->sni[0])
		check_describe(out, cap, "sni=%s", f->sni);
	if (f->alpn_offered[0])
		check_describe(out, cap, "alpn_offered=%s", f->alpn_offered);
	if (f->server_hello)
		check_describe(out, cap, "sh=%d", f->server_hello);
	if (f->version != -1)
		check_describe(out, cap, "v=0x%04x", f->version);
	if (f->cipher != -1)
		check_describe(out, cap, "cipher=0x%04x", f->cipher);
	if (f->alpn[0])
		check_describe(out, cap, "alpn=%s", f->alpn);
	if (f->hello_retry)
		check_describe(out, cap, "hrr=%d", f->hello_retry);
	if (f->resumed)
		check_describe(out, cap, "resumed=%d", f->resumed);
	if (f->key_share_group != -1)
		check_describe(out, cap, "group=%d", f->key_share_group);
	if (f->established)
		check_describe(out, cap, "established=%d", f->established);
	if (f->ch_seen && !f->client_hellos)
		check_describe(out, cap, "ch_cut=1");
	if (f->sh_seen && !f->server_hello && !f->hello_retry)
		check_describe(out, cap, "sh_cut=1");
	if (f->client_fin)
		check_describe(out, cap, "cfin=1");
	if (f->gap[0] || f->gap[1])
		check_describe(out, cap, "gap=%d/%d", f->gap[0], f->gap[1]);
	if (f->alert != -1)
		check_describe(out, cap, "alert=0x%04x", f->alert);
	check_describe(out, cap, "rec=%llu/%llu", (unsigned long long)f->records[0],
	    (unsigned long long)f->records[1]);
	for (unsigned i = 0; i < 32; i++)
		if (f->anomalies & (1u << i))
			check_describe(out, cap, "anom=%s", anomaly_name(1u << i) ? anomaly_name(1u << i) : "?");
	if (depth)
		describe_depth(f, out, cap);
}

struct run {
	struct tls *t;
	uint64_t pos[2];
	int64_t done[2]; /* stream offset where FEED_DONE came, -1 none */
	unsigned contract;
};

static inline void *run_start(void *arg)
{
	struct run *r = calloc(1, sizeof *r);
	(void)arg;
	if (!r)
		abort();
	r->t = tls_new();
	r->done[0] = r->done[1] = -1;
	return r;
}

static inline void run_data(void *run, int dir, const uint8_t *p, size_t n)
{
	struct run *r = run;
	if (r->done[dir] >= 0)
		return; /* the caller stops delivering */
	struct feed_result res = tls_feed(r->t, dir, p, n);
	if (res.consumed > n || res.status == FEED_HANDOFF ||
	    (res.status == FEED_MORE && res.consumed != n))
		r->contract++;
	r->pos[dir] += res.consumed;
	if (res.status == FEED_DONE)
		r->done[dir] = (int64_t)r->pos[dir];
}

static inline void run_gap(void *run, int dir, uint64_t n)
{
	struct run *r = run;
	tls_gap(r->t, dir, n);
	r->pos[dir] += n;
}

static inline unsigned run_finish(void *run, char *out, size_t cap)
{
	struct run *r = run;
	unsigned contract = r->contract;
	describe_facts(tls_facts(r->t), out, cap);
	if (r->done[0] >= 0 || r->done[1] >= 0)
		check_describe(out, cap, "done=C@%lld,S@%lld", (long long)r->done[0],
			       (long long)r->done[1]);
	tls_free(r->t);
	free(r);
	return contract;
}

static const struct split_ops tls_ops = {run_start, run_data, run_gap, run_finish};

/* The case whole, cut at every byte and byte by byte (split_feed.h). */
static inline void tc_check(const char *want)
{
	split_feed_check(&tls_ops, NULL, tc.st, tc.n, want, tc.name);
}

/* ---- server flights, shared by several programs --------------------------- */

#define CCS "140303000101"

/* Server records of a TLS 1.2 full handshake after the ServerHello. */
static inline void server_full_flight(struct buf *b)
{
	b_record(b, 22);
	handshake_msg(b, 11, 3, 0x00);   /* Certificate: an empty list */
	handshake_msg(b, 12, 100, 0x31); /* ServerKeyExchange: not a named curve */
	handshake_msg(b, 14, 0, 0);      /* ServerHelloDone */
	tc_buf(1, b);
}

/* A TLS 1.3 ServerHello: suite, key share x25519, pre_shared_key if psk. */
static inline void sh13_build(struct buf *b, unsigned cipher, int psk)
{
	sh_begin(b, 0x0303, NULL, 0x44, 32, cipher);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x001d);
	if (psk)
		ext_u16(b, 41, 0);
	b_close_all(b);
}

static inline void sh13(struct buf *b, unsigned cipher, int psk)
{
	sh13_build(b, cipher, psk);
	tc_buf(1, b);
}

/* The server's TLS 1.3 flight after its ServerHello, as Postfix sends it
 * (tests/data/starttls-tls13.pcap: CCS, EncryptedExtensions, Certificate,
 * CertificateVerify, Finished of 0x1302), first_len for the first. */
static inline void server_flight13(struct buf *b, size_t first_len)
{
	b_hex(b, CCS);
	record_raw(b, 23, first_len, 0x95);
	record_raw(b, 23, 887, 0x96);
	record_raw(b, 23, 281, 0x97);
	record_raw(b, 23, 69, 0x98);
	tc_buf(1, b);
}

#endif
