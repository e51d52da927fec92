/* Prefix-preserving address anonymisation (Crypto-PAn, Xu et al. 2002):
 * two addresses sharing a k-bit prefix map to two addresses sharing a
 * k-bit prefix, so subnets stay comparable across runs with the same key,
 * and nothing maps back without the key. IPv4 and IPv6 (the same scheme
 * over 128 bits). The key is 32 bytes: AES-128 key, then the pad seed. */
#ifndef SMTPTLS_ANON_H
#define SMTPTLS_ANON_H

#include <stddef.h>
#include <stdint.h>

#define ANON_KEY_BYTES 32

struct anon;

/* Reads a key file: 32 raw bytes, or 64 hex digits (a newline may
 * follow). Returns 0 and the key, or -1 with a message naming the file. */
int anon_read_key(const char *path, uint8_t key[ANON_KEY_BYTES], char *err, size_t errlen);

/* One anonymiser per thread (its cipher handle is not shared). */
struct anon *anon_new(const uint8_t key[ANON_KEY_BYTES]);
void anon_free(struct anon *a);

/* Anonymises an address in place: family 4 (first 4 bytes) or 6. */
void anon_addr(struct anon *a, int family, uint8_t addr[16]);

/* If text is an address literal — "192.0.2.1", "2001:db8::1", "[192.0.2.1]"
 * or "[IPv6:2001:db8::1]" as in EHLO — rewrites it, in the same form, with
 * the anonymised address; other text is left alone. Returns 1 if
 * rewritten. */
int anon_literal(struct anon *a, char *text, size_t cap);

/* The same for each element of a comma-separated list (certificate SANs).
 * Returns how many elements were rewritten. */
int anon_list(struct anon *a, char *list, size_t cap);

#endif
