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

/* NULL when no bar is to be drawn. */
struct progress *progress_new(const struct source *src);

/* n more frames were read (engine_opts.on_frames): counts, and redraws
 * now and then. */
void progress_frames(void *pr, size_t n);

/* Clears the bar. NULL is fine. */
void progress_free(struct progress *pr);

#endif
