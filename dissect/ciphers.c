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
