/* Unit tests for dissect/session.c: the transport decision, the hand-off
 * from SMTP to TLS, session anomalies and the record it fills.
 *
 * Each case is a list of steps (client or server bytes, or a gap) fed to
 * sess_data()/sess_gap(); the record from sess_result() and sess_done()
 * are written as one line (only fields that differ from
 * session_record_init()) and compared with the expected line. Every case
 * is replayed with each step cut in two at every byte and with every step
 * fed one byte at a time; each replay must give the same line. Pieces are
 * copied to buffers of exactly their size (ASan sees over-reads). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/record.h"
#include "../../common/registry.h"
#include "../../dissect/session.h"
#include "check.h"
#include "split_feed.h"
#include "tls_vectors.h"

/* ---- real bytes ------------------------------------------------------------ */

/* tests/data/starttls-tls13.pcap (Postfix, 127.0.0.1:57610 -> :25), client
 * after STARTTLS: ClientHello, TLS 1.3, SNI mx1.smtptls.test */
static const char pf13_client_hello[] =
	"1603010200010001fc0303e7f80adae44af7764ac4b35a547bc47c39067a099e"
	"ef518b96a44eb5fca21ea0200e3964862ccf6466859f03c8e821e3adc52e9846"
	"af9a7406e300f0cc597e961d003e130213031301c02cc030009fcca9cca8ccaa"
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
	"009c003d003c0035002f00ff010001750000001500130000106d78312e736d74"
	"70746c732e74657374000b000403000102000a00160014001d0017001e001900"
	"1801000101010201030104002300000016000000170000000d002a0028040305"
	"030603080708080809080a080b08040805080604010501060103030301030204"
	"0205020602002b0009080304030303020301002d00020101003300260024001d"
	"0020ec6f22f367904b3effe4c4f4851e656974aef0bd5ef8808f69e3eb85ac39"
	"e265001500bf0000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000";

/* same stream, server after its 220: ServerHello (TLS 1.3, 0x1302, x25519),
 * CCS, first encrypted record */
static const char pf13_server_tls[] =
	"160303007a020000760303da3934d73739129cb07a4f3665900ac1445b552e64"
	"d15938eb262e235840b2d1200e3964862ccf6466859f03c8e821e3adc52e9846"
	"af9a7406e300f0cc597e961d130200002e002b0002030400330024001d002089"
	"7aec3700c98e5bd44092c717d1dee6df8327fcd2ce19349a856684997e314c14"
	"0303000101170303001707c4e2962468328dcf85b6c56aa020629d8ee3b70d1a"
	"c4";

/* same stream, client: CCS, first encrypted record */
static const char pf13_client_finish[] =
	"14030300010117030300459bdac5a674f4a184002ca74b5cffe33f22feeef91f"
	"a80f0dbc4967a2951db88881fa656fe28c89718616c9e7c00573031d9f1c5c81"
	"299a4a0488420a163adb95b54e8b89a0";

/* same stream, client: its first application data (EHLO) */
static const char pf13_client_ehlo[] =
	"170303002d629f495df1c3135567ca220dfb3167ef7610bd9fcac71e6aafadae"
	"44233ae049e186c012f0fe7a765ad4c726ef";

/* nDPI smtps.pcapng (62.43.36.99:37682 -> 21.65.95.132:465): the ClientHello
 * the server answered with a plaintext banner */
static const char smtps_client_hello[] =
	"1603010200010001fc0303bb4bf0db882ca2c59a56e9c3e1ac925928c3e69861"
	"36bf818656baa6ebce132b0000acc030c02cc028c024c014c00a00a500a300a1"
	"009f006b006a0069006800390038003700360088008700860085c032c02ec02a"
	"c026c00fc005009d003d00350084c02fc02bc027c023c013c00900a400a200a0"
	"009e00670040003f003e0033003200310030009a009900980097004500440043"
	"0042c031c02dc029c025c00ec004009c003c002f009600410007c011c007c00c"
	"c00200050004c012c008001600130010000dc00dc003000a00ff01000127000b"
	"000403000102000a001c001a00170019001c001b0018001a0016000e000d000b"
	"000c0009000a00230000000d0020001e06010602060305010502050304010402"
	"0403030103020303020102020203000f000101001500ce000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000";





/* ---- cases ----------------------------------------------------------------- */

#define MAX_STEPS 24

static struct scase {
	const char *name;
	enum sess_port_kind kind;
	int midstream;
	struct split_step st[MAX_STEPS];
	size_t n;
	uint8_t arena[32768];
	size_t used;
} sc;

static void sc_begin(const char *name, enum sess_port_kind kind, int midstream)
{
	sc.name = name;
	sc.kind = kind;
	sc.midstream = midstream;
	sc.n = 0;
	sc.used = 0;
}

static void sc_bytes(int dir, const void *p, size_t n)
{
	struct split_step st = {dir, sc.arena + sc.used, n, 0};
	memcpy(sc.arena + sc.used, p, n);
	sc.used += n;
	sc.st[sc.n++] = st;
}

static void sc_str(int dir, const char *s)
{
	sc_bytes(dir, s, strlen(s));
}

static void sc_hex(int dir, const char *hex)
{
	struct split_step st = {dir, sc.arena + sc.used, 0, 0};
	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		sc.arena[sc.used++] = (uint8_t)v;
		st.n++;
	}
	sc.st[sc.n++] = st;
}

static void sc_gap(int dir, uint64_t n)
{
	struct split_step st = {dir, NULL, 0, n};
	sc.st[sc.n++] = st;
}

/* ---- describing the record --------------------------------------------------- */

static void describe_tls(const struct session_record *r, char *out, size_t cap)
{
	if (r->tls_version != -1)
		check_describe(out, cap, "v=0x%04x", r->tls_version);
	if (r->client_version_max != -1)
		check_describe(out, cap, "cvmax=0x%04x", r->client_version_max);
	if (r->cipher_suite != -1)
		check_describe(out, cap, "cipher=0x%04x", r->cipher_suite);
	if (r->kx_group != -1)
		check_describe(out, cap, "group=%d", r->kx_group);
	if (r->sni[0])
		check_describe(out, cap, "sni=%s", r->sni);
	if (r->alpn[0])
		check_describe(out, cap, "alpn=%s", r->alpn);
	if (r->alpn_offered[0])
		check_describe(out, cap, "alpn_offered=%s", r->alpn_offered);
	if (r->client_hello)
		check_describe(out, cap, "ch=%d", r->client_hello);
	if (r->hello_retry)
		check_describe(out, cap, "hrr=%d", r->hello_retry);
	if (r->resumed)
		check_describe(out, cap, "resumed=%d", r->resumed);
	if (r->tls_established)
		check_describe(out, cap, "established=%d", r->tls_established);
	if (r->tls_alert != -1)
		check_describe(out, cap, "alert=0x%04x", r->tls_alert);
}

static void describe_smtp(const struct session_record *r, char *out, size_t cap)
{
	if (r->starttls_offered != -1)
		check_describe(out, cap, "offered=%d", r->starttls_offered);
	if (r->starttls_sent)
		check_describe(out, cap, "sent=%d", r->starttls_sent);
	if (r->starttls_reply != -1)
		check_describe(out, cap, "reply=%d", r->starttls_reply);
	if (r->plaintext_transactions)
		check_describe(out, cap, "mail=%d", r->plaintext_transactions);
	if (r->plaintext_rcpts)
		check_describe(out, cap, "rcpt=%d", r->plaintext_rcpts);
	if (r->cleartext_auth)
		check_describe(out, cap, "auth=%d", r->cleartext_auth);
	if (r->auth_mechanism[0])
		check_describe(out, cap, "mech=%s", r->auth_mechanism);
	if (r->server_name[0])
		check_describe(out, cap, "server=%s", r->server_name);
	if (r->ehlo_name[0])
		check_describe(out, cap, "ehlo=%s", r->ehlo_name);
	if (r->ehlo_keywords[0])
		check_describe(out, cap, "kw=%s", r->ehlo_keywords);
}

/* Set by the TLS depth cases: describe() adds the judgement, the offer,
 * the outcome and the certificate; ts_start is the session's start. */
static int depth;
static double ts_start;
static enum end_reason end_reason = END_EOF; /* how the connection ended */

static void describe_depth(const struct session_record *r, char *out, size_t cap)
{
	if (r->tls_outcome != OUTCOME_NONE)
		check_describe(out, cap, "outcome=%s", tls_outcome_name(r->tls_outcome));
	if (r->tls_alert_from != -1)
		check_describe(out, cap, "alert_from=%d", r->tls_alert_from);
	if (r->forward_secrecy != -1)
		check_describe(out, cap, "fs=%d aead=%d weak=%d", r->forward_secrecy, r->aead, r->weak_cipher);
	if (r->client_suites != -1)
		check_describe(out, cap, "offer=tls13:%d/suites:%d/weak:%d", r->client_offered_tls13,
		    r->client_suites, r->client_offered_weak);
	if (r->server_chose_weak != -1)
		check_describe(out, cap, "chose_weak=%d declined_fs=%d", r->server_chose_weak,
		    r->server_declined_fs);
	if (r->kx_dh_bits != -1)
		check_describe(out, cap, "dh=%d", r->kx_dh_bits);
	if (r->ja3[0] || r->ja3s[0] || r->ja4[0])
		check_describe(out, cap, "fp=%d%d%d", r->ja3[0] != 0, r->ja3s[0] != 0, r->ja4[0] != 0);
	if (r->cert.present)
		check_describe(out, cap, "cert=%s self=%d expired=%d match=%d", r->cert.subject_cn,
		    r->cert.self_signed, r->cert.expired, r->cert.name_match);
}

static void describe(const struct sess *s, char *out, size_t cap)
{
	struct session_record r;
	char anoms[512];
	session_record_init(&r);
	r.ts_start = ts_start;
	r.end_reason = end_reason;
	sess_result(s, &r);
	out[0] = '\0';
	check_describe(out, cap, "transport=%s", transport_name(r.transport));
	describe_smtp(&r, out, cap);
	describe_tls(&r, out, cap);
	if (sess_done(s))
		check_describe(out, cap, "done=1");
	if (r.anomalies) {
		anomalies_format(r.anomalies, anoms, sizeof anoms);
		check_describe(out, cap, "anom=%s", anoms);
	}
	if (depth)
		describe_depth(&r, out, cap);
}

/* ---- running ---------------------------------------------------------------- */

static void *run_start(void *arg)
{
	(void)arg;
	return sess_new(sc.kind, sc.midstream);
}

static void run_data(void *run, int dir, const uint8_t *p, size_t n)
{
	sess_data(run, dir, p, n);
}

static void run_gap(void *run, int dir, uint64_t n)
{
	sess_gap(run, dir, n);
}

static unsigned run_finish(void *run, char *out, size_t cap)
{
	describe(run, out, cap);
	sess_free(run);
	return 0;
}

static const struct split_ops sess_ops = {run_start, run_data, run_gap, run_finish};

/* The case whole, cut at every byte and byte by byte (split_feed.h). */
static void sc_check(const char *want)
{
	split_feed_check(&sess_ops, NULL, sc.st, sc.n, want, sc.name);
}

/* ---- cases -------------------------------------------------------------------- */

#define GREET "220 mx.example.org ESMTP\r\n"

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

/* The SMTP part of tests/data/starttls-tls13.pcap, in sending order. */
static void postfix_dialogue(void)
{
	sc_str(1, "220 mx1.smtptls.test ESMTP Postfix (Debian/GNU)\r\n");
	sc_str(0, "EHLO client01.smtptls.test\r\n");
	sc_str(1, "250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-VRFY\r\n"
		  "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
}

/* The server's side of it only. */
static void postfix_dialogue_server(void)
{
	sc_str(1, "220 mx1.smtptls.test ESMTP Postfix (Debian/GNU)\r\n");
	sc_str(1, "250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-VRFY\r\n"
		  "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
}

#define PF_KW "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS,ENHANCEDSTATUSCODES,8BITMIME,DSN," \
	      "SMTPUTF8,CHUNKING"

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

/* ---- TLS depth: judgement, offer, outcome, certificate ------------------------ */

static void starttls_dialogue(const char *greeting_name)
{
	char greet[128];
	snprintf(greet, sizeof greet, "220 %s ESMTP\r\n", greeting_name);
	sc_str(1, greet);
	sc_str(0, "EHLO client.example.net\r\n");
	sc_str(1, "250-mx\r\n250 STARTTLS\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
}

#define SMTP_PART "transport=starttls offered=1 sent=1 reply=220 "

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

/* ---- damaged captures: one side, cut segments, mid-stream ------------------- */

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
	test_depth_judgement();
	test_depth_outcome();
	test_one_side();
	test_failed();
	test_snaplen();
	test_midstream();
	test_evidence();
	return check_done("session");
}
