/* A reader's connection to a session database: read-only, and readable by
 * a user who may read the database but not write its folder.
 *
 * It opens `file:PATH?mode=ro` first. With a writer running (WAL, its
 * -wal and -shm present and readable), SQLite (>= 3.22) reads through
 * the writer's -shm even when it cannot write it. A stopped sensor leaves
 * neither file, and a read-only connection cannot create them where the
 * folder is not writable: then, and only when no writer can be at work,
 * the database is opened `immutable=1` (no locks, no WAL):
 *   - the file is a WAL database (its header says so; a rollback-journal
 *     database opens read-only with locks and never comes here);
 *   - no -wal, -shm or -journal file exists beside it, so no write is in
 *     flight or left to recover;
 *   - no process holds any of SQLite's locks on it (a WAL connection
 *     holds a shared lock as long as it is open);
 *   - the reader holds a read lock on one byte of SQLite's shared range
 *     for as long as it reads: a writer that starts meanwhile cannot take
 *     the exclusive lock with which the last connection copies the WAL
 *     into the database file on closing;
 *   - while it reads, every few thousand SQLite instructions, it checks
 *     that the database file did not change and that no -wal with frames
 *     appeared (a writer's checkpoint, the only other write into the
 *     file, needs hundreds of pages in the WAL first); if either
 *     happened, the query is interrupted and the reader fails, naming the
 *     reason, rather than reading a half-written file. */
#ifndef SMTPTLS_RDB_CONN_H
#define SMTPTLS_RDB_CONN_H

#include <sqlite3.h>
#include <stddef.h>
#include <time.h>

struct rdb_conn {
	sqlite3 *db;
	int immutable;   /* opened immutable=1 (see above) */
	int lock_fd;     /* holds the read lock while immutable; else -1 */
	int changed;     /* a writer appeared while reading immutable */
	long long size;  /* the file's size and modification time at open */
	struct timespec mtime;
	char wal[520];   /* PATH-wal */
};

/* Opens path read-only (query_only, defensive, a busy timeout). Returns 0,
 * or -1 with a message naming the database in err: missing, a directory,
 * unreadable, not a database, or why it cannot be read without writing. */
int rdb_conn_open(struct rdb_conn *c, const char *path, char *err, size_t errlen);

/* Closes (after rdb_conn_open, whatever it returned). */
void rdb_conn_close(struct rdb_conn *c);

/* Why the last query was interrupted, or NULL. */
const char *rdb_conn_note(const struct rdb_conn *c);

#endif
