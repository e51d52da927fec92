/* Writes fuzz seeds from a capture, for the targets whose input is not a
 * capture itself (scripts/fuzz.sh runs it over tests/data):
 *   seeds CAPTURE KIND=DIR...
 * KIND, and what DIR gets, a file per seed named by its content's hash:
 *   session  a connection on an SMTP port (25, 465, 587): its port kind
 *            byte, then its reassembled bytes in the chunks of chunks.h
 *   smtp     the same chunks, without the port kind byte
 *   tls      the chunks of each direction from its first TLS record on
 *   x509     each certificate (DER) and each hello body of the clear TLS
 *            handshakes
 *   dns      the DNS messages on port 53 (UDP, and TCP streams), in the
 *            records of fuzz_dns.c, a file per capture (or per 16 KiB)
 *   decode   the capture's frames in the format of frames.h (fuzz_decode):
 *            the first 64 KiB of them, a file per capture
 * The same seed from two captures is one file, and seeding again adds
 * only what is missing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "../capture/flow.h"
#include "../capture/source.h"
#include "frames.h"

#define SEED_MAX 16384       /* the stream targets' -max_len */
#define TLS_KEEP 65536       /* clear TLS bytes kept per direction */
#define DNS_PORT 53

enum kind { K_SESSION, K_SMTP, K_TLS, K_X509, K_DNS, K_DECODE, K_COUNT };
static const char *const kind_names[K_COUNT] = {"session", "smtp", "tls", "x509", "dns",
						"decode"};
static const char *out_dir[K_COUNT]; /* NULL: not asked for */

/* ---- writing --------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	if (n == 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* FNV-1a, 64 bits: the seed's file name. */
static uint64_t content_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* DIR/seed-HASH, unless it exists ("x": C11's exclusive create). */
static void emit(enum kind k, const uint8_t *p, size_t len)
{
	char path[4096];
	if (!out_dir[k] || len == 0)
		return;
	snprintf(path, sizeof path, "%s/seed-%016llx", out_dir[k],
		 (unsigned long long)content_hash(p, len));
	FILE *f = fopen(path, "wbx");
	if (!f)
		return;
	fwrite(p, 1, len, f);
	fclose(f);
}

/* ---- a connection ------------------------------------------------------------ */

struct seed {
	int dns;          /* a TCP connection on port 53 */
	int client;       /* fuzz_dns.c's client number */
	uint8_t first;    /* the session target's first byte */
	struct buf chunks;
	int tls[2];       /* the direction's TLS has begun */
	struct buf clear[2]; /* its bytes from there, for x509 */
};

static int looks_like_tls(const uint8_t *p, size_t len)
{
	return (len >= 2 && p[0] == 0x16 && p[1] == 3) || /* a handshake record */
	       (len >= 3 && (p[0] & 0x80) && p[2] == 1);   /* an SSLv2 ClientHello */
}

static void put_chunks(struct buf *b, int ctl, const uint8_t *p, size_t len)
{
	while (len > 0 && b->len + 2 < b->cap) {
		size_t n = len > 256 ? 256 : len;
		uint8_t hdr[2] = {(uint8_t)ctl, (uint8_t)(n - 1)};
		buf_add(b, hdr, 2);
		if (p) {
			buf_add(b, p, n);
			p += n;
		}
		len -= n;
	}
}

static int follow_port(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == 25 || port == 465 || port == 587 || port == DNS_PORT;
}

static void *seed_open(void *ctx, const struct flow_info *fi)
{
	struct seed *s = calloc(1, sizeof *s);
	(void)ctx;
	if (!s)
		return NULL;
	s->dns = fi->server_port == DNS_PORT;
	s->client = fi->client[fi->family == 4 ? 3 : 15] & 3;
	s->first = (uint8_t)((fi->server_port == 465) | (fi->midstream << 1));
	s->chunks.cap = SEED_MAX;
	s->chunks.p = malloc(SEED_MAX);
	for (int d = 0; d < 2; d++) {
		s->clear[d].cap = TLS_KEEP;
		s->clear[d].p = malloc(TLS_KEEP);
	}
	return s;
}

static void seed_data(void *user, int dir, const uint8_t *p, size_t len)
{
	struct seed *s = user;
	if (!s || !s->chunks.p || !s->clear[0].p || !s->clear[1].p)
		return;
	if (s->dns) { /* fuzz_dns.c's record: ctl (direction, TCP), length, bytes */
		size_t n = len > 0xffff ? 0xffff : len;
		uint8_t hdr[3] = {(uint8_t)(dir | 2 | s->client << 3), (uint8_t)(n >> 8), (uint8_t)n};
		buf_add(&s->chunks, hdr, 3);
		buf_add(&s->chunks, p, n);
		return;
	}
	put_chunks(&s->chunks, dir, p, len);
	if (!s->tls[dir] && looks_like_tls(p, len))
		s->tls[dir] = 1;
	if (s->tls[dir])
		buf_add(&s->clear[dir], p, len);
}

static void seed_gap(void *user, int dir, uint64_t len)
{
	struct seed *s = user;
	if (s && s->chunks.p && !s->dns)
		put_chunks(&s->chunks, dir | 6, NULL, len > 256 ? 256 : (size_t)len);
}

/* The chunks of each direction from its first TLS record on. */
static void emit_tls(const struct buf *chunks)
{
	struct buf out = {malloc(chunks->len + 1), 0, chunks->len};
	int started[2] = {0, 0};
	for (size_t i = 0; out.p && i + 2 <= chunks->len;) {
		int ctl = chunks->p[i], gap = ((ctl >> 1) & 3) == 3, dir = ctl & 1;
		size_t n = (size_t)chunks->p[i + 1] + 1, have = gap ? 0 : n;
		if (have > chunks->len - i - 2)
			have = chunks->len - i - 2;
		if (!gap && !started[dir])
			started[dir] = looks_like_tls(chunks->p + i + 2, have);
		if (started[dir])
			buf_add(&out, chunks->p + i, 2 + have);
		i += 2 + have;
	}
	emit(K_TLS, out.p, out.len);
	free(out.p);
}

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* A Certificate message's list (TLS <= 1.2): each DER. */
static void emit_certs(const uint8_t *p, size_t len)
{
	if (len < 3 || be24(p) > len - 3)
		return;
	len = be24(p) + 3;
	for (size_t i = 3; i + 3 <= len && be24(p + i) <= len - i - 3; i += 3 + be24(p + i))
		emit(K_X509, p + i + 3, be24(p + i));
}

/* The handshake messages of one direction's clear records: hellos and
 * certificates, until the first record that is not a handshake. */
static void emit_handshakes(const struct buf *clear)
{
	struct buf hs = {malloc(clear->len + 1), 0, clear->len};
	for (size_t i = 0; hs.p && i + 5 <= clear->len;) {
		size_t n = (size_t)clear->p[i + 3] << 8 | clear->p[i + 4];
		if (clear->p[i] != 0x16 || n > clear->len - i - 5)
			break;
		buf_add(&hs, clear->p + i + 5, n);
		i += 5 + n;
	}
	for (size_t i = 0; hs.p && i + 4 <= hs.len && be24(hs.p + i + 1) <= hs.len - i - 4;
	     i += 4 + be24(hs.p + i + 1)) {
		const uint8_t *body = hs.p + i + 4;
		if (hs.p[i] == 1 || hs.p[i] == 2)
			emit(K_X509, body, be24(hs.p + i + 1));
		else if (hs.p[i] == 11)
			emit_certs(body, be24(hs.p + i + 1));
	}
	free(hs.p);
}

static void seed_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct seed *s = user;
	(void)ctx, (void)fi, (void)why;
	if (!s)
		return;
	if (s->dns) {
		emit(K_DNS, s->chunks.p, s->chunks.len);
	} else if (s->chunks.p && s->chunks.len > 0) {
		uint8_t *with_first = malloc(s->chunks.len + 1);
		if (with_first) {
			with_first[0] = s->first;
			memcpy(with_first + 1, s->chunks.p, s->chunks.len);
			emit(K_SESSION, with_first, s->chunks.len + 1);
			free(with_first);
		}
		emit(K_SMTP, s->chunks.p, s->chunks.len);
		emit_tls(&s->chunks);
		emit_handshakes(&s->clear[0]);
		emit_handshakes(&s->clear[1]);
	}
	free(s->chunks.p);
	free(s->clear[0].p);
	free(s->clear[1].p);
	free(s);
}

/* ---- DNS over UDP -------------------------------------------------------------- */

static struct buf udp_dns;

static void flush_udp_dns(void)
{
	emit(K_DNS, udp_dns.p, udp_dns.len);
	udp_dns.len = 0;
}

/* An Ethernet frame (a VLAN tag allowed) with IPv4 or IPv6 and UDP on
 * port 53: its payload as a record of fuzz_dns.c. */
static void udp_frame(const uint8_t *p, size_t len)
{
	size_t off = 12, l4;
	int type = len >= 14 ? p[12] << 8 | p[13] : 0;
	if (type == 0x8100 && len >= 18)
		off = 16, type = p[16] << 8 | p[17];
	off += 2;
	if (type == 0x0800 && len >= off + 20 && p[off + 9] == 17 && !(p[off + 6] & 0x3f) &&
	    !p[off + 7])
		l4 = off + (size_t)(p[off] & 15) * 4;
	else if (type == 0x86dd && len >= off + 40 && p[off + 6] == 17)
		l4 = off + 40;
	else
		return;
	if (len < l4 + 8)
		return;
	int sport = p[l4] << 8 | p[l4 + 1], dport = p[l4 + 2] << 8 | p[l4 + 3];
	if (sport != DNS_PORT && dport != DNS_PORT)
		return;
	size_t n = len - l4 - 8;
	uint8_t hdr[3] = {(uint8_t)(sport == DNS_PORT), (uint8_t)(n >> 8), (uint8_t)n};
	if (udp_dns.len + 3 + n > udp_dns.cap)
		flush_udp_dns();
	buf_add(&udp_dns, hdr, 3);
	buf_add(&udp_dns, p + l4 + 8, n);
}

/* ---- frames for the decoder ------------------------------------------------------- */

#define FRAMES_MAX 65536 /* fuzz_decode's -max_len */

static struct buf frames;    /* frames.h's format: the link's index, then frames */
static double frames_ts;     /* the time the steps so far reach */

/* Starts the frames of a capture of this link type; nothing when
 * fuzz_decode does not take it. */
static void frames_begin(int linktype)
{
	for (size_t i = 0; i < FUZZ_LINKS; i++) {
		if (fuzz_links[i] != linktype)
			continue;
		if ((frames.p = malloc(FRAMES_MAX)) != NULL) {
			uint8_t link = (uint8_t)i;
			frames.cap = FRAMES_MAX;
			buf_add(&frames, &link, 1);
		}
		return;
	}
}

static void frames_add(const struct frame *f)
{
	if (frames.len == 1)
		frames_ts = f->ts;
	double dt = f->ts - frames_ts;
	unsigned step = dt <= 0 ? 0 : dt / FUZZ_STEP > 254 ? 254 : (unsigned)(dt / FUZZ_STEP + 0.5);
	size_t len = f->caplen > 65535 ? 65535 : f->caplen;
	if (frames.len + len + 3 > frames.cap)
		return;
	uint8_t hdr[3] = {(uint8_t)(len >> 8), (uint8_t)len, (uint8_t)step};
	frames_ts += step * FUZZ_STEP;
	buf_add(&frames, hdr, 3);
	buf_add(&frames, f->data, len);
}

/* ---- the capture ------------------------------------------------------------------ */

static const struct link_decoder *link_dec;
static struct flow_table *table;
static int ethernet;

static void on_frames(void *ctx, const struct frame *f, size_t n)
{
	struct tcp_packet t;
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		if (frames.p)
			frames_add(&f[i]);
		int rc = decode_frame(link_dec, f[i].data, f[i].caplen, &t);
		if (rc == 0 && (follow_port(NULL, t.sport) || follow_port(NULL, t.dport)))
			flow_table_packet(table, &t, f[i].ts);
		else if (rc != 0 && ethernet && out_dir[K_DNS])
			udp_frame(f[i].data, f[i].caplen);
	}
}

static int parse_outputs(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		int k = 0;
		while (k < K_COUNT && (!eq || strncmp(argv[i], kind_names[k], (size_t)(eq - argv[i])) ||
				       kind_names[k][eq - argv[i]]))
			k++;
		if (k == K_COUNT) {
			fprintf(stderr, "seeds: '%s' is not KIND=DIR (session, smtp, tls, x509, dns,"
				" decode)\n",
				argv[i]);
			return -1;
		}
		out_dir[k] = eq + 1;
	}
	return argc > 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct flow_callbacks cb = {follow_port, seed_open, NULL, seed_data,
						 seed_gap, NULL, seed_close};
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	char err[512];
	struct source *src;
	if (argc < 3 || parse_outputs(argc, argv) < 0) {
		fprintf(stderr, "usage: seeds CAPTURE KIND=DIR... (KIND: session, smtp, tls, x509,"
				" dns, decode)\n");
		return 2;
	}
	struct source_opts so = {.file = argv[1]};
	if (source_open(&src, &so, err, sizeof err) < 0) {
		fprintf(stderr, "seeds: %s\n", err);
		return 1;
	}
	link_dec = decode_link(source_linktype(src));
	ethernet = source_linktype(src) == 1;
	if (out_dir[K_DECODE])
		frames_begin(source_linktype(src));
	udp_dns.p = malloc(SEED_MAX);
	udp_dns.cap = udp_dns.p ? SEED_MAX : 0;
	table = flow_table_new(&lim, &cb, NULL);
	int rc = source_run(src, on_frames, NULL, NULL, err, sizeof err);
	flow_table_free(table);
	source_close(src);
	if (udp_dns.p)
		flush_udp_dns();
	free(udp_dns.p);
	if (frames.p && frames.len > 1)
		emit(K_DECODE, frames.p, frames.len);
	free(frames.p);
	if (rc < 0) /* a damaged capture still seeds what came before */
		fprintf(stderr, "seeds: %s\n", err);
	return 0;
}
