/* Renderers of the report model: one file per format. Each returns 0, or
 * -1 if the output could not be written. */
#ifndef SMTPTLS_RENDER_H
#define SMTPTLS_RENDER_H

#include <stdio.h>

#include "rtable.h"

int render_text(const struct rmodel *m, FILE *out);
int render_csv(const struct rmodel *m, FILE *out);
int render_json(const struct rmodel *m, FILE *out);
int render_html(const struct rmodel *m, FILE *out);

/* A cell as text. Plain: integers as digits, percentages as "50.0", NULL
 * empty. Pretty (for people): thousands separators, "50.0%", NULL "-",
 * bytes outside printable ASCII as '?'. */
void render_cell(const struct rcell *c, int pretty, char *buf, size_t n);
/* A count with thousands separators: "1,234,567". */
void render_count(int64_t v, char *buf, size_t n);
/* A byte count in powers of 1000: "812 B", "361.9 kB", "2.6 MB". */
void render_bytes(int64_t v, char *buf, size_t n);
/* Cell (r, c) of t for people: as render_cell pretty, byte columns in
 * kB, MB, GB. Text and HTML show every count this way. */
void render_value(const struct rtable *t, size_t r, size_t c, char *buf, size_t n);
/* render_value of the cell in column colkey of the row of t whose first
 * column holds the text rowkey; "-" when there is none. */
void render_lookup(const struct rtable *t, const char *rowkey, const char *colkey, char *buf,
		   size_t n);
/* Prose (titles, notes, details) with its standalone numbers of four
 * digits or more grouped: "of 549952 sessions" -> "of 549,952 sessions".
 * Digits inside words and codes ("X25519", "2048-bit", "0x1302", "TLS
 * 1.3") stay as they are. Never for strings from the wire or id lists. */
void render_prose(const char *s, char *buf, size_t n);
/* The filters in words: "port 25, server 127.0.0.1, since ..." or "none". */
void render_filters(const struct report_filter *f, char *buf, size_t n);
/* The period of the sessions: "2026-11-22 21:47:36 to ... UTC" or "-". */
void render_period(const struct rmeta *meta, char *buf, size_t n);

#endif
