#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../engine/anon.h"
#include "../engine/engine.h"
#include "../engine/ports.h"
#include "../store/store.h"
#include "commands.h"
#include "privileges.h"
#include "progress.h"

struct capture_args {
	struct source_opts src;
	const char *db;
	struct port_map ports;
	int classify;
	int quiet;
	int verbose;             /* -v: what each thread did */
	unsigned threads;
	const char *user;        /* -Z: drop privileges to this user */
	const char *anon_keyfile;
	uint8_t anon_key[ANON_KEY_BYTES];
	struct flow_limits limits;
	int no_dns;              /* --no-dns: no DNS, no port-443 hellos */
	struct pdns_limits dns_limits;
	char filter[4096];
};

static struct engine *active_engine;

static void on_signal(int sig)
{
	(void)sig;
	if (active_engine)
		engine_stop(active_engine);
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
	{"no-dns", no_argument, NULL, OPT_NO_DNS},
	{"dns-window", required_argument, NULL, OPT_DNS_WINDOW},
	{"dns-memory", required_argument, NULL, OPT_DNS_MEMORY},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
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
		if (parse_number(arg, 1, ENGINE_THREADS_MAX, &v) < 0)
			return -1;
		a->threads = (unsigned)v;
		return 0;
	case OPT_DNS_WINDOW:
		return parse_number(arg, 1, 86400, &a->dns_limits.window);
	case OPT_DNS_MEMORY:
		if (parse_number(arg, 1, 1 << 16, &v) < 0)
			return -1;
		a->dns_limits.max_bytes = (size_t)(v * 1048576.0);
		return 0;
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
	case 'v': a->verbose = 1; return 0;
	case 'Z': a->user = arg; return 0;
	case OPT_DB: a->db = arg; return 0;
	case OPT_CLASSIFY: a->classify = 1; return 0;
	case OPT_NO_DNS: a->no_dns = 1; return 0;
	case OPT_ANONYMIZE: a->anon_keyfile = arg; return 0;
	case OPT_HELP: print_usage(stdout); exit(EXIT_OK);
	case OPT_PORTS:
		if (ports_parse(&a->ports, arg, err, sizeof err) == 0)
			return 0;
		usage_error("--ports: %s", err);
		return -1;
	case OPT_MAX_FLOWS: case OPT_MAX_BUFFER: case OPT_IDLE: case OPT_SNAPLEN:
	case OPT_BUFSIZE: case OPT_THREADS: case OPT_DNS_WINDOW: case OPT_DNS_MEMORY:
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
	pdns_limits_default(&a->dns_limits);
	a->src.promisc = 1;
	ports_default(&a->ports);
	optind = 1;
	a->threads = 1;
	while ((opt = getopt_long(argc, argv, "r:i:qvZ:", capture_options, NULL)) != -1)
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

static void fill_totals(struct run_totals *t, const struct engine_totals *e)
{
	memset(t, 0, sizeof *t);
	t->ended = clock_seconds(CLOCK_REALTIME);
	t->packets = e->in.packets;
	t->bytes = e->in.bytes;
	t->dropped_kernel = e->src.valid ? e->src.dropped_kernel : UINT64_MAX;
	t->dropped_iface = e->src.valid ? e->src.dropped_iface : UINT64_MAX;
	t->flows = e->flows.created;
	t->flows_evicted = e->flows.evicted;
	t->flows_timed_out = e->flows.timed_out;
	t->flows_without_payload = e->pl.without_payload;
	t->sessions = e->pl.sessions;
	t->decode_errors = e->in.decode_errors;
	t->truncated_packets = e->in.truncated;
	t->non_tcp_packets = e->in.non_tcp;
	t->fragments = e->in.fragments;
	t->reasm_overflows = e->flows.reasm_overflows;
	t->peak_flows = e->flows.peak_active;
	t->peak_buffered = e->flows.peak_buffered;
}

static void print_summary(const struct capture_args *a, const struct run_totals *t,
			  const struct engine_totals *e)
{
	fprintf(stderr, "smtptls: %s: %llu packets, %llu sessions written to %s"
		" (%llu connections without payload)",
		a->src.file ? a->src.file : a->src.iface, (unsigned long long)t->packets,
		(unsigned long long)t->sessions, a->db,
		(unsigned long long)t->flows_without_payload);
	if (e->src.valid)
		fprintf(stderr, "; dropped: %llu by the kernel, %llu by the interface",
			(unsigned long long)e->src.dropped_kernel,
			(unsigned long long)e->src.dropped_iface);
	fputc('\n', stderr);
}

/* -v: what each thread got (frames from its socket, or segments from the
 * reader) and wrote, and the CPU seconds it took. */
static void print_threads(const struct engine_totals *e)
{
	if (e->threads > 1 && e->reader_cpu > 0)
		fprintf(stderr, "smtptls: reader: %.3f CPU s\n", e->reader_cpu);
	for (unsigned i = 0; i < e->threads; i++)
		fprintf(stderr, "smtptls: thread %u: %llu packets, %llu sessions, %.3f CPU s\n",
			i + 1, (unsigned long long)e->thread[i].packets,
			(unsigned long long)e->thread[i].sessions, e->thread[i].cpu);
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

/* Runs the engine over the source, showing progress on a terminal. */
static int feed_engine(struct capture_args *a, struct engine *e, char *err, size_t errlen)
{
	struct progress *pr = a->quiet ? NULL : progress_new(engine_source(e));
	active_engine = e;
	int rc = engine_run(e, pr ? progress_frames : NULL, pr, err, errlen);
	active_engine = NULL;
	progress_free(pr);
	return rc;
}

/* The decoders' counters (per encapsulation, IP fragments) and what
 * following DNS did into the run's named counters. */
static int store_counters(struct store *st, const struct engine_totals *et)
{
	struct run_counter c[DECODER_COUNTERS_MAX + ENGINE_DNS_COUNTERS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < et->ncounters; i++)
		c[n++] = (struct run_counter){et->counters[i].name, et->counters[i].value};
	for (size_t i = 0; i < et->n_dns_counters; i++)
		c[n++] = (struct run_counter){et->dns_counters[i].name, et->dns_counters[i].value};
	return store_run_counters(st, c, n);
}

/* Reads the source into the store; returns the exit status. */
static int run_capture(struct capture_args *a, struct engine *e, struct store *st)
{
	char err[1024] = "", ports[1024];
	struct engine_totals et;
	struct run_totals totals;
	ports_format(&a->ports, ports, sizeof ports);
	struct run_info ri = {engine_source_name(e), engine_is_live(e) ? "interface" : "file",
			      a->src.filter, ports, clock_seconds(CLOCK_REALTIME), SMTPTLS_VERSION};
	if (store_begin_run(st, &ri) < 0 || engine_start(e, st) < 0) {
		fprintf(stderr, "smtptls: %s\n", store_error(st)[0] ? store_error(st)
								    : "cannot start the pipeline");
		return EXIT_RUNTIME;
	}
	int rc = feed_engine(a, e, err, sizeof err);
	if (rc < 0) /* what was read before the damage is still written */
		fprintf(stderr, "smtptls: %s\n", err);
	int stored = engine_finish(e, END_EOF);
	engine_totals(e, &et);
	fill_totals(&totals, &et);
	if (stored == 0)
		stored = store_end_run(st, &totals);
	if (stored == 0)
		stored = store_counters(st, &et);
	if (stored < 0)
		fprintf(stderr, "smtptls: %s\n", store_error(st));
	else if (!a->quiet) {
		print_summary(a, &totals, &et);
		if (a->verbose)
			print_threads(&et);
		print_cpu(st);
	}
	return rc < 0 || stored < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int open_engine(struct capture_args *a, struct engine **e)
{
	char err[1024];
	struct engine_opts eo = {a->src, &a->ports, a->classify, a->limits,
				 a->anon_keyfile ? a->anon_key : NULL, a->threads, !a->no_dns,
				 a->dns_limits};
	int rc = engine_open(e, &eo, err, sizeof err);
	if (rc > 0 && !a->quiet)
		fprintf(stderr, "smtptls: warning: %s\n", err);
	if (rc >= 0)
		return EXIT_OK;
	fprintf(stderr, "smtptls: %s\n", err);
	return rc == SOURCE_EFILTER ? EXIT_USAGE : EXIT_RUNTIME;
}

int cmd_capture(int argc, char **argv)
{
	struct capture_args a;
	char err[1024];
	struct engine *e = NULL;
	struct store *st = NULL;
	if (parse_capture(&a, argc, argv) < 0)
		return EXIT_USAGE;
	if (a.anon_keyfile && anon_read_key(a.anon_keyfile, a.anon_key, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	int rc = open_engine(&a, &e);
	if (rc != EXIT_OK)
		return rc;
	if (store_open(&st, a.db, err, sizeof err) < 0 ||
	    (a.user && privileges_drop(a.user, a.db, err, sizeof err) < 0)) {
		fprintf(stderr, "smtptls: %s\n", err);
		store_close(st);
		engine_close(e);
		return EXIT_RUNTIME;
	}
	install_signals();
	rc = run_capture(&a, e, st);
	engine_close(e);
	if (store_close(st) < 0)
		rc = EXIT_RUNTIME;
	return rc;
}

