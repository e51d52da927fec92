/* The ClickHouse tables and their rows (chschema.h). */
#include "chschema.h"

#include <stdio.h>
#include <string.h>

#include "../common/registry.h"

/* How a column's value comes out of a row: the SQLite writer's rules
 * (writer.c: -1 and "" are NULL) and the sessions view's lookups. */
enum kind {
	K_ID, K_RUN, K_SENSOR, K_WRITER, K_SEQ,
	K_TEXT, K_INT, K_CODE, K_TLS_FLAG, K_U16, K_U32, K_U64, K_REAL,
	K_TRANSPORT, K_VERSION, K_CIPHER, K_GROUP, K_GROUP_PQ, K_END, K_ANOMALIES,
	K_ALERT, K_DIRECTION, K_OUTCOME, K_OUTCOME_CODE, K_DANE,
	K_CERT_TEXT, K_CERT_I64, K_CERT_INT,
};

struct column {
	const char *name, *type;
	enum kind kind;
	size_t off;
};

#define S(f) offsetof(struct session_record, f)
#define CT(f) offsetof(struct rec_cert, f)
#define NI "Nullable(Int64)"
#define NS "Nullable(String)"

/* The sessions view's columns (store/schema.sql), in its order, then
 * sensor, the codes behind its names, and the row's identity. */
static const struct column session_columns[] = {
	{"id", "Int64", K_ID, 0}, {"run_id", "Int64", K_RUN, 0},
	{"client_ip", "String", K_TEXT, S(client_ip)}, {"client_port", "Int64", K_U16, S(client_port)},
	{"server_ip", "String", K_TEXT, S(server_ip)}, {"server_port", "Int64", K_U16, S(server_port)},
	{"ts_start", "Float64", K_REAL, S(ts_start)}, {"ts_end", "Float64", K_REAL, S(ts_end)},
	{"transport", NS, K_TRANSPORT, S(transport)},
	{"starttls_offered", NI, K_INT, S(starttls_offered)},
	{"starttls_sent", NI, K_INT, S(starttls_sent)},
	{"starttls_reply", NI, K_INT, S(starttls_reply)},
	{"tls_version", NS, K_VERSION, S(tls_version)},
	{"tls_version_code", NI, K_INT, S(tls_version)},
	{"cipher_suite", NI, K_INT, S(cipher_suite)}, {"cipher_name", NS, K_CIPHER, S(cipher_suite)},
	{"kx_group", NS, K_GROUP, S(kx_group)}, {"kx_group_code", NI, K_INT, S(kx_group)},
	{"sni", NS, K_TEXT, S(sni)}, {"alpn", NS, K_TEXT, S(alpn)},
	{"alpn_offered", NS, K_TEXT, S(alpn_offered)}, {"client_hello", NI, K_INT, S(client_hello)},
	{"client_max_version", NS, K_VERSION, S(client_version_max)},
	{"hello_retry", NI, K_TLS_FLAG, S(hello_retry)}, {"resumed", NI, K_TLS_FLAG, S(resumed)},
	{"tls_established", NI, K_TLS_FLAG, S(tls_established)},
	{"tls_alert", NI, K_INT, S(tls_alert)},
	{"plaintext_transactions", NI, K_INT, S(plaintext_transactions)},
	{"plaintext_rcpts", NI, K_INT, S(plaintext_rcpts)},
	{"cleartext_auth", NI, K_INT, S(cleartext_auth)},
	{"auth_mechanism", NS, K_TEXT, S(auth_mechanism)},
	{"server_name", NS, K_TEXT, S(server_name)}, {"ehlo_name", NS, K_TEXT, S(ehlo_name)},
	{"ehlo_keywords", NS, K_TEXT, S(ehlo_keywords)}, {"packets", "Int64", K_U64, S(packets)},
	{"bytes_c2s", "Int64", K_U64, S(bytes_c2s)}, {"bytes_s2c", "Int64", K_U64, S(bytes_s2c)},
	{"end_reason", NS, K_END, S(end_reason)}, {"anomalies", NS, K_ANOMALIES, S(anomalies)},
	{"tls_alert_name", NS, K_ALERT, S(tls_alert)},
	{"tls_alert_from", NS, K_DIRECTION, S(tls_alert_from)},
	{"tls_outcome", NS, K_OUTCOME, S(tls_outcome)}, {"kx_pq", NI, K_GROUP_PQ, S(kx_group)},
	{"kx_dh_bits", NI, K_INT, S(kx_dh_bits)}, {"forward_secrecy", NI, K_INT, S(forward_secrecy)},
	{"aead", NI, K_INT, S(aead)}, {"weak_cipher", NI, K_INT, S(weak_cipher)},
	{"sslv2_hello", NI, K_TLS_FLAG, S(sslv2_hello)},
	{"client_offered_tls13", NI, K_INT, S(client_offered_tls13)},
	{"client_suites", NI, K_INT, S(client_suites)},
	{"client_offered_weak", NI, K_INT, S(client_offered_weak)},
	{"server_chose_weak", NI, K_INT, S(server_chose_weak)},
	{"server_declined_fs", NI, K_INT, S(server_declined_fs)},
	{"ja3", NS, K_TEXT, S(ja3)}, {"ja3s", NS, K_TEXT, S(ja3s)}, {"ja4", NS, K_TEXT, S(ja4)},
	{"cert_subject_cn", NS, K_CERT_TEXT, CT(subject_cn)},
	{"cert_sans", NS, K_CERT_TEXT, CT(sans)},
	{"cert_issuer_cn", NS, K_CERT_TEXT, CT(issuer_cn)},
	{"cert_issuer_org", NS, K_CERT_TEXT, CT(issuer_org)},
	{"cert_not_before", NI, K_CERT_I64, CT(not_before)},
	{"cert_not_after", NI, K_CERT_I64, CT(not_after)},
	{"cert_key_type", NS, K_CERT_TEXT, CT(key_type)},
	{"cert_key_bits", NI, K_CERT_INT, CT(key_bits)},
	{"cert_sig_alg", NS, K_CERT_TEXT, CT(sig_alg)},
	{"cert_self_signed", NI, K_CERT_INT, CT(self_signed)},
	{"cert_expired", NI, K_INT, S(cert.expired)},
	{"cert_name_match", NI, K_INT, S(cert.name_match)},
	{"cert_sha256", NS, K_CERT_TEXT, CT(sha256)},
	{"mx_domain", NS, K_TEXT, S(mx_domain)}, {"mx_host", NS, K_TEXT, S(mx_host)},
	{"domain_mta_sts", NI, K_INT, S(domain_mta_sts)},
	{"domain_dane", NS, K_DANE, S(domain_dane)},
	{"domain_dane_code", NI, K_INT, S(domain_dane)},
	{"domain_tlsrpt", NI, K_INT, S(domain_tlsrpt)},
	{"sender_looked_up_mta_sts", NI, K_INT, S(sender_looked_up_mta_sts)},
	{"sender_looked_up_tlsa", NI, K_INT, S(sender_looked_up_tlsa)},
	{"sender_fetched_policy", NI, K_INT, S(sender_fetched_policy)},
	{"tlsa_match", NI, K_INT, S(tlsa_match)},
	{"policy_plaintext", NI, K_INT, S(policy_plaintext)},
	{"tlsa_records", NS, K_TEXT, S(tlsa_records)},
	{"sensor", "String", K_SENSOR, 0},
	{"transport_code", "Int64", K_CODE, S(transport)},
	{"client_max_version_code", NI, K_INT, S(client_version_max)},
	{"tls_alert_from_code", NI, K_INT, S(tls_alert_from)},
	{"tls_outcome_code", NI, K_OUTCOME_CODE, S(tls_outcome)},
	{"end_reason_code", "Int64", K_CODE, S(end_reason)},
	{"anomaly_bits", "Int64", K_U32, S(anomalies)},
	{"writer", "UInt64", K_WRITER, 0}, {"seq", "UInt64", K_SEQ, 0},
};

#define R(f) offsetof(struct ch_run, f)
#define RV(i) (offsetof(struct ch_run, values) + (i) * sizeof(uint64_t))

/* The SQLite runs columns (migrations 1 and 4), sensor, and the row's
 * version. values[] in the order of runs_update (store.c). */
static const struct column run_columns[] = {
	{"id", "Int64", K_RUN, 0}, {"source", "String", K_TEXT, R(source)},
	{"source_kind", "String", K_TEXT, R(source_kind)}, {"filter", NS, K_TEXT, R(filter)},
	{"ports", NS, K_TEXT, R(ports)}, {"started", "Float64", K_REAL, R(started)},
	{"ended", "Nullable(Float64)", K_REAL, R(ended)},
	{"packets", NI, K_U64, RV(0)}, {"bytes", NI, K_U64, RV(1)},
	{"dropped_kernel", NI, K_U64, RV(2)}, {"dropped_iface", NI, K_U64, RV(3)},
	{"flows", NI, K_U64, RV(4)}, {"flows_evicted", NI, K_U64, RV(5)},
	{"flows_timed_out", NI, K_U64, RV(6)}, {"flows_without_payload", NI, K_U64, RV(7)},
	{"sessions", NI, K_U64, RV(8)}, {"decode_errors", NI, K_U64, RV(9)},
	{"truncated_packets", NI, K_U64, RV(10)}, {"non_tcp_packets", NI, K_U64, RV(11)},
	{"fragments", NI, K_U64, RV(12)}, {"reassembly_overflows", NI, K_U64, RV(13)},
	{"peak_flows", NI, K_U64, RV(14)}, {"peak_buffered", NI, K_U64, RV(15)},
	{"version", "String", K_TEXT, R(version)}, {"status", NS, K_TEXT, R(status)},
	{"owner", NS, K_TEXT, R(owner)}, {"file_size", NI, K_U64, R(file_size)},
	{"file_sha256", NS, K_TEXT, R(file_sha256)}, {"sensor", "String", K_SENSOR, 0},
	{"ver", "UInt64", K_U64, R(ver)},
};

static const struct column counter_columns[] = {
	{"run_id", "Int64", K_RUN, 0}, {"name", "String", K_TEXT, 0},
	{"value", NI, K_U64, 0}, {"sensor", "String", K_SENSOR, 0},
	{"ver", "UInt64", K_U64, 0},
};

static const struct ch_table tables[] = {
	{"sessions", "ReplacingMergeTree PARTITION BY toYYYYMM(toDateTime(toUInt32(ts_start)))"
		     " ORDER BY (sensor, writer, seq)", "cityHash64(writer, seq)"},
	{"runs", "ReplacingMergeTree(ver) ORDER BY (sensor, id)", "cityHash64(id)"},
	{"run_counters", "ReplacingMergeTree(ver) ORDER BY (sensor, run_id, name)",
	 "cityHash64(run_id)"},
};

static const struct column *columns_of(const struct ch_table *t, size_t *n)
{
	if (t == &tables[0]) {
		*n = sizeof session_columns / sizeof session_columns[0];
		return session_columns;
	}
	if (t == &tables[1]) {
		*n = sizeof run_columns / sizeof run_columns[0];
		return run_columns;
	}
	*n = sizeof counter_columns / sizeof counter_columns[0];
	return counter_columns;
}

const struct ch_table *chschema_tables(size_t *n)
{
	*n = sizeof tables / sizeof tables[0];
	return tables;
}

void chschema_create(struct tsv_buf *out, const char *db, const struct ch_table *t,
		     const char *name)
{
	size_t n;
	const struct column *c = columns_of(t, &n);
	tsv_buf_reset(out);
	tsv_puts(out, "CREATE TABLE IF NOT EXISTS ");
	tsv_puts(out, db);
	tsv_puts(out, ".");
	tsv_puts(out, name);
	for (size_t i = 0; i < n; i++) {
		tsv_puts(out, i ? ", " : " (");
		tsv_puts(out, c[i].name);
		tsv_puts(out, " ");
		tsv_puts(out, c[i].type);
	}
	tsv_puts(out, ") ENGINE = ");
	tsv_puts(out, t->engine);
}

void chschema_columns(struct tsv_buf *out, const struct ch_table *t)
{
	size_t n;
	const struct column *c = columns_of(t, &n);
	for (size_t i = 0; i < n; i++) {
		tsv_puts(out, i ? ", " : "(");
		tsv_puts(out, c[i].name);
	}
	tsv_puts(out, ")");
}

/* ---- views ---------------------------------------------------------------------- */

/* session_rows' columns (store/schema.sql) that sessions names otherwise. */
static const char *const coded[][2] = {
	{"transport", "transport_code"}, {"tls_version", "tls_version_code"},
	{"kx_group", "kx_group_code"}, {"client_max_version", "client_max_version_code"},
	{"tls_alert_from", "tls_alert_from_code"}, {"tls_outcome", "tls_outcome_code"},
	{"end_reason", "end_reason_code"}, {"anomalies", "anomaly_bits"},
	{"domain_dane", "domain_dane_code"},
};

static const char *const session_rows_cols[] = {
	"id", "run_id", "client_ip", "client_port", "server_ip", "server_port", "ts_start",
	"ts_end", "transport", "starttls_offered", "starttls_sent", "starttls_reply",
	"tls_version", "cipher_suite", "kx_group", "sni", "alpn", "alpn_offered",
	"client_hello", "client_max_version", "hello_retry", "resumed", "tls_established",
	"tls_alert", "tls_alert_from", "tls_outcome", "plaintext_transactions",
	"plaintext_rcpts", "cleartext_auth", "auth_mechanism", "server_name", "ehlo_name",
	"ehlo_keywords", "packets", "bytes_c2s", "bytes_s2c", "end_reason", "anomalies",
	"kx_dh_bits", "forward_secrecy", "aead", "weak_cipher", "sslv2_hello",
	"client_offered_tls13", "client_suites", "client_offered_weak", "server_chose_weak",
	"server_declined_fs", "ja3", "ja3s", "ja4", "cert_sha256", "cert_expired",
	"cert_name_match", "mx_domain", "mx_host", "domain_mta_sts", "domain_dane",
	"domain_tlsrpt", "sender_looked_up_mta_sts", "sender_looked_up_tlsa",
	"sender_fetched_policy", "tlsa_match", "policy_plaintext", "tlsa_records", "sensor",
};

static const char *const cert_cols[] = {
	"subject_cn", "sans", "issuer_cn", "issuer_org", "not_before", "not_after", "key_type",
	"key_bits", "sig_alg", "self_signed",
};

static void put_qualified(struct tsv_buf *out, const char *db, const char *name)
{
	tsv_puts(out, db);
	tsv_puts(out, ".");
	tsv_puts(out, name);
}

size_t chschema_nviews(void)
{
	return 4;
}

/* sessions_view: the SQLite sessions view's columns, in its order (sessions
 * up to sensor), each session once: what export reads. */
static void export_view(struct tsv_buf *out, const char *db)
{
	tsv_puts(out, "CREATE VIEW IF NOT EXISTS ");
	put_qualified(out, db, "sessions_view");
	tsv_puts(out, " AS SELECT ");
	for (size_t i = 0; i < sizeof session_columns / sizeof session_columns[0]; i++) {
		tsv_puts(out, i ? ", " : "");
		tsv_puts(out, session_columns[i].name);
		if (!strcmp(session_columns[i].name, "sensor"))
			break;
	}
	tsv_puts(out, " FROM ");
	put_qualified(out, db, "sessions");
	tsv_puts(out, " FINAL");
}

static void session_rows_view(struct tsv_buf *out, const char *db)
{
	size_t n = sizeof session_rows_cols / sizeof session_rows_cols[0];
	tsv_puts(out, "CREATE VIEW IF NOT EXISTS ");
	put_qualified(out, db, "session_rows");
	tsv_puts(out, " AS SELECT ");
	for (size_t i = 0; i < n; i++) {
		const char *src = session_rows_cols[i];
		for (size_t k = 0; k < sizeof coded / sizeof coded[0]; k++)
			if (!strcmp(coded[k][0], src))
				src = coded[k][1];
		tsv_puts(out, i ? ", " : "");
		tsv_puts(out, src);
		if (src != session_rows_cols[i]) {
			tsv_puts(out, " AS ");
			tsv_puts(out, session_rows_cols[i]);
		}
	}
	tsv_puts(out, " FROM ");
	put_qualified(out, db, "sessions");
	tsv_puts(out, " FINAL");
}

static void certificates_view(struct tsv_buf *out, const char *db)
{
	size_t n = sizeof cert_cols / sizeof cert_cols[0];
	tsv_puts(out, "CREATE VIEW IF NOT EXISTS ");
	put_qualified(out, db, "certificates");
	tsv_puts(out, " AS SELECT assumeNotNull(cert_sha256) AS sha256");
	for (size_t i = 0; i < n; i++) {
		tsv_puts(out, ", any(cert_");
		tsv_puts(out, cert_cols[i]);
		tsv_puts(out, ") AS ");
		tsv_puts(out, cert_cols[i]);
	}
	tsv_puts(out, " FROM ");
	put_qualified(out, db, "sessions");
	tsv_puts(out, " FINAL WHERE cert_sha256 IS NOT NULL GROUP BY cert_sha256");
}

void chschema_view(struct tsv_buf *out, const char *db, size_t i)
{
	tsv_buf_reset(out);
	if (i == 0) {
		session_rows_view(out, db);
	} else if (i == 1) {
		certificates_view(out, db);
	} else if (i == 3) {
		export_view(out, db);
	} else {
		tsv_puts(out, "CREATE TABLE IF NOT EXISTS ");
		put_qualified(out, db, "run_origins");
		tsv_puts(out, " (run_id Int64, origin_db String, origin_run_id Int64, merged Float64,"
			 " sessions_copied Int64, sessions_duplicate Int64, sessions_replaced Int64)"
			 " ENGINE = TinyLog");
	}
}

/* ---- values ------------------------------------------------------------------ */

static int int_at(const void *base, size_t off)
{
	int v;
	memcpy(&v, (const char *)base + off, sizeof v);
	return v;
}

/* The name of code in a registry table, NULL when it has none (the view's
 * LEFT JOIN). */
static const char *lookup(const struct reg_name *(*all)(size_t *), int code)
{
	size_t n;
	const struct reg_name *t = all(&n);
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

static const char *version_name(int code)
{
	size_t n;
	const struct tls_version_info *v = tls_versions_all(&n);
	for (size_t i = 0; i < n; i++)
		if (code >= v[i].first && code <= v[i].last)
			return v[i].name;
	return NULL;
}

static const struct tls_group_info *group_of(int code)
{
	size_t n;
	const struct tls_group_info *g = tls_groups_all(&n);
	for (size_t i = 0; i < n; i++)
		if (g[i].code == code)
			return &g[i];
	return NULL;
}

static const char *cipher_name(int code)
{
	size_t n;
	const struct cipher_info *c = cipher_table_all(&n);
	for (size_t i = 0; i < n; i++)
		if (c[i].code == code)
			return c[i].name;
	return NULL;
}

/* The names of the known bits set, in bit order, joined by ','. */
static void put_anomalies(struct tsv_buf *b, uint32_t bits)
{
	size_t n;
	const struct reg_name *t = anomalies_all(&n);
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (t[i].code < 0 || t[i].code > 31 || !((bits >> t[i].code) & 1))
			continue;
		if (!first)
			tsv_puts(b, ",");
		tsv_put_text(b, t[i].name);
		first = 0;
	}
	if (first)
		tsv_puts(b, "\\N");
}

static void put_int_or_null(struct tsv_buf *b, int v)
{
	if (v < 0)
		tsv_puts(b, "\\N");
	else
		tsv_put_int(b, v);
}

static void put_name(struct tsv_buf *b, const char *name)
{
	tsv_put_text(b, name);
}

/* A value of the session record r (K_TEXT ... K_CERT_INT). */
static void put_session_value(struct tsv_buf *b, const struct column *c,
			      const struct session_record *r)
{
	const char *base = (const char *)r + c->off;
	int v = int_at(r, c->off);
	int tls_seen = r->client_hello > 0 || r->tls_version >= 0;
	const struct tls_group_info *g;
	switch (c->kind) {
	case K_TEXT: put_name(b, *base ? base : NULL); break;
	case K_INT: put_int_or_null(b, v); break;
	case K_CODE: tsv_put_int(b, v); break;
	case K_TLS_FLAG: put_int_or_null(b, tls_seen && v >= 0 ? v != 0 : -1); break;
	case K_U16: tsv_put_uint(b, *(const uint16_t *)(const void *)base); break;
	case K_U32: tsv_put_uint(b, *(const uint32_t *)(const void *)base); break;
	case K_U64: tsv_put_uint(b, *(const uint64_t *)(const void *)base); break;
	case K_REAL: tsv_put_real(b, *(const double *)(const void *)base); break;
	case K_TRANSPORT: put_name(b, lookup(transports_all, v)); break;
	case K_VERSION: put_name(b, v < 0 ? NULL : version_name(v)); break;
	case K_CIPHER: put_name(b, v < 0 ? NULL : cipher_name(v)); break;
	case K_GROUP: put_name(b, v < 0 || !(g = group_of(v)) ? NULL : g->name); break;
	case K_GROUP_PQ: put_int_or_null(b, v < 0 || !(g = group_of(v)) ? -1 : g->pq); break;
	case K_END: put_name(b, lookup(end_reasons_all, v)); break;
	case K_ANOMALIES: put_anomalies(b, r->anomalies); break;
	case K_ALERT: put_name(b, v < 0 ? NULL : lookup(tls_alerts_all, v % 256)); break;
	case K_DIRECTION: put_name(b, v < 0 ? NULL : lookup(directions_all, v)); break;
	case K_OUTCOME: put_name(b, v ? lookup(tls_outcomes_all, v) : NULL); break;
	case K_OUTCOME_CODE: put_int_or_null(b, v ? v : -1); break;
	case K_DANE: put_name(b, v < 0 ? NULL : lookup(dane_states_all, v)); break;
	default: break;
	}
}

/* A certificate's value: NULL without one; its texts and ints as the
 * certificates table holds them. */
static void put_cert_value(struct tsv_buf *b, const struct column *c, const struct rec_cert *ct)
{
	const char *base = (const char *)ct + c->off;
	if (!ct->present) {
		tsv_puts(b, "\\N");
		return;
	}
	switch (c->kind) {
	case K_CERT_TEXT: put_name(b, *base ? base : NULL); break;
	case K_CERT_I64: tsv_put_int(b, *(const int64_t *)(const void *)base); break;
	default: put_int_or_null(b, int_at(ct, c->off)); break;
	}
}

int64_t chschema_session_id(uint64_t writer, uint64_t seq)
{
	uint64_t z = writer ^ (seq * 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64's finaliser */
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (int64_t)(z >> 1);
}

static void put_common(struct tsv_buf *b, const struct column *c, const struct ch_row *row)
{
	switch (c->kind) {
	case K_ID: tsv_put_int(b, chschema_session_id(row->writer, row->seq)); break;
	case K_RUN: tsv_put_int(b, row->run_id); break;
	case K_SENSOR: tsv_put_text(b, row->sensor); break;
	case K_WRITER: tsv_put_uint(b, row->writer); break;
	case K_SEQ: tsv_put_uint(b, row->seq); break;
	default: break;
	}
}

static int is_common(enum kind k)
{
	return k <= K_SEQ;
}

static void put_session(struct tsv_buf *b, const struct ch_row *row)
{
	size_t n = sizeof session_columns / sizeof session_columns[0];
	for (size_t i = 0; i < n; i++) {
		const struct column *c = &session_columns[i];
		if (i)
			tsv_puts(b, "\t");
		if (is_common(c->kind))
			put_common(b, c, row);
		else if (c->kind >= K_CERT_TEXT)
			put_cert_value(b, c, &row->u.s.cert);
		else
			put_session_value(b, c, &row->u.s);
	}
	tsv_puts(b, "\n");
}

static void put_run(struct tsv_buf *b, const struct ch_row *row)
{
	const struct ch_run *r = &row->u.run;
	size_t n = sizeof run_columns / sizeof run_columns[0];
	for (size_t i = 0; i < n; i++) {
		const struct column *c = &run_columns[i];
		const char *base = (const char *)r + c->off;
		uint64_t u;
		if (i)
			tsv_puts(b, "\t");
		if (is_common(c->kind)) {
			put_common(b, c, row);
		} else if (c->kind == K_TEXT) {
			put_name(b, *base || c->off == R(source) || c->off == R(version) ? base : NULL);
		} else if (c->kind == K_REAL) {
			double d = *(const double *)(const void *)base;
			if (d < 0)
				tsv_puts(b, "\\N");
			else
				tsv_put_real(b, d);
		} else {
			memcpy(&u, base, sizeof u);
			if (u == UINT64_MAX || (c->off == R(file_size) && !r->has_file))
				tsv_puts(b, "\\N");
			else
				tsv_put_uint(b, u);
		}
	}
	tsv_puts(b, "\n");
}

static void put_counters(struct tsv_buf *b, const struct ch_row *row)
{
	const struct ch_counters *c = &row->u.counters;
	for (uint32_t i = 0; i < c->n && i < CH_COUNTERS_PER_ROW; i++) {
		tsv_put_int(b, row->run_id);
		tsv_puts(b, "\t");
		tsv_put_text(b, c->c[i].name);
		tsv_puts(b, "\t");
		if (c->c[i].value == UINT64_MAX)
			tsv_puts(b, "\\N");
		else
			tsv_put_uint(b, c->c[i].value);
		tsv_puts(b, "\t");
		tsv_put_text(b, row->sensor);
		tsv_puts(b, "\t");
		tsv_put_uint(b, c->ver);
		tsv_puts(b, "\n");
	}
}

void chschema_put_row(struct tsv_buf *b, const struct ch_row *row)
{
	if (row->kind == CH_KIND_SESSION)
		put_session(b, row);
	else if (row->kind == CH_KIND_RUN)
		put_run(b, row);
	else if (row->kind == CH_KIND_COUNTERS)
		put_counters(b, row);
}
