/* ClickHouse over HTTP through libcurl (chttp.h). */
#define _POSIX_C_SOURCE 200809L
#include "chttp.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHTTP_RESULT_MAX (256u << 20) /* bytes of a result at most */

struct chttp {
	CURL *curl;
	char user[128], password[256], host[280], database[128];
	long connect_timeout, total_timeout;
	int code;            /* ClickHouse's error code of the last refusal */
	int is_clickhouse;   /* the last answer carried ClickHouse's header */
	struct tsv_buf scratch; /* the answer when the caller wants none */
	unsigned long long requests, bytes;
};

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct chttp *chttp_new(const struct ch_url *u)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, global_init);
	struct chttp *c = calloc(1, sizeof *c);
	if (!c || !(c->curl = curl_easy_init())) {
		free(c);
		return NULL;
	}
	snprintf(c->user, sizeof c->user, "%s", u->user);
	snprintf(c->password, sizeof c->password, "%s", u->password);
	snprintf(c->host, sizeof c->host, "%s%s%s:%d", strchr(u->host, ':') ? "[" : "", u->host,
		 strchr(u->host, ':') ? "]" : "", u->port);
	snprintf(c->database, sizeof c->database, "%s", u->database);
	c->connect_timeout = 5;
	c->total_timeout = 120;
	c->scratch.max = 1u << 20;
	return c;
}

void chttp_free(struct chttp *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	tsv_buf_free(&c->scratch);
	memset(c->password, 0, sizeof c->password);
	free(c);
}

void chttp_set_database(struct chttp *c, const char *database)
{
	snprintf(c->database, sizeof c->database, "%s", database);
}

void chttp_timeouts(struct chttp *c, long connect, long total)
{
	c->connect_timeout = connect;
	c->total_timeout = total;
}

int chttp_code(const struct chttp *c)
{
	return c->code;
}

void chttp_counts(const struct chttp *c, unsigned long long *requests, unsigned long long *bytes)
{
	*requests = c->requests;
	*bytes = c->bytes;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct tsv_buf *b = arg;
	tsv_put(b, p, size * n);
	return b->failed ? 0 : size * n;
}

/* Remembers whether the answer came from ClickHouse: its own header. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct chttp *c = arg;
	static const char mark[] = "X-ClickHouse-";
	if (size * n > sizeof mark && !strncasecmp(p, mark, sizeof mark - 1))
		c->is_clickhouse = 1;
	return size * n;
}

/* "Code: 193, e.displayText() = DB::Exception: Wrong password ..., e.what() = ..."
 * becomes its code and "Wrong password ...". */
static int parse_exception(const char *body, char *msg, size_t cap)
{
	int code = 0;
	const char *p = strstr(body, "Code: ");
	if (!p || sscanf(p, "Code: %d", &code) != 1)
		return 0;
	const char *m = strstr(p, "DB::Exception: ");
	m = m ? m + 15 : p;
	const char *end = strstr(m, ", e.what()");
	size_t len = end ? (size_t)(end - m) : strcspn(m, "\n");
	if (len > 300)
		len = 300;
	snprintf(msg, cap, "%.*s", (int)len, m);
	for (char *q = msg; *q; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	return code;
}

static int build_url(struct chttp *c, const char *endpoint, const char *sql, int in_url,
		     const char *settings, char *url, size_t cap)
{
	char *q = in_url ? curl_easy_escape(c->curl, sql, 0) : NULL;
	if (in_url && !q)
		return -1;
	int n = snprintf(url, cap, "http://%s/?%s%s%s%s%s%s%s", endpoint ? endpoint : c->host,
			 c->database[0] ? "database=" : "", c->database,
			 c->database[0] && in_url ? "&" : "", in_url ? "query=" : "", in_url ? q : "",
			 settings && (in_url || c->database[0]) ? "&" : "",
			 settings ? settings : "");
	curl_free(q);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void setup(struct chttp *c, const char *url, const char *data, size_t len,
		  struct tsv_buf *out)
{
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->total_timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
}

/* What a finished request means. */
static int judge(struct chttp *c, CURLcode rc, long status, struct tsv_buf *out, char *err,
		 size_t errlen)
{
	char msg[400];
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", out->failed && rc == CURLE_WRITE_ERROR
			 ? "the answer is too long" : curl_easy_strerror(rc));
		return out->failed ? CH_GARBAGE : CH_UNREACHABLE;
	}
	if (!c->is_clickhouse) {
		snprintf(err, errlen, "the server does not answer as ClickHouse does (HTTP %ld, no"
			 " X-ClickHouse header): is the port ClickHouse's HTTP port?", status);
		return CH_GARBAGE;
	}
	if (status == 200) { /* an exception after the answer began ends it */
		const char *tail = out->p && out->len > 2048 ? out->p + out->len - 2048 : out->p;
		int code = tail ? parse_exception(tail, msg, sizeof msg) : 0;
		if (!code || !strstr(tail, "DB::Exception"))
			return CH_OK;
		c->code = code; /* an error after the answer had begun */
		snprintf(err, errlen, "ClickHouse error %d: %s", code, msg);
		return CH_REFUSED;
	}
	int code = out->p ? parse_exception(out->p, msg, sizeof msg) : 0;
	if (!code) {
		snprintf(err, errlen, "HTTP %ld without a ClickHouse error", status);
		return status >= 500 ? CH_UNREACHABLE : CH_GARBAGE;
	}
	c->code = code;
	snprintf(err, errlen, "ClickHouse error %d: %s", code, msg);
	return CH_REFUSED;
}

int chttp_query(struct chttp *c, const char *endpoint, const char *sql, const char *body,
		size_t bodylen, const char *settings, struct tsv_buf *out, char *err,
		size_t errlen)
{
	char url[8192];
	struct tsv_buf *o = out ? out : &c->scratch;
	tsv_buf_reset(o);
	if (!out)
		c->scratch.max = 1u << 20;
	else if (!out->max)
		out->max = CHTTP_RESULT_MAX;
	c->code = 0;
	c->is_clickhouse = 0;
	if (build_url(c, endpoint, sql, body != NULL, settings, url, sizeof url) < 0) {
		snprintf(err, errlen, "the query is too long for a URL");
		return CH_REFUSED;
	}
	const char *data = body ? body : sql;
	size_t len = body ? bodylen : strlen(sql);
	setup(c, url, data, len, o);
	CURLcode rc = curl_easy_perform(c->curl);
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	c->requests++;
	c->bytes += len;
	return judge(c, rc, status, o, err, errlen);
}
