/* The SHA-256 of a capture file (libgcrypt), to know a file captured
 * before. */
#ifndef SMTPTLS_FILE_HASH_H
#define SMTPTLS_FILE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* For a regular file: 1 with its size and SHA-256 as 64 hex digits in
 * hex; 0 when path is no regular file (standard input, a pipe: nothing to
 * hash); -1 with a message naming the file in err. */
int file_sha256(const char *path, uint64_t *size, char hex[65], char *err, size_t errlen);

#endif
