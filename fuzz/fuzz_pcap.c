/* libFuzzer target: the whole packet path. The input is a capture file
 * (pcap or pcapng), opened as a file the way `smtptls capture -r` opens
 * one (so the memory-mapped reader is fuzzed too), decoded, reassembled,
 * dissected and turned into records (not written: no database). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../capture/source.h"
#include "../cli/pipeline.h"
#include "../cli/ports.h"

static struct port_map ports;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	struct source *src;
	int fd = memfd_create("fuzz.pcap", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	ports_default(&ports);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct source_opts so = {.file = path};
	if (source_open(&src, &so, err, sizeof err) == 0) {
		struct flow_limits lim = {1000, 1u << 20, 64u << 10, 300.0, 5.0};
		struct pipeline_opts po = {&ports, 0, lim, source_linktype(src), 0, NULL, 0, 0};
		struct pipeline *pl = pipeline_new(&po, NULL);
		if (pl) {
			source_run(src, pipeline_frames, NULL, pl, err, sizeof err);
			pipeline_finish(pl, END_EOF);
			pipeline_free(pl);
		}
		source_close(src);
	}
	close(fd);
	return 0;
}
