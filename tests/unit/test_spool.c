/* The writer's spool (store/spool.c), the run owner (store/owner.c) and
 * the metrics text (engine/metrics.c). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../engine/metrics.h"
#include "../../store/owner.h"
#include "../../store/spool.h"
#include "check.h"

struct rec {
	uint64_t n;
	char pad[40];
};

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* Records come back in the order they went in, across reads of any size,
 * puts between reads, and the file starting over once emptied. */
static void test_order(const char *path)
{
	struct spool *s = spool_new(path, sizeof(struct rec), 1 << 20);
	struct rec r, got[8];
	uint64_t next_in = 0, next_out = 0;
	CHECK(s != NULL);
	CHECK(exists(path)); /* made at once, empty */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < round % 7 + 1; i++) {
			memset(&r, 0, sizeof r);
			r.n = next_in++;
			CHECK_INT(spool_put(s, &r), 0);
		}
		size_t n = spool_count(s) < 3 ? (size_t)spool_count(s) : 3;
		CHECK_INT(spool_read(s, spool_head(s), got, n), (long)n);
		for (size_t i = 0; i < n; i++)
			CHECK_INT(got[i].n, next_out++);
		spool_take(s, n);
	}
	while (spool_count(s) > 0) {
		CHECK_INT(spool_read(s, spool_head(s), got, 1), 1);
		CHECK_INT(got[0].n, next_out++);
		spool_take(s, 1);
	}
	CHECK_INT(next_out, next_in);
	CHECK_INT(spool_head(s), 0); /* emptied: written from the start again */
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && sb.st_size == 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 077) == 0); /* rows are private */
	spool_free(s);
	CHECK(!exists(path)); /* empty: removed */
}

/* Bounded: a put past max_bytes fails with ENOSPC and changes nothing;
 * taking makes room; a spool freed with rows in it keeps its file. */
static void test_full(const char *path)
{
	struct spool *s = spool_new(path, sizeof(struct rec), 4 * sizeof(struct rec));
	struct rec r = {0};
	for (int i = 0; i < 4; i++)
		CHECK_INT(spool_put(s, &r), 0);
	errno = 0;
	CHECK_INT(spool_put(s, &r), -1);
	CHECK_INT(errno, ENOSPC);
	CHECK_INT(spool_count(s), 4);
	spool_take(s, 1);
	CHECK_INT(spool_put(s, &r), 0);
	CHECK_INT(spool_count(s), 4);
	spool_free(s);
	CHECK(exists(path)); /* rows never read back stay on disk */
	/* and the next spool at that path keeps them aside, starting empty */
	s = spool_new(path, sizeof(struct rec), 4 * sizeof(struct rec));
	const char *kept = spool_leftover(s);
	struct stat sb;
	CHECK(kept != NULL && stat(kept, &sb) == 0 && sb.st_size == 5 * (off_t)sizeof(struct rec)); /* one taken, one more put */
	CHECK(stat(path, &sb) == 0 && sb.st_size == 0);
	CHECK_INT(spool_count(s), 0);
	if (kept)
		unlink(kept);
	spool_free(s);
	CHECK(!exists(path));
	s = spool_new(path, sizeof(struct rec), 64); /* an empty one is no leftover */
	CHECK(spool_leftover(s) == NULL);
	spool_free(s);
	spool_free(NULL);
}

/* This process is alive; a process that is gone, another boot, another
 * host, or nonsense are told apart. */
static void test_owner(void)
{
	char me[OWNER_MAX], other[OWNER_MAX * 2], host[256], boot[64];
	long pid;
	unsigned long long start;
	owner_self(me, sizeof me);
	CHECK_INT(sscanf(me, "%255s %63s %ld %llu", host, boot, &pid, &start), 4);
	CHECK_INT(pid, getpid());
	CHECK_INT(owner_alive(me), 1);
	snprintf(other, sizeof other, "%s %s %ld %llu", host, boot, pid, start + 1);
	CHECK_INT(owner_alive(other), 0); /* the same pid, started at another time */
	snprintf(other, sizeof other, "%s %s 999999999 %llu", host, boot, start);
	CHECK_INT(owner_alive(other), 0);
	snprintf(other, sizeof other, "%s 00000000-0000-0000-0000-000000000000 %ld %llu", host,
		 pid, start);
	CHECK_INT(owner_alive(other), 0); /* another boot */
	snprintf(other, sizeof other, "not-%s %s %ld %llu", host, boot, pid, start);
	CHECK_INT(owner_alive(other), -1); /* another host: cannot tell */
	CHECK_INT(owner_alive(NULL), -1);
	CHECK_INT(owner_alive("garbage"), -1);
}

/* Every metric has its HELP and TYPE, counters end in _total, the label
 * is escaped, and the values are those given. */
static void test_metrics(void)
{
	struct metrics_sample m;
	char buf[16384], err[256];
	memset(&m, 0, sizeof m);
	m.e.in.packets = 123456789012ull;
	m.e.src.dropped_kernel = 7;
	m.e.pl.by_transport[2] = 5;
	m.e.pl.encrypted = 4;
	m.e.flows.active = 9;
	m.s.queue_rows = 11;
	m.s.spool_rows = 13;
	size_t n = metrics_format(&m, "eth\"0\\x\n", buf, sizeof buf);
	CHECK(n > 0 && n == strlen(buf));
	CHECK(strstr(buf, "smtptls_packets_total{source=\"eth\\\"0\\\\x\\n\"} 123456789012\n") != NULL);
	CHECK(strstr(buf, "smtptls_kernel_drops_total{source=\"eth\\\"0\\\\x\\n\"} 7\n") != NULL);
	CHECK(strstr(buf, ",transport=\"starttls\"} 5\n") != NULL);
	CHECK(strstr(buf, ",transport=\"implicit_tls\"} 0\n") != NULL);
	CHECK(strstr(buf, "smtptls_encrypted_sessions_total{source=\"eth\\\"0\\\\x\\n\"} 4\n") != NULL);
	CHECK(strstr(buf, "smtptls_open_flows{source=\"eth\\\"0\\\\x\\n\"} 9\n") != NULL);
	CHECK(strstr(buf, "smtptls_write_queue_rows{source=\"eth\\\"0\\\\x\\n\"} 11\n") != NULL);
	CHECK(strstr(buf, "smtptls_spooled_rows{source=\"eth\\\"0\\\\x\\n\"} 13\n") != NULL);
	int metrics = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char name[128], type[32];
		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			metrics++;
			size_t k = strlen(name);
			int total = k > 6 && strcmp(name + k - 6, "_total") == 0;
			CHECK(strcmp(type, "counter") == 0 ? total : strcmp(type, "gauge") == 0 && !total);
		}
	}
	CHECK(metrics >= 25);
	CHECK_INT(metrics_format(&m, "x", buf, 100), 0); /* too small: nothing */
	CHECK_INT(metrics_parse_listen("127.0.0.1:9464", err, sizeof err), 0);
	CHECK_INT(metrics_parse_listen("[::1]:9464", err, sizeof err), 0);
	CHECK_INT(metrics_parse_listen(":9464", err, sizeof err), 0);
	CHECK_INT(metrics_parse_listen("localhost:9464", err, sizeof err), 0);
	CHECK_INT(metrics_parse_listen("::1:9464", err, sizeof err), -1); /* brackets */
	CHECK_INT(metrics_parse_listen("127.0.0.1", err, sizeof err), -1);
	CHECK_INT(metrics_parse_listen("127.0.0.1:0", err, sizeof err), -1);
	CHECK_INT(metrics_parse_listen("127.0.0.1:65536", err, sizeof err), -1);
	CHECK_INT(metrics_parse_listen("127.0.0.1:9x", err, sizeof err), -1);
	CHECK(strstr(err, "'127.0.0.1:9x'") != NULL);
}

/* A resumed spool: what one process left is read first by the next, in
 * order, after the records it took; records rewritten in place read
 * back changed; a file that is not whole records is put aside. */
static void test_resume(const char *path)
{
	struct rec r, got[4];
	unlink(path);
	struct spool *s = spool_resume(path, sizeof(struct rec), 1 << 20);
	CHECK(s != NULL);
	for (uint64_t i = 0; i < 10; i++) {
		memset(&r, 0, sizeof r);
		r.n = i;
		CHECK_INT(spool_put(s, &r), 0);
	}
	CHECK_INT(spool_read(s, spool_head(s), got, 3), 3);
	spool_take(s, 3); /* 0..2 delivered */
	CHECK_INT(spool_read(s, spool_head(s), got, 2), 2);
	got[0].n = 100; /* 3 and 4: given ids, say */
	got[1].n = 101;
	CHECK_INT(spool_rewrite(s, spool_head(s), got, 2), 0);
	CHECK_INT(spool_rewrite(s, 0, got, 1), -1); /* taken already */
	spool_free(s);
	CHECK(exists(path));

	s = spool_resume(path, sizeof(struct rec), 1 << 20);
	CHECK_INT(spool_count(s), 7);
	CHECK(spool_leftover(s) == NULL);
	CHECK_INT(spool_read(s, spool_head(s), got, 4), 4);
	CHECK_INT(got[0].n, 100);
	CHECK_INT(got[1].n, 101);
	CHECK_INT(got[2].n, 5);
	CHECK_INT(got[3].n, 6);
	spool_take(s, 4);
	CHECK_INT(spool_read(s, spool_head(s), got, 3), 3);
	CHECK_INT(got[2].n, 9);
	spool_take(s, 3);
	spool_free(s);
	CHECK(!exists(path)); /* empty: removed */

	FILE *f = fopen(path, "w");
	fputs("not records", f);
	fclose(f);
	s = spool_resume(path, sizeof(struct rec), 1 << 20);
	CHECK(spool_leftover(s) != NULL);
	CHECK_INT(spool_count(s), 0);
	if (spool_leftover(s))
		unlink(spool_leftover(s));
	spool_free(s);
	CHECK(!exists(path));
}

int main(void)
{
	char dir[] = "/tmp/test_spool_XXXXXX", path[300];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/db-spool", dir);
	test_order(path);
	test_full(path);
	test_resume(path);
	test_owner();
	test_metrics();
	rmdir(dir);
	return check_done("spool");
}
