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
};

/* Per-connection state handed to the flow table. */
struct conn {
	struct pipeline *pl;
	struct sess *sess;
	struct classifier_flow *cf; /* only on ports that need classifying */
	enum classify_verdict verdict; /* nDPI's, where classifying */
};

/* ---- flow callbacks -------------------------------------------------------- */

static int is_server_port(void *ctx, uint16_t port)
{
	struct pipeline *pl = ctx;
	return pl->ports.kind[port] != PORT_NONE;
}

static void *conn_open(void *ctx, const struct flow_info *fi)
{
	struct pipeline *pl = ctx;
	struct conn *c = calloc(1, sizeof *c);
	enum port_kind kind = pl->ports.kind[fi->server_port];
	if (!c)
		return NULL;
	c->pl = pl;
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
	if (c->verdict == CLASSIFY_PENDING)
		c->verdict = classifier_packet(pl->cls, c->cf, pkt->l3, pkt->l3_len,
					       pkt->wirelen > 0, ts);
}

static void conn_data(void *user, int dir, const uint8_t *p, size_t len)
{
	struct conn *c = user;
	sess_data(c->sess, dir, p, len);
}

static void conn_gap(void *user, int dir, uint64_t len)
{
	struct conn *c = user;
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
	if (c->cf) /* undecided bytes are followed, whatever nDPI thinks */
		return (sess_evidence(c->sess) != CLASSIFY_BYTES_UNDECIDED &&
			classified(c) == CLASSIFY_OTHER) || sess_done(c->sess);
	return c->verdict == CLASSIFY_OTHER || sess_done(c->sess);
}

static void conn_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct pipeline *pl = ctx;
	struct conn *c = user;
	struct session_record r;
	if (c->verdict == CLASSIFY_PENDING)
		c->verdict = classifier_finish(pl->cls, c->cf);
	if (c->cf)
		c->verdict = classified(c);
	if (fi->payload[0] + fi->payload[1] == 0) {
		pl->c.without_payload++;
	} else if (c->verdict == CLASSIFY_OTHER) {
		pl->c.classified_away++;
	} else if (!pl->failed) {
		build_record(&r, c->sess, fi, why, pl->anon);
		if (pl->st && store_add(pl->st, &r) < 0) {
			pl->failed = 1;
		} else {
			pl->c.sessions++;
			pl->c.by_transport[(unsigned)r.transport & 3]++;
			pl->c.encrypted += r.tls_outcome == OUTCOME_ESTABLISHED;
		}
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
	for (size_t i = 0; i < n && !pl->failed; i++)
		flow_table_packet_hashed(pl->ft, &s[i].t, s[i].hash, s[i].ts);
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

void pipeline_tick(struct pipeline *pl, double now)
{
	if (pl->live)
		flow_table_expire(pl->ft, now);
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
