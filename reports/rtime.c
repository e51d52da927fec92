#define _POSIX_C_SOURCE 200809L
#include "rtime.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400.0
#define MONDAY_ORIGIN (-3 * DAY) /* 1969-12-29, a Monday */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3u : 9u)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static int days_in_month(long y, unsigned m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* Reads exactly n digits at *p; -1 if they are not there. */
static long digits(const char **p, int n)
{
	long v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

static int parse_epoch(const char *s, double *out)
{
	char *end;
	const char *p = s;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == s || (*p && (*p != '.' || !isdigit((unsigned char)p[1]))))
		return -1;
	double v = strtod(s, &end);
	if (*end || v > 1e12)
		return -1;
	*out = v;
	return 0;
}

/* "Z", "+02:00", "+0200", "+02" or nothing: the offset east of UTC. */
static int parse_offset(const char *p, double *secs)
{
	*secs = 0;
	if (!*p || (p[0] == 'Z' && !p[1]))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	int sign = *p++ == '-' ? -1 : 1;
	long h = digits(&p, 2), m = 0;
	if (*p == ':')
		p++;
	if (*p)
		m = digits(&p, 2);
	if (h < 0 || h > 23 || m < 0 || m > 59 || *p)
		return -1;
	*secs = sign * (h * 3600.0 + m * 60.0);
	return 0;
}

/* ".123" at *p: the fraction of a second (0 if no '.'); -1 if malformed. */
static double fraction(const char **p)
{
	double v = 0, scale = 0.1;
	if (**p != '.')
		return 0;
	(*p)++;
	if (!isdigit((unsigned char)**p))
		return -1;
	for (; isdigit((unsigned char)**p); (*p)++, scale /= 10)
		v += (**p - '0') * scale;
	return v;
}

/* HH:MM[:SS[.frac]] at *p; seconds of the day. */
static int parse_clock(const char **p, double *secs)
{
	long h = digits(p, 2), m = -1, s = 0;
	double frac = 0;
	if (**p == ':') {
		(*p)++;
		m = digits(p, 2);
	}
	if (m >= 0 && **p == ':') {
		(*p)++;
		s = digits(p, 2);
		frac = fraction(p);
	}
	if (h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 60 || frac < 0)
		return -1;
	*secs = h * 3600.0 + m * 60.0 + (double)s + frac;
	return 0;
}

/* YYYY-MM-DD at *p; days since 1970-01-01. */
static int parse_date(const char **p, long *days)
{
	long y = digits(p, 4), mo = -1, d = -1;
	if (y >= 0 && **p == '-') {
		(*p)++;
		mo = digits(p, 2);
	}
	if (mo >= 1 && mo <= 12 && **p == '-') {
		(*p)++;
		d = digits(p, 2);
	}
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
		return -1;
	*days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	return 0;
}

static int parse_iso(const char *s, double *out)
{
	const char *p = s;
	long days;
	double clock = 0, offset;
	if (parse_date(&p, &days) < 0)
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (parse_clock(&p, &clock) < 0)
			return -1;
	}
	if (parse_offset(p, &offset) < 0)
		return -1;
	*out = (double)days * DAY + clock - offset;
	return 0;
}

int report_parse_time(const char *s, double *out)
{
	if (!s || !*s)
		return -1;
	if (parse_epoch(s, out) == 0)
		return 0;
	return parse_iso(s, out);
}

static void format_with(double t, const char *fmt, char *buf, size_t n)
{
	struct tm tm;
	time_t secs = (time_t)floor(t);
	if (!isfinite(t) || !gmtime_r(&secs, &tm) || !strftime(buf, n, fmt, &tm))
		snprintf(buf, n, "-");
}

void rtime_format(double t, char *buf, size_t n)
{
	format_with(t, "%Y-%m-%d %H:%M:%S", buf, n);
}

void rtime_iso(double t, char *buf, size_t n)
{
	format_with(t, "%Y-%m-%dT%H:%M:%SZ", buf, n);
}

struct rtime_bucket rtime_bucket(enum report_by by)
{
	struct rtime_bucket b = {3600.0, 0.0};
	if (by == REPORT_BY_DAY)
		b.width = DAY;
	else if (by == REPORT_BY_WEEK)
		b = (struct rtime_bucket){7 * DAY, MONDAY_ORIGIN};
	return b;
}

double rtime_bucket_start(enum report_by by, double t)
{
	struct rtime_bucket b = rtime_bucket(by);
	return floor((t - b.origin) / b.width) * b.width + b.origin;
}

void rtime_label(enum report_by by, double start, char *buf, size_t n)
{
	if (by == REPORT_BY_WEEK)
		format_with(start, "%G-W%V", buf, n);
	else if (by == REPORT_BY_DAY)
		format_with(start, "%Y-%m-%d", buf, n);
	else
		format_with(start, "%Y-%m-%d %H:00", buf, n);
}

enum report_by rtime_auto(double first, double last)
{
	double span = isfinite(first) && isfinite(last) ? last - first : 0;
	if (span <= 2 * DAY)
		return REPORT_BY_HOUR;
	return span <= 92 * DAY ? REPORT_BY_DAY : REPORT_BY_WEEK;
}

const char *rtime_by_name(enum report_by by)
{
	static const char *const names[] = {"auto", "hour", "day", "week"};
	return (unsigned)by < 4 ? names[by] : "auto";
}

int report_parse_by(const char *s, enum report_by *out)
{
	for (int i = REPORT_BY_HOUR; i <= REPORT_BY_WEEK; i++)
		if (!strcmp(s, rtime_by_name((enum report_by)i))) {
			*out = (enum report_by)i;
			return 0;
		}
	return -1;
}
