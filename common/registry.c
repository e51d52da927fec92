#include "registry.h"

#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct cipher_info cipher_table[] = {
#include "cipher_table.inc"
};

#define NCIPHERS (sizeof cipher_table / sizeof cipher_table[0])

/* Every code point's place in the table plus one (0: unassigned), built
 * once: cipher_lookup runs for every suite of every hello, and a binary
 * search over the registry was 2% of all instructions. 128 KiB, of which
 * the pages in use (0x00, 0x13, 0xc0, 0xcc...) are touched. */
static uint16_t cipher_index[65536];
static pthread_once_t cipher_index_once = PTHREAD_ONCE_INIT;

static void build_cipher_index(void)
{
	_Static_assert(NCIPHERS < 65535, "the index holds positions in 16 bits");
	for (size_t i = 0; i < NCIPHERS; i++)
		cipher_index[cipher_table[i].code] = (uint16_t)(i + 1);
}

const struct cipher_info *cipher_lookup(uint16_t code)
{
	pthread_once(&cipher_index_once, build_cipher_index);
	unsigned i = cipher_index[code];
	return i ? &cipher_table[i - 1] : NULL;
}

const struct cipher_info *cipher_table_all(size_t *n)
{
	*n = NCIPHERS;
	return cipher_table;
}

/* ---- versions -------------------------------------------------------------- */

/* The one table of protocol versions: their order and judgement live here
 * and nowhere else (reports and the database's tls_versions table read
 * it). */
static const struct tls_version_info versions[] = {
	{0x0002, 0x0002, 1, "SSLv2", 1},
	{0x0300, 0x0300, 2, "SSLv3", 1},
	{0x0301, 0x0301, 3, "TLSv1.0", 1},
	{0x0302, 0x0302, 4, "TLSv1.1", 1},
	{0x0303, 0x0303, 5, "TLSv1.2", 0},
	{0x0304, 0x0304, 6, "TLSv1.3", 0},
	{0x7f00, 0x7fff, 6, "TLSv1.3", 0}, /* TLS 1.3 drafts */
	{0xfb1a, 0xfb1a, 6, "TLSv1.3", 0}, /* Facebook Fizz's TLS 1.3 code point */
};

const struct tls_version_info *tls_versions_all(size_t *n)
{
	*n = NELEM(versions);
	return versions;
}

static const struct tls_version_info *version_find(int v)
{
	for (size_t i = 0; i < NELEM(versions); i++)
		if (v >= versions[i].first && v <= versions[i].last)
			return &versions[i];
	return NULL;
}

const char *tls_version_name(int version)
{
	const struct tls_version_info *vi = version_find(version);
	return vi ? vi->name : NULL;
}

int tls_version_rank(int version)
{
	const struct tls_version_info *vi = version_find(version);
	return vi ? vi->rank : 0;
}

int tls_version_legacy(int version)
{
	const struct tls_version_info *vi = version_find(version);
	return vi ? vi->legacy : -1;
}

const char *tls_rank_name(int rank)
{
	for (size_t i = 0; i < NELEM(versions); i++)
		if (versions[i].rank == rank)
			return versions[i].name;
	return NULL;
}

/* ---- key-exchange groups ----------------------------------------------------- */

/* IANA TLS Supported Groups registry, the values seen in practice. */
static const struct tls_group_info groups[] = {
	{0x0001, "sect163k1", 0},  {0x0002, "sect163r1", 0},  {0x0003, "sect163r2", 0},
	{0x0004, "sect193r1", 0},  {0x0005, "sect193r2", 0},  {0x0006, "sect233k1", 0},
	{0x0007, "sect233r1", 0},  {0x0008, "sect239k1", 0},  {0x0009, "sect283k1", 0},
	{0x000a, "sect283r1", 0},  {0x000b, "sect409k1", 0},  {0x000c, "sect409r1", 0},
	{0x000d, "sect571k1", 0},  {0x000e, "sect571r1", 0},  {0x000f, "secp160k1", 0},
	{0x0010, "secp160r1", 0},  {0x0011, "secp160r2", 0},  {0x0012, "secp192k1", 0},
	{0x0013, "secp192r1", 0},  {0x0014, "secp224k1", 0},  {0x0015, "secp224r1", 0},
	{0x0016, "secp256k1", 0},
	{0x0017, "secp256r1", 0},
	{0x0018, "secp384r1", 0},
	{0x0019, "secp521r1", 0},
	{0x001a, "brainpoolP256r1", 0},
	{0x001b, "brainpoolP384r1", 0},
	{0x001c, "brainpoolP512r1", 0},
	{0x001d, "x25519", 0},
	{0x001e, "x448", 0},
	{0x001f, "brainpoolP256r1tls13", 0},
	{0x0020, "brainpoolP384r1tls13", 0},
	{0x0021, "brainpoolP512r1tls13", 0},
	{0x0029, "curveSM2", 0},
	{0x0100, "ffdhe2048", 0},
	{0x0101, "ffdhe3072", 0},
	{0x0102, "ffdhe4096", 0},
	{0x0103, "ffdhe6144", 0},
	{0x0104, "ffdhe8192", 0},
	{0x0200, "MLKEM512", 1},
	{0x0201, "MLKEM768", 1},
	{0x0202, "MLKEM1024", 1},
	{0x11eb, "SecP256r1MLKEM768", 1},
	{0x11ec, "X25519MLKEM768", 1},
	{0x11ed, "SecP384r1MLKEM1024", 1},
	{0x11ee, "curveSM2MLKEM768", 1},
	{0x6399, "X25519Kyber768Draft00", 1},
	{0x639a, "SecP256r1Kyber768Draft00", 1},
};

const struct tls_group_info *tls_groups_all(size_t *n)
{
	*n = NELEM(groups);
	return groups;
}

const char *tls_group_name(int group, int *pq)
{
	for (size_t i = 0; i < NELEM(groups); i++) {
		if (groups[i].code == group) {
			if (pq)
				*pq = groups[i].pq;
			return groups[i].name;
		}
	}
	if (pq)
		*pq = 0;
	return NULL;
}

/* ---- alerts ---------------------------------------------------------------- */

/* IANA TLS Alerts registry (RFC 8446 6, older and reserved values kept:
 * they still appear from old peers). */
static const struct reg_name alerts[] = {
	{0, "close_notify"},
	{10, "unexpected_message"},
	{20, "bad_record_mac"},
	{21, "decryption_failed"},
	{22, "record_overflow"},
	{30, "decompression_failure"},
	{40, "handshake_failure"},
	{41, "no_certificate"},
	{42, "bad_certificate"},
	{43, "unsupported_certificate"},
	{44, "certificate_revoked"},
	{45, "certificate_expired"},
	{46, "certificate_unknown"},
	{47, "illegal_parameter"},
	{48, "unknown_ca"},
	{49, "access_denied"},
	{50, "decode_error"},
	{51, "decrypt_error"},
	{52, "too_many_cids_requested"},
	{60, "export_restriction"},
	{70, "protocol_version"},
	{71, "insufficient_security"},
	{80, "internal_error"},
	{86, "inappropriate_fallback"},
	{90, "user_canceled"},
	{100, "no_renegotiation"},
	{109, "missing_extension"},
	{110, "unsupported_extension"},
	{111, "certificate_unobtainable"},
	{112, "unrecognized_name"},
	{113, "bad_certificate_status_response"},
	{114, "bad_certificate_hash_value"},
	{115, "unknown_psk_identity"},
	{116, "certificate_required"},
	{120, "no_application_protocol"},
	{121, "ech_required"},
};

static const char *name_find(const struct reg_name *t, size_t n, int code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

const struct reg_name *tls_alerts_all(size_t *n)
{
	*n = NELEM(alerts);
	return alerts;
}

const char *tls_alert_name(int desc)
{
	return name_find(alerts, NELEM(alerts), desc);
}

/* ---- the record's own codes ---------------------------------------------------- */

static const struct reg_name transports[] = {
	{TRANSPORT_UNKNOWN, "unknown"},
	{TRANSPORT_PLAINTEXT, "plaintext"},
	{TRANSPORT_STARTTLS, "starttls"},
	{TRANSPORT_IMPLICIT_TLS, "implicit_tls"},
};

static const struct reg_name outcomes[] = {
	{OUTCOME_ESTABLISHED, "established"},
	{OUTCOME_REFUSED, "refused"},
	{OUTCOME_FAILED, "failed"},
	{OUTCOME_NO_SERVER_HELLO, "no_server_hello"},
	{OUTCOME_INCOMPLETE, "incomplete"},
	{OUTCOME_NO_TLS_AFTER_220, "no_tls_after_220"},
};

static const struct reg_name dane_states[] = {
	{DANE_NONE, "none"},
	{DANE_UNSIGNED, "unsigned"},
	{DANE_SIGNED, "signed"},
};

const struct reg_name *dane_states_all(size_t *n)
{
	*n = NELEM(dane_states);
	return dane_states;
}

const char *dane_state_name(int dane)
{
	return dane >= 0 && (size_t)dane < NELEM(dane_states) ? dane_states[dane].name : NULL;
}

static const struct reg_name end_reasons[] = {
	{END_FIN, "fin"},     {END_RST, "rst"},         {END_IDLE, "idle"},
	{END_EOF, "eof"},     {END_EVICTED, "evicted"}, {END_REUSED, "reused"},
};

static const struct reg_name directions[] = {
	{DIR_C2S, "client"},
	{DIR_S2C, "server"},
};

/* Anomaly bits by number (enum anomaly in record.h). */
static const struct reg_name anomalies[] = {
	{0, "midstream"},
	{1, "gap"},
	{2, "snaplen_truncated"},
	{3, "no_tls_after_220"},
	{4, "client_only"},
	{5, "server_only"},
	{6, "long_line"},
	{7, "tls_malformed"},
	{8, "handshake_too_big"},
	{9, "pipeline_overflow"},
	{10, "plaintext_reply_to_tls"},
	{11, "reassembly_overflow"},
	{12, "overlap_mismatch"},
	{13, "plaintext_after_starttls"},
	{14, "not_smtp"},
	{15, "evicted"},
	{16, "capability_mangled"},
	{17, "cert_malformed"},
	{18, "cert_names_capped"},
};
_Static_assert(NELEM(anomalies) == ANOM_COUNT, "a name for every anomaly bit");
_Static_assert(ANOM_CERT_NAMES_CAPPED == 1u << (ANOM_COUNT - 1), "the last bit is named");

const struct reg_name *transports_all(size_t *n)
{
	*n = NELEM(transports);
	return transports;
}

const struct reg_name *tls_outcomes_all(size_t *n)
{
	*n = NELEM(outcomes);
	return outcomes;
}

const struct reg_name *end_reasons_all(size_t *n)
{
	*n = NELEM(end_reasons);
	return end_reasons;
}

const struct reg_name *directions_all(size_t *n)
{
	*n = NELEM(directions);
	return directions;
}

const struct reg_name *anomalies_all(size_t *n)
{
	*n = NELEM(anomalies);
	return anomalies;
}

const char *transport_name(enum transport t)
{
	const char *name = name_find(transports, NELEM(transports), (int)t);
	return name ? name : "unknown";
}

const char *end_reason_name(enum end_reason r)
{
	const char *name = name_find(end_reasons, NELEM(end_reasons), (int)r);
	return name ? name : "eof";
}

const char *tls_outcome_name(enum tls_outcome o)
{
	return name_find(outcomes, NELEM(outcomes), (int)o);
}

const char *direction_name(int dir)
{
	return name_find(directions, NELEM(directions), dir);
}

const char *anomaly_name(uint32_t bit)
{
	for (unsigned i = 0; i < ANOM_COUNT; i++)
		if (bit == (1u << i))
			return anomalies[i].name;
	return NULL;
}

uint32_t anomaly_from_name(const char *name, size_t len)
{
	for (unsigned i = 0; i < ANOM_COUNT; i++)
		if (strlen(anomalies[i].name) == len && memcmp(anomalies[i].name, name, len) == 0)
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
		size_t n = strlen(anomalies[i].name);
		size_t need = n + (used ? 1 : 0);
		if (used + need + 1 > cap)
			return -1;
		if (used)
			out[used++] = ',';
		memcpy(out + used, anomalies[i].name, n);
		used += n;
		out[used] = '\0';
	}
	return 0;
}
