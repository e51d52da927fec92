/* The runs table's own questions, over a connection the caller holds
 * (internal to store/): the runs whose process is gone, and the runs that
 * read a capture file. Each returns -1 on an SQLite error with what it was
 * doing in *what (sqlite3_errmsg(db) says why; then the caller rolls back
 * a transaction left open). */
#ifndef SMTPTLS_RUNLOG_H
#define SMTPTLS_RUNLOG_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Marks 'unfinished' the runs still 'running' whose process is gone (at
 * most 64 at once; the rest at the next call), in one write transaction
 * taken at once, so that a run another capture marked meanwhile is not
 * said twice; line() gets a sentence for each. The number marked. */
int runlog_mark_unfinished(sqlite3 *db, void (*line)(void *ctx, const char *text), void *ctx,
			   const char **what);

/* A run of this sensor (or of none: written before sensors) that read a
 * file of f's size: one file seen by two sensors is two links' traffic.
 * With f's SHA-256, one with that SHA-256 first, else one that never
 * recorded its own: a STORE_RUN_ code (STORE_RUN_BEGUN: none), with a
 * sentence naming the run in text. */
int runlog_find_file(sqlite3 *db, const struct run_file *f, const char *sensor, char *text,
		     size_t textlen, const char **what);

/* Records the SHA-256 of run id's file (a run that read no file keeps
 * NULL). */
int runlog_set_file_sha256(sqlite3 *db, int64_t id, const char *sha256, const char **what);

#endif
