/* Unit tests for engine/workers.c: a reader hands decoded segments to the
 * worker threads that own their flow hashes.
 *
 * FLOWS short SMTP sessions (SYN, SYN-ACK, greeting "220 mx<k>.example",
 * "EHLO c<k>", "250", RST), many open at once, are read twice and handed
 * to three workers:
 *  - from the workers' own read buffers (lasting frames), as a classic
 *    pcap file is read: the frames of ~10 buffers' worth go through the
 *    workers' buffers, and every buffer is filled with 0xAA the moment it
 *    is handed out again, so a segment still pointing into it when it is
 *    reused would spoil its row;
 *  - from one scratch frame buffer, overwritten after every hand-over (as
 *    libpcap's are): the workers must have copied what they keep.
 * Every session must come out as one row whose greeting name matches its
 * EHLO name, each thread must have followed only its own flows, and a
 * tick must reach every worker (live idle flows end by the clock). */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engine/intake.h"
#include "../../engine/workers.h"
#include "check.h"
#include "frames.h"

#define FLOWS 30000
#define OPEN 2000        /* sessions interleaved at once */
#define THREADS 3
#define FRAME_MAX 128

/* Frame j (0..5) of session k, into out; its length. Client sequence
 * numbers start at 100, the server's at 500. */
static size_t session_frame(uint8_t *out, unsigned k, int j)
{
	char greet[64], ehlo[32];
	uint32_t client = 0x0a000000u + k, server = 0xc6336400u + k % 200;
	uint16_t port = (uint16_t)(20000 + k % 40000);
	uint32_t gl = (uint32_t)snprintf(greet, sizeof greet, "220 mx%u.example ESMTP\r\n", k);
	uint32_t el = (uint32_t)snprintf(ehlo, sizeof ehlo, "EHLO c%u\r\n", k);
	const struct tseg segs[6] = {
		{client, server, port, 25, 100, 0, 0x02, NULL, 0, 0, 0},
		{server, client, 25, port, 500, 101, 0x12, NULL, 0, 0, 0},
		{server, client, 25, port, 501, 101, 0x18, greet, gl, 0, 0},
		{client, server, port, 25, 101, 501 + gl, 0x18, ehlo, el, 0, 0},
		{server, client, 25, port, 501 + gl, 101 + el, 0x18, "250 ok\r\n", 8, 0, 0},
		{client, server, port, 25, 101 + el, 0, 0x04, NULL, 0, 0, 0},
	};
	return tframe(out, &segs[j]);
}

/* The order frames are read in: OPEN sessions at a time, round robin. */
struct order {
	unsigned next_session, active;
	unsigned slot_k[OPEN];
	int slot_j[OPEN];
	unsigned at;
};

/* The next (session, frame); 0 at the end. */
static int order_next(struct order *o, unsigned *k, int *j)
{
	while (o->active > 0 || o->next_session < FLOWS) {
		if (o->active < OPEN && o->next_session < FLOWS) {
			o->slot_k[o->active] = o->next_session++;
			o->slot_j[o->active++] = 0;
		}
		unsigned i = o->at++ % o->active;
		*k = o->slot_k[i];
		*j = o->slot_j[i]++;
		if (o->slot_j[i] == 6) { /* done: the last slot takes its place */
			o->active--;
			o->slot_k[i] = o->slot_k[o->active];
			o->slot_j[i] = o->slot_j[o->active];
		}
		return 1;
	}
	return 0;
}

struct reader {
	struct workers *ws;
	struct intake *in;
	struct frame batch[SOURCE_BATCH];
	size_t n;
	double ts;
};

static void hand_over(struct reader *r)
{
	struct segment seg[SOURCE_BATCH];
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		k += (size_t)intake_frame(r->in, &r->batch[i], &seg[k]);
	workers_segments(r->ws, seg, k);
	r->n = 0;
}

/* Reads every frame from the workers' buffers, as source.c does. */
static void read_lasting(struct reader *r)
{
	struct source_buffers b = workers_buffers(r->ws);
	uint8_t *buf = b.get(b.ctx);
	size_t off = 0;
	struct order o = {0};
	unsigned k;
	int j, reused = 0;
	while (buf && order_next(&o, &k, &j)) {
		if (off + FRAME_MAX > SOURCE_READ_BUFFER) {
			hand_over(r); /* frames go out before their buffer goes back */
			b.put(b.ctx, buf);
			buf = b.get(b.ctx);
			memset(buf, 0xaa, SOURCE_READ_BUFFER);
			off = 0;
			reused++;
		}
		size_t len = session_frame(buf + off, k, j);
		r->batch[r->n++] = (struct frame){r->ts += 1e-5, buf + off, (uint32_t)len,
						  (uint32_t)len, 1};
		off += (len + 7) & ~(size_t)7;
		if (r->n == SOURCE_BATCH)
			hand_over(r);
	}
	hand_over(r);
	if (buf)
		b.put(b.ctx, buf);
	CHECK(reused >= 8);
}

/* Reads every frame from one scratch buffer, spoilt after each hand-over. */
static void read_passing(struct reader *r)
{
	static uint8_t scratch[SOURCE_BATCH][FRAME_MAX];
	struct order o = {0};
	unsigned k;
	int j;
	while (order_next(&o, &k, &j)) {
		size_t len = session_frame(scratch[r->n], k, j);
		r->batch[r->n] = (struct frame){r->ts += 1e-5, scratch[r->n], (uint32_t)len,
						(uint32_t)len, 0};
		if (++r->n == SOURCE_BATCH) {
			hand_over(r);
			memset(scratch, 0xaa, sizeof scratch);
		}
	}
	hand_over(r);
}

/* Every session one row, its greeting name the one its EHLO name says. */
static void check_rows(const char *path, const char *what)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int before = check_failed;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT client_ip),"
				 " sum(server_name = 'mx' || substr(ehlo_name, 2) || '.example'),"
				 " sum(end_reason = 'rst'), sum(transport = 'plaintext') FROM sessions",
				 -1, &s, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(s) == SQLITE_ROW);
	for (int c = 0; c < 5; c++)
		CHECK_INT(sqlite3_column_int(s, c), FLOWS);
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (check_failed != before)
		fprintf(stderr, "     in %s\n", what);
}

static void run(void (*read)(struct reader *), const char *what)
{
	char path[] = "/tmp/test_workers_XXXXXX", err[512];
	int fd = mkstemp(path);
	struct store *st;
	struct port_map ports;
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	struct run_info ri = {"test", "file", NULL, "25/smtp", 1767225600.0, "test", NULL};
	ports_default(&ports);
	struct pipeline_opts po = {&ports, 0, lim, 0, NULL, NULL, NULL, NULL};
	close(fd);
	unlink(path);
	if (store_open(&st, path, err, sizeof err) < 0 || store_begin_run(st, &ri) < 0) {
		CHECK(!"store");
		return;
	}
	static struct reader r;
	memset(&r, 0, sizeof r);
	r.ws = workers_new(THREADS, &po, st);
	r.in = intake_new(1, &ports, 0);
	r.ts = 1767225600.0;
	read(&r);
	CHECK_INT(workers_finish(r.ws, END_EOF), 0);
	uint64_t sessions = 0, segments = 0;
	for (unsigned i = 0; i < workers_count(r.ws); i++) {
		const struct pipeline_counters *c = workers_counters(r.ws, i);
		CHECK(c->sessions > FLOWS / THREADS / 2); /* each got its share */
		sessions += c->sessions;
		segments += c->segments;
		CHECK_INT(workers_flow_stats(r.ws, i)->created, c->sessions);
	}
	CHECK_INT(sessions, FLOWS);
	CHECK_INT(segments, intake_counters(r.in)->packets);
	workers_free(r.ws);
	intake_free(r.in);
	struct run_totals rt = {.ended = 1767225700.0, .sessions = sessions};
	CHECK_INT(store_end_run(st, &rt), 0);
	CHECK_INT(store_close(st), 0);
	check_rows(path, what);
	unlink(path);
	char wal[64];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", path);
	unlink(wal);
}

/* A tick reaches every worker: with live limits, sessions idle past the
 * timeout end by the clock, before the end of the input. */
static void test_tick(void)
{
	struct port_map ports;
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	lim.idle_timeout = 10;
	ports_default(&ports);
	struct pipeline_opts po = {&ports, 0, lim, 1, NULL, NULL, NULL, NULL};
	struct workers *ws = workers_new(2, &po, NULL);
	struct intake *in = intake_new(1, &ports, 0);
	uint8_t f[4][FRAME_MAX];
	struct frame fr[4];
	struct segment seg[4];
	size_t k = 0;
	for (unsigned s = 0; s < 4; s++) { /* four sessions: SYN and greeting */
		size_t len = session_frame(f[s], s, s % 2 ? 0 : 2);
		fr[s] = (struct frame){1000.0, f[s], (uint32_t)len, (uint32_t)len, 0};
		k += (size_t)intake_frame(in, &fr[s], &seg[k]);
	}
	workers_segments(ws, seg, k);
	workers_tick(ws, 2000.0);
	usleep(200000); /* the workers take the tick on their own */
	CHECK_INT(workers_finish(ws, END_EOF), 0);
	uint64_t timed_out = 0;
	for (unsigned i = 0; i < workers_count(ws); i++)
		timed_out += workers_flow_stats(ws, i)->timed_out;
	CHECK_INT(timed_out, 4);
	workers_free(ws);
	intake_free(in);
}

int main(void)
{
	run(read_lasting, "lasting frames");
	run(read_passing, "frames that pass");
	test_tick();
	CHECK(workers_new(1, NULL, NULL) == NULL);
	workers_free(NULL);
	return check_done("workers");
}
