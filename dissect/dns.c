#include "dns.h"
#include "../common/crypto.h"

#include <gcrypt.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DNS_HEADER 12
#define NELEM(a) (sizeof a / sizeof a[0])

/* ---- names ------------------------------------------------------------------ */

static int needs_escape(uint8_t c)
{
	return c < 0x20 || c >= 0x7f || c == '\\' || c == '.';
}

/* Appends one label byte, lowercased or as \xHH; -1 when it does not fit
 * with a NUL after it. */
static int put_label_byte(char *out, size_t cap, size_t *o, uint8_t c)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = needs_escape(c) ? 4 : 1;
	if (*o + need >= cap)
		return -1;
	if (need == 1) {
		out[(*o)++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		return 0;
	}
	out[(*o)++] = '\\';
	out[(*o)++] = 'x';
	out[(*o)++] = hex[c >> 4];
	out[(*o)++] = hex[c & 15];
	return 0;
}

/* A wire-format name (ldns's DNAME rdf: uncompressed labels) as text:
 * lowercased, labels joined by '.', no trailing dot, the root as "".
 * Returns the length, or -1 when it is not a name or does not fit cap. */
static int name_text(const ldns_rdf *rdf, char *out, size_t cap)
{
	const uint8_t *d;
	size_t n, i = 0, o = 0;
	if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME || cap == 0)
		return -1;
	d = ldns_rdf_data(rdf);
	n = ldns_rdf_size(rdf);
	while (i < n && d[i] != 0) {
		size_t l = d[i++];
		if (l > 63 || l > n - i)
			return -1;
		if (o > 0 && o + 1 < cap)
			out[o++] = '.';
		else if (o > 0)
			return -1;
		for (size_t k = 0; k < l; k++)
			if (put_label_byte(out, cap, &o, d[i + k]) < 0)
				return -1;
		i += l;
	}
	out[o] = '\0';
	return (int)o;
}

/* name_text() that counts a name too long. */
static int name_or_count(const ldns_rdf *rdf, char *out, size_t cap, struct dns_stats *st)
{
	int n = name_text(rdf, out, cap);
	if (n < 0 && st && rdf && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME)
		st->names_too_long++;
	return n;
}

/* ---- the question ------------------------------------------------------------- */

struct qclass {
	uint16_t qtype;
	const char *prefix;
	enum dns_qkind kind;
};

static const struct qclass qclasses[] = {
	{DNS_TYPE_TXT, "_mta-sts.", DNS_Q_STS},
	{DNS_TYPE_TXT, "_smtp._tls.", DNS_Q_TLSRPT},
	{DNS_TYPE_TLSA, "_25._tcp.", DNS_Q_TLSA},
	{DNS_TYPE_MX, "", DNS_Q_MX},
	{DNS_TYPE_A, "", DNS_Q_ADDR},
	{DNS_TYPE_AAAA, "", DNS_Q_ADDR},
};

static void classify_question(struct dns_msg *m)
{
	for (size_t i = 0; i < NELEM(qclasses); i++) {
		const struct qclass *q = &qclasses[i];
		size_t pl = strlen(q->prefix);
		if (q->qtype != m->qtype || strncmp(m->qname, q->prefix, pl) != 0 ||
		    m->qname[pl] == '\0')
			continue;
		m->qkind = q->kind;
		memmove(m->subject, m->qname + pl, strlen(m->qname + pl) + 1);
		return;
	}
}

/* ---- one parse: the packet, the CNAME chain, the facts ---------------------------- */

struct parse {
	struct dns_msg *m;
	struct dns_stats *st;
	const ldns_pkt *pkt;
	const ldns_rr_list *answer;
	const ldns_rdf *chain[DNS_CHAIN_MAX + 1]; /* the question's name, then targets */
	size_t chain_n;
	uint32_t chain_ttl;  /* smallest CNAME TTL along the chain */
	int found;           /* a record of the question's type on the chain */
	int rrsig_tlsa;      /* an RRSIG covering TLSA on the chain */
	unsigned txt_fit;    /* TXT records beginning with the version tag */
	int txt_valid;       /* ... and the (last) one is well-formed */
	uint32_t txt_ttl;    /* the smallest TTL of those */
	char sts_id[DNS_STS_ID_MAX];
};

static int on_chain(const struct parse *ps, const ldns_rdf *owner)
{
	for (size_t i = 0; i < ps->chain_n; i++)
		if (ldns_dname_compare(ps->chain[i], owner) == 0)
			return 1;
	return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static struct dns_fact *fact_add(struct parse *ps, enum dns_fact_kind kind, uint32_t ttl)
{
	struct dns_msg *m = ps->m;
	struct dns_fact *f;
	if (m->n_facts >= DNS_FACTS_MAX) {
		m->facts_capped = 1;
		return NULL;
	}
	f = &m->facts[m->n_facts++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->ttl = min_u32(ttl, ps->chain_ttl);
	memcpy(f->name, m->subject, sizeof f->name);
	return f;
}

/* A CNAME of the last name on the chain, or NULL. */
static const ldns_rr *next_cname(const struct parse *ps)
{
	const ldns_rdf *last = ps->chain[ps->chain_n - 1];
	for (size_t i = 0; i < ldns_rr_list_rr_count(ps->answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ps->answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
		    ldns_dname_compare(ldns_rr_owner(rr), last) == 0)
			return rr;
	}
	return NULL;
}

static void cname_fact(struct parse *ps, const ldns_rr *rr)
{
	char alias[DNS_NAME_MAX], target[DNS_NAME_MAX];
	struct dns_fact *f;
	if (name_or_count(ldns_rr_owner(rr), alias, sizeof alias, ps->st) <= 0 ||
	    name_or_count(ldns_rr_rdf(rr, 0), target, sizeof target, ps->st) <= 0)
		return;
	if ((f = fact_add(ps, DNS_FACT_CNAME, ldns_rr_ttl(rr))) == NULL)
		return;
	memcpy(f->name, alias, sizeof f->name);
	memcpy(f->target, target, sizeof f->target);
	f->ttl = ldns_rr_ttl(rr); /* its own, not the chain's */
}

/* Follows CNAMEs from the question's name, by iteration, stopping at a
 * loop or after DNS_CHAIN_MAX links. */
static void follow_chain(struct parse *ps, const ldns_rdf *qname)
{
	const ldns_rr *rr;
	ps->chain[0] = qname;
	ps->chain_n = 1;
	ps->chain_ttl = UINT32_MAX;
	while (ps->chain_n <= DNS_CHAIN_MAX && (rr = next_cname(ps)) != NULL) {
		const ldns_rdf *target = ldns_rr_rdf(rr, 0);
		if (!target || ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME ||
		    on_chain(ps, target))
			break;
		cname_fact(ps, rr);
		ps->chain[ps->chain_n++] = target;
		ps->chain_ttl = min_u32(ps->chain_ttl, ldns_rr_ttl(rr));
	}
}

/* ---- records of interest -------------------------------------------------------------- */

static void on_mx(struct parse *ps, const ldns_rr *rr)
{
	char host[DNS_NAME_MAX];
	const ldns_rdf *pref = ldns_rr_rdf(rr, 0);
	struct dns_fact *f;
	if (ldns_rr_rd_count(rr) != 2 || ldns_rdf_size(pref) != 2)
		return;
	ps->found = 1;
	if (name_or_count(ldns_rr_rdf(rr, 1), host, sizeof host, ps->st) <= 0)
		return; /* a null MX (RFC 7505) or a name too long */
	if ((f = fact_add(ps, DNS_FACT_MX, ldns_rr_ttl(rr))) == NULL)
		return;
	memcpy(f->target, host, sizeof f->target);
	f->pref = ldns_rdf2native_int16(pref);
}

static void on_address(struct parse *ps, const ldns_rr *rr)
{
	const ldns_rdf *a = ldns_rr_rdf(rr, 0);
	size_t n = a ? ldns_rdf_size(a) : 0;
	struct dns_fact *f;
	if (ldns_rr_rd_count(rr) != 1 || (n != 4 && n != 16))
		return;
	ps->found = 1;
	if ((f = fact_add(ps, DNS_FACT_ADDR, ldns_rr_ttl(rr))) == NULL)
		return;
	f->family = n == 4 ? 4 : 6;
	memcpy(f->addr, ldns_rdf_data(a), n);
}

/* The character-strings of a TXT record joined (RFC 8461 3.1, RFC 8460
 * 3: a record may be split into several strings); at most cap bytes. */
static size_t txt_join(const ldns_rr *rr, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *s = ldns_rr_rdf(rr, i);
		size_t n = ldns_rdf_size(s);
		const uint8_t *d = ldns_rdf_data(s);
		if (ldns_rdf_get_type(s) != LDNS_RDF_TYPE_STR || n == 0)
			continue;
		n = min_u32((uint32_t)(n - 1), d[0]);
		if (n > cap - o)
			n = cap - o;
		memcpy(out + o, d + 1, n);
		o += n;
	}
	return o;
}

static int is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Whether t[0..n) begins with the tag as a whole field. */
static int begins_with_tag(const uint8_t *t, size_t n, const char *tag)
{
	size_t l = strlen(tag);
	return n >= l && memcmp(t, tag, l) == 0 && (n == l || t[l] == ';' || is_wsp(t[l]));
}

/* The value of the field "key=" in a ';'-separated record, or NULL; its
 * length in *vlen. Fields are trimmed of WSP. */
static const uint8_t *field_value(const uint8_t *t, size_t n, const char *key, size_t *vlen)
{
	size_t kl = strlen(key), i = 0;
	while (i < n) {
		size_t start, end;
		while (i < n && is_wsp(t[i]))
			i++;
		start = i;
		while (i < n && t[i] != ';')
			i++;
		end = i++;
		while (end > start && is_wsp(t[end - 1]))
			end--;
		if (end - start > kl && memcmp(t + start, key, kl) == 0) {
			*vlen = end - start - kl;
			return t + start + kl;
		}
	}
	return NULL;
}

/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT); copied into id. */
static int sts_id_valid(const uint8_t *v, size_t n, char *id)
{
	if (!v || n == 0 || n > DNS_STS_ID_MAX - 1)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = v[i];
		if (!((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')))
			return 0;
	}
	memcpy(id, v, n);
	id[n] = '\0';
	return 1;
}

static void on_txt(struct parse *ps, const ldns_rr *rr)
{
	uint8_t t[DNS_TXT_MAX];
	size_t n = txt_join(rr, t, sizeof t), vlen = 0;
	const uint8_t *v;
	int sts = ps->m->qkind == DNS_Q_STS;
	ps->found = 1;
	if (!begins_with_tag(t, n, sts ? "v=STSv1" : "v=TLSRPTv1"))
		return; /* records without the tag are discarded */
	ps->txt_fit++;
	ps->txt_ttl = min_u32(ps->txt_ttl, ldns_rr_ttl(rr));
	v = field_value(t, n, sts ? "id=" : "rua=", &vlen);
	ps->txt_valid = sts ? sts_id_valid(v, vlen, ps->sts_id) : v != NULL;
}

/* The association data as kept: the digest (matching types 1 and 2, of
 * the right length) or the SHA-256 of the exact bytes (type 0). */
static void tlsa_data(struct dns_tlsa *t, const uint8_t *d, size_t n)
{
	static const size_t digest_len[3] = {0, 32, 64};
	if (n == 0 || !d)
		return; /* no data: matches nothing (usable stays 0) */
	if (t->mtype == 0) {
		gcry_md_hash_buffer(GCRY_MD_SHA256, t->data, d, n);
		t->len = 32;
		t->hashed = t->usable = 1;
		return;
	}
	t->len = (uint8_t)(n < DNS_TLSA_DATA_MAX ? n : DNS_TLSA_DATA_MAX);
	memcpy(t->data, d, t->len);
	t->usable = t->mtype <= 2 && t->mtype > 0 && n == digest_len[t->mtype];
}

static void on_tlsa(struct parse *ps, const ldns_rr *rr)
{
	struct dns_fact *f;
	const ldns_rdf *data = ldns_rr_rdf(rr, 3);
	if (ldns_rr_rd_count(rr) != 4)
		return;
	for (size_t i = 0; i < 3; i++)
		if (ldns_rdf_size(ldns_rr_rdf(rr, i)) != 1)
			return;
	ps->found = 1;
	if ((f = fact_add(ps, DNS_FACT_TLSA, ldns_rr_ttl(rr))) == NULL)
		return;
	f->tlsa.usage = ldns_rdf_data(ldns_rr_rdf(rr, 0))[0];
	f->tlsa.selector = ldns_rdf_data(ldns_rr_rdf(rr, 1))[0];
	f->tlsa.mtype = ldns_rdf_data(ldns_rr_rdf(rr, 2))[0];
	tlsa_data(&f->tlsa, ldns_rdf_data(data), ldns_rdf_size(data));
}

/* Which record type answers which question: data, not a switch. */
struct handler {
	ldns_rr_type type;
	enum dns_qkind qkind;
	void (*fn)(struct parse *ps, const ldns_rr *rr);
};

static const struct handler handlers[] = {
	{LDNS_RR_TYPE_MX, DNS_Q_MX, on_mx},
	{LDNS_RR_TYPE_A, DNS_Q_ADDR, on_address},
	{LDNS_RR_TYPE_AAAA, DNS_Q_ADDR, on_address},
	{LDNS_RR_TYPE_TXT, DNS_Q_STS, on_txt},
	{LDNS_RR_TYPE_TXT, DNS_Q_TLSRPT, on_txt},
	{LDNS_RR_TYPE_TLSA, DNS_Q_TLSA, on_tlsa},
};

static void on_answer(struct parse *ps, const ldns_rr *rr)
{
	ldns_rr_type type = ldns_rr_get_type(rr);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || (uint16_t)type != ps->m->qtype ||
	    !on_chain(ps, ldns_rr_owner(rr)))
		return;
	for (size_t i = 0; i < NELEM(handlers); i++)
		if (handlers[i].type == type && handlers[i].qkind == ps->m->qkind)
			handlers[i].fn(ps, rr);
}

/* An RRSIG in the answer section covering TLSA at a name on the chain. */
static void note_rrsigs(struct parse *ps)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(ps->answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ps->answer, i);
		const ldns_rdf *covered = ldns_rr_rdf(rr, 0);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && covered &&
		    ldns_rdf_size(covered) == 2 && ldns_rdf2rr_type(covered) == LDNS_RR_TYPE_TLSA &&
		    on_chain(ps, ldns_rr_owner(rr)))
			ps->rrsig_tlsa = 1;
	}
}

/* RFC 2308 5: the negative TTL is the SOA's TTL or its MINIMUM, the less. */
static uint32_t negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *min = ldns_rr_rdf(rr, 6);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
		    ldns_rdf_size(min) == 4)
			return min_u32(ldns_rr_ttl(rr), ldns_rdf2native_int32(min));
	}
	return 0;
}

static void add_none(struct parse *ps, int nxdomain)
{
	struct dns_fact *f;
	ps->chain_ttl = UINT32_MAX; /* the negative TTL is the SOA's */
	if ((f = fact_add(ps, DNS_FACT_NONE, negative_ttl(ps->pkt))) == NULL)
		return;
	f->none_of = ps->m->qkind;
	f->nxdomain = nxdomain;
}

/* The TXT verdict (one well-formed record: present; else absent), the
 * TLSA signature, and the negative answers. */
static void conclude(struct parse *ps)
{
	struct dns_msg *m = ps->m;
	int complete = !m->tc && (ps->chain_n == 1 || m->ra);
	int txt = m->qkind == DNS_Q_STS || m->qkind == DNS_Q_TLSRPT;
	for (size_t i = 0; i < m->n_facts; i++)
		if (m->facts[i].kind == DNS_FACT_TLSA)
			m->facts[i].rrsig = ps->rrsig_tlsa;
	if (m->rcode == DNS_RCODE_NOERROR && txt && ps->txt_fit == 1 && ps->txt_valid) {
		struct dns_fact *f = fact_add(ps, m->qkind == DNS_Q_STS ? DNS_FACT_STS : DNS_FACT_TLSRPT,
					      ps->txt_ttl);
		if (f && m->qkind == DNS_Q_STS)
			memcpy(f->sts_id, ps->sts_id, sizeof f->sts_id);
		return;
	}
	if (!complete || m->qkind == DNS_Q_ADDR || m->qkind == DNS_Q_OTHER)
		return;
	if (m->rcode == DNS_RCODE_NXDOMAIN)
		add_none(ps, 1);
	else if (m->rcode == DNS_RCODE_NOERROR && (txt || !ps->found))
		add_none(ps, 0);
}

/* ---- the message ---------------------------------------------------------------- */

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;

static void gcrypt_init(void)
{
	(void)crypto_ready();
}

static void msg_reset(struct dns_msg *m)
{
	m->response = m->rcode = m->ad = m->tc = m->ra = 0;
	m->id = m->qtype = 0;
	m->qkind = DNS_Q_OTHER;
	m->qname[0] = m->subject[0] = '\0';
	m->n_facts = 0;
	m->facts_capped = 0;
}

/* The fixed header says: a QUERY (opcode 0) with one question. */
static int header_wanted(const uint8_t *p)
{
	return ((p[2] >> 3) & 0x0f) == 0 && p[4] == 0 && p[5] == 1;
}

static int qtype_wanted(uint16_t qtype)
{
	for (size_t i = 0; i < NELEM(qclasses); i++)
		if (qclasses[i].qtype == qtype)
			return 1;
	return 0;
}

/* Before the whole message goes through ldns_wire2pkt: the header, and the
 * question's type (ldns reads its name), so that the many messages of
 * other types cost one name. */
static int worth_parsing(const uint8_t *p, size_t len)
{
	ldns_rdf *name = NULL;
	size_t pos = DNS_HEADER;
	if (!header_wanted(p))
		return DNS_ERR_IGNORED;
	if (ldns_wire2dname(&name, p, len, &pos) != LDNS_STATUS_OK || pos > len || len - pos < 4) {
		ldns_rdf_deep_free(name);
		return DNS_ERR_MALFORMED;
	}
	ldns_rdf_deep_free(name);
	return qtype_wanted((uint16_t)(p[pos] << 8 | p[pos + 1])) ? DNS_OK : DNS_ERR_IGNORED;
}

static int read_question(const ldns_pkt *pkt, struct dns_msg *m, struct dns_stats *st)
{
	const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (!q || ldns_rr_get_class(q) != LDNS_RR_CLASS_IN ||
	    name_or_count(ldns_rr_owner(q), m->qname, sizeof m->qname, st) < 0)
		return DNS_ERR_IGNORED;
	m->qtype = (uint16_t)ldns_rr_get_type(q);
	memcpy(m->subject, m->qname, sizeof m->subject);
	classify_question(m);
	m->response = ldns_pkt_qr(pkt);
	m->id = ldns_pkt_id(pkt);
	return DNS_OK;
}

static void read_answers(const ldns_pkt *pkt, struct dns_msg *m, struct dns_stats *st)
{
	struct parse ps;
	memset(&ps, 0, sizeof ps);
	ps.m = m;
	ps.st = st;
	ps.pkt = pkt;
	ps.answer = ldns_pkt_answer(pkt);
	ps.txt_ttl = UINT32_MAX;
	m->rcode = ldns_pkt_get_rcode(pkt);
	m->ad = ldns_pkt_ad(pkt);
	m->tc = ldns_pkt_tc(pkt);
	m->ra = ldns_pkt_ra(pkt);
	follow_chain(&ps, ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)));
	note_rrsigs(&ps);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ps.answer); i++)
		on_answer(&ps, ldns_rr_list_rr(ps.answer, i));
	conclude(&ps);
}

/* Counts a message that is not read; returns rc. */
static int refuse(struct dns_msg *m, struct dns_stats *st, int rc)
{
	msg_reset(m);
	if (st && rc == DNS_ERR_MALFORMED)
		st->malformed++;
	else if (st)
		st->ignored++;
	return rc;
}

static void tally(const struct dns_msg *m, struct dns_stats *st)
{
	if (!st)
		return;
	st->queries += !m->response;
	st->responses += m->response != 0;
	st->facts += m->n_facts;
	st->facts_capped += m->facts_capped != 0;
}

int dns_parse(const uint8_t *p, size_t len, struct dns_msg *m, struct dns_stats *st)
{
	ldns_pkt *pkt = NULL;
	int rc;
	msg_reset(m);
	if (st)
		st->messages++;
	if (len < DNS_HEADER || len > DNS_MSG_MAX)
		return refuse(m, st, DNS_ERR_MALFORMED);
	if ((rc = worth_parsing(p, len)) != DNS_OK)
		return refuse(m, st, rc);
	pthread_once(&gcrypt_once, gcrypt_init);
	if (ldns_wire2pkt(&pkt, p, len) != LDNS_STATUS_OK || !pkt) {
		ldns_pkt_free(pkt);
		return refuse(m, st, DNS_ERR_MALFORMED);
	}
	rc = read_question(pkt, m, st);
	if (rc == DNS_OK && m->response)
		read_answers(pkt, m, st);
	ldns_pkt_free(pkt);
	if (rc != DNS_OK)
		return refuse(m, st, rc);
	tally(m, st);
	return DNS_OK;
}

static const char *const fact_names[] = {
	[DNS_FACT_MX] = "mx", [DNS_FACT_ADDR] = "addr", [DNS_FACT_CNAME] = "cname",
	[DNS_FACT_STS] = "sts", [DNS_FACT_TLSRPT] = "tlsrpt", [DNS_FACT_TLSA] = "tlsa",
	[DNS_FACT_NONE] = "none",
};

static const char *const qkind_names[] = {
	[DNS_Q_OTHER] = "other", [DNS_Q_MX] = "mx", [DNS_Q_ADDR] = "addr",
	[DNS_Q_STS] = "sts", [DNS_Q_TLSRPT] = "tlsrpt", [DNS_Q_TLSA] = "tlsa",
};

const char *dns_fact_kind_name(enum dns_fact_kind k)
{
	return (unsigned)k < NELEM(fact_names) && fact_names[k] ? fact_names[k] : "?";
}

const char *dns_qkind_name(enum dns_qkind k)
{
	return (unsigned)k < NELEM(qkind_names) ? qkind_names[k] : "?";
}

/* ---- DNS over TCP -------------------------------------------------------------------- */

struct dns_stream {
	size_t msg_max;
	uint8_t hdr[2];
	size_t hdr_n;   /* length bytes read of the current message */
	size_t need;    /* its length */
	size_t have;    /* bytes of it taken */
	int skipping;   /* longer than msg_max: discarded */
	uint8_t *buf;   /* a message split across calls */
	size_t buf_cap;
	struct dns_stream_stats st;
};

struct dns_stream *dns_stream_new(size_t msg_max)
{
	struct dns_stream *s = calloc(1, sizeof *s);
	if (s)
		s->msg_max = msg_max == 0 || msg_max > DNS_MSG_MAX ? DNS_MSG_MAX : msg_max;
	return s;
}

void dns_stream_free(struct dns_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

void dns_stream_gap(struct dns_stream *s)
{
	s->st.lost = 1;
}

const struct dns_stream_stats *dns_stream_stats(const struct dns_stream *s)
{
	return &s->st;
}

/* One length byte; at the second, the message starts. */
static void take_length_byte(struct dns_stream *s, uint8_t b)
{
	s->hdr[s->hdr_n++] = b;
	if (s->hdr_n < 2)
		return;
	s->need = (size_t)s->hdr[0] << 8 | s->hdr[1];
	s->have = 0;
	s->skipping = s->need > s->msg_max;
	if (s->need == 0) {
		s->st.empty++;
		s->hdr_n = 0;
	}
}

/* Room for the whole message in the buffer; 0 when out of memory. */
static int reserve(struct dns_stream *s)
{
	uint8_t *b;
	if (s->buf_cap >= s->need)
		return 1;
	if ((b = realloc(s->buf, s->need)) == NULL)
		return 0;
	s->buf = b;
	s->buf_cap = s->need;
	return 1;
}

/* Takes up to n body bytes; 1 when the message is complete (*msg set). */
static int take_body(struct dns_stream *s, const uint8_t *p, size_t n, size_t *took,
		     const uint8_t **msg)
{
	size_t take = s->need - s->have < n ? s->need - s->have : n;
	const uint8_t *whole = s->buf;
	*took = take;
	if (!s->skipping && s->have == 0 && take == s->need) {
		whole = p; /* whole in this piece: no copy */
	} else if (!s->skipping && reserve(s)) {
		memcpy(s->buf + s->have, p, take);
		whole = s->buf;
	} else {
		s->skipping = 1; /* too long, or no memory for it */
	}
	s->have += take;
	if (s->have < s->need)
		return 0;
	s->hdr_n = 0;
	if (s->skipping) {
		s->st.oversize++;
		return 0;
	}
	s->st.messages++;
	*msg = whole;
	return 1;
}

int dns_stream_feed(struct dns_stream *s, const uint8_t *p, size_t len, size_t *consumed,
		    const uint8_t **msg, size_t *msg_len)
{
	size_t off = 0, took;
	*msg = NULL;
	*msg_len = 0;
	if (s->st.lost) {
		*consumed = len;
		return DNS_STREAM_LOST;
	}
	while (off < len) {
		if (s->hdr_n < 2) {
			take_length_byte(s, p[off++]);
			continue;
		}
		int done = take_body(s, p + off, len - off, &took, msg);
		off += took;
		if (done) {
			*msg_len = s->need;
			*consumed = off;
			return DNS_STREAM_MSG;
		}
	}
	*consumed = off;
	return DNS_STREAM_MORE;
}
