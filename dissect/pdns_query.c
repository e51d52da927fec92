/* The passive-DNS table's queries: the columns of one session and the
 * TLSA match (rules in pdns.h). */
#include <stdio.h>
#include <string.h>

#include "pdns.h"
#include "pdns_table.h"

/* A host name that leads to the server's address: the address entry, and
 * how many CNAME links back from the name that entry is about. */
struct host {
	const char *name;
	const struct node *addr;
	int depth;
};

/* A domain whose MX answer, followed by an address answer, leads there. */
struct cand {
	const struct node *mx, *addr;
	double seen_lo, seen_hi; /* the MX answer's time lies in [seen_lo, seen_hi] */
	int own; /* both answers went to the session's client */
};

struct search {
	struct pdns *t;
	const struct pdns_addr *server, *client;
	double ts;
	struct host hosts[PDNS_CAND_MAX];
	size_t n_hosts;
	struct cand cands[PDNS_CAND_MAX];
	size_t n_cands;
	int uncertain; /* an evicted entry or merged sightings might change the answer */
	int capped;
};

static void add_host(struct search *s, const char *name, const struct node *addr, int depth)
{
	for (size_t i = 0; i < s->n_hosts; i++)
		if (s->hosts[i].addr == addr && strcmp(s->hosts[i].name, name) == 0)
			return;
	if (s->n_hosts == PDNS_CAND_MAX) {
		s->capped = 1;
		return;
	}
	s->hosts[s->n_hosts].name = name;
	s->hosts[s->n_hosts].addr = addr;
	s->hosts[s->n_hosts++].depth = depth;
}

/* Address entries for the server valid at the session's start. */
static void find_addresses(struct search *s)
{
	uint32_t xh = pdns_hash_addr(s->t, s->server);
	if (pdns_marked(s->t, M_ADDR, xh, s->ts))
		s->uncertain = 1;
	for (const struct node *n = pdns_xchain(s->t, xh); n; n = n->xnext) {
		double lo, hi;
		if (n->kind != K_ADDR || !pdns_addr_eq(&n->addr, s->server))
			continue;
		int v = pdns_sight_at(n, s->ts, &lo, &hi);
		if (v == SIGHT_YES)
			add_host(s, n->text, n, 0);
		s->uncertain |= v == SIGHT_UNSURE;
	}
}

/* Walks CNAMEs back from each host (the list grows as it goes, so this
 * is breadth-first without recursion), at most PDNS_CNAME_DEPTH links. */
static void find_aliases(struct search *s)
{
	for (size_t i = 0; i < s->n_hosts; i++) {
		const struct host h = s->hosts[i];
		uint32_t xh = pdns_hash_name(s->t, h.name);
		if (h.depth >= PDNS_CNAME_DEPTH)
			continue;
		if (pdns_marked(s->t, M_CNAME, xh, s->ts))
			s->uncertain = 1;
		for (const struct node *n = pdns_xchain(s->t, xh); n; n = n->xnext) {
			double lo, hi;
			if (n->kind != K_CNAME || strcmp(node_name2(n), h.name) != 0)
				continue;
			int v = pdns_sight_at(n, s->ts, &lo, &hi);
			if (v == SIGHT_YES)
				add_host(s, node_name(n), h.addr, h.depth + 1);
			s->uncertain |= v == SIGHT_UNSURE;
		}
	}
}

static void add_cand(struct search *s, const struct node *mx, const struct node *addr,
		     double lo, double hi)
{
	struct cand *c;
	if (s->n_cands == PDNS_CAND_MAX) {
		s->capped = 1;
		return;
	}
	c = &s->cands[s->n_cands++];
	c->mx = mx;
	c->addr = addr;
	c->seen_lo = lo;
	c->seen_hi = hi;
	c->own = pdns_addr_eq(&mx->who, s->client) && pdns_addr_eq(&addr->who, s->client);
}

/* MX relations, valid at the start, whose exchange is one of the hosts. */
static void find_mx(struct search *s)
{
	for (size_t i = 0; i < s->n_hosts; i++) {
		const struct host *h = &s->hosts[i];
		uint32_t xh = pdns_hash_name(s->t, h->name);
		if (pdns_marked(s->t, M_MX, xh, s->ts))
			s->uncertain = 1;
		for (const struct node *n = pdns_xchain(s->t, xh); n; n = n->xnext) {
			double lo, hi;
			if (n->kind != K_MX || strcmp(node_name2(n), h->name) != 0)
				continue;
			int v = pdns_sight_at(n, s->ts, &lo, &hi);
			if (v == SIGHT_YES)
				add_cand(s, n, h->addr, lo, hi);
			s->uncertain |= v == SIGHT_UNSURE;
		}
	}
}

static int better(const struct cand *a, const struct cand *b)
{
	return a->own != b->own ? a->own > b->own : a->seen_hi > b->seen_hi;
}

/* Another domain as plausible as the best (same class, and its MX answer
 * may be within tie seconds of the best's, or the best's may be too old
 * to stand out). */
static int rival(const struct search *s, const struct cand *best, const struct cand *c)
{
	if (c->own != best->own || strcmp(node_name(c->mx), node_name(best->mx)) == 0)
		return 0;
	return c->seen_hi >= best->seen_lo - s->t->lim.tie ||
	       s->ts - best->seen_lo > s->t->lim.fresh;
}

static void choose(struct search *s, struct pdns_session *out)
{
	const struct cand *best = &s->cands[0];
	int host_unique = 1;
	for (size_t i = 1; i < s->n_cands; i++)
		if (better(&s->cands[i], best))
			best = &s->cands[i];
	for (size_t i = 0; i < s->n_cands; i++) {
		const struct cand *c = &s->cands[i];
		if (rival(s, best, c)) {
			s->t->st.mx_ambiguous++;
			return;
		}
		if (c->own == best->own && strcmp(node_name(c->mx), node_name(best->mx)) == 0 &&
		    strcmp(node_name2(c->mx), node_name2(best->mx)) != 0)
			host_unique = 0;
	}
	s->t->st.mx_found++;
	strcpy(out->mx_domain, node_name(best->mx));
	if (host_unique)
		strcpy(out->mx_host, node_name2(best->mx));
	else
		s->t->st.mx_host_ambiguous++;
	pdns_touch(s->t, (struct node *)best->mx);
	pdns_touch(s->t, (struct node *)best->addr);
}

static void find_domain(struct search *s, struct pdns_session *out)
{
	find_addresses(s);
	find_aliases(s);
	find_mx(s);
	if (s->capped)
		s->t->st.candidates_capped++;
	if (s->uncertain || s->capped) {
		s->t->st.mx_uncertain += s->uncertain;
		return;
	}
	if (s->n_cands > 0)
		choose(s, out);
}

/* ---- the domain's policies ------------------------------------------------------ */

/* The latest answer about a name at or before ts, if still valid at ts:
 * each distinct answer is an entry of its own (a variant), the latest
 * before ts wins; NULL when none was seen, the latest has expired, or two
 * different answers came too close to tell which is the latest. */
static struct node *policy_entry(struct pdns *t, uint8_t kind, const char *name, double ts)
{
	struct node *best = NULL;
	double best_lo = 0, best_hi = 0;
	int tie = 0;
	if (!name[0])
		return NULL;
	for (struct node *n = pdns_xchain(t, pdns_hash_name(t, name)); n; n = n->xnext) {
		double lo, hi;
		if (n->kind != kind || strcmp(node_name(n), name) != 0 ||
		    !pdns_answer_before(n, ts, &lo, &hi))
			continue;
		if (best && hi <= best_hi) {
			tie |= hi >= best_lo;
			continue;
		}
		tie = best && best_hi >= lo;
		best = n, best_lo = lo, best_hi = hi;
	}
	if (tie) {
		t->st.policy_ambiguous++;
		return NULL;
	}
	double lo, hi;
	return best && pdns_sight_at(best, ts, &lo, &hi) == SIGHT_YES ? best : NULL;
}

static void policies(struct pdns *t, double ts, struct pdns_session *out)
{
	const struct node *n;
	if ((n = policy_entry(t, K_STS, out->mx_domain, ts)) != NULL) {
		out->domain_mta_sts = n->value;
		if (n->value)
			strcpy(out->sts_id, node_name2(n)); /* the variant is the id */
	}
	if ((n = policy_entry(t, K_TLSRPT, out->mx_domain, ts)) != NULL)
		out->domain_tlsrpt = n->value;
	if ((n = policy_entry(t, K_TLSA, out->mx_host, ts)) != NULL)
		out->domain_dane = n->value;
}

/* ---- what the sender did ---------------------------------------------------------- */

/* Whether the table can tell that the client did not do something in the
 * window before ts: it watched the whole window, saw the client's DNS,
 * and (for a fetch) saw HTTPS on the link. */
static int watched(struct pdns *t, const struct pdns_addr *client, double ts, int https)
{
	struct pdns_key k = {K_CLIENT, "", "", NULL, client};
	struct node *n = pdns_find(t, &k);
	double lo, hi;
	return t->start <= ts - t->lim.window && n && pdns_sight_at(n, ts, &lo, &hi) == SIGHT_YES &&
	       (!https || (t->https_seen && t->https_first <= ts));
}

/* Whether the client sent a port-443 ClientHello whose SNI was not read
 * within the window: it may have been the fetch. */
static int fetch_unread(struct pdns *t, const struct pdns_addr *client, double ts)
{
	struct pdns_key k = {K_FETCH_UNREAD, "", "", NULL, client};
	struct node *n = pdns_find(t, &k);
	double lo, hi;
	return n && pdns_sight_at(n, ts, &lo, &hi) != SIGHT_NO;
}

static int sender_did(struct pdns *t, uint8_t kind, const char *name,
		      const struct pdns_addr *client, double ts)
{
	struct pdns_key k = {kind, name, "", NULL, client};
	struct node *n;
	double lo, hi;
	int v;
	if (!name[0])
		return -1;
	n = pdns_find(t, &k);
	v = n ? pdns_sight_at(n, ts, &lo, &hi) : SIGHT_NO;
	if (v == SIGHT_YES) {
		pdns_touch(t, n);
		return 1;
	}
	if (v == SIGHT_UNSURE || !watched(t, client, ts, kind == K_FETCH) ||
	    pdns_marked(t, M_LOOKUP, pdns_hash_addr(t, client), ts) ||
	    (kind == K_FETCH && fetch_unread(t, client, ts)))
		return -1;
	return 0;
}

static void session_init(struct pdns_session *out)
{
	memset(out, 0, sizeof *out);
	out->domain_mta_sts = out->domain_tlsrpt = -1;
	out->domain_dane = PDNS_DANE_UNKNOWN;
	out->sender_looked_up_mta_sts = out->sender_looked_up_tlsa = -1;
	out->sender_fetched_policy = -1;
}

static struct pdns_addr addr_clean(const struct pdns_addr *a)
{
	struct pdns_addr c;
	memset(&c, 0, sizeof c);
	if (a && (a->family == 4 || a->family == 6)) {
		c.family = a->family;
		memcpy(c.a, a->a, a->family == 4 ? 4 : 16);
	}
	return c;
}

void pdns_session(struct pdns *t, const struct pdns_addr *server, const struct pdns_addr *client,
		  double ts_start, double now, struct pdns_session *out)
{
	static struct search zero;
	struct search s = zero;
	struct pdns_addr srv = addr_clean(server), cli = addr_clean(client);
	session_init(out);
	pthread_mutex_lock(&t->lock);
	t->st.sessions++;
	if (!t->dns_seen) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (now - ts_start > t->lim.linger) {
		t->st.too_late++;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	s.t = t;
	s.server = &srv;
	s.client = &cli;
	s.ts = ts_start;
	find_domain(&s, out);
	policies(t, ts_start, out);
	out->sender_looked_up_mta_sts = sender_did(t, K_LOOKUP_STS, out->mx_domain, &cli, ts_start);
	out->sender_looked_up_tlsa = sender_did(t, K_LOOKUP_TLSA, out->mx_host, &cli, ts_start);
	out->sender_fetched_policy = sender_did(t, K_FETCH, out->mx_domain, &cli, ts_start);
	pthread_mutex_unlock(&t->lock);
}

/* ---- TLSA ------------------------------------------------------------------------------- */

/* One record against one certificate's digests. */
static int tlsa_rr_matches(const struct dns_tlsa *r, const struct x509_tlsa *c)
{
	const uint8_t *d;
	size_t n = r->mtype == 2 ? 64 : 32; /* types 0 (hashed here) and 1: SHA-256 */
	if (!c || !c->present)
		return 0;
	if (r->selector == 0)
		d = r->mtype == 2 ? c->cert_sha512 : c->cert_sha256;
	else
		d = r->mtype == 2 ? c->spki_sha512 : c->spki_sha256;
	return r->len == n && memcmp(r->data, d, n) == 0;
}

static int tlsa_usable(const struct dns_tlsa *r)
{
	return r->usable && (r->usage == 2 || r->usage == 3) && r->selector <= 1 && r->mtype <= 2;
}

struct tlsa_verdict {
	int matched, ee, ta, ta_maybe_absent;
};

static void tlsa_compare(const struct node *n, const struct x509_tlsa *certs, size_t nc,
			 struct tlsa_verdict *v)
{
	const struct dns_tlsa *rr = node_tlsa(n);
	for (size_t i = 0; i < n->ntlsa; i++) {
		const struct dns_tlsa *r = &rr[i];
		if (!tlsa_usable(r))
			continue;
		if (r->usage == 3) {
			v->ee++;
			v->matched |= tlsa_rr_matches(r, &certs[0]);
			continue;
		}
		v->ta++;
		v->ta_maybe_absent |= r->selector == 1 && r->mtype == 0;
		for (size_t j = 1; j < nc; j++)
			v->matched |= tlsa_rr_matches(r, &certs[j]);
	}
}

static int tlsa_decide(const struct node *n, const struct x509_tlsa *certs, size_t nc,
		       int chain_complete)
{
	struct tlsa_verdict v = {0, 0, 0, 0};
	if (!n || n->value == PDNS_DANE_NONE || !certs || nc == 0 || !certs[0].present)
		return -1;
	tlsa_compare(n, certs, nc, &v);
	if (v.matched)
		return 1;
	if (v.ee + v.ta == 0 || n->tlsa_capped)
		return -1;
	if (v.ta > 0 && (!chain_complete || nc < 2 || v.ta_maybe_absent))
		return -1;
	return 0;
}

int pdns_tlsa_match(struct pdns *t, const char *mx_host, double ts_start,
		    const struct x509_tlsa *certs, size_t n, int chain_complete)
{
	int r;
	pthread_mutex_lock(&t->lock);
	r = tlsa_decide(mx_host ? policy_entry(t, K_TLSA, mx_host, ts_start) : NULL, certs, n,
			chain_complete);
	t->st.tlsa_match[r < 0 ? 2 : r]++;
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* "U S M HEX" of one record: the data as kept (matching type 0 is kept
 * as the SHA-256 of its data, written "sha256:HEX"). */
static size_t tlsa_rr_text(const struct dns_tlsa *r, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	int n = snprintf(out, cap, "%u %u %u %s", r->usage, r->selector, r->mtype,
			 r->hashed ? "sha256:" : "");
	size_t used = n > 0 && (size_t)n < cap ? (size_t)n : cap;
	for (size_t i = 0; i < r->len && used + 2 < cap; i++) {
		out[used++] = hex[r->data[i] >> 4];
		out[used++] = hex[r->data[i] & 15];
	}
	if (used < cap)
		out[used] = '\0';
	return used;
}

size_t pdns_tlsa_text(struct pdns *t, const char *mx_host, double ts_start, char *out, size_t cap)
{
	const struct node *n;
	size_t used = 0;
	if (cap == 0)
		return 0;
	out[0] = '\0';
	pthread_mutex_lock(&t->lock);
	n = mx_host ? policy_entry(t, K_TLSA, mx_host, ts_start) : NULL;
	for (size_t i = 0; n && i < n->ntlsa; i++) {
		char rr[2 * DNS_TLSA_DATA_MAX + 32];
		size_t len = tlsa_rr_text(&node_tlsa(n)[i], rr, sizeof rr);
		if (used + len + 3 > cap)
			break; /* whole records only */
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? ", " : "", rr);
	}
	pthread_mutex_unlock(&t->lock);
	return used;
}

const char *pdns_dane_name(int dane)
{
	static const char *const names[] = {"none", "unsigned", "signed"};
	return dane >= 0 && dane <= 2 ? names[dane] : NULL;
}
