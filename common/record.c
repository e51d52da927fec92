#include "record.h"

#include <string.h>

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
	r->domain_mta_sts = r->domain_dane = r->domain_tlsrpt = -1;
	r->sender_looked_up_mta_sts = r->sender_looked_up_tlsa = r->sender_fetched_policy = -1;
	r->tlsa_match = r->policy_plaintext = -1;
}
