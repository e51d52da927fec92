/* Reports: read-only queries over the session database, rendered for a
 * terminal. */
#ifndef SMTPTLS_REPORT_H
#define SMTPTLS_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* Prints the summary of the database at path to out. Returns 0, or -1
 * with a message naming the database in err. */
int report_text(const char *path, FILE *out, char *err, size_t errlen);

#endif
