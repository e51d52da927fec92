/* TLS fingerprints of hello messages, formatted from what the hello
 * parser (hello.h) found: no hello bytes are read here but the lists it
 * points to.
 *
 *  JA3  (Salesforce): MD5 of "version,ciphers,extensions,groups,point
 *       formats", decimal values joined by '-', GREASE left out.
 *  JA3S (Salesforce): MD5 of "version,cipher,extensions" of a ServerHello.
 *  JA4  (FoxIO, BSD 3-clause): "t" + version + d/i (SNI) + cipher count +
 *       extension count + first/last ALPN character, then the first 12 hex
 *       digits of SHA-256 of the sorted ciphers and of the sorted extensions
 *       (SNI, ALPN left out) with the signature algorithms in order.
 * Hashes come from libgcrypt. */
#ifndef SMTPTLS_FINGERPRINT_H
#define SMTPTLS_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "hello.h"

#define FP_SHA256_HEX 65 /* 64 hex digits and a NUL */

/* Each writes the fingerprint, NUL-terminated, to out (JA3 and JA3S: 32
 * hex digits, cap at least 33; JA4: 36 characters, cap at least 37) and
 * returns 0, or leaves out empty and returns -1 when the hello is of the
 * other kind or not complete (hello_complete), cap is too small or the
 * hash fails. JA3 and JA4 take a ClientHello, JA3S a ServerHello. */
int fp_ja3(const struct tls_hello *client_hello, char *out, size_t cap);
int fp_ja3s(const struct tls_hello *server_hello, char *out, size_t cap);
int fp_ja4(const struct tls_hello *client_hello, char *out, size_t cap);

/* JA3 and JA4 of one ClientHello at once, with the results fp_ja3 and
 * fp_ja4 give (their rc in *rc3, *rc4), remembered per thread for the
 * last 64 client builds seen (everything either fingerprint is made of
 * must be equal for a hit). */
void fp_client(const struct tls_hello *client_hello, char *ja3, size_t cap3, int *rc3,
	       char *ja4, size_t cap4, int *rc4);

/* The strings before hashing, for tests and checks against other tools:
 * JA3 and JA3S full strings, JA4_r (sorted raw) and JA4_ro (original
 * order). Allocated; the caller frees. NULL when fp_ja3 etc. fail. */
char *fp_ja3_string(const struct tls_hello *client_hello);
char *fp_ja3s_string(const struct tls_hello *server_hello);
char *fp_ja4_raw(const struct tls_hello *client_hello, int original_order);

/* SHA-256 of p[0..len) as lowercase hex; out empty if the hash fails. */
void fp_sha256_hex(const uint8_t *p, size_t len, char out[FP_SHA256_HEX]);

/* Every digest above goes through a per-thread memo of the last
 * FP_MEMO_ENTRIES inputs of 1..FP_MEMO_MAX bytes (fp_digest.c). */
#define FP_MEMO_ENTRIES 64
#define FP_MEMO_MAX 2048

/* The digest that fingerprints use: algo a libgcrypt
 * GCRY_MD_* id with at most 32 bytes of digest; the first hex_len hex
 * digits and a NUL into out; -1 on failure. */
int fp_digest_hex(int algo, const void *p, size_t n, char *out, size_t hex_len);
/* The 64-bit key the memo files an input under. */
uint64_t fp_memo_key(const void *p, size_t n);
/* The calling thread's memo hits and misses so far. */
void fp_memo_stats(unsigned long *hits, unsigned long *misses);

#endif
