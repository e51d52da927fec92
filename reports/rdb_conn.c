/* A reader's read-only connection (rdb_conn.h says when it is immutable
 * and why that is safe). */
#include "rdb_conn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* SQLite's lock bytes (os.h): PENDING, RESERVED, then the shared range. */
#define LOCK_PENDING 0x40000000L
#define LOCK_SHARED_FIRST (LOCK_PENDING + 2)
#define LOCK_SHARED_SIZE 510L
/* The byte an immutable reader holds: in the shared range, so that no
 * exclusive lock can be had, and apart from what the probe looks at, so
 * that readers do not keep each other from being immutable. */
#define LOCK_READER_BYTE (LOCK_SHARED_FIRST + LOCK_SHARED_SIZE - 1)
#define WATCH_EVERY 4096   /* SQLite instructions between checks */
#define LOCK_TRIES 50      /* 100 ms apart: a closing writer's checkpoint */

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends to a message already in err. */
__attribute__((format(printf, 3, 4)))
static void append(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;
	va_start(ap, fmt);
	if (used < errlen)
		vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

/* ---- the file and its companions ----------------------------------------- */

static int check_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return fail(err, errlen, "database '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return fail(err, errlen, "database '%s' is a directory, not a database file", path);
	if (access(path, R_OK) < 0)
		return fail(err, errlen, "database '%s': %s", path, strerror(errno));
	return 0;
}

/* 1 when PATH+suffix exists (or cannot be told not to). */
static int companion(const char *path, const char *suffix)
{
	char name[600];
	struct stat st;
	snprintf(name, sizeof name, "%s%s", path, suffix);
	return lstat(name, &st) == 0 || errno != ENOENT;
}

/* 1 when the database header says WAL (file format bytes 18 and 19). */
static int wal_header(int fd)
{
	unsigned char h[20];
	return pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h &&
	       memcmp(h, "SQLite format 3", 16) == 0 && h[18] == 2 && h[19] == 2;
}

/* 1 when another process holds any of SQLite's locks (PENDING, RESERVED
 * or shared) on the file, the immutable readers' byte aside. */
static int sqlite_locked(int fd)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = LOCK_PENDING,
			   .l_len = LOCK_READER_BYTE - LOCK_PENDING};
	return fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type != F_UNLCK;
}

/* Takes the reader's byte; waits out a closing writer's exclusive lock. */
static int take_reader_lock(int fd)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = LOCK_READER_BYTE,
			   .l_len = 1};
	struct timespec pause = {0, 100 * 1000 * 1000};
	for (int i = 0; i < LOCK_TRIES; i++) {
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* ---- SQLite connections ---------------------------------------------------- */

/* file:PATH?mode=ro[&immutable=1], PATH percent-encoded. */
static int make_uri(char *out, size_t cap, const char *path, int immutable)
{
	size_t used = (size_t)snprintf(out, cap, "file:");
	while (path[0] == '/' && path[1] == '/') /* "file://" would start an authority */
		path++;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (used + 4 >= cap)
			return -1;
		if (isalnum(*p) || strchr("/-._~", *p))
			out[used++] = (char)*p;
		else
			used += (size_t)snprintf(out + used, cap - used, "%%%02X", *p);
	}
	int n = snprintf(out + used, cap - used, "?mode=ro%s", immutable ? "&immutable=1" : "");
	return n > 0 && (size_t)n < cap - used ? 0 : -1;
}

/* Opens and reads the schema (which opens the WAL, if any): SQLite's code. */
static int connect(struct rdb_conn *c, const char *path, int immutable)
{
	char uri[2048];
	if (make_uri(uri, sizeof uri, path, immutable) < 0)
		return SQLITE_CANTOPEN;
	int rc = sqlite3_open_v2(uri, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_busy_timeout(c->db, 5000);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	return sqlite3_exec(c->db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_master;",
			    NULL, NULL, NULL);
}

/* The progress handler of an immutable connection: stops the query when
 * the file changed or a writer put frames into a WAL beside it. */
static int watch(void *arg)
{
	struct rdb_conn *c = arg;
	struct stat st;
	if (fstat(c->lock_fd, &st) < 0 || st.st_size != c->size ||
	    st.st_mtim.tv_sec != c->mtime.tv_sec || st.st_mtim.tv_nsec != c->mtime.tv_nsec ||
	    (stat(c->wal, &st) == 0 && st.st_size > 0))
		c->changed = 1;
	return c->changed;
}

/* The immutable connection, when nothing can be writing (rdb_conn.h). */
static int connect_immutable(struct rdb_conn *c, const char *path)
{
	struct stat st;
	c->lock_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->lock_fd < 0 || take_reader_lock(c->lock_fd) < 0 || sqlite_locked(c->lock_fd) ||
	    !wal_header(c->lock_fd) || companion(path, "-wal") || companion(path, "-shm") ||
	    companion(path, "-journal") || fstat(c->lock_fd, &st) < 0)
		return -1;
	c->size = (long long)st.st_size;
	c->mtime = st.st_mtim;
	snprintf(c->wal, sizeof c->wal, "%s-wal", path);
	if (connect(c, path, 1) != SQLITE_OK)
		return -1;
	c->immutable = 1;
	sqlite3_progress_handler(c->db, WATCH_EVERY, watch, c);
	return 0;
}

/* Why the read-only connection failed, in words that say what to do. */
static void explain(const char *path, sqlite3 *db, char *err, size_t errlen)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	char name[600];
	fail(err, errlen, "database '%s': cannot open: %s", path,
	     db ? sqlite3_errmsg(db) : "out of memory");
	for (size_t i = 0; i < 2; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
		if (companion(path, suffixes[i]) && access(name, R_OK) < 0) {
			append(err, errlen, " ('%s': %s)", name, strerror(errno));
			return;
		}
	}
	if (companion(path, "-wal") && !companion(path, "-shm"))
		append(err, errlen, " (its write-ahead log '%s-wal' must be recovered first, which"
		       " needs write access to its folder: run smtptls report there once as a user"
		       " who has it)", path);
	else if (companion(path, "-journal"))
		append(err, errlen, " (a rollback journal '%s-journal' is left to recover, which"
		       " needs write access to its folder)", path);
}

int rdb_conn_open(struct rdb_conn *c, const char *path, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->lock_fd = -1;
	if (check_file(path, err, errlen) < 0)
		return -1;
	int rc = connect(c, path, 0);
	if (rc == SQLITE_OK)
		return 0;
	explain(path, c->db, err, errlen);
	sqlite3_close(c->db);
	c->db = NULL;
	if ((rc & 0xff) != SQLITE_CANTOPEN && (rc & 0xff) != SQLITE_READONLY)
		return -1;
	if (connect_immutable(c, path) == 0)
		return 0;
	rdb_conn_close(c);
	return -1;
}

void rdb_conn_close(struct rdb_conn *c)
{
	sqlite3_close(c->db);
	c->db = NULL;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	c->lock_fd = -1;
}

const char *rdb_conn_note(const struct rdb_conn *c)
{
	return c->changed ? "a capture began writing it while it was read without locks (its"
			    " folder is not writable); run the report again"
			  : NULL;
}
