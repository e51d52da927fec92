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

struct spool *spool_new(const char *path, size_t rec_size, uint64_t max_bytes)
{
	struct spool *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->path, sizeof s->path, "%s", path);
	s->fd = -1;
	s->rec = rec_size;
	s->max = max_bytes;
	keep_leftover(s);
	spool_create(s); /* now, while the process may still be root (-Z); else on the first put */
	return s;
}

void spool_free(struct spool *s)
{
	if (!s)
		return;
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

const char *spool_leftover(const struct spool *s)
{
	return s->leftover[0] ? s->leftover : NULL;
}

const char *spool_path(const struct spool *s)
{
	return s->path;
}
