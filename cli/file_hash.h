/* The SHA-256 of a capture file (libgcrypt), to know a file captured
 * before. */
#ifndef SMTPTLS_FILE_HASH_H
#define SMTPTLS_FILE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* For a regular file: 1 with its size; 0 when path is no regular file
 * (standard input, a pipe: nothing to hash). */
int file_size_of(const char *path, uint64_t *size);

/* The SHA-256 of the first size bytes of the file, as 64 hex digits in
 * hex: 0, or -1 with a message naming the file in err (unreadable, or
 * shorter than size). */
int file_sha256(const char *path, uint64_t size, char hex[65], char *err, size_t errlen);

/* The same, in a thread of the idle class (SCHED_IDLE): it takes only a
 * CPU the capture leaves free, so that a capture does not wait for its
 * file to be read twice. The file is opened here, by the caller (which
 * may give up its privileges next). NULL with err when it cannot start. */
struct file_hasher;
struct file_hasher *file_hasher_start(const char *path, uint64_t size, char *err,
				      size_t errlen);
/* Waits for the hash (the waiting thread gives it its CPU) and frees h:
 * file_sha256's result; the CPU seconds the hashing took in *cpu. */
int file_hasher_wait(struct file_hasher *h, char hex[65], double *cpu, char *err,
		     size_t errlen);
/* Stops it, unfinished, and frees h; NULL is fine. */
void file_hasher_stop(struct file_hasher *h);

#endif
