/* Unit tests of the reports' helpers: time parsing and buckets
 * (reports/rtime.c) and escaping for HTML, JSON and CSV (rescape.c). The
 * report model is tested in test_report.c. */
#include "report_case.h"

/* ---- time ------------------------------------------------------------------ */

static void test_parse_time(void)
{
	static const struct {
		const char *in;
		double want;
	} good[] = {
		{"1795384080", 1795384080.0},
		{"1795384080.5", 1795384080.5},
		{"0", 0.0},
		{"1970-01-01", 0.0},
		{"2026-11-22", T0},
		{"2026-11-22T21:47:36Z", 1795384056.0},
		{"2026-11-22 21:47:36", 1795384056.0},
		{"2026-11-22T21:47", 1795384020.0},
		{"2026-11-22T21:47:36.25Z", 1795384056.25},
		{"2026-11-22T23:47:36+02:00", 1795384056.0},
		{"2026-11-22T16:47:36-0500", 1795384056.0},
		{"2026-11-23T02:47:36+05", 1795384056.0},
		{"2024-02-29", 1709164800.0},
	};
	static const char *const bad[] = {
		"", "yesterday", "2023-02-29", "2026-13-01", "2026-00-10", "2026-11-31",
		"2026-11-22T24:00", "2026-11-22T21:60", "2026-11-22T21:47:61",
		"2026-11-22T21:47:36+25:00", "2026-11-22X", "12ab", "-5", "2026-1-2",
		"2026-11-22T", "2026-11-22T21", "1795384080.", "2026-11-22T21:47:36.Z",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		double t = -1;
		CHECK_INT(report_parse_time(good[i].in, &t), 0);
		if (!CHECK(t == good[i].want))
			fprintf(stderr, "     %s -> %.3f, want %.3f\n", good[i].in, t, good[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		double t;
		if (!CHECK(report_parse_time(bad[i], &t) < 0))
			fprintf(stderr, "     '%s' accepted\n", bad[i]);
	}
}

static void test_buckets(void)
{
	char buf[32];
	double t = 1795384056.0; /* Sunday 2026-11-22 21:47:36 */
	CHECK(rtime_bucket_start(REPORT_BY_HOUR, t) == 1795381200.0);
	CHECK(rtime_bucket_start(REPORT_BY_DAY, t) == T0);
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, t) == 1794787200.0); /* Monday 11-16 */
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, 1794787200.0) == 1794787200.0);
	rtime_label(REPORT_BY_HOUR, 1795381200.0, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-22 21:00");
	rtime_label(REPORT_BY_DAY, T0, buf, sizeof buf);
	CHECK_STR(buf, "2026-11-22");
	rtime_label(REPORT_BY_WEEK, 1794787200.0, buf, sizeof buf);
	CHECK_STR(buf, "2026-W47");
	/* Sunday 2021-01-03 is in ISO week 53 of 2020, which began on 12-28 */
	CHECK(rtime_bucket_start(REPORT_BY_WEEK, 1609675200.0) == 1609113600.0);
	rtime_label(REPORT_BY_WEEK, 1609113600.0, buf, sizeof buf);
	CHECK_STR(buf, "2020-W53");
	CHECK_INT(rtime_auto(T0, T0 + 2 * DAY), REPORT_BY_HOUR);
	CHECK_INT(rtime_auto(T0, T0 + 3 * DAY), REPORT_BY_DAY);
	CHECK_INT(rtime_auto(T0, T0 + 100 * DAY), REPORT_BY_WEEK);
}

/* ---- escaping -------------------------------------------------------------- */

typedef void (*esc_fn)(FILE *, const char *);

static void check_escape(esc_fn fn, const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, in);
	fclose(f);
	CHECK_STR(buf, want);
	free(buf);
}

static void test_escape(void)
{
	check_escape(esc_html, "<script>alert('x')&\"</script>",
		     "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;");
	check_escape(esc_html, "a\x01\x7f\xc3", "a&#xFFFD;&#xFFFD;&#xC3;");
	check_escape(esc_html, "mx1.example", "mx1.example");
	check_escape(esc_json, "a\"b\\c\n\x01\xff", "\"a\\\"b\\\\c\\u000a\\u0001\\u00ff\"");
	check_escape(esc_json, NULL, "null");
	check_escape(esc_csv, "plain", "plain");
	check_escape(esc_csv, "a,b", "\"a,b\"");
	check_escape(esc_csv, "x\"y", "\"x\"\"y\"");
	check_escape(esc_csv, " lead", "\" lead\"");
	check_escape(esc_csv, "line\nbreak", "\"line\nbreak\"");
	check_escape(esc_csv, NULL, "");
}

int main(void)
{
	test_parse_time();
	test_buckets();
	test_escape();
	return check_done("report_helpers");
}
