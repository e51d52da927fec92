/* What the runs of a ClickHouse database say (internal to store/):
 * whether a capture file was read already (store.c's runlog does the
 * same for SQLite). */
#ifndef SMTPTLS_CHRUNS_H
#define SMTPTLS_CHRUNS_H

#include <stddef.h>

#include "chttp.h"
#include "churl.h"
#include "store.h"

/* A run of this sensor that read a file of f's size: with f's SHA-256,
 * one with that SHA-256 first, else one that never recorded its own. A
 * STORE_RUN_ code (STORE_RUN_BEGUN: none) with the run in what (a
 * sentence), or -1 when that cannot be told (unreachable; an answer that
 * is not one is said on standard error). */
int chruns_find_file(struct chttp *http, const struct ch_url *url, const char *sensor,
		     const struct run_file *f, char *what, size_t whatlen);

#endif
