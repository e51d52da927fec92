/* Unit tests for dissect/tls.c: the record layer. Messages across records
 * and records across pieces, SSLv2-format hellos, alerts, segments cut by the
 * snapshot length, gaps, malformed records and hellos, the caps, and the
 * feed contract. The harness is tls_case.h (see test_tls.c for the others). */
#include "tls_case.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The handshake message of a real record, without the record header. */
static size_t real_message(uint8_t *out, const char *hex)
{
	size_t n = hex_decode(out, hex);
	memmove(out, out + 5, n - 5);
	return n - 5;
}

/* One handshake message in two records, cut at `first`. */
static void two_records(int dir, const char *hex, size_t first)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t msg[1024];
	size_t n = real_message(msg, hex);
	b_record(b, 22);
	b_mem(b, msg, first);
	b_close(b);
	b_record(b, 22);
	b_mem(b, msg + first, n - first);
	tc_buf(dir, b);
	free(b);
}

static void test_record_layer(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t msg[1024];

	tc_begin("ClientHello in two records");
	two_records(0, ch_tls12, 40);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=2/1");

	tc_begin("handshake header split across records");
	two_records(0, ch_tls12, 2);
	two_records(1, sh_tls12, 3);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=2/2");

	tc_begin("record header split across pieces");
	tc_hex(0, "160301");
	tc_hex(0, ch_tls10 + 6);
	tc_hex(1, "16");
	tc_hex(1, "0301");
	tc_hex(1, sh_tls10 + 6);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1");

	tc_begin("ServerHello, Certificate, ServerHelloDone in one record");
	b_record(b, 22);
	b_mem(b, msg, real_message(msg, sh_tls12));
	handshake_msg(b, 11, 3, 0x00);
	handshake_msg(b, 14, 0, 0);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2");

	tc_begin("heartbeat and empty records are records");
	record_raw(b, 24, 3, 0x01);
	record_raw(b, 22, 0, 0);
	tc_buf(0, b);
	tc_hex(0, ch_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 rec=3/0");
	free(b);
}

static void test_sslv2(void)
{
	struct buf *b = calloc(1, sizeof *b);
	/* SSLv2 CLIENT-HELLO: type 1, version, 21 bytes of cipher specs (7),
	 * no session id, 16 bytes of challenge. */
	static const char v2_client_hello[] =
		"802e" "01" "0301" "0015" "0000" "0010"
		"010080" "030080" "070080" "000005" "000004" "00000a" "000035"
		"00112233445566778899aabbccddeeff";
	/* SSLv2 SERVER-HELLO: type 4, no session-id hit, X.509, version 2,
	 * certificate 0 bytes, one cipher spec, 16 bytes of connection id. */
	static const char v2_server_hello[] =
		"801e" "04" "00" "01" "0002" "0000" "0003" "0010" "010080"
		"0f0e0d0c0b0a09080706050403020100";

	tc_begin("SSLv2-format ClientHello, TLS 1.0 ServerHello");
	tc_hex(0, v2_client_hello);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 sslv2=1 suites=7 sh=1 v=0x0301 cipher=0x0005 "
		 "rec=1/1");

	tc_begin("SSLv2 CLIENT-HELLO and SERVER-HELLO");
	b_hex(b, v2_client_hello);
	b->b[3] = 0x00, b->b[4] = 0x02; /* version 2 */
	tc_buf(0, b);
	tc_hex(1, v2_server_hello);
	tc_check("ch=1 cv=0x0002 cvmax=0x0002 sslv2=1 suites=7 sh=1 v=0x0002 rec=1/1");

	tc_begin("SSLv2 SERVER-HELLO from the client");
	tc_hex(0, v2_server_hello);
	tc_check("rec=0/0 anom=tls_malformed done=C@5,S@-1");

	tc_begin("SSLv2 record shorter than its header");
	tc_hex(0, "8002010301");
	tc_check("rec=0/0 anom=tls_malformed done=C@5,S@-1");

	tc_begin("SSLv2 format only for the first record");
	tc_hex(0, ch_tls10);
	tc_hex(0, v2_client_hello);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 rec=1/0 anom=tls_malformed "
		 "done=C@117,S@-1");
	free(b);
}

static void test_alerts(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("first clear alert");
	tc_hex(0, ch_tls12);
	tc_hex(1, "15030300020228"); /* fatal handshake_failure */
	tc_hex(0, "15030300020100"); /* warning close_notify */
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de alert=0x0228 "
		 "rec=2/1");

	tc_begin("an alert of one byte is none; the next counts");
	tc_hex(1, "150303000102");
	tc_hex(1, "1503030002022f");
	tc_check("alert=0x022f rec=0/2");

	tc_begin("encrypted alert after CCS is not read");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	tc_hex(1, CCS);
	record_raw(b, 21, 26, 0xa5);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=1/4");
	free(b);
}

/* Segments cut by the snapshot length: a record's header shows its type
 * and length, the rest is a gap; the next segment starts a record. */
static void test_cut_records(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t ch[600], sh[600];
	size_t chn, shn;

	tc_begin("snaplen: TLS 1.3, the client's records");
	chn = hex_decode(ch, ch_hrr1);
	tc_bytes(0, ch, 30);
	tc_gap(0, chn - 30);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0xb8);
	tc_bytes(0, b->b, 30);
	tc_gap(0, b->n - 30);
	b->n = 0;
	record_raw(b, 23, 45, 0xb9);
	tc_bytes(0, b->b, 30);
	tc_gap(0, b->n - 30);
	b->n = 0;
	tc_check("established=1 ch_cut=1 cfin=1 gap=1/0 rec=4/0");

	tc_begin("snaplen: a ServerHello cut, then the flight lost");
	sh13_build(b, 0x1302, 0);
	shn = b->n;
	memcpy(sh, b->b, shn);
	b->n = 0;
	tc_bytes(1, sh, 30);
	tc_gap(1, shn - 30 + 1300);
	record_raw(b, 23, 250, 0x99);
	tc_bytes(1, b->b, 30);
	tc_gap(1, b->n - 30);
	b->n = 0;
	tc_check("sh_cut=1 gap=0/1 rec=0/2");

	tc_begin("snaplen: an alert cut is no alert");
	tc_hex(1, "150303");
	tc_gap(1, 4);
	tc_check("gap=0/1 rec=0/0");

	tc_begin("snaplen: an alert within the snapshot");
	tc_hex(1, "15030300020228");
	tc_gap(1, 0);
	tc_check("alert=0x0228 rec=0/1");
	free(b);
}

static void test_malformed(void)
{
	struct buf *b = calloc(1, sizeof *b);
	static const struct {
		const char *name, *hex, *want;
	} bad_records[] = {
		{"record type 0x19", "19030300020000", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record type 0x13", "13030300020000", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record version 2.0", "16020000020100", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record version 3.5", "16030500020100", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record length 18433", "1703034801000000",
		 "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
	};
	for (size_t i = 0; i < sizeof bad_records / sizeof bad_records[0]; i++) {
		tc_begin(bad_records[i].name);
		tc_hex(0, bad_records[i].hex);
		tc_check(bad_records[i].want);
	}

	tc_begin("SMTP text after a record");
	b_hex(b, "15030300020100");
	b_str(b, "220 mx ESMTP\r\n");
	tc_buf(0, b);
	tc_check("alert=0x0100 rec=1/0 anom=tls_malformed done=C@12,S@-1");

	tc_begin("record length 18432 is allowed");
	record_raw(b, 23, 16384 + 2048, 0x5a);
	tc_buf(0, b);
	tc_check("rec=1/0");

	tc_begin("ClientHello with a 33-byte session id");
	ch_begin(b, 0x0303, 0x55, 33);
	tc_buf(0, b);
	tc_check("ch_cut=1 rec=1/0 anom=tls_malformed");

	tc_begin("ServerHello with a 33-byte session id");
	sh_begin(b, 0x0303, NULL, 0x55, 33, 0xc02f);
	tc_buf(1, b);
	tc_check("sh_cut=1 rec=0/1 anom=tls_malformed");

	tc_begin("extensions block longer than the hello");
	hello_begin(b, 1, 0x0303, NULL);
	b_hex(b, "00" "0006" "1301c02f0035" "0100" "00c8");
	b_fill(b, 0, 10);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0 anom=tls_malformed");

	tc_begin("an extension longer than the block");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "mx.example.org");
	b_hex(b, "0010" "012c" "0002026832");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org rec=1/0 "
		 "anom=tls_malformed");

	tc_begin("SNI list longer than its extension");
	ch_begin(b, 0x0303, 0, 0);
	b_hex(b, "0000" "0007" "0032" "00" "0010" "6d78");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0 anom=tls_malformed");

	tc_begin("ClientHello cut inside its fixed fields");
	b_record(b, 22);
	b_hex(b, "0100000a" "0303");
	b_fill(b, 0x11, 8);
	tc_buf(0, b);
	tc_check("ch_cut=1 rec=1/0 anom=tls_malformed");

	tc_begin("empty ClientHello and ServerHello");
	tc_hex(0, "160303000401000000");
	tc_hex(1, "160303000402000000");
	tc_check("ch_cut=1 sh_cut=1 rec=1/1 anom=tls_malformed");

	tc_begin("ServerHello with an empty supported_versions");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 43);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/1 anom=tls_malformed");

	tc_begin("ServerHello with a one-byte key_share");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_begin(b, 51);
	b_u8(b, 0x1d);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 rec=0/1 anom=tls_malformed");

	tc_begin("ClientHello claiming 16 MiB");
	b_record(b, 22);
	b_hex(b, "01ffffff");
	b_close(b);
	record_raw(b, 22, 16384, 0x41);
	record_raw(b, 22, 16384, 0x42);
	tc_buf(0, b);
	tc_hex(1, sh_tls12);
	tc_check("sh=1 v=0x0303 cipher=0xc02f ch_cut=1 rec=3/1 anom=handshake_too_big");

	tc_begin("ClientHello of TLS_HANDSHAKE_MAX + 1");
	tc_hex(0, "160303000401010001");
	tc_check("ch_cut=1 rec=1/0 anom=handshake_too_big");

	tc_begin("ClientHello of TLS_HANDSHAKE_MAX, incomplete");
	tc_hex(0, "160303000401010000");
	tc_check("ch_cut=1 rec=1/0");

	tc_begin("Certificate claiming 16 MiB: not buffered, not flagged");
	tc_hex(1, sh_tls12);
	tc_hex(1, "160303000a0bffffff00000000000000");
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2");
	free(b);
}

/* A 16 MiB ClientHello is not allocated (glibc's counters; ASan's
 * allocator is not counted there, so the check is moot under ASan). */
static void test_too_big_not_allocated(void)
{
#ifdef __GLIBC__
	struct tls *t = tls_new();
	static const uint8_t hdr[] = {0x16, 0x03, 0x03, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff};
	struct mallinfo2 before = mallinfo2();
	tls_feed(t, 0, hdr, sizeof hdr);
	struct mallinfo2 after = mallinfo2();
	/* large blocks are mmapped: hblkhd counts them, uordblks the rest */
	CHECK(after.uordblks + after.hblkhd < before.uordblks + before.hblkhd + 1024 * 1024);
	CHECK_INT(tls_facts(t)->anomalies, ANOM_HANDSHAKE_TOO_BIG);
	tls_free(t);
#endif
}

static void test_gaps(void)
{
	uint8_t rec[512];
	size_t n = hex_decode(rec, ch_tls12);

	tc_begin("gap inside a record: handshake lost, records kept");
	tc_bytes(0, rec, 60);
	tc_gap(0, 50);
	tc_bytes(0, rec + 110, n - 110);
	tc_hex(0, CCS);
	tc_hex(0, ch_tls10); /* handshake framing stays lost */
	tc_hex(1, sh_tls12);
	tc_check("sh=1 v=0x0303 cipher=0xc02f ch_cut=1 gap=1/0 rec=3/1");

	/* Bytes after a gap beyond a record are read if they start with a
	 * record header (as the next segment does after one cut by the
	 * snapshot length); else they are the rest of a record whose start was
	 * lost, skipped up to the next gap, after which a segment may begin
	 * with a header again. */
	tc_begin("gap beyond a record: a record header follows");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, CCS);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f gap=1/0 rec=2/1");

	tc_begin("gap beyond a record: no record header follows");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, "c84a1e0303");
	tc_hex(0, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de gap=1/0 rec=1/0");

	tc_begin("gap beyond a record: bytes skipped, another gap, a record header");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, "c84a1e0303");
	tc_gap(0, 7);
	tc_hex(0, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de gap=1/0 rec=2/0");

	tc_begin("gap longer than the rest of the record");
	tc_bytes(0, rec, 60);
	tc_gap(0, 500);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");

	tc_begin("gap ending at the end of the record");
	tc_bytes(0, rec, 60);
	tc_gap(0, n - 60);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");

	tc_begin("gap inside a record header");
	tc_bytes(0, rec, 3);
	tc_gap(0, 1);
	tc_hex(0, CCS);
	tc_check("gap=1/0 rec=1/0");

	tc_begin("gaps while resynchronising");
	tc_bytes(0, rec, 60);
	tc_gap(0, 500);
	tc_hex(0, "1403");
	tc_gap(0, 20);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");
}

static void test_contract(void)
{
	static const uint8_t starts[] = {0x14, 0x15, 0x16, 0x17, 0x18, 0x80, 0xc0, 0xff};
	static const uint8_t others[] = {0x00, 0x13, 0x19, 0x7f, '2', 'E', 'e', '\r'};
	for (size_t i = 0; i < sizeof starts; i++)
		CHECK_INT(tls_looks_like_start(&starts[i], 1), 1);
	for (size_t i = 0; i < sizeof others; i++)
		CHECK_INT(tls_looks_like_start(&others[i], 1), 0);
	CHECK_INT(tls_looks_like_start((const uint8_t *)"\x16", 0), 0);

	struct tls *t = tls_new();
	struct feed_result r = tls_feed(t, 0, (const uint8_t *)"", 0);
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 0);
	r = tls_feed(t, 0, (const uint8_t *)"\x19\x03\x03\x00\x01\x00", 6);
	CHECK_INT(r.status, FEED_DONE);
	CHECK_INT(r.consumed, 5);
	r = tls_feed(t, 0, (const uint8_t *)"\x16\x03\x03", 3);
	CHECK_INT(r.status, FEED_DONE);
	CHECK_INT(r.consumed, 0);
	r = tls_feed(t, 1, (const uint8_t *)"\x16\x03\x03", 3); /* the other side lives */
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 3);
	tls_free(t);
	tls_free(NULL);
}

int main(void)
{
	test_record_layer();
	test_sslv2();
	test_alerts();
	test_cut_records();
	test_malformed();
	test_too_big_not_allocated();
	test_gaps();
	test_contract();
	return check_done("tls_records");
}
