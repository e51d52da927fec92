/* The rollup sources of a report (store/rollup.h): for each rollup, the
 * SQL that gives its rows for the report's filter. A time range
 * [since, until) is cut into the all-time bucket (when it covers every
 * session), whole days, whole hours, and the seconds left at its edges;
 * the buckets come from the rollup tables, the edges from the same GROUP
 * BY computed over the sessions (through the ts_start index). With
 * --server, in scan mode, or when sessions were written that the rollups
 * do not count yet, the sessions in the filter are the only source. */
#ifndef SMTPTLS_RSOURCE_H
#define SMTPTLS_RSOURCE_H

#include <stddef.h>

#include "rdb.h"

struct rsource;

/* Reads the rollups' state through q (in the caller's read transaction)
 * and builds the sources of filter f (filter_only: only {{filter}}, for
 * reading session rows); on SQLite the sessions at the edges
 * are counted once, into temporary tables (temp.rq_edge_NAME, which needs
 * writes to the temporary database allowed). NULL with a message in err. */
struct rsource *rsource_new(struct rq *q, const struct report_filter *f, int scan,
			    int filter_only, char *err, size_t errlen);
void rsource_free(struct rsource *rs);

/* The template names: {{filter}}, {{src:R}}, {{src:R/hour}}, {{src:R/day}}. */
const struct sqlt_var *rsource_vars(const struct rsource *rs, size_t *n);
const struct rdb_coverage *rsource_coverage(const struct rsource *rs);

#endif
