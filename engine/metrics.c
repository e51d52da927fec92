#define _POSIX_C_SOURCE 200809L
#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_MAX 16384
#define LABEL_MAX 256

struct metrics {
	struct MHD_Daemon *d;
	metrics_fill_fn fill;
	void *ctx;
	char source[LABEL_MAX]; /* the label's value */
};

/* ---- the text format ------------------------------------------------------- */

struct out {
	char *p;
	size_t len, used;
	int full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = 1;
	else
		o->used += (size_t)n;
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct out *o, const char *name, const char *label, const char *extra,
		   uint64_t v)
{
	put(o, "%s{%s%s%s} %llu\n", name, label, extra ? "," : "", extra ? extra : "",
	    (unsigned long long)v);
}

/* One metric with one sample. */
static void one(struct out *o, const char *name, const char *type, const char *help,
		const char *label, uint64_t v)
{
	head(o, name, type, help);
	sample(o, name, label, NULL, v);
}

/* source="NAME" with \, " and newlines escaped as the format asks. */
static void make_label(char *out, size_t len, const char *source)
{
	size_t k = (size_t)snprintf(out, len, "source=\"");
	for (const char *c = source; *c && k + 4 < len; c++) {
		if (*c == '\\' || *c == '"' || *c == '\n') {
			out[k++] = '\\';
			out[k++] = *c == '\n' ? 'n' : *c;
		} else {
			out[k++] = *c;
		}
	}
	snprintf(out + k, len - k, "\"");
}

static const char *const transports[4] = {"unknown", "plaintext", "starttls", "implicit_tls"};

static void format_capture(struct out *o, const struct engine_totals *e, const char *l)
{
	one(o, "smtptls_packets_total", "counter", "Frames read from the source.", l, e->in.packets);
	one(o, "smtptls_bytes_total", "counter", "Bytes of the frames read, as on the wire.", l,
	    e->in.bytes);
	one(o, "smtptls_kernel_drops_total", "counter",
	    "Packets the kernel dropped before smtptls read them (live capture).", l,
	    e->src.dropped_kernel);
	one(o, "smtptls_interface_drops_total", "counter",
	    "Packets the interface or its driver dropped (live capture).", l, e->src.dropped_iface);
	one(o, "smtptls_decode_errors_total", "counter", "Frames that could not be decoded.", l,
	    e->in.decode_errors);
	head(o, "smtptls_sessions_total", "counter",
	     "Sessions handed to the database writer, by transport.");
	for (int i = 0; i < 4; i++) {
		char t[48];
		snprintf(t, sizeof t, "transport=\"%s\"", transports[i]);
		sample(o, "smtptls_sessions_total", l, t, e->pl.by_transport[i]);
	}
	one(o, "smtptls_encrypted_sessions_total", "counter",
	    "Sessions whose TLS handshake completed.", l, e->pl.encrypted);
	one(o, "smtptls_flows_total", "counter", "TCP connections followed.", l, e->flows.created);
	one(o, "smtptls_flows_evicted_total", "counter",
	    "Connections pushed out of a full connection table.", l, e->flows.evicted);
	one(o, "smtptls_flows_without_payload_total", "counter",
	    "Connections that ended without carrying a byte.", l, e->pl.without_payload);
	one(o, "smtptls_open_flows", "gauge", "Connections open now.", l, e->flows.active);
	one(o, "smtptls_reassembly_buffered_bytes", "gauge", "Bytes held for TCP reassembly.", l,
	    e->flows.buffered);
}

static void format_store(struct out *o, const struct store_stats *s, const char *l)
{
	one(o, "smtptls_write_queue_rows", "gauge", "Rows waiting in memory for the writer.", l,
	    s->queue_rows);
	one(o, "smtptls_write_queue_capacity_rows", "gauge", "Rows the write queue holds at most.",
	    l, s->queue_cap);
	one(o, "smtptls_spooled_rows", "gauge", "Rows waiting in the spool file for the writer.",
	    l, s->spool_rows);
	one(o, "smtptls_spooled_rows_total", "counter", "Rows that went through the spool file.",
	    l, s->spooled_total);
	one(o, "smtptls_rows_lost_total", "counter",
	    "Rows lost because both the write queue and the spool were full.", l, s->rows_lost);
	one(o, "smtptls_rows_written_total", "counter", "Rows inserted into the database.", l,
	    s->rows_written);
	one(o, "smtptls_writer_busy_retries_total", "counter",
	    "Times the writer found the write lock taken (another program, a forced WAL restart).", l, s->busy_retries);
	one(o, "smtptls_wal_pages", "gauge", "Pages in the write-ahead log after the last commit.",
	    l, s->wal_frames);
	one(o, "smtptls_wal_restarts_total", "counter", "Times the write-ahead log started over.", l,
	    s->wal_restarts);
	one(o, "smtptls_wal_reader_held_total", "counter",
	    "Transactions that found the long write-ahead log held by a reader.", l,
	    s->wal_reader_held);
	one(o, "smtptls_wal_forced_restarts_total", "counter",
	    "Write-ahead log restarts forced past its hard limit (the writer waited for readers).",
	    l, s->wal_forced);
	one(o, "smtptls_database_reopens_total", "counter", "Databases reopened on SIGHUP.", l,
	    s->reopens);
}

size_t metrics_format(const struct metrics_sample *m, const char *source, char *buf, size_t len)
{
	char label[LABEL_MAX];
	struct out o = {buf, len, 0, 0};
	make_label(label, sizeof label, source);
	format_capture(&o, &m->e, label);
	format_store(&o, &m->s, label);
	head(&o, "smtptls_run_start_time_seconds", "gauge", "When the capture run started.");
	put(&o, "smtptls_run_start_time_seconds{%s} %.3f\n", label, m->started);
	return o.full ? 0 : o.used;
}

/* ---- HTTP ---------------------------------------------------------------- */

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
			      const char *body, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct metrics *m = cls;
	static const char text[] = "text/plain; charset=utf-8";
	(void)version;
	(void)upload;
	(void)con_cls;
	if (*upload_len)
		return MHD_NO; /* no request body is read */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "GET /metrics\n", 13);
	if (strcmp(url, "/metrics") != 0)
		return answer(c, MHD_HTTP_NOT_FOUND, text, "smtptls: see /metrics\n", 22);
	struct metrics_sample s;
	char *body = malloc(BODY_MAX);
	if (!body)
		return MHD_NO;
	memset(&s, 0, sizeof s);
	m->fill(m->ctx, &s);
	size_t len = metrics_format(&s, m->source, body, BODY_MAX);
	enum MHD_Result rc = len ? answer(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
					  body, len)
				 : answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "too long\n", 9);
	free(body);
	return rc;
}

/* ---- the address ------------------------------------------------------------- */

/* Splits "HOST:PORT" or "[V6]:PORT" (HOST may be empty). */
static int split(const char *spec, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(spec, ':');
	const char *h = spec;
	size_t n;
	if (!colon || !colon[1] || strlen(colon + 1) >= plen)
		return -1;
	n = (size_t)(colon - spec);
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		h++;
		n -= 2;
	} else if (memchr(spec, ':', n)) {
		return -1; /* an IPv6 address needs its brackets */
	}
	if (n >= hlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	for (const char *c = port; *c; c++)
		if (*c < '0' || *c > '9')
			return -1;
	return atoi(port) > 0 && atoi(port) < 65536 ? 0 : -1;
}

static struct addrinfo *resolve(const char *spec, char *err, size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints = {0}, *ai = NULL;
	if (split(spec, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "--metrics-listen: '%s' is not ADDRESS:PORT (e.g."
			 " 127.0.0.1:9100, [::1]:9100, :9100)", spec);
		return NULL;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "--metrics-listen: '%s': %s", spec, gai_strerror(rc));
		return NULL;
	}
	return ai;
}

int metrics_parse_listen(const char *spec, char *err, size_t errlen)
{
	char host[256], port[8];
	if (split(spec, host, sizeof host, port, sizeof port) == 0)
		return 0;
	snprintf(err, errlen, "'%s' is not ADDRESS:PORT (e.g. 127.0.0.1:9100, [::1]:9100, :9100)",
		 spec);
	return -1;
}

struct metrics *metrics_start(const char *spec, const char *source, metrics_fill_fn fill,
			      void *ctx, char *err, size_t errlen)
{
	struct addrinfo *ai = resolve(spec, err, errlen);
	struct metrics *m = ai ? calloc(1, sizeof *m) : NULL;
	if (!m) {
		if (ai)
			snprintf(err, errlen, "--metrics-listen: out of memory");
		freeaddrinfo(ai);
		return NULL;
	}
	m->fill = fill;
	m->ctx = ctx;
	snprintf(m->source, sizeof m->source, "%s", source);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
				ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, 16u,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!m->d) {
		snprintf(err, errlen, "cannot serve metrics on %s (address in use, or not this"
			 " host's?)", spec);
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
