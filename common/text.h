/* Turning attacker-controlled bytes into storable text. */
#ifndef SMTPTLS_TEXT_H
#define SMTPTLS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Copies src[0..len) into dst (capacity cap, always NUL-terminated),
 * keeping printable ASCII and writing every other byte as \xHH. Stops at
 * a character boundary when dst is full. Returns the bytes written. */
size_t text_sanitize(char *dst, size_t cap, const uint8_t *src, size_t len);

/* Case-insensitive comparison of an ASCII word with a NUL-terminated
 * upper-case keyword: returns 1 if p[0..len) equals it. */
int text_ieq(const uint8_t *p, size_t len, const char *upper);

#endif
