/* The one driver for the tests that feed a stream parser a case's steps
 * whole, with each step cut in two at every byte, and one byte at a time,
 * and check that the facts are the same every way (test_smtp, test_tls*,
 * test_session*). Every piece is handed over in a buffer of exactly its
 * size, so AddressSanitizer sees a read past it. Header-only like check.h. */
#ifndef SMTPTLS_TEST_SPLIT_FEED_H
#define SMTPTLS_TEST_SPLIT_FEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* One step of a case: bytes one side sent, or a gap in its stream. */
struct split_step {
	int dir;
	const void *p; /* NULL: a gap of gap bytes */
	size_t n;
	uint64_t gap;
};

/* How a test runs its parser. */
struct split_ops {
	void *(*start)(void *arg); /* a fresh run of the parser */
	void (*data)(void *run, int dir, const uint8_t *p, size_t n);
	void (*gap)(void *run, int dir, uint64_t n);
	/* Describes the facts into out (empty on entry), frees the run and
	 * returns how often the parser broke its feed contract. */
	unsigned (*finish)(void *run, char *out, size_t cap);
};

enum split_mode { SPLIT_WHOLE, SPLIT_CUT, SPLIT_BYTES };

static inline void split_piece(const struct split_ops *ops, void *run, int dir,
			       const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, p, n);
	ops->data(run, dir, copy, n);
	free(copy);
}

/* One run; with SPLIT_CUT, step cut_step goes in two pieces cut at `at`. */
static inline unsigned split_run(const struct split_ops *ops, void *arg,
				 const struct split_step *st, size_t n, enum split_mode mode,
				 size_t cut_step, size_t at, char *out, size_t cap)
{
	void *run = ops->start(arg);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = st[i].p;
		size_t cut = mode == SPLIT_CUT && i == cut_step && at < st[i].n ? at : st[i].n;
		if (!p) {
			ops->gap(run, st[i].dir, st[i].gap);
		} else if (mode == SPLIT_BYTES) {
			for (size_t k = 0; k < st[i].n; k++)
				split_piece(ops, run, st[i].dir, p + k, 1);
		} else {
			if (cut > 0)
				split_piece(ops, run, st[i].dir, p, cut);
			if (st[i].n > cut)
				split_piece(ops, run, st[i].dir, p + cut, st[i].n - cut);
		}
	}
	out[0] = '\0';
	return ops->finish(run, out, cap);
}

/* The case whole must give the facts want; cut at every byte of every
 * step, and byte by byte, the same facts; and no run may break the feed
 * contract. name tells the case in failure messages. */
static inline void split_feed_check(const struct split_ops *ops, void *arg,
				    const struct split_step *st, size_t n, const char *want,
				    const char *name)
{
	char whole[2048], got[2048];
	unsigned contract = 0, mismatches = 0;
	int before = check_failed;
	contract += split_run(ops, arg, st, n, SPLIT_WHOLE, 0, 0, whole, sizeof whole);
	CHECK_STR(whole, want);
	for (size_t i = 0; i < n; i++) {
		for (size_t at = 1; at < st[i].n; at++) {
			contract += split_run(ops, arg, st, n, SPLIT_CUT, i, at, got, sizeof got);
			if (strcmp(got, whole) != 0 && mismatches++ == 0)
				fprintf(stderr, "     step %zu cut at %zu:\n     got  %s\n     want %s\n",
					i, at, got, whole);
		}
	}
	CHECK_INT(mismatches, 0);
	contract += split_run(ops, arg, st, n, SPLIT_BYTES, 0, 0, got, sizeof got);
	CHECK_STR(got, whole);
	CHECK_INT(contract, 0);
	if (check_failed != before)
		fprintf(stderr, "     in case \"%s\"\n", name);
}

#endif
