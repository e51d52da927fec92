/* The store: rows go through the write queue and come back out of the
 * database column for column, whatever the rows before them held. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/clock.h"
#include "../../store/store.h"
#include "check.h"

#define ROWS 3000 /* more than the write queue holds, so its slots are reused */

/* Row i: text columns whose lengths change from row to row, some empty,
 * so a slot that held a longer or a present value is refilled. */
static void make_row(struct session_record *r, int i)
{
	session_record_init(r);
	snprintf(r->client_ip, sizeof r->client_ip, "10.0.%d.%d", i / 256, i % 256);
	snprintf(r->server_ip, sizeof r->server_ip, "192.0.2.%d", i % 7);
	r->client_port = (uint16_t)(1024 + i);
	r->server_port = 25;
	r->ts_start = 1700000000.0 + i;
	r->ts_end = r->ts_start + 1;
	r->transport = i % 2 ? TRANSPORT_STARTTLS : TRANSPORT_PLAINTEXT;
	if (i % 3 == 0)
		snprintf(r->sni, sizeof r->sni, "mx%d.a-rather-long-name.example", i);
	else if (i % 3 == 1)
		snprintf(r->sni, sizeof r->sni, "m%d", i);
	if (i % 5 == 0)
		memset(r->cert.sans, 'x', sizeof r->cert.sans - 1);
	if (i % 4 == 1)
		snprintf(r->ja3, sizeof r->ja3, "%032d", i);
	r->cipher_suite = i % 2 ? 0x1301 : -1;
	r->packets = (uint64_t)i;
}

/* The same row as the database gives it back: "" for NULL. */
static void expected(char *out, size_t cap, int i)
{
	struct session_record r;
	make_row(&r, i);
	snprintf(out, cap, "%s|%s|%s|%zu|%s|%d|%llu", r.client_ip, r.sni, r.ja3,
		 strlen(r.cert.sans), r.transport == TRANSPORT_STARTTLS ? "starttls" : "plaintext",
		 r.cipher_suite, (unsigned long long)r.packets);
}

/* The writer inserted every row, so it used CPU time, and no thread used
 * more than the whole process. */
static void check_thread_cpu(const struct store *st)
{
	double writer, ckpt, process = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	store_thread_cpu(st, &writer, &ckpt);
	CHECK(writer > 0);
	CHECK(ckpt >= 0);
	CHECK(writer + ckpt <= process);
}

static int write_rows(const char *path)
{
	struct store *st;
	char err[512];
	struct run_info ri = {"test.pcap", "file", NULL, "25/smtp", 1700000000.0, "test"};
	struct run_totals rt = {.ended = 1700000001.0, .sessions = ROWS};
	struct session_record r;
	if (store_open(&st, path, err, sizeof err) < 0 || store_begin_run(st, &ri) < 0) {
		fprintf(stderr, "store: %s\n", err);
		return -1;
	}
	for (int i = 0; i < ROWS; i++) {
		make_row(&r, i);
		if (store_add(st, &r) < 0)
			return -1;
	}
	if (store_end_run(st, &rt) < 0)
		return -1;
	check_thread_cpu(st);
	return store_close(st) < 0 ? -1 : 0;
}

static void check_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char want[600], got[600];
	int i = 0, mismatches = 0, nulls = 0;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db,
				 "SELECT coalesce(client_ip, '') || '|' || coalesce(sni, '') || '|' ||"
				 " coalesce(ja3, '') || '|' || length(coalesce(cert_sans, '')) || '|' ||"
				 " transport || '|' || coalesce(cipher_suite, -1) || '|' || packets,"
				 " sni IS NULL FROM sessions ORDER BY id",
				 -1, &s, NULL) == SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		expected(want, sizeof want, i);
		snprintf(got, sizeof got, "%s", (const char *)sqlite3_column_text(s, 0));
		if (strcmp(got, want) != 0 && mismatches++ < 3)
			fprintf(stderr, "row %d: got %s, want %s\n", i, got, want);
		nulls += sqlite3_column_int(s, 1);
		i++;
	}
	CHECK_INT(i, ROWS);
	CHECK_INT(mismatches, 0);
	CHECK_INT(nulls, ROWS / 3); /* empty texts are NULL, not "" */
	sqlite3_finalize(s);
	sqlite3_close(db);
}

int main(void)
{
	char path[] = "/tmp/test_store_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	unlink(path);
	CHECK(write_rows(path) == 0);
	check_rows(path);
	unlink(path);
	return check_done("store");
}
