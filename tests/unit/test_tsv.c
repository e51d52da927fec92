/* ClickHouse TabSeparated: escaping, unescaping, splitting rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/tsv.h"
#include "check.h"

/* Escaping then unescaping gives the value back, for every byte. */
static void test_round_trip(void)
{
	char in[256];
	for (int i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	struct tsv_buf b = {0};
	tsv_put_text(&b, in);
	CHECK(!b.failed);
	CHECK(strchr(b.p, '\t') == NULL && strchr(b.p, '\n') == NULL);
	long n = tsv_unescape(b.p, b.len);
	CHECK_INT(n, 255);
	CHECK(n == 255 && memcmp(b.p, in, 255) == 0);
	tsv_buf_free(&b);
}

static const struct {
	const char *value, *escaped;
} escapes[] = {
	{"plain", "plain"},
	{"a\tb", "a\\tb"},
	{"line\nnext", "line\\nnext"},
	{"back\\slash", "back\\\\slash"},
	{"it's", "it\\'s"},
	{"\r\b\f", "\\r\\b\\f"},
	{"\\N", "\\\\N"},
	{"", ""},
};

static void test_escape_table(void)
{
	for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
		struct tsv_buf b = {0};
		tsv_put_text(&b, escapes[i].value);
		CHECK_STR(b.p ? b.p : "", escapes[i].escaped);
		tsv_buf_free(&b);
	}
	struct tsv_buf b = {0};
	tsv_put_text(&b, NULL);
	CHECK_STR(b.p, "\\N");
	tsv_buf_free(&b);
}

static void test_unescape_other(void)
{
	char s[] = "a\\xb\\0c\\";
	CHECK_INT(tsv_unescape(s, 4), 3); /* "\x" stands for x */
	CHECK(memcmp(s, "axb", 3) == 0);
	char t[] = "\\0z";
	CHECK_INT(tsv_unescape(t, 3), 2);
	CHECK(t[0] == '\0' && t[1] == 'z');
	char u[] = "end\\";
	CHECK_INT(tsv_unescape(u, 4), -1); /* a lone backslash at the end */
}

static void test_split(void)
{
	char line[] = "1\t\\N\tx\\ty\t\t\\\\N\tlast";
	struct tsv_row r;
	CHECK_INT(tsv_split(line, strlen(line), &r), 0);
	CHECK_INT(r.n, 6);
	CHECK_STR(r.f[0], "1");
	CHECK(r.null[1]);
	CHECK(!r.null[2]);
	CHECK_STR(r.f[2], "x\ty");
	CHECK_INT(r.len[2], 3);
	CHECK_STR(r.f[3], "");
	CHECK(!r.null[3]);
	CHECK_STR(r.f[4], "\\N");
	CHECK(!r.null[4]);
	CHECK_STR(r.f[5], "last");

	char one[] = "";
	CHECK_INT(tsv_split(one, 0, &r), 0);
	CHECK_INT(r.n, 1);
	CHECK_STR(r.f[0], "");

	char bad[] = "a\tb\\";
	CHECK_INT(tsv_split(bad, strlen(bad), &r), -1);
	char nul[] = "a\\0b";
	CHECK_INT(tsv_split(nul, strlen(nul), &r), 0);
	CHECK_INT(r.len[0], 3);
}

/* Too many fields is an error, not an overflow. */
static void test_split_cap(void)
{
	size_t n = TSV_MAX_FIELDS + 1;
	char *line = malloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = '\t';
	}
	line[2 * n - 1] = '\0';
	struct tsv_row r;
	CHECK_INT(tsv_split(line, 2 * n - 1, &r), -1);
	free(line);
}

static void test_numbers(void)
{
	const double reals[] = {0, 1, -1, 0.1, 1700000000.123456, 1e-300, 123456789012.5};
	for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
		struct tsv_buf b = {0};
		tsv_put_real(&b, reals[i]);
		CHECK(strtod(b.p, NULL) == reals[i]);
		tsv_buf_free(&b);
	}
	struct tsv_buf b = {0};
	tsv_put_int(&b, -42);
	tsv_puts(&b, "\t");
	tsv_put_uint(&b, UINT64_MAX);
	CHECK_STR(b.p, "-42\t18446744073709551615");
	tsv_buf_free(&b);
}

static void test_cap(void)
{
	struct tsv_buf b = {.max = 8};
	tsv_puts(&b, "1234567");
	CHECK(!b.failed);
	tsv_puts(&b, "8");
	CHECK(b.failed);
	tsv_buf_free(&b);
}

int main(void)
{
	test_round_trip();
	test_escape_table();
	test_unescape_other();
	test_split();
	test_split_cap();
	test_numbers();
	test_cap();
	return check_done("tsv");
}
