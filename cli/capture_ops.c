#define _POSIX_C_SOURCE 200809L
#include "capture_ops.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/wait.h"

#define POLL_MS 100

static volatile sig_atomic_t got_hup, got_usr1, got_stop;
static struct engine *volatile stop_engine;

struct capture_ops {
	struct capture_ops_opts o;
	struct run_info ri;
	char source[256], filter[4096], ports[1024];
	struct engine_totals base; /* counted into runs of earlier databases */
	double started;            /* the first run's start */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	double next_update;
};

/* ---- signals ----------------------------------------------------------------- */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (stop_engine) {
		got_stop = 1;
		engine_stop(stop_engine); /* sets the sources' stop flags */
	}
}

int capture_ops_interrupted(void)
{
	return got_stop;
}

void capture_ops_signals(struct engine *e)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	stop_engine = e;
	/* interrupted, a read from a pipe fails: it stops a run, never more */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

/* ---- totals -------------------------------------------------------------------- */

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a >= b ? a - b : 0;
}

void capture_ops_totals(const struct capture_ops *ops, const struct engine_totals *e,
			struct run_totals *t)
{
	static const struct engine_totals zero;
	const struct engine_totals *b = ops ? &ops->base : &zero;
	memset(t, 0, sizeof *t);
	t->ended = clock_seconds(CLOCK_REALTIME);
	t->packets = minus(e->in.packets, b->in.packets);
	t->bytes = minus(e->in.bytes, b->in.bytes);
	t->dropped_kernel = e->src.valid ? minus(e->src.dropped_kernel, b->src.dropped_kernel)
					 : UINT64_MAX;
	t->dropped_iface = e->src.valid ? minus(e->src.dropped_iface, b->src.dropped_iface)
					: UINT64_MAX;
	t->flows = minus(e->flows.created, b->flows.created);
	t->flows_evicted = minus(e->flows.evicted, b->flows.evicted);
	t->flows_timed_out = minus(e->flows.timed_out, b->flows.timed_out);
	t->flows_without_payload = minus(e->pl.without_payload, b->pl.without_payload);
	t->sessions = minus(e->pl.sessions, b->pl.sessions);
	t->decode_errors = minus(e->in.decode_errors, b->in.decode_errors);
	t->truncated_packets = minus(e->in.truncated, b->in.truncated);
	t->non_tcp_packets = minus(e->in.non_tcp, b->in.non_tcp);
	t->fragments = minus(e->in.fragments, b->in.fragments);
	t->reasm_overflows = minus(e->flows.reasm_overflows, b->flows.reasm_overflows);
	t->peak_flows = e->flows.peak_active;
	t->peak_buffered = e->flows.peak_buffered;
}

/* Only what happened: a run that never spooled, lost, waited or reopened
 * adds nothing to the report's capture counters. */
size_t capture_ops_counters(const struct store_stats *s, struct run_counter *c, size_t max)
{
	int spilled = s->spooled_total > 0 || s->rows_lost > 0;
	const struct run_counter all[] = {
		{"write_queue_peak_rows", spilled ? s->queue_peak : 0},
		{"spooled_rows", s->spooled_total}, {"rows_lost", s->rows_lost},
		{"writer_busy_retries", s->busy_retries}, {"wal_restarts", s->wal_restarts},
		{"wal_reader_held", s->wal_reader_held}, {"wal_forced_restarts", s->wal_forced},
		{"database_reopens", s->reopens},
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0] && n < max; i++)
		if (all[i].value > 0)
			c[n++] = all[i];
	return n;
}

void capture_ops_sample(void *ctx, struct metrics_sample *m)
{
	const struct capture_ops *ops = ctx;
	engine_live(ops->o.e, &m->e);
	store_stats(ops->o.st, &m->s);
	m->started = ops->started;
}

/* ---- the work ------------------------------------------------------------------ */

/* The run's row (and its named counters) from the published counters. */
static void refresh(struct capture_ops *ops)
{
	struct engine_totals et;
	struct run_totals t;
	struct store_stats ss;
	struct run_counter c[16];
	engine_live(ops->o.e, &et);
	capture_ops_totals(ops, &et, &t);
	store_stats(ops->o.st, &ss);
	size_t n = capture_ops_counters(&ss, c, 16);
	if (store_update_run(ops->o.st, &t) < 0 || store_run_counters(ops->o.st, c, n) < 0)
		fprintf(stderr, "smtptls: %s\n", store_error(ops->o.st));
	ops->next_update = clock_seconds(CLOCK_MONOTONIC) + CAPTURE_UPDATE_SECONDS;
}

/* SIGUSR1: the counters, one line, to standard error and (without a
 * terminal, as under systemd) to syslog. */
static void report_counters(struct capture_ops *ops)
{
	struct engine_totals et;
	struct store_stats ss;
	char line[1024];
	engine_live(ops->o.e, &et);
	store_stats(ops->o.st, &ss);
	snprintf(line, sizeof line, "%s: %llu packets, %llu bytes, %llu dropped by the kernel,"
		 " %llu by the interface; %llu sessions (%llu encrypted), %llu connections open;"
		 " write queue %llu rows, spool %llu rows, %llu rows lost",
		 ops->source, (unsigned long long)et.in.packets, (unsigned long long)et.in.bytes,
		 (unsigned long long)et.src.dropped_kernel, (unsigned long long)et.src.dropped_iface,
		 (unsigned long long)et.pl.sessions, (unsigned long long)et.pl.encrypted,
		 (unsigned long long)et.flows.active, (unsigned long long)ss.queue_rows,
		 (unsigned long long)ss.spool_rows, (unsigned long long)ss.rows_lost);
	fprintf(stderr, "smtptls: %s\n", line);
	if (!isatty(STDERR_FILENO))
		syslog(LOG_INFO, "%s", line);
}

/* SIGHUP: a database moved away is followed by a new one at the path. */
static void reopen(struct capture_ops *ops)
{
	struct engine_totals et;
	struct run_totals done;
	engine_live(ops->o.e, &et);
	capture_ops_totals(ops, &et, &done);
	ops->ri.started = done.ended;
	int rc = store_reopen(ops->o.st, &done, &ops->ri);
	if (rc < 0) {
		fprintf(stderr, "smtptls: SIGHUP: cannot reopen: %s; still writing to the old file\n",
			store_error(ops->o.st));
		return;
	}
	if (rc > 0)
		ops->base = et;
	if (!ops->o.quiet)
		fprintf(stderr, "smtptls: SIGHUP: %s\n",
			rc > 0 ? "database reopened: the run goes on in a new file at the path"
			       : "the database is still at its path: nothing to reopen");
	refresh(ops);
}

static void *ops_main(void *arg)
{
	struct capture_ops *ops = arg;
	thread_name("smtptls-ops");
	pthread_mutex_lock(&ops->lock);
	while (!ops->stop) {
		cond_wait_ms(&ops->cond, &ops->lock, POLL_MS);
		if (ops->stop)
			break;
		pthread_mutex_unlock(&ops->lock);
		if (got_hup) {
			got_hup = 0;
			reopen(ops);
		}
		if (got_usr1) {
			got_usr1 = 0;
			report_counters(ops);
			refresh(ops);
		}
		if (clock_seconds(CLOCK_MONOTONIC) >= ops->next_update)
			refresh(ops);
		pthread_mutex_lock(&ops->lock);
	}
	pthread_mutex_unlock(&ops->lock);
	return NULL;
}

struct capture_ops *capture_ops_start(const struct capture_ops_opts *o)
{
	struct capture_ops *ops = calloc(1, sizeof *ops);
	if (!ops)
		return NULL;
	ops->o = *o;
	ops->ri = *o->ri;
	ops->started = o->ri->started;
	snprintf(ops->source, sizeof ops->source, "%s", o->ri->source);
	snprintf(ops->filter, sizeof ops->filter, "%s", o->ri->filter ? o->ri->filter : "");
	snprintf(ops->ports, sizeof ops->ports, "%s", o->ri->ports ? o->ri->ports : "");
	ops->ri.source = ops->source;
	ops->ri.filter = ops->filter;
	ops->ri.ports = ops->ports;
	ops->next_update = clock_seconds(CLOCK_MONOTONIC) + CAPTURE_UPDATE_SECONDS;
	pthread_mutex_init(&ops->lock, NULL);
	pthread_cond_init(&ops->cond, NULL);
	if (pthread_create(&ops->thread, NULL, ops_main, ops) != 0) {
		pthread_mutex_destroy(&ops->lock);
		pthread_cond_destroy(&ops->cond);
		free(ops);
		return NULL;
	}
	return ops;
}

void capture_ops_stop(struct capture_ops *ops)
{
	if (!ops || ops->stop)
		return;
	pthread_mutex_lock(&ops->lock);
	ops->stop = 1;
	pthread_cond_signal(&ops->cond);
	pthread_mutex_unlock(&ops->lock);
	pthread_join(ops->thread, NULL);
}

void capture_ops_free(struct capture_ops *ops)
{
	if (!ops)
		return;
	capture_ops_stop(ops);
	pthread_mutex_destroy(&ops->lock);
	pthread_cond_destroy(&ops->cond);
	free(ops);
}
