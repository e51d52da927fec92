/* Unit tests for dissect/smtp.c.
 *
 * Each case is a dialogue: steps of client (C) or server (S) bytes, or a
 * gap, in the order they were sent. The facts after the dialogue are
 * written as one line (only fields that differ from their initial value)
 * and compared with the expected line. Every case is then replayed with
 * one step cut in two at every byte, and with every step fed one byte at
 * a time; each replay must give the same line (split_feed.h). Every piece
 * is copied to a buffer of exactly its size, so a read past len is an ASan
 * error. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/record.h"
#include "../../common/registry.h"
#include "../../dissect/smtp.h"
#include "check.h"
#include "split_feed.h"

/* ---- dialogue scripts ---------------------------------------------------- */

/* struct split_step: DIR_C2S or DIR_S2C, the bytes (NULL: a gap). */
#define C(s) {DIR_C2S, s, sizeof(s) - 1, 0}
#define S(s) {DIR_S2C, s, sizeof(s) - 1, 0}
#define GAP(d, n) {d, NULL, 0, n}
#define MAX_STEPS 40

struct smtp_case {
	const char *name;
	int midstream;
	struct split_step steps[MAX_STEPS];
	const char *want;
};

static size_t step_count(const struct smtp_case *c)
{
	size_t n = 0;
	while (n < MAX_STEPS && (c->steps[n].p || c->steps[n].gap))
		n++;
	return n;
}

/* ---- describing the facts ------------------------------------------------ */

static const char *const cap_names[] = {"STARTTLS", "PIPELINING", "CHUNKING", "AUTH", "SIZE",
					"8BITMIME", "SMTPUTF8", "REQUIRETLS", "MANGLED"};

static void add_bits(char *out, size_t cap, const char *label, uint32_t bits, int anomalies)
{
	char list[512] = "";
	for (unsigned i = 0; i < 32; i++) {
		if (!(bits & (1u << i)))
			continue;
		const char *name = anomalies ? anomaly_name(1u << i)
			: i < sizeof cap_names / sizeof cap_names[0] ? cap_names[i] : "?";
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", l ? (anomalies ? "," : "|") : "",
			 name ? name : "?");
	}
	check_describe(out, cap, "%s=%s", label, list);
}

static void describe_facts(const struct smtp_facts *f, char *out, size_t cap)
{
	out[0] = '\0';
	if (f->greeting_code != -1)
		check_describe(out, cap, "greet=%d", f->greeting_code);
	if (f->server_name[0])
		check_describe(out, cap, "server=%s", f->server_name);
	if (f->ehlo_name[0])
		check_describe(out, cap, "ehlo=%s", f->ehlo_name);
	if (f->ehlo_replies)
		check_describe(out, cap, "ehlo_replies=%d", f->ehlo_replies);
	if (f->starttls_offered != -1)
		check_describe(out, cap, "offered=%d", f->starttls_offered);
	if (f->starttls_sent)
		check_describe(out, cap, "starttls_sent=%d", f->starttls_sent);
	if (f->starttls_reply != -1)
		check_describe(out, cap, "starttls_reply=%d", f->starttls_reply);
	if (f->mail_cmds)
		check_describe(out, cap, "mail=%u", f->mail_cmds);
	if (f->rcpt_cmds)
		check_describe(out, cap, "rcpt=%u", f->rcpt_cmds);
	if (f->data_cmds)
		check_describe(out, cap, "data=%u", f->data_cmds);
	if (f->bdat_cmds)
		check_describe(out, cap, "bdat=%u", f->bdat_cmds);
	if (f->auth_sent)
		check_describe(out, cap, "auth=%d", f->auth_sent);
	if (f->auth_mech[0])
		check_describe(out, cap, "mech=%s", f->auth_mech);
	if (f->caps)
		add_bits(out, cap, "caps", f->caps, 0);
	if (f->keywords[0])
		check_describe(out, cap, "kw=%s", f->keywords);
	if (f->commands)
		check_describe(out, cap, "cmds=%u", f->commands);
	if (f->replies)
		check_describe(out, cap, "replies=%u", f->replies);
	if (f->bad_lines[0] || f->bad_lines[1])
		check_describe(out, cap, "bad=%u/%u", f->bad_lines[0], f->bad_lines[1]);
	if (f->clear_after_starttls)
		check_describe(out, cap, "clear=%u", f->clear_after_starttls);
	if (f->client_lost)
		check_describe(out, cap, "lost=%d", f->client_lost);
	if (f->anomalies)
		add_bits(out, cap, "anom", f->anomalies, 1);
}

/* ---- running a script ------------------------------------------------------ */

struct run {
	struct smtp *s;
	uint64_t pos[2];     /* bytes of each direction given so far */
	int64_t handoff[2];  /* stream offset of the hand-off, -1 none */
	unsigned contract;   /* feed contract violations */
};

static void *run_start(void *arg)
{
	const struct smtp_case *c = arg;
	struct run *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->s = smtp_new(c->midstream);
	r->handoff[0] = r->handoff[1] = -1;
	return r;
}

static void run_data(void *run, int dir, const uint8_t *p, size_t n)
{
	struct run *r = run;
	if (r->handoff[dir] >= 0)
		return; /* the bytes belong to TLS now */
	struct feed_result res = smtp_feed(r->s, dir, p, n);
	if (res.consumed > n || (res.status == FEED_MORE && res.consumed != n) ||
	    res.status == FEED_DONE)
		r->contract++;
	if (res.status == FEED_HANDOFF) {
		if (res.consumed >= n || p[res.consumed] != 0x16)
			r->contract++;
		r->handoff[dir] = (int64_t)(r->pos[dir] + res.consumed);
	}
	r->pos[dir] += res.consumed;
}

static void run_gap(void *run, int dir, uint64_t n)
{
	struct run *r = run;
	smtp_gap(r->s, dir, n);
	r->pos[dir] += n;
}

/* The facts line; frees the run. */
static unsigned run_finish(void *run, char *out, size_t cap)
{
	struct run *r = run;
	unsigned contract = r->contract;
	describe_facts(smtp_facts(r->s), out, cap);
	if (r->handoff[0] >= 0 || r->handoff[1] >= 0)
		check_describe(out, cap, "handoff=C@%lld,S@%lld", (long long)r->handoff[0],
		    (long long)r->handoff[1]);
	smtp_free(r->s);
	free(r);
	return contract;
}

static const struct split_ops smtp_ops = {run_start, run_data, run_gap, run_finish};

/* Substrings of envelope addresses, credentials and bodies: none of them
 * may end up in the facts. */
static const char *const private_marks[] = {
	"alice", "bob@", "carol", "mallory", "sender.example", "rcpt.example",
	"BODYMARK", "AGFsaWNl", "c2VjcmV0", "dXNlcg",
};

static int bytes_contain(const void *hay, size_t n, const char *needle)
{
	size_t l = strlen(needle);
	const uint8_t *h = hay;
	for (size_t i = 0; i + l <= n; i++)
		if (memcmp(h + i, needle, l) == 0)
			return 1;
	return 0;
}

/* Whole, cut at every byte and byte by byte (split_feed.h); and nothing
 * private in the facts. */
static void check_case(const struct smtp_case *c)
{
	size_t n = step_count(c);
	int before = check_failed;
	split_feed_check(&smtp_ops, (void *)c, c->steps, n, c->want, c->name);
	struct run *r = run_start((void *)c);
	for (size_t i = 0; i < n; i++) {
		if (c->steps[i].p)
			run_data(r, c->steps[i].dir, c->steps[i].p, c->steps[i].n);
		else
			run_gap(r, c->steps[i].dir, c->steps[i].gap);
	}
	unsigned leaks = 0;
	const struct smtp_facts *sf = smtp_facts(r->s);
	const char *texts[] = {sf->server_name, sf->ehlo_name, sf->keywords};
	for (size_t m = 0; m < sizeof private_marks / sizeof private_marks[0]; m++) {
		leaks += (unsigned)bytes_contain(sf, sizeof *sf, private_marks[m]);
		for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) /* kept apart */
			leaks += (unsigned)bytes_contain(texts[t], strlen(texts[t]), private_marks[m]);
	}
	CHECK_INT(leaks, 0);
	char line[2048] = "";
	run_finish(r, line, sizeof line);
	if (check_failed != before && leaks)
		fprintf(stderr, "     in case \"%s\"\n", c->name);
}

/* ---- the cases ------------------------------------------------------------- */

#define GREET S("220 mx.example.org ESMTP\r\n")
#define EHLO C("EHLO client.example.net\r\n")

static const struct smtp_case cases[] = {
	{"greeting", 0, {S("220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n")},
	 "greet=220 server=mx.example.org replies=1"},

	{"multi-line greeting", 0,
	 {S("220-mx2.example.org ESMTP Exim 4.96\r\n220-We do not authorize the use of this "
	    "system\r\n220 to transport unsolicited mail\r\n")},
	 "greet=220 server=mx2.example.org replies=1"},

	{"client speaks before the greeting", 0,
	 {EHLO, GREET, S("250-mx.example.org\r\n250 STARTTLS\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "caps=STARTTLS kw=STARTTLS cmds=1 replies=2"},

	/* The greeting's lines are not capabilities even with EHLO queued. */
	{"client first, multi-line greeting", 0,
	 {EHLO, S("220-mx.example.org ESMTP\r\n220-STARTTLS PIPELINING\r\n220 hello\r\n"),
	  S("250-mx.example.org\r\n250 SIZE 1000\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "caps=SIZE kw=SIZE cmds=1 replies=2"},

	/* A gap in a reply: the next complete line is parsed afresh. */
	{"gap inside a server reply", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250-PIPEL"), GAP(DIR_S2C, 20),
	  S("ING\r\n250 STARTTLS\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "caps=STARTTLS kw=STARTTLS cmds=2 replies=3 bad=0/1"},

	{"EHLO, STARTTLS in the middle", 0,
	 {GREET, EHLO,
	  S("250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"),
	  C("QUIT\r\n"), S("221 2.0.0 Bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "caps=STARTTLS|PIPELINING|SIZE|8BITMIME kw=PIPELINING,SIZE,STARTTLS,ENHANCEDSTATUSCODES,"
	 "8BITMIME cmds=2 replies=3"},

	{"EHLO, STARTTLS last", 0,
	 {GREET, EHLO,
	  S("250-mx.example.org Hello client [192.0.2.1]\r\n250-AUTH PLAIN LOGIN\r\n"
	    "250-CHUNKING\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "caps=STARTTLS|CHUNKING|AUTH|SMTPUTF8 kw=AUTH,CHUNKING,SMTPUTF8,STARTTLS cmds=1 replies=2"},

	{"EHLO refused with 500, then HELO", 0,
	 {S("220 old.example.org SMTP\r\n"), EHLO, S("500 5.5.1 Command unrecognized\r\n"),
	  C("HELO client.example.net\r\n"), S("250 old.example.org\r\n")},
	 "greet=220 server=old.example.org ehlo=client.example.net offered=0 cmds=2 replies=3"},

	{"HELO only", 0,
	 {S("220 old.example.org SMTP\r\n"), C("HELO client.example.net\r\n"),
	  S("250 old.example.org\r\n"), C("MAIL FROM:<alice@sender.example>\r\n"),
	  S("250 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=old.example.org ehlo=client.example.net mail=1 cmds=3 replies=4"},

	{"lower-case commands (python smtplib)", 0,
	 {GREET, C("ehlo [127.0.1.1]\r\n"),
	  S("250-mx.example.org\r\n250-pipelining\r\n250 starttls\r\n"),
	  C("mail FROM:<alice@sender.example> size=42\r\n"), S("250 2.1.0 Ok\r\n"),
	  C("rcpt TO:<bob@rcpt.example>\r\n"), S("250 2.1.5 Ok\r\n"), C("data\r\n"),
	  S("354 End data with <CR><LF>.<CR><LF>\r\n"),
	  C("Subject: BODYMARK\r\n\r\nhello\r\n.\r\n"), S("250 2.0.0 Ok: queued as 4QX\r\n"),
	  C("quit\r\n"), S("221 2.0.0 Bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=[127.0.1.1] ehlo_replies=1 offered=1 mail=1 "
	 "rcpt=1 data=1 caps=STARTTLS|PIPELINING kw=pipelining,starttls cmds=5 replies=7"},

	{"bare LF line ends", 0,
	 {S("220 mx.example.org ESMTP\n"), C("EHLO client.example.net\n"),
	  S("250-mx.example.org\n250 STARTTLS\n"), C("MAIL FROM:<alice@sender.example>\n"),
	  S("250 ok\n"), C("DATA\n"), S("354 go\n"), C("BODYMARK\n.\n"), S("250 queued\n"),
	  C("QUIT\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "mail=1 data=1 caps=STARTTLS kw=STARTTLS cmds=4 replies=5"},

	{"pipelining", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250 PIPELINING\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@rcpt.example>\r\n"
	    "RCPT TO:<carol@rcpt.example>\r\nDATA\r\n"),
	  S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with "
	    "<CR><LF>.<CR><LF>\r\n"),
	  C("From: alice\r\n\r\nBODYMARK\r\n.\r\n"), S("250 2.0.0 Ok: queued\r\n"),
	  C("QUIT\r\n"), S("221 Bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 rcpt=2 data=1 caps=PIPELINING kw=PIPELINING cmds=6 replies=8"},

	{"DATA body: dot-stuffing, commands inside", 0,
	 {GREET, EHLO, S("250 mx.example.org\r\n"), C("MAIL FROM:<alice@sender.example>\r\n"),
	  S("250 ok\r\n"), C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"),
	  C("DATA\r\n"), S("354 go ahead\r\n"),
	  C("Subject: BODYMARK\r\n\r\n..leading dot\r\n.. \r\nMAIL FROM:<mallory@body.example>\r\n"
	    "RCPT TO:<mallory@body.example>\r\n.not the end\r\n..\r\n.\rX\r\nDATA\r\nQUIT\r\n"
	    "\r\n"),
	  C(".\r\n"), S("250 2.0.0 queued\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 rcpt=1 data=1 cmds=5 replies=7"},

	{"end of data split over pieces", 0,
	 {GREET, C("DATA\r\n"), S("354 go\r\n"), C("BODYMARK\r"), C("\n."), C("\r"),
	  C("\nNOOP\r\n"), S("250 queued\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org data=1 cmds=2 replies=4"},

	{"DATA refused, back to commands", 0,
	 {GREET, C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\n"), S("550 5.1.1 unknown user\r\n"), C("DATA\r\n"),
	  S("554 5.5.1 Error: no valid recipients\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org mail=1 rcpt=1 data=1 cmds=4 replies=5"},

	{"BDAT with binary chunks", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"),
	  C("BDAT 24\r\n\x16\x03\x01\x00\x10MAIL FROM:<x>\r\n\r\n\x16\xff"),
	  S("250 2.0.0 24 octets received\r\n"), C("BDAT 7 LAST\r\n\x16\r\n.\r\nZ"),
	  S("250 2.0.0 Ok: queued\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 rcpt=1 bdat=2 caps=PIPELINING|CHUNKING kw=PIPELINING,CHUNKING cmds=6 replies=7"},

	{"BDAT pipelined, BDAT 0 LAST", 0,
	 {GREET,
	  C("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@rcpt.example>\r\nBDAT 5\r\n"
	    "\x16\x03\x03\r\nBDAT 0 LAST\r\nQUIT\r\n"),
	  S("250 ok\r\n250 ok\r\n250 5 octets\r\n250 queued\r\n221 bye\r\n")},
	 "greet=220 server=mx.example.org mail=1 rcpt=1 bdat=2 cmds=5 replies=6"},

	{"BDAT with a bad size", 0,
	 {GREET, C("BDAT 12x\r\nNOOP\r\n"), S("501 bad size\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org bdat=1 cmds=2 replies=3 bad=1/0"},

	{"gap inside a BDAT chunk", 0,
	 {GREET, C("BDAT 100 LAST\r\n0123456789abcdefghijklmnopqrst"), GAP(DIR_C2S, 40),
	  C("0123456789abcdefghijklmnopqrstQUIT\r\n"), S("250 queued\r\n221 bye\r\n")},
	 "greet=220 server=mx.example.org bdat=1 cmds=2 replies=3"},

	{"AUTH PLAIN with initial response", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n"),
	  C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
	  S("235 2.7.0 Authentication successful\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"), C("QUIT\r\n"),
	  S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 auth=1 mech=PLAIN caps=AUTH kw=AUTH cmds=4 replies=5"},

	/* The credentials are "QUIT" and "DATA" (both valid base64): parsed as
	 * commands they would count, and DATA would swallow the rest. */
	{"AUTH LOGIN, continuation lines are not commands", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250 AUTH LOGIN\r\n"), C("auth login\r\n"),
	  S("334 VXNlcm5hbWU6\r\n"), C("QUIT\r\n"), S("334 UGFzc3dvcmQ6\r\n"), C("DATA\r\n"),
	  S("235 2.7.0 Authentication successful\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 rcpt=1 auth=1 mech=login caps=AUTH kw=AUTH cmds=5 replies=8"},

	{"AUTH refused", 0,
	 {GREET, C("AUTH LOGIN dXNlcg==\r\n"), S("334 UGFzc3dvcmQ6\r\n"), C("c2VjcmV0\r\n"),
	  S("535 5.7.8 Error: authentication failed\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org auth=1 mech=LOGIN cmds=2 replies=4"},

	{"several transactions", 0,
	 {GREET, EHLO, S("250 mx.example.org\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"),
	  C("one\r\n.\r\n"), S("250 queued\r\n"), C("RSET\r\n"), S("250 ok\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<carol@rcpt.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<dave@rcpt.example>\r\n"), S("550 5.1.1 no such user\r\n"),
	  C("DATA\r\n"), S("354 go\r\n"), C("two\r\n.\r\n"), S("250 queued\r\n"),
	  C("MAIL FROM:<>\r\n"), S("250 ok\r\n"), C("RCPT TO:<erin@rcpt.example>\r\n"),
	  S("250 ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("three\r\n.\r\n"),
	  S("250 queued\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=3 rcpt=4 data=3 cmds=13 replies=17"},

	/* Real bytes: ndpi smtp-starttls.pcap stream 0 (10.0.0.1:57406 ->
	 * 173.194.68.26:25), up to the first bytes of each TLS hello. */
	{"STARTTLS 220, then TLS both ways (real dialogue)", 0,
	 {S("220 mx.google.com ESMTP s4si9696358qcc.63 - gsmtp\r\n"),
	  C("EHLO xxxxxxxxxxxxx.xxx.com\r\n"),
	  S("250-mx.google.com at your service, [10.000.000.01]\r\n250-SIZE 35882577\r\n"
	    "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
	    "250 CHUNKING\r\n"),
	  C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n"),
	  C("\x16\x03\x01\x00\x6b\x01\x00\x00\x67\x03\x01"),
	  S("\x16\x03\x01\x00\x35\x02\x00\x00\x31\x03\x01")},
	 "greet=220 server=mx.google.com ehlo=xxxxxxxxxxxxx.xxx.com ehlo_replies=1 offered=1 "
	 "starttls_sent=1 starttls_reply=220 caps=STARTTLS|PIPELINING|CHUNKING|SIZE|8BITMIME "
	 "kw=SIZE,8BITMIME,STARTTLS,ENHANCEDSTATUSCODES,PIPELINING,CHUNKING cmds=2 replies=3 "
	 "handoff=C@38,S@235"},

	{"STARTTLS 220 and TLS in the same piece", 0,
	 {GREET, C("EHLO c\r\n"), S("250-mx.example.org\r\n250 STARTTLS\r\n"),
	  C("STARTTLS\r\n\x16\x03\x01\x02\x00\x01"),
	  S("220 2.0.0 Ready to start TLS\r\n\x16\x03\x03\x00\x7a\x02")},
	 "greet=220 server=mx.example.org ehlo=c ehlo_replies=1 offered=1 starttls_sent=1 "
	 "starttls_reply=220 caps=STARTTLS kw=STARTTLS cmds=2 replies=3 handoff=C@18,S@90"},

	{"STARTTLS refused with 454, dialogue goes on in clear", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
	  S("454 4.7.0 TLS not available due to local problem\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"), C("QUIT\r\n"),
	  S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "starttls_sent=1 starttls_reply=454 mail=1 rcpt=1 caps=STARTTLS kw=STARTTLS cmds=5 "
	 "replies=6"},

	/* As in arkime smtp-decrypted.pcap: 220 to STARTTLS, then clear text. */
	{"STARTTLS 220, then plaintext commands", 0,
	 {GREET, C("EHLO transit-mta\r\n"),
	  S("250-mx.example.org\r\n250-STARTTLS\r\n250 8BITMIME\r\n"), C("STARTTLS\r\n"),
	  S("220 2.0.0 SMTP server ready\r\n"), C("EHLO transit-mta\r\n"),
	  S("250-mx.example.org\r\n250 8BITMIME\r\n"), C("MAIL FROM:<alice@sender.example>\r\n"),
	  S("250 ok\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=transit-mta ehlo_replies=2 offered=1 "
	 "starttls_sent=1 starttls_reply=220 mail=1 caps=STARTTLS|8BITMIME kw=STARTTLS,8BITMIME "
	 "cmds=5 replies=6 clear=6"},

	{"mangled capability XXXXXXXA", 0,
	 {GREET, EHLO,
	  S("250-mx.example.org\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "caps=PIPELINING|8BITMIME|MANGLED kw=PIPELINING,XXXXXXXA,8BITMIME cmds=1 replies=2 "
	 "anom=capability_mangled"},

	{"pipeline of 70 unanswered commands", 0,
	 {GREET,
#define NOOP10 "NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
#define OK10 "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n" \
	     "250 ok\r\n250 ok\r\n"
	  C(NOOP10 NOOP10 NOOP10 NOOP10 NOOP10 NOOP10 NOOP10),
	  S(OK10 OK10 OK10 OK10 OK10 OK10 OK10), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org cmds=71 replies=72 anom=pipeline_overflow"},

	{"gap inside a DATA body, end seen", 0,
	 {GREET, C("DATA\r\n"), S("354 go\r\n"), C("Subject: BODYMARK\r\n\r\nfirst part"),
	  GAP(DIR_C2S, 1400), C("tail of a line\r\nMAIL FROM:<mallory@body.example>\r\n.\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 queued\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org mail=1 data=1 cmds=2 replies=4"},

	/* The end of data was lost: the server's 250 brings the client back. */
	{"gap swallows the end of data, server 250 resyncs", 0,
	 {GREET, EHLO, S("250 mx.example.org\r\n"), C("MAIL FROM:<alice@sender.example>\r\n"),
	  S("250 ok\r\n"), C("RCPT TO:<bob@rcpt.example>\r\n"), S("250 ok\r\n"),
	  C("DATA\r\n"), S("354 go\r\n"), C("Subject: BODYMARK\r\n\r\nfirst part\r\n"),
	  GAP(DIR_C2S, 500), S("250 2.0.0 Ok: queued\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n"), C("QUIT\r\n"),
	  S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=2 rcpt=1 data=1 cmds=6 replies=8 lost=1"},

	{"not SMTP: HTTP", 0,
	 {C("GET / HTTP/1.1\r\nHost: mx.example.org\r\nUser-Agent: curl/8.0\r\n\r\n"),
	  S("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")},
	 "bad=4/3"},

	{"not SMTP: SSH", 0,
	 {S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), C("SSH-2.0-Go\r\n")},
	 "bad=1/1"},

	{"bad reply codes", 0,
	 {S("220 mx.example.org ESMTP\r\n"), C("NOOP\r\n"),
	  S("2500 no\r\n25\r\n250x\r\n650 no\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org cmds=1 replies=2 bad=0/4"},

	{"mid-stream: first reply is not a greeting", 1,
	 {S("250 2.1.5 Ok\r\n"), C("DATA\r\n"), S("354 go\r\n"), C("BODYMARK\r\n.\r\n"),
	  S("250 queued\r\n"), C("QUIT\r\n"), S("221 bye\r\n")},
	 "data=1 cmds=2 replies=4"},

	{"mid-stream: 220 before any command is the greeting", 1,
	 {S("220 mx.example.org ESMTP\r\n"), C("EHLO c\r\n"), S("250 mx.example.org\r\n")},
	 "greet=220 server=mx.example.org ehlo=c ehlo_replies=1 offered=0 cmds=1 replies=2"},

	{"mid-stream: 220 after a command answers it", 1,
	 {C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n")},
	 "starttls_sent=1 starttls_reply=220 cmds=1 replies=1"},

	/* From the start, the first reply is the greeting whatever it follows,
	 * but a 220 with an enhanced status code answers STARTTLS: EHLO
	 * negotiates those codes, after the greeting. */
	{"from the start: a 220 with a status code is no greeting", 0,
	 {C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n")},
	 "starttls_sent=1 starttls_reply=220 cmds=1 replies=1"},

	{"from the start: a 220 without one is the greeting", 0,
	 {C("EHLO c\r\n"), S("220 mx.example.org ESMTP\r\n"), S("250 mx.example.org\r\n")},
	 "greet=220 server=mx.example.org ehlo=c ehlo_replies=1 offered=0 cmds=1 replies=2"},

	/* Exim answers STARTTLS with "220 TLS go ahead": picked up mid-stream,
	 * that 220 looks like a greeting until the server's TLS follows it. */
	{"mid-stream: a 220 followed by the server's TLS answered STARTTLS", 1,
	 {S("220 TLS go ahead\r\n"), C("\x16\x03\x01\x00\x05\x01"), S("\x16\x03\x03\x00\x7a\x02")},
	 "starttls_reply=220 replies=1 handoff=C@0,S@18"},

	/* ---- RFC 3030: BDAT chunk-size [LAST]; anything else is refused and
	 * no chunk follows, so the next pipelined command is read ---- */
	{"BDAT with a bad last argument", 0,
	 {GREET, C("BDAT 5 X\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@rcpt.example>\r\n"),
	  S("501 5.5.4 Syntax: BDAT count [LAST]\r\n250 ok\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org mail=1 rcpt=1 bdat=1 cmds=3 replies=4 bad=1/0"},

	{"BDAT with a word after LAST, BDAT without a size", 0,
	 {GREET, C("BDAT 3 LAST now\r\nBDAT\r\nBDAT 3 last\r\nabcNOOP\r\n"),
	  S("501 syntax\r\n501 syntax\r\n250 queued\r\n250 ok\r\n")},
	 "greet=220 server=mx.example.org bdat=3 cmds=4 replies=5 bad=2/0"},

	/* ---- the server's side not captured (asymmetric routing) ---- */
	{"client only: AUTH LOGIN responses, then the transaction", 0,
	 {EHLO, C("AUTH LOGIN\r\n"), C("dXNlcg==\r\n"), C("c2VjcmV0\r\n"),
	  C("MAIL FROM:<alice@sender.example>\r\n"), C("RCPT TO:<bob@rcpt.example>\r\n"),
	  C("DATA\r\n"), C("Subject: BODYMARK\r\n\r\nhi\r\n.\r\n"), C("QUIT\r\n")},
	 "ehlo=client.example.net mail=1 rcpt=1 data=1 auth=1 mech=LOGIN cmds=6"},

	{"client only: AUTH PLAIN with an initial response", 0,
	 {EHLO, C("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), C("MAIL FROM:<alice@sender.example>\r\n"),
	  C("RCPT TO:<bob@rcpt.example>\r\nRCPT TO:<carol@rcpt.example>\r\n")},
	 "ehlo=client.example.net mail=1 rcpt=2 auth=1 mech=PLAIN cmds=5"},

	{"server only: the EHLO reply and the 220 to STARTTLS", 0,
	 {S("220 mx1.smtptls.test ESMTP Postfix (Debian/GNU)\r\n"),
	  S("250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250-STARTTLS\r\n"
	    "250 CHUNKING\r\n"),
	  S("220 2.0.0 Ready to start TLS\r\n"), S("\x16\x03\x03\x00\x7a\x02")},
	 "greet=220 server=mx1.smtptls.test ehlo_replies=1 offered=1 starttls_reply=220 "
	 "caps=STARTTLS|PIPELINING|CHUNKING|SIZE kw=PIPELINING,SIZE,STARTTLS,CHUNKING replies=3 "
	 "handoff=C@-1,S@164"},

	{"server only: an EHLO reply without STARTTLS, then replies", 0,
	 {GREET, S("250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
	  S("250 2.1.0 Ok\r\n"), S("250 2.1.5 Ok\r\n"), S("354 go\r\n"), S("250 queued\r\n"),
	  S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo_replies=1 offered=0 caps=PIPELINING|8BITMIME "
	 "kw=PIPELINING,8BITMIME replies=7"},

	{"server only: a single-line 250 is no EHLO reply", 0,
	 {GREET, S("250 mx.example.org\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org replies=3"},

	/* ---- segments cut by the snapshot length: the rest of each is a gap
	 * (Postfix's own lines, tests/data/starttls-tls13.pcap, cut at 30
	 * bytes as with snaplen 96) ---- */
	{"snaplen: greeting, EHLO reply and STARTTLS cut", 0,
	 {S("220 mx1.smtptls.test ESMTP Po"), GAP(DIR_S2C, 19), C("EHLO client01.smtptls.test\r\n"),
	  S("250-mx1.smtptls.test\r\n250-PIPE"), GAP(DIR_S2C, 137), C("STARTTLS\r\n"),
	  S("220 2.0.0 Ready to start TLS\r\n"), C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03")},
	 "greet=220 server=mx1.smtptls.test ehlo=client01.smtptls.test ehlo_replies=1 "
	 "starttls_sent=1 starttls_reply=220 cmds=2 replies=3 handoff=C@38,S@-1"},

	{"snaplen: greeting cut inside the host name", 0,
	 {S("220 mx1.smtptls.te"), GAP(DIR_S2C, 31), C("EHLO client01.smtptls.test\r\n"),
	  S("250 mx1.smtptls.test\r\n")},
	 "greet=220 ehlo=client01.smtptls.test ehlo_replies=1 offered=0 cmds=1 replies=2"},

	{"snaplen: EHLO reply cut after STARTTLS", 0,
	 {GREET, EHLO, S("250-mx1.smtptls.test\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n"
			 "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCOD"),
	  GAP(DIR_S2C, 47), C("STARTTLS\r\n"), S("220 2.0.0 Ready to start TLS\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "starttls_sent=1 starttls_reply=220 caps=STARTTLS|PIPELINING|SIZE "
	 "kw=PIPELINING,SIZE,VRFY,ETRN,STARTTLS cmds=2 replies=3"},

	/* A cut keyword is no keyword: "XXXX" is not a mangled one, "STARTT"
	 * not STARTTLS; the reply's next segment completes it. */
	{"snaplen: EHLO reply over two cut segments", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250-PIPELINING\r\n250-XXXX"), GAP(DIR_S2C, 40),
	  S("250-SIZE 1000\r\n250-STARTTLS\r\n250 8BITM"), GAP(DIR_S2C, 5), C("QUIT\r\n"),
	  S("221 bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=1 "
	 "caps=STARTTLS|PIPELINING|SIZE kw=PIPELINING,SIZE,STARTTLS cmds=2 replies=3"},

	{"snaplen: a reply cut in its code is not one", 0,
	 {GREET, C("NOOP\r\n"), S("25"), GAP(DIR_S2C, 10), C("QUIT\r\n"), S("221 bye\r\n")},
	 "greet=220 server=mx.example.org cmds=2 replies=2"},

	{"snaplen: pipelined commands and replies cut", 0,
	 {GREET, EHLO, S("250-mx.example.org\r\n250 PIPELINING\r\n"),
	  C("MAIL FROM:<alice@sender.exam"), GAP(DIR_C2S, 60),
	  S("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n35"), GAP(DIR_S2C, 30),
	  C("From: alice\r\nSubject: BODY"), GAP(DIR_C2S, 300), S("250 2.0.0 Ok: queued as 4Q"),
	  GAP(DIR_S2C, 5), C("QUIT\r\n"), S("221 2.0.0 Bye\r\n")},
	 "greet=220 server=mx.example.org ehlo=client.example.net ehlo_replies=1 offered=0 "
	 "mail=1 caps=PIPELINING kw=PIPELINING cmds=3 replies=6 bad=2/0 lost=1"},

	{"snaplen: a command cut inside its verb", 0,
	 {GREET, C("MAI"), GAP(DIR_C2S, 40), S("250 ok\r\n"), C("EHLO client01.smtp"),
	  GAP(DIR_C2S, 9), S("250 mx.example.org\r\n")},
	 "greet=220 server=mx.example.org ehlo_replies=1 offered=0 cmds=1 replies=3 lost=1"},

	{"snaplen: AUTH cut after its mechanism", 0,
	 {GREET, C("AUTH PLAIN AGFsaWNlAHNlY3"), GAP(DIR_C2S, 10), S("235 2.7.0 Authentication succ"),
	  GAP(DIR_S2C, 6), C("MAIL FROM:<alice@sender.example>\r\n"), S("250 ok\r\n")},
	 "greet=220 server=mx.example.org mail=1 auth=1 mech=PLAIN cmds=2 replies=3 lost=1"},

	{"snaplen: a BDAT chunk ends inside the gap", 0,
	 {GREET, C("BDAT 40 LAST\r\n0123456789"), GAP(DIR_C2S, 30), C("QUIT\r\n"),
	  S("250 queued\r\n221 bye\r\n")},
	 "greet=220 server=mx.example.org bdat=1 cmds=2 replies=3"},

	{"a gap beyond a BDAT chunk loses commands", 0,
	 {GREET, C("BDAT 10 LAST\r\n0123"), GAP(DIR_C2S, 30), C("QUIT\r\n"),
	  S("250 queued\r\n221 bye\r\n")},
	 "greet=220 server=mx.example.org bdat=1 cmds=2 replies=3 lost=1"},

	/* Replies lost whole: a 220 can only answer STARTTLS, so the commands
	 * pending before it lost theirs. */
	{"replies lost in a gap: the 220 finds STARTTLS", 0,
	 {GREET, C("NOOP\r\nRSET\r\nSTARTTLS\r\n"), GAP(DIR_S2C, 16),
	  S("220 2.0.0 Ready to start TLS\r\n")},
	 "greet=220 server=mx.example.org starttls_sent=1 starttls_reply=220 cmds=3 replies=2"},
};

/* ---- cases built at run time ---------------------------------------------- */

static char *repeat(const char *head, char fill, size_t n, const char *tail)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *s = malloc(hl + n + tl + 1);
	memcpy(s, head, hl);
	memset(s + hl, fill, n);
	memcpy(s + hl + n, tail, tl + 1);
	return s;
}

static struct split_step dyn(int dir, const char *s)
{
	struct split_step st = {dir, s, strlen(s), 0};
	return st;
}

/* Lines beyond SMTP_LINE_MAX in both directions: cut, flagged, parsed. */
static void test_long_lines(void)
{
	char *reply = repeat("250-", 'b', 5000, "\r\n250 STARTTLS\r\n");
	char *noop = repeat("NOOP ", 'a', 10000, "\r\n");
	struct smtp_case c = {"long lines", 0, {GREET},
			      "greet=220 server=mx.example.org ehlo=c ehlo_replies=1 offered=1 "
			      "caps=STARTTLS kw=STARTTLS cmds=3 replies=4 anom=long_line"};
	struct split_step more[] = {dyn(0, "EHLO c\r\n"), dyn(1, reply), dyn(0, noop),
			      dyn(1, "250 ok\r\n"), dyn(0, "QUIT\r\n"), dyn(1, "221 bye\r\n")};
	memcpy(&c.steps[1], more, sizeof more);
	check_case(&c);
	free(reply);
	free(noop);
}

/* The cap counts the line without its LF: 4095 bytes and CR fit, one more
 * does not. */
static void test_line_cap_edge(void)
{
	char *fits = repeat("NOOP ", 'a', SMTP_LINE_MAX - 6, "\r\n");
	char *over = repeat("NOOP ", 'a', SMTP_LINE_MAX - 5, "\r\n");
	struct smtp_case c = {"line of SMTP_LINE_MAX", 0, {GREET},
			      "greet=220 server=mx.example.org cmds=1 replies=2"};
	c.steps[1] = dyn(0, fits);
	c.steps[2] = dyn(1, "250 ok\r\n");
	CHECK_INT(strlen(fits), SMTP_LINE_MAX + 1);
	check_case(&c);
	c.name = "line of SMTP_LINE_MAX + 1";
	c.steps[1] = dyn(0, over);
	c.want = "greet=220 server=mx.example.org cmds=1 replies=2 anom=long_line";
	check_case(&c);
	free(fits);
	free(over);
}

/* ---- direct checks of the feed contract ------------------------------------ */

static struct feed_result feed_str(struct smtp *s, int dir, const char *str, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, str, n);
	struct feed_result r = smtp_feed(s, dir, copy, n);
	free(copy);
	return r;
}

static void test_handoff_contract(void)
{
	struct smtp *s = smtp_new(0);
	struct feed_result r = feed_str(s, 1, "", 0);
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 0);
	r = feed_str(s, 1, "220 mx ESMTP\r\n", 14);
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 14);
	r = feed_str(s, 0, "STARTTLS\r\n\x16\x03\x01", 13);
	CHECK_INT(r.status, FEED_HANDOFF);
	CHECK_INT(r.consumed, 10);
	r = feed_str(s, 1, "220 Ready\r\n\x16\x03\x03", 14);
	CHECK_INT(r.status, FEED_HANDOFF);
	CHECK_INT(r.consumed, 11);
	/* fed again from the TLS byte, it still stops there */
	r = feed_str(s, 1, "\x16\x03\x03", 3);
	CHECK_INT(r.status, FEED_HANDOFF);
	CHECK_INT(r.consumed, 0);
	CHECK_INT(smtp_facts(s)->starttls_reply, 220);
	smtp_free(s);

	/* not at a line start, or inside a body: no hand-off */
	s = smtp_new(0);
	r = feed_str(s, 0, "NOOP \x16\r\nDATA\r\n\x16\x03\x01\r\n.\r\n", 19);
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 19);
	CHECK_INT(smtp_facts(s)->commands, 2);
	smtp_free(s);
	smtp_free(NULL);
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
	test_long_lines();
	test_line_cap_edge();
	test_handoff_contract();
	return check_done("smtp");
}
