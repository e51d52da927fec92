/* What the HTML renderer's files share (render_html.c: the page;
 * render_htable.c: its tables). */
#ifndef SMTPTLS_RENDER_HTML_H
#define SMTPTLS_RENDER_HTML_H

#include <stdio.h>

#include "rtable.h"

/* Table t as an HTML table in a container that never overflows: detail
 * columns on a line of their own under their row, rows coloured by their
 * rating, and on a phone a table of many columns as one card per row. */
void html_table(const struct rtable *t, FILE *out);
/* s escaped, a line break allowed after each underscore. */
void html_breakable(FILE *out, const char *s);
/* Prose (a title, a note, a detail) escaped, its counts grouped, breaks
 * allowed after underscores. */
void html_prose(FILE *out, const char *s);
#endif
