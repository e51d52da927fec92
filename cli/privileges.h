/* Dropping root after setup, as tcpdump -Z does. */
#ifndef SMTPTLS_PRIVILEGES_H
#define SMTPTLS_PRIVILEGES_H

#include <stddef.h>

/* Gives the database files (db, db-wal, db-shm) to user, then switches the
 * process to user's uid, gid and groups. Returns 0, or -1 with a message
 * naming the user in err. */
int privileges_drop(const char *user, const char *db, char *err, size_t errlen);

#endif
