#define _POSIX_C_SOURCE 200809L
#include "source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "decode.h"

struct source {
	pcap_t *pcap;
	char name[256];
	int live;
	int linktype;
	int nano;              /* timestamps in nanoseconds */
	volatile sig_atomic_t stop;
	FILE *file;            /* the offline capture's stream, for progress */
	uint64_t file_size;
};

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int apply_filter(struct source *s, const char *filter, char *err, size_t errlen)
{
	struct bpf_program prog;
	if (!filter || !*filter)
		return 0;
	if (pcap_compile(s->pcap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "invalid filter expression '%s': %s", filter,
			 pcap_geterr(s->pcap));
		return SOURCE_EFILTER;
	}
	int rc = pcap_setfilter(s->pcap, &prog);
	pcap_freecode(&prog);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot apply filter '%s': %s", s->name, filter,
			 pcap_geterr(s->pcap));
		return SOURCE_EFILTER;
	}
	return 0;
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

static int run_file(struct source *s, source_packet_fn fn, void *ctx, char *err,
		    size_t errlen)
{
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
	long pos = s->file ? ftell(s->file) : -1;
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
