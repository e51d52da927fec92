/* ClickHouse URLs (churl.h). */
#define _POSIX_C_SOURCE 200809L
#include "churl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int churl_is_url(const char *s)
{
	const char *p = s;
	if (!isalpha((unsigned char)*p))
		return 0;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return !strncmp(p, "://", 3);
}

void churl_redact(const char *s, char *out, size_t cap)
{
	const char *auth = strstr(s, "://");
	const char *at = auth ? strchr(auth + 3, '@') : NULL;
	const char *slash = auth ? strchr(auth + 3, '/') : NULL;
	if (!auth || !at || (slash && slash < at)) {
		snprintf(out, cap, "%s", s);
		return;
	}
	const char *colon = memchr(auth + 3, ':', (size_t)(at - auth - 3));
	if (!colon) {
		snprintf(out, cap, "%s", s);
		return;
	}
	snprintf(out, cap, "%.*s%s", (int)(colon - s), s, at); /* user@..., no ":password" */
}

static int bad(const struct ch_url *u, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "database URL '%s': %s", u->shown, why);
	return -1;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent-decodes p[0..n) into out; -1 on a bad escape, a NUL or no room. */
static int decode(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval((unsigned char)p[i + 1]), lo = hexval((unsigned char)p[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int identifier(const char *p, size_t n, char *out, size_t cap)
{
	if (n == 0 || n >= cap || !(isalpha((unsigned char)p[0]) || p[0] == '_'))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_')
			return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

static int port_of(const char *p, size_t n)
{
	int v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* "host", "host:port", "[v6]" or "[v6]:port" in p[0..n). */
static int host_port(const char *p, size_t n, char *host, size_t cap, int *port)
{
	const char *end = p + n, *colon;
	*port = CHURL_DEFAULT_PORT;
	if (n && p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || close == p + 1 || (size_t)(close - p - 1) >= cap)
			return -1;
		memcpy(host, p + 1, (size_t)(close - p - 1));
		host[close - p - 1] = '\0';
		if (close + 1 == end)
			return 0;
		if (close[1] != ':')
			return -1;
		*port = port_of(close + 2, (size_t)(end - close - 2));
		return *port < 0 ? -1 : 0;
	}
	colon = memchr(p, ':', n);
	size_t hl = colon ? (size_t)(colon - p) : n;
	if (hl == 0 || hl >= cap)
		return -1;
	for (size_t i = 0; i < hl; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '-' && p[i] != '_')
			return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (colon && (*port = port_of(colon + 1, (size_t)(end - colon - 1))) < 0)
		return -1;
	return 0;
}

static int parse_userinfo(struct ch_url *u, const char *p, size_t n, char *err, size_t errlen)
{
	const char *colon = memchr(p, ':', n);
	size_t ul = colon ? (size_t)(colon - p) : n;
	if (ul == 0 || decode(p, ul, u->user, sizeof u->user) < 0)
		return bad(u, err, errlen, "bad user name (percent-encode special characters)");
	if (colon && decode(colon + 1, n - ul - 1, u->password, sizeof u->password) < 0)
		return bad(u, err, errlen, "bad password (percent-encode special characters)");
	return 0;
}

static int parse_shards(struct ch_url *u, const char *p, size_t n, char *err, size_t errlen)
{
	const char *end = p + n;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
		char host[256];
		int port;
		if (u->nshards == CHURL_MAX_SHARDS || host_port(p, len, host, sizeof host, &port) < 0)
			return bad(u, err, errlen, "shards= takes HOST:PORT,HOST:PORT (HTTP ports)");
		snprintf(u->shards[u->nshards++], sizeof u->shards[0], "%s%s%s:%d",
			 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
		p += len + (comma ? 1 : 0);
	}
	return 0;
}

static int parse_query(struct ch_url *u, const char *q, char *err, size_t errlen)
{
	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		if (eq && (size_t)(eq - q) == 7 && !strncmp(q, "cluster", 7)) {
			if (identifier(eq + 1, len - 8, u->cluster, sizeof u->cluster) < 0)
				return bad(u, err, errlen, "cluster= takes a cluster name of "
					   "remote_servers ([A-Za-z_][A-Za-z0-9_]*)");
		} else if (eq && (size_t)(eq - q) == 6 && !strncmp(q, "shards", 6)) {
			if (parse_shards(u, eq + 1, len - 7, err, errlen) < 0)
				return -1;
		} else {
			char why[200];
			size_t kl = eq ? (size_t)(eq - q) : len;
			snprintf(why, sizeof why, "unknown parameter '%.*s' (cluster=, shards=)",
				 (int)(kl > 64 ? 64 : kl), q);
			return bad(u, err, errlen, why);
		}
		q += len + (q[len] == '&');
	}
	if (u->nshards && !u->cluster[0])
		return bad(u, err, errlen, "shards= needs cluster=");
	return 0;
}

int churl_parse(const char *s, struct ch_url *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof *u);
	churl_redact(s, u->shown, sizeof u->shown);
	if (!churl_is_url(s))
		return bad(u, err, errlen, "not a URL (clickhouse://HOST:PORT/DATABASE)");
	if (strncmp(s, CHURL_SCHEME, strlen(CHURL_SCHEME))) {
		char why[160];
		size_t sl = (size_t)(strstr(s, "://") - s);
		snprintf(why, sizeof why, "unknown scheme '%.*s' (clickhouse:// or a file path)",
			 (int)(sl > 32 ? 32 : sl), s);
		return bad(u, err, errlen, why);
	}
	const char *auth = s + strlen(CHURL_SCHEME);
	const char *slash = strchr(auth, '/');
	const char *qm = strchr(auth, '?');
	if (qm && (!slash || qm < slash))
		return bad(u, err, errlen, "no database (clickhouse://HOST:PORT/DATABASE)");
	size_t alen = slash ? (size_t)(slash - auth) : strlen(auth);
	const char *at = memchr(auth, '@', alen);
	if (at && parse_userinfo(u, auth, (size_t)(at - auth), err, errlen) < 0)
		return -1;
	if (!at)
		snprintf(u->user, sizeof u->user, "default");
	const char *hp = at ? at + 1 : auth;
	size_t hl = alen - (size_t)(hp - auth);
	if (hl == 0 || hp[0] == ':')
		return bad(u, err, errlen, "no host (clickhouse://HOST:PORT/DATABASE)");
	if (host_port(hp, hl, u->host, sizeof u->host, &u->port) < 0)
		return bad(u, err, errlen, "bad host or port (HOST:PORT, [IPv6]:PORT; port 1-65535)");
	if (!slash)
		return bad(u, err, errlen, "no database (clickhouse://HOST:PORT/DATABASE)");
	size_t dl = qm ? (size_t)(qm - slash - 1) : strlen(slash + 1);
	if (identifier(slash + 1, dl, u->database, sizeof u->database) < 0)
		return bad(u, err, errlen, dl ? "bad database name ([A-Za-z_][A-Za-z0-9_]*)"
					      : "no database (clickhouse://HOST:PORT/DATABASE)");
	if (qm && parse_query(u, qm + 1, err, errlen) < 0)
		return -1;
	const char *env = getenv("SMTPTLS_CLICKHOUSE_PASSWORD");
	if (!(at && memchr(auth, ':', (size_t)(at - auth))) && env)
		snprintf(u->password, sizeof u->password, "%s", env);
	return 0;
}
