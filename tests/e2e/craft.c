/* Writes a hostile capture for the abuse test, with honest sessions from a
 * recorded capture spread through it:
 *   - a SYN flood: N SYNs from distinct addresses and ports to port 25;
 *   - an SMTP client sending one endless line (no CRLF), 8 MiB long;
 *   - a client whose ClientHello record claims a 16 MiB handshake message;
 *   - overlapping segments that disagree (the first copy must win);
 *   - a client sending far out of order beyond the reassembly caps.
 * usage: craft OUT.pcap HONEST.pcap SYNS
 * The honest capture must be Ethernet; its packets keep their addresses
 * and are spaced evenly through the flood. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pcap_dumper_t *out;
static double now = 1767225600.0;
static uint8_t frame[70000];

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16), put16(p + 2, v & 0xffff);
}

static void write_frame(size_t len)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)now;
	h.ts.tv_usec = (suseconds_t)((now - (double)h.ts.tv_sec) * 1e6);
	h.caplen = h.len = (bpf_u_int32)len;
	pcap_dump((u_char *)out, &h, frame);
	now += 0.00001;
}

/* An Ethernet/IPv4/TCP frame from src to dst. */
static void tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq,
		uint32_t ack, uint8_t flags, const void *data, size_t len)
{
	uint8_t *ip = frame + 14, *t = ip + 20;
	memset(frame, 0, 54);
	frame[12] = 0x08;
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(40 + len));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 0x50;
	t[13] = flags;
	put16(t + 14, 65535);
	if (len)
		memcpy(t + 20, data, len);
	write_frame(54 + len);
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

/* A client/server pair with an open connection; returns nothing, moves
 * seq numbers on as data is sent. */
struct conn {
	uint32_t c, s;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
};

static void open_conn(struct conn *k, uint32_t c, uint32_t s, uint16_t cport, uint16_t sport)
{
	*k = (struct conn){c, s, cport, sport, 1000, 5000};
	tcp(c, cport, s, sport, k->cseq++, 0, SYN, NULL, 0);
	tcp(s, sport, c, cport, k->sseq++, k->cseq, SYN | ACK, NULL, 0);
	tcp(c, cport, s, sport, k->cseq, k->sseq, ACK, NULL, 0);
}

static void client_send(struct conn *k, const void *p, size_t n)
{
	tcp(k->c, k->cport, k->s, k->sport, k->cseq, k->sseq, PSH | ACK, p, n);
	k->cseq += (uint32_t)n;
}

static void server_send(struct conn *k, const char *p)
{
	size_t n = strlen(p);
	tcp(k->s, k->sport, k->c, k->cport, k->sseq, k->cseq, PSH | ACK, p, n);
	k->sseq += (uint32_t)n;
}

static void close_conn(struct conn *k)
{
	tcp(k->c, k->cport, k->s, k->sport, k->cseq, k->sseq, RST | ACK, NULL, 0);
}

/* ---- the attacks ------------------------------------------------------------ */

static void endless_line(void)
{
	struct conn k;
	static char chunk[8192];
	memset(chunk, 'A', sizeof chunk);
	open_conn(&k, 0x0a630001, 0x0a640001, 40001, 25);
	server_send(&k, "220 victim.example ESMTP\r\n");
	client_send(&k, "EHLO x\r\n", 8);
	server_send(&k, "250 victim.example\r\n");
	for (int i = 0; i < 1024; i++) /* 8 MiB on one line */
		client_send(&k, chunk, sizeof chunk);
	close_conn(&k);
}

static void huge_hello(void)
{
	struct conn k;
	/* a record of 16384 bytes starting a ClientHello of 16 MiB - 1 */
	static uint8_t rec[5 + 16384];
	open_conn(&k, 0x0a630002, 0x0a640002, 40002, 465);
	rec[0] = 22, rec[1] = 3, rec[2] = 1, rec[3] = 0x40, rec[4] = 0;
	rec[5] = 1, rec[6] = 0xff, rec[7] = 0xff, rec[8] = 0xff;
	for (int i = 0; i < 64; i++) { /* 1 MiB of it */
		client_send(&k, rec, sizeof rec);
		rec[0] = 22, rec[5] = 0xee; /* later records continue the message */
	}
	close_conn(&k);
}

static void disagreeing_overlaps(void)
{
	struct conn k;
	open_conn(&k, 0x0a630003, 0x0a640003, 40003, 25);
	server_send(&k, "220 overlap.example ESMTP\r\n");
	/* "EHLO a.example\r\n": its tail held out of order, then a copy of the
	 * same bytes that disagrees, then the head */
	tcp(k.c, k.cport, k.s, k.sport, k.cseq + 5, k.sseq, PSH | ACK, "a.example\r\n", 11);
	tcp(k.c, k.cport, k.s, k.sport, k.cseq + 5, k.sseq, PSH | ACK, "b.evil.ex\r\n", 11);
	client_send(&k, "EHLO ", 5);
	k.cseq += 11;
	close_conn(&k);
}

static void out_of_order_flood(void)
{
	struct conn k;
	static uint8_t data[60000];
	memset(data, 'x', sizeof data);
	open_conn(&k, 0x0a630004, 0x0a640004, 40004, 25);
	/* a hole at the start, then 20 MB after it: beyond every reassembly cap */
	for (uint32_t off = 1000; off < 20u << 20; off += sizeof data)
		tcp(k.c, k.cport, k.s, k.sport, k.cseq + off, k.sseq, ACK, data, sizeof data);
	close_conn(&k);
}

/* ---- honest traffic and the flood -------------------------------------------- */

struct honest {
	struct pcap_pkthdr *h;
	uint8_t **data;
	size_t n;
};

static void load_honest(const char *path, struct honest *hs)
{
	char eb[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(path, eb);
	size_t cap = 0;
	if (!p) {
		fprintf(stderr, "craft: %s\n", eb);
		exit(1);
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (hs->n == cap) {
			cap = cap ? 2 * cap : 256;
			hs->h = realloc(hs->h, cap * sizeof *hs->h);
			hs->data = realloc(hs->data, cap * sizeof *hs->data);
		}
		hs->h[hs->n] = *h;
		hs->data[hs->n] = malloc(h->caplen);
		memcpy(hs->data[hs->n++], d, h->caplen);
	}
	pcap_close(p);
}

static void honest_packet(const struct honest *hs, size_t i)
{
	memcpy(frame, hs->data[i], hs->h[i].caplen);
	write_frame(hs->h[i].caplen);
}

int main(int argc, char **argv)
{
	struct honest hs = {0};
	if (argc != 4) {
		fprintf(stderr, "usage: craft OUT.pcap HONEST.pcap SYNS\n");
		return 2;
	}
	long syns = atol(argv[3]);
	load_honest(argv[2], &hs);
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	out = pcap_dump_open(dead, argv[1]);
	if (!out || syns <= 0 || hs.n == 0) {
		fprintf(stderr, "craft: cannot write %s\n", argv[1]);
		return 1;
	}
	endless_line();
	huge_hello();
	disagreeing_overlaps();
	out_of_order_flood();
	size_t next = 0;
	long every = syns / (long)hs.n + 1;
	for (long i = 0; i < syns; i++) {
		uint32_t src = 0x0b000000u + (uint32_t)i; /* 11.x.y.z */
		tcp(src, (uint16_t)(1024 + i % 60000), 0x0a640005, 25, (uint32_t)i, 0, SYN, NULL, 0);
		if (i % every == 0 && next < hs.n)
			honest_packet(&hs, next++);
	}
	while (next < hs.n)
		honest_packet(&hs, next++);
	pcap_dump_close(out);
	pcap_close(dead);
	printf("%ld syns, %zu honest packets\n", syns, hs.n);
	for (size_t i = 0; i < hs.n; i++)
		free(hs.data[i]);
	free(hs.data);
	free(hs.h);
	return 0;
}
