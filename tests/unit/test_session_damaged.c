/* Unit tests for dissect/session.c: damaged captures, one side of the
 * connection only, what ends a handshake (contract C3), segments cut by a
 * snaplen, sessions picked up mid-stream. The harness is session_case.h
 * (see test_session.c). */
#include "session_case.h"

/* ---- damaged captures: one side, cut segments, mid-stream ------------------- */

/* The server's side of postfix_dialogue() only. */
static void postfix_dialogue_server(void)
{
	sc_str(1, "220 mx1.smtptls.test ESMTP Postfix (Debian/GNU)\r\n");
	sc_str(1, "250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-VRFY\r\n"
		  "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
}

/* Bytes of a hex string: the first n, or (n < 0) all but the first -n. */
static void sc_hex_part(int dir, const char *hex, long n)
{
	char part[8192];
	size_t len = strlen(hex) / 2;
	size_t from = n < 0 ? (size_t)-n : 0, to = n < 0 ? len : (size_t)n;
	memcpy(part, hex + 2 * from, 2 * (to - from));
	part[2 * (to - from)] = '\0';
	sc_hex(dir, part);
}

/* The rest of Postfix's TLS 1.3 flight after pf13_server_tls's first
 * encrypted record (Certificate 887, CertificateVerify 281, Finished 69),
 * then a NewSessionTicket of 250: lengths as in starttls-tls13.pcap. */
static void pf13_server_rest(int ticket)
{
	static uint8_t rec[2048];
	size_t lens[] = {887, 281, 69, 250}, n = 0;
	for (size_t i = 0; i < (ticket ? 4u : 3u); i++) {
		rec[n++] = 23, rec[n++] = 3, rec[n++] = 3;
		rec[n++] = (uint8_t)(lens[i] >> 8), rec[n++] = (uint8_t)lens[i];
		memset(rec + n, 0x5a, lens[i]);
		n += lens[i];
	}
	sc_bytes(1, rec, n);
}

static void test_one_side(void)
{
	depth = 1;
	/* Proven complete by one side, but not done: the other side's hello
	 * may still come (two taps, one behind), so its bytes are still read. */
	sc_begin("client only: STARTTLS, TLS 1.3, Finished and data (real bytes)", SESS_PORT_SMTP, 0);
	sc_str(0, "EHLO client01.smtptls.test\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_hex(0, pf13_client_hello);
	sc_hex(0, pf13_client_finish);
	sc_hex(0, pf13_client_ehlo);
	sc_check("transport=starttls sent=1 ehlo=client01.smtptls.test cvmax=0x0304 "
		 "sni=mx1.smtptls.test ch=1 hrr=-1 resumed=-1 established=1 "
		 "outcome=established offer=tls13:1/suites:30/weak:0 fp=101");

	sc_begin("client only: a ClientHello, nothing after it", SESS_PORT_SMTP, 0);
	sc_str(0, "EHLO client01.smtptls.test\r\nSTARTTLS\r\n");
	sc_hex(0, pf13_client_hello);
	end_reason = END_FIN;
	sc_check("transport=starttls sent=1 ehlo=client01.smtptls.test cvmax=0x0304 "
		 "sni=mx1.smtptls.test ch=1 hrr=-1 resumed=-1 established=-1 outcome=incomplete "
		 "offer=tls13:1/suites:30/weak:0 fp=101");

	sc_begin("server only: STARTTLS, the TLS 1.3 flight and a ticket", SESS_PORT_SMTP, 0);
	postfix_dialogue_server();
	sc_hex(1, pf13_server_tls);
	pf13_server_rest(1);
	sc_check("transport=starttls offered=1 sent=-1 reply=220 mail=-1 rcpt=-1 auth=-1 "
		 "server=mx1.smtptls.test " PF_KW " v=0x0304 cipher=0x1302 group=29 ch=-1 "
		 "established=1 outcome=established fs=1 aead=1 weak=0 fp=010");

	/* The client's side is missing: its Finished may have come or not. */
	sc_begin("server only: the TLS 1.3 flight, then a reset", SESS_PORT_SMTP, 0);
	postfix_dialogue_server();
	sc_hex(1, pf13_server_tls);
	pf13_server_rest(0);
	end_reason = END_RST;
	sc_check("transport=starttls offered=1 sent=-1 reply=220 mail=-1 rcpt=-1 auth=-1 "
		 "server=mx1.smtptls.test "
		 "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS,ENHANCEDSTATUSCODES,8BITMIME,DSN,SMTPUTF8,CHUNKING "
		 "v=0x0304 cipher=0x1302 group=29 ch=-1 established=-1 outcome=incomplete fs=1 "
		 "aead=1 weak=0 fp=010");
	end_reason = END_EOF;
	depth = 0;
}

/* Contract C3: after a ServerHello, an alert, or the connection's end
 * before the handshake finished (both sides seen), is a failure; what the
 * capture does not show is incomplete. */
static void test_failed(void)
{
	static const enum end_reason ends[] = {END_FIN, END_RST, END_EOF, END_IDLE};
	static const char *const want[] = {"failed", "failed", "incomplete", "incomplete"};
	char line[1024];
	depth = 1;
	for (size_t i = 0; i < 4; i++) {
		sc_begin("TLS 1.2: the flight, then the client leaves", SESS_PORT_SMTP, 0);
		starttls_dialogue("jw-vm08-int-dns");
		sc_hex(0, ch_tls12);
		sc_hex(1, flight_tls12);
		end_reason = ends[i];
		snprintf(line, sizeof line, SMTP_PART "server=jw-vm08-int-dns ehlo=client.example.net "
			 "kw=STARTTLS v=0x0303 cvmax=0x0303 cipher=0xc02f group=23 "
			 "sni=dovecot.weberlab.de ch=1%s outcome=%s fs=1 aead=1 weak=0 "
			 "offer=tls13:0/suites:15/weak:1 chose_weak=0 declined_fs=0 fp=111 "
			 "cert=jw-vm08-int-dns self=1 expired=-1 match=1",
			 i < 2 ? "" : " established=-1", want[i]);
		sc_check(line);
	}

	/* TLS <= 1.2: the server's Finished never came. */
	sc_begin("TLS 1.2: the client's Finished, then a reset", SESS_PORT_TLS, 0);
	sc_hex(0, ch_tls12);
	sc_hex(1, sh_tls12);
	sc_hex(0, "1603030005" "1000000100" "140303000101" "1603030028"
		  "99999999999999999999999999999999999999999999999999999999999999999999999999999999");
	end_reason = END_RST;
	sc_check("transport=implicit_tls v=0x0303 cvmax=0x0303 cipher=0xc02f sni=dovecot.weberlab.de "
		 "ch=1 outcome=failed fs=1 aead=1 weak=0 offer=tls13:0/suites:15/weak:1 chose_weak=0 "
		 "declined_fs=0 fp=111");

	/* TLS 1.3: the client's Finished was sent; its fate is not known. */
	sc_begin("TLS 1.3: the client's Finished, then a reset", SESS_PORT_SMTP, 0);
	postfix_dialogue();
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_hex(0, pf13_client_finish);
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx1.smtptls.test "
		 "ehlo=client01.smtptls.test "
		 "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS,ENHANCEDSTATUSCODES,8BITMIME,DSN,SMTPUTF8,CHUNKING "
		 "v=0x0304 cvmax=0x0304 cipher=0x1302 group=29 sni=mx1.smtptls.test ch=1 "
		 "established=-1 outcome=incomplete fs=1 aead=1 weak=0 "
		 "offer=tls13:1/suites:30/weak:0 chose_weak=0 declined_fs=0 fp=111");

	/* tests/data/damaged/failed-retry.pcap without the server's side */
	sc_begin("client only: the client's alert after its ClientHello", SESS_PORT_SMTP, 0);
	sc_str(0, "EHLO client.example.net\r\nSTARTTLS\r\n");
	sc_hex(0, ch_tls12);
	sc_hex(0, "15030300020230");
	end_reason = END_RST;
	sc_check("transport=starttls sent=1 ehlo=client.example.net cvmax=0x0303 "
		 "sni=dovecot.weberlab.de ch=1 hrr=-1 resumed=-1 alert=0x0230 outcome=failed "
		 "alert_from=0 offer=tls13:0/suites:15/weak:1 fp=101");

	sc_begin("a ClientHello, then the server closes", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.example.org");
	sc_hex(0, ch_tls12);
	end_reason = END_FIN;
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx.example.org "
		 "ehlo=client.example.net kw=STARTTLS cvmax=0x0303 sni=dovecot.weberlab.de ch=1 "
		 "hrr=-1 resumed=-1 outcome=no_server_hello offer=tls13:0/suites:15/weak:1 "
		 "fp=101");

	sc_begin("a ClientHello, then the capture ends", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.example.org");
	sc_hex(0, ch_tls12);
	end_reason = END_EOF;
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx.example.org "
		 "ehlo=client.example.net kw=STARTTLS cvmax=0x0303 sni=dovecot.weberlab.de ch=1 "
		 "hrr=-1 resumed=-1 established=-1 outcome=incomplete "
		 "offer=tls13:0/suites:15/weak:1 fp=101");
	depth = 0;
}

/* tests/data/starttls-tls13.pcap cut to 96 bytes a frame (30 of payload):
 * the rest of each segment is a gap. */
static void test_snaplen(void)
{
	depth = 1;
	sc_begin("snaplen 96: STARTTLS, TLS 1.3", SESS_PORT_SMTP, 0);
	sc_str(1, "220 mx1.smtptls.test ESMTP Po");
	sc_gap(1, 19);
	sc_str(0, "EHLO client01.smtptls.test\r\n");
	sc_str(1, "250-mx1.smtptls.test\r\n250-PIPE");
	sc_gap(1, 137);
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
	sc_hex_part(0, pf13_client_hello, 30);
	sc_gap(0, 517 - 30);
	sc_hex_part(1, pf13_server_tls, 30);
	sc_gap(1, 1413 - 30);
	sc_hex_part(0, pf13_client_finish, 30);
	sc_gap(0, 50);
	sc_hex_part(0, pf13_client_ehlo, 30);
	sc_gap(0, 20);
	sc_check("transport=starttls sent=1 reply=220 server=mx1.smtptls.test "
		 "ehlo=client01.smtptls.test ch=1 hrr=-1 resumed=-1 established=1 done=1 "
		 "outcome=established");
	depth = 0;
}

static void test_midstream(void)
{
	sc_begin("mid-stream from the 220 to STARTTLS: no greeting", SESS_PORT_SMTP, 1);
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_hex(0, pf13_client_finish);
	sc_hex(0, pf13_client_ehlo);
	sc_check("transport=starttls sent=-1 reply=220 mail=-1 rcpt=-1 auth=-1 v=0x0304 "
		 "cvmax=0x0304 cipher=0x1302 group=29 sni=mx1.smtptls.test ch=1 established=1 done=1");

	sc_begin("mid-stream from Exim's 220 TLS go ahead", SESS_PORT_SMTP, 1);
	sc_str(1, "220 TLS go ahead\r\n");
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_check("transport=starttls sent=-1 reply=220 mail=-1 rcpt=-1 auth=-1 v=0x0304 "
		 "cvmax=0x0304 cipher=0x1302 group=29 sni=mx1.smtptls.test ch=1 established=-1");

	sc_begin("mid-stream from the ClientHello on port 25: STARTTLS", SESS_PORT_SMTP, 1);
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_check("transport=starttls sent=-1 mail=-1 rcpt=-1 auth=-1 v=0x0304 cvmax=0x0304 "
		 "cipher=0x1302 group=29 sni=mx1.smtptls.test ch=1 established=-1");

	sc_begin("from the start, a ClientHello on port 25: implicit TLS", SESS_PORT_SMTP, 0);
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_check("transport=implicit_tls v=0x0304 cvmax=0x0304 cipher=0x1302 group=29 "
		 "sni=mx1.smtptls.test ch=1 established=-1");

	sc_begin("mid-stream after a captured greeting: the counts are whole", SESS_PORT_SMTP, 1);
	sc_str(1, GREET);
	sc_str(0, "EHLO c\r\nMAIL FROM:<alice@sender.example>\r\n");
	sc_check("transport=plaintext mail=1 server=mx.example.org ehlo=c");
}

int main(void)
{
	test_one_side();
	test_failed();
	test_snaplen();
	test_midstream();
	return check_done("session_damaged");
}
