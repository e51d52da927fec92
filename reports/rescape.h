/* Writing strings that came off the wire into JSON, CSV and HTML. Every
 * string a report or an export prints goes through one of these. */
#ifndef SMTPTLS_RESCAPE_H
#define SMTPTLS_RESCAPE_H

#include <stdio.h>

/* A JSON string literal, quotes included; NULL is written as null. Bytes
 * outside printable ASCII become \u00XX, so the output is valid JSON
 * whatever the database holds. */
void esc_json(FILE *out, const char *s);
/* A CSV field (RFC 4180): quoted when it holds a comma, a quote, a line
 * break or leading/trailing blanks; NULL is an empty field. */
void esc_csv(FILE *out, const char *s);
/* HTML text or attribute value: & < > " ' as entities, control bytes as
 * U+FFFD, other bytes beyond ASCII as numeric references. */
void esc_html(FILE *out, const char *s);
/* The same for the first n bytes of s (or up to its NUL). */
void esc_html_n(FILE *out, const char *s, size_t n);

#endif
