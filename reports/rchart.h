/* Charts for the HTML report. Text (labels, axes, values) is HTML, so it
 * keeps its size on a phone; only shapes are SVG, stretched to the width
 * of the page. Every label goes through esc_html. */
#ifndef SMTPTLS_RCHART_H
#define SMTPTLS_RCHART_H

#include <stdio.h>

#include "rtable.h"

/* The "series" table: the encrypted share per bucket (bars on a 0-100%
 * axis, coloured by the headline thresholds), then the sessions per
 * bucket on an axis of their own below it. Nothing for an empty table. */
void chart_series(FILE *out, const struct rtable *series);

/* Horizontal bars of a table with "sessions" and "sessions_pct" columns,
 * labelled by the text column label_key and coloured by each row's
 * rating; at most max_rows rows. Nothing for an empty table. */
void chart_bars(FILE *out, const struct rtable *t, const char *label_key, size_t max_rows);

#endif
