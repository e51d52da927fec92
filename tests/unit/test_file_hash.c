/* The capture file's SHA-256: the digest of its first size bytes, the same
 * computed at once and by the idle-class thread; a file shorter than the
 * size given, or one that cannot be opened, is an error naming it; a
 * hashing stopped halfway frees everything (ASan). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../cli/file_hash.h"
#include "check.h"

/* SHA-256 of "abc" (FIPS 180-2, appendix B.1) */
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* SHA-256 of the empty string */
#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(fwrite(text, 1, n, f) == n);
	fclose(f);
}

static void test_digests(const char *dir)
{
	char path[256], hex[65], err[512];
	uint64_t size = 0;
	snprintf(path, sizeof path, "%s/abcd", dir);
	write_file(path, "abcd", 4);
	CHECK_INT(file_size_of(path, &size), 1);
	CHECK_INT((long long)size, 4);
	CHECK_INT(file_size_of("-", &size), 0);
	CHECK_INT(file_size_of(dir, &size), 0);
	CHECK_INT(file_sha256(path, 3, hex, err, sizeof err), 0); /* the first 3 bytes */
	CHECK_STR(hex, SHA_ABC);
	CHECK_INT(file_sha256(path, 0, hex, err, sizeof err), 0);
	CHECK_STR(hex, SHA_EMPTY);
	CHECK_INT(file_sha256(path, 5, hex, err, sizeof err), -1);
	CHECK(strstr(err, path) && strstr(err, "shorter"));
	snprintf(path, sizeof path, "%s/absent", dir);
	CHECK_INT(file_sha256(path, 3, hex, err, sizeof err), -1);
	CHECK(strstr(err, path) && strstr(err, "cannot read"));
}

/* A file of 3 MiB + 7 bytes (several of the hasher's 1 MiB reads): the
 * thread's digest equals the direct one. */
static void test_thread(const char *dir)
{
	char path[256], direct[65], threaded[65] = "", err[512];
	size_t n = (3u << 20) + 7;
	char *buf = malloc(n);
	double cpu = -1;
	CHECK(buf != NULL);
	if (!buf)
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i * 131 + (i >> 12));
	snprintf(path, sizeof path, "%s/big", dir);
	write_file(path, buf, n);
	free(buf);
	CHECK_INT(file_sha256(path, n, direct, err, sizeof err), 0);
	struct file_hasher *h = file_hasher_start(path, n, err, sizeof err);
	CHECK(h != NULL);
	if (h) {
		CHECK_INT(file_hasher_wait(h, threaded, &cpu, err, sizeof err), 0);
		CHECK_STR(threaded, direct);
		CHECK(cpu >= 0);
	}
	h = file_hasher_start(path, n + 1, err, sizeof err); /* longer than the file */
	CHECK(h != NULL);
	if (h) {
		CHECK_INT(file_hasher_wait(h, threaded, &cpu, err, sizeof err), -1);
		CHECK(strstr(err, "shorter") != NULL);
	}
	file_hasher_stop(file_hasher_start(path, n, err, sizeof err)); /* stopped at once */
	file_hasher_stop(NULL);
	snprintf(path, sizeof path, "%s/absent", dir);
	CHECK(file_hasher_start(path, 1, err, sizeof err) == NULL);
	CHECK(strstr(err, path) != NULL);
}

int main(void)
{
	char dir[] = "/tmp/test_file_hash_XXXXXX", cmd[320];
	if (!mkdtemp(dir))
		return 1;
	test_digests(dir);
	test_thread(dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_done("file_hash");
}
