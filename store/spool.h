/* The writer's overflow (internal to store/): fixed-size records appended
 * to a file beside the database when the write queue is full, read back
 * in the order they were written. Bounded: a put beyond max_bytes fails
 * (the caller counts the row as lost). Not thread-safe: the writer calls
 * it under its own lock. */
#ifndef SMTPTLS_SPOOL_H
#define SMTPTLS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Makes (or empties) the file now if it can (so that -Z can give it to
 * its user), else on the first put. NULL when out of memory. */
struct spool *spool_new(const char *path, size_t rec_size, uint64_t max_bytes);
/* Removes the file (it is empty once everything was read) and frees.
 * NULL is fine. */
void spool_free(struct spool *s);

/* Appends one record: 0, or -1 when the spool is full or the file cannot
 * be written (errno says which: ENOSPC for full). */
int spool_put(struct spool *s, const void *rec);
/* Records written and not yet taken. */
uint64_t spool_count(const struct spool *s);
/* The offset of the oldest record not taken: for spool_read. */
uint64_t spool_head(const struct spool *s);
/* Reads up to n records from offset at (from spool_head) into buf without
 * moving anything (the file may be read while puts append); the number
 * read, or -1. */
long spool_read(const struct spool *s, uint64_t at, void *buf, size_t n);
/* Takes n records read: the head moves on; once all are taken the file
 * is emptied and written from its start again. */
void spool_take(struct spool *s, size_t n);

/* A spool that outlives its process (the ClickHouse writer's rows not
 * delivered): the records an earlier process left in the file are read
 * first, and spool_free() leaves the records not taken in the file
 * (moved to its start) instead of removing it. A file that is not a whole
 * number of records (written by another program, or another version) is
 * kept aside as PATH.left-EPOCH (spool_leftover) and a new one begun. */
struct spool *spool_resume(const char *path, size_t rec_size, uint64_t max_bytes);
/* Writes n records at offset at (from spool_head, records not taken yet)
 * over what is there: records changed in place. 0 or -1. */
int spool_rewrite(struct spool *s, uint64_t at, const void *buf, size_t n);

const char *spool_path(const struct spool *s);
/* A spool found with rows at the start (a process killed before writing
 * them back) was renamed to this (PATH.left-EPOCH), or NULL. */
const char *spool_leftover(const struct spool *s);

#endif
