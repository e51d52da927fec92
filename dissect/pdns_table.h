/* Inside the passive-DNS table: the entries, their index and their
 * lifetime (pdns.c), shared with what feeds it (pdns_feed.c) and the
 * queries (pdns_query.c). Not a public header: everything else goes
 * through pdns.h. */
#ifndef SMTPTLS_PDNS_TABLE_H
#define SMTPTLS_PDNS_TABLE_H

#include <pthread.h>
#include <stdatomic.h>

#include "pdns.h"

enum pdns_kind {
	K_MX = 1,      /* name domain, name2 exchange, who receiver; by name2 */
	K_ADDR,        /* name host, addr, who receiver; by addr */
	K_CNAME,       /* name alias, name2 target, who receiver; by name2 */
	/* policies: one entry per distinct answer (its variant in name2), by name */
	K_STS,         /* name domain, name2 the id ("" for an answer without one), value 1/0 */
	K_TLSRPT,      /* name domain, name2 "1" or "", value 1/0 */
	K_TLSA,        /* name host, name2 "" (none) or the set's digest, value enum
			* pdns_dane, records after the names */
	K_LOOKUP_STS,  /* name domain, who the client that asked */
	K_LOOKUP_TLSA, /* name host, who the client that asked */
	K_FETCH,       /* name domain, who the client that sent SNI mta-sts.DOMAIN */
	K_FETCH_UNREAD,/* who: a client whose port-443 ClientHello could not be read */
	K_CLIENT,      /* who: an address that asked or got DNS answers */
	K_COUNT
};

/* Where an evicted entry leaves its mark: by the hash of its address,
 * exchange, CNAME target or client. */
enum pdns_mark { M_NONE = -1, M_ADDR, M_MX, M_CNAME, M_LOOKUP, M_COUNT };

/* A group of sightings of one entry: answers seen from lo to hi, the
 * last valid until `until`. gapless: each answer came before the one
 * before it had expired, so the entry was valid all along [lo, until]. */
struct sight {
	double lo, hi, until;
	int gapless;
};

/* What a node says about a moment: valid then (and how recent its last
 * answer before it was: in [lo, hi]), not valid, or cannot tell (merged
 * sightings with a gap). */
enum { SIGHT_NO = 0, SIGHT_YES = 1, SIGHT_UNSURE = -1 };

struct node {
	struct node *hnext, *xnext;  /* key chain; secondary (address, name2) chain */
	struct node *older, *newer;  /* LRU list */
	struct sight s[PDNS_SIGHTS + 1]; /* newest first, disjoint; one spare while adding */
	double until_max;            /* latest end of any sighting */
	size_t cost;                 /* bytes counted for it */
	uint32_t hash, xhash;
	struct pdns_addr addr, who;
	uint8_t kind, value, n_sights, ntlsa, tlsa_capped;
	uint16_t pref;
	uint16_t len1, len2;
	char text[]; /* name NUL name2 NUL, then ntlsa struct dns_tlsa */
};

struct pdns {
	pthread_mutex_t lock;
	struct pdns_limits lim;
	uint64_t seed;
	struct node **hb, **xb; /* bucket arrays, nb each */
	size_t nb;
	size_t sweep_at;        /* pdns_expire's cursor */
	struct node *newest, *oldest;
	double marks[M_COUNT][PDNS_MARK_SLOTS];
	double start, now;      /* first and latest packet time seen */
	int started;
	int dns_seen, https_seen;
	double https_first;     /* packet time of the first port-443 ClientHello */
	_Atomic uint64_t clocks[PDNS_CLOCKS]; /* the feeders' packet times (double bits) */
	_Atomic int nclocks;
	_Atomic int dns_noted;  /* pdns_note_dns: the reader passed DNS on */
	struct pdns_stats st;
};

/* A key: names "" when unused, addresses NULL for none. */
struct pdns_key {
	uint8_t kind;
	const char *name, *name2;
	const struct pdns_addr *addr, *who;
};

static inline const char *node_name(const struct node *n)
{
	return n->text;
}

static inline const char *node_name2(const struct node *n)
{
	return n->text + n->len1 + 1;
}

static inline const struct dns_tlsa *node_tlsa(const struct node *n)
{
	return (const struct dns_tlsa *)(const void *)(n->text + n->len1 + 1 + n->len2 + 1);
}

/* pdns.c, for the queries (the lock held) */
struct node *pdns_find(struct pdns *t, const struct pdns_key *k);
uint32_t pdns_hash_name(const struct pdns *t, const char *name);
uint32_t pdns_hash_addr(const struct pdns *t, const struct pdns_addr *a);
struct node *pdns_xchain(const struct pdns *t, uint32_t xhash);
void pdns_touch(struct pdns *t, struct node *n);
/* Whether the entry was valid at ts (an answer at or before ts, still
 * valid at ts): SIGHT_YES with the time of the latest such answer known
 * to lie in [*lo, *hi], SIGHT_NO, or SIGHT_UNSURE. */
int pdns_sight_at(const struct node *n, double ts, double *lo, double *hi);
/* Whether the entry has an answer at or before ts: 1 with its latest such
 * answer's time known to lie in [*lo, *hi], else 0. */
int pdns_answer_before(const struct node *n, double ts, double *lo, double *hi);
/* Whether an evicted entry of this mark and hash might cover ts. */
int pdns_marked(const struct pdns *t, enum pdns_mark m, uint32_t xhash, double ts);
int pdns_addr_eq(const struct pdns_addr *a, const struct pdns_addr *b);

/* pdns.c, for the feed (the lock held) */
/* The byte hash of the table's keys, continuing from h (a seed to start
 * from): the feed's digest of a TLSA set. */
uint64_t pdns_hash_bytes(uint64_t h, const void *p, size_t n);
/* The end of validity of an answer at ts with this TTL, clamped to the
 * limits. */
double pdns_until(const struct pdns *t, double ts, uint32_t ttl);
/* The entry for k with a sighting from ts to until; a kind that replaces
 * gets a fresh entry with room for extra bytes. NULL if it could not be
 * stored. */
struct node *pdns_put(struct pdns *t, const struct pdns_key *k, size_t extra, double ts,
		      double until);
/* Notes a packet time: the first and latest the table has seen. */
void pdns_tick(struct pdns *t, double ts);

#endif
