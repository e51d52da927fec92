#define _POSIX_C_SOURCE 200809L
#include "file_hash.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static int hash_fd(int fd, gcry_md_hd_t md, uint64_t *size)
{
	unsigned char *buf = malloc(CHUNK);
	ssize_t n;
	*size = 0;
	if (!buf)
		return -1;
	while ((n = read(fd, buf, CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		gcry_md_write(md, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	free(buf);
	return n < 0 ? -1 : 0;
}

int file_sha256(const char *path, uint64_t *size, char hex[65], char *err, size_t errlen)
{
	struct stat sb;
	gcry_md_hd_t md;
	if (strcmp(path, "-") == 0 || stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !gcry_check_version(NULL) || gcry_md_open(&md, GCRY_MD_SHA256, 0)) {
		snprintf(err, errlen, "%s: cannot read it to hash it: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = hash_fd(fd, md, size);
	if (rc == 0) {
		const unsigned char *d = gcry_md_read(md, GCRY_MD_SHA256);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", d[i]);
	} else {
		snprintf(err, errlen, "%s: read error while hashing it: %s", path, strerror(errno));
	}
	gcry_md_close(md);
	close(fd);
	return rc < 0 ? -1 : 1;
}
