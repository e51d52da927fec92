/* The headline: encrypted share of sessions (TLS completed) and of bytes,
 * and the sessions that attempted TLS, overall and per server port (relay
 * 25, submission 587 and 465); why the rest was not encrypted; the mail
 * transactions seen in clear. The definitions are rdb.h's. */
#include <stdlib.h>
#include <string.h>

#include "facts.h"

#define MAX_PORT_ROWS 65536

struct port_row {
	int port; /* -1: all ports, -2: submission 587+465 */
	int64_t known, enc, bytes, enc_bytes, unknown;
	int64_t mail, rcpts, mail_sessions, attempted, seen;
};

struct port_rows {
	struct port_row *rows;
	size_t n, cap;
};

static const struct rcol encryption_cols[] = {
	{"scope", "port", 0},
	{"port", "port", RCOL_NOTEXT | RCOL_KEY},
	{"role", "", RCOL_SPARE},
	{"sessions", "sessions", RCOL_NUM},
	{"encrypted", "encrypted", RCOL_NUM},
	{"encrypted_pct", "%", RCOL_PCT},
	{"not_encrypted", "not encrypted", RCOL_NUM | RCOL_NOTEXT},
	{"not_encrypted_pct", "%", RCOL_PCT | RCOL_NOTEXT},
	{"bytes", "bytes", RCOL_NUM | RCOL_BYTES},
	{"encrypted_bytes", "enc. bytes", RCOL_NUM | RCOL_BYTES},
	{"encrypted_bytes_pct", "%", RCOL_PCT},
	{"unknown", "unknown", RCOL_NUM | RCOL_NOTEXT},
	{"tls_attempted", "TLS attempted", RCOL_NUM | RCOL_NOTEXT},
	{"tls_attempted_pct", "%", RCOL_PCT | RCOL_NOTEXT},
};

static const struct rcol mail_cols[] = {
	{"scope", "port", 0},
	{"port", "port", RCOL_NOTEXT | RCOL_KEY},
	{"role", "", RCOL_SPARE},
	{"transactions", "MAIL", RCOL_NUM},
	{"recipients", "RCPT", RCOL_NUM},
	{"sessions", "sessions", RCOL_NUM},
	{"of", "of", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

static const char port_sql[] =
	"SELECT server_port," RDB_N(RDB_KNOWN) "," RDB_N(RDB_ENC) ","
	RDB_SUM("bytes", RDB_KNOWN) "," RDB_SUM("bytes", RDB_ENC) "," RDB_N("NOT" RDB_KNOWN) ","
	" sum(mail), sum(rcpts), sum(mail_sessions)," RDB_N(RDB_ATTEMPTED) "," RDB_N(RDB_SEEN)
	" FROM {{src:codes}} GROUP BY server_port ORDER BY server_port";

static int add_port(void *arg, struct rq_stmt *s)
{
	struct port_rows *pr = arg;
	if (pr->n == pr->cap) {
		size_t cap = pr->cap ? pr->cap * 2 : 8;
		struct port_row *r = cap <= MAX_PORT_ROWS ? realloc(pr->rows, cap * sizeof *r) : NULL;
		if (!r)
			return -1;
		pr->rows = r;
		pr->cap = cap;
	}
	struct port_row *r = &pr->rows[pr->n++];
	r->port = (int)rq_int(s, 0);
	r->known = rq_int(s, 1);
	r->enc = rq_int(s, 2);
	r->bytes = rq_int(s, 3);
	r->enc_bytes = rq_int(s, 4);
	r->unknown = rq_int(s, 5);
	r->mail = rq_int(s, 6);
	r->rcpts = rq_int(s, 7);
	r->mail_sessions = rq_int(s, 8);
	r->attempted = rq_int(s, 9);
	r->seen = rq_int(s, 10);
	return 0;
}

static void sum_into(struct port_row *dst, const struct port_row *src)
{
	dst->known += src->known;
	dst->enc += src->enc;
	dst->bytes += src->bytes;
	dst->enc_bytes += src->enc_bytes;
	dst->unknown += src->unknown;
	dst->mail += src->mail;
	dst->rcpts += src->rcpts;
	dst->mail_sessions += src->mail_sessions;
	dst->attempted += src->attempted;
	dst->seen += src->seen;
}

static const char *port_role(int port)
{
	switch (port) {
	case -1: return "";
	case 25: return "relay";
	case 465: case 587: case -2: return "submission";
	default: return "other";
	}
}

/* Writes scope and role; 0 or -1. */
static int scope_cells(struct rtable *t, long row, int port)
{
	char scope[16];
	if (port == -1)
		snprintf(scope, sizeof scope, "all");
	else if (port == -2)
		snprintf(scope, sizeof scope, "587+465");
	else
		snprintf(scope, sizeof scope, "%d", port);
	if (port > 0)
		rtable_int(t, row, "port", port);
	if (rtable_text(t, row, "scope", scope) < 0 ||
	    rtable_text(t, row, "role", port_role(port)) < 0)
		return -1;
	return 0;
}

static int encryption_row(struct rtable *t, const struct port_row *r)
{
	long row = rtable_row(t);
	if (row < 0 || scope_cells(t, row, r->port) < 0)
		return -1;
	rtable_int(t, row, "sessions", r->known);
	rtable_int(t, row, "encrypted", r->enc);
	rtable_pct(t, row, "encrypted_pct", r->enc, r->known);
	rtable_int(t, row, "not_encrypted", r->known - r->enc);
	rtable_pct(t, row, "not_encrypted_pct", r->known - r->enc, r->known);
	rtable_int(t, row, "bytes", r->bytes);
	rtable_int(t, row, "encrypted_bytes", r->enc_bytes);
	rtable_pct(t, row, "encrypted_bytes_pct", r->enc_bytes, r->bytes);
	rtable_int(t, row, "unknown", r->unknown);
	rtable_int(t, row, "tls_attempted", r->attempted);
	rtable_pct(t, row, "tls_attempted_pct", r->attempted, r->known);
	return 0;
}

static int mail_row(struct rtable *t, const struct port_row *r)
{
	long row = rtable_row(t);
	if (row < 0 || scope_cells(t, row, r->port) < 0)
		return -1;
	rtable_int(t, row, "transactions", r->mail);
	rtable_int(t, row, "recipients", r->rcpts);
	rtable_int(t, row, "sessions", r->mail_sessions);
	rtable_int(t, row, "of", r->seen);
	rtable_pct(t, row, "sessions_pct", r->mail_sessions, r->seen);
	return 0;
}

/* Rows in order: all ports, each port, then 587+465 when both carry
 * sessions. */
static int emit_rows(struct rtable *t, const struct port_rows *pr,
		     int (*emit)(struct rtable *, const struct port_row *))
{
	struct port_row all = {.port = -1};
	struct port_row sub = {.port = -2};
	int sub_ports = 0;
	for (size_t i = 0; i < pr->n; i++) {
		sum_into(&all, &pr->rows[i]);
		if (pr->rows[i].port == 465 || pr->rows[i].port == 587) {
			sum_into(&sub, &pr->rows[i]);
			sub_ports += pr->rows[i].known + pr->rows[i].unknown > 0;
		}
	}
	if (emit(t, &all) < 0)
		return -1;
	for (size_t i = 0; i < pr->n; i++)
		if (emit(t, &pr->rows[i]) < 0)
			return -1;
	return sub_ports == 2 ? emit(t, &sub) : 0;
}

static int build_encryption(struct rdb *db, struct rmodel *m, const struct port_rows *pr)
{
	struct rtable *t = facts_table(db, m, "encryption", encryption_cols,
				       NCOLS(encryption_cols));
	if (!t ||
	    rtable_title(t, "Encrypted share, by server port (25 relay; 587, 465 submission)") < 0 ||
	    rtable_note(t, "of %lld known sessions; encrypted: the TLS handshake completed;"
			   " TLS attempted: a TLS hello seen or STARTTLS accepted; unknown (apart):"
			   " neither SMTP nor TLS recognised, or the end of the handshake not"
			   " captured; bytes: TCP payload, both directions",
			(long long)m->meta.known) < 0 ||
	    emit_rows(t, pr, encryption_row) < 0)
		return t ? rdb_oom(db) : -1;
	return 0;
}

static int build_mail(struct rdb *db, struct rmodel *m, const struct port_rows *pr)
{
	struct rtable *t = facts_table(db, m, "clear_mail", mail_cols, NCOLS(mail_cols));
	if (!t || rtable_title(t, "Mail transactions seen in clear (MAIL and RCPT before any TLS)") < 0 ||
	    rtable_note(t, "sessions: those carrying MAIL in clear, of the sessions with SMTP"
			   " or TLS seen; mail inside TLS cannot be counted") < 0 ||
	    emit_rows(t, pr, mail_row) < 0)
		return t ? rdb_oom(db) : -1;
	return 0;
}

/* ---- why the rest was not encrypted -------------------------------------- */

static const struct rcol reason_cols[] = {
	{"reason", "", RCOL_NOTEXT | RCOL_KEY},
	{"what", "", 0},
	{"sessions", "sessions", RCOL_NUM},
	{"sessions_pct", "%", RCOL_PCT},
};

static const struct {
	const char *key, *what;
} reasons[] = {
	{"not_offered", "plaintext: STARTTLS not offered"},
	{"offered_not_used", "plaintext: STARTTLS offered, not used"},
	{"starttls_refused", "plaintext: STARTTLS refused"},
	{"starttls_unanswered", "plaintext: STARTTLS sent, no reply seen"},
	{"no_ehlo_reply", "plaintext: no EHLO reply seen"},
	{"starttls_no_tls", "STARTTLS accepted, no TLS followed"},
	{"tls_no_server_hello", "TLS started, no ServerHello"},
	{"tls_failed", "TLS failed: a ServerHello, then an alert or a reset"},
};
#define NREASONS (sizeof reasons / sizeof reasons[0])

static const char reason_sql[] =
	"SELECT CASE"
	" WHEN tls_outcome = " RDB_O_FAILED " THEN 'tls_failed'"
	" WHEN transport = " RDB_T_IMPLICIT " THEN 'tls_no_server_hello'"
	" WHEN transport = " RDB_T_STARTTLS " AND client_hello = 1 THEN 'tls_no_server_hello'"
	" WHEN transport = " RDB_T_STARTTLS " THEN 'starttls_no_tls'"
	" WHEN starttls_sent = 1 AND starttls_reply IS NULL THEN 'starttls_unanswered'"
	" WHEN starttls_sent = 1 THEN 'starttls_refused'"
	" WHEN starttls_offered = 1 THEN 'offered_not_used'"
	" WHEN starttls_offered = 0 THEN 'not_offered'"
	" ELSE 'no_ehlo_reply' END AS reason, sum(n)"
	" FROM {{src:codes}} WHERE" RDB_CLEAR "GROUP BY reason";

static int add_reason(void *arg, struct rq_stmt *s)
{
	int64_t *counts = arg;
	const char *key = rq_text(s, 0);
	for (size_t i = 0; key && i < NREASONS; i++)
		if (!strcmp(key, reasons[i].key))
			counts[i] = rq_int(s, 1);
	return 0;
}

static int build_reasons(struct rdb *db, struct rmodel *m)
{
	int64_t counts[NREASONS] = {0}, clear = m->meta.known - m->meta.encrypted;
	struct rtable *t = facts_table(db, m, "not_encrypted", reason_cols, NCOLS(reason_cols));
	if (!t || rdb_each(db, reason_sql, add_reason, counts) < 0)
		return -1;
	if (rtable_title(t, "Not encrypted: %lld sessions, by reason", (long long)clear) < 0 ||
	    rtable_note(t, "of %lld known sessions (unknown ones apart)", (long long)m->meta.known) < 0)
		return rdb_oom(db);
	for (size_t i = 0; i < NREASONS; i++) {
		long row = rtable_counted(t, "reason", reasons[i].key, counts[i], m->meta.known);
		if (row < 0 || rtable_text(t, row, "what", reasons[i].what) < 0)
			return rdb_oom(db);
	}
	return 0;
}

int facts_share(struct rdb *db, struct rmodel *m)
{
	struct port_rows pr = {NULL, 0, 0};
	int rc = rdb_each(db, port_sql, add_port, &pr);
	if (rc == 0)
		rc = build_encryption(db, m, &pr);
	if (rc == 0)
		rc = build_reasons(db, m);
	if (rc == 0)
		rc = build_mail(db, m, &pr);
	free(pr.rows);
	return rc;
}
