#include "report.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/record.h"

/* The category of a session, as SQL: encrypted means a ServerHello was
 * seen (tls_version known); unknown sessions are kept apart. */
#define CATEGORY_SQL                                                   \
	"CASE WHEN tls_version IS NOT NULL THEN 'encrypted'"           \
	" WHEN transport = 'unknown' THEN 'unknown'"                   \
	" WHEN transport = 'plaintext' THEN 'plaintext'"               \
	" WHEN transport = 'starttls' THEN 'starttls_without_tls'"     \
	" ELSE 'tls_without_handshake' END"

#define KNOWN_SQL "NOT (tls_version IS NULL AND transport = 'unknown')"

struct report {
	sqlite3 *db;
	FILE *out;
	const char *path;
	char *err;
	size_t errlen;
};

static int fail(struct report *r, const char *what)
{
	snprintf(r->err, r->errlen, "database '%s': %s: %s", r->path, what,
		 r->db ? sqlite3_errmsg(r->db) : "cannot allocate");
	return -1;
}

/* Runs a query and hands each row to fn; returns 0 or -1. */
static int each_row(struct report *r, const char *sql,
		    void (*fn)(struct report *r, sqlite3_stmt *s, void *arg), void *arg)
{
	sqlite3_stmt *s;
	int rc;
	if (sqlite3_prepare_v2(r->db, sql, -1, &s, NULL) != SQLITE_OK)
		return fail(r, "querying");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn(r, s, arg);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(r, "querying");
}

static void one_int(struct report *r, sqlite3_stmt *s, void *arg)
{
	(void)r;
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
}

static int64_t scalar(struct report *r, const char *sql, int *rc)
{
	int64_t v = 0;
	if (each_row(r, sql, one_int, &v) < 0)
		*rc = -1;
	return v;
}

static double pct(int64_t part, int64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---- sections ------------------------------------------------------------- */

struct categories {
	int64_t encrypted, plaintext, starttls_without_tls, tls_without_handshake, unknown;
};

static void add_category(struct report *r, sqlite3_stmt *s, void *arg)
{
	struct categories *c = arg;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	int64_t n = sqlite3_column_int64(s, 1);
	(void)r;
	if (!name)
		return;
	if (!strcmp(name, "encrypted"))
		c->encrypted = n;
	else if (!strcmp(name, "plaintext"))
		c->plaintext = n;
	else if (!strcmp(name, "starttls_without_tls"))
		c->starttls_without_tls = n;
	else if (!strcmp(name, "tls_without_handshake"))
		c->tls_without_handshake = n;
	else
		c->unknown = n;
}

static int section_share(struct report *r)
{
	struct categories c = {0, 0, 0, 0, 0};
	if (each_row(r, "SELECT " CATEGORY_SQL " AS cat, count(*) FROM sessions GROUP BY cat;",
		     add_category, &c) < 0)
		return -1;
	int64_t known = c.encrypted + c.plaintext + c.starttls_without_tls + c.tls_without_handshake;
	int64_t clear = known - c.encrypted;
	fprintf(r->out, "Sessions %27lld\n", (long long)(known + c.unknown));
	fprintf(r->out, "  unknown (neither SMTP nor a TLS hello) %lld, not counted below\n\n",
		(long long)c.unknown);
	fprintf(r->out, "Encryption, of %lld sessions with SMTP or TLS seen\n", (long long)known);
	fprintf(r->out, "  encrypted (TLS handshake seen) %6lld  %5.1f%%\n",
		(long long)c.encrypted, pct(c.encrypted, known));
	fprintf(r->out, "  not encrypted %23lld  %5.1f%%\n", (long long)clear, pct(clear, known));
	fprintf(r->out, "    plaintext SMTP %20lld\n", (long long)c.plaintext);
	fprintf(r->out, "    STARTTLS accepted, no TLS seen %4lld  (flagged no_tls_after_220)\n",
		(long long)c.starttls_without_tls);
	fprintf(r->out, "    TLS without a ServerHello %9lld\n\n",
		(long long)c.tls_without_handshake);
	return 0;
}

static void port_row(struct report *r, sqlite3_stmt *s, void *arg)
{
	int64_t n = sqlite3_column_int64(s, 1), enc = sqlite3_column_int64(s, 2);
	(void)arg;
	fprintf(r->out, "  %-6d %10lld  %8lld %5.1f%%  %8lld %5.1f%%\n", sqlite3_column_int(s, 0),
		(long long)n, (long long)enc, pct(enc, n), (long long)(n - enc), pct(n - enc, n));
}

static int section_ports(struct report *r)
{
	fprintf(r->out, "By server port  sessions   encrypted       not encrypted\n");
	int rc = each_row(r,
			  "SELECT server_port, count(*), sum(tls_version IS NOT NULL)"
			  " FROM sessions WHERE " KNOWN_SQL
			  " GROUP BY server_port ORDER BY server_port;",
			  port_row, NULL);
	fputc('\n', r->out);
	return rc;
}

static void code_row(struct report *r, sqlite3_stmt *s, void *arg)
{
	(void)arg;
	fprintf(r->out, "      reply %d: %lld\n", sqlite3_column_int(s, 0),
		(long long)sqlite3_column_int64(s, 1));
}

static int section_smtp(struct report *r)
{
	int rc = 0;
	int64_t offered = scalar(r, "SELECT count(*) FROM sessions WHERE starttls_offered = 1"
				    " AND starttls_sent = 0;", &rc);
	int64_t refused = scalar(r, "SELECT count(*) FROM sessions WHERE starttls_reply >= 400;",
				 &rc);
	int64_t auth = scalar(r, "SELECT count(*) FROM sessions WHERE cleartext_auth = 1;", &rc);
	int64_t mail = scalar(r, "SELECT total(plaintext_transactions) FROM sessions;", &rc);
	int64_t mail_s = scalar(r, "SELECT count(*) FROM sessions WHERE plaintext_transactions > 0;",
				&rc);
	fprintf(r->out, "SMTP\n");
	fprintf(r->out, "  STARTTLS offered but not used %6lld sessions\n", (long long)offered);
	fprintf(r->out, "  STARTTLS refused %19lld sessions\n", (long long)refused);
	if (rc == 0 && refused > 0)
		rc = each_row(r, "SELECT starttls_reply, count(*) FROM sessions WHERE"
				 " starttls_reply >= 400 GROUP BY 1 ORDER BY 2 DESC, 1;",
			      code_row, NULL);
	fprintf(r->out, "  AUTH sent in clear %17lld sessions\n", (long long)auth);
	fprintf(r->out, "  MAIL transactions in clear %9lld in %lld sessions\n\n", (long long)mail,
		(long long)mail_s);
	return rc;
}

static void share_row(struct report *r, sqlite3_stmt *s, void *arg)
{
	const int64_t *total = arg;
	const char *name = (const char *)sqlite3_column_text(s, 0);
	int64_t n = sqlite3_column_int64(s, 1);
	fprintf(r->out, "  %-44s %7lld  %5.1f%%\n", name ? name : "(unknown)", (long long)n,
		pct(n, *total));
}

static int section_tls(struct report *r)
{
	int rc = 0;
	int64_t total = scalar(r, "SELECT count(*) FROM sessions WHERE tls_version IS NOT NULL;",
			       &rc);
	fprintf(r->out, "TLS versions, of %lld encrypted sessions\n", (long long)total);
	if (rc == 0)
		rc = each_row(r, "SELECT tls_version, count(*) FROM sessions WHERE tls_version"
				 " IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1;",
			      share_row, &total);
	fprintf(r->out, "\nTop cipher suites\n");
	if (rc == 0)
		rc = each_row(r, "SELECT coalesce(cipher_name, printf('0x%04X', cipher_suite)),"
				 " count(*) FROM sessions WHERE tls_version IS NOT NULL"
				 " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10;",
			      share_row, &total);
	fputc('\n', r->out);
	return rc;
}

static void count_anomalies(struct report *r, sqlite3_stmt *s, void *arg)
{
	int64_t *counts = arg;
	const char *list = (const char *)sqlite3_column_text(s, 0);
	(void)r;
	while (list && *list) {
		size_t n = strcspn(list, ",");
		uint32_t bit = anomaly_from_name(list, n);
		for (unsigned i = 0; i < ANOM_COUNT; i++)
			if (bit == (1u << i))
				counts[i]++;
		list += n + (list[n] == ',');
	}
}

static int section_anomalies(struct report *r)
{
	int64_t counts[ANOM_COUNT] = {0};
	int rc = each_row(r, "SELECT anomalies FROM sessions WHERE anomalies IS NOT NULL;",
			  count_anomalies, counts);
	fprintf(r->out, "Sessions with anomalies\n");
	for (unsigned i = 0; i < ANOM_COUNT; i++)
		if (counts[i])
			fprintf(r->out, "  %-30s %7lld\n", anomaly_name(1u << i),
				(long long)counts[i]);
	return rc;
}

int report_text(const char *path, FILE *out, char *err, size_t errlen)
{
	struct report r = {NULL, out, path, err, errlen};
	int rc = sqlite3_open_v2(path, &r.db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		fail(&r, "cannot open");
		sqlite3_close(r.db);
		return -1;
	}
	sqlite3_busy_timeout(r.db, 5000);
	fprintf(out, "smtptls report: %s\n\n", path);
	rc = section_share(&r);
	if (rc == 0)
		rc = section_ports(&r);
	if (rc == 0)
		rc = section_smtp(&r);
	if (rc == 0)
		rc = section_tls(&r);
	if (rc == 0)
		rc = section_anomalies(&r);
	sqlite3_close(r.db);
	return rc;
}
