/* Protocol classification with nDPI, for flows on ports that do not say
 * what they carry (SMTP on a non-standard port). The only file that
 * includes nDPI. Only the verdict "SMTP or not" is taken from nDPI: the
 * SMTP and TLS facts come from our own dissectors. */
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
