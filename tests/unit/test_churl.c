/* ClickHouse URLs: what parses, what is refused and how it is named. */
#include <stdlib.h>
#include <string.h>

#include "../../store/churl.h"
#include "check.h"

static void test_good(void)
{
	struct ch_url u;
	char err[512];
	unsetenv("SMTPTLS_CLICKHOUSE_PASSWORD");
	CHECK_INT(churl_parse("clickhouse://h.example:8124/fleet", &u, err, sizeof err), 0);
	CHECK_STR(u.host, "h.example");
	CHECK_INT(u.port, 8124);
	CHECK_STR(u.user, "default");
	CHECK_STR(u.password, "");
	CHECK_STR(u.database, "fleet");
	CHECK_STR(u.cluster, "");

	CHECK_INT(churl_parse("clickhouse://ann:p%40ss%3Aw@127.0.0.1/db_1?cluster=two", &u, err,
			      sizeof err), 0);
	CHECK_STR(u.user, "ann");
	CHECK_STR(u.password, "p@ss:w");
	CHECK_INT(u.port, CHURL_DEFAULT_PORT);
	CHECK_STR(u.cluster, "two");
	CHECK_STR(u.shown, "clickhouse://ann@127.0.0.1/db_1?cluster=two");

	CHECK_INT(churl_parse("clickhouse://[::1]:9/d?cluster=c&shards=10.0.0.2:8123,[::2]:81", &u,
			      err, sizeof err), 0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.port, 9);
	CHECK_INT(u.nshards, 2);
	CHECK_STR(u.shards[0], "10.0.0.2:8123");
	CHECK_STR(u.shards[1], "[::2]:81");

	setenv("SMTPTLS_CLICKHOUSE_PASSWORD", "fromenv", 1);
	CHECK_INT(churl_parse("clickhouse://bob@h:1/d", &u, err, sizeof err), 0);
	CHECK_STR(u.password, "fromenv");
	CHECK_INT(churl_parse("clickhouse://bob:url@h:1/d", &u, err, sizeof err), 0);
	CHECK_STR(u.password, "url"); /* the URL's own wins */
	unsetenv("SMTPTLS_CLICKHOUSE_PASSWORD");
}

static const struct {
	const char *url, *message;
} bad[] = {
	{"clickhouse://", "no host"},
	{"clickhouse:///db", "no host"},
	{"clickhouse://:8123/db", "no host"},
	{"clickhouse://h:8123", "no database"},
	{"clickhouse://h:8123/", "no database"},
	{"clickhouse://h:8123?cluster=x", "no database"},
	{"clickhouse://h:0/db", "bad host or port"},
	{"clickhouse://h:70000/db", "bad host or port"},
	{"clickhouse://h:12ab/db", "bad host or port"},
	{"clickhouse://h o/db", "bad host or port"},
	{"clickhouse://[::1/db", "bad host or port"},
	{"clickhouse://h/db-1", "bad database name"},
	{"clickhouse://h/1db", "bad database name"},
	{"clickhouse://h/db?cluster=", "cluster= takes"},
	{"clickhouse://h/db?replica=1", "unknown parameter 'replica'"},
	{"clickhouse://h/db?shards=a:1", "shards= needs cluster="},
	{"clickhouse://h/db?cluster=c&shards=a:x", "shards= takes"},
	{"clickhouse://u%4:pw@h/db", "bad user name"},
	{"clickhouse://u:p%00w@h/db", "bad password"},
	{"postgres://h/db", "unknown scheme 'postgres'"},
	{"http://u:secret@h:8123/db", "unknown scheme 'http'"},
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ch_url u;
		char err[512] = "";
		CHECK_INT(churl_parse(bad[i].url, &u, err, sizeof err), -1);
		if (!CHECK(strstr(err, bad[i].message)))
			fprintf(stderr, "     %s: %s\n", bad[i].url, err);
		CHECK(strstr(err, "database URL '") == err);
		CHECK(!strstr(err, "secret")); /* a password is never shown */
	}
}

static void test_redact(void)
{
	char out[256];
	churl_redact("clickhouse://u:pw@h:1/d", out, sizeof out);
	CHECK_STR(out, "clickhouse://u@h:1/d");
	churl_redact("clickhouse://h:1/d?x=a:b@c", out, sizeof out);
	CHECK_STR(out, "clickhouse://h:1/d?x=a:b@c");
	churl_redact("/var/lib/smtptls/x.db", out, sizeof out);
	CHECK_STR(out, "/var/lib/smtptls/x.db");
	CHECK(churl_is_url("clickhouse://x"));
	CHECK(churl_is_url("ftp://x"));
	CHECK(!churl_is_url("./clickhouse:/x"));
	CHECK(!churl_is_url("mail.db"));
}

int main(void)
{
	test_good();
	test_bad();
	test_redact();
	return check_done("churl");
}
