#include "ciphers.h"

#include <stddef.h>

static const struct cipher_info cipher_table[] = {
#include "cipher_table.inc"
};

const struct cipher_info *cipher_lookup(uint16_t code)
{
	size_t lo = 0, hi = sizeof cipher_table / sizeof cipher_table[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cipher_table[mid].code == code)
			return &cipher_table[mid];
		if (cipher_table[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
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
