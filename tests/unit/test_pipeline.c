/* The pipeline (engine/pipeline.c): segments from an intake through the
 * flow table and the dissectors to rows in a store, on one thread. Each
 * case is a few connections, written as the frames a tap would see; the
 * rows that come out (transport, names, end, ports, addresses) and the
 * pipeline's counters are checked:
 *  - a plaintext SMTP session ended by FIN, and STARTTLS accepted;
 *  - a connection that carried no byte: counted, no row;
 *  - the port map: a port added with --ports is followed, and the server
 *    is the side on the followed port whoever sent the first packet;
 *  - --classify: SMTP on an unconfigured port is kept, IMAP is not;
 *  - anonymisation: the stored addresses are not the ones on the wire;
 *  - a full connection table evicts, a live tick ends idle connections;
 *  - without a store, rows are counted and not written. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../engine/anon.h"
#include "../../engine/intake.h"
#include "../../engine/pipeline.h"
#include "check.h"
#include "frames.h"

#define CLIENT 0x0a000001u /* 10.0.0.1 + connection number */
#define SERVER 0xc0000219u /* 192.0.2.25 */
#define T0 1767225600.0

/* One packet of a connection: who sends it, its flags, its bytes. */
struct pkt {
	int from_server;
	uint8_t flags;
	const char *data;
};

#define SYN {0, TCP_SYN, NULL}
#define SYNACK {1, TCP_SYN | TCP_ACK, NULL}
#define C(s) {0, TCP_ACK | TCP_PSH, s}
#define S(s) {1, TCP_ACK | TCP_PSH, s}
#define CFIN {0, TCP_ACK | TCP_FIN, NULL}
#define SFIN {1, TCP_ACK | TCP_FIN, NULL}
#define RST {0, TCP_RST, NULL}
#define MAX_PKTS 16

struct conn {
	uint16_t port;          /* the server's */
	struct pkt pkts[MAX_PKTS];
};

struct feeder {
	struct intake *in;
	struct pipeline *pl;
	double ts;
};

/* Frames of connection k, through the intake into the pipeline, with the
 * sequence numbers a TCP stack would use. */
static void feed_conn(struct feeder *f, const struct conn *c, unsigned k)
{
	uint32_t seq[2] = {1000, 5000};
	uint16_t cport = (uint16_t)(40000 + k);
	for (size_t i = 0; i < MAX_PKTS && c->pkts[i].flags; i++) {
		const struct pkt *p = &c->pkts[i];
		int s = p->from_server;
		size_t len = p->data ? strlen(p->data) : 0;
		struct tseg t = {s ? SERVER : CLIENT + k, s ? CLIENT + k : SERVER,
				 s ? c->port : cport, s ? cport : c->port, seq[s],
				 p->flags & TCP_ACK ? seq[!s] : 0, p->flags, p->data, len, 0, 0};
		uint8_t frame[64 + 512];
		size_t n = tframe(frame, &t);
		struct frame fr = {f->ts += 0.01, frame, (uint32_t)n, (uint32_t)n, 0};
		struct segment seg;
		if (intake_frame(f->in, &fr, &seg))
			pipeline_segments(f->pl, &seg, 1);
		seq[s] += (uint32_t)len + !!(p->flags & (TCP_SYN | TCP_FIN));
	}
}

static const struct conn plain = {25, {SYN, SYNACK, S("220 mx.example.org ESMTP\r\n"),
	C("EHLO client.example\r\n"), S("250-mx.example.org\r\n250 SIZE 1000\r\n"),
	C("MAIL FROM:<a@b.example>\r\n"), S("250 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n"), CFIN,
	SFIN}};
static const struct conn starttls = {587, {SYN, SYNACK, S("220 sub.example.org ESMTP\r\n"),
	C("EHLO c\r\n"), S("250-sub.example.org\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
	S("220 go ahead\r\n"), RST}};
static const struct conn empty = {25, {SYN, SYNACK, RST}};
static const struct conn other_port = {2525, {SYN, SYNACK, S("220 alt.example.org ESMTP\r\n"),
	C("EHLO c\r\n"), S("250 alt.example.org\r\n"), RST}};
/* the server speaks first, without a handshake in the capture */
static const struct conn midstream = {25, {S("250 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n"), RST}};
static const struct conn imap = {2143, {SYN, SYNACK, S("* OK IMAP4rev1 ready\r\n"),
	C("a1 CAPABILITY\r\n"), S("* CAPABILITY IMAP4rev1\r\na1 OK done\r\n"), RST}};

/* ---- running a case ---------------------------------------------------------- */

struct run {
	const char *ports;       /* --ports, or NULL */
	int classify;
	int anonymize;
	size_t max_flows;        /* 0: the default */
	const struct conn *conns[4];
	/* what comes out */
	char rows[1024];         /* "transport server_name ehlo_name end_reason port;" each */
	struct pipeline_counters counters;
	struct flow_stats flows;
	unsigned anonymised;     /* rows whose client_ip is not 10.0.0.x */
};

static void read_rows(const char *path, struct run *r)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	r->rows[0] = '\0';
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT transport, coalesce(server_name, '-'),"
				 " coalesce(ehlo_name, '-'), end_reason, server_port,"
				 " client_ip NOT LIKE '10.0.0.%' FROM sessions ORDER BY ts_start",
				 -1, &s, NULL) == SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		check_describe(r->rows, sizeof r->rows, "%s %s %s %s %d;", sqlite3_column_text(s, 0),
			       sqlite3_column_text(s, 1), sqlite3_column_text(s, 2),
			       sqlite3_column_text(s, 3), sqlite3_column_int(s, 4));
		r->anonymised += (unsigned)sqlite3_column_int(s, 5);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
}

static void remove_db(const char *path)
{
	char p[80];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static void run_case(struct run *r)
{
	static const uint8_t key[ANON_KEY_BYTES] = "a test key of thirty-two bytes!";
	char path[] = "/tmp/test_pipeline_XXXXXX", err[512];
	struct port_map ports;
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	struct store *st = NULL;
	struct run_info ri = {"test", "file", NULL, "", T0, "test", NULL};
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	ports_default(&ports);
	CHECK(!r->ports || ports_parse(&ports, r->ports, err, sizeof err) == 0);
	if (r->max_flows)
		lim.max_flows = r->max_flows;
	struct pipeline_opts po = {&ports, r->classify, lim, 0, r->anonymize ? key : NULL,
				   NULL, NULL, NULL};
	CHECK(store_open(&st, path, err, sizeof err) == 0 && store_begin_run(st, &ri) == 0);
	struct feeder f = {intake_new(1, &ports, r->classify), pipeline_new(&po, st), T0};
	for (unsigned k = 0; k < 4 && r->conns[k]; k++)
		feed_conn(&f, r->conns[k], k);
	CHECK_INT(pipeline_finish(f.pl, END_EOF), 0);
	r->counters = *pipeline_counters(f.pl);
	r->flows = *pipeline_flow_stats(f.pl);
	pipeline_free(f.pl);
	intake_free(f.in);
	CHECK_INT(store_close(st), 0);
	read_rows(path, r);
	remove_db(path);
}

/* ---- cases ------------------------------------------------------------------- */

static void test_sessions(void)
{
	struct run r = {.conns = {&plain, &starttls, &empty}};
	run_case(&r);
	CHECK_STR(r.rows, "plaintext mx.example.org client.example fin 25; "
			  "starttls sub.example.org c rst 587;");
	CHECK_INT(r.counters.sessions, 2);
	CHECK_INT(r.counters.without_payload, 1);
	CHECK_INT(r.flows.created, 3);
	CHECK_INT(r.anonymised, 0);
}

static void test_ports(void)
{
	struct run r = {.conns = {&other_port, &plain}};
	run_case(&r);
	CHECK_STR(r.rows, "plaintext mx.example.org client.example fin 25;");

	struct run added = {.ports = "2525/smtp,-25", .conns = {&other_port, &plain, &midstream}};
	run_case(&added);
	CHECK_STR(added.rows, "plaintext alt.example.org c rst 2525;");
	CHECK_INT(added.counters.sessions, 1);

	struct run mid = {.conns = {&midstream}};
	run_case(&mid);
	CHECK_STR(mid.rows, "plaintext - - rst 25;"); /* the server is the side on port 25 */
}

static void test_classify(void)
{
	struct run r = {.classify = 1, .conns = {&other_port, &imap, &plain}};
	run_case(&r);
	CHECK_STR(r.rows, "plaintext alt.example.org c rst 2525; "
			  "plaintext mx.example.org client.example fin 25;");
	CHECK_INT(r.counters.classified_away, 1);
	CHECK_INT(r.counters.sessions, 2);
}

static void test_anonymize(void)
{
	struct run r = {.anonymize = 1, .conns = {&plain, &starttls}};
	run_case(&r);
	CHECK_INT(r.anonymised, 2);
	CHECK_INT(r.counters.sessions, 2);
}

/* One connection in the table: the second to start evicts the first. */
static void test_limits(void)
{
	static const struct conn half = {25, {SYN, SYNACK, S("220 a.example ESMTP\r\n")}};
	struct run r = {.max_flows = 1, .conns = {&half, &plain}};
	run_case(&r);
	CHECK_INT(r.flows.evicted, 1);
	CHECK_STR(r.rows, "plaintext a.example - evicted 25; "
			  "plaintext mx.example.org client.example fin 25;");
}

/* Live: a tick past the idle timeout ends an open connection and writes
 * its row; without a store the rows are only counted. */
static void test_tick(void)
{
	static const struct conn open_conn = {25, {SYN, SYNACK, S("220 b.example ESMTP\r\n")}};
	struct port_map ports;
	struct flow_limits lim = FLOW_LIMITS_DEFAULT;
	lim.idle_timeout = 10;
	ports_default(&ports);
	struct pipeline_opts po = {&ports, 0, lim, 1, NULL, NULL, NULL, NULL};
	struct feeder f = {intake_new(1, &ports, 0), pipeline_new(&po, NULL), T0};
	feed_conn(&f, &open_conn, 0);
	pipeline_tick(f.pl, T0 + 5);
	CHECK_INT(pipeline_counters(f.pl)->sessions, 0);
	pipeline_tick(f.pl, T0 + 60);
	CHECK_INT(pipeline_counters(f.pl)->sessions, 1);
	CHECK_INT(pipeline_flow_stats(f.pl)->timed_out, 1);
	CHECK_INT(pipeline_failed(f.pl), 0);
	CHECK_INT(pipeline_finish(f.pl, END_EOF), 0);
	CHECK_INT(pipeline_counters(f.pl)->sessions, 1);
	pipeline_free(f.pl);
	intake_free(f.in);
	pipeline_free(NULL);
}

int main(void)
{
	test_sessions();
	test_ports();
	test_classify();
	test_anonymize();
	test_limits();
	test_tick();
	return check_done("test_pipeline");
}
