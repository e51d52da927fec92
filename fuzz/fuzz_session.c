/* libFuzzer target: a whole session (SMTP, hand-over, TLS) fed in chunks,
 * then turned into a record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/record.h"
#include "../dissect/session.h"
#include "chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct sess *s = sess_new(data[0] & 1 ? SESS_PORT_TLS : SESS_PORT_SMTP, (data[0] >> 1) & 1);
	struct chunk c;
	struct session_record r;
	data++, size--;
	while (chunk_next(&data, &size, &c)) {
		if (c.gap) {
			sess_gap(s, c.dir, c.len);
			continue;
		}
		uint8_t *copy = malloc(c.len ? c.len : 1);
		memcpy(copy, c.p, c.len);
		sess_data(s, c.dir, copy, c.len);
		free(copy);
	}
	session_record_init(&r);
	sess_result(s, &r);
	if (strnlen(r.sni, sizeof r.sni) == sizeof r.sni ||
	    strnlen(r.server_name, sizeof r.server_name) == sizeof r.server_name)
		abort(); /* every string stays terminated */
	sess_free(s);
	return 0;
}
