/* Batches of rows for ClickHouse as TabSeparated text, and their place in
 * the spool (internal to store/). A batch holds the lines of the three
 * tables (chschema.h); rows are encoded when they leave the queue, so a
 * batch of a second of a busy link costs its text (about 560 bytes a
 * session), not its records. What ClickHouse did not take goes to the
 * spool as chunks: fixed-size records holding whole lines of one table,
 * which carry each session's identity, so that a chunk delivered twice is
 * counted once. */
#ifndef SMTPTLS_CHBATCH_H
#define SMTPTLS_CHBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "chschema.h"
#include "spool.h"
#include "tsv.h"

#define CH_NTABLES 3
#define CH_CHUNK_BYTES 65536
#define CH_CHUNK_DATA (CH_CHUNK_BYTES - 16)

/* One record of the spool. */
struct ch_chunk {
	uint32_t magic;    /* CH_CHUNK_MAGIC */
	uint32_t table;    /* index into chschema_tables() */
	uint32_t len;      /* bytes of data: whole lines */
	uint32_t sessions; /* lines of sessions in it */
	char data[CH_CHUNK_DATA];
};
#define CH_CHUNK_MAGIC 0x43484331u

struct ch_batch {
	struct tsv_buf text[CH_NTABLES];
	uint64_t rows, sessions;
	double first; /* when its first row came (monotonic seconds) */
};

/* Empties b (keeps its memory). */
void chbatch_reset(struct ch_batch *b);
void chbatch_free(struct ch_batch *b);
/* Appends a row's lines. */
void chbatch_add(struct ch_batch *b, const struct ch_row *row, double now);
/* 1 when b holds nothing. */
int chbatch_empty(const struct ch_batch *b);

/* Writes b into the spool as chunks: the sessions written, and in *lost
 * those that did not fit (the spool full or failing). */
uint64_t chbatch_spool(const struct ch_batch *b, struct spool *s, uint64_t *lost);

/* Reads up to n chunks (at most those it holds) from the spool at its
 * head into buf (n chunks of room) and b (reset first): how many were
 * read, or -1. */
long chbatch_unspool(struct ch_batch *b, const struct spool *s, struct ch_chunk *buf, size_t n);

#endif
