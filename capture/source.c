#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "decode.h"

/* A classic pcap file mapped into memory: read without libpcap's copy of
 * every packet through stdio (that copy is most of libpcap's own cost). */
#define MAP_RELEASE_STEP (16u << 20) /* pages behind the reader dropped in steps */

struct cursor {
	size_t off;            /* next record header */
	size_t released;       /* bytes before this are dropped from memory */
	size_t prefetched;     /* cache lines up to here were asked for */
};

struct mapped {
	const uint8_t *base;
	size_t size;
	int swapped;           /* written on a host of the other byte order */
	double frac;           /* 1e6: microsecond stamps, 1e9: nanosecond */
	uint32_t max_caplen;   /* libpcap's limit whatever the header says */
	struct cursor cur;     /* source_run's; other readers bring their own */
};

struct source {
	pcap_t *pcap;
	char name[256];
	int live;
	int linktype;
	int nano;              /* timestamps in nanoseconds */
	volatile sig_atomic_t stop;
	FILE *file;            /* the offline capture's stream, for progress */
	uint64_t file_size;
	struct mapped map;     /* base NULL unless mapped */
	struct bpf_program prog;
	int have_prog;
};

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int apply_filter(struct source *s, const char *filter, char *err, size_t errlen)
{
	if (!filter || !*filter)
		return 0;
	if (pcap_compile(s->pcap, &s->prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "invalid filter expression '%s': %s", filter,
			 pcap_geterr(s->pcap));
		return SOURCE_EFILTER;
	}
	s->have_prog = 1;
	if (s->map.base)
		return 0; /* applied per packet with pcap_offline_filter */
	int rc = pcap_setfilter(s->pcap, &s->prog);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot apply filter '%s': %s", s->name, filter,
			 pcap_geterr(s->pcap));
		return SOURCE_EFILTER;
	}
	return 0;
}

static uint32_t rd32(const uint8_t *p, int swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* Maps a classic pcap file (libpcap has already validated its header);
 * anything else (pcapng, a failed map) stays with libpcap. */
static void map_classic_pcap(struct source *s, const char *file)
{
	uint8_t hdr[24];
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < 24 || pread(fd, hdr, 24, 0) != 24) {
		close(fd);
		return;
	}
	uint32_t magic = rd32(hdr, 0);
	int swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d && !swapped) {
		close(fd);
		return;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return;
	madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
	s->map = (struct mapped){.base = base, .size = (size_t)st.st_size, .cur = {24, 0, 0},
				 .swapped = swapped,
				 .frac = magic == 0xa1b23c4d || magic == 0x4d3cb2a1 ? 1e9 : 1e6,
				 .max_caplen = 262144};
}

static int open_file(struct source *s, const char *file, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read '%s': it is a directory", file);
		return SOURCE_EOPEN;
	}
	s->pcap = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!s->pcap) {
		snprintf(err, errlen, "cannot read '%s': %s", file, eb);
		return SOURCE_EOPEN;
	}
	s->nano = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	s->file = pcap_file(s->pcap);
	s->file_size = stat(file, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (S_ISREG(st.st_mode))
		map_classic_pcap(s, file);
	return 0;
}

static int activate_live(struct source *s, const struct source_opts *o, char *err,
			 size_t errlen)
{
	pcap_set_snaplen(s->pcap, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(s->pcap, o->promisc);
	pcap_set_timeout(s->pcap, 100);
	pcap_set_immediate_mode(s->pcap, 0);
	pcap_set_buffer_size(s->pcap, (o->buffer_mb > 0 ? o->buffer_mb : 64) << 20);
	s->nano = pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO) == 0;
	int rc = pcap_activate(s->pcap);
	if (rc < 0) {
		snprintf(err, errlen, "cannot capture on interface '%s': %s", o->iface,
			 rc == PCAP_ERROR ? pcap_geterr(s->pcap) : pcap_statustostr(rc));
		return SOURCE_EOPEN;
	}
	if (rc > 0)
		fprintf(stderr, "smtptls: %s: warning: %s\n", o->iface,
			rc == PCAP_WARNING ? pcap_geterr(s->pcap) : pcap_statustostr(rc));
	return 0;
}

static int open_live(struct source *s, const struct source_opts *o, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	s->live = 1;
	s->pcap = pcap_create(o->iface, eb);
	if (!s->pcap) {
		snprintf(err, errlen, "cannot capture on interface '%s': %s", o->iface, eb);
		return SOURCE_EOPEN;
	}
	return activate_live(s, o, err, errlen);
}

int source_open(struct source **out, const struct source_opts *o, char *err, size_t errlen)
{
	struct source *s = calloc(1, sizeof *s);
	int rc;
	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return SOURCE_EOPEN;
	}
	snprintf(s->name, sizeof s->name, "%s", o->file ? o->file : o->iface);
	rc = o->file ? open_file(s, o->file, err, errlen) : open_live(s, o, err, errlen);
	if (rc == 0)
		rc = apply_filter(s, o->filter, err, errlen);
	if (rc == 0) {
		s->linktype = pcap_datalink(s->pcap);
		if (!decode_linktype_supported(s->linktype)) {
			const char *n = pcap_datalink_val_to_name(s->linktype);
			snprintf(err, errlen, "%s: unsupported link type %d (%s)", s->name,
				 s->linktype, n ? n : "unknown");
			rc = SOURCE_ELINK;
		}
	}
	if (rc < 0) {
		source_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	if (s->have_prog)
		pcap_freecode(&s->prog);
	if (s->map.base)
		munmap((void *)s->map.base, s->map.size);
	if (s->pcap)
		pcap_close(s->pcap);
	free(s);
}

int source_linktype(const struct source *s)
{
	return s->linktype;
}

const char *source_name(const struct source *s)
{
	return s->name;
}

int source_is_live(const struct source *s)
{
	return s->live;
}

void source_stop(struct source *s)
{
	s->stop = 1;
	if (s->pcap)
		pcap_breakloop(s->pcap);
}

static double stamp(const struct source *s, const struct pcap_pkthdr *h)
{
	return (double)h->ts.tv_sec + h->ts.tv_usec / (s->nano ? 1e9 : 1e6);
}

/* Maps in the window ahead of the reader at once: one call instead of a
 * page fault per page (ignored where the kernel predates it). */
static void populate_ahead(struct mapped *m, size_t from)
{
#ifdef MADV_POPULATE_READ
	if (from < m->size) {
		size_t n = m->size - from < MAP_RELEASE_STEP ? m->size - from : MAP_RELEASE_STEP;
		madvise((void *)(m->base + from), n, MADV_POPULATE_READ);
	}
#else
	(void)m, (void)from;
#endif
}

/* Drops the pages already read, so memory does not grow with the file,
 * and maps in the next window. (Another reader of the same mapping that is
 * behind faults them in again from the page cache.) */
static void release_behind(struct mapped *m, struct cursor *c)
{
	size_t upto = c->off & ~(size_t)(MAP_RELEASE_STEP - 1);
	if (upto > c->released) {
		madvise((void *)(m->base + c->released), upto - c->released, MADV_DONTNEED);
		c->released = upto;
		populate_ahead(m, upto + MAP_RELEASE_STEP);
	}
}

/* Each record's header says where the next one starts, so the reader
 * chases a chain of loads through memory the caches have not seen, and the
 * hardware prefetcher stops at every page boundary: without help most of
 * the read time is spent waiting on those loads. Asking for the lines a
 * fixed distance ahead keeps them arriving before they are needed. */
#define PREFETCH_AHEAD 4096

static void prefetch_ahead(const struct mapped *m, struct cursor *c)
{
	size_t want = c->off + PREFETCH_AHEAD < m->size ? c->off + PREFETCH_AHEAD : m->size;
	if (c->prefetched < c->off)
		c->prefetched = c->off & ~(size_t)63;
	for (; c->prefetched < want; c->prefetched += 64)
		__builtin_prefetch(m->base + c->prefetched);
}

/* Walks the mapped records; the same checks and messages as libpcap. */
static int run_mapped(struct source *s, struct cursor *c, source_packet_fn fn, void *ctx,
		      char *err, size_t errlen)
{
	struct mapped *m = &s->map;
	struct pcap_pkthdr h;
	populate_ahead(m, c->off);
	populate_ahead(m, c->off + MAP_RELEASE_STEP);
	while (!s->stop && c->off < m->size) {
		if (m->size - c->off < 16) {
			snprintf(err, errlen, "%s: truncated dump file; tried to read 16 header "
				 "bytes, only got %zu", s->name, m->size - c->off);
			return -1;
		}
		prefetch_ahead(m, c);
		const uint8_t *r = m->base + c->off;
		uint32_t caplen = rd32(r + 8, m->swapped), len = rd32(r + 12, m->swapped);
		if (caplen > m->max_caplen) {
			snprintf(err, errlen, "%s: invalid packet capture length %u, bigger than "
				 "maximum of %u", s->name, caplen, m->max_caplen);
			return -1;
		}
		if (m->size - c->off - 16 < caplen) {
			snprintf(err, errlen, "%s: truncated dump file; tried to read %u captured "
				 "bytes, only got %zu", s->name, caplen, m->size - c->off - 16);
			return -1;
		}
		c->off += 16 + (size_t)caplen;
		if (c->off - c->released >= MAP_RELEASE_STEP)
			release_behind(m, c);
		h.caplen = caplen;
		h.len = len;
		if (s->have_prog && !pcap_offline_filter(&s->prog, &h, r + 16))
			continue;
		fn(ctx, rd32(r, m->swapped) + rd32(r + 4, m->swapped) / m->frac, r + 16, caplen,
		   len);
	}
	return 0;
}

static int run_file(struct source *s, source_packet_fn fn, void *ctx, char *err,
		    size_t errlen)
{
	if (s->map.base)
		return run_mapped(s, &s->map.cur, fn, ctx, err, errlen);
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = 0;
	while (!s->stop && (rc = pcap_next_ex(s->pcap, &h, &data)) >= 0)
		if (rc == 1)
			fn(ctx, stamp(s, h), data, h->caplen, h->len);
	if (s->stop || rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(err, errlen, "%s: %s", s->name, pcap_geterr(s->pcap));
	return -1;
}

struct dispatch_ctx {
	struct source *s;
	source_packet_fn fn;
	void *ctx;
};

static void on_live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct dispatch_ctx *d = (struct dispatch_ctx *)user;
	d->fn(d->ctx, stamp(d->s, h), data, h->caplen, h->len);
}

static int run_live(struct source *s, source_packet_fn fn, source_tick_fn tick, void *ctx,
		    char *err, size_t errlen)
{
	struct dispatch_ctx d = {s, fn, ctx};
	while (!s->stop) {
		int rc = pcap_dispatch(s->pcap, -1, on_live_packet, (u_char *)&d);
		if (rc == PCAP_ERROR) {
			snprintf(err, errlen, "%s: %s", s->name, pcap_geterr(s->pcap));
			return -1;
		}
		if (tick)
			tick(ctx, now_wall());
	}
	return 0;
}

int source_run(struct source *s, source_packet_fn fn, source_tick_fn tick, void *ctx,
	       char *err, size_t errlen)
{
	int rc = s->live ? run_live(s, fn, tick, ctx, err, errlen)
			 : run_file(s, fn, ctx, err, errlen);
	if (!s->live && tick)
		tick(ctx, now_wall());
	return rc;
}

void source_progress(const struct source *s, uint64_t *done, uint64_t *total)
{
	long pos = s->map.base ? (long)s->map.cur.off : s->file ? ftell(s->file) : -1;
	*done = pos > 0 ? (uint64_t)pos : 0;
	*total = s->file_size;
}

void source_stats(struct source *s, struct source_stats *st)
{
	struct pcap_stat ps;
	memset(st, 0, sizeof *st);
	if (!s->live || pcap_stats(s->pcap, &ps) < 0)
		return;
	st->received = ps.ps_recv;
	st->dropped_kernel = ps.ps_drop;
	st->dropped_iface = ps.ps_ifdrop;
	st->valid = 1;
}

int source_can_share(const struct source *s)
{
	return s->map.base != NULL;
}

int source_run_shared(struct source *s, source_packet_fn fn, void *ctx, char *err,
		      size_t errlen)
{
	struct cursor c = {24, 0, 0};
	if (!s->map.base) {
		snprintf(err, errlen, "%s: cannot be read by several threads", s->name);
		return -1;
	}
	return run_mapped(s, &c, fn, ctx, err, errlen);
}
