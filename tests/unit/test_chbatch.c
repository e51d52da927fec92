/* ClickHouse rows: a session as the sessions view shows it (names looked
 * up, -1 and "" as NULL), batches, and their chunks through the spool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../store/chbatch.h"
#include "../../store/chschema.h"
#include "check.h"

static void session(struct ch_row *row, uint64_t seq)
{
	memset(row, 0, sizeof *row);
	row->magic = CH_ROW_MAGIC;
	row->kind = CH_KIND_SESSION;
	row->writer = 0x1122334455667788ull;
	row->seq = seq;
	row->run_id = 42;
	snprintf(row->sensor, sizeof row->sensor, "ix\tfra");
	session_record_init(&row->u.s);
}

/* The fields of a line, split at its tabs (the line is changed). */
static size_t fields(char *line, char **f, size_t max)
{
	struct tsv_row r;
	if (tsv_split(line, strlen(line), &r) < 0)
		return 0;
	for (size_t i = 0; i < r.n && i < max; i++)
		f[i] = r.null[i] ? NULL : r.f[i];
	return r.n;
}

static void test_session_line(void)
{
	struct ch_row row;
	struct tsv_buf b = {0};
	char *f[128];
	session(&row, 7);
	struct session_record *s = &row.u.s;
	snprintf(s->client_ip, sizeof s->client_ip, "192.0.2.1");
	snprintf(s->server_ip, sizeof s->server_ip, "198.51.100.25");
	s->client_port = 40000;
	s->server_port = 25;
	s->ts_start = 1700000000.125;
	s->ts_end = 1700000001.5;
	s->transport = TRANSPORT_STARTTLS;
	s->tls_version = 0x0304;
	s->cipher_suite = 0x1301;
	s->kx_group = 29;
	s->client_hello = 1;
	s->tls_outcome = OUTCOME_ESTABLISHED;
	s->anomalies = ANOM_GAP | ANOM_EVICTED;
	snprintf(s->sni, sizeof s->sni, "mx.example\twith tab");
	chschema_put_row(&b, &row);
	CHECK(b.len > 0 && b.p[b.len - 1] == '\n');
	b.p[b.len - 1] = '\0';
	size_t n = fields(b.p, f, 128);
	CHECK(n > 80);
	char id[32];
	snprintf(id, sizeof id, "%lld", (long long)chschema_session_id(row.writer, 7));
	CHECK_STR(f[0], id);                     /* id, from the identity */
	CHECK_STR(f[1], "42");                   /* run_id */
	CHECK_STR(f[2], "192.0.2.1");
	CHECK_STR(f[6], "1700000000.125");       /* ts_start */
	CHECK_STR(f[8], "starttls");             /* transport, by name */
	CHECK_STR(f[12], "TLSv1.3");             /* tls_version */
	CHECK_STR(f[13], "772");                 /* tls_version_code */
	CHECK_STR(f[15], "TLS_AES_128_GCM_SHA256");
	CHECK_STR(f[16], "x25519");
	CHECK_STR(f[18], "mx.example\twith tab"); /* sni, escaped and back */
	CHECK(f[19] == NULL);                    /* alpn: "" is NULL */
	CHECK(f[9] == NULL);                     /* starttls_offered: -1 is NULL */
	CHECK_STR(f[38], "gap,evicted");         /* anomalies, in bit order */
	CHECK_STR(f[41], "established");
	CHECK(f[56] == NULL);                    /* cert_subject_cn: no certificate */
	CHECK_STR(f[81], "ix\tfra");             /* sensor */
	CHECK_STR(f[82], "2");                   /* transport_code */
	CHECK_STR(f[n - 2], "1234605616436508552"); /* writer */
	CHECK_STR(f[n - 1], "7");                /* seq */
	tsv_buf_free(&b);
}

/* Sessions without anything unknown named stay NULL (the view's joins). */
static void test_unknown_codes(void)
{
	struct ch_row row;
	struct tsv_buf b = {0};
	char *f[128];
	session(&row, 1);
	row.u.s.tls_version = 0x0999; /* no name */
	row.u.s.cipher_suite = 0xfefe;
	chschema_put_row(&b, &row);
	b.p[b.len - 1] = '\0';
	fields(b.p, f, 128);
	CHECK(f[12] == NULL);
	CHECK_STR(f[13], "2457");
	CHECK(f[15] == NULL);
	CHECK(f[38] == NULL); /* no anomalies */
	tsv_buf_free(&b);
}

/* A batch through the spool comes back as the same text, in chunks of
 * whole lines, with its sessions counted. */
static void test_spool_round_trip(void)
{
	char path[] = "/tmp/test_chbatch.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct spool *sp = spool_resume(path, sizeof(struct ch_chunk), 64ull << 20);
	struct ch_batch b = {0}, back = {0};
	struct ch_row row;
	for (uint64_t i = 1; i <= 700; i++) { /* more than a chunk */
		session(&row, i);
		snprintf(row.u.s.sni, sizeof row.u.s.sni, "host-%llu.example", (unsigned long long)i);
		chbatch_add(&b, &row, 1.0);
	}
	memset(&row, 0, sizeof row);
	row.magic = CH_ROW_MAGIC;
	row.kind = CH_KIND_RUN;
	snprintf(row.u.run.source, sizeof row.u.run.source, "eth0");
	chbatch_add(&b, &row, 1.0);
	CHECK_INT(b.sessions, 700);
	uint64_t lost = 9;
	CHECK_INT(chbatch_spool(&b, sp, &lost), 700);
	CHECK_INT(lost, 0);
	CHECK(spool_count(sp) > 2);
	struct ch_chunk *buf = malloc(64 * sizeof *buf);
	long got = chbatch_unspool(&back, sp, buf, 64);
	CHECK_INT(got, (long)spool_count(sp));
	CHECK_INT(back.sessions, 700);
	for (int t = 0; t < CH_NTABLES; t++) {
		CHECK_INT(back.text[t].len, b.text[t].len);
		CHECK(back.text[t].len == b.text[t].len &&
		      (b.text[t].len == 0 || memcmp(back.text[t].p, b.text[t].p, b.text[t].len) == 0));
	}
	spool_take(sp, (size_t)got);
	spool_free(sp);
	CHECK(access(path, F_OK) != 0); /* all taken: the file goes */
	free(buf);
	chbatch_free(&b);
	chbatch_free(&back);
}

/* A full spool loses what does not fit, counted. */
static void test_spool_full(void)
{
	char path[] = "/tmp/test_chbatch_full.XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct spool *sp = spool_resume(path, sizeof(struct ch_chunk), 2 * sizeof(struct ch_chunk));
	struct ch_batch b = {0};
	struct ch_row row;
	for (uint64_t i = 1; i <= 1000; i++) {
		session(&row, i);
		chbatch_add(&b, &row, 1.0);
	}
	uint64_t lost = 0, put = chbatch_spool(&b, sp, &lost);
	CHECK_INT(put + lost, 1000);
	CHECK(lost > 0 && put > 0);
	spool_take(sp, (size_t)spool_count(sp));
	spool_free(sp);
	unlink(path);
	chbatch_free(&b);
}

int main(void)
{
	test_session_line();
	test_unknown_codes();
	test_spool_round_trip();
	test_spool_full();
	return check_done("chbatch");
}
