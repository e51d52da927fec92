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
#include "../engine/metrics.h"
#include "../store/store.h"
#include "capture_ops.h"
#include "commands.h"
#include "file_hash.h"
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
	char filter[4096];
	const char *metrics_listen; /* --metrics-listen ADDR:PORT */
	int again;                  /* --again: a file captured before is captured again */
	struct store_opts store;    /* --write-queue, --spool-max */
};

/* The capture's own options (unique among capture's codes). */
enum { OPT_METRICS = OPT_FIRST_FREE + 32, OPT_AGAIN, OPT_WRITE_QUEUE, OPT_SPOOL_MAX };

/* What runs beside the engine while it reads. */
struct capture_run {
	struct engine *e;
	struct store *st;
	struct capture_ops *ops;
	struct metrics *metrics;
	struct run_info ri;
	char ports[1024];
	char sha256[65];
	uint64_t file_size;
	int file_hashed;
};

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
	{"metrics-listen", required_argument, NULL, OPT_METRICS},
	{"again", no_argument, NULL, OPT_AGAIN},
	{"write-queue", required_argument, NULL, OPT_WRITE_QUEUE},
	{"spool-max", required_argument, NULL, OPT_SPOOL_MAX},
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
	case OPT_WRITE_QUEUE:
		if (parse_number(arg, 16, 1e7, &v) < 0)
			return -1;
		a->store.queue_rows = (size_t)v;
		return 0;
	case OPT_SPOOL_MAX:
		if (parse_number(arg, 0, 1 << 24, &v) < 0)
			return -1;
		a->store.spool_bytes = (uint64_t)(v * 1048576.0);
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
	case OPT_ANONYMIZE: a->anon_keyfile = arg; return 0;
	case OPT_AGAIN: a->again = 1; return 0;
	case OPT_METRICS:
		if (metrics_parse_listen(arg, err, sizeof err) == 0) {
			a->metrics_listen = arg;
			return 0;
		}
		usage_error("--metrics-listen: %s", err);
		return -1;
	case OPT_HELP: print_usage(stdout); exit(EXIT_OK);
	case OPT_PORTS:
		if (ports_parse(&a->ports, arg, err, sizeof err) == 0)
			return 0;
		usage_error("--ports: %s", err);
		return -1;
	case OPT_MAX_FLOWS: case OPT_MAX_BUFFER: case OPT_IDLE: case OPT_SNAPLEN:
	case OPT_BUFSIZE: case OPT_THREADS: case OPT_WRITE_QUEUE: case OPT_SPOOL_MAX:
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
	a->store.spool_bytes = STORE_SPOOL_DEFAULT;
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
	int rc = engine_run(e, pr ? progress_frames : NULL, pr, err, errlen);
	progress_free(pr);
	return rc;
}

/* The run's last row: its totals, and its named counters. */
static int end_run(struct capture_run *cr, const struct run_totals *t)
{
	struct store_stats ss;
	struct run_counter c[16];
	store_stats(cr->st, &ss);
	size_t n = capture_ops_counters(&ss, c, 16);
	if (store_run_counters(cr->st, c, n) < 0)
		return -1;
	return store_end_run(cr->st, t);
}

/* Reads the source into the store; returns the exit status. */
static int run_capture(struct capture_args *a, struct capture_run *cr)
{
	char err[1024] = "";
	struct engine_totals et;
	struct run_totals totals;
	int rc = feed_engine(a, cr->e, err, sizeof err);
	if (rc < 0) /* what was read before the damage is still written */
		fprintf(stderr, "smtptls: %s\n", err);
	capture_ops_stop(cr->ops); /* no more refreshes: the last row follows */
	int stored = engine_finish(cr->e, END_EOF);
	engine_totals(cr->e, &et);
	capture_ops_totals(cr->ops, &et, &totals);
	if (stored == 0)
		stored = end_run(cr, &totals);
	if (stored < 0)
		fprintf(stderr, "smtptls: %s\n", store_error(cr->st));
	else if (!a->quiet) {
		struct run_totals all; /* the whole capture, over every file it wrote to */
		struct store_stats ss;
		capture_ops_totals(NULL, &et, &all);
		print_summary(a, &all, &et);
		store_stats(cr->st, &ss);
		if (ss.reopens)
			fprintf(stderr, "smtptls: %s was reopened %llu times (SIGHUP): the sessions"
				" before are in the moved files\n", a->db,
				(unsigned long long)ss.reopens);
		if (a->verbose)
			print_threads(&et);
		print_cpu(cr->st);
	}
	return rc < 0 || stored < 0 ? EXIT_RUNTIME : EXIT_OK;
}

static int open_engine(struct capture_args *a, struct engine **e)
{
	char err[1024];
	struct engine_opts eo = {a->src, &a->ports, a->classify, a->limits,
				 a->anon_keyfile ? a->anon_key : NULL, a->threads};
	int rc = engine_open(e, &eo, err, sizeof err);
	if (rc > 0 && !a->quiet)
		fprintf(stderr, "smtptls: warning: %s\n", err);
	if (rc >= 0)
		return EXIT_OK;
	fprintf(stderr, "smtptls: %s\n", err);
	return rc == SOURCE_EFILTER ? EXIT_USAGE : EXIT_RUNTIME;
}

static void warn_line(void *ctx, const char *text)
{
	fprintf(stderr, "smtptls: %s: %s\n", (const char *)ctx, text);
}

/* A capture file already captured into this database (same size and
 * SHA-256) is refused unless --again: counting it twice would double every
 * number. 0 to go on, else the exit status. */
static int check_file(struct capture_args *a, struct capture_run *cr)
{
	char err[1024], what[1024];
	if (!a->src.file)
		return EXIT_OK;
	int rc = file_sha256(a->src.file, &cr->file_size, cr->sha256, err, sizeof err);
	if (rc <= 0) {
		if (rc < 0)
			fprintf(stderr, "smtptls: %s\n", err);
		return rc < 0 ? EXIT_RUNTIME : EXIT_OK;
	}
	cr->file_hashed = 1;
	int64_t id = store_find_file_run(cr->st, cr->file_size, cr->sha256, what, sizeof what);
	if (id < 0) {
		fprintf(stderr, "smtptls: %s\n", store_error(cr->st));
		return EXIT_RUNTIME;
	}
	if (id == 0 || a->again)
		return EXIT_OK;
	fprintf(stderr, "smtptls: %s was already captured into %s as %s (same size and SHA-256);"
		" capturing it again would count its sessions twice: nothing done (--again to"
		" capture it all the same)\n", a->src.file, a->db, what);
	return EXIT_RUNTIME;
}

/* The run's row, the pipeline, the thread beside it and the metrics, as
 * root still (a metrics port below 1024). 0 or the exit status. */
static int start_run(struct capture_args *a, struct capture_run *cr)
{
	char err[1024];
	ports_format(&a->ports, cr->ports, sizeof cr->ports);
	cr->ri = (struct run_info){engine_source_name(cr->e),
				   engine_is_live(cr->e) ? "interface" : "file", a->src.filter,
				   cr->ports, clock_seconds(CLOCK_REALTIME), SMTPTLS_VERSION};
	if (store_begin_file_run(cr->st, &cr->ri, cr->file_size,
				 cr->file_hashed ? cr->sha256 : NULL) < 0 ||
	    engine_start(cr->e, cr->st) < 0) {
		fprintf(stderr, "smtptls: %s\n", store_error(cr->st)[0] ? store_error(cr->st)
									: "cannot start the pipeline");
		return EXIT_RUNTIME;
	}
	struct capture_ops_opts oo = {cr->e, cr->st, &cr->ri, a->db, a->quiet};
	if (!(cr->ops = capture_ops_start(&oo))) {
		fprintf(stderr, "smtptls: cannot start the operations thread\n");
		return EXIT_RUNTIME;
	}
	if (a->metrics_listen &&
	    !(cr->metrics = metrics_start(a->metrics_listen, cr->ri.source, capture_ops_sample,
					  cr->ops, err, sizeof err))) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* Everything between opening the store and reading. */
static int prepare(struct capture_args *a, struct capture_run *cr)
{
	char err[1024];
	if (store_mark_unfinished(cr->st, warn_line, (void *)a->db) < 0) {
		fprintf(stderr, "smtptls: %s\n", store_error(cr->st));
		return EXIT_RUNTIME;
	}
	int rc = check_file(a, cr);
	if (rc == EXIT_OK)
		rc = start_run(a, cr);
	if (rc == EXIT_OK && a->user && privileges_drop(a->user, a->db, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		rc = EXIT_RUNTIME;
	}
	return rc;
}

int cmd_capture(int argc, char **argv)
{
	struct capture_args a;
	char err[1024];
	struct capture_run cr;
	memset(&cr, 0, sizeof cr);
	if (parse_capture(&a, argc, argv) < 0)
		return EXIT_USAGE;
	if (a.anon_keyfile && anon_read_key(a.anon_keyfile, a.anon_key, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	int rc = open_engine(&a, &cr.e);
	if (rc != EXIT_OK)
		return rc;
	if (store_open_opts(&cr.st, a.db, &a.store, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		engine_close(cr.e);
		return EXIT_RUNTIME;
	}
	capture_ops_signals(cr.e);
	rc = prepare(&a, &cr);
	if (cr.ops) { /* the run was begun: it ends with its row, read or not */
		if (rc != EXIT_OK)
			engine_stop(cr.e);
		int ran = run_capture(&a, &cr);
		rc = rc != EXIT_OK ? rc : ran;
	}
	metrics_stop(cr.metrics);
	capture_ops_free(cr.ops);
	engine_close(cr.e);
	if (store_close(cr.st) < 0)
		rc = EXIT_RUNTIME;
	return rc;
}
