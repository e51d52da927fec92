#include "pipeline.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../capture/decode.h"
#include "../dissect/classify.h"
#include "../dissect/session.h"
#include "anon.h"

struct pipeline {
	struct pipeline_opts o;
	struct decoder *dec;
	struct port_map ports;
	struct flow_table *ft;
	struct store *st;
	struct classifier *cls;
	struct anon *anon;
	struct pipeline_counters c;
	int failed;
};

/* Per-connection state handed to the flow table. */
struct conn {
	struct pipeline *pl;
	struct sess *sess;
	struct classifier_flow *cf; /* only on ports that need classifying */
	enum classify_verdict verdict;
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

static int conn_done(void *user)
{
	struct conn *c = user;
	return c->verdict == CLASSIFY_OTHER || sess_done(c->sess);
}

/* Dotted quad without printf (inet_ntop formats through sprintf). */
static void format_ipv4(char *out, const uint8_t *a)
{
	char *o = out;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = i < 3 ? '.' : '\0';
	}
}

static void format_addr(char *out, int family, const uint8_t *a)
{
	if (family == 4)
		format_ipv4(out, a);
	else if (!inet_ntop(AF_INET6, a, out, REC_ADDR_MAX))
		out[0] = '\0';
}

/* Addresses, and address literals the peers wrote (EHLO [192.0.2.1], an
 * IP as SNI, greeting name or certificate name), replaced by their
 * anonymised forms. */
static void anonymize(struct anon *a, struct session_record *r, const struct flow_info *fi)
{
	uint8_t client[16], server[16];
	memcpy(client, fi->client, 16);
	memcpy(server, fi->server, 16);
	anon_addr(a, fi->family, client);
	anon_addr(a, fi->family, server);
	format_addr(r->client_ip, fi->family, client);
	format_addr(r->server_ip, fi->family, server);
	anon_literal(a, r->ehlo_name, sizeof r->ehlo_name);
	anon_literal(a, r->server_name, sizeof r->server_name);
	anon_literal(a, r->sni, sizeof r->sni);
	anon_literal(a, r->cert.subject_cn, sizeof r->cert.subject_cn);
	anon_list(a, r->cert.sans, sizeof r->cert.sans);
}

static void build_record(struct pipeline *pl, struct session_record *r, const struct conn *c,
			 const struct flow_info *fi, enum end_reason why)
{
	session_record_init(r);
	r->client_port = fi->client_port;
	r->server_port = fi->server_port;
	r->ts_start = fi->first_ts;
	r->ts_end = fi->last_ts;
	r->packets = fi->packets;
	r->bytes_c2s = fi->payload[DIR_C2S];
	r->bytes_s2c = fi->payload[DIR_S2C];
	r->end_reason = why;
	r->anomalies = fi->anomalies;
	if (fi->midstream)
		r->anomalies |= ANOM_MIDSTREAM;
	if (fi->payload[DIR_S2C] == 0)
		r->anomalies |= ANOM_CLIENT_ONLY;
	if (fi->payload[DIR_C2S] == 0)
		r->anomalies |= ANOM_SERVER_ONLY;
	sess_result(c->sess, r);
	if (pl->anon) {
		anonymize(pl->anon, r, fi);
	} else {
		format_addr(r->client_ip, fi->family, fi->client);
		format_addr(r->server_ip, fi->family, fi->server);
	}
}

static void conn_close(void *ctx, void *user, const struct flow_info *fi, enum end_reason why)
{
	struct pipeline *pl = ctx;
	struct conn *c = user;
	struct session_record r;
	if (c->verdict == CLASSIFY_PENDING)
		c->verdict = classifier_finish(pl->cls, c->cf);
	if (fi->payload[0] + fi->payload[1] == 0) {
		pl->c.without_payload++;
	} else if (c->verdict == CLASSIFY_OTHER) {
		pl->c.classified_away++;
	} else if (!pl->failed) {
		build_record(pl, &r, c, fi, why);
		if (pl->st && store_add(pl->st, &r) < 0)
			pl->failed = 1;
		else
			pl->c.sessions++;
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
	pl->o = *o;
	pl->dec = decoder_new(o->linktype, NULL);
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
	if (!pl->ft || !pl->dec || (o->classify && !pl->cls) || (o->anon_key && !pl->anon)) {
		decoder_free(pl->dec);
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
	return pl->failed ? -1 : 0;
}

void pipeline_free(struct pipeline *pl)
{
	if (!pl)
		return;
	flow_table_free(pl->ft);
	decoder_free(pl->dec);
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

/* ---- packets ---------------------------------------------------------------- */

int pipeline_skip(struct pipeline_counters *c, const struct port_map *ports, int classify,
		  int decode_rc, const struct tcp_packet *t)
{
	if (decode_rc == DECODE_NOT_TCP)
		c->non_tcp++;
	else if (decode_rc == DECODE_TRUNCATED)
		c->truncated++;
	else if (decode_rc == DECODE_FRAGMENT)
		c->fragments++;
	else if (decode_rc < 0)
		c->decode_errors++;
	else if (!classify && ports->kind[t->sport] == PORT_NONE &&
		 ports->kind[t->dport] == PORT_NONE)
		c->other_ports++;
	else
		return 0;
	return 1;
}

static unsigned shard_of_hash(uint32_t hash, unsigned shards)
{
	return shards > 1 ? (hash >> 16) % shards : 0;
}

unsigned pipeline_shard_of(const struct tcp_packet *t, unsigned shards)
{
	return shard_of_hash(flow_packet_hash(t), shards);
}

/* Decodes a frame; 1 if it goes on to this pipeline's flow table. */
static int admit(struct pipeline *pl, const struct frame *f, struct tcp_packet *t, uint32_t *hash)
{
	struct pipeline_counters uncounted;
	int counting = pl->o.shard == 0; /* a frame is counted once */
	if (counting) {
		pl->c.packets++;
		pl->c.bytes += f->wirelen;
	}
	int rc = decoder_frame(pl->dec, f->data, f->caplen, f->ts, t);
	if (rc == DECODE_HELD)
		rc = DECODE_FRAGMENT; /* kept for reassembly: counted as a fragment */
	else if (rc == DECODE_OK && t->proto != DECODE_PROTO_TCP)
		rc = DECODE_NOT_TCP;
	if (pipeline_skip(counting ? &pl->c : &uncounted, &pl->ports, pl->o.classify, rc, t))
		return 0;
	*hash = flow_packet_hash(t);
	return shard_of_hash(*hash, pl->o.shards) == pl->o.shard;
}

/* Most of the time per packet went to waiting for its bucket and flow to
 * come from memory, one packet after the other. In three passes over the
 * batch those waits overlap: decode and ask for the buckets, ask for the
 * flows, then follow the packets in order. */
static void follow_batch(struct pipeline *pl, const struct frame *f, size_t n)
{
	struct tcp_packet t[SOURCE_BATCH];
	uint32_t hash[SOURCE_BATCH];
	double ts[SOURCE_BATCH];
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (admit(pl, &f[i], &t[kept], &hash[kept])) {
			ts[kept] = f[i].ts;
			flow_table_prefetch(pl->ft, hash[kept++], FLOW_PREFETCH_BUCKET);
		}
	}
	for (size_t k = 0; k < kept; k++)
		flow_table_prefetch(pl->ft, hash[k], FLOW_PREFETCH_FLOW);
	for (size_t k = 0; k < kept && !pl->failed; k++)
		flow_table_packet_hashed(pl->ft, &t[k], hash[k], ts[k]);
}

void pipeline_frames(void *ctx, const struct frame *f, size_t n)
{
	struct pipeline *pl = ctx;
	/* once a row could not be written the run is ending: nothing more */
	for (size_t i = 0; i < n && !pl->failed; i += SOURCE_BATCH)
		follow_batch(pl, f + i, n - i < SOURCE_BATCH ? n - i : SOURCE_BATCH);
}

void pipeline_tick(void *ctx, double now)
{
	struct pipeline *pl = ctx;
	if (pl->o.live)
		flow_table_expire(pl->ft, now);
	if (store_tick(pl->st, now) < 0)
		pl->failed = 1;
}
