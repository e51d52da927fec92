/* Inline SVG charts for the HTML report. */
#ifndef SMTPTLS_RSVG_H
#define SMTPTLS_RSVG_H

#include <stdio.h>

#include "rtable.h"

/* The encrypted share per bucket (bars) and the session count (line) of
 * the "series" table. Nothing for an empty table. */
void svg_series(FILE *out, const struct rtable *series);
/* Horizontal bars of a table with "sessions" and "sessions_pct" columns,
 * labelled by the text column label_key; at most max_rows rows. */
void svg_bars(FILE *out, const struct rtable *t, const char *label_key, size_t max_rows);

#endif
