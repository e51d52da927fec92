/* The database's schema: store/schema.sql, embedded at build time, is a
 * list of numbered migrations; PRAGMA user_version says how many of them a
 * database has had. Opening a database for writing brings it up to
 * SCHEMA_VERSION, one transaction per step, and writes the registry's
 * tables (tls_versions, cipher_suites, ...) into it. */
#ifndef SMTPTLS_SCHEMA_H
#define SMTPTLS_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

#include "store.h"

#define SCHEMA_VERSION STORE_SCHEMA_VERSION

/* What a database holds, by PRAGMA user_version: 0 (empty: nothing in it
 * yet), 1 ... SCHEMA_VERSION. -1 with a message naming path in err when it
 * is not an smtptls database or was written by a newer smtptls. */
int schema_version(sqlite3 *db, const char *path, char *err, size_t errlen);

/* Brings the database up to SCHEMA_VERSION (an empty one from step 1),
 * each step in a transaction of its own, then writes the registry into
 * the lookup tables. Returns 0, or -1 with a message naming path. */
int schema_upgrade(sqlite3 *db, const char *path, char *err, size_t errlen);

/* The SQL text of migration n (1 ... SCHEMA_VERSION), NUL-terminated, to
 * free(); NULL when the schema has no such step or out of memory. */
char *schema_step(int n);

#endif
