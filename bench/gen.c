/* Builds a large capture from recorded sessions: every template file is
 * copied many times with distinct client and server addresses, the copies
 * interleaved in time so that many sessions are open at once.
 *
 * usage: gen -o OUT.pcap -n SESSIONS -c CONCURRENT [-s STRETCH] [-C CLIENTS]
 *            [-S SEED] [-R] TEMPLATE.pcap...
 *
 * A template is one recorded capture (Ethernet link type) that may hold
 * several connections; a copy keeps its packets, payloads and relative
 * timing (times STRETCH) and rewrites the addresses: the SYN sender becomes
 * client 10.a.b.c (or 2001:db8:c::k; with -C, one of CLIENTS addresses,
 * copy k taking client k % CLIENTS), the other side one of 4096 servers
 * 172.16.x.y (2001:db8:5::x). Copy k starts k * spacing after the first,
 * where spacing = mean template duration * STRETCH / CONCURRENT, so about
 * CONCURRENT copies overlap. With -R (round robin) the recorded timing is
 * not kept: CONCURRENT copies are open at any time and each, in turn,
 * sends its next packet (one every 10 microseconds), so every open session
 * sits mid-dialogue or mid-handshake; a copy that has sent its last packet
 * makes room for the next. Templates are used in turn. The IPv4 header
 * checksum is recomputed; TCP checksums are left as recorded (smtptls, like
 * most sniffers, does not check them). Prints, per template, how many
 * copies were written: bench/run.sh derives the expected rows from it. */
#define _POSIX_C_SOURCE 200809L
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tpkt {
	double t;          /* seconds from the template's first packet */
	uint32_t len, caplen;
	uint8_t *data;
};

struct template {
	const char *path;
	struct tpkt *pkts;
	size_t n;
	double duration;
	uint8_t client4[4], client6[16]; /* the SYN sender's addresses */
	int have4, have6;
	unsigned copies;
};

struct event {
	double t;
	uint32_t copy;     /* copy index k */
	uint16_t tmpl;
	uint32_t pkt;
};

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "gen: %s%s\n", msg, arg ? arg : "");
	exit(1);
}

/* Ethernet + optional VLAN tags: offset of the IP header, or -1. */
static int ip_offset(const uint8_t *p, uint32_t caplen, int *version)
{
	uint32_t off = 12;
	while (off + 2 <= caplen) {
		uint16_t type = (uint16_t)(p[off] << 8 | p[off + 1]);
		if (type == 0x8100 || type == 0x88a8) {
			off += 4;
			continue;
		}
		off += 2;
		if ((type == 0x0800 || type == 0x86dd) && off < caplen) {
			*version = p[off] >> 4;
			return (int)off;
		}
		return -1;
	}
	return -1;
}

/* Remembers the SYN sender's address of a template (the client). */
static void note_client(struct template *t, const uint8_t *p, uint32_t caplen)
{
	int v = 0, off = ip_offset(p, caplen, &v);
	if (off < 0)
		return;
	const uint8_t *ip = p + off;
	uint32_t hl = v == 4 ? (uint32_t)(ip[0] & 15) * 4 : 40;
	if ((uint32_t)off + hl + 14 > caplen)
		return;
	uint8_t flags = ip[hl + 13];
	if ((flags & 0x12) != 0x02)
		return; /* not a SYN without ACK */
	if (v == 4 && !t->have4) {
		memcpy(t->client4, ip + 12, 4);
		t->have4 = 1;
	} else if (v == 6 && !t->have6) {
		memcpy(t->client6, ip + 8, 16);
		t->have6 = 1;
	}
}

static void load(struct template *t, const char *path)
{
	char eb[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t cap = 0;
	double t0 = -1;
	pcap_t *pc = pcap_open_offline(path, eb);
	if (!pc)
		die("cannot read ", path);
	if (pcap_datalink(pc) != DLT_EN10MB)
		die("template is not Ethernet: ", path);
	t->path = path;
	while (pcap_next_ex(pc, &h, &d) == 1) {
		double ts = (double)h->ts.tv_sec + h->ts.tv_usec / 1e6;
		if (t0 < 0)
			t0 = ts;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 64;
			t->pkts = realloc(t->pkts, cap * sizeof *t->pkts);
			if (!t->pkts)
				die("out of memory", NULL);
		}
		struct tpkt *p = &t->pkts[t->n++];
		p->t = ts - t0;
		p->len = h->len;
		p->caplen = h->caplen;
		p->data = malloc(h->caplen);
		if (!p->data)
			die("out of memory", NULL);
		memcpy(p->data, d, h->caplen);
		note_client(t, d, h->caplen);
		t->duration = p->t;
	}
	pcap_close(pc);
	if (t->n == 0)
		die("empty template: ", path);
}

static void ipv4_checksum(uint8_t *ip)
{
	uint32_t sum = 0, hl = (uint32_t)(ip[0] & 15) * 4;
	ip[10] = ip[11] = 0;
	for (uint32_t i = 0; i + 1 < hl; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
}

/* Addresses of copy k: client 10.a.b.c, server 172.16.x.y (4096 servers). */
static void addr4(uint32_t k, int server, uint8_t out[4])
{
	uint32_t v = server ? (0xac100000u | ((k % 4096) + 1)) : (0x0a000000u | (k + 1));
	out[0] = (uint8_t)(v >> 24), out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8), out[3] = (uint8_t)v;
}

static void addr6(uint32_t k, int server, uint8_t out[16])
{
	static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
	uint32_t v = server ? (k % 4096) + 1 : k + 1;
	memcpy(out, base, 16);
	out[5] = server ? 5 : 0xc;
	out[12] = (uint8_t)(v >> 24), out[13] = (uint8_t)(v >> 16);
	out[14] = (uint8_t)(v >> 8), out[15] = (uint8_t)v;
}

/* Rewrites the addresses of one packet for copy k. */
static unsigned long clients; /* -C: client addresses to cycle through, 0: one per copy */

static void rewrite(const struct template *t, uint8_t *p, uint32_t caplen, uint32_t k)
{
	uint32_t ck = clients ? (uint32_t)(k % clients) : k;
	int v = 0, off = ip_offset(p, caplen, &v);
	uint8_t c[16], s[16];
	if (off < 0)
		return;
	uint8_t *ip = p + off;
	if (v == 4 && (uint32_t)off + 20 <= caplen) {
		int src_client = t->have4 && memcmp(ip + 12, t->client4, 4) == 0;
		int dst_client = t->have4 && memcmp(ip + 16, t->client4, 4) == 0;
		/* loopback templates use one address for both ends: ports decide */
		uint16_t sport = (uint16_t)(ip[20] << 8 | ip[21]);
		if (src_client && dst_client)
			src_client = sport > 1023;
		addr4(ck, 0, c);
		addr4(k, 1, s);
		memcpy(ip + 12, src_client ? c : s, 4);
		memcpy(ip + 16, src_client ? s : c, 4);
		ipv4_checksum(ip);
	} else if (v == 6 && (uint32_t)off + 44 <= caplen) {
		uint16_t sport = (uint16_t)(ip[40] << 8 | ip[41]);
		int src_client = sport > 1023;
		addr6(ck, 0, c);
		addr6(k, 1, s);
		memcpy(ip + 8, src_client ? c : s, 16);
		memcpy(ip + 24, src_client ? s : c, 16);
	}
}

/* Writes packet j of template tp as copy k at time ts. */
static void emit(pcap_dumper_t *dump, const struct template *tp, size_t j, uint32_t k, double ts)
{
	static uint8_t buf[262144];
	const struct tpkt *p = &tp->pkts[j];
	struct pcap_pkthdr h;
	memcpy(buf, p->data, p->caplen);
	rewrite(tp, buf, p->caplen, k);
	h.ts.tv_sec = (time_t)ts;
	h.ts.tv_usec = (suseconds_t)((ts - (double)h.ts.tv_sec) * 1e6);
	h.caplen = p->caplen;
	h.len = p->len;
	pcap_dump((u_char *)dump, &h, buf);
}

#define EPOCH 1767225600.0 /* 2026-01-01T00:00:00Z */
#define RR_STEP 10e-6      /* -R: seconds between two packets */

/* -R: open copies in slots; each round every slot sends one packet. */
static size_t round_robin(pcap_dumper_t *dump, const struct template *t, int nt,
			  unsigned long sessions, unsigned long open)
{
	struct slot {
		uint32_t copy, pkt;
	} *slot = calloc(open, sizeof *slot);
	unsigned long next = 0, active = 0;
	size_t written = 0;
	if (!slot)
		die("out of memory", NULL);
	for (; active < open && next < sessions; active++)
		slot[active] = (struct slot){(uint32_t)next++, 0};
	while (active > 0) {
		for (unsigned long i = 0; i < active;) {
			struct slot *s = &slot[i];
			const struct template *tp = &t[s->copy % (unsigned long)nt];
			emit(dump, tp, s->pkt, s->copy, EPOCH + (double)written++ * RR_STEP);
			if (++s->pkt < tp->n)
				i++;
			else if (next < sessions)
				*s = (struct slot){(uint32_t)next++, 0}, i++;
			else
				*s = slot[--active]; /* the last slot's copy comes here */
		}
	}
	free(slot);
	return written;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->copy != y->copy)
		return x->copy < y->copy ? -1 : 1;
	return x->pkt < y->pkt ? -1 : x->pkt > y->pkt;
}

/* Copy k starts k * spacing after the first, its packets at their
 * recorded times (times stretch); all in time order. */
static size_t interleave(pcap_dumper_t *dump, const struct template *t, int nt,
			 unsigned long sessions, double spacing, double stretch, size_t total)
{
	struct event *ev = malloc(total * sizeof *ev);
	size_t ne = 0;
	if (!ev)
		die("out of memory", NULL);
	for (unsigned long k = 0; k < sessions; k++) {
		const struct template *tp = &t[k % (unsigned long)nt];
		for (size_t j = 0; j < tp->n; j++)
			ev[ne++] = (struct event){k * spacing + tp->pkts[j].t * stretch, (uint32_t)k,
						  (uint16_t)(k % (unsigned long)nt), (uint32_t)j};
	}
	qsort(ev, ne, sizeof *ev, event_cmp);
	for (size_t i = 0; i < ne; i++)
		emit(dump, &t[ev[i].tmpl], ev[i].pkt, ev[i].copy, EPOCH + ev[i].t);
	free(ev);
	return ne;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long sessions = 1000, concurrent = 100;
	double stretch = 1.0;
	int opt, rr = 0;
	while ((opt = getopt(argc, argv, "o:n:c:s:C:S:R")) != -1) {
		if (opt == 'R')
			rr = 1;
		else if (opt == 'o')
			out = optarg;
		else if (opt == 'n')
			sessions = strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			concurrent = strtoul(optarg, NULL, 10);
		else if (opt == 'C')
			clients = strtoul(optarg, NULL, 10);
		else if (opt == 's')
			stretch = strtod(optarg, NULL);
		else if (opt != 'S')
			die("usage: gen -o OUT -n COPIES -c CONCURRENT [-s STRETCH] [-C CLIENTS]"
			    " [-R] TEMPLATE...", NULL);
	}
	int nt = argc - optind;
	if (!out || nt <= 0 || sessions == 0 || concurrent == 0 || stretch <= 0)
		die("usage: gen -o OUT -n COPIES -c CONCURRENT [-s STRETCH] [-C CLIENTS]"
		    " [-R] TEMPLATE...", NULL);
	struct template *t = calloc((size_t)nt, sizeof *t);
	double mean = 0;
	size_t total = 0;
	for (int i = 0; i < nt; i++) {
		load(&t[i], argv[optind + i]);
		mean += t[i].duration / nt;
	}
	for (unsigned long k = 0; k < sessions; k++) {
		t[k % (unsigned long)nt].copies++;
		total += t[k % (unsigned long)nt].n;
	}
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	pcap_dumper_t *dump = pcap_dump_open(dead, out);
	if (!dump)
		die("cannot write ", out);
	size_t ne = rr ? round_robin(dump, t, nt, sessions, concurrent)
		       : interleave(dump, t, nt, sessions, mean * stretch / (double)concurrent,
				    stretch, total);
	pcap_dump_close(dump);
	pcap_close(dead);
	printf("packets %zu\n", ne);
	for (int i = 0; i < nt; i++) {
		printf("template %s %u\n", t[i].path, t[i].copies);
		for (size_t j = 0; j < t[i].n; j++)
			free(t[i].pkts[j].data);
		free(t[i].pkts);
	}
	free(t);
	return 0;
}
