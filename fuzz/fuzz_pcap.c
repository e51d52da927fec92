/* libFuzzer target: the whole packet path. The input is a capture file
 * (pcap or pcapng), opened as a file the way `smtptls capture -r` opens
 * one (so the memory-mapped reader is fuzzed too), decoded, reassembled,
 * dissected and turned into records (not written: no database). DNS is
 * followed (UDP and TCP on port 53 into the passive-DNS table, the SNI of
 * port-443 ClientHellos, the DNS columns of each record), with a small
 * table so that its caps are reached. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../engine/engine.h"

static struct port_map ports;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	struct engine *e;
	int fd = memfd_create("fuzz.pcap", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	ports_default(&ports);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct engine_opts eo = {.src = {.file = path}, .ports = &ports,
				 .limits = {1000, 1u << 20, 64u << 10, 300.0, 5.0}, .threads = 1,
				 .dns = 1};
	pdns_limits_default(&eo.dns_limits);
	eo.dns_limits.max_bytes = 256u << 10;
	if (engine_open(&e, &eo, err, sizeof err) >= 0) {
		if (engine_start(e, NULL) == 0) {
			engine_run(e, NULL, NULL, err, sizeof err);
			engine_finish(e, END_EOF);
		}
		engine_close(e);
	}
	close(fd);
	return 0;
}
