#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../capture/source.h"
#include "../common/clock.h"
#include "../store/store.h"
#include "anon.h"
#include "commands.h"
#include "pipeline.h"
#include "ports.h"
#include "privileges.h"
#include "progress.h"
#include "workers.h"

struct capture_args {
	struct source_opts src;
	const char *db;
	struct port_map ports;
	int classify;
	int quiet;
	unsigned threads;
	const char *user;        /* -Z: drop privileges to this user */
	const char *anon_keyfile;
	uint8_t anon_key[ANON_KEY_BYTES];
	struct flow_limits limits;
	double retain_days;      /* --retain: 0 keeps every session row */
	char filter[4096];
};

/* The pipeline, run in line or on worker threads, behind one face. */
struct engine {
	void *ctx;
	int shared;              /* workers read the source themselves */
	source_frames_fn packet;
	source_tick_fn tick;
	int (*finish)(void *ctx, enum end_reason reason);
	void (*counters)(void *ctx, struct pipeline_counters *c, struct flow_stats *fs);
	void (*free)(void *ctx);
};

static int inline_finish(void *ctx, enum end_reason reason)
{
	return pipeline_finish(ctx, reason);
}

static void inline_counters(void *ctx, struct pipeline_counters *c, struct flow_stats *fs)
{
	*c = *pipeline_counters(ctx);
	*fs = *pipeline_flow_stats(ctx);
}

static void inline_free(void *ctx)
{
	pipeline_free(ctx);
}

static int threaded_finish(void *ctx, enum end_reason reason)
{
	return workers_finish(ctx, reason);
}

static void threaded_counters(void *ctx, struct pipeline_counters *c, struct flow_stats *fs)
{
	workers_counters(ctx, c, fs);
}

static void threaded_free(void *ctx)
{
	workers_free(ctx);
}

/* One thread; several reading a capture file each; or several fed by a
 * dispatching thread (live, pcapng, standard input). */
static int engine_start(struct engine *e, unsigned threads, const struct pipeline_opts *po,
			struct store *st, struct source *src)
{
	if (threads > 1 && source_can_share(src)) {
		*e = (struct engine){workers_new_shared(threads, po, st, src), 1, NULL, NULL,
				     threaded_finish, threaded_counters, threaded_free};
	} else if (threads > 1) {
		*e = (struct engine){workers_new(threads, po, st), 0, workers_frames, workers_tick,
				     threaded_finish, threaded_counters, threaded_free};
	} else {
		*e = (struct engine){pipeline_new(po, st), 0, pipeline_frames, pipeline_tick,
				     inline_finish, inline_counters, inline_free};
	}
	return e->ctx ? 0 : -1;
}

static struct source *active_source;

static void on_signal(int sig)
{
	(void)sig;
	if (active_source)
		source_stop(active_source);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int join_filter(struct capture_args *a, int argc, char **argv)
{
	size_t used = 0;
	for (int i = optind; i < argc; i++) {
		int n = snprintf(a->filter + used, sizeof a->filter - used, "%s%s",
				 used ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof a->filter - used)
			return -1;
		used += (size_t)n;
	}
	a->src.filter = used ? a->filter : NULL;
	return 0;
}

static const struct option capture_options[] = {
	{"db", required_argument, NULL, OPT_DB},
	{"ports", required_argument, NULL, OPT_PORTS},
	{"classify", no_argument, NULL, OPT_CLASSIFY},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"max-buffer", required_argument, NULL, OPT_MAX_BUFFER},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"snaplen", required_argument, NULL, OPT_SNAPLEN},
	{"buffer-size", required_argument, NULL, OPT_BUFSIZE},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"anonymize", required_argument, NULL, OPT_ANONYMIZE},
	{"retain", required_argument, NULL, OPT_RETAIN},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Applies one numeric option; returns 0 or -1 (bad value). */
static int capture_number(struct capture_args *a, int opt, const char *arg)
{
	double v;
	switch (opt) {
	case OPT_MAX_FLOWS:
		if (parse_number(arg, 1, 1e8, &v) < 0)
			return -1;
		a->limits.max_flows = (size_t)v;
		return 0;
	case OPT_MAX_BUFFER:
		if (parse_number(arg, 1, 1 << 20, &v) < 0)
			return -1;
		a->limits.max_buffered = (size_t)(v * 1048576.0);
		return 0;
	case OPT_IDLE:
		return parse_number(arg, 1, 1e7, &a->limits.idle_timeout);
	case OPT_SNAPLEN:
		if (parse_number(arg, 64, 262144, &v) < 0)
			return -1;
		a->src.snaplen = (int)v;
		return 0;
	case OPT_THREADS:
		if (parse_number(arg, 1, WORKERS_MAX, &v) < 0)
			return -1;
		a->threads = (unsigned)v;
		return 0;
	case OPT_RETAIN:
		return parse_number(arg, 0.001, 1e6, &a->retain_days);
	default: /* OPT_BUFSIZE */
		if (parse_number(arg, 1, 4096, &v) < 0)
			return -1;
		a->src.buffer_mb = (int)v;
		return 0;
	}
}

static int capture_option(struct capture_args *a, int opt, const char *arg)
{
	char err[256];
	switch (opt) {
	case 'r': a->src.file = arg; return 0;
	case 'i': a->src.iface = arg; return 0;
	case 'q': a->quiet = 1; return 0;
	case 'Z': a->user = arg; return 0;
	case OPT_DB: a->db = arg; return 0;
	case OPT_CLASSIFY: a->classify = 1; return 0;
	case OPT_ANONYMIZE: a->anon_keyfile = arg; return 0;
	case OPT_HELP: print_usage(stdout); exit(EXIT_OK);
	case OPT_PORTS:
		if (ports_parse(&a->ports, arg, err, sizeof err) == 0)
			return 0;
		usage_error("--ports: %s", err);
		return -1;
	case OPT_MAX_FLOWS: case OPT_MAX_BUFFER: case OPT_IDLE: case OPT_SNAPLEN:
	case OPT_BUFSIZE: case OPT_THREADS: case OPT_RETAIN:
		if (capture_number(a, opt, arg) == 0)
			return 0;
		usage_error("invalid number '%s'", arg);
		return -1;
	default:
		usage_error("%s", "unknown option");
		return -1;
	}
}

static int parse_capture(struct capture_args *a, int argc, char **argv)
{
	struct flow_limits defaults = FLOW_LIMITS_DEFAULT;
	int opt;
	memset(a, 0, sizeof *a);
	a->db = "smtptls.db";
	a->limits = defaults;
	a->src.promisc = 1;
	ports_default(&a->ports);
	optind = 1;
	a->threads = 1;
	while ((opt = getopt_long(argc, argv, "r:i:qZ:", capture_options, NULL)) != -1)
		if (opt == '?' || capture_option(a, opt, optarg) < 0)
			return -1;
	if (!a->src.file == !a->src.iface) {
		usage_error("%s", "capture needs exactly one of -r FILE or -i IFACE");
		return -1;
	}
	if (join_filter(a, argc, argv) < 0) {
		usage_error("%s", "filter expression too long");
		return -1;
	}
	return 0;
}

static void fill_totals(struct run_totals *t, const struct engine *e,
			const struct source_stats *ss)
{
	struct pipeline_counters cs;
	struct flow_stats fss;
	const struct pipeline_counters *c = &cs;
	const struct flow_stats *fs = &fss;
	e->counters(e->ctx, &cs, &fss);
	memset(t, 0, sizeof *t);
	t->ended = clock_seconds(CLOCK_REALTIME);
	t->packets = c->packets;
	t->bytes = c->bytes;
	t->dropped_kernel = ss->valid ? ss->dropped_kernel : UINT64_MAX;
	t->dropped_iface = ss->valid ? ss->dropped_iface : UINT64_MAX;
	t->flows = fs->created;
	t->flows_evicted = fs->evicted;
	t->flows_timed_out = fs->timed_out;
	t->flows_without_payload = c->without_payload;
	t->sessions = c->sessions;
	t->decode_errors = c->decode_errors;
	t->truncated_packets = c->truncated;
	t->non_tcp_packets = c->non_tcp;
	t->fragments = c->fragments;
	t->reasm_overflows = fs->reasm_overflows;
	t->peak_flows = fs->peak_active;
	t->peak_buffered = fs->peak_buffered;
}

static void print_summary(const struct capture_args *a, const struct run_totals *t,
			  const struct source_stats *ss)
{
	fprintf(stderr, "smtptls: %s: %llu packets, %llu sessions written to %s"
		" (%llu connections without payload)",
		a->src.file ? a->src.file : a->src.iface, (unsigned long long)t->packets,
		(unsigned long long)t->sessions, a->db,
		(unsigned long long)t->flows_without_payload);
	if (ss->valid)
		fprintf(stderr, "; dropped: %llu by the kernel, %llu by the interface",
			(unsigned long long)ss->dropped_kernel,
			(unsigned long long)ss->dropped_iface);
	fputc('\n', stderr);
}

/* Where the process's CPU time went: the database's threads, and the rest
 * (reading, decoding, dissecting, on however many worker threads), so that
 * whoever sizes a machine sees what the writer needs besides the workers. */
static void print_cpu(const struct store *st)
{
	double writer, ckpt, total = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	store_thread_cpu(st, &writer, &ckpt);
	double capture = total - writer - ckpt;
	fprintf(stderr, "smtptls: CPU seconds: %.3f capture and dissection, %.3f database writer,"
		" %.3f checkpoints\n", capture > 0 ? capture : 0, writer, ckpt);
}

/* Reads the source into the engine, showing progress on a terminal. */
static int feed_engine(struct capture_args *a, struct source *src, struct engine *e,
		       char *err, size_t errlen)
{
	if (e->shared) {
		active_source = src;
		int rc = workers_run_shared(e->ctx, err, errlen);
		active_source = NULL;
		return rc;
	}
	struct progress *pr = a->quiet ? NULL : progress_new(src, e->packet, e->ctx);
	active_source = src;
	int rc = pr ? source_run(src, progress_frames, e->tick, pr, err, errlen)
		    : source_run(src, e->packet, e->tick, e->ctx, err, errlen);
	active_source = NULL;
	progress_free(pr);
	return rc;
}

/* Reads the source into the pipeline; returns the exit status. */
static int run_capture(struct capture_args *a, struct source *src, struct store *st)
{
	char err[1024] = "", ports[1024];
	struct source_stats ss;
	struct run_totals totals;
	struct engine e;
	ports_format(&a->ports, ports, sizeof ports);
	struct run_info ri = {source_name(src), source_is_live(src) ? "interface" : "file",
			      a->src.filter, ports, clock_seconds(CLOCK_REALTIME), SMTPTLS_VERSION};
	struct pipeline_opts po = {&a->ports, a->classify, a->limits, source_linktype(src),
				   source_is_live(src), a->anon_keyfile ? a->anon_key : NULL, 0, 0};
	if (store_begin_run(st, &ri) < 0 || engine_start(&e, a->threads, &po, st, src) < 0) {
		fprintf(stderr, "smtptls: %s\n", store_error(st)[0] ? store_error(st)
								    : "cannot start the pipeline");
		return EXIT_RUNTIME;
	}
	int rc = feed_engine(a, src, &e, err, sizeof err);
	if (rc < 0) /* what was read before the damage is still written */
		fprintf(stderr, "smtptls: %s\n", err);
	int stored = e.finish(e.ctx, END_EOF);
	source_stats(src, &ss);
	fill_totals(&totals, &e, &ss);
	e.free(e.ctx);
	if (stored == 0)
		stored = store_end_run(st, &totals);
	if (stored < 0)
		fprintf(stderr, "smtptls: %s\n", store_error(st));
	else if (!a->quiet) {
		print_summary(a, &totals, &ss);
		print_cpu(st);
	}
	return rc < 0 || stored < 0 ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_capture(int argc, char **argv)
{
	struct capture_args a;
	char err[1024];
	struct source *src = NULL;
	struct store *st = NULL;
	if (parse_capture(&a, argc, argv) < 0)
		return EXIT_USAGE;
	if (a.anon_keyfile && anon_read_key(a.anon_keyfile, a.anon_key, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	int rc = source_open(&src, &a.src, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return rc == SOURCE_EFILTER ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (store_open(&st, a.db, err, sizeof err) < 0 ||
	    (a.user && privileges_drop(a.user, a.db, err, sizeof err) < 0)) {
		fprintf(stderr, "smtptls: %s\n", err);
		store_close(st);
		source_close(src);
		return EXIT_RUNTIME;
	}
	if (a.retain_days > 0)
		store_retain(st, a.retain_days * 86400.0, a.src.iface != NULL);
	install_signals();
	rc = run_capture(&a, src, st);
	source_close(src);
	if (store_close(st) < 0)
		rc = EXIT_RUNTIME;
	return rc;
}

