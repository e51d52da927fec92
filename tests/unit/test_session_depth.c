/* Unit tests for dissect/session.c: the TLS depth of the record, the
 * judgement of the cipher, the client's offer, the outcome and the
 * certificate. The harness is session_case.h (see test_session.c). */
#include "session_case.h"

/* ---- TLS depth: judgement, offer, outcome, certificate ------------------------ */

static void test_depth_judgement(void)
{
	depth = 1;
	ts_start = 1600000000; /* 2020-09-13 */
	sc_begin("TLS 1.2 ECDHE-GCM, certificate valid and matching", SESS_PORT_SMTP, 0);
	starttls_dialogue("jw-vm08-int-dns");
	sc_hex(0, ch_tls12);
	sc_hex(1, flight_tls12);
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=jw-vm08-int-dns "
		 "ehlo=client.example.net kw=STARTTLS v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "group=23 sni=dovecot.weberlab.de ch=1 established=-1 outcome=incomplete fs=1 "
		 "aead=1 weak=0 offer=tls13:0/suites:15/weak:1 chose_weak=0 declined_fs=0 fp=111 "
		 "cert=jw-vm08-int-dns self=1 expired=0 match=1");

	ts_start = 1800000000; /* 2027-01-15: after notAfter 2026-08-14 */
	sc_begin("the same certificate expired, another greeting name", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.webernetz.net");
	sc_hex(0, ch_tls12);
	sc_hex(1, flight_tls12);
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx.webernetz.net "
		 "ehlo=client.example.net kw=STARTTLS v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "group=23 sni=dovecot.weberlab.de ch=1 established=-1 outcome=incomplete fs=1 "
		 "aead=1 weak=0 offer=tls13:0/suites:15/weak:1 chose_weak=0 declined_fs=0 fp=111 "
		 "cert=jw-vm08-int-dns self=1 expired=1 match=0");

	ts_start = 0; /* no capture time: expiry unknown */
	sc_begin("Google 2013: RC4 chosen from an offer with AES and DHE", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.google.com");
	sc_hex(0, ch_tls10);
	sc_hex(1, sh_tls10);
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx.google.com "
		 "ehlo=client.example.net kw=STARTTLS v=0x0301 cvmax=0x0301 cipher=0x0005 ch=1 "
		 "established=-1 outcome=incomplete fs=0 aead=0 weak=1 "
		 "offer=tls13:0/suites:28/weak:1 chose_weak=1 declined_fs=1 fp=111");

	sc_begin("TLS 1.3 established: key share, forward secret", SESS_PORT_SMTP, 0);
	postfix_dialogue();
	sc_hex(0, pf13_client_hello);
	sc_hex(1, pf13_server_tls);
	sc_hex(0, pf13_client_finish);
	sc_hex(0, pf13_client_ehlo);
	sc_check(SMTP_PART "server=mx1.smtptls.test ehlo=client01.smtptls.test " PF_KW
		 " v=0x0304 cvmax=0x0304 cipher=0x1302 group=29 sni=mx1.smtptls.test ch=1 "
		 "established=1 done=1 outcome=established fs=1 aead=1 weak=0 "
		 "offer=tls13:1/suites:30/weak:0 chose_weak=0 declined_fs=0 fp=111");

	/* psk_ke: a TLS 1.3 ServerHello with pre_shared_key and no key_share */
	sc_begin("TLS 1.3 resumption without a key share: not forward secret", SESS_PORT_TLS, 0);
	sc_hex(0, pf13_client_hello);
	sc_hex(1, "1603030038020000340303"
		  "2222222222222222222222222222222222222222222222222222222222222222"
		  "00" "1302" "00" "000c" "002b00020304" "002900020000");
	sc_check("transport=implicit_tls v=0x0304 cvmax=0x0304 cipher=0x1302 "
		 "sni=mx1.smtptls.test ch=1 resumed=1 established=-1 outcome=incomplete fs=0 "
		 "aead=1 weak=0 offer=tls13:1/suites:30/weak:0 chose_weak=0 declined_fs=1 fp=111");
	depth = 0;
}

static void test_depth_outcome(void)
{
	depth = 1;
	sc_begin("refused: protocol_version instead of a ServerHello", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.example.org");
	sc_hex(0, ch_tls10);
	sc_hex(1, "15030100020246");
	sc_check("transport=starttls offered=1 sent=1 reply=220 server=mx.example.org "
		 "ehlo=client.example.net kw=STARTTLS cvmax=0x0301 ch=1 resumed=-1 alert=0x0246 "
		 "outcome=refused alert_from=1 offer=tls13:0/suites:28/weak:1 fp=101");

	sc_begin("failed: the client rejects the certificate", SESS_PORT_SMTP, 0);
	starttls_dialogue("jw-vm08-int-dns");
	sc_hex(0, ch_tls12);
	sc_hex(1, flight_tls12);
	sc_hex(0, "1503030002022a");
	sc_check(SMTP_PART "server=jw-vm08-int-dns ehlo=client.example.net kw=STARTTLS "
		 "v=0x0303 cvmax=0x0303 cipher=0xc02f group=23 sni=dovecot.weberlab.de ch=1 "
		 "alert=0x022a outcome=failed alert_from=0 fs=1 aead=1 weak=0 "
		 "offer=tls13:0/suites:15/weak:1 chose_weak=0 declined_fs=0 fp=111 "
		 "cert=jw-vm08-int-dns self=1 expired=-1 match=1");

	sc_begin("a close_notify is no failure", SESS_PORT_TLS, 0);
	sc_hex(0, ch_tls12);
	sc_hex(1, sh_tls12);
	sc_hex(1, "15030300020100");
	sc_check("transport=implicit_tls v=0x0303 cvmax=0x0303 cipher=0xc02f "
		 "sni=dovecot.weberlab.de ch=1 established=-1 alert=0x0100 outcome=incomplete "
		 "alert_from=1 fs=1 aead=1 weak=0 offer=tls13:0/suites:15/weak:1 chose_weak=0 "
		 "declined_fs=0 fp=111");

	sc_begin("no TLS after 220", SESS_PORT_SMTP, 0);
	starttls_dialogue("mx.example.org");
	sc_check(SMTP_PART "server=mx.example.org ehlo=client.example.net kw=STARTTLS "
		 "anom=no_tls_after_220 outcome=no_tls_after_220");

	sc_begin("a ClientHello answered in plaintext", SESS_PORT_TLS, 0);
	sc_hex(0, smtps_client_hello);
	sc_str(1, "220 mx.example.org ESMTP\r\n");
	sc_check("transport=implicit_tls server=mx.example.org cvmax=0x0303 ch=1 hrr=-1 "
		 "resumed=-1 anom=plaintext_reply_to_tls outcome=no_server_hello "
		 "offer=tls13:0/suites:85/weak:1 fp=101");

	sc_begin("SSLv2-format ClientHello", SESS_PORT_TLS, 0);
	sc_hex(0, "802e" "01" "0301" "0015" "0000" "0010"
		  "010080" "030080" "070080" "000005" "000004" "00000a" "000035"
		  "00112233445566778899aabbccddeeff");
	sc_check("transport=implicit_tls cvmax=0x0301 ch=1 hrr=-1 resumed=-1 established=-1 "
		 "outcome=incomplete offer=tls13:0/suites:7/weak:1");

	sc_begin("plaintext: no outcome, no judgement", SESS_PORT_SMTP, 0);
	sc_str(1, GREET);
	sc_str(0, "QUIT\r\n");
	sc_check("transport=plaintext server=mx.example.org");
	depth = 0;
}

int main(void)
{
	test_depth_judgement();
	test_depth_outcome();
	return check_done("session_depth");
}
