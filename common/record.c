#include "record.h"

#include <string.h>

static const char *const anomaly_names[ANOM_COUNT] = {
	"midstream",
	"gap",
	"snaplen_truncated",
	"no_tls_after_220",
	"client_only",
	"server_only",
	"long_line",
	"tls_malformed",
	"handshake_too_big",
	"pipeline_overflow",
	"plaintext_reply_to_tls",
	"reassembly_overflow",
	"overlap_mismatch",
	"plaintext_after_starttls",
	"not_smtp",
	"evicted",
	"capability_mangled",
	"cert_malformed",
	"cert_names_capped",
};

const char *anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < ANOM_COUNT; i++)
		if (bit == (1u << i))
			return anomaly_names[i];
	return NULL;
}

uint32_t anomaly_from_name(const char *name, size_t len)
{
	for (unsigned i = 0; i < ANOM_COUNT; i++)
		if (strlen(anomaly_names[i]) == len &&
		    memcmp(anomaly_names[i], name, len) == 0)
			return 1u << i;
	return 0;
}

int anomalies_format(uint32_t bits, char *out, size_t cap)
{
	size_t used = 0;
	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (unsigned i = 0; i < ANOM_COUNT; i++) {
		if (!(bits & (1u << i)))
			continue;
		size_t n = strlen(anomaly_names[i]);
		size_t need = n + (used ? 1 : 0);
		if (used + need + 1 > cap)
			return -1;
		if (used)
			out[used++] = ',';
		memcpy(out + used, anomaly_names[i], n);
		used += n;
		out[used] = '\0';
	}
	return 0;
}

const char *transport_name(enum transport t)
{
	static const char *const names[] = {"unknown", "plaintext", "starttls",
					    "implicit_tls"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

const char *end_reason_name(enum end_reason r)
{
	static const char *const names[] = {"fin", "rst", "idle", "eof", "evicted", "reused"};
	return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "eof";
}

const char *tls_outcome_name(enum tls_outcome o)
{
	static const char *const names[] = {NULL, "established", "refused", "failed",
					    "no_server_hello", "incomplete", "no_tls_after_220"};
	return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : NULL;
}

void session_record_init(struct session_record *r)
{
	memset(r, 0, sizeof *r);
	r->transport = TRANSPORT_UNKNOWN;
	r->starttls_offered = -1;
	r->starttls_reply = -1;
	r->tls_version = -1;
	r->client_version_max = -1;
	r->cipher_suite = -1;
	r->kx_group = -1;
	r->tls_alert = -1;
	r->tls_alert_from = -1;
	r->kx_dh_bits = -1;
	r->forward_secrecy = r->aead = r->weak_cipher = -1;
	r->client_offered_tls13 = r->client_suites = r->client_offered_weak = -1;
	r->server_chose_weak = r->server_declined_fs = -1;
	r->cert.key_bits = r->cert.self_signed = r->cert.expired = r->cert.name_match = -1;
	r->end_reason = END_EOF;
}
