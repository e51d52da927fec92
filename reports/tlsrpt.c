/* RFC 8460 reports per policy domain (rules in tlsrpt.h). */
#include "tlsrpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rdb.h"
#include "rescape.h"
#include "rtime.h"

#define DETAILS_MAX 1024 /* failure-details per policy; beyond, merged per result type */
#define HOSTS_MAX 16     /* distinct MX hosts per policy */
#define RECORDS_MAX 32   /* distinct TLSA records per policy */
#define TEXT_MAX 256

/* The policy the link showed at each session, and its result (NULL: not
 * reported). Columns: domain, policy type, result, client, server, MX
 * host, TLSA records. */
static const char sessions_sql[] =
	"SELECT mx_domain, ptype, result, client_ip, server_ip, mx_host, tlsa_records FROM ("
	" SELECT mx_domain, mx_host, client_ip, server_ip, tlsa_records,"
	"  CASE WHEN domain_dane = 2 THEN 'tlsa' WHEN domain_mta_sts = 1 THEN 'sts'"
	"   WHEN domain_mta_sts = 0 AND domain_dane IN (0, 1) THEN 'no-policy-found' END AS ptype,"
	"  CASE WHEN starttls_offered = 0 THEN 'starttls-not-supported'"
	"   WHEN coalesce(tls_outcome, 0) = " RDB_O_INCOMPLETE " THEN NULL"
	"   WHEN starttls_sent = 1 AND NOT" RDB_ENC "THEN 'validation-failure'"
	"   WHEN NOT" RDB_ENC "THEN NULL"
	"   WHEN domain_dane = 2 AND tlsa_match = 0 THEN 'tlsa-invalid'"
	"   WHEN domain_dane = 2 THEN 'success'"
	"   WHEN domain_mta_sts = 1 AND cert_expired = 1 THEN 'certificate-expired'"
	"   WHEN domain_mta_sts = 1 AND cert_name_match = 0 AND lower(server_name) = mx_host"
	"    THEN 'certificate-host-mismatch'"
	"   ELSE 'success' END AS result"
	" FROM session_rows WHERE" RDB_FILTER "AND id IN (SELECT id FROM session_rows"
	"  WHERE mx_domain IS NOT NULL)"
	"  AND (:domain IS NULL OR mx_domain = :domain))"
	" WHERE ptype IS NOT NULL AND result IS NOT NULL ORDER BY mx_domain, ptype;";

static const char period_sql[] =
	"SELECT min(ts_start), max(ts_end) FROM session_rows WHERE" RDB_FILTER ";";

struct detail {
	char result[32];
	char client[64], server[64], host[TEXT_MAX];
	int64_t count;
};

/* The sessions of one domain under one policy type. */
struct policy {
	char domain[TEXT_MAX], type[24];
	int64_t success, failure;
	struct detail *details;
	size_t ndetails;
	char hosts[HOSTS_MAX][TEXT_MAX];
	size_t nhosts;
	char records[RECORDS_MAX][160];
	size_t nrecords;
};

struct run {
	FILE *out;
	const struct tlsrpt_info *info;
	char start[32], end[32];
	struct policy pol[3];   /* of the domain being read */
	size_t npol;
	char domain[TEXT_MAX];
	int oom;
};

static const char *text(struct rq_stmt *s, int i)
{
	const char *t = rq_text(s, i);
	return t ? t : "";
}

/* ---- gathering ------------------------------------------------------------ */

static void add_unique(char (*list)[TEXT_MAX], size_t *n, size_t cap, const char *v)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(list[i], v))
			return;
	if (*n < cap && v[0])
		snprintf(list[(*n)++], TEXT_MAX, "%s", v);
}

/* "3 1 1 HEX, 2 0 1 HEX" into the policy's distinct records. */
static void add_records(struct policy *p, const char *list)
{
	while (*list) {
		size_t len = strcspn(list, ",");
		int dup = 0;
		char rr[160];
		snprintf(rr, sizeof rr, "%.*s", (int)len, list);
		for (size_t i = 0; i < p->nrecords; i++)
			dup |= !strcmp(p->records[i], rr);
		if (!dup && p->nrecords < RECORDS_MAX && rr[0])
			strcpy(p->records[p->nrecords++], rr);
		list += len;
		while (*list == ',' || *list == ' ')
			list++;
	}
}

static struct detail *find_detail(struct policy *p, const char *result, const char *client,
				  const char *server, const char *host)
{
	for (size_t i = 0; i < p->ndetails; i++) {
		struct detail *d = &p->details[i];
		if (!strcmp(d->result, result) && !strcmp(d->client, client) &&
		    !strcmp(d->server, server) && !strcmp(d->host, host))
			return d;
	}
	return NULL;
}

/* A failed session into its detail; beyond DETAILS_MAX details, into one
 * per result type without addresses. */
static int add_failure(struct policy *p, const char *result, const char *client,
		       const char *server, const char *host)
{
	struct detail *d;
	if (p->ndetails >= DETAILS_MAX)
		client = server = host = "";
	if ((d = find_detail(p, result, client, server, host)) != NULL) {
		d->count++;
		return 0;
	}
	if (p->ndetails % 16 == 0) {
		struct detail *n = realloc(p->details, (p->ndetails + 16) * sizeof *n);
		if (!n)
			return -1;
		p->details = n;
	}
	d = &p->details[p->ndetails++];
	memset(d, 0, sizeof *d);
	snprintf(d->result, sizeof d->result, "%s", result);
	snprintf(d->client, sizeof d->client, "%s", client);
	snprintf(d->server, sizeof d->server, "%s", server);
	snprintf(d->host, sizeof d->host, "%s", host);
	d->count = 1;
	return 0;
}

/* ---- writing ----------------------------------------------------------------- */

static void write_strings(FILE *out, const char *key, char (*list)[TEXT_MAX], size_t n)
{
	fprintf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		esc_json(out, list[i]);
	}
	fputc(']', out);
}

static void write_detail(FILE *out, const struct detail *d)
{
	fputs("{\"result-type\":", out);
	esc_json(out, d->result);
	if (d->client[0]) {
		fputs(",\"sending-mta-ip\":", out);
		esc_json(out, d->client);
		fputs(",\"receiving-mx-hostname\":", out);
		esc_json(out, d->host);
		fputs(",\"receiving-ip\":", out);
		esc_json(out, d->server);
	}
	fprintf(out, ",\"failed-session-count\":%lld}", (long long)d->count);
}

static void write_policy(FILE *out, struct policy *p)
{
	char records[RECORDS_MAX][TEXT_MAX];
	fputs("{\"policy\":{\"policy-type\":", out);
	esc_json(out, p->type);
	for (size_t i = 0; i < p->nrecords; i++)
		snprintf(records[i], TEXT_MAX, "%s", p->records[i]);
	if (p->nrecords)
		write_strings(out, "policy-string", records, p->nrecords);
	fputs(",\"policy-domain\":", out);
	esc_json(out, p->domain);
	if (!strcmp(p->type, "tlsa") && p->nhosts)
		write_strings(out, "mx-host", p->hosts, p->nhosts);
	fprintf(out, "},\"summary\":{\"total-successful-session-count\":%lld,"
		"\"total-failure-session-count\":%lld},\"failure-details\":[",
		(long long)p->success, (long long)p->failure);
	for (size_t i = 0; i < p->ndetails; i++) {
		if (i)
			fputc(',', out);
		write_detail(out, &p->details[i]);
	}
	fputs("]}", out);
}

/* The report of the domain gathered so far (unless the run failed), then
 * a clean slate. */
static void flush_domain(struct run *r)
{
	FILE *out = r->out;
	char id[TEXT_MAX + 64];
	if (r->npol > 0 && !r->oom) {
		fputs("{\"organization-name\":", out);
		esc_json(out, r->info->organization);
		fputs(",\"date-range\":{\"start-datetime\":", out);
		esc_json(out, r->start);
		fputs(",\"end-datetime\":", out);
		esc_json(out, r->end);
		fputs("},\"contact-info\":", out);
		esc_json(out, r->info->contact);
		snprintf(id, sizeof id, "%s_%s_smtptls", r->start, r->domain);
		fputs(",\"report-id\":", out);
		esc_json(out, id);
		fputs(",\"policies\":[", out);
		for (size_t i = 0; i < r->npol; i++) {
			if (i)
				fputc(',', out);
			write_policy(out, &r->pol[i]);
		}
		fputs("]}\n", out);
	}
	for (size_t i = 0; i < r->npol; i++)
		free(r->pol[i].details);
	memset(r->pol, 0, sizeof r->pol);
	r->npol = 0;
}

static struct policy *policy_of(struct run *r, const char *domain, const char *type)
{
	struct policy *p;
	if (strcmp(r->domain, domain) != 0) {
		flush_domain(r);
		snprintf(r->domain, sizeof r->domain, "%s", domain);
	}
	for (size_t i = 0; i < r->npol; i++)
		if (!strcmp(r->pol[i].type, type))
			return &r->pol[i];
	if (r->npol == 3)
		return NULL; /* three types at most */
	p = &r->pol[r->npol++];
	snprintf(p->domain, sizeof p->domain, "%s", domain);
	snprintf(p->type, sizeof p->type, "%s", type);
	return p;
}

static int add_session(void *arg, struct rq_stmt *s)
{
	struct run *r = arg;
	struct policy *p = policy_of(r, text(s, 0), text(s, 1));
	const char *result = text(s, 2);
	if (!p)
		return 0;
	add_unique(p->hosts, &p->nhosts, HOSTS_MAX, text(s, 5));
	if (!strcmp(p->type, "tlsa"))
		add_records(p, text(s, 6));
	if (!strcmp(result, "success")) {
		p->success++;
		return 0;
	}
	p->failure++;
	if (add_failure(p, result, text(s, 3), text(s, 4), text(s, 5)) < 0) {
		r->oom = 1;
		return -1;
	}
	return 0;
}

static int read_period(void *arg, struct rq_stmt *s)
{
	struct run *r = arg;
	rtime_iso(rq_null(s, 0) ? NAN : rq_real(s, 0),
		  r->start, sizeof r->start);
	rtime_iso(rq_null(s, 1) ? NAN : rq_real(s, 1),
		  r->end, sizeof r->end);
	return 0;
}

/* The period: the filter's bounds where given, else the sessions'. */
static int period(struct rdb *db, const struct report_filter *f, struct run *r)
{
	if (rdb_each(db, period_sql, read_period, r) < 0)
		return -1;
	if (f->since > REPORT_TIME_MIN)
		rtime_iso(f->since, r->start, sizeof r->start);
	if (f->until < REPORT_TIME_MAX)
		rtime_iso(f->until, r->end, sizeof r->end);
	return 0;
}

static int sessions(struct rdb *db, struct run *r)
{
	struct rq_stmt *s = rdb_query(db, sessions_sql);
	int rc;
	if (!s)
		return -1;
	rq_bind_text(s, ":domain", r->info->domain);
	while ((rc = rdb_step(db, s)) > 0)
		if (add_session(r, s) < 0) {
			rdb_finish(db, s);
			return rdb_oom(db);
		}
	rc = rdb_finish(db, s);
	flush_domain(r);
	return rc;
}

int tlsrpt_run(const char *path, const struct report_filter *f, const struct tlsrpt_info *info,
	       FILE *out, char *err, size_t errlen)
{
	struct rdb *db;
	struct run *r = calloc(1, sizeof *r);
	int rc;
	if (!r) {
		snprintf(err, errlen, "database '%s': out of memory", path);
		return -1;
	}
	r->out = out;
	r->info = info;
	if (rdb_open(&db, path, f, err, errlen) < 0) {
		free(r);
		return -1;
	}
	/* one read transaction: the period and the sessions of one snapshot */
	rc = rdb_begin(db, RDB_ROWS) < 0 || period(db, f, r) < 0 || sessions(db, r) < 0 ? -1 : 0;
	rdb_end(db);
	if (rc < 0) {
		snprintf(err, errlen, "%s", rdb_error(db));
		r->oom = 1; /* nothing more is written */
	}
	flush_domain(r); /* frees what an error left */
	rdb_close(db);
	free(r);
	if (rc == 0 && ferror(out)) {
		snprintf(err, errlen, "database '%s': cannot write the report", path);
		return -1;
	}
	return rc;
}
