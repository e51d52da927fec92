/* A progress bar for reading a capture file on a terminal: percent of the
 * file read and packets per second on standard error, redrawn a few times
 * a second. Never shown when standard error is not a terminal, nor for live
 * captures. */
#ifndef SMTPTLS_PROGRESS_H
#define SMTPTLS_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "../capture/source.h"

struct progress;

/* NULL when no bar is to be drawn (then call next directly). */
struct progress *progress_new(struct source *src, source_frames_fn next, void *next_ctx);

/* A source_frames_fn: counts, redraws now and then, calls next. */
void progress_frames(void *pr, const struct frame *f, size_t n);

/* Clears the bar. NULL is fine. */
void progress_free(struct progress *pr);

#endif
