#define _POSIX_C_SOURCE 200809L
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Records go to the page cache with pwrite(): no fsync, since the spool
 * only has to outlive the writer falling behind, not a crash (rows still
 * in memory would be lost in a crash anyway). */
struct spool {
	char path[528];
	int fd;            /* -1 until the first put */
	size_t rec;
	uint64_t max;
	uint64_t head;     /* offset of the oldest record not taken */
	uint64_t tail;     /* offset where the next record goes */
	char leftover[560];/* where an earlier process's rows were put aside, or "" */
	int keep;          /* spool_resume: records not taken stay in the file */
};

/* A spool left with rows by a process that ended before writing them
 * back (killed) is kept aside, not emptied: PATH.left-EPOCH. */
static void keep_leftover(struct spool *s)
{
	struct stat sb;
	if (stat(s->path, &sb) < 0 || sb.st_size == 0)
		return;
	snprintf(s->leftover, sizeof s->leftover, "%s.left-%lld", s->path, (long long)time(NULL));
	if (rename(s->path, s->leftover) < 0)
		s->leftover[0] = '\0';
}

static int spool_create(struct spool *s)
{
	s->fd = open(s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return s->fd < 0 ? -1 : 0;
}

/* A spool of no file yet. */
static struct spool *spool_alloc(const char *path, size_t rec_size, uint64_t max_bytes)
{
	struct spool *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->path, sizeof s->path, "%s", path);
	s->fd = -1;
	s->rec = rec_size;
	s->max = max_bytes;
	return s;
}

struct spool *spool_new(const char *path, size_t rec_size, uint64_t max_bytes)
{
	struct spool *s = spool_alloc(path, rec_size, max_bytes);
	if (!s)
		return NULL;
	keep_leftover(s);
	spool_create(s); /* now, while the process may still be root (-Z); else on the first put */
	return s;
}

static void compact(struct spool *s);

void spool_free(struct spool *s)
{
	if (!s)
		return;
	if (s->keep && s->fd >= 0 && s->head < s->tail)
		compact(s);
	if (s->fd >= 0) {
		close(s->fd);
		if (s->head == s->tail)
			unlink(s->path);
	}
	free(s);
}

int spool_put(struct spool *s, const void *rec)
{
	if (s->tail - s->head + s->rec > s->max) {
		errno = ENOSPC;
		return -1;
	}
	if (s->fd < 0 && spool_create(s) < 0)
		return -1;
	const char *p = rec;
	size_t done = 0;
	while (done < s->rec) {
		ssize_t n = pwrite(s->fd, p + done, s->rec - done, (off_t)(s->tail + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* the partial record is written over by the next */
		done += (size_t)n;
	}
	s->tail += s->rec;
	return 0;
}

uint64_t spool_count(const struct spool *s)
{
	return (s->tail - s->head) / s->rec;
}

uint64_t spool_head(const struct spool *s)
{
	return s->head;
}

long spool_read(const struct spool *s, uint64_t at, void *buf, size_t n)
{
	size_t want = n * s->rec, done = 0;
	while (done < want) {
		ssize_t r = pread(s->fd, (char *)buf + done, want - done, (off_t)(at + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return (long)n;
}

void spool_take(struct spool *s, size_t n)
{
	s->head += n * s->rec;
	if (s->head == s->tail && s->fd >= 0 && ftruncate(s->fd, 0) == 0)
		s->head = s->tail = 0;
}

/* Copies from offset off to offset 0 (to < from): 0 or -1. */
static int copy_down(int fd, uint64_t from, uint64_t len)
{
	char buf[65536];
	uint64_t done = 0;
	while (done < len) {
		size_t want = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
		ssize_t r = pread(fd, buf, want, (off_t)(from + done));
		if (r <= 0 || pwrite(fd, buf, (size_t)r, (off_t)done) != r)
			return -1;
		done += (uint64_t)r;
	}
	return 0;
}

/* The records not taken move to the start of the file, so that the next
 * process reads them first (a failed copy leaves the file as it was:
 * records already taken are read again, which the ClickHouse writer's
 * ids make harmless). */
static void compact(struct spool *s)
{
	uint64_t len = s->tail - s->head;
	if (s->head == 0 || copy_down(s->fd, s->head, len) < 0)
		return;
	if (ftruncate(s->fd, (off_t)len) == 0) {
		s->head = 0;
		s->tail = len;
	}
}

struct spool *spool_resume(const char *path, size_t rec_size, uint64_t max_bytes)
{
	struct stat sb;
	struct spool *s = spool_alloc(path, rec_size, max_bytes);
	if (!s)
		return NULL;
	s->keep = 1;
	if (stat(path, &sb) == 0 && (uint64_t)sb.st_size % rec_size != 0)
		keep_leftover(s);
	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd >= 0 && fstat(s->fd, &sb) == 0)
		s->tail = (uint64_t)sb.st_size;
	return s;
}

int spool_rewrite(struct spool *s, uint64_t at, const void *buf, size_t n)
{
	size_t want = n * s->rec, done = 0;
	if (s->fd < 0 || at < s->head || at + want > s->tail)
		return -1;
	while (done < want) {
		ssize_t r = pwrite(s->fd, (const char *)buf + done, want - done, (off_t)(at + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

const char *spool_leftover(const struct spool *s)
{
	return s->leftover[0] ? s->leftover : NULL;
}

const char *spool_path(const struct spool *s)
{
	return s->path;
}
