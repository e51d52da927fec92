/* End-to-end check: runs `smtptls capture` on a capture file and compares
 * the rows of the sessions table with the truth file's expectations.
 *
 * usage: e2e_rows SMTPTLS TRUTH.json CAPTURE_DIR NAME [capture options...]
 *
 * The truth file has the shape {"captures": {NAME: {"rows": N, "sessions":
 * [{column: value, ...}, ...]}}}: exactly N rows, and for each expected
 * session a distinct row whose listed columns hold the listed values.
 * Exits 0 on success, 1 on a mismatch, 77 (skip) when the capture
 * directory is absent. The JSON is read with SQLite's JSON functions. */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROWS 4096

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Runs argv, returns its exit status (or -1). */
static int run(char **argv)
{
	pid_t pid = fork();
	int status;
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int run_capture(const char *bin, const char *pcap, const char *db, int extra_n,
		       char **extra)
{
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)bin;
	argv[n++] = "capture";
	argv[n++] = "-q";
	argv[n++] = "-r";
	argv[n++] = (char *)pcap;
	argv[n++] = "--db";
	argv[n++] = (char *)db;
	for (int i = 0; i < extra_n && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	return run(argv);
}

struct ctx {
	sqlite3 *db;
	const char *truth;
	char path[1024]; /* JSON path of this capture's entry */
	long long used[MAX_ROWS];
	int nused;
	int failures;
};

static int column_exists(struct ctx *c, const char *name)
{
	sqlite3_stmt *s;
	int found = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT 1 FROM pragma_table_info('sessions') WHERE name=?",
			       -1, &s, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

static int is_used(const struct ctx *c, long long id)
{
	for (int i = 0; i < c->nused; i++)
		if (c->used[i] == id)
			return 1;
	return 0;
}

/* Scores every unused row by how many expected fields it matches; returns
 * the best row id (or -1) and its score. */
static long long best_row(struct ctx *c, const char *expect, int *score, int *fields)
{
	sqlite3_stmt *rows;
	long long best = -1;
	*score = -1;
	*fields = 0;
	if (sqlite3_prepare_v2(c->db, "SELECT id FROM sessions ORDER BY id", -1, &rows, NULL))
		return -1;
	while (sqlite3_step(rows) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(rows, 0);
		sqlite3_stmt *e;
		int sc = 0, nf = 0;
		if (is_used(c, id) ||
		    sqlite3_prepare_v2(c->db, "SELECT key, value, type FROM json_each(?1)", -1, &e,
				       NULL))
			continue;
		sqlite3_bind_text(e, 1, expect, -1, SQLITE_STATIC);
		while (sqlite3_step(e) == SQLITE_ROW) {
			const char *col = (const char *)sqlite3_column_text(e, 0);
			char q[256];
			sqlite3_stmt *v;
			nf++;
			if (!col || !column_exists(c, col))
				continue;
			snprintf(q, sizeof q, "SELECT \"%s\" IS ?1 FROM sessions WHERE id = ?2", col);
			if (sqlite3_prepare_v2(c->db, q, -1, &v, NULL))
				continue;
			sqlite3_bind_value(v, 1, sqlite3_column_value(e, 1));
			sqlite3_bind_int64(v, 2, id);
			if (sqlite3_step(v) == SQLITE_ROW && sqlite3_column_int(v, 0))
				sc++;
			sqlite3_finalize(v);
		}
		sqlite3_finalize(e);
		*fields = nf;
		if (sc > *score) {
			*score = sc;
			best = id;
		}
	}
	sqlite3_finalize(rows);
	return best;
}

/* Prints the fields of expect that row id does not hold. */
static void explain(struct ctx *c, const char *expect, long long id)
{
	sqlite3_stmt *e;
	if (sqlite3_prepare_v2(c->db, "SELECT key, value FROM json_each(?1)", -1, &e, NULL))
		return;
	sqlite3_bind_text(e, 1, expect, -1, SQLITE_STATIC);
	while (sqlite3_step(e) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(e, 0);
		const char *want = (const char *)sqlite3_column_text(e, 1);
		char q[256];
		sqlite3_stmt *v;
		if (!col || !column_exists(c, col)) {
			fprintf(stderr, "    column %s: no such column\n", col ? col : "?");
			continue;
		}
		snprintf(q, sizeof q, "SELECT \"%s\", \"%s\" IS ?1 FROM sessions WHERE id = ?2", col,
			 col);
		if (sqlite3_prepare_v2(c->db, q, -1, &v, NULL))
			continue;
		sqlite3_bind_value(v, 1, sqlite3_column_value(e, 1));
		sqlite3_bind_int64(v, 2, id);
		if (sqlite3_step(v) == SQLITE_ROW && !sqlite3_column_int(v, 1)) {
			const char *got = (const char *)sqlite3_column_text(v, 0);
			fprintf(stderr, "    %s: got %s, want %s\n", col, got ? got : "NULL",
				want ? want : "null");
		}
		sqlite3_finalize(v);
	}
	sqlite3_finalize(e);
}

static void match_session(struct ctx *c, int index, const char *expect)
{
	int score, fields;
	long long id = best_row(c, expect, &score, &fields);
	if (id >= 0 && score == fields) {
		if (c->nused < MAX_ROWS)
			c->used[c->nused++] = id;
		return;
	}
	c->failures++;
	fprintf(stderr, "  expected session %d not found: %s\n", index, expect);
	if (id >= 0) {
		fprintf(stderr, "  closest row (id %lld) differs in:\n", id);
		explain(c, expect, id);
	}
}

static int check_rows(struct ctx *c)
{
	char q[1200];
	sqlite3_stmt *s;
	long long want = -1, got = -1;
	snprintf(q, sizeof q,
		 "SELECT json_extract(?1, '%s.rows'), (SELECT count(*) FROM sessions)", c->path);
	if (sqlite3_prepare_v2(c->db, q, -1, &s, NULL))
		return -1;
	sqlite3_bind_text(s, 1, c->truth, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		want = sqlite3_column_int64(s, 0);
		got = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (want < 0) {
		fprintf(stderr, "  no truth for this capture (%s)\n", c->path);
		return -1;
	}
	if (got != want) {
		fprintf(stderr, "  rows: got %lld, want %lld\n", got, want);
		c->failures++;
	}
	return 0;
}

static void check_sessions(struct ctx *c)
{
	char q[1200];
	sqlite3_stmt *s;
	int i = 0;
	snprintf(q, sizeof q, "SELECT value FROM json_each(?1, '%s.sessions')", c->path);
	if (sqlite3_prepare_v2(c->db, q, -1, &s, NULL))
		return;
	sqlite3_bind_text(s, 1, c->truth, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW)
		match_session(c, i++, (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

int main(int argc, char **argv)
{
	struct ctx c;
	struct stat st;
	char pcap[1024], db[] = "/tmp/smtptls-e2e-XXXXXX";
	if (argc < 5) {
		fprintf(stderr, "usage: e2e_rows SMTPTLS TRUTH CAPTURE_DIR NAME [options]\n");
		return 2;
	}
	if (stat(argv[3], &st) < 0) {
		printf("skipped: %s not found (public corpus absent)\n", argv[3]);
		return 77;
	}
	memset(&c, 0, sizeof c);
	snprintf(pcap, sizeof pcap, "%s/%s", argv[3], argv[4]);
	snprintf(c.path, sizeof c.path, "$.captures.\"%s\"", argv[4]);
	c.truth = read_file(argv[2]);
	int fd = mkstemp(db);
	if (!c.truth || fd < 0) {
		fprintf(stderr, "cannot read %s or create a temporary database\n", argv[2]);
		return 1;
	}
	close(fd);
	unlink(db);
	int rc = run_capture(argv[1], pcap, db, argc - 5, argv + 5);
	if (rc != 0) {
		fprintf(stderr, "%s: smtptls capture exited %d\n", argv[4], rc);
		free((char *)c.truth);
		return 1;
	}
	if (sqlite3_open_v2(db, &c.db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    check_rows(&c) < 0) {
		fprintf(stderr, "%s: cannot check the database %s\n", argv[4], db);
		free((char *)c.truth);
		return 1;
	}
	check_sessions(&c);
	sqlite3_close(c.db);
	free((char *)c.truth);
	printf("%s: %s\n", argv[4], c.failures ? "MISMATCH" : "all rows as expected");
	if (!c.failures) {
		char wal[64], shm[64];
		snprintf(wal, sizeof wal, "%s-wal", db);
		snprintf(shm, sizeof shm, "%s-shm", db);
		unlink(db), unlink(wal), unlink(shm);
	} else {
		fprintf(stderr, "  database kept at %s\n", db);
	}
	return c.failures ? 1 : 0;
}
