#define _POSIX_C_SOURCE 200809L
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

static int join_filter(struct capture_args *a, int argc, char **argv, int first)
{
	size_t used = 0;
	for (int i = first; i < argc; i++) {
		int n = snprintf(a->filter + used, sizeof a->filter - used, "%s%s",
				 used ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof a->filter - used)
			return -1;
		used += (size_t)n;
	}
	a->src.filter = used ? a->filter : NULL;
	return 0;
}

static const struct cli_option capture_options[] = {
	{NULL, 'r', "FILE", 'r', "read packets from FILE, pcap or pcapng ('-': standard input)"},
	{NULL, 'i', "IFACE", 'i', "capture live on IFACE until SIGINT or SIGTERM"},
	CLI_OPTION_DB("database to append to, created if absent"),
	{"ports", 0, "SPEC", OPT_PORTS,
	 "ports to follow (default: 25/smtp,465/tls,587/smtp): '2525/smtp,2465/tls' adds, "
	 "'-587' removes, a leading '=' replaces the defaults ('=2525/smtp')"},
	{"classify", 0, NULL, OPT_CLASSIFY,
	 "also follow TCP connections on other ports and keep those whose first bytes are "
	 "SMTP (default: off)"},
	{"max-flows", 0, "N", OPT_MAX_FLOWS, "connections followed at once (default: 1000000)"},
	{"max-buffer", 0, "MIB", OPT_MAX_BUFFER,
	 "bytes held for TCP reassembly, all connections together (default: 256)"},
	{"idle-timeout", 0, "SEC", OPT_IDLE,
	 "end a connection after SEC seconds without a packet (default: 300)"},
	{"threads", 0, "N", OPT_THREADS,
	 "worker threads, each owning a share of the connections; live: N sockets in one "
	 "PACKET_FANOUT group (1-64, default: 1)"},
	{"snaplen", 0, "N", OPT_SNAPLEN, "live: bytes kept of each packet (default: 262144)"},
	{"buffer-size", 0, "MIB", OPT_BUFSIZE,
	 "live: kernel capture buffer per socket (default: 64)"},
	{"anonymize", 0, "KEYFILE", OPT_ANONYMIZE,
	 "store addresses through a keyed prefix-preserving map (Crypto-PAn); KEYFILE holds "
	 "32 bytes or 64 hex digits: head -c 32 /dev/urandom > KEYFILE (default: off)"},
	{"no-dns", 0, NULL, OPT_NO_DNS,
	 "follow no DNS (port 53) and no port-443 ClientHellos: the recipient-domain columns "
	 "stay NULL (default: followed)"},
	{"dns-window", 0, "SEC", OPT_DNS_WINDOW,
	 "a sender's policy lookup or fetch counts within SEC seconds before its session "
	 "(default: 300)"},
	{"dns-memory", 0, "MIB", OPT_DNS_MEMORY, "the passive-DNS table's memory cap (default: 64)"},
	{NULL, 'Z', "USER", 'Z', "drop root for USER once the interface and the database are open"},
	{"quiet", 'q', NULL, 'q', "no progress bar, no summary on standard error"},
	{"verbose", 'v', NULL, 'v', "the summary also says what each thread read and wrote"},
	{NULL, 0, NULL, 0, NULL},
};

const struct cli_command capture_command = {
	.name = "capture",
	.summary = "follow SMTP sessions in a capture file or on an interface",
	.synopsis = "-r FILE [options] [BPF EXPRESSION...]\n"
		    "-i IFACE [options] [BPF EXPRESSION...]",
	.description =
		"Follows every SMTP session on the followed ports of a capture file or a live "
		"interface, works out whether and how it was encrypted, and appends one row per "
		"session to the database (SQLite). A live capture runs until SIGINT or SIGTERM, "
		"then writes every open session and exits 0.",
	.options = capture_options,
	.operands = "BPF EXPRESSION: a libpcap filter, as tcpdump takes it; only the packets "
		    "it matches are read.",
	.examples =
		"smtptls capture -r mail.pcap --db mail.db\n"
		"smtptls capture -r mail.pcap --db mail.db host 192.0.2.25\n"
		"smtptls capture -i eth0 --threads 2 -Z smtptls --db /var/lib/smtptls/s.db\n"
		"tcpdump -i eth0 -w - port 25 | smtptls capture -r - --ports =25/smtp",
};

/* The numeric options: their bounds and where the value goes. */
static int capture_number(struct capture_args *a, int code, const char *arg)
{
	static const struct {
		int code;
		double min, max;
	} bounds[] = {
		{OPT_MAX_FLOWS, 1, 1e8},      {OPT_MAX_BUFFER, 1, 1 << 20},
		{OPT_IDLE, 1, 1e7},           {OPT_SNAPLEN, 64, 262144},
		{OPT_THREADS, 1, ENGINE_THREADS_MAX}, {OPT_BUFSIZE, 1, 4096},
		{OPT_DNS_WINDOW, 1, 86400},   {OPT_DNS_MEMORY, 1, 65536},
	};
	double v = 0;
	size_t i = 0;
	while (bounds[i].code != code)
		i++;
	if (cli_number(&capture_command, code, arg, bounds[i].min, bounds[i].max,
		       code != OPT_IDLE && code != OPT_DNS_WINDOW, &v) < 0)
		return -1;
	switch (code) {
	case OPT_MAX_FLOWS: a->limits.max_flows = (size_t)v; break;
	case OPT_MAX_BUFFER: a->limits.max_buffered = (size_t)(v * 1048576.0); break;
	case OPT_IDLE: a->limits.idle_timeout = v; break;
	case OPT_SNAPLEN: a->src.snaplen = (int)v; break;
	case OPT_THREADS: a->threads = (unsigned)v; break;
	case OPT_DNS_WINDOW: a->dns_limits.window = v; break;
	case OPT_DNS_MEMORY: a->dns_limits.max_bytes = (size_t)(v * 1048576.0); break;
	default: a->src.buffer_mb = (int)v; break;
	}
	return 0;
}

static int capture_option(void *ctx, int code, const char *arg)
{
	struct capture_args *a = ctx;
	char err[256];
	switch (code) {
	case 'r': a->src.file = arg; return 0;
	case 'i': a->src.iface = arg; return 0;
	case 'q': a->quiet = 1; return 0;
	case 'v': a->verbose = 1; return 0;
	case 'Z': a->user = arg; return 0;
	case OPT_DB: a->db = arg; return 0;
	case OPT_CLASSIFY: a->classify = 1; return 0;
	case OPT_NO_DNS: a->no_dns = 1; return 0;
	case OPT_ANONYMIZE: a->anon_keyfile = arg; return 0;
	case OPT_PORTS:
		if (ports_parse(&a->ports, arg, err, sizeof err) == 0)
			return 0;
		cli_bad_value(&capture_command, code, "%s", err);
		return -1;
	default:
		return capture_number(a, code, arg);
	}
}

/* 0, or an exit status + 1 (help printed, or a usage error). */
static int parse_capture(struct capture_args *a, int argc, char **argv)
{
	struct flow_limits defaults = FLOW_LIMITS_DEFAULT;
	memset(a, 0, sizeof *a);
	a->db = "smtptls.db";
	a->limits = defaults;
	pdns_limits_default(&a->dns_limits);
	a->src.promisc = 1;
	ports_default(&a->ports);
	a->threads = 1;
	int first = cli_parse(&capture_command, argc, argv, capture_option, a);
	if (first == CLI_HELP)
		return EXIT_OK + 1;
	if (first == CLI_USAGE)
		return EXIT_USAGE + 1;
	if (!a->src.file == !a->src.iface) {
		cli_usage_error(&capture_command, "%s", a->src.file ? "-r and -i exclude each other"
								      : "needs -r FILE or -i IFACE");
		return EXIT_USAGE + 1;
	}
	if (join_filter(a, argc, argv, first) < 0) {
		cli_usage_error(&capture_command, "the filter expression is longer than %zu bytes",
				sizeof a->filter - 1);
		return EXIT_USAGE + 1;
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
	int rc = parse_capture(&a, argc, argv);
	if (rc != 0)
		return rc - 1;
	if (a.anon_keyfile && anon_read_key(a.anon_keyfile, a.anon_key, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	rc = open_engine(&a, &e);
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

