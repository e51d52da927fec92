/* Protocol classification for flows on ports that do not say what they
 * carry (SMTP on a non-standard port). The session's own first bytes
 * decide (session.c: a 220 greeting answered by EHLO or HELO is SMTP; a
 * first line that is no SMTP command or reply is not); nDPI is a second
 * opinion where they do not, and the only judge of TLS from the first byte:
 * implicit TLS on a port nobody configured is not provably SMTP, so it is
 * kept only when nDPI calls it SMTPS. This is the only file that includes
 * nDPI; the SMTP and TLS facts always come from our own dissectors. */
#ifndef SMTPTLS_CLASSIFY_H
#define SMTPTLS_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

enum classify_verdict {
	CLASSIFY_PENDING = 0, /* not decided yet: give more packets */
	CLASSIFY_SMTP,        /* SMTP (plaintext or STARTTLS) */
	CLASSIFY_SMTPS,       /* SMTP over implicit TLS */
	CLASSIFY_OTHER,       /* something else */
};

#define CLASSIFY_MAX_PACKETS 16 /* packets with payload before giving up */

/* What a session's own bytes show (sess_evidence()). */
enum classify_evidence {
	CLASSIFY_BYTES_UNDECIDED = 0, /* not enough to tell */
	CLASSIFY_BYTES_SMTP,          /* a 220 greeting answered by EHLO or HELO, or
				       * followed by an EHLO reply */
	CLASSIFY_BYTES_TLS,           /* a TLS hello from the first byte */
	CLASSIFY_BYTES_OTHER,         /* a first line that is no SMTP */
};

/* Whether the connection is SMTP (CLASSIFY_SMTP, CLASSIFY_SMTPS) or not
 * (CLASSIFY_OTHER), from its bytes' evidence and nDPI's verdict; PENDING
 * while nDPI may still change the answer. */
enum classify_verdict classify_decide(enum classify_evidence bytes, enum classify_verdict ndpi);

struct classifier;
struct classifier_flow;

struct classifier *classifier_new(void);
void classifier_free(struct classifier *c);

struct classifier_flow *classifier_flow_new(void);
void classifier_flow_free(struct classifier_flow *f);

/* One packet of the flow from its IP header on (l3, len); ts in seconds.
 * Returns the verdict so far; once decided it does not change. */
enum classify_verdict classifier_packet(struct classifier *c, struct classifier_flow *f,
					const uint8_t *l3, size_t len, int has_payload,
					double ts);

/* The verdict when the flow ends (nDPI's best guess if still pending). */
enum classify_verdict classifier_finish(struct classifier *c, struct classifier_flow *f);

/* The name nDPI gave the flow ("SMTP", "IMAP", "TLS"...). */
const char *classifier_name(struct classifier *c, const struct classifier_flow *f);

#endif
