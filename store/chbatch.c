/* Batches as text, and their chunks in the spool (chbatch.h). */
#include "chbatch.h"

#include <string.h>

void chbatch_reset(struct ch_batch *b)
{
	for (int t = 0; t < CH_NTABLES; t++)
		tsv_buf_reset(&b->text[t]);
	b->rows = b->sessions = 0;
	b->first = 0;
}

void chbatch_free(struct ch_batch *b)
{
	for (int t = 0; t < CH_NTABLES; t++)
		tsv_buf_free(&b->text[t]);
}

void chbatch_add(struct ch_batch *b, const struct ch_row *row, double now)
{
	if (row->magic != CH_ROW_MAGIC || row->kind < 1 || row->kind > CH_NTABLES)
		return;
	if (b->rows == 0)
		b->first = now;
	chschema_put_row(&b->text[row->kind - 1], row);
	b->rows++;
	b->sessions += row->kind == CH_KIND_SESSION;
}

int chbatch_empty(const struct ch_batch *b)
{
	return b->rows == 0 && !b->text[0].len && !b->text[1].len && !b->text[2].len;
}

/* The lines of one table, packed into chunks. */
static uint64_t spool_table(const struct tsv_buf *text, uint32_t table, struct spool *s,
			    struct ch_chunk *c, uint64_t *lost)
{
	uint64_t put = 0;
	size_t at = 0;
	while (at < text->len) {
		c->magic = CH_CHUNK_MAGIC;
		c->table = table;
		c->len = c->sessions = 0;
		while (at < text->len) {
			const char *nl = memchr(text->p + at, '\n', text->len - at);
			size_t line = nl ? (size_t)(nl - (text->p + at)) + 1 : text->len - at;
			if (line > CH_CHUNK_DATA) { /* cannot happen: records have caps */
				at += line;
				*lost += table == 0;
				continue;
			}
			if (c->len + line > CH_CHUNK_DATA)
				break;
			memcpy(c->data + c->len, text->p + at, line);
			c->len += (uint32_t)line;
			c->sessions += table == 0;
			at += line;
		}
		if (c->len == 0)
			continue;
		if (spool_put(s, c) == 0)
			put += c->sessions;
		else
			*lost += c->sessions;
	}
	return put;
}

uint64_t chbatch_spool(const struct ch_batch *b, struct spool *s, uint64_t *lost)
{
	static _Thread_local struct ch_chunk chunk;
	uint64_t put = 0;
	*lost = 0;
	for (uint32_t t = 0; t < CH_NTABLES; t++)
		put += spool_table(&b->text[t], t, s, &chunk, lost);
	return put;
}

long chbatch_unspool(struct ch_batch *b, const struct spool *s, struct ch_chunk *buf, size_t n)
{
	chbatch_reset(b);
	if (n > spool_count(s))
		n = (size_t)spool_count(s);
	long got = n ? spool_read(s, spool_head(s), buf, n) : 0;
	for (long i = 0; i < got; i++) {
		const struct ch_chunk *c = &buf[i];
		if (c->magic != CH_CHUNK_MAGIC || c->table >= CH_NTABLES || c->len > CH_CHUNK_DATA)
			continue; /* not ours: skipped */
		tsv_put(&b->text[c->table], c->data, c->len);
		b->rows += c->sessions;
		b->sessions += c->sessions;
	}
	return got;
}
