/* A minimal test harness: CHECK macros count and report failures with
 * their location; check_done() prints the tally and gives the exit code.
 * Header-only so every test program is one .c file. */
#ifndef SMTPTLS_CHECK_H
#define SMTPTLS_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int check_count, check_failed;

static inline int check_report(int ok, const char *file, int line, const char *what)
{
	check_count++;
	if (!ok) {
		check_failed++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
	}
	return ok;
}

#define CHECK(cond) check_report(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_INT(got, want)                                                          \
	do {                                                                          \
		long long g_ = (long long)(got), w_ = (long long)(want);              \
		if (!check_report(g_ == w_, __FILE__, __LINE__, #got " == " #want))   \
			fprintf(stderr, "     got %lld, want %lld\n", g_, w_);        \
	} while (0)

#define CHECK_STR(got, want)                                                          \
	do {                                                                          \
		const char *g_ = (got), *w_ = (want);                                 \
		int ok_ = g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_;                  \
		if (!check_report(ok_, __FILE__, __LINE__, #got " == " #want))        \
			fprintf(stderr, "     got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", \
				w_ ? w_ : "(null)");                                  \
	} while (0)

/* Prints the tally; returns the process exit status. */
static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failed);
	return check_failed ? 1 : 0;
}

/* Appends a space (unless out is empty) and the formatted text to out:
 * tests describe a parser's facts as one line of "key=value" words. */
__attribute__((format(printf, 3, 4)))
static inline void check_describe(char *out, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;
	if (used > 0 && used + 1 < cap)
		out[used++] = ' ', out[used] = '\0';
	va_start(ap, fmt);
	vsnprintf(out + used, cap - used, fmt, ap);
	va_end(ap);
}

#endif
