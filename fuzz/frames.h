/* The fuzz input format of fuzz_decode (and what seeds writes for it): a
 * byte choosing the link type, then frames, each a 16-bit big-endian
 * length, a time step in quarter seconds (255: also expire by the clock),
 * and that many bytes (fewer at the end of the input). */
#ifndef SMTPTLS_FUZZ_FRAMES_H
#define SMTPTLS_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

static const int fuzz_links[] = {1, 101, 113, 276, 0, 12, 108, 228, 229};
#define FUZZ_LINKS (sizeof fuzz_links / sizeof fuzz_links[0])
#define FUZZ_STEP 0.25

struct fuzz_frame {
	const uint8_t *p;
	size_t len;
	unsigned step;
};

/* Takes the next frame from *in / *n; 0 when the input is used up. */
static inline int fuzz_frame_next(const uint8_t **in, size_t *n, struct fuzz_frame *f)
{
	if (*n < 3)
		return 0;
	size_t len = (size_t)(*in)[0] << 8 | (*in)[1];
	f->step = (*in)[2];
	*in += 3;
	*n -= 3;
	f->len = len < *n ? len : *n;
	f->p = *in;
	*in += f->len;
	*n -= f->len;
	return 1;
}

#endif
