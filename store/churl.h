/* ClickHouse URLs (internal to store/ and reports/):
 *   clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?cluster=NAME[&shards=H:P,...]]
 * HOST is a name, an IPv4 address or [IPv6]; PORT is ClickHouse's HTTP
 * port (default 8123); USER defaults to "default"; the password, when the
 * URL has none, comes from SMTPTLS_CLICKHOUSE_PASSWORD. USER and PASSWORD
 * may be percent-encoded. DATABASE and NAME are identifiers
 * ([A-Za-z_][A-Za-z0-9_]*). shards: the HTTP endpoints of the cluster's
 * shards other than HOST, when their HTTP port is not PORT. */
#ifndef SMTPTLS_CHURL_H
#define SMTPTLS_CHURL_H

#include <stddef.h>

#define CHURL_SCHEME "clickhouse://"
#define CHURL_MAX_SHARDS 32
#define CHURL_DEFAULT_PORT 8123

struct ch_url {
	char user[128];
	char password[256];
	char host[256];   /* without brackets */
	int port;
	char database[128];
	char cluster[128]; /* "" on a single server */
	char shown[768];  /* the URL as messages name it: the password left out */
	int nshards;      /* shards=: HTTP endpoints "host:port" */
	char shards[CHURL_MAX_SHARDS][280];
};

/* 1 when s looks like a URL (SCHEME://...), whatever its scheme. */
int churl_is_url(const char *s);

/* Parses s; 0, or -1 with a message naming the URL (without its password)
 * in err: syntax, an unknown scheme, no host, a bad port or database. */
int churl_parse(const char *s, struct ch_url *u, char *err, size_t errlen);

/* s as messages may name it: a URL's password is left out. */
void churl_redact(const char *s, char *out, size_t cap);

#endif
