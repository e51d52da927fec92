/* What a capture does besides reading packets, as daemons do, in a thread
 * of its own (smtptls-ops): the run's row refreshed every
 * CAPTURE_UPDATE_SECONDS; on SIGUSR1 the counters written to standard
 * error (and syslog without a terminal) and the row refreshed; on SIGHUP
 * the database reopened at its path when it was moved away (log
 * rotation). The signal handlers only set flags (SIGINT and SIGTERM also
 * ask the engine to stop, which sets its sources' flags); the work is done
 * in the thread. */
#ifndef SMTPTLS_CAPTURE_OPS_H
#define SMTPTLS_CAPTURE_OPS_H

#include "../engine/engine.h"
#include "../engine/metrics.h"
#include "../store/store.h"

#define CAPTURE_UPDATE_SECONDS 10.0

struct capture_ops_opts {
	struct engine *e;
	struct store *st;
	const struct run_info *ri; /* copied with its strings: the run begun anew after a reopen */
	const char *db;
	int quiet;
};

struct capture_ops;

/* Installs the signal handlers; SIGINT and SIGTERM stop e. */
void capture_ops_signals(struct engine *e);
/* 1 once SIGINT or SIGTERM stopped it: a file was not read to its end. */
int capture_ops_interrupted(void);

/* NULL when out of memory or threads. */
struct capture_ops *capture_ops_start(const struct capture_ops_opts *o);
/* Stops the thread (before the run's last row is written). NULL is fine. */
void capture_ops_stop(struct capture_ops *ops);
/* Stops it if need be, and frees. NULL is fine. */
void capture_ops_free(struct capture_ops *ops);

/* The run's totals from the engine's: less what went into the run of an
 * earlier database (before a reopen) where that can be subtracted. ops
 * may be NULL. */
void capture_ops_totals(const struct capture_ops *ops, const struct engine_totals *e,
			struct run_totals *t);
/* The named counters of the run (the queue, the spool, the WAL): n set. */
size_t capture_ops_counters(const struct store_stats *s, struct run_counter *c, size_t max);

/* For metrics_start: a sample now (ctx is the struct capture_ops). */
void capture_ops_sample(void *ctx, struct metrics_sample *m);

#endif
