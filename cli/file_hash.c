#define _GNU_SOURCE
#include "file_hash.h"
#include "../common/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

int file_size_of(const char *path, uint64_t *size)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	*size = (uint64_t)sb.st_size;
	return 1;
}

/* Hashes size bytes of fd: 0, -1 (read error, errno), -2 (ended early),
 * -3 (stopped: *stop set). */
static int hash_fd(int fd, gcry_md_hd_t md, uint64_t size, const atomic_int *stop)
{
	unsigned char *buf = malloc(CHUNK);
	uint64_t done = 0;
	ssize_t n = 1;
	if (!buf)
		return -1;
	while (done < size && n != 0 && !(stop && atomic_load(stop))) {
		size_t want = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
		n = read(fd, buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		gcry_md_write(md, buf, (size_t)n);
		done += (uint64_t)n;
	}
	free(buf);
	return n < 0 ? -1 : done == size ? 0 : n == 0 ? -2 : -3;
}

static void to_hex(const unsigned char *d, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "%s: cannot read it to hash it: %s", path, strerror(errno));
	return fd;
}

/* Hashes size bytes of fd, the file at path, and closes fd. */
static int hash_file(int fd, const char *path, uint64_t size, char hex[65],
		     const atomic_int *stop, char *err, size_t errlen)
{
	gcry_md_hd_t md;
	if (!crypto_ready() || gcry_md_open(&md, GCRY_MD_SHA256, 0)) {
		snprintf(err, errlen, "%s: cannot hash it: libgcrypt is not usable", path);
		close(fd);
		return -1;
	}
	int rc = hash_fd(fd, md, size, stop);
	if (rc == 0)
		to_hex(gcry_md_read(md, GCRY_MD_SHA256), hex);
	else if (rc == -1)
		snprintf(err, errlen, "%s: read error while hashing it: %s", path, strerror(errno));
	else if (rc == -2)
		snprintf(err, errlen, "%s: it became shorter while it was read (%llu bytes before)",
			 path, (unsigned long long)size);
	else
		snprintf(err, errlen, "%s: hashing it was stopped", path);
	gcry_md_close(md);
	close(fd);
	return rc < 0 ? -1 : 0;
}

int file_sha256(const char *path, uint64_t size, char hex[65], char *err, size_t errlen)
{
	int fd = open_file(path, err, errlen);
	return fd < 0 ? -1 : hash_file(fd, path, size, hex, NULL, err, errlen);
}

struct file_hasher {
	pthread_t thread;
	char *path;
	int fd;                    /* opened by the caller: before privileges are dropped */
	uint64_t size;
	atomic_int stop;
	int rc;
	double cpu;
	char hex[65];
	char err[1024];
};

static void *hasher_main(void *arg)
{
	struct file_hasher *h = arg;
	struct sched_param none = {0};
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &none); /* else a normal thread */
	struct timespec ts;
	h->rc = hash_file(h->fd, h->path, h->size, h->hex, &h->stop, h->err, sizeof h->err);
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		h->cpu = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return NULL;
}

struct file_hasher *file_hasher_start(const char *path, uint64_t size, char *err,
				      size_t errlen)
{
	int fd = open_file(path, err, errlen);
	if (fd < 0)
		return NULL;
	struct file_hasher *h = calloc(1, sizeof *h);
	if (h && (h->path = strdup(path)) != NULL) {
		h->fd = fd;
		h->size = size;
		if (pthread_create(&h->thread, NULL, hasher_main, h) == 0)
			return h;
		free(h->path);
	}
	free(h);
	close(fd);
	snprintf(err, errlen, "%s: cannot start hashing it (out of memory or threads)", path);
	return NULL;
}

int file_hasher_wait(struct file_hasher *h, char hex[65], double *cpu, char *err,
		     size_t errlen)
{
	struct sched_param normal = {0};
	pthread_setschedparam(h->thread, SCHED_OTHER, &normal); /* waited for: no longer idle */
	pthread_join(h->thread, NULL);
	int rc = h->rc;
	*cpu = h->cpu;
	if (rc == 0)
		memcpy(hex, h->hex, 65);
	else
		snprintf(err, errlen, "%s", h->err);
	free(h->path);
	free(h);
	return rc;
}

void file_hasher_stop(struct file_hasher *h)
{
	char hex[65], err[8];
	double cpu;
	if (!h)
		return;
	atomic_store(&h->stop, 1);
	file_hasher_wait(h, hex, &cpu, err, sizeof err);
}
