#include "anon.h"
#include "../common/crypto.h"

#include <arpa/inet.h>
#include <gcrypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define CACHE_SLOTS 4096 /* recent addresses: servers recur */

struct cache_slot {
	uint8_t family;
	uint8_t in[16], out[16];
};

struct anon {
	gcry_cipher_hd_t aes;
	uint8_t pad[16];
	struct cache_slot cache[CACHE_SLOTS];
};

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits, optionally followed by a newline. */
static int parse_hex_key(const uint8_t *buf, size_t n, uint8_t key[ANON_KEY_BYTES])
{
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n != 2 * ANON_KEY_BYTES)
		return -1;
	for (size_t i = 0; i < ANON_KEY_BYTES; i++) {
		int hi = hex_value(buf[2 * i]), lo = hex_value(buf[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int anon_read_key(const char *path, uint8_t key[ANON_KEY_BYTES], char *err, size_t errlen)
{
	uint8_t buf[2 * ANON_KEY_BYTES + 4];
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read key file '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (n == ANON_KEY_BYTES) {
		memcpy(key, buf, ANON_KEY_BYTES);
		return 0;
	}
	if (parse_hex_key(buf, n, key) == 0)
		return 0;
	snprintf(err, errlen, "key file '%s' must hold 32 bytes or 64 hex digits "
		 "(e.g. head -c 32 /dev/urandom > %s)", path, path);
	return -1;
}

static int aes_block(struct anon *a, const uint8_t in[16], uint8_t out[16])
{
	return gcry_cipher_encrypt(a->aes, out, 16, in, 16) == 0 ? 0 : -1;
}

struct anon *anon_new(const uint8_t key[ANON_KEY_BYTES])
{
	struct anon *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	if (!crypto_ready() ||
	    gcry_cipher_open(&a->aes, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0) ||
	    gcry_cipher_setkey(a->aes, key, 16) || aes_block(a, key + 16, a->pad) < 0) {
		anon_free(a);
		return NULL;
	}
	return a;
}

void anon_free(struct anon *a)
{
	if (!a)
		return;
	if (a->aes)
		gcry_cipher_close(a->aes);
	free(a);
}

/* The one-time pad's bit pos: AES of (the address's first pos bits, then
 * the pad's bits), first output bit. */
static int pad_bit(struct anon *a, const uint8_t *addr, unsigned pos)
{
	uint8_t in[16], out[16];
	memcpy(in, a->pad, 16);
	memcpy(in, addr, pos / 8);
	if (pos % 8) {
		uint8_t mask = (uint8_t)(0xff00 >> (pos % 8));
		in[pos / 8] = (uint8_t)((addr[pos / 8] & mask) | (a->pad[pos / 8] & ~mask));
	}
	if (aes_block(a, in, out) < 0)
		return 0;
	return out[0] >> 7;
}

static void anonymize_bits(struct anon *a, uint8_t *addr, unsigned bits)
{
	uint8_t otp[16] = {0};
	for (unsigned pos = 0; pos < bits; pos++)
		otp[pos / 8] |= (uint8_t)(pad_bit(a, addr, pos) << (7 - pos % 8));
	for (unsigned i = 0; i < bits / 8; i++)
		addr[i] ^= otp[i];
}

static uint32_t slot_of(int family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % CACHE_SLOTS;
}

void anon_addr(struct anon *a, int family, uint8_t addr[16])
{
	size_t n = family == 4 ? 4 : 16;
	struct cache_slot *c = &a->cache[slot_of(family, addr)];
	if (c->family == family && memcmp(c->in, addr, n) == 0) {
		memcpy(addr, c->out, n);
		return;
	}
	c->family = (uint8_t)family;
	memcpy(c->in, addr, n);
	anonymize_bits(a, addr, (unsigned)n * 8);
	memcpy(c->out, addr, n);
}

/* Splits an address literal into prefix, address and suffix. */
static int literal_parts(const char *t, size_t *pre, size_t *len)
{
	size_t n = strlen(t);
	*pre = 0;
	*len = n;
	if (n >= 2 && t[0] == '[' && t[n - 1] == ']') {
		*pre = strncasecmp(t + 1, "IPv6:", 5) == 0 ? 6 : 1;
		*len = n - 1 - *pre;
	}
	return *len > 0 && *len < 64 ? 0 : -1;
}

int anon_literal(struct anon *a, char *text, size_t cap)
{
	char addr[64], out[INET6_ADDRSTRLEN], tail[2];
	uint8_t bin[16] = {0};
	size_t pre, len;
	if (literal_parts(text, &pre, &len) < 0)
		return 0;
	memcpy(addr, text + pre, len);
	addr[len] = '\0';
	int family = inet_pton(AF_INET, addr, bin) == 1 ? 4 : inet_pton(AF_INET6, addr, bin) == 1 ? 6 : 0;
	if (!family)
		return 0;
	anon_addr(a, family, bin);
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, bin, out, sizeof out))
		return 0;
	snprintf(tail, sizeof tail, "%s", pre ? "]" : "");
	char prefix[8];
	memcpy(prefix, text, pre);
	prefix[pre] = '\0';
	snprintf(text, cap, "%s%s%s", prefix, out, tail);
	return 1;
}

int anon_list(struct anon *a, char *list, size_t cap)
{
	char out[1024], item[256];
	size_t used = 0;
	int n = 0;
	const char *p = list;
	if (cap > sizeof out)
		cap = sizeof out;
	while (*p) {
		size_t len = strcspn(p, ",");
		snprintf(item, sizeof item, "%.*s", (int)len, p);
		n += anon_literal(a, item, sizeof item);
		int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", item);
		if (w < 0 || (size_t)w >= cap - used)
			break; /* what does not fit is dropped, never kept unmapped */
		used += (size_t)w;
		p += len + (p[len] == ',');
	}
	out[used] = '\0';
	memcpy(list, out, used + 1);
	return n;
}
