/* Unit tests for engine/intake.c, where each frame is decoded once: which
 * frames go on (TCP on a followed port, any TCP when classifying), how the
 * others are counted, the flow hash (the same both ways), the time stamp,
 * and whether a segment's bytes last beyond the source's callback. */
#include <stdlib.h>
#include <string.h>

#include "../../capture/flow.h"
#include "../../engine/intake.h"
#include "check.h"
#include "frames.h"

#define CLIENT 0xc0000201u /* 192.0.2.1 */
#define SERVER 0xc6336419u /* 198.51.100.25 */

struct intake_case {
	const char *what;
	struct tseg seg;
	size_t cut;         /* captured bytes, 0: all */
	int bad_ihl;        /* an IPv4 header length below 20 bytes */
	int classify;
	int goes_on;
	const char *counter; /* the counter that goes up when it does not */
};

static const struct intake_case cases[] = {
	{"SMTP to the server", {CLIENT, SERVER, 40000, 25, 1, 0, 0x02, NULL, 0, 0, 0},
	 0, 0, 0, 1, NULL},
	{"the server's answer", {SERVER, CLIENT, 25, 40000, 7, 2, 0x18, "220 x\r\n", 7, 0, 0},
	 0, 0, 0, 1, NULL},
	{"465", {CLIENT, SERVER, 40001, 465, 1, 0, 0x02, NULL, 0, 0, 0}, 0, 0, 0, 1, NULL},
	{"web", {CLIENT, SERVER, 40002, 80, 1, 0, 0x02, NULL, 0, 0, 0}, 0, 0, 0, 0, "other_ports"},
	{"web, classifying", {CLIENT, SERVER, 40002, 80, 1, 0, 0x02, NULL, 0, 0, 0}, 0, 0, 1, 1, NULL},
	{"UDP", {CLIENT, SERVER, 5353, 53, 0, 0, 0, "abcd", 4, 17, 0}, 0, 0, 0, 0, "non_tcp"},
	{"a fragment", {CLIENT, SERVER, 40003, 25, 1, 0, 0x10, "xyz", 3, 0, 1}, 0, 0, 0, 0,
	 "fragments"},
	{"TCP header cut", {CLIENT, SERVER, 40004, 25, 1, 0, 0x10, NULL, 0, 0, 0}, 44, 0, 0, 0,
	 "truncated"},
	{"no IP header", {CLIENT, SERVER, 40005, 25, 1, 0, 0x10, NULL, 0, 0, 0}, 13, 0, 0, 0,
	 "truncated"},
	{"IP header length 4", {CLIENT, SERVER, 40006, 25, 1, 0, 0x10, NULL, 0, 0, 0}, 0, 1, 0, 0,
	 "decode_errors"},
};

static uint64_t counter(const struct intake_counters *c, const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "other_ports"))
		return c->other_ports;
	if (!strcmp(name, "non_tcp"))
		return c->non_tcp;
	if (!strcmp(name, "fragments"))
		return c->fragments;
	if (!strcmp(name, "truncated"))
		return c->truncated;
	return c->decode_errors;
}

static void test_cases(void)
{
	struct port_map ports;
	ports_default(&ports);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct intake_case *k = &cases[i];
		struct intake *in = intake_new(1 /* Ethernet */, &ports, k->classify);
		uint8_t buf[256];
		size_t n = tframe(buf, &k->seg), cap = k->cut ? k->cut : n;
		if (k->bad_ihl)
			buf[14] = 0x41;
		struct frame f = {1767225600.25, buf, (uint32_t)cap, (uint32_t)n, 1};
		struct segment s;
		int before = check_failed;
		CHECK_INT(intake_frame(in, &f, &s), k->goes_on);
		const struct intake_counters *c = intake_counters(in);
		CHECK_INT(c->packets, 1);
		CHECK_INT(c->bytes, n);
		CHECK_INT(c->other_ports + c->non_tcp + c->fragments + c->truncated + c->decode_errors,
			  !k->goes_on);
		CHECK_INT(counter(c, k->counter), k->counter != NULL);
		if (k->goes_on) {
			CHECK(s.ts == f.ts);
			CHECK_INT(s.hash, flow_packet_hash(&s.t));
			CHECK_INT(s.lasting, 1);
			CHECK_INT(s.t.caplen, k->seg.len);
			CHECK(s.t.l3 == buf + 14);
		}
		if (check_failed != before)
			fprintf(stderr, "     in \"%s\"\n", k->what);
		intake_free(in);
	}
}

/* Both directions hash alike; the frame's lasting flag carries over. */
static void test_hash_and_lasting(void)
{
	struct port_map ports;
	ports_default(&ports);
	struct intake *in = intake_new(1, &ports, 0);
	struct tseg a = {CLIENT, SERVER, 40000, 25, 1, 0, 0x10, "EHLO x\r\n", 8, 0, 0};
	struct tseg b = {SERVER, CLIENT, 25, 40000, 1, 9, 0x10, "250 ok\r\n", 8, 0, 0};
	struct tseg other = {CLIENT, SERVER, 40001, 25, 1, 0, 0x10, "EHLO x\r\n", 8, 0, 0};
	uint8_t fa[128], fb[128], fo[128];
	struct frame f[3] = {{1.0, fa, 0, 0, 0}, {2.0, fb, 0, 0, 1}, {3.0, fo, 0, 0, 1}};
	f[0].caplen = f[0].wirelen = (uint32_t)tframe(fa, &a);
	f[1].caplen = f[1].wirelen = (uint32_t)tframe(fb, &b);
	f[2].caplen = f[2].wirelen = (uint32_t)tframe(fo, &other);
	struct segment s[3];
	for (int i = 0; i < 3; i++)
		CHECK_INT(intake_frame(in, &f[i], &s[i]), 1);
	CHECK_INT(s[0].hash, s[1].hash);
	CHECK(s[0].hash != s[2].hash);
	CHECK_INT(s[0].lasting, 0); /* the frame itself does not last */
	CHECK_INT(s[1].lasting, 1);
	CHECK(s[1].ts == 2.0);
	CHECK_INT(intake_counters(in)->packets, 3);
	struct intake_counters sum = {0};
	intake_counters_add(&sum, intake_counters(in));
	intake_counters_add(&sum, intake_counters(in));
	CHECK_INT(sum.packets, 6);
	intake_tick(in, 10.0);
	intake_free(in);
	intake_free(NULL);
}

int main(void)
{
	test_cases();
	test_hash_and_lasting();
	return check_done("intake");
}
