/* Folding the writer's rows into a rollup in C (internal to store/): the
 * rows of a transaction are grouped in memory by the rollup's bucket and
 * keys, as its GROUP BY would group them, and each group is added to the
 * tables with one upsert. The definition stays the one of rollup.c: keys
 * and plain measures ("1", "s.col", "s.a + s.b") are read from the row;
 * every other measure is evaluated by SQLite from its SQL text, once per
 * distinct set of the values it reads (a few dozen in practice: flags and
 * codes), and remembered. The SQL fold over the session rows (rollup.c)
 * gives the same rows; the tests compare the two.
 *
 * Caps: a group per row at most (the writer commits every STORE_BATCH_ROWS
 * rows); FOLD_MEMO evaluated sets, forgotten all at once when full. */
#ifndef SMTPTLS_ROLLUP_FOLD_H
#define SMTPTLS_ROLLUP_FOLD_H

#include <sqlite3.h>
#include <stdint.h>

#include "rollup.h"
#include "writer.h"

#define FOLD_MEMO 4096

struct rollup_fold;

/* For rollup d on db; NULL when out of memory, or when d cannot be folded
 * in C (a key that is not a column, a WHERE): the caller folds with SQL. */
struct rollup_fold *rollup_fold_new(sqlite3 *db, const struct rollup_def *d);
void rollup_fold_free(struct rollup_fold *f);

/* Adds a row as stored (writer.h); 0, or -1 when a measure could not be
 * evaluated or memory ran out (the fold is then unusable until reset). */
int rollup_fold_row(struct rollup_fold *f, const struct writer_value *v);

/* Upserts the groups into the hour table, and those of hours before
 * promoted into the day and all-time tables too; forgets them. 0 or -1. */
int rollup_fold_flush(struct rollup_fold *f, int64_t promoted);

/* Forgets the groups (the transaction was rolled back). */
void rollup_fold_reset(struct rollup_fold *f);
/* The groups held now. */
size_t rollup_fold_groups(const struct rollup_fold *f);

#endif
