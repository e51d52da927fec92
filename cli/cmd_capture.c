#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../engine/anon.h"
#include "../engine/engine.h"
#include "../engine/metrics.h"
#include "../engine/ports.h"
#include "../store/churl.h"
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
	int no_dns;              /* --no-dns: no DNS, no port-443 hellos */
	struct pdns_limits dns_limits;
	char filter[4096];
	const char *metrics_listen; /* --metrics-listen ADDR:PORT */
	int again;                  /* --again: a file captured before is captured again */
	struct store_opts store;    /* --write-queue, --spool-max, --spool */
	double retain_days;         /* --retain: 0 keeps every session row */
	char sensor[64];            /* --sensor, else the host name */
};

/* The capture's own options (unique among capture's codes). */
enum { OPT_METRICS = OPT_FIRST_FREE, OPT_AGAIN, OPT_WRITE_QUEUE, OPT_SPOOL_MAX, OPT_RETAIN,
       OPT_SPOOL };

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
	int is_file;                 /* a regular file: its run records size and SHA-256 */
	int hashed;                  /* sha256 known */
	struct file_hasher *hasher;  /* hashing it meanwhile */
	double hash_cpu, promote_cpu; /* CPU seconds, apart from the capture's */
};

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
	CLI_OPTION_DB("database to append to, created if absent: a file (SQLite), or "
		      "clickhouse://[USER@]HOST[:PORT]/DB[?cluster=NAME] (the HTTP port, default "
		      "8123; a password as USER:PASSWORD@ or in SMTPTLS_CLICKHOUSE_PASSWORD)"),
	{"sensor", 0, "NAME", OPT_SENSOR,
	 "the name stored with every session and run, to tell a fleet's links apart "
	 "(default: the host name)"},
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
	{"metrics-listen", 0, "ADDR:PORT", OPT_METRICS,
	 "serve Prometheus metrics at /metrics: 127.0.0.1:9464, [::1]:9464, or :9464 for every "
	 "address (default: none)"},
	{"again", 0, NULL, OPT_AGAIN,
	 "capture a file already captured into the database (the same size and SHA-256), which "
	 "is otherwise refused with status 1"},
	{"write-queue", 0, "ROWS", OPT_WRITE_QUEUE,
	 "rows waiting in memory for the database writer, 4.3 kB each (default: 8192, or 1024 "
	 "reading a file); beyond them, in the spool (an interface or a pipe) or the reading "
	 "waits (a file)"},
	{"spool-max", 0, "MIB", OPT_SPOOL_MAX,
	 "the spool file PATH-spool beside the database, at most (default: 1024; 0: none); "
	 "beyond it rows are lost and counted, packets never wait"},
	{"spool", 0, "FILE", OPT_SPOOL,
	 "ClickHouse: where rows wait that the server could not take, delivered first by the "
	 "next capture through the same FILE (default: smtptls-HOST-PORT-DATABASE.spool)"},
	{"retain", 0, "DAYS", OPT_RETAIN,
	 "delete the session rows that started more than DAYS days (fractions allowed) before "
	 "the newest packet (file) or now (live), in batches as rows are written; reports keep "
	 "counting them through the rollups (default: keep all)"},
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
		"then writes every open session and exits 0. SIGUSR1 writes the counters to "
		"standard error and refreshes the run's row (also refreshed every 10 s); SIGHUP "
		"reopens the database when its file was moved away (log rotation).",
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
		{OPT_WRITE_QUEUE, 16, 1e7},   {OPT_SPOOL_MAX, 0, 1 << 24},
		{OPT_RETAIN, 0.001, 1e6},
	};
	double v = 0;
	size_t i = 0;
	while (bounds[i].code != code)
		i++;
	if (cli_number(&capture_command, code, arg, bounds[i].min, bounds[i].max,
		       code != OPT_IDLE && code != OPT_DNS_WINDOW && code != OPT_RETAIN, &v) < 0)
		return -1;
	switch (code) {
	case OPT_MAX_FLOWS: a->limits.max_flows = (size_t)v; break;
	case OPT_MAX_BUFFER: a->limits.max_buffered = (size_t)(v * 1048576.0); break;
	case OPT_IDLE: a->limits.idle_timeout = v; break;
	case OPT_SNAPLEN: a->src.snaplen = (int)v; break;
	case OPT_THREADS: a->threads = (unsigned)v; break;
	case OPT_DNS_WINDOW: a->dns_limits.window = v; break;
	case OPT_DNS_MEMORY: a->dns_limits.max_bytes = (size_t)(v * 1048576.0); break;
	case OPT_WRITE_QUEUE: a->store.queue_rows = (size_t)v; break;
	case OPT_SPOOL_MAX: a->store.spool_bytes = (uint64_t)(v * 1048576.0); break;
	case OPT_RETAIN: a->retain_days = v; break;
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
	case OPT_AGAIN: a->again = 1; return 0;
	case OPT_SPOOL: a->store.spool_path = arg; return 0;
	case OPT_SENSOR:
		if (*arg && strlen(arg) < sizeof a->sensor) {
			snprintf(a->sensor, sizeof a->sensor, "%s", arg);
			return 0;
		}
		cli_bad_value(&capture_command, code, "a name of 1 to %zu bytes",
			      sizeof a->sensor - 1);
		return -1;
	case OPT_METRICS:
		if (metrics_parse_listen(arg, err, sizeof err) == 0) {
			a->metrics_listen = arg;
			return 0;
		}
		cli_bad_value(&capture_command, code, "%s", err);
		return -1;
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
	a->store.spool_bytes = STORE_SPOOL_DEFAULT;
	if (gethostname(a->sensor, sizeof a->sensor) < 0 || !a->sensor[0])
		snprintf(a->sensor, sizeof a->sensor, "unknown");
	a->sensor[sizeof a->sensor - 1] = '\0';
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
	if (a->retain_days > 0 && churl_is_url(a->db)) {
		cli_usage_error(&capture_command, "--retain deletes old rows of a SQLite database;"
				" on ClickHouse, give its tables a TTL");
		return EXIT_USAGE + 1;
	}
	if (join_filter(a, argc, argv, first) < 0) {
		cli_usage_error(&capture_command, "the filter expression is longer than %zu bytes",
				sizeof a->filter - 1);
		return EXIT_USAGE + 1;
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
 * whoever sizes a machine sees what the writer needs besides the workers;
 * then, at the end of a file, promoting its hours into the day and
 * all-time rollups, and hashing it (on a CPU the capture left idle). */
static void print_cpu(const struct capture_run *cr)
{
	double writer, ckpt, total = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	store_thread_cpu(cr->st, &writer, &ckpt);
	double capture = total - writer - ckpt - cr->hash_cpu - cr->promote_cpu;
	fprintf(stderr, "smtptls: CPU seconds: %.3f capture and dissection, %.3f database writer,"
		" %.3f checkpoints", capture > 0 ? capture : 0, writer, ckpt);
	if (cr->is_file)
		fprintf(stderr, ", %.3f promoting the rollups, %.3f hashing the file",
			cr->promote_cpu, cr->hash_cpu);
	fputc('\n', stderr);
}

/* Runs the engine over the source, showing progress on a terminal. */
static int feed_engine(struct capture_args *a, struct engine *e, char *err, size_t errlen)
{
	struct progress *pr = a->quiet ? NULL : progress_new(engine_source(e));
	int rc = engine_run(e, pr ? progress_frames : NULL, pr, err, errlen);
	progress_free(pr);
	return rc;
}

/* The run's last row, and its named counters: the decoders' (per
 * encapsulation, IP fragments), what following DNS did, and the writer's
 * (queue, spool, WAL). */
static int end_run(struct capture_run *cr, const struct run_totals *t,
		   const struct engine_totals *et)
{
	struct run_counter c[DECODER_COUNTERS_MAX + ENGINE_DNS_COUNTERS_MAX + 16];
	struct store_stats ss;
	size_t n = 0;
	for (size_t i = 0; i < et->ncounters; i++)
		c[n++] = (struct run_counter){et->counters[i].name, et->counters[i].value};
	for (size_t i = 0; i < et->n_dns_counters; i++)
		c[n++] = (struct run_counter){et->dns_counters[i].name, et->dns_counters[i].value};
	store_stats(cr->st, &ss);
	n += capture_ops_counters(&ss, c + n, 16);
	if (store_end_run(cr->st, t) < 0)
		return -1;
	return store_run_counters(cr->st, c, n);
}

static int record_hash(struct capture_args *a, struct capture_run *cr);

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
	totals.interrupted = cr->is_file && capture_ops_interrupted(); /* live: how it ends */
	if (stored == 0)
		stored = record_hash(a, cr);
	if (stored == 0)
		stored = end_run(cr, &totals, &et);
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
		print_cpu(cr);
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

static void warn_line(void *ctx, const char *text)
{
	fprintf(stderr, "smtptls: %s: %s\n", (const char *)ctx, text);
}

/* A capture file's size, for its run: a file already captured into this
 * database is refused unless --again (begin_run). */
static void size_file(struct capture_args *a, struct capture_run *cr)
{
	cr->is_file = a->src.file && file_size_of(a->src.file, &cr->file_size);
}

static int hash_now(struct capture_args *a, struct capture_run *cr)
{
	char err[1024];
	double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	if (file_sha256(a->src.file, cr->file_size, cr->sha256, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return -1;
	}
	cr->hash_cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
	cr->hashed = 1;
	return 0;
}

static void say_refused(const struct capture_args *a, int rc, const char *dup)
{
	if (rc == STORE_RUN_SAME_FILE)
		fprintf(stderr, "smtptls: %s was already captured into %s as %s (same size and"
			" SHA-256); capturing it again would count its sessions twice: nothing done"
			" (--again to capture it all the same)\n", a->src.file, a->db, dup);
	else
		fprintf(stderr, "smtptls: %s may have been captured into %s already: %s read a"
			" file of the same size and never recorded its SHA-256 (it was stopped or"
			" killed, or is still running); capturing it again could count its sessions"
			" twice: nothing done (--again to capture it all the same)\n", a->src.file,
			a->db, dup);
}

/* The run's row, unless the file was captured into this database before
 * (and not --again): counting it twice would double every number. A file
 * of a size no run read is new: it is hashed meanwhile, by a thread that
 * takes only a CPU the capture leaves idle (record_hash), instead of
 * being read twice before the capture starts. */
static int begin_run(struct capture_args *a, struct capture_run *cr)
{
	char dup[1024], err[1024];
	struct run_file f = {cr->file_size, NULL};
	char *d = a->again ? NULL : dup;
	int rc = store_begin_file_run(cr->st, &cr->ri, cr->is_file ? &f : NULL, d, sizeof dup);
	if (rc == STORE_RUN_HASH_FIRST) { /* a file of this size was read: is it this one? */
		if (hash_now(a, cr) < 0)
			return EXIT_RUNTIME;
		f.sha256 = cr->sha256;
		rc = store_begin_file_run(cr->st, &cr->ri, &f, d, sizeof dup);
	}
	if (rc < 0)
		fprintf(stderr, "smtptls: %s\n", store_error(cr->st));
	else if (rc != STORE_RUN_BEGUN)
		say_refused(a, rc, dup);
	if (rc != STORE_RUN_BEGUN)
		return EXIT_RUNTIME;
	if (cr->is_file && !cr->hashed &&
	    !(cr->hasher = file_hasher_start(a->src.file, cr->file_size, err, sizeof err)))
		fprintf(stderr, "smtptls: warning: %s\n", err); /* hashed at the end */
	return EXIT_OK;
}

/* The file's SHA-256 into its run, once the capture is read (unless it
 * was hashed first): the hours are promoted first, by this thread, while
 * the hashing takes the other CPU. A file that cannot be hashed leaves it
 * NULL (a warning), and so does a capture stopped by SIGINT or SIGTERM,
 * which does not wait for the hashing (a 50 GB file takes 30 s): the file
 * was read in part, and capturing it again is refused as possibly the
 * same. */
static int record_hash(struct capture_args *a, struct capture_run *cr)
{
	char err[1024];
	if (!cr->is_file)
		return 0;
	double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	if (store_promote(cr->st) < 0)
		return -1;
	double t1 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	cr->promote_cpu = t1 - t0;
	if (cr->hashed)
		return 0; /* recorded with the run */
	if (capture_ops_interrupted()) {
		file_hasher_stop(cr->hasher);
		cr->hasher = NULL;
		return 0;
	}
	int rc = cr->hasher ? file_hasher_wait(cr->hasher, cr->sha256, &cr->hash_cpu, err,
					       sizeof err)
			    : file_sha256(a->src.file, cr->file_size, cr->sha256, err, sizeof err);
	if (!cr->hasher)
		cr->hash_cpu = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t1;
	cr->hasher = NULL;
	if (rc < 0) {
		fprintf(stderr, "smtptls: warning: %s: its SHA-256 is not recorded\n", err);
		return 0;
	}
	cr->hashed = 1;
	return store_set_file_sha256(cr->st, cr->sha256);
}

/* The run's row, the pipeline, the thread beside it and the metrics, as
 * root still (a metrics port below 1024). 0 or the exit status. */
static int start_run(struct capture_args *a, struct capture_run *cr)
{
	char err[1024];
	ports_format(&a->ports, cr->ports, sizeof cr->ports);
	cr->ri = (struct run_info){engine_source_name(cr->e),
				   engine_is_live(cr->e) ? "interface" : "file", a->src.filter,
				   cr->ports, clock_seconds(CLOCK_REALTIME), SMTPTLS_VERSION,
				   a->sensor};
	if (begin_run(a, cr) != EXIT_OK)
		return EXIT_RUNTIME;
	if (engine_start(cr->e, cr->st) < 0) {
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
	size_file(a, cr);
	int rc = start_run(a, cr);
	if (rc == EXIT_OK && a->user && privileges_drop(a->user, a->db, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		rc = EXIT_RUNTIME;
	}
	return rc;
}

/* A regular file waits for the writer when its queue is full (as tcpdump
 * -r waits for its output): nothing is lost by waiting, and nothing need
 * go through the spool. An interface or a pipe cannot wait. */
static int input_can_wait(const struct capture_args *a)
{
	struct stat sb;
	return a->src.file && strcmp(a->src.file, "-") != 0 && stat(a->src.file, &sb) == 0 &&
	       S_ISREG(sb.st_mode);
}

int cmd_capture(int argc, char **argv)
{
	struct capture_args a;
	char err[1024];
	struct capture_run cr;
	memset(&cr, 0, sizeof cr);
	int rc = parse_capture(&a, argc, argv);
	if (rc != 0)
		return rc - 1;
	if (a.anon_keyfile && anon_read_key(a.anon_keyfile, a.anon_key, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		return EXIT_RUNTIME;
	}
	rc = open_engine(&a, &cr.e);
	if (rc != EXIT_OK)
		return rc;
	capture_ops_signals(cr.e); /* from now: opening the store may wait for a lock */
	a.store.wait_when_full = input_can_wait(&a);
	if (store_open_opts(&cr.st, a.db, &a.store, err, sizeof err) < 0) {
		fprintf(stderr, "smtptls: %s\n", err);
		engine_close(cr.e);
		return EXIT_RUNTIME;
	}
	if (a.retain_days > 0)
		store_retain(cr.st, a.retain_days * 86400.0, engine_is_live(cr.e));
	rc = prepare(&a, &cr);
	if (cr.ops) { /* the run was begun: it ends with its row, read or not */
		if (rc != EXIT_OK)
			engine_stop(cr.e);
		int ran = run_capture(&a, &cr);
		rc = rc != EXIT_OK ? rc : ran;
	}
	file_hasher_stop(cr.hasher); /* the run did not start, or failed before its end */
	metrics_stop(cr.metrics);
	capture_ops_free(cr.ops);
	engine_close(cr.e);
	if (store_close(cr.st) < 0)
		rc = EXIT_RUNTIME;
	return rc;
}
