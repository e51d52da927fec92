/* Times for reports: parsing the --since/--until arguments, UTC
 * formatting, and the buckets of the time series. */
#ifndef SMTPTLS_RTIME_H
#define SMTPTLS_RTIME_H

#include <stddef.h>

#include "report.h"

/* A bucket starts at origin + k * width (UTC). Weeks start on Monday. */
struct rtime_bucket {
	double width, origin;
};

/* "2026-11-22 21:47:36" (UTC), or "-" for a time that is not finite. */
void rtime_format(double t, char *buf, size_t n);
/* "2026-11-22T21:47:36Z". */
void rtime_iso(double t, char *buf, size_t n);

struct rtime_bucket rtime_bucket(enum report_by by);
/* The start of the bucket holding t. */
double rtime_bucket_start(enum report_by by, double t);
/* "2026-11-22 21:00", "2026-11-22" or "2026-W47" (ISO week). */
void rtime_label(enum report_by by, double start, char *buf, size_t n);
/* Hour for spans up to 2 days, day up to 92 days, week beyond. */
enum report_by rtime_auto(double first, double last);
const char *rtime_by_name(enum report_by by);

#endif
