/* Crypto-PAn: the reference distribution's sample key and trace, the IPv6
 * vectors of a public implementation, the prefix-preserving property on
 * random addresses, key files, and address literals in names. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../engine/anon.h"
#include "check.h"

static const uint8_t ref_key[32] = {21,  34,  23,  141, 51,  164, 207, 128, 19,  10, 91,
				    22,  73,  144, 125, 16,  216, 152, 143, 131, 121, 121,
				    101, 39,  98,  87,  76,  45,  42,  132, 34,  2};

static const char *const vectors[][2] = {
	/* Crypto-PAn sample_trace_raw.dat -> sample_trace_sanitized.dat */
	{"128.11.68.132", "135.242.180.132"}, {"129.118.74.4", "134.136.186.123"},
	{"130.132.252.244", "133.68.164.234"}, {"141.223.7.43", "141.167.8.160"},
	{"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
	{"156.29.3.236", "147.225.12.42"},     {"165.247.96.84", "162.9.99.234"},
	{"166.107.77.190", "160.132.178.185"}, {"192.102.249.13", "252.138.62.131"},
	{"24.0.250.221", "100.15.198.226"},    {"64.14.118.196", "0.255.183.58"},
	{"10.185.25.118", "117.161.29.118"},
	/* IPv6, as Yawning/cryptopan's tests */
	{"::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"},
	{"::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"},
	{"2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"},
	{"2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"},
};

static void map(struct anon *a, const char *in, char *out)
{
	uint8_t bin[16] = {0};
	int family = strchr(in, ':') ? 6 : 4;
	inet_pton(family == 6 ? AF_INET6 : AF_INET, in, bin);
	anon_addr(a, family, bin);
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, bin, out, INET6_ADDRSTRLEN);
}

static void test_vectors(void)
{
	struct anon *a = anon_new(ref_key);
	char out[INET6_ADDRSTRLEN];
	for (int pass = 0; pass < 2; pass++) /* the second pass hits the cache */
		for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
			map(a, vectors[i][0], out);
			CHECK_STR(out, vectors[i][1]);
		}
	anon_free(a);
}

static int common_prefix(const uint8_t *x, const uint8_t *y, int bits)
{
	int n = 0;
	while (n < bits && ((x[n / 8] ^ y[n / 8]) & (0x80 >> (n % 8))) == 0)
		n++;
	return n;
}

/* Two addresses sharing exactly k leading bits map to two sharing exactly k. */
static void test_prefix_preserving(void)
{
	uint8_t key[32];
	srand(7);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)rand();
	struct anon *a = anon_new(key);
	int bad = 0;
	for (int t = 0; t < 2000; t++) {
		int family = t % 4 ? 4 : 6, bits = family == 4 ? 32 : 128;
		uint8_t x[16] = {0}, y[16] = {0};
		for (int i = 0; i < bits / 8; i++)
			x[i] = y[i] = (uint8_t)rand();
		int k = rand() % bits; /* flip bit k: share exactly k bits */
		y[k / 8] ^= (uint8_t)(0x80 >> (k % 8));
		for (int i = k / 8 + 1; i < bits / 8; i++)
			y[i] = (uint8_t)rand();
		anon_addr(a, family, x);
		anon_addr(a, family, y);
		bad += common_prefix(x, y, bits) != k;
	}
	CHECK_INT(bad, 0);
	anon_free(a);
}

static void test_literals(void)
{
	struct anon *a = anon_new(ref_key);
	char t[256];
	snprintf(t, sizeof t, "[128.11.68.132]");
	CHECK_INT(anon_literal(a, t, sizeof t), 1);
	CHECK_STR(t, "[135.242.180.132]");
	snprintf(t, sizeof t, "128.11.68.132");
	CHECK_INT(anon_literal(a, t, sizeof t), 1);
	CHECK_STR(t, "135.242.180.132");
	snprintf(t, sizeof t, "[IPv6:2001:db8::1]");
	CHECK_INT(anon_literal(a, t, sizeof t), 1);
	CHECK_STR(t, "[IPv6:4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e]");
	snprintf(t, sizeof t, "[ipv6:::1]");
	CHECK_INT(anon_literal(a, t, sizeof t), 1);
	CHECK_STR(t, "[ipv6:78ff:f001:9fc0:20df:8380:b1f1:704:ed]");
	const char *kept[] = {"mail.example.com", "", "[not.an.address]", "1.2.3", "[]",
			      "128.11.68.132x", "[128.11.68.132"};
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
		snprintf(t, sizeof t, "%s", kept[i]);
		CHECK_INT(anon_literal(a, t, sizeof t), 0);
		CHECK_STR(t, kept[i]);
	}
	anon_free(a);
}

static void test_lists(void)
{
	struct anon *a = anon_new(ref_key);
	char t[256];
	snprintf(t, sizeof t, "mx.example.com,128.11.68.132,2001:db8::1,*.example.com");
	CHECK_INT(anon_list(a, t, sizeof t), 2);
	CHECK_STR(t, "mx.example.com,135.242.180.132,4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e,"
		     "*.example.com");
	snprintf(t, sizeof t, "only.names,here");
	CHECK_INT(anon_list(a, t, sizeof t), 0);
	CHECK_STR(t, "only.names,here");
	snprintf(t, sizeof t, "%s", "");
	CHECK_INT(anon_list(a, t, sizeof t), 0);
	CHECK_STR(t, "");
	/* a mapped address longer than its original does not overflow: the tail
	 * that no longer fits is dropped, never left unmapped */
	char small[24];
	snprintf(small, sizeof small, "::1,128.11.68.132");
	anon_list(a, small, sizeof small);
	CHECK(strstr(small, "128.11.68.132") == NULL);
	CHECK(strlen(small) < sizeof small);
	anon_free(a);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void test_key_files(void)
{
	char dir[] = "/tmp/smtptls-anon-XXXXXX", path[256], err[256];
	uint8_t key[32];
	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof path, "%s/key", dir);
	write_file(path, ref_key, 32);
	CHECK_INT(anon_read_key(path, key, err, sizeof err), 0);
	CHECK(memcmp(key, ref_key, 32) == 0);
	/* mixed case, a trailing newline */
	const char hex[] = "1522178D33A4CF80130A5B1649907D10d8988f837979652762574c2d2a842202\n";
	write_file(path, hex, sizeof hex - 1);
	memset(key, 0, sizeof key);
	CHECK_INT(anon_read_key(path, key, err, sizeof err), 0);
	CHECK(memcmp(key, ref_key, 32) == 0);
	write_file(path, "short", 5);
	CHECK_INT(anon_read_key(path, key, err, sizeof err), -1);
	CHECK(strstr(err, path) != NULL);
	snprintf(path, sizeof path, "%s/missing", dir);
	CHECK_INT(anon_read_key(path, key, err, sizeof err), -1);
	CHECK(strstr(err, "cannot read key file") != NULL);
	snprintf(path, sizeof path, "%s/key", dir);
	remove(path);
	remove(dir);
}

int main(void)
{
	test_vectors();
	test_prefix_preserving();
	test_literals();
	test_lists();
	test_key_files();
	return check_done("anon");
}
