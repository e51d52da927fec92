/* The harness of the dissect/session.c unit tests (test_session.c,
 * test_session_depth.c, test_session_damaged.c), header-only: each program
 * includes it once, and its functions are static inline, as each uses a
 * part of them.
 *
 * Each case is a list of steps (client or server bytes, or a gap) fed to
 * sess_data()/sess_gap(); the record from sess_result() and sess_done()
 * are written as one line (only fields that differ from
 * session_record_init()) and compared with the expected line. Every case
 * is replayed with each step cut in two at every byte and with every step
 * fed one byte at a time; each replay must give the same line. Pieces are
 * copied to buffers of exactly their size (ASan sees over-reads). */
#ifndef SMTPTLS_SESSION_CASE_H
#define SMTPTLS_SESSION_CASE_H

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

/* ---- a case: its steps ---------------------------------------------------- */

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

static inline void sc_begin(const char *name, enum sess_port_kind kind, int midstream)
{
	sc.name = name;
	sc.kind = kind;
	sc.midstream = midstream;
	sc.n = 0;
	sc.used = 0;
}

static inline void sc_bytes(int dir, const void *p, size_t n)
{
	struct split_step st = {dir, sc.arena + sc.used, n, 0};
	memcpy(sc.arena + sc.used, p, n);
	sc.used += n;
	sc.st[sc.n++] = st;
}

static inline void sc_str(int dir, const char *s)
{
	sc_bytes(dir, s, strlen(s));
}

static inline void sc_hex(int dir, const char *hex)
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

static inline void sc_gap(int dir, uint64_t n)
{
	struct split_step st = {dir, NULL, 0, n};
	sc.st[sc.n++] = st;
}

/* ---- describing the record --------------------------------------------------- */

static inline void describe_tls(const struct session_record *r, char *out, size_t cap)
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

static inline void describe_smtp(const struct session_record *r, char *out, size_t cap)
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

static inline void describe_depth(const struct session_record *r, char *out, size_t cap)
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

static inline void describe(const struct sess *s, char *out, size_t cap)
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

static inline void *run_start(void *arg)
{
	(void)arg;
	return sess_new(sc.kind, sc.midstream);
}

static inline void run_data(void *run, int dir, const uint8_t *p, size_t n)
{
	sess_data(run, dir, p, n);
}

static inline void run_gap(void *run, int dir, uint64_t n)
{
	sess_gap(run, dir, n);
}

static inline unsigned run_finish(void *run, char *out, size_t cap)
{
	describe(run, out, cap);
	sess_free(run);
	return 0;
}

static const struct split_ops sess_ops = {run_start, run_data, run_gap, run_finish};

/* The case whole, cut at every byte and byte by byte (split_feed.h). */
static inline void sc_check(const char *want)
{
	split_feed_check(&sess_ops, NULL, sc.st, sc.n, want, sc.name);
}

/* ---- dialogues several programs use --------------------------------------- */

#define GREET "220 mx.example.org ESMTP\r\n"

/* The SMTP part of tests/data/starttls-tls13.pcap, in sending order. */
static inline void postfix_dialogue(void)
{
	sc_str(1, "220 mx1.smtptls.test ESMTP Postfix (Debian/GNU)\r\n");
	sc_str(0, "EHLO client01.smtptls.test\r\n");
	sc_str(1, "250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-VRFY\r\n"
		  "250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		  "250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
	sc_str(0, "STARTTLS\r\n");
	sc_str(1, "220 2.0.0 Ready to start TLS\r\n");
}

#define PF_KW "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS,ENHANCEDSTATUSCODES,8BITMIME,DSN," \
	      "SMTPUTF8,CHUNKING"

static inline void starttls_dialogue(const char *greeting_name)
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

#endif
