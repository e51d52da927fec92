/* ClickHouse's TabSeparated format (internal to store/ and reports/):
 * values are written escaped, one row a line, fields separated by tabs,
 * NULL as \N; results are read back the same way. The escapes are those
 * ClickHouse writes and reads: \b \f \r \n \t \0 \' \\ (and \N alone
 * for NULL); a backslash before any other byte stands for that byte.
 * Unescaping happens in place: an escaped field is never shorter than
 * the value it holds. */
#ifndef SMTPTLS_TSV_H
#define SMTPTLS_TSV_H

#include <stddef.h>
#include <stdint.h>

/* A growing text buffer (inserts, query results). */
struct tsv_buf {
	char *p;
	size_t len, cap;
	int failed; /* out of memory, or beyond max */
	size_t max; /* 0: no cap */
};

void tsv_buf_free(struct tsv_buf *b);
void tsv_buf_reset(struct tsv_buf *b);
void tsv_put(struct tsv_buf *b, const void *p, size_t n);
void tsv_puts(struct tsv_buf *b, const char *s);
/* One value, escaped; NULL (s == NULL) as \N. */
void tsv_put_text(struct tsv_buf *b, const char *s);
void tsv_put_int(struct tsv_buf *b, int64_t v);
void tsv_put_uint(struct tsv_buf *b, uint64_t v);
/* A double as the shortest text that reads back as the same value. */
void tsv_put_real(struct tsv_buf *b, double v);

/* A row of fields, pointing into the line it was split from. */
#define TSV_MAX_FIELDS 256
struct tsv_row {
	char *f[TSV_MAX_FIELDS];
	size_t len[TSV_MAX_FIELDS];
	unsigned char null[TSV_MAX_FIELDS];
	size_t n;
};

/* Splits the line p[0..len) (without its newline) at its tabs and
 * unescapes each field in place (each is then NUL-terminated: p[len]
 * must be writable, the newline's place). 0, or -1 when a field ends in
 * a lone backslash or there are more than TSV_MAX_FIELDS. A field that is
 * exactly \N is NULL. */
int tsv_split(char *p, size_t len, struct tsv_row *row);

/* Unescapes one field in place: its new length, or -1 for a lone
 * backslash at the end. */
long tsv_unescape(char *p, size_t len);

#endif
