#include "engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/wait.h"
#include "live.h"

_Static_assert(LIVE_FITS(struct source_stats), "source statistics in a snapshot");

enum mode {
	MODE_INLINE, /* one thread does everything */
	MODE_FANOUT, /* a thread per fanout socket, each with its own lane */
	MODE_READER, /* one reader (lane 0's source and intake) feeds workers */
};

/* A reading thread's share: its source, its intake and (unless it feeds
 * workers) its pipeline. */
struct lane {
	struct engine *e;
	struct source *src;
	struct intake *in;
	struct pipeline *pl;
	pthread_t thread;
	int started;
	int rc;
	double cpu;      /* CPU seconds of the thread that ran it */
	char err[512];
	struct live pub_src; /* the source's statistics, as last read */
};

struct engine {
	struct engine_opts o;
	struct port_map ports;
	enum mode mode;
	unsigned nlanes;
	struct lane lane[ENGINE_THREADS_MAX];
	struct workers *ws;
	struct pdns *pdns;       /* following DNS: the one table */
	engine_frames_fn on_frames;
	void *on_frames_ctx;
	int finished;
};

/* ---- opening ------------------------------------------------------------------ */

/* The other handles of a live capture, each joined to lane 0's group. */
static int open_fanout(struct engine *e, unsigned n, char *err, size_t errlen)
{
	int group = -1;
	if (source_fanout(e->lane[0].src, &group, err, errlen) < 0)
		return -1;
	for (e->nlanes = 1; e->nlanes < n; e->nlanes++) {
		struct lane *l = &e->lane[e->nlanes];
		if (source_open(&l->src, &e->o.src, err, errlen) < 0 ||
		    source_fanout(l->src, &group, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Back to the one handle, after a fanout that could not be made. */
static void close_extra_handles(struct engine *e)
{
	for (unsigned i = 1; i < ENGINE_THREADS_MAX; i++) {
		source_close(e->lane[i].src);
		e->lane[i].src = NULL;
	}
	e->nlanes = 1;
}

static enum mode choose_mode(struct engine *e, char *err, size_t errlen, int *warned)
{
	char why[512];
	*warned = 0;
	if (e->o.threads <= 1)
		return MODE_INLINE;
	if (!source_is_live(e->lane[0].src))
		return MODE_READER;
	if (open_fanout(e, e->o.threads, why, sizeof why) == 0)
		return MODE_FANOUT;
	close_extra_handles(e);
	snprintf(err, errlen, "%s; one thread reads for all %u workers", why, e->o.threads);
	*warned = 1;
	return MODE_READER;
}

int engine_open(struct engine **out, const struct engine_opts *o, char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof *e);
	int warned;
	*out = NULL;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return SOURCE_EOPEN;
	}
	e->o = *o;
	e->ports = *o->ports;
	e->o.ports = &e->ports;
	if (e->o.threads < 1)
		e->o.threads = 1;
	int rc = source_open(&e->lane[0].src, &o->src, err, errlen);
	if (rc < 0) {
		free(e);
		return rc;
	}
	e->nlanes = 1;
	e->mode = choose_mode(e, err, errlen, &warned);
	*out = e;
	return warned;
}

const char *engine_source_name(const struct engine *e)
{
	return source_name(e->lane[0].src);
}

int engine_is_live(const struct engine *e)
{
	return source_is_live(e->lane[0].src);
}

const struct source *engine_source(const struct engine *e)
{
	return e->lane[0].src;
}

/* ---- starting ---------------------------------------------------------------- */

static struct pipeline_opts pipeline_opts_for(const struct engine *e, unsigned share)
{
	struct pipeline_opts po = {e->o.ports, e->o.classify, e->o.limits,
				   source_is_live(e->lane[0].src), e->o.anon_key, e->pdns, NULL, NULL};
	po.limits.max_flows = po.limits.max_flows / share ? po.limits.max_flows / share : 1;
	po.limits.max_buffered /= share;
	return po;
}

int engine_start(struct engine *e, struct store *st)
{
	unsigned share = e->mode == MODE_INLINE ? 1 : e->o.threads;
	if (e->o.dns && !(e->pdns = pdns_new(&e->o.dns_limits)))
		return -1;
	struct pipeline_opts po = pipeline_opts_for(e, share);
	for (unsigned i = 0; i < e->nlanes; i++) {
		struct lane *l = &e->lane[i];
		l->e = e;
		l->in = intake_new(source_linktype(l->src), e->o.ports, e->o.classify);
		if (!l->in || intake_follow_dns(l->in, e->pdns) < 0)
			return -1;
		if (e->mode != MODE_READER && !(l->pl = pipeline_new(&po, st)))
			return -1;
	}
	if (e->mode == MODE_READER) {
		po = pipeline_opts_for(e, 1); /* workers_new splits the limits */
		if (!(e->ws = workers_new(e->o.threads, &po, st)))
			return -1;
		struct source_buffers b = workers_buffers(e->ws);
		source_set_buffers(e->lane[0].src, &b); /* a classic pcap file: no copies */
	}
	return 0;
}

/* ---- running ------------------------------------------------------------------ */

/* Where a lane's decoded segments go: its own pipeline (in line, or on a
 * fanout socket) or, for the reader, the workers. */
typedef void (*segments_sink)(struct lane *l, const struct segment *s, size_t n);

static void to_pipeline(struct lane *l, const struct segment *s, size_t n)
{
	pipeline_segments(l->pl, s, n);
}

static void to_workers(struct lane *l, const struct segment *s, size_t n)
{
	workers_segments(l->e->ws, s, n);
}

/* Decodes a batch of frames and hands their segments to sink, at most
 * SOURCE_BATCH at a time (what the decoder keeps valid). */
static void decode_frames(struct lane *l, const struct frame *f, size_t n, segments_sink sink)
{
	struct segment seg[SOURCE_BATCH];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		k += (size_t)intake_frame(l->in, &f[i], &seg[k]);
		if (k == SOURCE_BATCH) {
			sink(l, seg, k);
			k = 0;
		}
	}
	sink(l, seg, k);
	if (l->e->on_frames)
		l->e->on_frames(l->e->on_frames_ctx, n);
}

/* In line, or on a fanout socket: decode the batch and follow it. */
static void lane_frames(void *ctx, const struct frame *f, size_t n)
{
	decode_frames(ctx, f, n, to_pipeline);
}

/* The capture handle's statistics, read by the thread that reads it
 * (libpcap's handle is not for two threads), for engine_live. */
static void publish_source(struct lane *l)
{
	struct source_stats ss;
	source_stats(l->src, &ss);
	live_publish(&l->pub_src, &ss, sizeof ss);
}

static void lane_tick(void *ctx, double now)
{
	struct lane *l = ctx;
	publish_source(l);
	intake_tick(l->in, now);
	pipeline_tick(l->pl, now);
}

/* The reader: decode the batch and hand it to the workers. */
static void reader_frames(void *ctx, const struct frame *f, size_t n)
{
	decode_frames(ctx, f, n, to_workers);
}

static void reader_tick(void *ctx, double now)
{
	struct lane *l = ctx;
	publish_source(l);
	intake_tick(l->in, now);
	workers_tick(l->e->ws, now);
}

static void run_lane(struct lane *l)
{
	int reader = l->e->mode == MODE_READER;
	l->rc = source_run(l->src, reader ? reader_frames : lane_frames,
			   reader ? reader_tick : lane_tick, l, l->err, sizeof l->err);
	if (l->rc < 0)
		engine_stop(l->e); /* one socket failing ends the capture */
	l->cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

static void *lane_main(void *arg)
{
	thread_name("smtptls-worker");
	run_lane(arg);
	return NULL;
}

int engine_run(struct engine *e, engine_frames_fn on_frames, void *ctx, char *err,
	       size_t errlen)
{
	int rc = 0;
	e->on_frames = source_is_live(e->lane[0].src) ? NULL : on_frames;
	e->on_frames_ctx = ctx;
	for (unsigned i = 1; i < e->nlanes; i++) {
		struct lane *l = &e->lane[i];
		l->started = pthread_create(&l->thread, NULL, lane_main, l) == 0;
		if (!l->started) {
			l->rc = -1;
			snprintf(l->err, sizeof l->err, "cannot start the thread of handle %u", i);
			engine_stop(e);
		}
	}
	run_lane(&e->lane[0]);
	for (unsigned i = 0; i < e->nlanes; i++) {
		struct lane *l = &e->lane[i];
		if (l->started)
			pthread_join(l->thread, NULL);
		l->started = 0;
		if (l->rc < 0 && rc == 0) {
			snprintf(err, errlen, "%s", l->err);
			rc = -1;
		}
	}
	return rc;
}

void engine_stop(struct engine *e)
{
	for (unsigned i = 0; i < e->nlanes; i++)
		if (e->lane[i].src)
			source_stop(e->lane[i].src);
}

int engine_finish(struct engine *e, enum end_reason reason)
{
	int rc = 0;
	if (e->finished)
		return 0;
	e->finished = 1;
	for (unsigned i = 0; i < e->nlanes; i++)
		if (e->lane[i].in)
			intake_finish(e->lane[i].in); /* hellos still waiting: unread */
	if (e->ws)
		rc |= workers_finish(e->ws, reason);
	for (unsigned i = 0; i < e->nlanes; i++)
		if (e->lane[i].pl)
			rc |= pipeline_finish(e->lane[i].pl, reason);
	return rc < 0 ? -1 : 0;
}

/* ---- totals --------------------------------------------------------------------- */

/* Adds one source's counters to to (nothing when it has none). */
static void add_stats(struct source_stats *to, const struct source_stats *ss)
{
	if (!ss->valid)
		return;
	to->received += ss->received;
	to->dropped_kernel += ss->dropped_kernel;
	to->dropped_iface += ss->dropped_iface;
	to->valid = 1;
}

static void add_source_stats(struct source_stats *to, struct source *src)
{
	struct source_stats ss;
	source_stats(src, &ss);
	add_stats(to, &ss);
}

static void add_pipeline(struct engine_totals *t, const struct pipeline_counters *c,
			 const struct flow_stats *fs)
{
	pipeline_counters_add(&t->pl, c);
	flow_stats_add(&t->flows, fs);
}

/* Adds a decoder's counters into t's, by name. */
static void add_decoder_counters(struct engine_totals *t, const struct intake *in)
{
	struct decoder_counter c[DECODER_COUNTERS_MAX];
	size_t n = intake_decoder_counters(in, c, DECODER_COUNTERS_MAX);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < t->ncounters && strcmp(t->counters[k].name, c[i].name) != 0)
			k++;
		if (k == t->ncounters && t->ncounters < DECODER_COUNTERS_MAX)
			t->counters[t->ncounters++] = (struct decoder_counter){c[i].name, 0};
		if (k < t->ncounters)
			t->counters[k].value += c[i].value;
	}
}

static void dns_counter(struct engine_totals *t, const char *name, uint64_t v)
{
	if (t->n_dns_counters < ENGINE_DNS_COUNTERS_MAX)
		t->dns_counters[t->n_dns_counters++] = (struct decoder_counter){name, v};
}

/* What following DNS did, as named counters for the run. */
static void dns_counters(struct engine_totals *t, struct pdns *pdns)
{
	const struct pipeline_counters *c = &t->pl;
	struct pdns_stats s;
	pdns_stats(pdns, &s);
	const struct decoder_counter list[] = {
		{"dns.followed", 1}, {"dns.link_carried_dns", (uint64_t)pdns_link_has_dns(pdns)},
		{"dns.udp_datagrams", t->in.dns_udp}, {"dns.udp_parsed", c->dns_udp},
		{"dns.udp_cut", c->dns_udp_cut}, {"dns.tcp_segments", t->in.dns_tcp},
		{"dns.tcp_connections", c->dns_tcp_flows}, {"dns.tcp_messages", c->dns_tcp_messages},
		{"dns.tcp_oversize", c->dns_tcp_oversize}, {"dns.tcp_framing_lost", c->dns_tcp_lost},
		{"dns.messages", c->dns.messages}, {"dns.queries", c->dns.queries},
		{"dns.responses", c->dns.responses}, {"dns.malformed", c->dns.malformed},
		{"dns.ignored", c->dns.ignored}, {"dns.names_too_long", c->dns.names_too_long},
		{"dns.facts", c->dns.facts}, {"dns.facts_capped", c->dns.facts_capped},
		{"dns.record_waits", c->dns_waits},
		{"https.segments", t->in.https_segments}, {"https.hellos", t->in.https_hellos},
		{"https.hellos_two_segments", t->in.https_two_segments},
		{"https.hellos_unread", t->in.https_unread},
		{"pdns.policy_fetches", s.policy_fetches}, {"pdns.entries", s.entries},
		{"pdns.bytes", s.bytes}, {"pdns.bytes_peak", s.bytes_peak},
		{"pdns.bytes_cap", s.bytes_cap}, {"pdns.inserted", s.inserted},
		{"pdns.refreshed", s.refreshed}, {"pdns.evicted", s.evicted}, {"pdns.expired", s.expired},
		{"pdns.dropped", s.dropped}, {"pdns.not_mail", s.not_mail},
		{"pdns.names_too_long", s.names_too_long}, {"pdns.tlsa_capped", s.tlsa_capped},
		{"pdns.sessions", s.sessions}, {"pdns.mx_found", s.mx_found},
		{"pdns.mx_ambiguous", s.mx_ambiguous}, {"pdns.mx_host_ambiguous", s.mx_host_ambiguous},
		{"pdns.mx_uncertain", s.mx_uncertain}, {"pdns.candidates_capped", s.candidates_capped},
		{"pdns.too_late", s.too_late}, {"pdns.policy_ambiguous", s.policy_ambiguous},
		{"pdns.tlsa_match_0", s.tlsa_match[0]}, {"pdns.tlsa_match_1", s.tlsa_match[1]},
		{"pdns.tlsa_match_null", s.tlsa_match[2]},
	};
	for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
		dns_counter(t, list[i].name, list[i].value);
}

void engine_totals(const struct engine *e, struct engine_totals *t)
{
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < e->nlanes; i++) {
		const struct lane *l = &e->lane[i];
		intake_counters_add(&t->in, intake_counters(l->in));
		add_decoder_counters(t, l->in);
		add_source_stats(&t->src, l->src);
		if (!l->pl)
			continue;
		add_pipeline(t, pipeline_counters(l->pl), pipeline_flow_stats(l->pl));
		t->thread[t->threads++] = (struct engine_thread_totals){
			intake_counters(l->in)->packets, pipeline_counters(l->pl)->sessions, l->cpu};
	}
	for (unsigned i = 0; e->ws && i < workers_count(e->ws); i++) {
		const struct pipeline_counters *c = workers_counters(e->ws, i);
		add_pipeline(t, c, workers_flow_stats(e->ws, i));
		t->thread[t->threads++] = (struct engine_thread_totals){c->segments, c->sessions,
									workers_cpu(e->ws, i)};
	}
	if (e->ws)
		t->reader_cpu = e->lane[0].cpu;
	if (e->pdns)
		dns_counters(t, e->pdns);
}

static void add_live_source(struct source_stats *to, const struct lane *l)
{
	struct source_stats ss;
	live_read(&l->pub_src, &ss, sizeof ss);
	add_stats(to, &ss);
}

void engine_live(const struct engine *e, struct engine_totals *t)
{
	struct intake_counters in;
	struct pipeline_counters pc;
	struct flow_stats fs;
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < e->nlanes; i++) {
		const struct lane *l = &e->lane[i];
		if (!l->in)
			continue;
		intake_live(l->in, &in);
		intake_counters_add(&t->in, &in);
		add_live_source(&t->src, l);
		if (l->pl) {
			pipeline_live(l->pl, &pc, &fs);
			add_pipeline(t, &pc, &fs);
		}
	}
	for (unsigned i = 0; e->ws && i < workers_count(e->ws); i++) {
		workers_live(e->ws, i, &pc, &fs);
		add_pipeline(t, &pc, &fs);
	}
}

void engine_close(struct engine *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < ENGINE_THREADS_MAX; i++)
		source_close(e->lane[i].src); /* before the workers: a read buffer goes back */
	workers_free(e->ws);
	for (unsigned i = 0; i < ENGINE_THREADS_MAX; i++) {
		pipeline_free(e->lane[i].pl);
		intake_free(e->lane[i].in);
	}
	pdns_free(e->pdns); /* after every thread that could use it */
	free(e);
}
