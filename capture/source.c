#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <errno.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "../common/clock.h"
#include "decode.h"

/* A classic pcap file is read without libpcap: libpcap copies every
 * packet through stdio, which is most of its own cost. Blocks of the file
 * go with pread() into a buffer that stays in the cache, and each reader
 * (one per thread reading the file) has its own. Mapping the file was
 * tried first: each 4 KiB page then costs a TLB miss, a nested page walk
 * in a virtual machine, and walking the records of big.pcap took 0.34-0.41
 * s against 0.13-0.17 s through a 1 MiB buffer. */
#define READ_BLOCK (1u << 20)
#define CAPLEN_MAX 262144u /* libpcap's limit whatever the header says */
#define READ_BUFFER (READ_BLOCK + 16 + CAPLEN_MAX)
_Static_assert(READ_BUFFER == SOURCE_READ_BUFFER, "the read buffer's size");

struct classic {
	int on;                /* the file is a classic pcap read this way */
	int fd;
	uint64_t size;
	int swapped;           /* written on a host of the other byte order */
	double frac;           /* 1e6: microsecond stamps, 1e9: nanosecond */
};

struct reader {
	uint8_t *buf;          /* READ_BUFFER bytes */
	size_t have, pos;      /* bytes in buf; the next record header */
	uint64_t next;         /* file offset of buf[have] */
	int eof;
	struct source_buffers give; /* where buffers come from, if given */
	int lasting;           /* buffers come from give */
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
	struct classic cl;
	struct reader rd;
	struct bpf_program prog;
	int have_prog;
};

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
	if (s->cl.on)
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

static int reader_init(struct reader *r)
{
	r->buf = malloc(READ_BUFFER);
	r->have = r->pos = 0;
	r->next = 24; /* after the file header */
	r->eof = 0;
	r->lasting = 0;
	return r->buf ? 0 : -1;
}

/* Takes over a classic pcap file (libpcap has already validated its
 * header); anything else (pcapng, a pipe) stays with libpcap. */
static void open_classic_pcap(struct source *s, const char *file)
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
	if ((magic != 0xa1b2c3d4 && magic != 0xa1b23c4d && !swapped) || reader_init(&s->rd) < 0) {
		close(fd);
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->cl = (struct classic){1, fd, (uint64_t)st.st_size, swapped,
				 magic == 0xa1b23c4d || magic == 0x4d3cb2a1 ? 1e9 : 1e6};
}

static int open_file(struct source *s, const char *file, char *err, size_t errlen)
{
	char eb[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	if (strcmp(file, "-") != 0 && stat(file, &st) < 0) { /* libpcap's would name it twice */
		snprintf(err, errlen, "cannot read '%s': %s", file, strerror(errno));
		return SOURCE_EOPEN;
	}
	if (strcmp(file, "-") != 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read '%s': it is a directory", file);
		return SOURCE_EOPEN;
	}
	s->pcap = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, eb);
	if (!s->pcap) {
		size_t n = strlen(file); /* libpcap may start with "FILE: " */
		const char *why = !strncmp(eb, file, n) && !strncmp(eb + n, ": ", 2) ? eb + n + 2 : eb;
		snprintf(err, errlen, "cannot read '%s': %s", file, why);
		return SOURCE_EOPEN;
	}
	s->nano = pcap_get_tstamp_precision(s->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	s->file = pcap_file(s->pcap);
	s->file_size = stat(file, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (S_ISREG(st.st_mode))
		open_classic_pcap(s, file);
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
	if (s->cl.on)
		close(s->cl.fd);
	if (s->rd.lasting && s->rd.buf)
		s->rd.give.put(s->rd.give.ctx, s->rd.buf);
	else
		free(s->rd.buf);
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

/* Moves what is left of the buffer to the start of the next one (the
 * same one without a provider). -1 when the provider has none. */
static int next_buffer(struct reader *r)
{
	if (!r->lasting) {
		memmove(r->buf, r->buf + r->pos, r->have - r->pos);
		return 0;
	}
	uint8_t *b = r->give.get(r->give.ctx);
	if (!b)
		return -1;
	memcpy(b, r->buf + r->pos, r->have - r->pos);
	r->give.put(r->give.ctx, r->buf);
	r->buf = b;
	return 0;
}

/* Moves what is left of the buffer to the start and reads up to a block
 * more. Returns -1 on a read error. */
static int refill(const struct classic *cl, struct reader *r)
{
	if (next_buffer(r) < 0) {
		errno = ENOMEM;
		return -1;
	}
	r->have -= r->pos;
	r->pos = 0;
	while (!r->eof && r->have < READ_BLOCK) {
		ssize_t n = pread(cl->fd, r->buf + r->have, READ_BUFFER - r->have, (off_t)r->next);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		r->eof = n == 0;
		r->have += (size_t)n;
		r->next += (uint64_t)n;
	}
	return 0;
}

/* What the buffer holds at its read position. */
enum rec_state { REC_WHOLE, REC_SHORT, REC_END, REC_BAD };

/* A whole record (its header and *caplen bytes), too little of one while
 * more can be read, the end of the file, or a record libpcap would refuse
 * (err says why, in libpcap's words). */
static enum rec_state next_record(const struct source *s, uint32_t *caplen, char *err,
				  size_t errlen)
{
	const struct classic *cl = &s->cl;
	const struct reader *r = &s->rd;
	size_t left = r->have - r->pos;
	*caplen = left >= 16 ? rd32(r->buf + r->pos + 8, cl->swapped) : 0;
	if (*caplen > CAPLEN_MAX) {
		snprintf(err, errlen, "%s: invalid packet capture length %u, bigger than "
			 "maximum of %u", s->name, *caplen, CAPLEN_MAX);
		return REC_BAD;
	}
	if ((left < 16 || left - 16 < *caplen) && !r->eof)
		return REC_SHORT;
	if (left == 0)
		return REC_END;
	if (left < 16) {
		snprintf(err, errlen, "%s: truncated dump file; tried to read 16 header "
			 "bytes, only got %zu", s->name, left);
		return REC_BAD;
	}
	if (left - 16 < *caplen) {
		snprintf(err, errlen, "%s: truncated dump file; tried to read %u captured "
			 "bytes, only got %zu", s->name, *caplen, left - 16);
		return REC_BAD;
	}
	return REC_WHOLE;
}

/* Walks the records; the same checks and messages as libpcap. Frames go
 * out in batches, always before the buffer they point into is refilled. */
static int run_classic(struct source *s, source_frames_fn fn, void *ctx, char *err,
		       size_t errlen)
{
	const struct classic *cl = &s->cl;
	struct reader *r = &s->rd;
	struct pcap_pkthdr h;
	struct frame batch[SOURCE_BATCH];
	size_t n = 0;
	int rc = 0;
	while (!s->stop) {
		uint32_t caplen;
		enum rec_state st = next_record(s, &caplen, err, errlen);
		if (st == REC_SHORT) {
			if (n)
				fn(ctx, batch, n);
			n = 0;
			if (refill(cl, r) < 0) {
				snprintf(err, errlen, "%s: read error: %s", s->name, strerror(errno));
				rc = -1;
				break;
			}
			continue;
		}
		if (st != REC_WHOLE) {
			rc = st == REC_BAD ? -1 : 0; /* REC_END: the end of the file */
			break;
		}
		const uint8_t *p = r->buf + r->pos;
		r->pos += 16 + (size_t)caplen;
		h.caplen = caplen;
		h.len = rd32(p + 12, cl->swapped);
		if (s->have_prog && !pcap_offline_filter(&s->prog, &h, p + 16))
			continue;
		batch[n++] = (struct frame){rd32(p, cl->swapped) + rd32(p + 4, cl->swapped) / cl->frac,
					    p + 16, caplen, h.len, r->lasting};
		if (n == SOURCE_BATCH) {
			fn(ctx, batch, n);
			n = 0;
		}
	}
	if (n)
		fn(ctx, batch, n); /* what was read before an error counts */
	return rc;
}

static int run_file(struct source *s, source_frames_fn fn, void *ctx, char *err,
		    size_t errlen)
{
	if (s->cl.on)
		return run_classic(s, fn, ctx, err, errlen);
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = 0;
	while (!s->stop && (rc = pcap_next_ex(s->pcap, &h, &data)) >= 0)
		if (rc == 1) {
			struct frame f = {stamp(s, h), data, h->caplen, h->len, 0};
			fn(ctx, &f, 1);
		}
	if (s->stop || rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(err, errlen, "%s: %s", s->name, pcap_geterr(s->pcap));
	return -1;
}

struct dispatch_ctx {
	struct source *s;
	source_frames_fn fn;
	void *ctx;
};

static void on_live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct dispatch_ctx *d = (struct dispatch_ctx *)user;
	struct frame f = {stamp(d->s, h), data, h->caplen, h->len, 0};
	d->fn(d->ctx, &f, 1);
}

static int run_live(struct source *s, source_frames_fn fn, source_tick_fn tick, void *ctx,
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
			tick(ctx, clock_seconds(CLOCK_REALTIME));
	}
	return 0;
}

int source_run(struct source *s, source_frames_fn fn, source_tick_fn tick, void *ctx,
	       char *err, size_t errlen)
{
	int rc = s->live ? run_live(s, fn, tick, ctx, err, errlen)
			 : run_file(s, fn, ctx, err, errlen);
	if (!s->live && tick)
		tick(ctx, clock_seconds(CLOCK_REALTIME));
	return rc;
}

void source_progress(const struct source *s, uint64_t *done, uint64_t *total)
{
	long pos = s->cl.on ? (long)(s->rd.next - (s->rd.have - s->rd.pos))
			    : s->file ? ftell(s->file) : -1;
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

int source_set_buffers(struct source *s, const struct source_buffers *b)
{
	struct reader *r = &s->rd;
	if (!s->cl.on || r->lasting)
		return r->lasting;
	uint8_t *first = b->get(b->ctx);
	if (!first)
		return 0;
	memcpy(first, r->buf, r->have); /* nothing read yet, as a rule */
	free(r->buf);
	r->buf = first;
	r->give = *b;
	r->lasting = 1;
	return 1;
}

#if defined(__linux__) && defined(PACKET_FANOUT)
#ifndef PACKET_FANOUT_FLAG_UNIQUEID
#define PACKET_FANOUT_FLAG_UNIQUEID 0x2000
#endif

static int fanout_set(struct source *s, unsigned group, unsigned flags)
{
	unsigned mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG | flags;
	int val = (int)((group & 0xffffu) | mode << 16);
	return setsockopt(pcap_fileno(s->pcap), SOL_PACKET, PACKET_FANOUT, &val, sizeof val);
}

/* A new group, its id chosen by the kernel (Linux 4.6 and later), or
 * failing that an id from the process id, counted up past ids in use. */
static int fanout_create(struct source *s, int *group)
{
	int val;
	socklen_t len = sizeof val;
	if (fanout_set(s, 0, PACKET_FANOUT_FLAG_UNIQUEID) == 0 &&
	    getsockopt(pcap_fileno(s->pcap), SOL_PACKET, PACKET_FANOUT, &val, &len) == 0) {
		*group = val & 0xffff;
		return 0;
	}
	for (unsigned i = 0; i < 64; i++) {
		unsigned id = ((unsigned)getpid() + i) & 0xffffu;
		if (id != 0 && fanout_set(s, id, 0) == 0) {
			*group = (int)id;
			return 0;
		}
	}
	return -1;
}

int source_fanout(struct source *s, int *group, char *err, size_t errlen)
{
	int rc = !s->live ? (errno = EINVAL, -1)
			  : *group >= 0 ? fanout_set(s, (unsigned)*group, 0) : fanout_create(s, group);
	if (rc < 0)
		snprintf(err, errlen, "cannot spread interface '%s' over threads (PACKET_FANOUT): %s",
			 s->name, strerror(errno));
	return rc;
}
#else
int source_fanout(struct source *s, int *group, char *err, size_t errlen)
{
	(void)group;
	snprintf(err, errlen, "cannot spread interface '%s' over threads: no PACKET_FANOUT here",
		 s->name);
	return -1;
}
#endif
