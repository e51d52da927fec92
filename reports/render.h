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
/* The filters in words: "port 25, server 127.0.0.1, since ..." or "none". */
void render_filters(const struct report_filter *f, char *buf, size_t n);
/* The period of the sessions: "2026-11-22 21:47:36 to ... UTC" or "-". */
void render_period(const struct rmeta *meta, char *buf, size_t n);

#endif
