/* Unit tests for dissect/pdns.c: the byte cap of the passive-DNS table,
 * least-recently-used eviction and the marks evicted entries leave, and a
 * million domains under the cap. The harness is pdns_case.h (see
 * test_pdns.c). */
#include "pdns_case.h"

/* ---- caps and eviction ------------------------------------------------------------ */

/* An answer added straight as a parsed message: fast enough for a
 * million. MX: domain dN.example -> NAMEN.example; ADDR: NAMEN.example. */
static void add_fact(struct pdns *t, enum dns_fact_kind kind, const char *name, uint32_t n,
		     double ts)
{
	struct pdns_addr r = addr(R), c = addr(C);
	struct dns_fact *f = &M->facts[0];
	memset(M, 0, offsetof(struct dns_msg, facts));
	memset(f, 0, sizeof *f);
	M->response = 1;
	M->n_facts = 1;
	M->qkind = kind == DNS_FACT_ADDR ? DNS_Q_ADDR : kind == DNS_FACT_MX ? DNS_Q_MX : DNS_Q_STS;
	f->kind = kind;
	f->ttl = 3600;
	snprintf(f->name, sizeof f->name, "%s%u.example", name, n);
	if (kind == DNS_FACT_MX) {
		strcpy(f->target, f->name);
		snprintf(f->name, sizeof f->name, "d%u.example", n);
	}
	f->family = 4;
	memcpy(f->addr, &n, 4);
	f->addr[0] = 10;
	strcpy(M->subject, f->name);
	pdns_add_dns(t, M, &r, &c, ts);
}

/* The bytes never exceed the cap; the least recently used goes first, so
 * a relation kept fresh survives a flood. */
static void test_cap_lru(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	int over = 0;
	pdns_limits_default(&lim);
	lim.max_bytes = 96 * 1024;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	for (uint32_t i = 0; i < 5000; i++) {
		if (i % 50 == 0) {
			mx(t, C, T - 5, "example.com", "mx1.example.com", 3600);
			a(t, C, T - 5, "mx1.example.com", S, 3600);
		}
		add_fact(t, DNS_FACT_STS, "flood", i, T - 4); /* policies leave no mark */
		pdns_stats(t, &st);
		over |= st.bytes > lim.max_bytes;
	}
	CHECK(!over);
	CHECK(st.bytes_peak <= lim.max_bytes);
	CHECK(st.evicted > 4000);
	CHECK(st.entries < 1000);
	CHECK(strncmp(columns(t, C, S, T), "mx=example.com/mx1.example.com ", 31) == 0);
	pdns_free(t);
}

/* An evicted rival makes the answer uncertain (NULL), not the survivor. */
static void test_eviction_mark(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	pdns_limits_default(&lim);
	lim.max_bytes = 64 * 1024;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	mx(t, C, T - 10, "two.example", "mx2.example", 3600);
	a(t, C, T - 10, "mx2.example", S, 3600);
	for (uint32_t i = 0; i < 3000; i++) {
		if (i % 20 == 0) {
			mx(t, C, T - 9, "one.example", "mx1.example", 3600);
			a(t, C, T - 9, "mx1.example", S, 3600);
		}
		add_fact(t, DNS_FACT_STS, "flood", i, T - 8);
	}
	CHECK(strncmp(columns(t, C, S, T), "mx=/ ", 5) == 0);
	pdns_stats(t, &st);
	CHECK_INT(st.mx_uncertain, 1);
	CHECK_INT(st.mx_found, 0);
	pdns_free(t);
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A million distinct domains, each with its MX host and address: the
 * counted bytes stay under the cap, and so does the process's growth (not
 * under ASan, whose redzones and quarantine are not the table's). */
static void test_million(void)
{
	struct pdns_limits lim;
	struct pdns_stats st;
	struct pdns *t;
	long before = rss_kib(), after;
	int over = 0;
	pdns_limits_default(&lim);
	lim.max_bytes = 16u << 20;
	t = pdns_new(&lim);
	pdns_expire(t, 0);
	for (uint32_t i = 0; i < 1000000; i++) {
		add_fact(t, DNS_FACT_MX, "host-with-a-longish-name-", i, 10 + i / 1000.0);
		add_fact(t, DNS_FACT_ADDR, "host-with-a-longish-name-", i, 10 + i / 1000.0);
		if (i % 10000 == 0) {
			pdns_stats(t, &st);
			over |= st.bytes > lim.max_bytes;
		}
	}
	pdns_stats(t, &st);
	after = rss_kib();
	CHECK(!over);
	CHECK(st.bytes_peak <= lim.max_bytes);
	CHECK(st.bytes > lim.max_bytes / 2); /* it did fill up */
	CHECK_INT(st.evicted + st.entries, 2000000 + 1); /* + the client's mail DNS entry */
	CHECK_INT(st.not_mail, 0);
	printf("million: %llu entries, %llu bytes counted, %llu evicted, RSS +%ld KiB\n",
	       (unsigned long long)st.entries, (unsigned long long)st.bytes,
	       (unsigned long long)st.evicted, after - before);
#ifndef UNDER_ASAN
	CHECK(after - before < (long)(lim.max_bytes / 1024) * 3 / 2 + 8192);
#endif
	pdns_free(t);
}

int main(void)
{
	M = malloc(sizeof *M);
	test_cap_lru();
	test_eviction_mark();
	test_million();
	free(M);
	return check_done("pdns_caps");
}
