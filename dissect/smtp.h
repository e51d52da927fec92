/* SMTP dialogue parser, incremental per direction.
 *
 * smtp_feed() takes the reassembled bytes of one direction (0 client to
 * server, 1 server to client) in pieces of any size. Client bytes are
 * framed as command lines, AUTH continuation lines, DATA bodies (up to the
 * lone ".") or BDAT chunks (by their announced size); server bytes as
 * (multi-line) replies. Replies are matched to pipelined commands in order.
 * Where a line would start with a TLS record byte, it stops and returns
 * FEED_HANDOFF with the offset where TLS begins (the STARTTLS hand-off).
 * Nothing of the envelope or the message is kept: only counts and the
 * EHLO/greeting host names.
 *
 * Bytes lost in a gap (a segment cut by the snapshot length, or never
 * captured) are not guessed at: a line cut by a gap still counts when its
 * verb or reply code was captured, but a word that reaches the cut is not
 * kept; a reply cut by a gap is taken as complete, and lines of the same
 * code that follow before the client speaks again complete it. When the
 * client's command was not seen (server side only), a multi-line 250 with
 * EHLO keywords is taken as the EHLO reply and a 220 after the greeting as
 * the answer to STARTTLS. */
#ifndef SMTPTLS_SMTP_H
#define SMTPTLS_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"

#define SMTP_LINE_MAX 4096    /* longest line kept; longer ones are cut */
#define SMTP_PIPELINE_MAX 64  /* commands awaiting their replies */

/* EHLO capabilities seen. */
enum smtp_cap {
	SMTP_CAP_STARTTLS = 1u << 0,
	SMTP_CAP_PIPELINING = 1u << 1,
	SMTP_CAP_CHUNKING = 1u << 2,
	SMTP_CAP_AUTH = 1u << 3,
	SMTP_CAP_SIZE = 1u << 4,
	SMTP_CAP_8BITMIME = 1u << 5,
	SMTP_CAP_SMTPUTF8 = 1u << 6,
	SMTP_CAP_REQUIRETLS = 1u << 7,
	SMTP_CAP_MANGLED = 1u << 8, /* a keyword of X's: a rewritten capability */
};

struct smtp_facts {
	int greeting_code;            /* -1 none */
	uint32_t caps;                /* enum smtp_cap, union over EHLO replies */
	/* Texts of at most REC_NAME_MAX - 1 characters, "" when none; they
	 * belong to the parser (allocated at their size: an open session
	 * keeps a few dozen bytes, not three times REC_NAME_MAX). */
	const char *server_name;      /* the greeting's host name */
	const char *ehlo_name;
	int helo_sent;                /* an EHLO, HELO or LHLO command */
	int ehlo_replies;             /* 250 replies to EHLO seen */
	int starttls_offered;         /* -1 no EHLO reply seen, else 0/1 */
	int starttls_sent;
	int starttls_reply;           /* -1 none */
	unsigned mail_cmds, rcpt_cmds, data_cmds, bdat_cmds;
	int auth_sent;
	char auth_mech[32];
	const char *keywords;         /* the first 250 EHLO reply's keywords, comma
				       * separated, as sent (no parameters) */
	unsigned commands;            /* recognised client commands */
	unsigned replies;             /* well-formed server replies */
	unsigned bad_lines[2];        /* lines that are not SMTP, per direction */
	unsigned clear_after_starttls;/* lines in clear after STARTTLS was accepted */
	int client_lost;              /* client bytes in clear were lost in a gap where
				       * commands may have been: the counts above are
				       * lower bounds */
	uint32_t anomalies;
};

struct smtp;

/* midstream: the connection was picked up without its start, so the first
 * reply is not taken as the greeting. */
struct smtp *smtp_new(int midstream);
void smtp_free(struct smtp *s);

struct feed_result smtp_feed(struct smtp *s, int dir, const uint8_t *p, size_t len);

/* len bytes of one direction were lost: resynchronise on the next line. */
void smtp_gap(struct smtp *s, int dir, uint64_t len);

const struct smtp_facts *smtp_facts(const struct smtp *s);

#endif
