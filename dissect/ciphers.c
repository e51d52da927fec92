#include "ciphers.h"

#include <pthread.h>
#include <stddef.h>

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

struct version_info {
	int code;
	int rank;
	const char *name;
};

static const struct version_info versions[] = {
	{0x0002, 1, "SSLv2"},   {0x0300, 2, "SSLv3"},   {0x0301, 3, "TLSv1.0"},
	{0x0302, 4, "TLSv1.1"}, {0x0303, 5, "TLSv1.2"}, {0x0304, 6, "TLSv1.3"},
	{0xfb1a, 6, "TLSv1.3"}, /* Facebook Fizz's TLS 1.3 code point */
};

static const struct version_info *version_find(int v)
{
	static const struct version_info draft = {0x7f00, 6, "TLSv1.3"};
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
		if (versions[i].code == v)
			return &versions[i];
	if ((v & 0xff00) == 0x7f00)
		return &draft; /* TLS 1.3 drafts */
	return NULL;
}

const char *tls_version_name(int version)
{
	const struct version_info *vi = version_find(version);
	return vi ? vi->name : NULL;
}

int tls_version_rank(int version)
{
	const struct version_info *vi = version_find(version);
	return vi ? vi->rank : 0;
}

struct group_info {
	int code;
	const char *name;
	int pq;
};

/* IANA TLS Supported Groups registry, the values seen in practice. */
static const struct group_info groups[] = {
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

const char *tls_group_name(int group, int *pq)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
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

struct alert_info {
	int desc;
	const char *name;
};

/* IANA TLS Alerts registry (RFC 8446 6, older and reserved values kept:
 * they still appear from old peers). */
static const struct alert_info alerts[] = {
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

const char *tls_alert_name(int desc)
{
	for (size_t i = 0; i < sizeof alerts / sizeof alerts[0]; i++)
		if (alerts[i].desc == desc)
			return alerts[i].name;
	return NULL;
}
