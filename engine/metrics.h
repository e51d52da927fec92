/* Prometheus metrics over HTTP (libmicrohttpd): GET /metrics answers the
 * text exposition format (version 0.0.4) with the capture's counters,
 * taken at each request from a function that reads published snapshots
 * (engine_live, store_stats): nothing on the packet path waits for it. */
#ifndef SMTPTLS_METRICS_H
#define SMTPTLS_METRICS_H

#include <stddef.h>

#include "../store/store.h"
#include "engine.h"

struct metrics_sample {
	struct engine_totals e;
	struct store_stats s;
	double started;        /* the run's start, epoch seconds */
};

typedef void (*metrics_fill_fn)(void *ctx, struct metrics_sample *m);

struct metrics;

/* Parses ADDR:PORT ("127.0.0.1:9100", "[::1]:9100", "localhost:9100",
 * ":9100" for every address): 0, or -1 with a message in err. */
int metrics_parse_listen(const char *spec, char *err, size_t errlen);

/* Listens on spec and serves until metrics_stop; source (the interface or
 * file) labels every sample. NULL with a message naming the address in
 * err. */
struct metrics *metrics_start(const char *spec, const char *source, metrics_fill_fn fill,
			      void *ctx, char *err, size_t errlen);
void metrics_stop(struct metrics *m); /* NULL is fine */

/* The exposition text for one sample into buf (for tests): its length, or
 * 0 when it does not fit. */
size_t metrics_format(const struct metrics_sample *m, const char *source, char *buf,
		      size_t len);

#endif
