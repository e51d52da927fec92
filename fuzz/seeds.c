/* Writes fuzz seeds from a capture: for every connection in it, the
 * session's reassembled bytes in the chunk format of chunks.h (one chunk
 * per delivery, gaps as gap chunks), as OUTDIR/PREFIX-N; with DECODE_DIR,
 * also its frames in the format of frames.h (the first 64 KiB of them) as
 * DECODE_DIR/PREFIX. Used by scripts/fuzz.sh to seed the corpora from
 * tests/data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../capture/decode.h"
#include "../capture/flow.h"
#include "../capture/source.h"
#include "frames.h"

struct seed {
	FILE *f;
};

static const char *outdir, *prefix;
static int count;

static int server_port(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == 25 || port == 465 || port == 587;
}

static void *seed_open(void *ctx, const struct flow_info *fi)
{
	char path[4096];
	struct seed *s = calloc(1, sizeof *s);
	(void)ctx;
	snprintf(path, sizeof path, "%s/%s-%d", outdir, prefix, count++);
	s->f = fopen(path, "wb");
	if (s->f) /* the session target reads a first byte: port kind, midstream */
		fputc((fi->server_port == 465) | (fi->midstream << 1), s->f);
	return s;
}

static void put(struct seed *s, int ctl, const uint8_t *p, size_t len)
{
	while (s->f && len > 0) {
		size_t n = len > 256 ? 256 : len;
		fputc(ctl, s->f);
		fputc((int)(n - 1), s->f);
		if (p) {
			fwrite(p, 1, n, s->f);
			p += n;
		}
		len -= n;
	}
}

static void seed_data(void *user, int dir, const uint8_t *p, size_t len)
{
	put(user, dir, p, len);
}

static void seed_gap(void *user, int dir, uint64_t len)
{
	put(user, dir | 6, NULL, len > 256 ? 256 : (size_t)len);
}

static void seed_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct seed *s = user;
	(void)ctx, (void)fi, (void)why;
	if (s->f)
		fclose(s->f);
	free(s);
}

static const struct link_decoder *link_dec;
static struct flow_table *table;

/* The decoder's seed: frames as they come, up to 64 KiB. */
static FILE *frames_out;
static size_t frames_bytes;
static double frames_ts;

static void write_frame(const struct frame *f)
{
	if (frames_bytes == 0)
		frames_ts = f->ts;
	double dt = f->ts - frames_ts;
	unsigned step = dt <= 0 ? 0 : dt / FUZZ_STEP > 254 ? 254 : (unsigned)(dt / FUZZ_STEP + 0.5);
	size_t len = f->caplen > 65535 ? 65535 : f->caplen;
	if (!frames_out || frames_bytes + len + 3 > 65536)
		return;
	frames_ts += step * FUZZ_STEP;
	fputc((int)(len >> 8), frames_out);
	fputc((int)(len & 0xff), frames_out);
	fputc((int)step, frames_out);
	fwrite(f->data, 1, len, frames_out);
	frames_bytes += len + 3;
}

static void open_frames(const char *dir, int linktype)
{
	char path[4096];
	for (size_t i = 0; i < FUZZ_LINKS; i++) {
		if (fuzz_links[i] != linktype)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, prefix);
		if ((frames_out = fopen(path, "wb")) != NULL)
			fputc((int)i, frames_out);
		return;
	}
}

static void on_frames(void *ctx, const struct frame *f, size_t n)
{
	struct tcp_packet t;
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		write_frame(&f[i]);
	for (size_t i = 0; i < n; i++)
		if (decode_frame(link_dec, f[i].data, f[i].caplen, &t) == 0 &&
		    (server_port(NULL, t.sport) || server_port(NULL, t.dport)))
			flow_table_packet(table, &t, f[i].ts);
}

int main(int argc, char **argv)
{
	static const struct flow_callbacks cb = {server_port, seed_open, NULL, seed_data,
						 seed_gap, NULL, seed_close};
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	char err[512];
	struct source *src;
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: seeds CAPTURE OUTDIR PREFIX [DECODE_DIR]\n");
		return 2;
	}
	outdir = argv[2];
	prefix = argv[3];
	struct source_opts so = {.file = argv[1]};
	if (source_open(&src, &so, err, sizeof err) < 0) {
		fprintf(stderr, "seeds: %s\n", err);
		return 1;
	}
	link_dec = decode_link(source_linktype(src));
	if (argc == 5)
		open_frames(argv[4], source_linktype(src));
	table = flow_table_new(&lim, &cb, NULL);
	source_run(src, on_frames, NULL, NULL, err, sizeof err);
	flow_table_free(table);
	source_close(src);
	if (frames_out)
		fclose(frames_out);
	return 0;
}
