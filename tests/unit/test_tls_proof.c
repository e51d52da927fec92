/* Unit tests for dissect/tls.c: what proves a handshake complete (contract
 * C3, dissect/tlsproof.h). Both sides' Finished messages, the client's
 * Finished and its data, and one side of the connection only (asymmetric
 * routing), with what each does not prove. The harness is tls_case.h (see
 * test_tls.c for the others). */
#include "tls_case.h"

static void test_established(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("TLS 1.2: both Finished messages prove the handshake");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	record_raw(b, 22, 70, 0x10); /* ClientKeyExchange */
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x99); /* encrypted Finished */
	tc_buf(0, b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	record_raw(b, 23, 30, 0x52); /* not looked at: established */
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f established=1 cfin=1 rec=4/4 done=C@-1,S@237");

	/* The client's Finished is sent before the server accepts it. */
	tc_begin("TLS 1.3 (Postfix hrr.pcap): the client's Finished alone");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	record_raw(b, 23, 23, 0x95); /* EncryptedExtensions */
	tc_buf(1, b);
	record_raw(b, 23, 69, 0xb8); /* client Finished */
	tc_buf(0, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 cfin=1 rec=4/4");

	tc_begin("TLS 1.3 (Postfix hrr.pcap): the client's Finished, then its data");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	record_raw(b, 23, 23, 0x95);
	tc_buf(1, b);
	record_raw(b, 23, 69, 0xb8);
	record_raw(b, 23, 45, 0xb9); /* EHLO */
	record_raw(b, 23, 50, 0xba); /* not looked at */
	tc_buf(0, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 established=1 cfin=1 rec=5/4 done=C@807,S@-1");

	tc_begin("TLS 1.3: a client that rejects the server sends an alert, encrypted");
	tc_hex(0, ch_tls12);
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	b_hex(b, CCS);
	record_raw(b, 23, 19, 0xb1);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0304 "
		 "cipher=0x1302 group=29 rec=3/6");

	/* The hellos not captured (picked up mid-stream): a server record that
	 * began after the client's application data answers the client's
	 * Finished or data. Neither direction is done: a hello behind the
	 * records (two taps, one behind) would still be read. */
	tc_begin("application data both ways without the hellos");
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	tc_check("established=1 rec=1/1");

	tc_begin("the server's data first, the client's after: not yet");
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	tc_check("rec=1/1");

	/* 0-RTT data is sent before the ServerHello: no proof of anything. */
	tc_begin("TLS 1.3: early data, then the server's flight");
	tc_hex(0, ch_tls12);
	record_raw(b, 23, 100, 0xc1);
	tc_buf(0, b);
	sh13(b, 0x1301, 1);
	b_hex(b, CCS);
	record_raw(b, 23, 40, 0x95);
	record_raw(b, 23, 53, 0x98);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0304 "
		 "cipher=0x1301 resumed=1 group=29 rec=2/4");
	free(b);
}

/* One side of the connection only (asymmetric routing): what its records
 * prove (dissect/tlsproof.h). */
static void test_one_side(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("client only, TLS 1.3: CCS, Finished, data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0xb8);
	record_raw(b, 23, 45, 0xb9);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test established=1 cfin=1 "
		 "rec=4/0 done=C@436,S@-1");

	tc_begin("client only, TLS 1.3: an alert instead of the Finished");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 19, 0xb8);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test rec=3/0");

	/* Certificate and CertificateVerify are no Finished by their length. */
	tc_begin("client only, TLS 1.3: its certificate, Finished, data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 1200, 0xb5);
	record_raw(b, 23, 281, 0xb6);
	record_raw(b, 23, 53, 0xb7);
	tc_buf(0, b);
	record_raw(b, 23, 45, 0xb9);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test established=1 cfin=1 "
		 "rec=6/0 done=C@1911,S@-1");

	tc_begin("client only, TLS 1.3: its certificate and Finished, no data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 1200, 0xb5);
	record_raw(b, 23, 281, 0xb6);
	record_raw(b, 23, 53, 0xb7);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test cfin=1 rec=5/0");

	/* After a HelloRetryRequest (not seen) the second ClientHello follows
	 * the client's CCS: it is no encrypted Finished. */
	tc_begin("client only, HelloRetryRequest: CH, CCS, CH, Finished");
	tc_hex(0, ch_hrr1);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	record_raw(b, 23, 69, 0xb8);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test cfin=1 rec=4/0");

	tc_begin("client only, TLS 1.2: Finished after the CCS, then data");
	tc_hex(0, ch_tls12);
	record_raw(b, 22, 70, 0x10);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x99);
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de established=1 "
		 "cfin=1 rec=5/0 done=C@343,S@-1");

	tc_begin("server only, TLS 1.2: Finished after the CCS, then data");
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f established=1 rec=0/5 done=C@-1,S@272");

	tc_begin("server only, TLS 1.2: Finished, no data");
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/4");

	tc_begin("server only, TLS 1.3: flight, then a NewSessionTicket");
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	record_raw(b, 23, 250, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 established=1 rec=0/7 done=C@-1,S@1668");

	tc_begin("server only, TLS 1.3: flight, then an alert");
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	record_raw(b, 23, 19, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 rec=0/7");

	/* EncryptedExtensions of a Finished's length come first: no Finished. */
	tc_begin("server only, TLS 1.3: a first record of a Finished's length");
	sh13(b, 0x1302, 0);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0x95);
	record_raw(b, 23, 887, 0x96);
	record_raw(b, 23, 281, 0x97);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 rec=0/5");

	tc_begin("server only, TLS 1.3 resumed: EncryptedExtensions, Finished, ticket");
	sh13(b, 0x1301, 1);
	b_hex(b, CCS);
	record_raw(b, 23, 40, 0x95);
	record_raw(b, 23, 53, 0x98);
	record_raw(b, 23, 200, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 resumed=1 group=29 established=1 rec=0/5 "
		 "done=C@-1,S@447");

	tc_begin("server only, TLS 1.3, records lost after the ServerHello");
	sh13(b, 0x1302, 0);
	b_hex(b, CCS);
	record_raw(b, 23, 23, 0x95);
	tc_buf(1, b);
	tc_gap(1, 2000);
	record_raw(b, 23, 69, 0x98);
	record_raw(b, 23, 250, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 gap=0/1 rec=0/5");
	free(b);
}

int main(void)
{
	test_established();
	test_one_side();
	return check_done("tls_proof");
}
