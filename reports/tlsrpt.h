/* SMTP TLS reports (RFC 8460) from what a passive observer established:
 * `smtptls report --format tlsrpt [--domain D]`.
 *
 * One report per receiving (policy) domain, each a complete RFC 8460 JSON
 * document on one line (JSON lines: `split -l 1` gives one file per
 * domain, as RFC 8460 sends them); --domain gives the one line of that
 * domain. A domain none of whose sessions can be reported gets no line.
 *
 * Which sessions, under which policy (README.md, "TLS-RPT"): sessions to
 * port 25 with a recipient domain (mx_domain), grouped by the policy the
 * link showed at the session: "tlsa" where domain_dane is signed; else
 * "sts" where domain_mta_sts is 1; else "no-policy-found" where the link
 * showed both absent (no v=STSv1 record; TLSA NXDOMAIN, NODATA or
 * unsigned). Other sessions are not reported (nothing decisive was seen),
 * nor are those whose handshake's end is not in the capture or whose
 * client left STARTTLS unused though offered (the sender's choice, no
 * result type fits).
 * Success: TLS completed and nothing below. Failures, in this order:
 *   starttls-not-supported   no STARTTLS in the EHLO reply
 *   validation-failure       STARTTLS sent, the handshake did not complete
 *   tlsa-invalid             (tlsa) the certificate in clear matches no
 *                            TLSA record
 *   certificate-expired      (sts) the certificate in clear had expired
 *   certificate-host-mismatch (sts) the certificate in clear does not name
 *                            the MX host (the greeting's host name, where
 *                            it is the MX host's)
 * failure-details group them by result type, sending MTA, MX host and
 * receiving address. policy-string: the TLSA records seen (tlsa); an
 * MTA-STS policy itself travels inside HTTPS, so sts reports carry none. */
#ifndef SMTPTLS_TLSRPT_H
#define SMTPTLS_TLSRPT_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

struct tlsrpt_info {
	const char *organization; /* organization-name */
	const char *contact;      /* contact-info, an email address */
	const char *domain;       /* only this policy domain; NULL: all */
};

/* Writes the reports for the sessions the filter lets through. Returns 0,
 * or -1 with a message naming the database in err. */
int tlsrpt_run(const char *path, const struct report_filter *f, const struct tlsrpt_info *info,
	       FILE *out, char *err, size_t errlen);

#endif
