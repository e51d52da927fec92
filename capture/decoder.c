/* The decoder object: the walk of decode.c with the state a capture
 * needs, the IP fragments being reassembled and the counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ipfrag.h"
#include "layers.h"

struct decoder {
	const struct link_decoder *link;
	int ethernet;                        /* the link is Ethernet */
	struct decoder_limits lim;
	struct ipfrag *frag;
	struct decoder_stats st;
	char link_outer[32], link_inner[32]; /* counter names of plain frames */
};

static const char *const encap_names[ENCAP_COUNT] = {
	[ENCAP_LINK] = "link",     [ENCAP_VLAN] = "vlan",       [ENCAP_PPPOE] = "pppoe",
	[ENCAP_MPLS] = "mpls",     [ENCAP_EOMPLS] = "eompls",   [ENCAP_GRE] = "gre",
	[ENCAP_ERSPAN1] = "erspan1", [ENCAP_ERSPAN2] = "erspan2", [ENCAP_ERSPAN3] = "erspan3",
	[ENCAP_VXLAN] = "vxlan",   [ENCAP_GENEVE] = "geneve",   [ENCAP_GTPU] = "gtpu",
	[ENCAP_IPIP] = "ipip",
};

static const char *const outer_names[ENCAP_COUNT] = {
	[ENCAP_VLAN] = "encap_outer.vlan",       [ENCAP_PPPOE] = "encap_outer.pppoe",
	[ENCAP_MPLS] = "encap_outer.mpls",       [ENCAP_EOMPLS] = "encap_outer.eompls",
	[ENCAP_GRE] = "encap_outer.gre",         [ENCAP_ERSPAN1] = "encap_outer.erspan1",
	[ENCAP_ERSPAN2] = "encap_outer.erspan2", [ENCAP_ERSPAN3] = "encap_outer.erspan3",
	[ENCAP_VXLAN] = "encap_outer.vxlan",     [ENCAP_GENEVE] = "encap_outer.geneve",
	[ENCAP_GTPU] = "encap_outer.gtpu",       [ENCAP_IPIP] = "encap_outer.ipip",
};

static const char *const inner_names[ENCAP_COUNT] = {
	[ENCAP_VLAN] = "encap_inner.vlan",       [ENCAP_PPPOE] = "encap_inner.pppoe",
	[ENCAP_MPLS] = "encap_inner.mpls",       [ENCAP_EOMPLS] = "encap_inner.eompls",
	[ENCAP_GRE] = "encap_inner.gre",         [ENCAP_ERSPAN1] = "encap_inner.erspan1",
	[ENCAP_ERSPAN2] = "encap_inner.erspan2", [ENCAP_ERSPAN3] = "encap_inner.erspan3",
	[ENCAP_VXLAN] = "encap_inner.vxlan",     [ENCAP_GENEVE] = "encap_inner.geneve",
	[ENCAP_GTPU] = "encap_inner.gtpu",       [ENCAP_IPIP] = "encap_inner.ipip",
};

/* Names of plain frames' "encapsulation": the link type's. */
static const struct {
	int linktype;
	const char *name;
} link_names[] = {
	{0, "null"}, {1, "ethernet"}, {12, "raw"}, {14, "raw"}, {101, "raw"}, {108, "loop"},
	{113, "linux_sll"}, {228, "raw"}, {229, "raw"}, {276, "linux_sll2"},
};

const char *decode_encap_name(enum decode_encap e)
{
	return (unsigned)e < ENCAP_COUNT ? encap_names[e] : "unknown";
}

static void name_link(struct decoder *d, int linktype)
{
	const char *name = "link";
	for (size_t i = 0; i < sizeof link_names / sizeof link_names[0]; i++)
		if (link_names[i].linktype == linktype)
			name = link_names[i].name;
	snprintf(d->link_outer, sizeof d->link_outer, "encap_outer.%s", name);
	snprintf(d->link_inner, sizeof d->link_inner, "encap_inner.%s", name);
}

/* ---- lifecycle -------------------------------------------------------------- */

#define FRAG_BYTES_MIN (2 * (IPFRAG_HDR_MAX + IPFRAG_PAYLOAD_MAX))

struct decoder *decoder_new(int linktype, const struct decoder_limits *lim)
{
	static const struct decoder_limits defaults = DECODER_LIMITS_DEFAULT;
	const struct link_decoder *link = decode_link(linktype);
	struct decoder *d;
	if (!link || !(d = calloc(1, sizeof *d)))
		return NULL;
	d->link = link;
	d->ethernet = walk_is_ethernet(link);
	d->lim = lim ? *lim : defaults;
	if (d->lim.max_layers == 0 || d->lim.max_layers > DECODE_MAX_LAYERS)
		d->lim.max_layers = DECODE_MAX_LAYERS;
	if (d->lim.frag_bytes < FRAG_BYTES_MIN)
		d->lim.frag_bytes = FRAG_BYTES_MIN;
	/* a frame rebuilds up to WALK_MAX_REBUILT datagrams, the last of
	 * which out points into; DECODER_KEEP more frames must not reuse it */
	struct ipfrag_limits fl = {d->lim.frag_bytes, d->lim.frag_datagrams,
				   d->lim.frag_timeout, (DECODER_KEEP + 1) * WALK_MAX_REBUILT};
	name_link(d, linktype);
	if (!(d->frag = ipfrag_new(&fl, &d->st.frag))) {
		free(d);
		return NULL;
	}
	return d;
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	ipfrag_free(d->frag);
	free(d);
}

void decoder_expire(struct decoder *d, double now)
{
	ipfrag_expire(d->frag, now);
}

const struct decoder_stats *decoder_stats(const struct decoder *d)
{
	return &d->st;
}

static uint64_t frames(const struct decoder *d);

/* ---- frames ----------------------------------------------------------------- */

/* Everything but the common frame: the whole walk. */
static int __attribute__((noinline)) decoder_walk(struct decoder *d, const uint8_t *p,
						  size_t caplen, double ts, struct tcp_packet *out)
{
	struct walk w;
	walk_start(&w, p, caplen, out);
	w.d = d;
	w.ts = ts;
	w.want_udp = 1;
	w.max_layers = (uint8_t)d->lim.max_layers;
	int rc = walk_link(d->link, &w);
	d->st.outer[out->encap_outer]++;
	d->st.inner[out->encap_inner]++;
	if (rc == DECODE_TOO_DEEP)
		d->st.too_deep++;
	else if (rc == DECODE_OK && out->tcp_cut)
		d->st.tcp_cut++;
	return rc;
}

int decoder_frame(struct decoder *d, const uint8_t *p, size_t caplen, double ts,
		  struct tcp_packet *out)
{
	if (d->st.frag.pending)
		ipfrag_expire(d->frag, ts);
	if (d->ethernet && decode_fast_ethernet(p, caplen, out)) {
		d->st.outer[ENCAP_LINK]++;
		d->st.inner[ENCAP_LINK]++;
		return DECODE_OK;
	}
	return decoder_walk(d, p, caplen, ts, out);
}

/* ---- fragments -------------------------------------------------------------- */

/* The fewest bytes the first fragment must hold of what it carries. */
static size_t first_fragment_min(uint8_t proto)
{
	static const struct {
		uint8_t proto;
		uint8_t min;
	} mins[] = {{6, 20}, {17, 8}, {47, 4}, {4, 20}, {41, 40}, {0, 8}, {43, 8}, {60, 8},
		    {51, 12}};
	for (size_t i = 0; i < sizeof mins / sizeof mins[0]; i++)
		if (mins[i].proto == proto)
			return mins[i].min;
	return 0;
}

/* Takes the fragment in; when that completed the datagram, the walk goes
 * on with the rebuilt one from its IP header. carried is the protocol (or
 * first extension header) the fragments carry; fix patches the lengths. */
static int take_fragment(struct walk *w, const struct ipfrag_key *k,
			 const struct ipfrag_piece *pc, uint8_t carried, enum layer l,
			 void (*fix)(struct ipfrag_datagram *dg))
{
	struct decoder *d = w->d;
	struct ipfrag_datagram dg;
	if (pc->data + pc->len > w->p + w->end) {
		d->st.frag.truncated++;
		return DECODE_TRUNCATED;
	}
	if (w->rebuilt == WALK_MAX_REBUILT)
		return DECODE_TOO_DEEP;
	if (pc->offset == 0 && pc->len < first_fragment_min(carried))
		d->st.frag.tiny_first++;
	int rc = ipfrag_add(d->frag, k, pc, w->ts, &dg);
	if (rc == IPFRAG_HELD)
		return DECODE_HELD;
	if (rc != IPFRAG_DONE)
		return DECODE_FRAGMENT;
	fix(&dg);
	w->p = dg.p;
	w->off = 0;
	w->end = dg.len;
	w->layer = (uint8_t)l;
	w->rebuilt++;
	w->out->reassembled = 1;
	return 0;
}

static void fix_ipv4(struct ipfrag_datagram *dg)
{
	dg->p[2] = (uint8_t)(dg->len >> 8);
	dg->p[3] = (uint8_t)dg->len;
}

static void fix_ipv6(struct ipfrag_datagram *dg)
{
	size_t payload = dg->len - 40;
	dg->p[4] = (uint8_t)(payload >> 8);
	dg->p[5] = (uint8_t)payload;
}

int walk_fragment4(struct walk *w, const uint8_t *ip, size_t ihl)
{
	uint8_t hdr[60];
	struct ipfrag_key k;
	if (!w->d)
		return DECODE_FRAGMENT;
	uint16_t fo = be16(ip + 6);
	memcpy(hdr, ip, ihl);
	hdr[6] &= 0x40; /* the rebuilt datagram keeps DF, is no fragment */
	hdr[7] = 0;
	struct ipfrag_piece pc = {(uint32_t)(fo & 0x1fff) * 8, ip + ihl, w->wire,
				  (fo & 0x2000) != 0, (uint32_t)(IPFRAG_PAYLOAD_MAX - ihl), hdr, ihl};
	memset(&k, 0, sizeof k);
	k.family = 4;
	k.proto = ip[9];
	k.id = be16(ip + 4);
	k.ctx = w->ctx;
	memcpy(k.src, ip + 12, 4);
	memcpy(k.dst, ip + 16, 4);
	return take_fragment(w, &k, &pc, ip[9], L_IPV4, fix_ipv4);
}

int walk_fragment6(struct walk *w, const uint8_t *ip, size_t frag_at, size_t next_at)
{
	uint8_t hdr[IPFRAG_HDR_MAX];
	struct ipfrag_key k;
	if (!w->d)
		return DECODE_FRAGMENT;
	if (frag_at > sizeof hdr) {
		w->d->st.frag.malformed++;
		return DECODE_FRAGMENT;
	}
	const uint8_t *fh = ip + frag_at;
	uint16_t fo = be16(fh + 2);
	memcpy(hdr, ip, frag_at);
	hdr[next_at] = fh[0]; /* the rebuilt datagram has no fragment header */
	struct ipfrag_piece pc = {fo & 0xfff8u, fh + 8, w->wire, fo & 1,
				  (uint32_t)(IPFRAG_PAYLOAD_MAX - (frag_at - 40)), hdr, frag_at};
	memset(&k, 0, sizeof k);
	k.family = 6;
	k.id = be32(fh + 4);
	k.ctx = w->ctx;
	memcpy(k.src, ip + 8, 16);
	memcpy(k.dst, ip + 24, 16);
	return take_fragment(w, &k, &pc, fh[0], L_IPV6, fix_ipv6);
}

/* ---- counters --------------------------------------------------------------- */

static size_t put(struct decoder_counter *out, size_t cap, size_t n, const char *name,
		  uint64_t value)
{
	if (n < cap) {
		out[n].name = name;
		out[n].value = value;
	}
	return n + 1;
}

static size_t put_encaps(const struct decoder *d, struct decoder_counter *out, size_t cap,
			 size_t n)
{
	for (int e = 0; e < ENCAP_COUNT; e++) {
		if (d->st.outer[e])
			n = put(out, cap, n, e == ENCAP_LINK ? d->link_outer : outer_names[e],
				d->st.outer[e]);
		if (d->st.inner[e])
			n = put(out, cap, n, e == ENCAP_LINK ? d->link_inner : inner_names[e],
				d->st.inner[e]);
	}
	return n;
}

static uint64_t frames(const struct decoder *d)
{
	uint64_t n = 0;
	for (int e = 0; e < ENCAP_COUNT; e++)
		n += d->st.outer[e];
	return n;
}

size_t decoder_counters(const struct decoder *d, struct decoder_counter *out, size_t cap)
{
	const struct ipfrag_stats *f = &d->st.frag;
	const struct {
		const char *name;
		uint64_t value;
	} fixed[] = {
		{"decode.frames", frames(d)},         {"decode.too_deep", d->st.too_deep},
		{"decode.tcp_header_cut", d->st.tcp_cut}, {"ipfrag.fragments", f->fragments},
		{"ipfrag.reassembled", f->reassembled},  {"ipfrag.timed_out", f->timed_out},
		{"ipfrag.dropped_cap", f->dropped_cap},  {"ipfrag.overlaps", f->overlaps},
		{"ipfrag.conflicts", f->conflicts},      {"ipfrag.too_big", f->too_big},
		{"ipfrag.tiny_first", f->tiny_first},    {"ipfrag.malformed", f->malformed},
		{"ipfrag.truncated", f->truncated},      {"ipfrag.pending", f->pending},
		{"ipfrag.bytes_peak", f->bytes_peak},
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		n = put(out, cap, n, fixed[i].name, fixed[i].value);
	return put_encaps(d, out, cap, n);
}
