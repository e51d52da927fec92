/* Unit tests for dissect/tls.c: the TLS depth facts. The client's offer,
 * JA3, JA4 and JA3S, the ServerKeyExchange (DH prime, named group), the
 * leaf certificate, and who sent an alert; describe_facts() adds them when
 * `depth` is set. The harness is tls_case.h (see test_tls.c for the others). */
#include "tls_case.h"

/* JA3S of synthetic ServerHellos: MD5 of "771,<suite>,<extensions>",
 * computed apart with Python's hashlib. */
#define JA3S_DHE "ba19ac8de15a2b9bdfa3c72948bc8489"     /* 771,158, */
#define JA3S_DHE51 "d5c9284656137d77a10acc694c71088d"   /* 771,51, */
#define JA3S_PSK "889a427e42aa70375f2e5050d7b54013"     /* 771,49205, */
#define JA3S_ANON "0fad7108bca58012cedd20fd6afb7a6e"    /* 771,49176, */
#define JA3S_C02F "174e7e4992a63f6d419626d97363adb8"    /* 771,49199, */
#define JA3S_RSA "5397c414a9ebeaff1bf18b70ca22eaa0"     /* 771,47, */
#define JA3S_MLKEM "f4febc55ea12b31ae17cfb7e614afda8"   /* 771,4865,43-51 */
#define JA3S_PSK13 "2253c82f03b621c5144709b393fde2c9"   /* 771,4866,43-51-41 */

/* The certificate inside flight_tls12. */
static size_t flight_cert(uint8_t *out)
{
	uint8_t f[2048];
	size_t n = hex_decode(f, flight_tls12);
	(void)n;
	memcpy(out, f + 81, 712);
	return 712;
}

/* A ServerKeyExchange record for a TLS 1.2 suite: body given in hex. */
static void ske_record(struct buf *b, const char *body_hex)
{
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_hex(b, body_hex);
	b_close_all(b);
}

/* JA3 and JA3S of nDPI's captures: nDPI's published values (stream 0) and
 * tshark 4.0's (stream 1). JA4: tshark has none; the values come from an
 * independent Python implementation of the JA4 specification over tshark's
 * decoded fields (tests/data/record/make_truth_tls.py). */
static void test_depth_real(void)
{
	depth = 1;
	tc_begin("nDPI stream 0: offers, JA3 and JA3S as published by nDPI");
	tc_hex(0, ch_tls10);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1 "
		 "offer=28/weak1/strong1/fs1 ja3=fab507fe132c544e8a0eb7c394affeae "
		 "ja4=t10i290100_cdba58456bdf_e78b541c01a9 ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("nDPI stream 1: the server's flight, certificate and ECDHE curve");
	tc_hex(0, ch_tls12);
	tc_hex(1, flight_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f group=23 rec=1/4 offer=15/weak1/strong1/fs1 "
		 "ja3=7b38238e17474b8f6d113523bb5a8dd9 ja4=t12d150900_073e58a039a6_b44afb9f0e6a "
		 "ja3s=ccc514751b175866924439bdbb5bba34 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");
	depth = 0;
}

static void test_server_key_exchange(void)
{
	struct buf *b = calloc(1, sizeof *b);
	char prime[2 * 256 + 1];
	depth = 1;

	tc_begin("DHE: a 2048-bit prime");
	memset(prime, 'f', sizeof prime - 1);
	prime[sizeof prime - 1] = '\0';
	sh_begin(b, 0x0303, NULL, 0, 0, 0x009e);
	tc_buf(1, b);
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_u16(b, 256);
	b_hex(b, prime);
	b_hex(b, "000102" "000102"); /* g, Ys */
	b_close_all(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x009e rec=0/2 ja3s=" JA3S_DHE " dh=2048");

	tc_begin("DHE: a 1023-bit prime with a leading zero byte");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x0033);
	tc_buf(1, b);
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_u16(b, 129);
	b_hex(b, "007f");
	b_fill(b, 0xee, 127);
	b_hex(b, "000102000102");
	b_close_all(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x0033 rec=0/2 ja3s=" JA3S_DHE51 " dh=1023");

	tc_begin("ECDHE_PSK: identity hint, then x25519");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc035);
	tc_buf(1, b);
	ske_record(b, "0004" "68696e74" "03" "001d" "20" "3333333333333333333333333333333333333333333333333333333333333333");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc035 group=29 rec=0/2 ja3s=" JA3S_PSK);

	tc_begin("ECDH_anon: secp384r1");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc018);
	tc_buf(1, b);
	ske_record(b, "03" "0018" "01" "04");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc018 group=24 rec=0/2 ja3s=" JA3S_ANON);

	tc_begin("ECDHE: explicit curve parameters are no named group");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	ske_record(b, "01" "0020" "ffffffff");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2 ja3s=" JA3S_C02F);

	tc_begin("ECDHE: a ServerKeyExchange of two bytes");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	ske_record(b, "0300");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2 anom=tls_malformed ja3s=" JA3S_C02F);

	tc_begin("RSA key exchange: a ServerKeyExchange is not read");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x002f);
	tc_buf(1, b);
	ske_record(b, "03" "001d");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x002f rec=0/2 ja3s=" JA3S_RSA);

	tc_begin("a ServerKeyExchange before any ServerHello");
	ske_record(b, "03" "001d");
	tc_buf(1, b);
	tc_check("rec=0/1");

	tc_begin("TLS 1.3: X25519MLKEM768 key share (1120 bytes)");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_begin(b, 51);
	b_u16(b, 0x11ec);
	b_u16(b, 1120);
	b_fill(b, 0x42, 1120);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 group=4588 rec=0/1 "
		 "ja3s=" JA3S_MLKEM);
	depth = 0;
	free(b);
}

/* Certificate messages: one DER certificate per entry. */
static void cert_record(struct buf *b, const uint8_t *der, size_t n, size_t extra)
{
	b_record(b, 22);
	b_u8(b, 11);
	b_open(b, 3);
	b_open(b, 3);
	b_open(b, 3);
	b_mem(b, der, n);
	b_close(b);
	if (extra) { /* a second certificate of extra bytes */
		b_u8(b, (unsigned)(extra >> 16));
		b_u16(b, (unsigned)(extra & 0xffff));
		b_fill(b, 0x30, extra);
	}
	b_close(b);
	b_close(b);
	/* records of at most 16384 bytes */
	size_t body = b->n - 5;
	if (body > 16384) {
		static uint8_t msg[200000];
		memcpy(msg, b->b + 5, body);
		b->n = 0;
		b->depth = 0;
		for (size_t off = 0; off < body; off += 16384) {
			size_t take = body - off < 16384 ? body - off : 16384;
			b_record(b, 22);
			b_mem(b, msg + off, take);
			b_close(b);
		}
	}
}

static void test_certificates(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t der[1024];
	size_t n = flight_cert(der);
	depth = 1;

	tc_begin("Certificate after a TLS 1.0 ServerHello");
	tc_hex(1, sh_tls10);
	cert_record(b, der, n, 0);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 ja3s=6b96cf9c27b0223177b0e9f135fe4899 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");

	tc_begin("a chain longer than TLS_HANDSHAKE_MAX: the leaf is kept");
	tc_hex(1, sh_tls10);
	cert_record(b, der, n, 70000);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/7 ja3s=6b96cf9c27b0223177b0e9f135fe4899 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");

	tc_begin("a leaf longer than TLS_HANDSHAKE_MAX");
	tc_hex(1, sh_tls10);
	{
		static uint8_t big[70000];
		memcpy(big, der, n);
		cert_record(b, big, sizeof big, 0);
	}
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/6 anom=handshake_too_big "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("a leaf that is not DER");
	tc_hex(1, sh_tls10);
	memset(der + 100, 0xff, 4);
	cert_record(b, der, n, 0);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 anom=cert_malformed "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("a certificate entry longer than the message");
	tc_hex(1, sh_tls10);
	b_record(b, 22);
	b_hex(b, "0b00000a" "000007" "000100" "30820100");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 anom=tls_malformed "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("TLS 1.3: the Certificate is encrypted, not read");
	tc_hex(1, sh_psk13);
	flight_cert(der);
	cert_record(b, der, n, 0);
	b->b[0] = 23;
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 resumed=1 group=29 rec=0/2 ja3s=" JA3S_PSK13);
	depth = 0;
	free(b);
}

static void test_depth_alerts_sslv2(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t der[1024];
	size_t n = flight_cert(der);
	depth = 1;

	tc_begin("the server refuses the ClientHello: protocol_version");
	tc_hex(0, ch_tls10);
	tc_hex(1, "15030100020246");
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 alert=0x0246 rec=1/1 "
		 "offer=28/weak1/strong1/fs1 ja3=fab507fe132c544e8a0eb7c394affeae "
		 "ja4=t10i290100_cdba58456bdf_e78b541c01a9 alert_from=1");

	tc_begin("SSLv2-format ClientHello: specs judged, no fingerprint");
	tc_hex(0, "802e" "01" "0301" "0015" "0000" "0010"
		  "010080" "030080" "070080" "000005" "000004" "00000a" "000035"
		  "00112233445566778899aabbccddeeff");
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 sslv2=1 suites=7 rec=1/0 offer=7/weak1/strong1/fs0");

	tc_begin("SSLv2 SERVER-HELLO with an X.509 certificate");
	b_u16(b, 0x8000 | (unsigned)(11 + n + 3 + 16));
	b_hex(b, "04" "00" "01" "0002");
	b_u16(b, (unsigned)n);
	b_hex(b, "0003" "0010");
	b_mem(b, der, n);
	b_hex(b, "010080" "0f0e0d0c0b0a09080706050403020100");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0002 rec=0/1 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");
	depth = 0;
	free(b);
}

int main(void)
{
	test_depth_real();
	test_server_key_exchange();
	test_certificates();
	test_depth_alerts_sslv2();
	return check_done("tls_depth");
}
