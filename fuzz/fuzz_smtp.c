/* libFuzzer target: the SMTP dialogue parser fed in chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dissect/smtp.h"
#include "chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp *s = smtp_new(size > 0 && data[0] == 0xff);
	struct chunk c;
	while (chunk_next(&data, &size, &c)) {
		if (c.gap) {
			smtp_gap(s, c.dir, c.len);
			continue;
		}
		uint8_t *copy = malloc(c.len ? c.len : 1); /* exact size: ASan sees over-reads */
		memcpy(copy, c.p, c.len);
		struct feed_result r = smtp_feed(s, c.dir, copy, c.len);
		if (r.consumed > c.len)
			abort();
		free(copy);
	}
	smtp_free(s);
	return 0;
}
