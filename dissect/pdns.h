/* The passive-DNS table: what the DNS on the link said about mail
 * domains, and what each client looked up, for the columns of issue 17.
 *
 * Design note.
 * - Fed with parsed DNS messages (dns.h: one call per message, with its
 *   source, destination and packet time) and with the SNI of TLS
 *   ClientHellos to port 443 (a policy fetch when it is mta-sts.DOMAIN).
 *   Time is packet time; the table never reads a clock.
 * - What it keeps, one entry each, keyed by names and by the address the
 *   answer went to (the "receiver": the destination of a response, the
 *   source of a query):
 *     MX relation      domain -> exchange host (an MX NODATA answer gives
 *                      the implicit MX domain -> domain, RFC 5321 5.1)
 *     address          host -> IPv4/IPv6 address   } only for a host that is an
 *     CNAME            alias -> target             } MX exchange in the table, or
 *                      a CNAME alias of one: MX comes before A/AAAA when a
 *                      sender resolves, and the web's answers stay out
 *     MTA-STS, TLS-RPT per domain: 1 (one valid record) or 0 (an answer
 *                      without one, NXDOMAIN), the MTA-STS id
 *     TLSA             per MX host: signed (an RRSIG covering it in the
 *                      answer, or the AD bit) / unsigned / none (NXDOMAIN
 *                      or NODATA), with up to PDNS_TLSA_MAX records
 *     lookup history   client -> _mta-sts.D asked, _25._tcp.H asked,
 *                      https://mta-sts.D fetched (SNI)
 *     mail DNS seen    per client address that asked (or was answered) an
 *                      MX, _mta-sts, _smtp._tls or _25._tcp question
 *   and whether the link carried any DNS, and any port-443 ClientHello.
 *   Nothing else: no content, no query ids, no resolver addresses beyond
 *   the receiver of an answer.
 * - How long: each answer is valid from its packet time to packet time +
 *   TTL, the TTL clamped to [ttl_min, ttl_max] (negative answers: the
 *   SOA's negative TTL, RFC 2308); lookup history entries are valid for
 *   `window`, DNS-seen for ttl_max. An entry keeps its answers as at most
 *   PDNS_SIGHTS groups (answers within a second are one; beyond that the
 *   two closest groups merge, so an answer's time may become a range, and
 *   a query that falls inside a merged range with a gap in validity gets
 *   NULL). An entry is removed `linger` seconds after its last validity
 *   ends (so that a session is judged at its end with the facts of its
 *   start); addresses learned from DNS live no longer than that.
 * - Caps: max_bytes (every node counted as malloc takes it: its size + 8
 *   rounded up to 16, and the two bucket arrays) and max_entries; the
 *   least recently added, refreshed or used entry goes first (LRU). An
 *   eviction is counted and leaves a mark (the latest time the evicted
 *   entry was valid) in one of PDNS_MARK_SLOTS slots chosen by the hash of
 *   its address, exchange, target or client; a query that an evicted entry
 *   might have changed answers NULL instead of guessing (so a table too
 *   small for the link's mail DNS shows as mx_uncertain, never as wrong
 *   answers).
 * - The session query (server address S, client address C, start T):
 *   mx_domain/mx_host: address entries for S valid at T, followed back
 *     through CNAMEs (at most PDNS_CNAME_DEPTH) to MX relations valid at
 *     T. Candidates received by C (both the MX and the address answer
 *     went to C) are preferred over all others; among the preferred, the
 *     one whose MX answer came last before T wins. It is ambiguous (NULL,
 *     counted) when another domain's MX answer in the same class may have
 *     come within `tie` seconds of the winner's, or when the winner's MX
 *     answer may be older than `fresh` seconds and any other domain is a
 *     candidate.
 *     mx_host is NULL when the chosen domain reaches S through several
 *     exchanges.
 *   domain_mta_sts, domain_tlsrpt: the latest answer for the domain at or
 *     before T, if still valid at T; domain_dane: the latest TLSA answer
 *     for mx_host likewise. Each distinct answer (a variant: the STS id,
 *     TLS-RPT or not, the TLSA set and whether it was signed) is an entry
 *     of its own, indexed by the name, so a later different answer never
 *     hides the one before T; two different answers whose times cannot be
 *     ordered give NULL (policy_ambiguous).
 *   Every answer, lookup and hello after T is left out: the columns are
 *   those of the table as it was at T, however late they are asked (the
 *   engine's threads rely on it).
 *   sender_looked_up_mta_sts / _tlsa / sender_fetched_policy: 1 when C
 *     asked for _mta-sts.D / _25._tcp.H (a query from C or an answer to
 *     C), or sent a ClientHello for mta-sts.D, within [T - window, T].
 *     0 only when all of these hold: the link carried mail DNS from or to C
 *     at or before T (for the fetch: and a port-443 ClientHello at or
 *     before T, and no hello of C's in the window went unread), the table
 *     watched the whole window (its first packet time <= T - window), no
 *     evicted entry or merged sightings could hide a lookup in the window.
 *     Else NULL.
 *   mx_* is meant for relay sessions (port 25): a submission client
 *   reaches its server by name, not through an MX.
 *   The "session's own client" is the SMTP client address itself (equal
 *   bytes: an MTA that resolves over IPv4 and delivers over IPv6 is two
 *   clients): the
 *   sensor can prove that C received an answer or asked a question only
 *   when it sees C's own packets. A resolver on another host R is matched
 *   through its answers to C (R -> C carries the facts, received by C); R's
 *   own upstream traffic is somebody's lookup, not provably C's, so it
 *   counts for the "any client" candidates only. A resolver on the MTA's
 *   own host asks upstream from C's address and so counts as C.
 * - tlsa_match: the TLSA records of mx_host against the certificates of
 *   the session (x509.h digests): 1 when a DANE-EE(3) record matches the
 *   leaf or a DANE-TA(2) record matches a chain certificate; 0 when usable
 *   records exist, none matches and nothing unseen could match (no
 *   DANE-TA record unless the whole chain is known, and then no "2 1 0",
 *   whose trust anchor may be absent from the chain, RFC 7671 5.2.2; the
 *   RRset not capped); else NULL. PKIX-TA(0) and PKIX-EE(1) are unusable
 *   for SMTP (RFC 7672 3.1.3) and ignored.
 * - Thread safety: one mutex; one thread may feed while workers query. */
#ifndef SMTPTLS_PDNS_H
#define SMTPTLS_PDNS_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "x509.h"

#define PDNS_TLSA_MAX 8       /* TLSA records kept per host */
#define PDNS_SIGHTS 3         /* groups of sightings remembered per entry */
#define PDNS_CNAME_DEPTH 3    /* CNAME links followed back from a host */
#define PDNS_CAND_MAX 64      /* hosts and candidates examined per query */
#define PDNS_MARK_SLOTS 1024  /* eviction marks per kind of entry */
#define PDNS_SWEEP_CALLS 64   /* pdns_expire() calls that sweep the whole table */
#define PDNS_CLOCKS 130       /* feeders' clocks (pdns_clock_new) */
#define PDNS_CAUGHT_UP 1e300  /* a clock whose owner has nothing older to follow */

/* An address as the decoder gives it: family 4 or 6, IPv4 in a[0..4). */
struct pdns_addr {
	uint8_t family;
	uint8_t a[16];
};

/* The address of family 4 or 6 at a (4 or 16 bytes), the rest zero. */
struct pdns_addr pdns_addr_make(uint8_t family, const uint8_t *a);

struct pdns_limits {
	size_t max_bytes;   /* the table's memory, counted (default 64 MiB) */
	size_t max_entries; /* 0: no cap but the bytes */
	uint32_t ttl_min;   /* TTL floor, seconds (default 60) */
	uint32_t ttl_max;   /* TTL ceiling (default 86400) */
	double window;      /* sender lookups before a session (default 300) */
	double linger;      /* kept after validity, for late queries (default 900) */
	double tie;         /* MX answers this close are equally plausible (2) */
	double fresh;       /* an MX answer older than this needs no rival (60) */
};

void pdns_limits_default(struct pdns_limits *lim);

struct pdns;

/* lim NULL: the defaults. NULL when out of memory or max_bytes is too
 * small for the bucket arrays. */
struct pdns *pdns_new(const struct pdns_limits *lim);
void pdns_free(struct pdns *t);

/* ---- feeding ---------------------------------------------------------------- */

/* One DNS message from src to dst at packet time ts, as dns_parse() left
 * it: after DNS_OK (its facts), and after DNS_ERR_IGNORED too (a message
 * of another type: it only shows that the link carries DNS). */
void pdns_add_dns(struct pdns *t, const struct dns_msg *m, const struct pdns_addr *src,
		  const struct pdns_addr *dst, double ts);

/* A TLS ClientHello to port 443 from client, with its SNI (sanitised text,
 * any case; "" without one; NULL when the hello was seen but its SNI could
 * not be read, e.g. beyond the bytes captured: it may have been a policy
 * fetch, so the client's sender_fetched_policy cannot be 0 within the
 * window). Every ClientHello on 443 should come here: it shows that the
 * link carries HTTPS. */
void pdns_add_https(struct pdns *t, const struct pdns_addr *client, const char *sni, double ts);

/* The reading thread notes that it passed a DNS segment on (lock-free;
 * before any later segment is followed, so every thread sees it in
 * capture order): sessions that start later are worth digesting
 * certificates for (tlsa_match). */
void pdns_note_dns(struct pdns *t);
int pdns_dns_noted(struct pdns *t);

/* Clocks of the threads that build records while others feed (one per
 * pipeline). An entry is swept only when every clock has passed its end
 * of validity and linger, so a thread behind the feeding thread never
 * finds the entries of its sessions' start swept (a session asked about
 * more than linger after its start is refused anyway). A clock starts
 * PDNS_CAUGHT_UP; its owner sets its current packet time while it
 * follows packets and PDNS_CAUGHT_UP when it has nothing queued. Returns
 * the clock's id, -1 when all PDNS_CLOCKS are taken (then ignored). */
int pdns_clock_new(struct pdns *t);
void pdns_clock_set(struct pdns *t, int id, double ts); /* lock-free */

/* Advances the table's clock to now (packet time) and removes entries
 * whose validity ended more than linger ago (by the earliest of now and
 * the clocks), looking at 1/PDNS_SWEEP_CALLS of the buckets. Call it at
 * the first packet (the table's watch starts at the earliest time it was
 * given) and then regularly (e.g. each second of packet time). */
void pdns_expire(struct pdns *t, double now);

/* ---- querying ------------------------------------------------------------------ */

enum pdns_dane {
	PDNS_DANE_UNKNOWN = -1, /* NULL */
	PDNS_DANE_NONE = 0,
	PDNS_DANE_UNSIGNED,
	PDNS_DANE_SIGNED,
};

/* The columns of issue 17 for one session; -1 and "" are NULL. */
struct pdns_session {
	char mx_domain[DNS_NAME_MAX];
	char mx_host[DNS_NAME_MAX];
	int domain_mta_sts;           /* 1/0/-1 */
	int domain_dane;              /* enum pdns_dane */
	int domain_tlsrpt;            /* 1/0/-1 */
	int sender_looked_up_mta_sts; /* 1/0/-1 */
	int sender_looked_up_tlsa;    /* 1/0/-1 */
	int sender_fetched_policy;    /* 1/0/-1 */
	char sts_id[DNS_STS_ID_MAX];  /* the MTA-STS id when domain_mta_sts is 1 */
};

/* Fills out for a session from client to server that started at ts_start,
 * from the answers seen at or before ts_start only: the same columns
 * however much the table was fed after the start (up to the merging of
 * sightings within a second, and while the caps evict nothing). now is
 * the packet time the record is built at (its end): more than linger
 * after the start every column is NULL (too_late). */
void pdns_session(struct pdns *t, const struct pdns_addr *server, const struct pdns_addr *client,
		  double ts_start, double now, struct pdns_session *out);

/* tlsa_match for a session to mx_host (pdns_session's, "" gives -1):
 * certs[0] the leaf, certs[1..n) the rest of the chain as sent;
 * chain_complete 1 when that is the whole chain the server sent. Returns
 * 1, 0 or -1 (NULL), by the rules above. */
int pdns_tlsa_match(struct pdns *t, const char *mx_host, double ts_start,
		    const struct x509_tlsa *certs, size_t n, int chain_complete);

/* The TLSA records domain_dane is about (the answer for mx_host in effect
 * at ts_start), as text: "3 1 1 HEX, 2 0 1 HEX" (a matching type 0
 * record's data is kept as its SHA-256: "3 1 0 sha256:HEX"), whole
 * records only, at most cap - 1 characters. Returns the length; 0 (and
 * "") for none. */
size_t pdns_tlsa_text(struct pdns *t, const char *mx_host, double ts_start, char *out, size_t cap);

/* 1 when any DNS message was added: else every column is NULL and reports
 * say that the link showed no DNS. */
int pdns_link_has_dns(struct pdns *t);

const char *pdns_dane_name(int dane); /* "signed", "unsigned", "none"; NULL for -1 */

struct pdns_stats {
	uint64_t dns_messages;    /* pdns_add_dns calls */
	uint64_t https_hellos;    /* pdns_add_https calls */
	uint64_t policy_fetches;  /* of those, SNI mta-sts.DOMAIN */
	uint64_t https_unread;    /* of those, SNI not readable (NULL) */
	uint64_t entries;         /* held now */
	uint64_t bytes;           /* held now, counted as above */
	uint64_t bytes_peak;
	uint64_t bytes_cap;       /* the cap (max_bytes) */
	uint64_t inserted;        /* new entries */
	uint64_t refreshed;       /* sightings added to an existing entry */
	uint64_t evicted;         /* pushed out by the caps, still valid */
	uint64_t expired;         /* removed after validity and linger */
	uint64_t dropped;         /* could not be stored (larger than the cap, no memory) */
	uint64_t not_mail;        /* address and CNAME answers not about an MX host: skipped */
	uint64_t names_too_long;  /* SNI names beyond DNS_NAME_MAX */
	uint64_t tlsa_capped;     /* TLSA RRsets with more than PDNS_TLSA_MAX records */
	uint64_t sessions;        /* pdns_session calls */
	uint64_t mx_found;        /* sessions given an mx_domain */
	uint64_t mx_ambiguous;    /* several domains equally plausible: NULL */
	uint64_t mx_host_ambiguous;/* one domain, several exchanges: mx_host NULL */
	uint64_t mx_uncertain;    /* an evicted entry or merged sightings could decide: NULL */
	uint64_t candidates_capped;/* more than PDNS_CAND_MAX hosts or candidates */
	uint64_t too_late;        /* asked more than linger after the session start */
	uint64_t policy_ambiguous;/* different policy answers too close before a session: NULL */
	uint64_t tlsa_match[3];   /* tlsa_match answers: [0] 0, [1] 1, [2] NULL */
};

/* A copy of the counters. */
void pdns_stats(struct pdns *t, struct pdns_stats *out);

#endif
