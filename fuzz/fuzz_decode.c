/* libFuzzer target: the decoder over a sequence of frames (frames.h), as a
 * capture feeds it: tunnels, fragments in any order across frames, the
 * fragment timeout, small caps. Each frame sits in a buffer of its own
 * size (an over-read is caught), freed once DECODER_KEEP more frames were
 * decoded; every output of the last DECODER_KEEP frames is read again
 * after each frame, so a datagram freed too early is caught too; and an
 * Ethernet frame's direct decoding is checked against the general walk. */
#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "frames.h"

struct kept {
	uint8_t *frame;
	int ok;
	struct tcp_packet t;
};

static volatile uint8_t sink;

/* An Ethernet frame the decoder took by its direct path (IP, TCP, nothing
 * else) must decode the same through the walk, as a raw IP packet. */
static void check_fast_path(const uint8_t *p, size_t len, const struct tcp_packet *t)
{
	struct tcp_packet w;
	if (len < 14 || t->layers || t->reassembled || t->proto != DECODE_PROTO_TCP)
		return;
	if (decode_packet(101, p + 14, len - 14, &w) != DECODE_OK || w.payload != t->payload ||
	    w.caplen != t->caplen || w.wirelen != t->wirelen || w.seq != t->seq ||
	    w.ack != t->ack || w.flags != t->flags || w.sport != t->sport ||
	    w.dport != t->dport || w.l3 != t->l3 || w.l3_len != t->l3_len ||
	    w.tcp_cut != t->tcp_cut || memcmp(w.src, t->src, 16) || memcmp(w.dst, t->dst, 16))
		__builtin_trap();
}

/* Reads every byte the output points at; traps on a broken invariant. */
static void touch(const struct tcp_packet *t)
{
	uint8_t x = 0;
	if (t->caplen > t->wirelen || (t->proto != DECODE_PROTO_TCP && t->proto != DECODE_PROTO_UDP))
		__builtin_trap();
	for (size_t i = 0; i < t->caplen; i++)
		x ^= t->payload[i];
	for (size_t i = 0; i < t->l3_len; i++)
		x ^= t->l3[i];
	sink ^= x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kept keep[DECODER_KEEP + 1];
	struct decoder_limits lim = {0, 8, 30.0, 8}; /* the smallest byte cap */
	struct fuzz_frame f;
	double ts = 1000;
	if (size < 1)
		return 0;
	int linktype = fuzz_links[data[0] % FUZZ_LINKS];
	struct decoder *d = decoder_new(linktype, &lim);
	if (!d)
		return 0;
	data++, size--;
	for (unsigned i = 0; fuzz_frame_next(&data, &size, &f); i++) {
		struct kept *k = &keep[i % (DECODER_KEEP + 1)];
		free(k->frame);
		k->frame = malloc(f.len ? f.len : 1);
		if (!k->frame)
			break;
		memcpy(k->frame, f.p, f.len);
		ts += f.step * FUZZ_STEP;
		if (f.step == 255)
			decoder_expire(d, ts);
		k->ok = decoder_frame(d, k->frame, f.len, ts, &k->t) == DECODE_OK;
		if (k->ok && linktype == 1)
			check_fast_path(k->frame, f.len, &k->t);
		for (unsigned j = 0; j <= DECODER_KEEP && j <= i; j++)
			if (keep[(i - j) % (DECODER_KEEP + 1)].ok)
				touch(&keep[(i - j) % (DECODER_KEEP + 1)].t);
	}
	struct decoder_counter c[DECODER_COUNTERS_MAX];
	if (decoder_counters(d, c, DECODER_COUNTERS_MAX) > DECODER_COUNTERS_MAX)
		__builtin_trap();
	decoder_free(d);
	for (size_t i = 0; i <= DECODER_KEEP; i++) {
		free(keep[i].frame);
		keep[i].frame = NULL;
		keep[i].ok = 0;
	}
	return 0;
}
