#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"

#define PROGRESS_EVERY 65536 /* packets between clock reads */
#define BAR_WIDTH 30

struct progress {
	const struct source *src;
	uint64_t packets;
	double started, drawn;
};

struct progress *progress_new(const struct source *src)
{
	uint64_t done, total;
	source_progress(src, &done, &total);
	if (source_is_live(src) || total == 0 || !isatty(STDERR_FILENO))
		return NULL;
	struct progress *pr = calloc(1, sizeof *pr);
	if (!pr)
		return NULL;
	pr->src = src;
	pr->started = pr->drawn = clock_seconds(CLOCK_MONOTONIC);
	return pr;
}

static void draw(struct progress *pr, double now)
{
	uint64_t done, total;
	char bar[BAR_WIDTH + 1];
	source_progress(pr->src, &done, &total);
	double frac = total ? (double)done / (double)total : 0;
	int fill = (int)(frac * BAR_WIDTH);
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	double rate = now > pr->started ? (double)pr->packets / (now - pr->started) : 0;
	fprintf(stderr, "\r[%s] %5.1f%%  %llu packets  %.2f Mpkt/s ", bar, 100.0 * frac,
		(unsigned long long)pr->packets, rate / 1e6);
	pr->drawn = now;
}

void progress_frames(void *ctx, size_t n)
{
	struct progress *pr = ctx;
	uint64_t before = pr->packets;
	pr->packets += n;
	if (pr->packets / PROGRESS_EVERY != before / PROGRESS_EVERY) {
		double now = clock_seconds(CLOCK_MONOTONIC);
		if (now - pr->drawn >= 0.2)
			draw(pr, now);
	}
}

void progress_free(struct progress *pr)
{
	if (!pr)
		return;
	if (pr->drawn > pr->started)
		fprintf(stderr, "\r%*s\r", BAR_WIDTH + 48, "");
	free(pr);
}
