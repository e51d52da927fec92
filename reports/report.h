/* Reports: read-only queries over the session database, rendered as text
 * (an 80-column terminal), CSV, JSON or one self-contained HTML page.
 *
 * Definitions every number follows:
 *   encrypted  tls_version IS NOT NULL (a ServerHello was seen);
 *   known      encrypted, or transport other than 'unknown'. Percentages of
 *              sessions use the known sessions as denominator; 'unknown'
 *              sessions (neither SMTP nor a TLS hello) are shown apart and
 *              never counted as plaintext.
 * Times are UTC; the time filter applies to ts_start (since inclusive,
 * until exclusive). */
#ifndef SMTPTLS_REPORT_H
#define SMTPTLS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAX_PORTS 16
#define REPORT_TIME_MIN (-1e18)
#define REPORT_TIME_MAX 1e18

enum report_format { REPORT_TEXT = 0, REPORT_CSV, REPORT_JSON, REPORT_HTML };

/* Time-series granularity; AUTO picks hour, day or week from the span. */
enum report_by { REPORT_BY_AUTO = 0, REPORT_BY_HOUR, REPORT_BY_DAY, REPORT_BY_WEEK };

/* Which sessions a report or an export covers; the filters combine. */
struct report_filter {
	double since, until;             /* REPORT_TIME_MIN / MAX when not given */
	uint16_t ports[REPORT_MAX_PORTS]; /* server ports; none = all */
	size_t nports;
	char server[256];                /* server address or banner name; "" = all */
	char sensor[64];                 /* capture --sensor; "" = all */
};

struct report_options {
	enum report_format format;
	enum report_by by;
	long top;                        /* rows per ranked list; 0 = all */
	struct report_filter filter;
};

/* A filter that lets every session through. */
void report_filter_init(struct report_filter *f);

/* Writes the report on the database at path to out. Returns 0, or -1 with
 * a message naming the database in err. */
int report_run(const char *path, const struct report_options *o, FILE *out, char *err,
	       size_t errlen);

/* Parses an ISO 8601 time ("2026-11-22", "2026-11-22T21:48", "...:05Z",
 * "...+02:00") or epoch seconds ("1795384080", "1795384080.5"); a time
 * without an offset is UTC. Returns 0, or -1 if s is not one of these. */
int report_parse_time(const char *s, double *out);

/* Parses "hour", "day" or "week"; -1 otherwise. */
int report_parse_by(const char *s, enum report_by *out);

#endif
