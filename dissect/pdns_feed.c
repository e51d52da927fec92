/* What feeds the passive-DNS table: the facts of DNS answers (MX,
 * addresses and CNAMEs of mail hosts, the policies, TLSA sets), the
 * lookups a client made, and port-443 ClientHellos that fetch an MTA-STS
 * policy. The table itself is pdns.c, the queries pdns_query.c; the
 * design note in pdns.h. */
#include "pdns.h"

#include <stdio.h>
#include <string.h>

#include "pdns_table.h"

#define NELEM(a) (sizeof a / sizeof a[0])

static const struct pdns_addr no_addr;

/* ---- DNS facts -------------------------------------------------------------------------- */

struct feed {
	struct pdns *t;
	const struct pdns_addr *who; /* the receiver of the answer */
	double ts;
};

static void fact_mx(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_key k = {K_MX, f->name, f->target, NULL, fd->who};
	struct node *n = pdns_put(fd->t, &k, 0, fd->ts, pdns_until(fd->t, fd->ts, f->ttl));
	if (n)
		n->pref = f->pref;
}

/* Whether host is an MX exchange in the table, or the target of CNAMEs
 * (at most PDNS_CNAME_DEPTH) leading back to one: only such addresses and
 * CNAMEs are kept, not those of every web site the link resolves. */
static int mail_host(struct pdns *t, const char *host)
{
	const char *name = host;
	for (int depth = 0; depth <= PDNS_CNAME_DEPTH && name; depth++) {
		const char *alias = NULL;
		for (const struct node *n = pdns_xchain(t, pdns_hash_name(t, name)); n; n = n->xnext) {
			if (strcmp(node_name2(n), name) != 0)
				continue;
			if (n->kind == K_MX)
				return 1;
			if (n->kind == K_CNAME && !alias)
				alias = node_name(n);
		}
		name = alias;
	}
	return 0;
}

static void fact_addr(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_addr a = {f->family, {0}};
	struct pdns_key k = {K_ADDR, f->name, "", &a, fd->who};
	if (!mail_host(fd->t, f->name)) {
		fd->t->st.not_mail++;
		return;
	}
	memcpy(a.a, f->addr, f->family == 4 ? 4 : 16);
	pdns_put(fd->t, &k, 0, fd->ts, pdns_until(fd->t, fd->ts, f->ttl));
}

static void fact_cname(const struct feed *fd, const struct dns_fact *f)
{
	struct pdns_key k = {K_CNAME, f->name, f->target, NULL, fd->who};
	if (!mail_host(fd->t, f->name)) {
		fd->t->st.not_mail++;
		return;
	}
	pdns_put(fd->t, &k, 0, fd->ts, pdns_until(fd->t, fd->ts, f->ttl));
}

/* A policy answer: its entry is the variant (name2) of the domain's. */
static void policy(const struct feed *fd, uint8_t kind, const char *domain, const char *variant,
		   int value, uint32_t ttl)
{
	struct pdns_key k = {kind, domain, variant, NULL, NULL};
	struct node *n = pdns_put(fd->t, &k, 0, fd->ts, pdns_until(fd->t, fd->ts, ttl));
	if (n)
		n->value = (uint8_t)value;
}

static void fact_sts(const struct feed *fd, const struct dns_fact *f)
{
	policy(fd, K_STS, f->name, f->sts_id, 1, f->ttl);
}

static void fact_tlsrpt(const struct feed *fd, const struct dns_fact *f)
{
	policy(fd, K_TLSRPT, f->name, "1", 1, f->ttl);
}

/* The variant of a TLSA answer: signed or not, and a digest of its
 * records, so that the same set seen again refreshes its entry. */
static void tlsa_variant(const struct pdns *t, int value, const struct dns_tlsa *rr, size_t n,
			 int capped, char *out, size_t cap)
{
	uint64_t h = pdns_hash_bytes(t->seed ^ (uint64_t)capped, rr, n * sizeof *rr);
	snprintf(out, cap, "%c%016llx", value == PDNS_DANE_SIGNED ? 's' : 'u',
		 (unsigned long long)h);
}

static void tlsa_set(const struct feed *fd, const char *host, int value,
		     const struct dns_tlsa *rr, size_t n, int capped, uint32_t ttl)
{
	char variant[24] = "";
	struct pdns_key k = {K_TLSA, host, variant, NULL, NULL};
	struct node *node;
	if (value != PDNS_DANE_NONE)
		tlsa_variant(fd->t, value, rr, n, capped, variant, sizeof variant);
	node = pdns_put(fd->t, &k, n * sizeof *rr, fd->ts, pdns_until(fd->t, fd->ts, ttl));
	if (!node)
		return;
	node->value = (uint8_t)value;
	node->ntlsa = (uint8_t)n;
	node->tlsa_capped = (uint8_t)capped;
	if (n)
		memcpy((void *)node_tlsa(node), rr, n * sizeof *rr);
	if (capped)
		fd->t->st.tlsa_capped++;
}

/* NODATA for MX: the implicit MX (RFC 5321 5.1); for the policies: 0. */
static void fact_none(const struct feed *fd, const struct dns_fact *f)
{
	if (f->none_of == DNS_Q_MX && !f->nxdomain) {
		struct dns_fact implicit = *f;
		memcpy(implicit.target, f->name, sizeof implicit.target);
		implicit.pref = 0;
		fact_mx(fd, &implicit);
	} else if (f->none_of == DNS_Q_STS) {
		policy(fd, K_STS, f->name, "", 0, f->ttl);
	} else if (f->none_of == DNS_Q_TLSRPT) {
		policy(fd, K_TLSRPT, f->name, "", 0, f->ttl);
	} else if (f->none_of == DNS_Q_TLSA) {
		tlsa_set(fd, f->name, PDNS_DANE_NONE, NULL, 0, 0, f->ttl);
	}
}

/* The TLSA records of one response: dns.c names them all after the
 * question, so they are one set. */
static void fact_tlsa_all(const struct feed *fd, const struct dns_msg *m)
{
	struct dns_tlsa rr[PDNS_TLSA_MAX];
	size_t n = 0, seen = 0;
	int rrsig = 0;
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < m->n_facts; i++) {
		const struct dns_fact *f = &m->facts[i];
		if (f->kind != DNS_FACT_TLSA)
			continue;
		seen++;
		rrsig |= f->rrsig;
		ttl = f->ttl < ttl ? f->ttl : ttl;
		if (n < PDNS_TLSA_MAX)
			rr[n++] = f->tlsa;
	}
	if (seen == 0)
		return;
	tlsa_set(fd, m->subject, rrsig || m->ad ? PDNS_DANE_SIGNED : PDNS_DANE_UNSIGNED, rr, n,
		 seen > n || m->facts_capped, ttl);
}

static void (*const fact_fn[])(const struct feed *, const struct dns_fact *) = {
	[DNS_FACT_MX] = fact_mx, [DNS_FACT_ADDR] = fact_addr, [DNS_FACT_CNAME] = fact_cname,
	[DNS_FACT_STS] = fact_sts, [DNS_FACT_TLSRPT] = fact_tlsrpt, [DNS_FACT_NONE] = fact_none,
};

static void lookup(const struct feed *fd, uint8_t kind, const char *name)
{
	struct pdns_key k = {kind, name, "", NULL, fd->who};
	pdns_put(fd->t, &k, 0, fd->ts, fd->ts + fd->t->lim.window);
}

static struct pdns_addr addr_clean(const struct pdns_addr *a)
{
	struct pdns_addr c = no_addr;
	if (a && (a->family == 4 || a->family == 6)) {
		c.family = a->family;
		memcpy(c.a, a->a, a->family == 4 ? 4 : 16);
	}
	return c;
}

void pdns_add_dns(struct pdns *t, const struct dns_msg *m, const struct pdns_addr *src,
		  const struct pdns_addr *dst, double ts)
{
	struct pdns_addr who = addr_clean(m->response ? dst : src);
	struct pdns_key client = {K_CLIENT, "", "", NULL, &who};
	struct feed fd = {t, &who, ts};
	pthread_mutex_lock(&t->lock);
	pdns_tick(t, ts);
	t->st.dns_messages++;
	t->dns_seen = 1;
	if (m->qkind != DNS_Q_OTHER && m->qkind != DNS_Q_ADDR)
		pdns_put(t, &client, 0, ts, ts + t->lim.ttl_max); /* its mail DNS is on the link */
	if (m->qkind == DNS_Q_STS)
		lookup(&fd, K_LOOKUP_STS, m->subject);
	else if (m->qkind == DNS_Q_TLSA)
		lookup(&fd, K_LOOKUP_TLSA, m->subject);
	for (size_t i = 0; m->response && i < m->n_facts; i++) {
		enum dns_fact_kind kind = m->facts[i].kind;
		if ((size_t)kind < NELEM(fact_fn) && fact_fn[kind])
			fact_fn[kind](&fd, &m->facts[i]);
	}
	if (m->response)
		fact_tlsa_all(&fd, m);
	pthread_mutex_unlock(&t->lock);
}

/* ---- HTTPS ---------------------------------------------------------------------------- */

/* The domain of an SNI "mta-sts.DOMAIN", lowercased, into out; 0 if the
 * SNI is not one (or does not fit). */
static int policy_host(const char *sni, char *out, size_t cap, int *too_long)
{
	static const char prefix[] = "mta-sts.";
	size_t n = strlen(sni), pl = sizeof prefix - 1;
	*too_long = n >= cap;
	if (n <= pl || n >= cap)
		return 0;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(sni[i] >= 'A' && sni[i] <= 'Z' ? sni[i] + 32 : sni[i]);
	if (out[n - 1] == '.')
		out[--n] = '\0';
	if (n <= pl || memcmp(out, prefix, pl) != 0)
		return 0;
	memmove(out, out + pl, n - pl + 1);
	return 1;
}

void pdns_add_https(struct pdns *t, const struct pdns_addr *client, const char *sni, double ts)
{
	char domain[DNS_NAME_MAX];
	int too_long = 0;
	struct pdns_addr who = addr_clean(client);
	struct feed fd = {t, &who, ts};
	pthread_mutex_lock(&t->lock);
	pdns_tick(t, ts);
	t->st.https_hellos++;
	if (!t->https_seen || ts < t->https_first)
		t->https_first = ts;
	t->https_seen = 1;
	if (!sni) {
		t->st.https_unread++; /* it may have been a fetch: no 0 for this client */
		lookup(&fd, K_FETCH_UNREAD, "");
	} else if (policy_host(sni, domain, sizeof domain, &too_long)) {
		t->st.policy_fetches++;
		lookup(&fd, K_FETCH, domain);
	}
	t->st.names_too_long += too_long;
	pthread_mutex_unlock(&t->lock);
}

void pdns_note_dns(struct pdns *t)
{
	if (!atomic_load_explicit(&t->dns_noted, memory_order_relaxed))
		atomic_store(&t->dns_noted, 1);
}

int pdns_dns_noted(struct pdns *t)
{
	return atomic_load(&t->dns_noted);
}
