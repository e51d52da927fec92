/* libFuzzer target: the TLS record and hello parser fed in chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/tls.h"
#include "chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls *t = tls_new();
	struct chunk c;
	while (chunk_next(&data, &size, &c)) {
		if (c.gap) {
			tls_gap(t, c.dir, c.len);
			continue;
		}
		uint8_t *copy = malloc(c.len ? c.len : 1);
		memcpy(copy, c.p, c.len);
		struct feed_result r = tls_feed(t, c.dir, copy, c.len);
		if (r.consumed > c.len)
			abort();
		free(copy);
	}
	tls_free(t);
	return 0;
}
