/* The reader's connection (reports/rdb_conn.c), as a user who may read
 * the database but not write its folder (nobody, in a child process):
 * a stopped sensor's WAL database opens immutable, and only while nothing
 * can write it; a running writer's database is read through its -shm; a
 * writer that appears during an immutable read stops the read; immutable
 * readers do not keep each other out; a rollback-journal database opens
 * with locks; missing, directory, unreadable and unrecoverable files say
 * so. Needs root (to be nobody); skipped otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../reports/rdb_conn.h"
#include "check.h"

#define ROWS 20000 /* a count over them takes many progress-handler periods */
#define NOBODY 65534

static char dir[64];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int exists(const char *name)
{
	char p[256];
	path_of(p, sizeof p, name);
	return access(p, F_OK) == 0;
}

/* A database of ROWS rows, by root, in journal mode `mode`; closed, so a
 * WAL database leaves no -wal or -shm. */
static void make_db(const char *name, const char *mode)
{
	char p[256], sql[256];
	sqlite3 *db;
	path_of(p, sizeof p, name);
	snprintf(sql, sizeof sql, "PRAGMA journal_mode=%s; CREATE TABLE t (x TEXT);"
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO t SELECT printf('%%080d', i) FROM n;", mode, ROWS);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	chmod(p, 0644);
}

/* A writer's connection with one more row committed (in the WAL). */
static sqlite3 *writer(const char *name)
{
	char p[256];
	sqlite3 *db;
	path_of(p, sizeof p, name);
	CHECK(sqlite3_open(p, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "INSERT INTO t VALUES ('late');", NULL, NULL, NULL) == SQLITE_OK);
	return db;
}

/* ---- the reader, as nobody, in a child ------------------------------------ */

struct reader {
	const char *name;
	int want_open;      /* rdb_conn_open succeeds */
	int want_immutable;
	long want_rows;     /* rows counted, -1: the count is interrupted */
	const char *want_err; /* a substring of the message, when it fails */
	int ready, go;      /* pipes: opened (to the parent), query now (from it) */
};

static long count_rows(struct rdb_conn *c)
{
	sqlite3_stmt *s;
	long n = -1;
	if (sqlite3_prepare_v2(c->db, "SELECT count(*), sum(length(x)) FROM t;", -1, &s, NULL))
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int drop_to_nobody(void)
{
	return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0 ? 0 : -1;
}

/* The child's checks; their failures are its exit status. */
static void read_as_nobody(const struct reader *r)
{
	struct rdb_conn c;
	char p[256], err[1024] = "", byte = 1;
	check_failed = 0; /* the parent's failures are not the child's */
	path_of(p, sizeof p, r->name);
	if (drop_to_nobody() < 0)
		_exit(100);
	int rc = rdb_conn_open(&c, p, err, sizeof err);
	if (r->ready >= 0 && write(r->ready, &byte, 1) != 1)
		_exit(101);
	if (r->go >= 0 && read(r->go, &byte, 1) != 1)
		_exit(102);
	CHECK_INT(rc, r->want_open ? 0 : -1);
	if (rc == 0) {
		CHECK_INT(c.immutable, r->want_immutable);
		long n = count_rows(&c);
		CHECK_INT(n, r->want_rows);
		CHECK(r->want_rows >= 0 || rdb_conn_note(&c) != NULL);
	} else {
		CHECK(strstr(err, p) != NULL);
		if (r->want_err && !strstr(err, r->want_err))
			fprintf(stderr, "     message: %s\n", err);
		CHECK(!r->want_err || strstr(err, r->want_err));
	}
	rdb_conn_close(&c);
	_exit(check_failed ? 1 : 0);
}

static pid_t start_reader(struct reader *r)
{
	pid_t pid = fork();
	if (pid == 0)
		read_as_nobody(r);
	return pid;
}

static void finish_reader(pid_t pid, const char *what)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!check_report(WIFEXITED(st) && WEXITSTATUS(st) == 0, __FILE__, __LINE__, what))
		fprintf(stderr, "     the reader exited with %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void read_once(struct reader r, const char *what)
{
	r.ready = r.go = -1;
	finish_reader(start_reader(&r), what);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_stopped(void)
{
	make_db("stopped.db", "WAL");
	CHECK(!exists("stopped.db-wal") && !exists("stopped.db-shm"));
	read_once((struct reader){"stopped.db", 1, 1, ROWS, NULL, 0, 0},
		  "a stopped sensor's database reads, immutable");
	CHECK(!exists("stopped.db-wal") && !exists("stopped.db-shm"));

	make_db("rollback.db", "DELETE");
	read_once((struct reader){"rollback.db", 1, 0, ROWS, NULL, 0, 0},
		  "a rollback-journal database reads with locks");
}

/* The writer runs: its -wal and -shm are there, readable, not writable. */
static void test_running(void)
{
	make_db("running.db", "WAL");
	sqlite3 *w = writer("running.db");
	read_once((struct reader){"running.db", 1, 0, ROWS + 1, NULL, 0, 0},
		  "a running writer's database reads through its -shm");
	sqlite3_close(w);
}

/* A writer starts while an immutable reader reads: the read stops. */
static void test_writer_appears(void)
{
	int ready[2], go[2];
	char byte = 1;
	make_db("appears.db", "WAL");
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	struct reader r = {"appears.db", 1, 1, -1, NULL, ready[1], go[0]};
	pid_t pid = start_reader(&r);
	CHECK(read(ready[0], &byte, 1) == 1);
	sqlite3 *w = writer("appears.db");
	CHECK(write(go[1], &byte, 1) == 1);
	finish_reader(pid, "a writer that appears stops an immutable read");
	sqlite3_close(w);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
}

/* Two immutable readers at once; a lock SQLite takes keeps them out. */
static void test_locks(void)
{
	int ready[2], go[2];
	char byte = 1, p[256];
	make_db("two.db", "WAL");
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	struct reader first = {"two.db", 1, 1, ROWS, NULL, ready[1], go[0]};
	pid_t pid = start_reader(&first);
	CHECK(read(ready[0], &byte, 1) == 1);
	read_once((struct reader){"two.db", 1, 1, ROWS, NULL, 0, 0},
		  "a second immutable reader beside the first");
	CHECK(write(go[1], &byte, 1) == 1);
	finish_reader(pid, "the first immutable reader");
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);

	/* a shared lock as a SQLite connection holds it, without a WAL */
	path_of(p, sizeof p, "two.db");
	int fd = open(p, O_RDWR);
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0x40000002,
			   .l_len = 510};
	CHECK(fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0);
	read_once((struct reader){"two.db", 0, 0, 0, "cannot open", 0, 0},
		  "no immutable read while a SQLite lock is held");
	close(fd);
}

/* A killed writer's WAL without its -shm: it needs recovery, which a
 * reader of a folder it cannot write cannot do, and must not skip. */
static void test_unrecovered(void)
{
	char from[256], to[256], cmd[1400];
	make_db("killed.db", "WAL");
	sqlite3 *w = writer("killed.db");
	path_of(from, sizeof from, "killed.db");
	path_of(to, sizeof to, "copy.db");
	snprintf(cmd, sizeof cmd, "cp %s %s && cp %s-wal %s-wal && chmod 644 %s-wal", from, to,
		 from, to, to);
	CHECK(system(cmd) == 0);
	sqlite3_close(w);
	read_once((struct reader){"copy.db", 0, 0, 0, "must be recovered", 0, 0},
		  "a WAL without its -shm is not read as immutable");
}

static void test_files(void)
{
	char p[256];
	read_once((struct reader){"none.db", 0, 0, 0, "No such file or directory", 0, 0},
		  "a missing database");
	path_of(p, sizeof p, "sub.db");
	CHECK(mkdir(p, 0755) == 0);
	read_once((struct reader){"sub.db", 0, 0, 0, "is a directory", 0, 0}, "a directory");
	make_db("secret.db", "WAL");
	path_of(p, sizeof p, "secret.db");
	CHECK(chmod(p, 0600) == 0);
	read_once((struct reader){"secret.db", 0, 0, 0, "Permission denied", 0, 0},
		  "an unreadable database");
	path_of(p, sizeof p, "junk.db");
	FILE *f = fopen(p, "w");
	CHECK(f != NULL);
	fputs("SQLite format 3 but not really a database, as long as a header", f);
	fclose(f);
	chmod(p, 0644);
	read_once((struct reader){"junk.db", 0, 0, 0, "not a database", 0, 0}, "not a database");
}

int main(void)
{
	char cmd[128];
	if (geteuid() != 0) {
		printf("test_rdb_conn: skipped, needs root to read as nobody\n");
		return 77;
	}
	snprintf(dir, sizeof dir, "/tmp/test_rdb_conn.XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return 1;
	test_stopped();
	test_running();
	test_writer_appears();
	test_locks();
	test_unrecovered();
	test_files();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done("test_rdb_conn");
}
