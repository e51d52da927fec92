#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "../dissect/classify.h"
#include "../dissect/session.h"
#include "anon.h"
#include "build.h"
#include "live.h"

#define PUBLISH_EVERY 4096 /* segments between two snapshots of the counters */
_Static_assert(LIVE_FITS(struct pipeline_counters), "pipeline counters in a snapshot");
_Static_assert(LIVE_FITS(struct flow_stats), "flow statistics in a snapshot");

struct pipeline;
static void publish(struct pipeline *pl);

#define DNS_EXPIRE_EVERY 1.0 /* seconds of packet time between pdns_expire calls */

struct pipeline {
	int live;
	struct port_map ports;
	struct flow_table *ft;
	struct store *st;
	struct classifier *cls;
	struct anon *anon;
	struct pipeline_counters c;
	int failed;
	uint64_t published;      /* segments when last published */
	struct live pub_c, pub_f; /* c and the flow table's statistics */
	/* following DNS */
	struct pdns *pdns;
	pipeline_dns_wait_fn dns_wait;
	void *dns_wait_ctx;
	struct dns_msg *msg;      /* one parsed message at a time */
	int clock;                /* this pipeline's clock in the table */
	double ts;                /* packet time of the segment followed */
	uint64_t seq;             /* ... and its place (struct segment) */
	double expired;           /* packet time of the last pdns_expire */
};

/* A TCP connection carrying DNS: each direction's messages. */
struct dns_conn {
	struct dns_stream *s[2];
	struct pdns_addr addr[2]; /* client, server */
};

/* Per-connection state handed to the flow table: an SMTP session, or a
 * TCP connection carrying DNS. One per open connection: 48 bytes (the
 * DNS part, rare, apart). */
struct conn {
	struct pipeline *pl;
	struct sess *sess;
	struct classifier_flow *cf; /* only on ports that need classifying */
	struct dns_conn *dns;     /* port 53, else NULL */
	uint64_t start_seq;       /* the first segment's place */
	enum classify_verdict verdict; /* nDPI's, where classifying */
};

/* ---- DNS ------------------------------------------------------------------ */

/* One DNS message from src to dst into the table; a message of a type the
 * parser does not read still shows DNS on the link. */
static void dns_message(struct pipeline *pl, const uint8_t *p, size_t len,
			const struct pdns_addr *src, const struct pdns_addr *dst)
{
	int rc = dns_parse(p, len, pl->msg, &pl->c.dns);
	if (rc == DNS_OK || rc == DNS_ERR_IGNORED)
		pdns_add_dns(pl->pdns, pl->msg, src, dst, pl->ts);
}

static void dns_datagram(struct pipeline *pl, const struct tcp_packet *t)
{
	struct pdns_addr src = pdns_addr_make(t->family, t->src), dst = pdns_addr_make(t->family, t->dst);
	if (t->caplen < t->wirelen) {
		pl->c.dns_udp_cut++; /* a cut message would parse as another one */
		return;
	}
	pl->c.dns_udp++;
	dns_message(pl, t->payload, t->caplen, &src, &dst);
}

static int dns_conn_open(struct conn *c, const struct flow_info *fi)
{
	struct dns_conn *d = c->dns = calloc(1, sizeof *c->dns);
	if (!d)
		return -1;
	d->addr[DIR_C2S] = pdns_addr_make(fi->family, fi->client);
	d->addr[DIR_S2C] = pdns_addr_make(fi->family, fi->server);
	d->s[0] = dns_stream_new(0);
	d->s[1] = dns_stream_new(0);
	c->pl->c.dns_tcp_flows++;
	return d->s[0] && d->s[1] ? 0 : -1;
}

static void dns_conn_data(struct conn *c, int dir, const uint8_t *p, size_t len)
{
	struct dns_stream *s = c->dns->s[dir];
	while (len > 0) {
		const uint8_t *msg;
		size_t used = 0, mlen;
		int rc = dns_stream_feed(s, p, len, &used, &msg, &mlen);
		if (rc == DNS_STREAM_MSG)
			dns_message(c->pl, msg, mlen, &c->dns->addr[dir], &c->dns->addr[!dir]);
		if (rc == DNS_STREAM_LOST || used == 0)
			return;
		p += used;
		len -= used;
	}
}

static int dns_conn_done(const struct conn *c)
{
	return dns_stream_stats(c->dns->s[0])->lost && dns_stream_stats(c->dns->s[1])->lost;
}

static void dns_conn_free(struct conn *c)
{
	if (!c->dns)
		return;
	for (int d = 0; d < 2; d++) {
		if (!c->dns->s[d])
			continue;
		const struct dns_stream_stats *st = dns_stream_stats(c->dns->s[d]);
		c->pl->c.dns_tcp_messages += st->messages;
		c->pl->c.dns_tcp_oversize += st->oversize;
		c->pl->c.dns_tcp_lost += (uint64_t)st->lost;
		dns_stream_free(c->dns->s[d]);
	}
	free(c->dns);
}

/* The table's clock and housekeeping, by this pipeline's packet time. */
static void dns_time(struct pipeline *pl, double ts)
{
	pdns_clock_set(pl->pdns, pl->clock, ts);
	if (ts >= pl->expired + DNS_EXPIRE_EVERY || ts < pl->expired) {
		pdns_expire(pl->pdns, ts);
		pl->expired = ts;
	}
}

/* ---- flow callbacks -------------------------------------------------------- */

static int is_server_port(void *ctx, uint16_t port)
{
	struct pipeline *pl = ctx;
	return pl->ports.kind[port] != PORT_NONE || (pl->pdns && port == DNS_PORT);
}

static void *conn_open(void *ctx, const struct flow_info *fi)
{
	struct pipeline *pl = ctx;
	struct conn *c = calloc(1, sizeof *c);
	enum port_kind kind = pl->ports.kind[fi->server_port];
	if (!c)
		return NULL;
	c->pl = pl;
	c->start_seq = pl->seq;
	if (pl->pdns && fi->server_port == DNS_PORT) {
		if (dns_conn_open(c, fi) == 0)
			return c;
		dns_conn_free(c);
		free(c);
		return NULL;
	}
	c->verdict = CLASSIFY_SMTP;
	if (kind == PORT_NONE && pl->cls) {
		c->verdict = CLASSIFY_PENDING;
		c->cf = classifier_flow_new();
	} else if (kind == PORT_NONE) {
		/* the watched port is the client's (a SYN from port 25 to
		 * elsewhere): not a session to an SMTP server; followed, not kept */
		c->verdict = CLASSIFY_OTHER;
	}
	c->sess = sess_new(kind == PORT_TLS ? SESS_PORT_TLS : SESS_PORT_SMTP, fi->midstream);
	if (c->sess && pl->pdns && pdns_dns_noted(pl->pdns))
		sess_keep_tlsa(c->sess); /* for tlsa_match: only once the link showed DNS */
	if (!c->sess || (c->verdict == CLASSIFY_PENDING && !c->cf)) {
		classifier_flow_free(c->cf);
		sess_free(c->sess);
		free(c);
		return NULL;
	}
	return c;
}

static void conn_packet(void *ctx, void *user, int dir, const struct tcp_packet *pkt,
			double ts)
{
	struct pipeline *pl = ctx;
	struct conn *c = user;
	(void)dir;
	if (c->dns)
		return;
	if (c->verdict == CLASSIFY_PENDING)
		c->verdict = classifier_packet(pl->cls, c->cf, pkt->l3, pkt->l3_len,
					       pkt->wirelen > 0, ts);
}

static void conn_data(void *user, int dir, const uint8_t *p, size_t len)
{
	struct conn *c = user;
	if (c->dns)
		dns_conn_data(c, dir, p, len);
	else
		sess_data(c->sess, dir, p, len);
}

static void conn_gap(void *user, int dir, uint64_t len)
{
	struct conn *c = user;
	if (c->dns)
		dns_stream_gap(c->dns->s[dir]);
	else
		sess_gap(c->sess, dir, len);
}

/* Classifying: SMTP or not, from the session's bytes and nDPI's verdict. */
static enum classify_verdict classified(const struct conn *c)
{
	return classify_decide(sess_evidence(c->sess), c->verdict);
}

static int conn_done(void *user)
{
	struct conn *c = user;
	if (c->dns)
		return dns_conn_done(c);
	if (c->cf) /* undecided bytes are followed, whatever nDPI thinks */
		return (sess_evidence(c->sess) != CLASSIFY_BYTES_UNDECIDED &&
			classified(c) == CLASSIFY_OTHER) || sess_done(c->sess);
	return c->verdict == CLASSIFY_OTHER || sess_done(c->sess);
}

/* The record of a finished session, with what the DNS on the link showed
 * before its start: with several workers, once the worker that follows
 * DNS has passed that start. */
static void write_record(struct pipeline *pl, struct conn *c, const struct flow_info *fi,
			 enum end_reason why)
{
	struct session_record r;
	build_record(&r, c->sess, fi, why, pl->anon);
	if (pl->pdns && pl->dns_wait && build_wants_dns(fi))
		pl->c.dns_waits += (uint64_t)pl->dns_wait(pl->dns_wait_ctx, c->start_seq);
	if (pl->pdns)
		build_dns(&r, c->sess, fi, pl->pdns, pl->ts);
	if (pl->st && store_add(pl->st, &r) < 0) {
		pl->failed = 1;
	} else {
		pl->c.sessions++;
		pl->c.by_transport[(unsigned)r.transport & 3]++;
		pl->c.encrypted += r.tls_outcome == OUTCOME_ESTABLISHED;
	}
}

static void conn_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct pipeline *pl = ctx;
	struct conn *c = user;
	if (c->dns) {
		dns_conn_free(c);
		free(c);
		return;
	}
	if (c->verdict == CLASSIFY_PENDING)
		c->verdict = classifier_finish(pl->cls, c->cf);
	if (c->cf)
		c->verdict = classified(c);
	if (fi->payload[0] + fi->payload[1] == 0) {
		pl->c.without_payload++;
	} else if (c->verdict == CLASSIFY_OTHER) {
		pl->c.classified_away++;
	} else if (!pl->failed) {
		write_record(pl, c, fi, why);
	}
	classifier_flow_free(c->cf);
	sess_free(c->sess);
	free(c);
}

static const struct flow_callbacks callbacks = {
	is_server_port, conn_open, conn_packet, conn_data, conn_gap, conn_done, conn_close,
};

/* ---- lifecycle --------------------------------------------------------------- */

struct pipeline *pipeline_new(const struct pipeline_opts *o, struct store *st)
{
	struct pipeline *pl = calloc(1, sizeof *pl);
	if (!pl)
		return NULL;
	pl->live = o->live;
	pl->ports = *o->ports;
	pl->st = st;
	pl->pdns = o->pdns;
	pl->dns_wait = o->dns_wait;
	pl->dns_wait_ctx = o->dns_wait_ctx;
	pl->clock = -1;
	if (pl->pdns && (!(pl->msg = malloc(sizeof *pl->msg)) ||
			 (pl->clock = pdns_clock_new(pl->pdns)) < 0)) {
		free(pl->msg);
		free(pl);
		return NULL;
	}
	struct flow_callbacks cb = callbacks;
	if (!o->classify)
		cb.packet = NULL; /* nothing to do per packet but reassemble */
	pl->ft = flow_table_new(&o->limits, &cb, pl);
	if (o->classify)
		pl->cls = classifier_new();
	if (o->anon_key)
		pl->anon = anon_new(o->anon_key);
	if (!pl->ft || (o->classify && !pl->cls) || (o->anon_key && !pl->anon)) {
		flow_table_free(pl->ft);
		classifier_free(pl->cls);
		anon_free(pl->anon);
		free(pl->msg);
		free(pl);
		return NULL;
	}
	return pl;
}

int pipeline_finish(struct pipeline *pl, enum end_reason reason)
{
	flow_table_end_all(pl->ft, reason);
	publish(pl);
	return pl->failed ? -1 : 0;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	flow_table_free(pl->ft);
	classifier_free(pl->cls);
	anon_free(pl->anon);
	free(pl->msg);
	free(pl);
}

int pipeline_failed(const struct pipeline *pl)
{
	return pl->failed;
}

const struct pipeline_counters *pipeline_counters(const struct pipeline *pl)
{
	return &pl->c;
}

const struct flow_stats *pipeline_flow_stats(const struct pipeline *pl)
{
	return flow_table_stats(pl->ft);
}

/* ---- segments ---------------------------------------------------------------- */

/* Most of the time per packet went to waiting for its bucket and flow to
 * come from memory, one packet after the other. In three passes over the
 * batch those waits overlap: ask for the buckets, ask for the flows, then
 * follow the segments in order. */
static void follow_batch(struct pipeline *pl, const struct segment *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		flow_table_prefetch(pl->ft, s[i].hash, FLOW_PREFETCH_BUCKET);
		if (s[i].t.caplen) /* fed by a reader: the bytes are in its cache */
			__builtin_prefetch(s[i].t.payload);
	}
	for (size_t i = 0; i < n; i++)
		flow_table_prefetch(pl->ft, s[i].hash, FLOW_PREFETCH_FLOW);
	for (size_t i = 0; i < n && !pl->failed; i++) {
		pl->ts = s[i].ts;
		pl->seq = s[i].seq;
		if (s[i].t.proto == DECODE_PROTO_UDP)
			dns_datagram(pl, &s[i].t);
		else
			flow_table_packet_hashed(pl->ft, &s[i].t, s[i].hash, s[i].ts);
	}
	if (pl->pdns && n > 0)
		dns_time(pl, s[n - 1].ts);
	pl->c.segments += n;
}

static void publish(struct pipeline *pl)
{
	live_publish(&pl->pub_c, &pl->c, sizeof pl->c);
	live_publish(&pl->pub_f, flow_table_stats(pl->ft), sizeof(struct flow_stats));
	pl->published = pl->c.segments;
}

void pipeline_segments(struct pipeline *pl, const struct segment *s, size_t n)
{
	/* once a row could not be written the run is ending: nothing more */
	for (size_t i = 0; i < n && !pl->failed; i += SOURCE_BATCH)
		follow_batch(pl, s + i, n - i < SOURCE_BATCH ? n - i : SOURCE_BATCH);
	if (pl->c.segments - pl->published >= PUBLISH_EVERY)
		publish(pl);
}

void pipeline_live(const struct pipeline *pl, struct pipeline_counters *c, struct flow_stats *fs)
{
	live_read(&pl->pub_c, c, sizeof *c);
	live_read(&pl->pub_f, fs, sizeof *fs);
}

void pipeline_idle(struct pipeline *pl)
{
	if (pl->pdns)
		pdns_clock_set(pl->pdns, pl->clock, PDNS_CAUGHT_UP);
}

void pipeline_tick(struct pipeline *pl, double now)
{
	if (pl->live) {
		pl->ts = now;
		if (pl->pdns)
			dns_time(pl, now);
		flow_table_expire(pl->ft, now);
	}
	publish(pl);
	if (pl->st && store_tick(pl->st, now) < 0)
		pl->failed = 1;
}

void pipeline_counters_add(struct pipeline_counters *to, const struct pipeline_counters *c)
{
	to->segments += c->segments;
	to->sessions += c->sessions;
	to->without_payload += c->without_payload;
	to->classified_away += c->classified_away;
	for (size_t i = 0; i < 4; i++)
		to->by_transport[i] += c->by_transport[i];
	to->encrypted += c->encrypted;
	to->dns_udp += c->dns_udp;
	to->dns_udp_cut += c->dns_udp_cut;
	to->dns_tcp_flows += c->dns_tcp_flows;
	to->dns_tcp_messages += c->dns_tcp_messages;
	to->dns_tcp_oversize += c->dns_tcp_oversize;
	to->dns_tcp_lost += c->dns_tcp_lost;
	to->dns_waits += c->dns_waits;
	to->dns.messages += c->dns.messages;
	to->dns.queries += c->dns.queries;
	to->dns.responses += c->dns.responses;
	to->dns.malformed += c->dns.malformed;
	to->dns.ignored += c->dns.ignored;
	to->dns.names_too_long += c->dns.names_too_long;
	to->dns.facts_capped += c->dns.facts_capped;
	to->dns.facts += c->dns.facts;
}

void flow_stats_add(struct flow_stats *to, const struct flow_stats *f)
{
	to->created += f->created;
	to->evicted += f->evicted;
	to->timed_out += f->timed_out;
	to->ignored_packets += f->ignored_packets;
	to->reasm_overflows += f->reasm_overflows;
	to->active += f->active;
	to->buffered += f->buffered;
	to->peak_active += f->peak_active;
	to->peak_buffered += f->peak_buffered;
}
