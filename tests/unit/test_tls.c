/* Unit tests for dissect/tls.c: hellos and versions. Real hello records cut
 * from public captures (hex below and in tls_vectors.h, source noted on each)
 * and synthetic ones: SNI, ALPN, supported_versions and GREASE, the
 * HelloRetryRequest, resumption, the TLS 1.3 drafts' ServerHellos.
 *
 * The record layer, gaps, alerts and malformed input are in
 * test_tls_records.c; what proves a handshake complete (both sides or one)
 * in test_tls_proof.c; offers, fingerprints, key exchange and certificates
 * in test_tls_depth.c. The harness (builders, the case runner, the line of
 * facts) is tls_case.h. */
#include "tls_case.h"

/* ---- real records --------------------------------------------------------- */

/* nDPI tls_1.3_unidirectional_server.pcapng (142.250.184.68:443): ServerHello
 * legacy 0x0303, supported_versions 0x0304, 0x1301, x25519, pre_shared_key */
static const char sh_tls13_google[] =
	"16030300800200007c0303c57417b3a7267c19e1431447bf571918fc463e2a29"
	"92c63d2241054efb49195020691ce20136f8bc28a70a33e7ef38c01b821e4bab"
	"3b8775d4691789deb9ca7814130100003400290002000000330024001d0020cc"
	"4c7a4927e6c3b46de7f9db39ddab59adb5e876213215a1c41bf035b2acca4e00"
	"2b00020304";

/* nDPI tls_2_reasms.pcapng (Instagram, Facebook Fizz): ClientHello with SNI
 * i.instagram.com, ALPN h2,h2-fb,http/1.1, supported_versions 0x0304,0xfb1a */
static const char ch_fizz[] =
	"160301018f0100018b030300957252c8b6d358dac5d363528f6f211da9a4cb42"
	"f9c026109c75022ffeb3de20f92e17c1cd53451b0082ab31e034a3b29817d9ec"
	"ad2f210125a4f4523d8f39d900061301130213030100013c002b0005040304fb"
	"1a000a00060004001d0017003300260024001d0020102c6912c7176b4a73a747"
	"70723d8db11483cf4c2df00e5b362cb4b287bed916000d000a00080403050306"
	"03080400000014001200000f692e696e7374616772616d2e636f6d0010001400"
	"120268320568322d666208687474702f312e31002d0003020100002a00000029"
	"00b2008d0087840e8e12ab969812859523d81be57ee5b1bc682d041ba879c5a6"
	"717c688d562f00000000ee7f0b937201dcee5619f1256585ad54dd992bd1577d"
	"c66bdb829a21a6415234c2c3219f05991da94cc0786f60b12c9185129b299a88"
	"a3042bca4127e914e40e04b84e6d6d602ab97a015f18eeb11c620031739efb01"
	"9ad7c6df4b75335731189c8d6e5c4b3d4900212095eefcbd3ec1f911bf703dcc"
	"8c0715f295f1eeb460f15ae27a176bd44a43771b";

/* same stream: ServerHello, supported_versions 0xfb1a, 0x1301, pre_shared_key */
static const char sh_fizz[] =
	"16030300800200007c0303a1d1187076d67341126a680ac3be1fa2dbb6d538d2"
	"6ccf688884f365cb59b91820f92e17c1cd53451b0082ab31e034a3b29817d9ec"
	"ad2f210125a4f4523d8f39d91301000034002b0002fb1a00330024001d00207c"
	"833d1c5e42cf905a0b3838f0d39afa853a764a3b7bba29e1b3117c710d3d7000"
	"2900020000";

/* nDPI imaps.pcap, stream 1 (192.168.0.1:51529 -> 10.10.10.1:993):
 * ClientHello with GREASE: supported_versions 0xdada,0x0304,0x0303,0x0302,0x0301,
 * 27 suites (one GREASE), SNI imap.asia.secureserver.net */
static const char ch_grease[] =
	"1603010200010001fc0303c924d39803414f2f5f7f8a919063441abd44e82206"
	"d474ecadd823de6ec7b55120b621899492ea03df960b18092b47d9445e9a9616"
	"984c831f94191f10ab2872d900368a8a130113021303c02cc02bcca9c030c02f"
	"cca8c024c023c00ac009c028c027c014c013009d009c003d003c0035002fc008"
	"c012000a0100017d5a5a00000000001f001d00001a696d61702e617369612e73"
	"65637572657365727665722e6e657400170000ff01000100000a000c000a5a5a"
	"001d001700180019000b00020100000500050100000000000d00180016040308"
	"04040105030203080508050501080606010201001200000033002b00295a5a00"
	"0100001d002096ca556f2fc759a1d54ae8b4964e5ca7bf1207d92eedb1eab5a3"
	"a905fa3bf30c002d00020101002b000b0adada03040303030203014a4a000100"
	"001500c100000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000";

/* same stream: ServerHello TLS 1.2, 0xc030, a new session id */
static const char sh_grease[] =
	"160303005d0200005903031d1c7c7a22712e6b4e3e9f2c3914dca3ed18c82bac"
	"8c564a329878c2a55020bd200baa7ea59f78117ad08a4c0d91fe176304da61a0"
	"ea5372876eb44548aa243d09c03000001100000000ff01000100000b00040300"
	"0102";

/* tests/data/resumption12.pcap, second session (127.0.0.1:50070 -> :25):
 * ClientHello 0x0303, 28 suites, 32-byte session id, SNI mx1.smtptls.test */
static const char ch_res12[] =
	"16030101a00100019c0303d19e4d1f8597aea62d3ba12836c141f127e911556a"
	"fd50c9e4395149e4adb83d204640b9ea58e76c9cd507f9ac2e7e40aefc68f218"
	"dff8769c0607f676438ce4040038c02cc030009fcca9cca8ccaac02bc02f009e"
	"c024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
	"0035002f00ff0100011b0000001500130000106d78312e736d7470746c732e74"
	"657374000b000403000102000a000c000a001d0017001e00190018002300b0bd"
	"c95a0d5b67c6ecfc6a344d526dbace7d8b10e9a67163648c183133b689522d66"
	"0ca841f6c6733b438a54a82567122a13fa98a7accab66824b1947953b0da28b9"
	"6dcf760ebd21fd2cf2c586fd6982033e87f0f65454b46594fa277a0fa576d31a"
	"758f8277cd02c7c1353b025635089a3ea7ceb4e490b6be9523fb3bf5287466be"
	"40777b09bc0ceb5b5959b97656d4e5ae18ef240b5bbe367a19dc777de989a802"
	"8d80becad0a9172894f8642da188890016000000170000000d002a0028040305"
	"030603080708080809080a080b08040805080604010501060103030301030204"
	"0205020602";

/* same stream: ServerHello echoing the session id, 0xc030; a CCS follows */
static const char sh_res12[] =
	"1603030055020000510303c5e6f14e3b64caf1014e737ed965cd4dabb5ee4e89"
	"c2cd3c444f574e47524401204640b9ea58e76c9cd507f9ac2e7e40aefc68f218"
	"dff8769c0607f676438ce404c030000009ff0100010000170000";

/* ---- real hellos ---------------------------------------------------------- */

static void test_real_hellos(void)
{
	tc_begin("TLS 1.0, RC4 (smtp-starttls stream 0)");
	tc_hex(0, ch_tls10);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1");

	tc_begin("TLS 1.2, SNI (smtp-starttls stream 1)");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=1/1");

	tc_begin("TLS 1.3 ServerHello alone (tls_1.3_unidirectional_server)");
	tc_hex(1, sh_tls13_google);
	tc_check("sh=1 v=0x0304 cipher=0x1301 resumed=1 group=29 rec=0/1");

	tc_begin("Fizz 0xfb1a (tls_2_reasms)");
	tc_hex(0, ch_fizz);
	tc_hex(1, sh_fizz);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sni=i.instagram.com "
		 "alpn_offered=h2,h2-fb,http/1.1 sh=1 v=0xfb1a cipher=0x1301 resumed=1 group=29 "
		 "rec=1/1");

	tc_begin("GREASE in supported_versions (imaps stream 1)");
	tc_hex(0, ch_grease);
	tc_hex(1, sh_grease);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=27 sni=imap.asia.secureserver.net sh=1 "
		 "v=0x0303 cipher=0xc030 rec=1/1");

	/* In capture order: CH1; HRR and CCS; CCS and CH2; ServerHello. */
	tc_begin("HelloRetryRequest (Postfix hrr.pcap)");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 rec=3/3");

	tc_begin("TLS 1.3 resumption: pre_shared_key (Postfix resumption.pcap)");
	tc_hex(1, sh_psk13);
	tc_check("sh=1 v=0x0304 cipher=0x1302 resumed=1 group=29 rec=0/1");

	tc_begin("TLS 1.2 resumption: id echoed, CCS next (Postfix resumption12.pcap)");
	tc_hex(0, ch_res12);
	tc_hex(1, sh_res12);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=28 sni=mx1.smtptls.test sh=1 v=0x0303 "
		 "cipher=0xc030 resumed=1 rec=1/2");
}

/* ---- synthetic hellos ----------------------------------------------------- */

/* supported_versions in a ClientHello: a vector of up to 4 versions. */
static void ext_versions(struct buf *b, unsigned v1, unsigned v2, unsigned v3)
{
	ext_begin(b, 43);
	b_open(b, 1);
	b_u16(b, v1);
	if (v2)
		b_u16(b, v2);
	if (v3)
		b_u16(b, v3);
	b_close(b);
	b_close(b);
}

static void test_versions_alpn(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("supported_versions: GREASE ignored");
	ch_begin(b, 0x0303, 0, 0);
	ext_versions(b, 0x7a7a, 0x0303, 0x0302);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0");

	tc_begin("supported_versions: a TLS 1.3 draft");
	ch_begin(b, 0x0303, 0, 0);
	ext_versions(b, 0x0303, 0x7f1c, 0);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x7f1c suites=3 rec=1/0");

	tc_begin("legacy version only, no extensions block");
	hello_begin(b, 1, 0x0300, NULL);
	b_hex(b, "00" "0002" "000a" "0100");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0300 cvmax=0x0300 suites=1 rec=1/0");

	tc_begin("ALPN offered and selected (TLS 1.2)");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "mx.example.org");
	ext_alpn(b, "h2|http/1.1");
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 0xff01);
	ext_alpn(b, "h2");
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org "
		 "alpn_offered=h2,http/1.1 sh=1 v=0x0303 cipher=0xc02f alpn=h2 rec=1/1");

	tc_begin("non-printable SNI and ALPN are escaped");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "bad\nname\\x");
	ext_alpn(b, "a\x01|smtp");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=bad\\x0aname\\x5cx "
		 "alpn_offered=a\\x01,smtp rec=1/0");

	tc_begin("SNI: a non-host-name entry first");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 0);
	b_open(b, 2);
	b_hex(b, "01" "0003" "787878");
	b_u8(b, 0);
	b_open(b, 2);
	b_str(b, "mx.example.org");
	b_close_all(b);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org rec=1/0");
	free(b);
}

/* An ALPN list longer than REC_ALPN_MAX: cut, NUL-terminated. */
static void test_alpn_cap(void)
{
	struct buf *b = calloc(1, sizeof *b);
	char names[20 * 9 + 1] = "";
	for (int i = 0; i < 20; i++)
		strcat(names, i ? "|http/1.1" : "http/1.1");
	ch_begin(b, 0x0303, 0, 0);
	ext_alpn(b, names);
	ext_sni(b, "mx.example.org"); /* after the ALPN: still read */
	b_close_all(b);
	struct tls *t = tls_new();
	tls_feed(t, 0, b->b, b->n);
	const struct tls_facts *f = tls_facts(t);
	CHECK(strlen(f->alpn_offered) < REC_ALPN_MAX);
	CHECK(strlen(f->alpn_offered) >= REC_ALPN_MAX - 9);
	CHECK(strncmp(f->alpn_offered, "http/1.1,http/1.1,http/1.1,", 27) == 0);
	CHECK_STR(f->sni, "mx.example.org");
	CHECK_INT(f->anomalies, 0);
	tls_free(t);
	free(b);
}

/* ClientHello of the synthetic HRR cases. */
static void hrr_client_hello(struct buf *b)
{
	ch_begin(b, 0x0303, 0x44, 32);
	ext_sni(b, "mx.example.org");
	ext_versions(b, 0x0304, 0x0303, 0);
	tc_buf(0, b);
}

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

static void test_hrr_synthetic(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("HelloRetryRequest, then the real ServerHello");
	hrr_client_hello(b);
	sh_begin(b, 0x0303, hrr_random, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_u16(b, 51, 0x0017); /* HRR key_share: the selected group only */
	tc_buf(1, b);
	hrr_client_hello(b);
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x0017);
	tc_buf(1, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=3 sni=mx.example.org sh=1 v=0x0304 "
		 "cipher=0x1301 hrr=1 group=23 rec=2/2");

	tc_begin("HelloRetryRequest, no final ServerHello");
	hrr_client_hello(b);
	sh_begin(b, 0x0303, hrr_random, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_u16(b, 51, 0x001d);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sni=mx.example.org hrr=1 group=29 "
		 "rec=1/1");
	free(b);
}

static void test_resumption_synthetic(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("TLS 1.2: session id echoed");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 32, 0xc02f);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/1");

	tc_begin("TLS 1.2: new session id, full handshake, CCS later");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x66, 32, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/3");

	tc_begin("TLS 1.2: session id a prefix of the client's is no echo");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 16, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/2");

	tc_begin("TLS 1.2: empty session ids, full handshake");
	ch_begin(b, 0x0303, 0, 0);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/2");

	tc_begin("TLS 1.2 abbreviated handshake: CCS straight after the ServerHello");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 35); /* session_ticket */
	b_fill(b, 0x77, 64);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 35);
	tc_buf(1, b);
	tc_hex(1, CCS);
	record_raw(b, 22, 40, 0x99); /* encrypted Finished */
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/3");

	/* RFC 5077 3.1: a resumed session may get a new ticket before the CCS. */
	tc_begin("TLS 1.2 abbreviated handshake: NewSessionTicket, then CCS");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 35);
	b_fill(b, 0x77, 64);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 35);
	tc_buf(1, b);
	b_record(b, 22);
	handshake_msg(b, 4, 80, 0x78);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/3");

	/* TLS 1.3 echoes legacy_session_id always: only a PSK means resumption. */
	tc_begin("TLS 1.3: session id echo without pre_shared_key");
	ch_begin(b, 0x0303, 0x55, 32);
	ext_versions(b, 0x0304, 0, 0);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 32, 0x1302);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x001d);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sh=1 v=0x0304 cipher=0x1302 group=29 "
		 "rec=1/1");
	free(b);
}

/* TLS 1.3 drafts up to 21 had no session id or compression method in the
 * ServerHello; draft 22 brought them back with supported_versions; key_share
 * was extension 40 until draft 23. */
static void test_drafts(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("draft 18 ServerHello: version, random, suite, extensions");
	hello_begin(b, 2, 0x7f12, NULL);
	b_u16(b, 0x1301);
	b_open(b, 2);
	ext_begin(b, 40);
	b_u16(b, 0x001d);
	b_u16(b, 32);
	b_fill(b, 0x33, 32);
	b_close(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x7f12 cipher=0x1301 group=29 rec=0/1");

	tc_begin("draft 18 layout with a byte too many: not parsed");
	hello_begin(b, 2, 0x7f12, NULL);
	b_u16(b, 0x1301);
	b_open(b, 2);
	ext_u16(b, 40, 0x001d);
	b_close(b);
	b_u8(b, 0);
	tc_buf(1, b);
	tc_check("sh_cut=1 rec=0/1 anom=tls_malformed");

	tc_begin("draft 22: supported_versions 0x7f16, key_share as extension 40");
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1302);
	ext_u16(b, 43, 0x7f16);
	ext_u16(b, 40, 0x0017);
	tc_buf(1, b);
	tc_check("sh=1 v=0x7f16 cipher=0x1302 group=23 rec=0/1");

	tc_begin("draft 23 (Fizz 0xfb17): key_share as extension 51");
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0xfb17);
	ext_key_share(b, 0x001d);
	tc_buf(1, b);
	tc_check("sh=1 v=0xfb17 cipher=0x1301 group=29 rec=0/1");
	free(b);
}

int main(void)
{
	test_real_hellos();
	test_versions_alpn();
	test_alpn_cap();
	test_hrr_synthetic();
	test_resumption_synthetic();
	test_drafts();
	return check_done("tls");
}
