/* Session rows for pipelines (SIEM, Kafka, ClickHouse): every column of the
 * sessions table, one row per line, oldest first. */
#ifndef SMTPTLS_EXPORT_H
#define SMTPTLS_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "report.h"

enum export_format {
	EXPORT_JSONL = 0, /* one JSON object per line; NULL as null */
	EXPORT_CSV,       /* RFC 4180, a header line; NULL as an empty field */
};

/* Writes the sessions of the database at path that pass the filter (NULL:
 * all). Returns the number of rows written, or -1 with a message naming
 * the database in err. */
long long report_export(const char *path, enum export_format fmt,
			const struct report_filter *f, FILE *out, char *err, size_t errlen);

#endif
