/* Unit tests for dissect/session.c: the transport decision (plaintext,
 * STARTTLS, implicit TLS, unknown), the hand-off from SMTP to TLS, gaps,
 * session anomalies, the record it fills and what the bytes say for
 * --classify. The harness is session_case.h; the TLS depth of the record
 * is tested in test_session_depth.c, damaged captures (one side, cut
 * segments, mid-stream) in test_session_damaged.c. */
#include "session_case.h"

/* ---- cases -------------------------------------------------------------------- */

static void test_plaintext(void)
{
	sc_begin("plaintext SMTP", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "EHLO client.example.net\r\n");
	sc_str(1, "250-mx.example.org\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
	sc_str(0, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	sc_str(1, "235 2.7.0 ok\r\n");
	sc_str(0, "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@rcpt.example>\r\n"
		  "RCPT TO:<carol@rcpt.example>\r\nDATA\r\n");
	sc_str(1, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	sc_str(0, "\x16\x03 not TLS inside a body\r\n.\r\nQUIT\r\n");
	sc_str(1, "250 queued\r\n221 bye\r\n");
	sc_check("transport=plaintext offered=0 mail=1 rcpt=2 auth=1 mech=PLAIN "
		 "server=mx.example.org ehlo=client.example.net kw=PIPELINING,AUTH");

	sc_begin("STARTTLS refused with 454, then plaintext", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "EHLO client.example.net\r\n");
	sc_str(1, "250-mx.example.org\r\n250 STARTTLS\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "454 4.7.0 TLS not available\r\n");
	sc_str(0, "MAIL FROM:<alice@sender.example>\r\n");
	sc_str(1, "250 ok\r\n");
	sc_check("transport=plaintext offered=1 sent=1 reply=454 mail=1 server=mx.example.org "
		 "ehlo=client.example.net kw=STARTTLS");

	/* Contract C2: what the client side shows is unknown without it. */
	sc_begin("server only", SESS_PORT_SMTP, 0);
	sc_str(1, GREET "250-mx.example.org\r\n250 STARTTLS\r\n");
	sc_check("transport=plaintext offered=1 sent=-1 mail=-1 rcpt=-1 auth=-1 "
		 "server=mx.example.org kw=STARTTLS ch=-1");

	sc_begin("client only", SESS_PORT_SMTP, 0);
	sc_str(0, "EHLO client.example.net\r\nMAIL FROM:<alice@sender.example>\r\n");
	sc_check("transport=plaintext mail=1 ehlo=client.example.net");
}

static void test_starttls(void)
{
	sc_begin("STARTTLS, TLS 1.3, established (Postfix, real bytes)", SESS_PORT_SMTP, 0);
	postfix_dialogue();
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_hex(0, pf13_client_finish);
	sc_hex(0, pf13_client_ehlo);
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx1.smtptls.test "
		 "ehlo=client01.smtptls.test " PF_KW " v=0x0304 cvmax=0x0304 cipher=0x1302 "
		 "group=29 sni=mx1.smtptls.test ch=1 established=1 done=1");

	sc_begin("STARTTLS, TLS 1.2 hellos only (smtp-starttls stream 1)", SESS_PORT_SMTP, 0);
	sc_str(1, "220 jw-vm08-int-dns.webernetz.net ESMTP Postfix (Ubuntu)\r\n");
	sc_str(0, "EHLO [IPv6:2003:de:2016:125:fc36:8317:4e86:cb72]\r\n");
	sc_str(1, "250-jw-vm08-int-dns.webernetz.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		  "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
		  "250-8BITMIME\r\n250 DSN\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
	sc_hex(0, ch_tls12);
	sc_hex(1, sh_tls12);
	sc_check("transport=starttls offered=1 sent=1 reply=220 "
		 "server=jw-vm08-int-dns.webernetz.net "
		 "ehlo=[IPv6:2003:de:2016:125:fc36:8317:4e86:cb72] "
		 "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS,ENHANCEDSTATUSCODES,8BITMIME,DSN "
		 "v=0x0303 cvmax=0x0303 cipher=0xc02f sni=dovecot.weberlab.de ch=1 "
		 "established=-1");

	/* The 220 was not captured: TLS after STARTTLS still says starttls.
	 * Picked up mid-stream, before a greeting: MAIL may have come before. */
	sc_begin("client only: STARTTLS then a ClientHello", SESS_PORT_SMTP, 1);
	sc_str(0, "EHLO client.example.net\r\nSTARTTLS\r\n");
	sc_hex(0, ch_tls12);
	sc_check("transport=starttls sent=1 mail=-1 rcpt=-1 auth=-1 ehlo=client.example.net "
		 "cvmax=0x0303 sni=dovecot.weberlab.de ch=1 hrr=-1 resumed=-1 established=-1");

	/* As in arkime smtp-decrypted.pcap. */
	sc_begin("STARTTLS 220, no TLS follows", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "EHLO transit-mta\r\n");
	sc_str(1, "250-mx.example.org\r\n250 STARTTLS\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 SMTP server ready\r\n");
	sc_str(0, "EHLO transit-mta\r\nMAIL FROM:<alice@sender.example>\r\n");
	sc_str(1, "250 mx.example.org\r\n250 ok\r\n");
	sc_check("transport=starttls offered=1 sent=1 reply=220 mail=1 server=mx.example.org "
		 "ehlo=transit-mta kw=STARTTLS anom=no_tls_after_220,plaintext_after_starttls");

	/* Without the client's side its ClientHello may have gone unseen. */
	depth = 1;
	sc_begin("server only: STARTTLS 220, then nothing", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(1, "250-mx.example.org\r\n250 STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
	sc_check("transport=starttls offered=1 sent=-1 reply=220 mail=-1 rcpt=-1 auth=-1 "
		 "server=mx.example.org kw=STARTTLS ch=-1 outcome=incomplete");
	depth = 0;

	sc_begin("STARTTLS 220, then silence", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
	sc_check("transport=starttls sent=1 reply=220 server=mx.example.org "
		 "anom=no_tls_after_220");
}

static void test_implicit(void)
{
	sc_begin("implicit TLS on 465", SESS_PORT_TLS, 0);
	sc_hex(0, ch_tls12);
	sc_hex(1, sh_tls12);
	sc_check("transport=implicit_tls v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "sni=dovecot.weberlab.de ch=1 established=-1");

	/* As in certgrep sess_smtps.pcapng: a ClientHello on 587. */
	sc_begin("implicit TLS on an SMTP port", SESS_PORT_SMTP, 0);
	sc_hex(0, ch_tls12);
	sc_hex(1, sh_tls12);
	sc_check("transport=implicit_tls v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "sni=dovecot.weberlab.de ch=1 established=-1");

	sc_begin("mid-stream TLS records on 465", SESS_PORT_TLS, 1);
	sc_hex(0, "1703030005aabbccddee");
	sc_hex(1, "1703030004a1a2a3a4");
	sc_check("transport=implicit_tls sent=-1 mail=-1 rcpt=-1 auth=-1 ch=-1 resumed=-1 "
		 "established=-1");

	/* A port that speaks SMTP first: TLS there followed a STARTTLS. */
	sc_begin("mid-stream TLS records on an SMTP port", SESS_PORT_SMTP, 1);
	sc_hex(0, "1703030005aabbccddee");
	sc_hex(1, "1703030004a1a2a3a4");
	sc_check("transport=starttls sent=-1 mail=-1 rcpt=-1 auth=-1 ch=-1 resumed=-1 "
		 "established=-1");

	sc_begin("mid-stream bytes that are no TLS records on an SMTP port", SESS_PORT_SMTP, 1);
	sc_hex(0, "17aabbccdd0a");
	sc_check("transport=unknown sent=-1 mail=-1 rcpt=-1 auth=-1 ch=-1 hrr=-1 resumed=-1 "
		 "anom=tls_malformed,not_smtp");

	/* nDPI smtps.pcapng: the server on 465 speaks plain SMTP. */
	sc_begin("ClientHello answered by a plaintext banner", SESS_PORT_TLS, 0);
	sc_hex(0, smtps_client_hello);
	sc_str(1, "220-gator4223.hostgator.com ESMTP Exim 4.93 #2 Fri, 05 Mar 2021 04:01:45 -0600"
		  "\r\n220-We do not authorize the use of this system to transport unsolicited,"
		  "\r\n220 and/or bulk e-mail.\r\n");
	sc_check("transport=implicit_tls server=gator4223.hostgator.com cvmax=0x0303 ch=1 hrr=-1 "
		 "resumed=-1 anom=plaintext_reply_to_tls");
}

static void test_unknown(void)
{
	sc_begin("HTTP on an SMTP port", SESS_PORT_SMTP, 0);
	sc_str(0, "GET / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n");
	sc_str(1, "HTTP/1.1 400 Bad Request\r\n\r\n");
	sc_check("transport=unknown anom=not_smtp");

	sc_begin("binary garbage", SESS_PORT_SMTP, 0);
	sc_hex(0, "16000000ff00112233");
	sc_hex(1, "8000000000");
	sc_check("transport=unknown hrr=-1 resumed=-1 done=1 anom=tls_malformed,not_smtp");

	sc_begin("nothing at all", SESS_PORT_SMTP, 0);
	sc_check("transport=unknown sent=-1 mail=-1 rcpt=-1 auth=-1 ch=-1");
}

static void test_gaps(void)
{
	sc_begin("gap in the SMTP dialogue", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@rcpt.example>\r\nDATA\r\n");
	sc_str(1, "250 ok\r\n250 ok\r\n354 go\r\n");
	sc_str(0, "Subject: x\r\n\r\n");
	sc_gap(0, 3000);
	sc_str(1, "250 queued\r\n");
	sc_str(0, "MAIL FROM:<alice@sender.example>\r\n");
	sc_check("transport=plaintext sent=-1 mail=-1 rcpt=-1 auth=-1 server=mx.example.org ch=-1");

	sc_begin("gap beyond a TLS record: the next record is read", SESS_PORT_TLS, 0);
	sc_hex(0, ch_tls12);
	sc_gap(0, 100);
	sc_hex(0, "1703030005aabbccddee");
	sc_hex(1, sh_tls12);
	sc_gap(1, 7);
	sc_hex(1, "1703030004a1a2a3a4");
	sc_check("transport=implicit_tls v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "sni=dovecot.weberlab.de ch=1 established=-1");

	sc_begin("gap before anything", SESS_PORT_SMTP, 1);
	sc_gap(0, 10);
	sc_gap(1, 10);
	sc_str(1, "250 ok\r\n");
	sc_check("transport=plaintext sent=-1 mail=-1 rcpt=-1 auth=-1 ch=-1");
}

/* What a session's own bytes say for --classify. */
static void test_evidence(void)
{
	static const struct {
		const char *name, *server, *client;
		enum classify_evidence want;
	} cases[] = {
		{"a greeting answered by EHLO", GREET, "EHLO c\r\n", CLASSIFY_BYTES_SMTP},
		{"a greeting answered by HELO", GREET, "HELO c\r\n", CLASSIFY_BYTES_SMTP},
		{"a greeting alone", GREET, "", CLASSIFY_BYTES_UNDECIDED},
		{"a greeting and an EHLO reply (server side only)",
		 GREET "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", "",
		 CLASSIFY_BYTES_SMTP},
		{"a greeting and a one-line 250", GREET "250 ok\r\n", "", CLASSIFY_BYTES_UNDECIDED},
		{"IMAP", "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", "a001 CAPABILITY\r\n",
		 CLASSIFY_BYTES_OTHER},
		{"POP3", "+OK POP3 ready\r\n", "STLS\r\n", CLASSIFY_BYTES_OTHER},
		{"HTTP", "", "GET / HTTP/1.1\r\n", CLASSIFY_BYTES_OTHER},
		{"FTP", "220 ftp.example.org FTP ready\r\n", "USER anonymous\r\n", CLASSIFY_BYTES_OTHER},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sess *s = sess_new(SESS_PORT_SMTP, 0);
		sess_data(s, DIR_S2C, (const uint8_t *)cases[i].server, strlen(cases[i].server));
		sess_data(s, DIR_C2S, (const uint8_t *)cases[i].client, strlen(cases[i].client));
		if (!check_report(sess_evidence(s) == cases[i].want, __FILE__, __LINE__, cases[i].name))
			fprintf(stderr, "     got %d, want %d\n", sess_evidence(s), cases[i].want);
		sess_free(s);
	}
	uint8_t ch[1024];
	size_t n = 0;
	for (const char *h = pf13_client_hello; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		ch[n++] = (uint8_t)v;
	}
	struct sess *s = sess_new(SESS_PORT_SMTP, 0);
	sess_data(s, DIR_C2S, ch, n);
	CHECK_INT(sess_evidence(s), CLASSIFY_BYTES_TLS);
	sess_free(s);
}

int main(void)
{
	test_plaintext();
	test_starttls();
	test_implicit();
	test_unknown();
	test_gaps();
	test_evidence();
	return check_done("session");
}
